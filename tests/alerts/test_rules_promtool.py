"""The generated rule files pass `promtool check rules` and every promtool unit test."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from llmpulse.alerts.build import render
from llmpulse.alerts.thresholds import load_thresholds

from .conftest import GENERATED, tool
from .rule_cases import CASES, Case

pytestmark = pytest.mark.slow     # promtool evaluates hours of series per case: 2-10 s each, ~2 min in all

RULE_FILES = [GENERATED / "llmpulse-rules.yaml", GENERATED / "llmpulse-alerts.yaml"]


def test_promtool_check_rules():
    out = subprocess.run([tool("promtool"), "check", "rules", *map(str, RULE_FILES)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def run_case(case: Case, tmp_path: Path) -> subprocess.CompletedProcess:
    if case.thresholds is None:
        rule_files = [str(p) for p in RULE_FILES]
    else:
        rule_files = []
        for name, text in render(load_thresholds(overrides=case.thresholds)).items():
            (tmp_path / name).write_text(text)
            rule_files.append(str(tmp_path / name))
    order = [g["name"] for f in rule_files for g in yaml.safe_load(open(f))["groups"]]
    test_file = tmp_path / f"{case.name}_test.yaml"
    test_file.write_text(yaml.safe_dump(case.document(rule_files, order), sort_keys=False, width=1000))
    return subprocess.run([tool("promtool"), "test", "rules", str(test_file)], capture_output=True, text=True)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_promtool_unit(case: Case, tmp_path: Path):
    out = run_case(case, tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
