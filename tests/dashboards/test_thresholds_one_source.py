"""The dashboards' thresholds have one source, alerts/thresholds.yaml: nothing repeats its defaults."""

from __future__ import annotations

import ast
import dataclasses
import inspect

import pytest

from llmpulse.alerts import thresholds as alert_thresholds
from llmpulse.alerts.thresholds import ThresholdsError, load_thresholds as load_alert_thresholds
from llmpulse.dashboards import thresholds


def test_the_dashboard_thresholds_have_no_defaults_of_their_own():
    with_default = [f.name for f in dataclasses.fields(thresholds.Thresholds)
                    if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING]
    assert with_default == []


def test_the_alert_thresholds_have_no_defaults_but_the_file():
    """Every knob of the alerts' loader, nested ones too, is required: its value is written in thresholds.yaml only."""
    classes = [c for c in vars(alert_thresholds).values() if dataclasses.is_dataclass(c) and isinstance(c, type)
               and c.__module__ == alert_thresholds.__name__]
    assert alert_thresholds.Thresholds in classes and alert_thresholds.BurnWindow in classes
    with_default = [f"{c.__name__}.{f.name}" for c in classes for f in dataclasses.fields(c)
                    if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING]
    assert with_default == []


def test_both_read_the_same_file():
    assert thresholds.DEFAULT_THRESHOLDS_PATH is alert_thresholds.DEFAULT_PATH


def test_the_module_writes_no_threshold_number():
    """Numbers in the module are the dashboard-only knob and the unit arithmetic, nothing else."""
    tree = ast.parse(inspect.getsource(thresholds))
    numbers = sorted({n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
                      and isinstance(n.value, (int, float)) and not isinstance(n.value, bool)})
    assert numbers == [0.8, 4, 100], numbers      # BUDGET_PACE_WARNING_RATIO, round(..., 4), budgetPercent / 100


def test_every_number_follows_the_alert_file(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text("LLMErrorRatioHighWarningThreshold: 0.03\nLLMTruncationHighThreshold: 0.4\n"
                 "LLMEngineTimeToFirstTokenObjective: 0.9\n")
    t = thresholds.load_thresholds(f)
    assert (t.error_ratio_warning, t.truncation_ratio, t.engine_ttft_objective) == (0.03, 0.4, 0.9)
    base = thresholds.from_alerts(load_alert_thresholds())
    assert t.error_ratio_critical == base.error_ratio_critical


def test_no_burn_rate_tier_is_an_error():
    with pytest.raises(ThresholdsError, match="slo.windows: name at least one burn-rate tier"):
        load_alert_thresholds(overrides={"slo": {"windows": []}})
