"""The `llmpulse` console script: one entry point, one subcommand per job.

    llmpulse serve --config llmpulse.yaml
    llmpulse demo --rate 20 --seed 1
    llmpulse alerts build
    llmpulse dashboards build
    llmpulse deploy build
    llmpulse prices import litellm model_prices_and_context_window.json -o prices.yaml
    llmpulse version
"""

from __future__ import annotations

import argparse
import importlib
import sys

from llmpulse import __version__

# Each area module exposes `register(subparsers)`; it adds its subcommands
# with `set_defaults(func=...)`, where func(args) returns an exit code.
AREAS = (
    "llmpulse.commands.serve",
    "llmpulse.commands.demo",
    "llmpulse.commands.alerts",
    "llmpulse.commands.dashboards",
    "llmpulse.commands.bench",
    "llmpulse.commands.deploy",
    "llmpulse.commands.prices",
)


class UsageError(Exception):
    """An error the user can fix; printed without a traceback, exit code 2."""


def need_out(out: str | None, also: str = "") -> None:
    """A build command without `--out` writes into the source checkout; an installed llmpulse has none
    (it would read and rewrite its own copies while the user edits a clone), so it asks for --out."""
    from llmpulse.paths import IN_CHECKOUT

    if not out and not IN_CHECKOUT:
        raise UsageError("not run from a source checkout of llmpulse: pass --out DIR" + also)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llmpulse", description=__doc__ and __doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    version = sub.add_parser("version", help="print the version")
    version.set_defaults(func=lambda args: print(f"llmpulse {__version__}") or 0)
    for name in AREAS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"llmpulse: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
