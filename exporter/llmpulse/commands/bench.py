"""`llmpulse bench [--quick] [--json PATH]`: run the benchmark, print the table, optionally write JSON.

    llmpulse bench --quick --json bench.json
"""

from __future__ import annotations

import json
import sys


def register(sub) -> None:
    p = sub.add_parser("bench", help="measure ingest, CPU per call, scrape cost, growth and latency")
    p.add_argument("--quick", action="store_true", help="smaller run, under a minute")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON to PATH")
    p.add_argument("--attack-models", type=int, metavar="N",
                   help="distinct model names in the cardinality attack (default 1,000,000; --quick 30,000)")
    p.set_defaults(func=main)


def main(args) -> int:
    from llmpulse.bench.run import run, table

    if args.attack_models is not None and args.attack_models < 1:
        from llmpulse.cli import UsageError
        raise UsageError("--attack-models must be at least 1")
    res = run(quick=args.quick, log=lambda s: print(s, file=sys.stderr, flush=True), attack_models=args.attack_models)
    print(table(res))
    print(f"\n{res['mode']} run, {res['seconds']:.0f} s, {res['date']}, {res['machine']}, 1-minute load average "
          f"{res['load_average_start']:.1f} at the start, {res['load_average_end']:.1f} at the end")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2, sort_keys=True)
            f.write("\n")
    return 0
