"""Where the code and the docs point a reader, there is something to read."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import llmpulse

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [p for d in ("exporter", "dashboards", "alerts") for p in (ROOT / d).rglob("*.py")]


def test_every_docs_file_named_in_the_code_exists():
    missing = sorted({(p.relative_to(ROOT).as_posix(), ref)
                      for p in SOURCES for ref in re.findall(r"\bdocs/[\w./-]+?\.md\b", p.read_text())
                      if not (ROOT / ref).is_file()})
    assert missing == []


def test_every_relative_link_in_the_docs_resolves():
    missing = []
    for md in [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").glob("*.md")]:
        if not md.is_file():
            continue
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", md.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (md.parent / target).exists():
                missing.append((md.relative_to(ROOT).as_posix(), target))
    assert missing == []


def test_the_version_is_written_once():
    # pyproject.toml reads it from llmpulse.__version__ (dynamic), so the installed metadata agrees
    assert 'dynamic = ["version"]' in (ROOT / "pyproject.toml").read_text()
    assert version("llmpulse") == llmpulse.__version__


def test_the_history_demo_md_says_each_baseline_alert_needs_is_the_shipped_one():
    """docs/demo.md once said 6 h and 1 day where alerts/thresholds.yaml had 1h."""
    import yaml

    shipped = yaml.safe_load((ROOT / "alerts" / "thresholds.yaml").read_text())
    said = dict(re.findall(r"^- `(\w+MinHistory)`: (\S+)$", (ROOT / "docs" / "demo.md").read_text(), flags=re.M))
    knobs = {k: str(v) for k, v in shipped.items() if k.endswith("MinHistory")}
    assert said == knobs
