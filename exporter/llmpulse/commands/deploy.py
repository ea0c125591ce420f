"""`llmpulse deploy build`: render deploy/ (Kubernetes manifests, Prometheus configurations).

    llmpulse deploy build             # write deploy/kubernetes and deploy/prometheus
    llmpulse deploy build --check     # exit 1 if the committed files are stale
    llmpulse deploy build --out DIR   # somewhere else
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def run_build(args: argparse.Namespace) -> int:
    from llmpulse import deploy
    from llmpulse.cli import need_out

    need_out(args.out)
    out = Path(args.out) if args.out else deploy.DEPLOY_DIR
    if args.check:
        stale = deploy.stale(out)
        if stale:
            print(f"deploy: {len(stale)} file(s) in {out} are stale: {', '.join(stale)}; run `llmpulse deploy build`",
                  file=sys.stderr)
            return 1
        print(f"deploy: {len(deploy.render())} files in {out} are up to date")
        return 0
    for path in deploy.write(out):
        print(f"wrote {path}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("deploy", help="Kubernetes manifests and Prometheus configurations (deploy/)")
    inner = p.add_subparsers(dest="deploy_command", required=True, metavar="COMMAND")
    build = inner.add_parser("build", help="render deploy/ from the rules, dashboards and defaults")
    build.add_argument("--out", metavar="DIR", help="output directory (default: deploy/)")
    build.add_argument("--check", action="store_true", help="exit 1 if the files differ from a fresh render")
    build.set_defaults(func=run_build)
