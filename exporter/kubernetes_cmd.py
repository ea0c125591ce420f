"""`llmpulse kubernetes build`: render deploy/kubernetes/ from the project's sources.

    llmpulse kubernetes build             # write deploy/kubernetes/{base,overlays/example}
    llmpulse kubernetes build --check     # exit 1 if the committed files are stale
    llmpulse kubernetes build --out DIR   # somewhere else
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def run_build(args: argparse.Namespace) -> int:
    from llmpulse import kubernetes

    out = Path(args.out) if args.out else kubernetes.DEPLOY_DIR
    if args.check:
        stale = kubernetes.stale(out)
        if stale:
            print(f"kubernetes: {len(stale)} file(s) in {out} are stale: {', '.join(stale)}; "
                  "run `llmpulse kubernetes build`", file=sys.stderr)
            return 1
        print(f"kubernetes: {len(kubernetes.render())} files in {out} are up to date")
        return 0
    for path in kubernetes.write(out):
        print(f"wrote {path}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("kubernetes", help="Kubernetes manifests (deploy/kubernetes)")
    inner = p.add_subparsers(dest="kubernetes_command", required=True, metavar="COMMAND")
    build = inner.add_parser("build", help="render deploy/kubernetes from the rules, dashboards and defaults")
    build.add_argument("--out", metavar="DIR", help="output directory (default: deploy/kubernetes)")
    build.add_argument("--check", action="store_true", help="exit 1 if the files differ from a fresh render")
    build.set_defaults(func=run_build)
