"""`llmpulse prices`: work with price tables.

    llmpulse prices import litellm model_prices_and_context_window.json -o litellm-prices.yaml
    llmpulse prices import litellm litellm-1.110.2-...whl          # the JSON inside LiteLLM's wheel
    llmpulse prices import litellm https://.../model_prices_and_context_window.json
    llmpulse prices check my-prices.yaml                            # validate, as the exporter would
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import yaml

from llmpulse import litellm_prices


def register(sub) -> None:
    p = sub.add_parser("prices", help="import and check price tables (docs/pricing.md)")
    psub = p.add_subparsers(dest="prices_command", required=True, metavar="ACTION")
    imp = psub.add_parser("import", help="convert a community price table to llmpulse's format")
    imp.add_argument("format", choices=["litellm"], help="the table's format")
    imp.add_argument("source", help="a file (.json, .json.gz, the litellm wheel) or an http(s) URL")
    imp.add_argument("-o", "--output", help="where to write the YAML (default: standard output)")
    imp.add_argument("--version", dest="table_version",
                     help="the table's version to record (default: the wheel's version, else a hash of the file)")
    imp.add_argument("--checked", help="the date to record as checked, YYYY-MM-DD (default: today)")
    imp.set_defaults(func=_import)
    chk = psub.add_parser("check", help="validate price files and print what they price")
    chk.add_argument("files", nargs="+", help="llmpulse price files, applied over the built-in table in order")
    chk.set_defaults(func=_check)


def _import(args: argparse.Namespace) -> int:
    from llmpulse.cli import UsageError

    try:
        doc, version = litellm_prices.read_source(args.source)
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(f"cannot read {args.source}: {exc}") from None
    except Exception as exc:          # noqa: BLE001 - requests' errors, without importing requests here
        raise UsageError(f"cannot fetch {args.source}: {exc}") from None
    try:
        checked = dt.date.fromisoformat(args.checked) if args.checked else None
    except ValueError:
        raise UsageError(f"--checked: {args.checked!r} is not a date YYYY-MM-DD") from None
    source = args.source if "://" in args.source else Path(args.source).name
    try:
        out, coverage = litellm_prices.convert(doc, source=source, version=args.table_version or version,
                                               checked=checked)
    except ValueError as exc:         # valid JSON that is no table of models (a list, a number)
        raise UsageError(f"cannot read {args.source}: {exc}") from None
    header = ("# Imported from LiteLLM's model_prices_and_context_window.json by `llmpulse prices import litellm`.\n"
              "# Prices are per token, as LiteLLM writes them. docs/pricing.md describes the format.\n"
              + "".join(f"# {line}\n" for line in coverage.summary().splitlines()))
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = header + yaml.dump(out, Dumper=dumper, sort_keys=False, allow_unicode=True, width=120)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    print(coverage.summary(), file=sys.stderr)
    return 0


def _check(args: argparse.Namespace) -> int:
    from llmpulse.pricing import PriceTable, PriceTableError

    try:
        table = PriceTable.load(args.files)
        # each file on its own too (over nothing), so its line says what it holds, not the built-in table
        own = [(f, PriceTable.load([f], builtin=False, checked=table.checked)) for f in args.files]
    except PriceTableError as exc:
        print(f"llmpulse: {exc.report()}", file=sys.stderr)
        return 1
    for f, t in own:
        print(f"{f}: {len(t)} model{'' if len(t) == 1 else 's'}")
    print(f"with the built-in table: {len(table)} models, version {table.version}, "
          f"checked {table.checked.isoformat()}")
    return 0
