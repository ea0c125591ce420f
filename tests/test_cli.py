"""The console script itself (its subcommands are tested with the areas they drive)."""

from __future__ import annotations

import subprocess
import sys


def test_the_parser_builds_without_docstrings():
    """`python -OO` (PYTHONOPTIMIZE=2, set by some container images) strips docstrings; the subcommands'
    descriptions come from them and must not crash the script."""
    code = ("from llmpulse.cli import build_parser; p = build_parser(); "
            "p.parse_args(['alerts', 'check']); p.parse_args(['demo', '--rate', '1']); print('ok')")
    out = subprocess.run([sys.executable, "-OO", "-c", code], capture_output=True, text=True, timeout=120)
    assert (out.returncode, out.stdout, out.stderr[-300:]) == (0, "ok\n", "")
