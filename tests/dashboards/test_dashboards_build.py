"""`llmpulse dashboards build`: deterministic, committed files fresh, thresholds honoured."""

from __future__ import annotations

import json
import shutil

import pytest

from dashboard_files import DASHBOARD_DIR, EXPECTED_UIDS, committed, leaf_panels
from llmpulse.cli import main
from llmpulse.dashboards import build, panels
from llmpulse.dashboards.thresholds import load_thresholds


def test_committed_json_is_up_to_date(tmp_path, capsys):
    assert main(["dashboards", "build", "--out", str(tmp_path)]) == 0
    fresh = sorted(p.name for p in tmp_path.glob("*.json"))
    assert fresh == sorted(f"{uid}.json" for uid in EXPECTED_UIDS)
    for name in fresh:
        assert (tmp_path / name).read_text() == (DASHBOARD_DIR / name).read_text(), (
            f"dashboards/{name} is stale: run `llmpulse dashboards build`"
        )
    assert main(["dashboards", "build", "--check"]) == 0


def test_check_fails_on_stale_or_missing_files(tmp_path, capsys):
    for path in DASHBOARD_DIR.glob("*.json"):
        shutil.copy(path, tmp_path / path.name)
    assert main(["dashboards", "build", "--check", "--out", str(tmp_path)]) == 0
    target = tmp_path / "llmpulse-latency.json"
    target.write_text(target.read_text().replace("Latency", "Latenzy"))
    (tmp_path / "llmpulse-slo.json").unlink()
    capsys.readouterr()
    assert main(["dashboards", "build", "--check", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "llmpulse-latency.json" in err and "llmpulse-slo.json" in err


def test_output_is_sorted_and_newline_terminated():
    # determinism across processes: tests/test_render_determinism.py
    for text in build.render_all(load_thresholds(None)).values():
        assert text.endswith("}\n")
        assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_tuned_thresholds_change_the_colours(tmp_path):
    user = tmp_path / "my-thresholds.yaml"
    user.write_text(
        "LLMErrorRatioHighWarningThreshold: 0.07   # ratio\n"
        "LLMErrorRatioHighCriticalThreshold: 0.15  # ratio\n"
        "LLMDailyBudgetExceededThresholdUSD: {default: 40, per_service: {checkout: 250}}\n"
        "slo:\n  availability:\n    objective: 0.9\n"
    )
    out = tmp_path / "out"
    assert main(["dashboards", "build", "--out", str(out), "--thresholds", str(user)]) == 0
    overview = json.loads((out / "llmpulse-overview.json").read_text())
    stats = {p["title"]: p for p in leaf_panels(overview)}
    steps = stats["Error ratio"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in steps] == [None, 0.07, 0.15]
    budget_expr = stats["Daily budget at current pace"]["targets"][0]["expr"]
    assert 'service_name="checkout"' in budget_expr and "/ 250" in budget_expr and "/ 40" in budget_expr
    slo = json.loads((out / "llmpulse-slo.json").read_text())
    sli = next(p for p in leaf_panels(slo) if p["title"] == "Availability SLI (30 d)")
    assert sli["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] == 0.9
    # Keys the user file leaves out keep their defaults.
    ttft = stats["p95 time to first token (slowest model)"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert ttft[-1]["value"] == 5.0


def test_missing_thresholds_file_is_a_usage_error(tmp_path, capsys):
    assert main(["dashboards", "build", "--out", str(tmp_path), "--thresholds", str(tmp_path / "nope.yaml")]) == 2
    assert "thresholds file not found" in capsys.readouterr().err


def test_committed_files_are_what_the_default_build_writes():
    assert {f"{uid}.json" for uid in committed()} == set(build.render_all(load_thresholds()))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(title="T", description="", unit="s"), "description"),
        (dict(title="T", description="How to read it.", unit="furlongs"), "unknown unit"),
        (dict(title="", description="How to read it.", unit="s"), "title"),
    ],
)
def test_panel_helper_requires_title_description_and_unit(kwargs, message):
    with pytest.raises(ValueError, match=message):
        panels.timeseries(targets=[panels.target("vector(1)")], **kwargs)


@pytest.mark.parametrize(
    "expr",
    ["rate(x[5m])", "sum(irate(x[1m]))", "rate(x)", "sum(rate(x{a=~\"$a\"}[$__interval]))"],
)
def test_rate_without_rate_interval_is_refused(expr):
    with pytest.raises(ValueError, match="rate_interval"):
        panels.target(expr)


def test_rate_interval_accepted_and_recording_rule_names_are_not_rates():
    expr = "sum(rate(x[$__rate_interval])) / sum(service:x:ratio_rate5m)"
    assert panels.target(expr).expr == expr


def test_slo_burn_colours_follow_the_alert_tiers(tmp_path):
    user = tmp_path / "t.yaml"
    user.write_text(
        "slo:\n  period: 28d\n  windows:\n"
        "    - {severity: critical, long: 1h, short: 5m, budgetPercent: 2, for: 2m}\n"
        "    - {severity: critical, long: 6h, short: 30m, budgetPercent: 5, for: 15m}\n"
        "    - {severity: warning, long: 1d, short: 2h, budgetPercent: 10, for: 1h}\n"
    )
    t = load_thresholds(user)
    assert t.slo_burn_factors == (13.44, 5.6)
    assert load_thresholds(None).slo_burn_factors == (14.4, 6.0)
    slo = json.loads(build.render_all(t)["llmpulse-slo.json"])
    burn = next(p for p in leaf_panels(slo) if p["title"] == "Availability burn rate (1 h)")
    assert [s["value"] for s in burn["fieldConfig"]["defaults"]["thresholds"]["steps"]] == [None, 5.6, 13.44]


def test_a_misspelled_threshold_fails_the_dashboards_build_with_its_path(tmp_path):
    user = tmp_path / "t.yaml"
    user.write_text("LLMErrorRatioHighCriticalTreshold: 0.1\n")
    with pytest.raises(ValueError, match="LLMErrorRatioHighCriticalTreshold"):
        load_thresholds(user)


def test_a_second_build_writes_nothing_and_says_so(tmp_path, capsys):
    assert main(["dashboards", "build", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.count("wrote ") == len(EXPECTED_UIDS)
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.json")}
    assert main(["dashboards", "build", "--out", str(tmp_path)]) == 0
    assert "already up to date" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.json")} == stamps
