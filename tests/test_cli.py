"""The console script itself (its subcommands are tested with the areas they drive)."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path


def test_the_parser_builds_without_docstrings():
    """`python -OO` (PYTHONOPTIMIZE=2, set by some container images) strips docstrings; the subcommands'
    descriptions come from them and must not crash the script."""
    code = ("from llmpulse.cli import build_parser; p = build_parser(); "
            "p.parse_args(['alerts', 'check']); p.parse_args(['demo', '--rate', '1']); print('ok')")
    out = subprocess.run([sys.executable, "-OO", "-c", code], capture_output=True, text=True, timeout=120)
    assert (out.returncode, out.stdout, out.stderr[-300:]) == (0, "ok\n", "")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(found[0].choices) if found else {}


def test_the_readme_lists_every_command_and_its_options():
    """README's "Commands" block is where a new user looks first: every command and action the
    script accepts is there, and every option it shows exists."""
    from llmpulse.cli import build_parser

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("## Commands", 1)[1].split("\n## ", 1)[0]
    lines = [line.strip() for line in block.splitlines() if line.strip().startswith("llmpulse ")]
    missing, unknown = [], []
    for name, cmd in _subparsers(build_parser()).items():
        for action, leaf in (_subparsers(cmd) or {"": cmd}).items():
            words = f"llmpulse {name} {action}".strip()
            shown = [line for line in lines if line == words or line.startswith(words + " ")]
            if not shown:
                missing.append(words)
            options = {o for a in leaf._actions for o in a.option_strings}
            unknown += [f"{words} {o}" for line in shown for o in re.findall(r"--[a-z-]+", line.split("#")[0])
                        if o not in options]
    assert (missing, unknown) == ([], [])


def test_a_port_in_use_is_reported_with_the_listener_and_its_address(capsys):
    """`llmpulse serve` with a port already taken said only `cannot listen: [Errno 98] Address already in use`
    (a gRPC port: a traceback)."""
    import socket

    from llmpulse.cli import main

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        for flag, name in (("--metrics-port", "metrics"), ("--otlp-http-port", "OTLP/HTTP"),
                           ("--otlp-grpc-port", "OTLP/gRPC")):
            ports = {"--metrics-port": "0", "--otlp-http-port": "0", "--otlp-grpc-port": "0", flag: str(port)}
            for command in ("serve", "demo"):
                argv = [command, "--host", "127.0.0.1", *[x for kv in ports.items() for x in kv]]
                assert main(argv + (["--duration", "1"] if command == "demo" else [])) == 2
                err = capsys.readouterr().err
                assert f"cannot listen: {name} on 127.0.0.1:{port}: " in err, err
                assert ("Address already in use" if name != "OTLP/gRPC" else "the port is in use") in err
    finally:
        taken.close()
