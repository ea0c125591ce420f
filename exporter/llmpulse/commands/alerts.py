"""`llmpulse alerts build|check|alertmanager`: render rule files, check thresholds, print an Alertmanager config.

    llmpulse alerts build                          # write alerts/generated/*.yaml
    llmpulse alerts build --thresholds mine.yaml --out /etc/prometheus/rules
    llmpulse alerts build --check                  # exit 1 if committed files are stale
    llmpulse alerts check --thresholds mine.yaml   # validate a thresholds file only
    llmpulse alerts alertmanager --webhook-url http://sink:9095   # local-stack Alertmanager config
"""

from __future__ import annotations

import argparse
import sys

from llmpulse.alerts.thresholds import Thresholds, ThresholdsError, bucket_warnings, load_thresholds


def _usage_error(message: str) -> Exception:
    from llmpulse.cli import UsageError

    return UsageError(message)


def _warn(thresholds: Thresholds, source: str | None) -> None:
    """Print what loads but probably does not do what was meant (the latency SLO's bucket)."""
    from llmpulse import config

    for message in bucket_warnings(thresholds, config.DURATION_BUCKETS):
        print(f"llmpulse: WARNING: {source or 'alerts/thresholds.yaml'}: {message}", file=sys.stderr)


def run_build(args: argparse.Namespace) -> int:
    from llmpulse.alerts.build import build
    from llmpulse.cli import need_out

    need_out(args.out, " (and --thresholds FILE with your knobs, e.g. alerts/thresholds.yaml)")
    try:
        _warn(load_thresholds(args.thresholds), args.thresholds)
        result = build(args.thresholds, args.out, check=args.check)
    except ThresholdsError as exc:
        raise _usage_error(exc.report()) from None
    if args.check:
        for path in result.stale:
            print(f"stale: {path} (run `llmpulse alerts build`)", file=sys.stderr)
        if result.stale:
            return 1
        print("alerts: generated files are up to date")
        return 0
    for path in result.written:
        print(f"wrote {path}")
    if not result.written:
        print("alerts: generated files already up to date")
    return 0


def run_check(args: argparse.Namespace) -> int:
    try:
        thresholds = load_thresholds(args.thresholds)
    except ThresholdsError as exc:
        print(f"llmpulse: {exc.report()}", file=sys.stderr)
        return 1
    _warn(thresholds, args.thresholds)
    print(f"{args.thresholds or 'alerts/thresholds.yaml'}: OK")
    return 0


def run_alertmanager(args: argparse.Namespace) -> int:
    from llmpulse.alerts.alertmanager import webhook_variant

    text = webhook_variant(args.webhook_url)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    alerts = subparsers.add_parser("alerts", help="build and check the alerting rules, print an Alertmanager config",
                                   description=__doc__ and __doc__.splitlines()[0])
    sub = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    b = sub.add_parser("build", help="render alerts/generated/*.yaml from the mixin and thresholds")
    b.add_argument("--thresholds", metavar="FILE", help="YAML file overriding knobs of alerts/thresholds.yaml")
    b.add_argument("--out", metavar="DIR", help="output directory (default: alerts/generated of a source checkout; "
                   "required when llmpulse is installed)")
    b.add_argument("--check", action="store_true", help="write nothing; exit 1 if any generated file is stale")
    b.set_defaults(func=run_build)
    c = sub.add_parser("check", help="validate a thresholds file; every error names its path")
    c.add_argument("--thresholds", metavar="FILE", help="YAML file overriding knobs of alerts/thresholds.yaml")
    c.set_defaults(func=run_check)
    a = sub.add_parser("alertmanager", help="print alerts/alertmanager.yml with every receiver a plain webhook")
    a.add_argument("--webhook-url", required=True, metavar="URL", help="receivers post to URL/<receiver name>")
    a.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    a.set_defaults(func=run_alertmanager)
