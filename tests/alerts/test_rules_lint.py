"""`promtool check rules --lint-fatal` passes on the default rules and on the override example of docs/alerts.md.

promtool's lint calls two rules duplicates when they share name and labels,
whatever their expressions: per-service budgets and per-model quotas must
render into one rule per alert name, not one per override.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from llmpulse.cli import main

from .conftest import REPO, tool


def docs_example() -> str:
    """The `my-thresholds.yaml` heredoc of docs/alerts.md, verbatim."""
    text = (REPO / "docs" / "alerts.md").read_text(encoding="utf-8")
    match = re.search(r"cat > my-thresholds\.yaml <<'YAML'\n(.*?)\nYAML\n", text, re.S)
    assert match, "docs/alerts.md lost its my-thresholds.yaml example"
    return match.group(1) + "\n"


def lint(tmp_path: Path, thresholds: str | None) -> subprocess.CompletedProcess:
    out = tmp_path / "rules"
    args = ["alerts", "build", "--out", str(out)]
    if thresholds is not None:
        (tmp_path / "my-thresholds.yaml").write_text(thresholds)
        args += ["--thresholds", str(tmp_path / "my-thresholds.yaml")]
    assert main(args) == 0
    files = sorted(str(p) for p in out.glob("*.yaml"))
    assert len(files) == 2
    return subprocess.run([tool("promtool"), "check", "rules", "--lint-fatal", *files], capture_output=True, text=True)


SAME_VALUES = """\
LLMDailyBudgetExceededThresholdUSD:
  default: 0
  per_service: {a-bot: 10, b-bot: 10, c-bot: 20}
LLMTokenQuotaNearlyExhaustedTokensPerMinute:
  per_model: {gpt-4o: 1000000, gpt-4o-mini: 5000, o3: 0}
"""


@pytest.mark.parametrize("thresholds", [None, docs_example(), SAME_VALUES], ids=["default", "docs-example", "same-values"])
def test_lint_fatal(tmp_path: Path, thresholds: str | None):
    out = lint(tmp_path, thresholds)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "duplicate" not in out.stdout + out.stderr


def test_docs_example_keeps_one_rule_per_alert_and_severity(tmp_path: Path):
    (tmp_path / "t.yaml").write_text(docs_example())
    assert main(["alerts", "build", "--thresholds", str(tmp_path / "t.yaml"), "--out", str(tmp_path)]) == 0
    doc = yaml.safe_load((tmp_path / "llmpulse-alerts.yaml").read_text())
    rules = [r for g in doc["groups"] for r in g["rules"]]
    for name in ("LLMDailyBudgetExceeded", "LLMTokenQuotaNearlyExhausted"):
        (rule,) = [r for r in rules if r["alert"] == name]
        assert " or" in rule["expr"] or "\nor\n" in rule["expr"], rule["expr"]
