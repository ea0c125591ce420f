"""The jsonnet mixin renders to exactly the committed files; `llmpulse alerts build`."""

from __future__ import annotations

import pytest

import json
import shutil
from pathlib import Path

import _jsonnet
import yaml

from llmpulse.alerts import build as build_mod
from llmpulse.alerts.build import ALERTS_FILE, HEADER, MIXIN_DIR, RULES_FILE, build, config_libsonnet, render
from llmpulse.alerts.thresholds import load_thresholds
from llmpulse.cli import main

from .conftest import GENERATED


@pytest.mark.slow
def test_committed_files_are_up_to_date():
    result = build(check=True)
    assert result.stale == [], f"stale generated files, run `llmpulse alerts build`: {result.stale}"


@pytest.mark.slow
def test_the_documented_rebuild_from_the_checkout_matches_the_committed_files(monkeypatch):
    """docs/alerts.md: `llmpulse alerts build --thresholds alerts/thresholds.yaml --out alerts/generated`
    (the header once named the file `thresholds.yaml`, so the check called the committed files stale)."""
    monkeypatch.chdir(GENERATED.parents[1])
    assert main(["alerts", "build", "--thresholds", "alerts/thresholds.yaml", "--out", "alerts/generated",
                 "--check"]) == 0


@pytest.mark.slow
def test_render_equals_committed_files():
    for name, text in render(load_thresholds()).items():
        assert (GENERATED / name).read_text() == text


def test_header_and_valid_yaml():
    for name in (RULES_FILE, ALERTS_FILE):
        text = (GENERATED / name).read_text()
        assert text.startswith(HEADER)
        assert yaml.safe_load(text)["groups"]


@pytest.mark.slow
def test_plain_jsonnet_mixin_import_with_own_config():
    """A kube-prometheus user imports mixin.libsonnet and overrides _config in jsonnet."""
    snippet = """
      local mixin = (import 'mixin.libsonnet') + { _config+:: { LLMErrorRatioHighCriticalThreshold: 0.2 } };
      { alerts: mixin.prometheusAlerts, rules: mixin.prometheusRules, dashboards: std.objectFields(mixin.grafanaDashboards) }
    """
    out = json.loads(_jsonnet.evaluate_snippet("user.jsonnet", snippet, jpathdir=[str(MIXIN_DIR)]))
    exprs = [r["expr"] for g in out["alerts"]["groups"] for r in g["rules"] if r["alert"] == "LLMErrorRatioHigh"]
    assert any("> 0.2\n" in e for e in exprs)
    assert any("> 0.02\n" in e for e in exprs)  # the warning tier keeps its default
    assert [g["name"] for g in out["rules"]["groups"]][0] == "llmpulse.operations"


def test_config_libsonnet_comes_from_thresholds_yaml():
    assert (MIXIN_DIR / "config.libsonnet").read_text() == config_libsonnet(load_thresholds())


def test_burn_rate_factors_derived_from_budget_percent():
    alerts = yaml.safe_load((GENERATED / ALERTS_FILE).read_text())
    bounds = {(r["labels"]["long"], r["labels"]["short"]): r["expr"].split(" > ")[1].split("\n")[0]
              for g in alerts["groups"] for r in g["rules"]
              if r["alert"] == "LLMAvailabilitySLOBurn"}
    # 1 - 0.995 = 0.005 budget, times 14.4, 6, 3, 1
    assert bounds == {("1h", "5m"): "0.072", ("6h", "30m"): "0.03", ("1d", "2h"): "0.015", ("3d", "6h"): "0.005"}


@pytest.mark.slow
def test_user_thresholds_change_the_rules(tmp_path: Path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("LLMErrorRatioHighCriticalThreshold: 0.1\nslo:\n  period: 28d\n")
    assert main(["alerts", "build", "--thresholds", str(mine), "--out", str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / ALERTS_FILE).read_text()
    assert "ratio_rate5m > 0.1\n" in text
    assert "thresholds: mine.yaml" in text
    # 28d period: 2 % over 1h -> 13.44, the 30d/28d Sloth tables
    assert "slo:sli_error:ratio_rate1h{slo=\"availability\"} > 0.0672" in text
    # the repository's own generated files are untouched
    assert build(check=True).stale == []


@pytest.mark.slow
def test_check_reports_stale_files(tmp_path: Path, monkeypatch, capsys):
    out = tmp_path / "gen"
    shutil.copytree(GENERATED, out)
    assert main(["alerts", "build", "--out", str(out), "--check"]) == 0
    (out / RULES_FILE).write_text((out / RULES_FILE).read_text() + "# edited by hand\n")
    assert main(["alerts", "build", "--out", str(out), "--check"]) == 1
    assert "stale" in capsys.readouterr().err


def test_dashboards_import_list_follows_files(tmp_path: Path):
    (tmp_path / "llmpulse-overview.json").write_text('{"uid": "llmpulse-overview"}')
    (tmp_path / "llmpulse-cost.json").write_text('{"uid": "llmpulse-cost"}')
    text = build_mod.dashboards_libsonnet(tmp_path)
    assert text.index("llmpulse-cost.json") < text.index("llmpulse-overview.json")
    assert "(import \"../../dashboards/llmpulse-overview.json\")" in text
    assert build_mod.dashboards_libsonnet(tmp_path / "missing").count("import") == 0


def test_bad_thresholds_file_is_a_usage_error(tmp_path: Path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("LLMErrorRatioHighCriticalTreshold: 0.1\n")
    assert main(["alerts", "build", "--thresholds", str(bad), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: LLMErrorRatioHighCriticalTreshold: unknown key (did you mean LLMErrorRatioHighCriticalThreshold? known: " in err
