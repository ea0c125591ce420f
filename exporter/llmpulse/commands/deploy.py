"""`llmpulse deploy build`: render deploy/ (Kubernetes manifests, Prometheus configurations).

    llmpulse deploy build             # write deploy/kubernetes and deploy/prometheus
    llmpulse deploy build --check     # exit 1 if the committed files are stale
    llmpulse deploy build --out DIR   # somewhere else
    llmpulse deploy build --out DIR --rules RULES   # with rules built from your thresholds
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def run_build(args: argparse.Namespace) -> int:
    from llmpulse import deploy
    from llmpulse.cli import UsageError, need_out

    need_out(args.out)
    out = Path(args.out) if args.out else deploy.DEPLOY_DIR
    rules = Path(args.rules) if args.rules else None
    if rules is not None and not all((rules / f).is_file() for f in ("llmpulse-rules.yaml", "llmpulse-alerts.yaml")):
        raise UsageError(f"--rules {rules}: needs llmpulse-rules.yaml and llmpulse-alerts.yaml "
                         "(`llmpulse alerts build --thresholds yours.yaml --out DIR` writes them)")
    if args.check:
        stale = deploy.stale(out, rules)
        if stale:
            print(f"deploy: {len(stale)} file(s) in {out} are stale: {', '.join(stale)}; run `llmpulse deploy build`",
                  file=sys.stderr)
            return 1
        print(f"deploy: {len(deploy.render(rules, out))} files in {out} are up to date")
        return 0
    for path in deploy.write(out, rules):
        print(f"wrote {path}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("deploy", help="Kubernetes manifests and Prometheus configurations (deploy/)")
    inner = p.add_subparsers(dest="deploy_command", required=True, metavar="COMMAND")
    build = inner.add_parser("build", help="render deploy/ from the rules, dashboards and defaults")
    build.add_argument("--out", metavar="DIR", help="output directory (default: deploy/)")
    build.add_argument("--rules", metavar="DIR",
                       help="the rule files to ship in the PrometheusRule (default: alerts/generated), as "
                            "written by `llmpulse alerts build --thresholds yours.yaml --out DIR`")
    build.add_argument("--check", action="store_true", help="exit 1 if the files differ from a fresh render")
    build.set_defaults(func=run_build)
