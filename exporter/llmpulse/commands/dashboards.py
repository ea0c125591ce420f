"""`llmpulse dashboards build|push`.

    llmpulse dashboards build [--out DIR] [--check] [--thresholds FILE]
    llmpulse dashboards push --url https://grafana.example --token $TOKEN [--folder LLM]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from llmpulse.alerts.thresholds import ThresholdsError
from llmpulse.dashboards.thresholds import DEFAULT_THRESHOLDS_PATH, Thresholds, load_thresholds


def _usage_error(message: str) -> Exception:
    from llmpulse.cli import UsageError

    return UsageError(message)


def _thresholds(path: str | None) -> Thresholds:
    if path is None:
        return load_thresholds(DEFAULT_THRESHOLDS_PATH)
    if not Path(path).is_file():
        raise _usage_error(f"thresholds file not found: {path}")
    try:
        return load_thresholds(path)
    except ThresholdsError as exc:
        raise _usage_error(exc.report()) from None


def run_build(args: argparse.Namespace) -> int:
    from llmpulse.cli import need_out
    from llmpulse.dashboards import build

    need_out(args.out, " (and --thresholds FILE with your knobs, e.g. alerts/thresholds.yaml)")
    out = Path(args.out) if args.out else build.DASHBOARD_DIR
    thresholds = _thresholds(args.thresholds)
    if args.check:
        stale = build.stale_files(out, thresholds)
        if stale:
            print(
                f"dashboards: {len(stale)} file(s) in {out} are stale: {', '.join(stale)}; "
                "run `llmpulse dashboards build`",
                file=sys.stderr,
            )
            return 1
        print(f"dashboards: {len(build.BUILDERS)} files in {out} are up to date")
        return 0
    written = build.write_all(out, thresholds)
    for path in written:
        print(f"wrote {path}")
    if not written:
        print(f"dashboards: {len(build.BUILDERS)} files in {out} already up to date")
    return 0


def run_push(args: argparse.Namespace) -> int:
    from llmpulse.dashboards import build, push

    token = args.token or os.environ.get("GRAFANA_TOKEN", "")
    if not token:
        raise _usage_error("no Grafana token: pass --token or set GRAFANA_TOKEN")
    directory = Path(args.dir) if args.dir else build.DASHBOARD_DIR
    try:
        dashboards = push.load_dashboards(directory)
        client = push.Grafana(args.url, token, timeout=args.timeout)
        results = push.push(
            client,
            dashboards,
            folder=args.folder,
            create_folder=not args.no_create_folder,
            datasource_uid=args.datasource,
        )
    except push.PushError as exc:
        print(f"llmpulse dashboards push: {exc}", file=sys.stderr)
        return 1
    for result in results:
        suffix = f" {args.url.rstrip('/')}{result.url}" if result.url else ""
        print(f"{result.status:9} {result.uid} ({result.title}){suffix}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("dashboards", help="render or push the Grafana dashboards")
    sub = parser.add_subparsers(dest="dashboards_command", required=True, metavar="ACTION")

    build_parser = sub.add_parser("build", help="render dashboards/*.json from the grafanalib code")
    build_parser.add_argument("--out", metavar="DIR", help="output directory (default: dashboards/ of a source checkout; "
                              "required when llmpulse is installed)")
    build_parser.add_argument("--check", action="store_true", help="exit 1 if the files in --out are stale")
    build_parser.add_argument(
        "--thresholds",
        metavar="FILE",
        help=f"alert thresholds YAML that colours the panels (default: {DEFAULT_THRESHOLDS_PATH.name} of llmpulse.alerts)",
    )
    build_parser.set_defaults(func=run_build)

    push_parser = sub.add_parser("push", help="create or update the dashboards in a running Grafana")
    push_parser.add_argument("--url", required=True, help="Grafana base URL, e.g. https://grafana.example")
    push_parser.add_argument("--token", help="service account token (default: $GRAFANA_TOKEN)")
    push_parser.add_argument("--folder", metavar="NAME", help="folder title (created if missing; default: root)")
    push_parser.add_argument(
        "--no-create-folder", action="store_true", help="fail instead of creating a missing --folder"
    )
    push_parser.add_argument("--dir", metavar="DIR", help="directory of dashboard JSON (default: the packaged ones)")
    push_parser.add_argument(
        "--datasource", metavar="UID", help="Prometheus datasource uid to preselect (default: Grafana's default)"
    )
    push_parser.add_argument("--timeout", type=float, default=10.0, help="seconds per HTTP request (default 10)")
    push_parser.set_defaults(func=run_push)
