"""Evaluate dashboard panel queries with `promtool test rules` on hand-made series.

A panel's PromQL (variables at "All") runs against input series and the generated
recording rules, and each value is compared with what a user should see. promtool
reports a mismatch with the values it got, which the assertion message shows.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from dashboard_files import REPO
from llmpulse.dashboards.build import all_queries, live_expr

RULES = REPO / "alerts" / "generated" / "llmpulse-rules.yaml"


def panel_queries(uid: str, title: str) -> list[str]:
    """The panel's PromQL with variables at All and `$__rate_interval` = 5m."""
    found = [e for u, t, e in all_queries() if (u, t) == (uid, title)]
    assert found, f"no panel {uid} / {title}"
    return [live_expr(e.replace("$__rate_interval", "5m")) for e in found]


def check(tmp_path: Path, input_series: list[dict], tests: list[tuple[str, str, list[tuple[str, float]]]],
          interval: str = "1m", rule_files: list[Path] | None = None) -> None:
    """Assert each (eval_time, expr, [(labels, value)]) with promtool; values rounded to 1e-4."""
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail("promtool not found (Debian package prometheus; tests/run.sh installs it)")
    files = [str(p) for p in (rule_files if rule_files is not None else [RULES])]
    order = [g["name"] for f in files for g in yaml.safe_load(open(f))["groups"]]
    doc = {
        "rule_files": files,
        "evaluation_interval": interval,
        "group_eval_order": order,
        "tests": [{
            "interval": interval,
            "input_series": input_series,
            "promql_expr_test": [
                {"eval_time": at, "expr": f"round({expr}, 0.0001)",
                 "exp_samples": [{"labels": labels, "value": value} for labels, value in samples]}
                for at, expr, samples in tests
            ],
        }],
    }
    path = tmp_path / "panels_test.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, width=10000))
    out = subprocess.run([exe, "test", "rules", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
