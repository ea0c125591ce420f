"""alerts/thresholds.yaml loads into typed dataclasses; every error names its path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from llmpulse.alerts.thresholds import DEFAULT_PATH, Thresholds, ThresholdsError, load_thresholds
from llmpulse.cli import main


def errors_of(tmp_path: Path, text: str) -> list[str]:
    f = tmp_path / "t.yaml"
    f.write_text(text)
    with pytest.raises(ThresholdsError) as exc:
        load_thresholds(f)
    return exc.value.errors


def test_defaults_load_with_contract_keys():
    th = load_thresholds()
    assert isinstance(th, Thresholds)
    assert th.LLMErrorRatioHighWarningThreshold == 0.02
    assert th.LLMErrorRatioHighCriticalThreshold == 0.05
    assert th.LLMTimeToFirstTokenHighCriticalThreshold == 5
    assert th.LLMDailyBudgetExceededThresholdUSD.default == 100
    assert th.LLMDailyBudgetExceededThresholdUSD.per_service == {}
    assert th.LLMQualityDropWarningThreshold == 0.10
    assert th.LLMQualityDropCriticalThreshold == 0.25
    assert th.slo.period == "30d"
    assert th.slo.availability.objective == 0.995
    assert [(w.long, w.short, w.budgetPercent) for w in th.slo.windows] == [
        ("1h", "5m", 2), ("6h", "30m", 5), ("1d", "2h", 10), ("3d", "6h", 10)]


def test_every_knob_has_a_unit_comment():
    for line in DEFAULT_PATH.read_text().splitlines():
        if line and not line.startswith(("#", " ")) and not line.endswith(":"):
            assert "#" in line, f"no unit comment: {line}"


def test_every_knob_key_is_named_after_an_alert():
    data = yaml.safe_load(DEFAULT_PATH.read_text())
    generic = {"Selector", "CallSelector", "GrafanaURL", "RunbookURLBase", "slo"}
    for key in data:
        assert key in generic or key.startswith("LLM"), key


def test_user_file_overrides_only_its_keys(tmp_path: Path):
    f = tmp_path / "mine.yaml"
    f.write_text("LLMErrorRatioHighCriticalThreshold: 0.1\nLLMDailyBudgetExceededThresholdUSD: {per_service: {bot: 20}}\n")
    th = load_thresholds(f)
    assert th.LLMErrorRatioHighCriticalThreshold == 0.1
    assert th.LLMErrorRatioHighWarningThreshold == 0.02
    assert th.LLMDailyBudgetExceededThresholdUSD.default == 100
    assert th.LLMDailyBudgetExceededThresholdUSD.per_service == {"bot": 20}


def test_every_error_reported_with_its_path(tmp_path: Path):
    errors = errors_of(tmp_path, """
LLMErrorRatioHighCriticalThreshold: 5
LLMErrorRatioHighCriticalTreshold: 0.1
LLMTruncationHighWindow: fifteen minutes
LLMRunawayAgentMaxOperationsPerTrace: "25"
LLMSafetyEvaluationFailedNameRegex: "(unclosed"
LLMDailyBudgetExceededThresholdUSD: {default: -1, per_service: {bot: cheap}}
slo:
  availability: {objective: 1.5}
  windows:
    - {severity: page, long: 1h, short: 5m, budgetPercent: 2}
""")
    f = str(tmp_path / "t.yaml")
    known = ("CallSelector, GrafanaURL, LLMConversationCostOutlierBaselineWindow, LLMConversationCostOutlierFactor, "
             "LLMConversationCostOutlierFor, LLMConversationCostOutlierMinHistory, LLMConversationCostOutlierQuantile, "
             "LLMConversationCostOutlierWindow, ... (104 in all)")
    # one format for every typed file (llmpulse.typed): file: key path: what was wrong (what is allowed)
    assert sorted(errors) == sorted([
        f"{f}: LLMErrorRatioHighCriticalTreshold: unknown key (did you mean LLMErrorRatioHighCriticalThreshold? "
        f"known: {known})",
        f"{f}: LLMErrorRatioHighCriticalThreshold: must be a number in [0, 1], got 5",
        f"{f}: slo.availability.objective: must be a number in (0, 1), got 1.5",
        f"{f}: slo.windows[0].severity: must be one of critical, warning, info, got 'page'",
        f"{f}: slo.windows[0].for: missing (required)",
        f"{f}: LLMDailyBudgetExceededThresholdUSD.default: must be a number >= 0, got -1",
        f"{f}: LLMDailyBudgetExceededThresholdUSD.per_service.bot: must be a number >= 0, got 'cheap'",
        f"{f}: LLMTruncationHighWindow: must be a duration like 30s, 5m, 1h, 7d, 1w, got 'fifteen minutes'",
        f"{f}: LLMRunawayAgentMaxOperationsPerTrace: must be a number > 0, got '25'",
        f"{f}: LLMSafetyEvaluationFailedNameRegex: must be a valid regular expression, got '(unclosed'",
    ])


def test_cross_field_rules(tmp_path: Path):
    errors = errors_of(tmp_path, """
LLMErrorRatioHighWarningThreshold: 0.5
slo:
  windows:
    - {severity: critical, long: 5m, short: 1h, budgetPercent: 2, for: 2m}
""")
    assert any("LLMErrorRatioHighWarningThreshold: must not be above LLMErrorRatioHighCriticalThreshold" in e for e in errors)
    assert any("slo.windows[0]: short (1h) must be shorter than long (5m)" in e for e in errors)


def test_label_values_in_per_service_maps_are_safe(tmp_path: Path):
    errors = errors_of(tmp_path, 'LLMDailyBudgetExceededThresholdUSD: {per_service: {\'a"b\': 5}}\n')
    assert errors == [f'{tmp_path / "t.yaml"}: LLMDailyBudgetExceededThresholdUSD.per_service.a"b: '
                      "label value must be non-empty, without quotes, backslashes or newlines"]


def test_not_a_mapping_and_bad_yaml(tmp_path: Path):
    assert "must be a mapping" in errors_of(tmp_path, "- 1\n- 2\n")[0]
    assert "not valid YAML" in errors_of(tmp_path, "a: [\n")[0]


def test_bool_is_not_a_number(tmp_path: Path):
    assert errors_of(tmp_path, "LLMTruncationHighThreshold: true\n") == [
        f"{tmp_path / 't.yaml'}: LLMTruncationHighThreshold: must be a number in [0, 1], got True"]


def test_check_command(tmp_path: Path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text("LLMTruncationHighThreshold: 0.3\n")
    assert main(["alerts", "check", "--thresholds", str(good)]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("LLMTruncationHighThreshold: lots\n")
    assert main(["alerts", "check", "--thresholds", str(bad)]) == 1
    assert "LLMTruncationHighThreshold: must be a number in [0, 1]" in capsys.readouterr().err


@pytest.mark.slow
def test_docstring_examples():
    import doctest

    import llmpulse.alerts.alertmanager
    import llmpulse.alerts.build
    import llmpulse.alerts.thresholds

    for module in (llmpulse.alerts.thresholds, llmpulse.alerts.build, llmpulse.alerts.alertmanager):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_call_selector_must_be_one_operation_matcher():
    assert load_thresholds(overrides={"CallSelector": 'gen_ai_operation_name="chat"'}).CallSelector
    for bad in ('job="x"', 'gen_ai_operation_name=~"chat", job="x"', "chat"):
        with pytest.raises(ThresholdsError, match="CallSelector: must be one matcher on gen_ai_operation_name"):
            load_thresholds(overrides={"CallSelector": bad})


# --- the latency SLO's threshold and the exporter's duration buckets --------------------------------

def _latency(tmp_path: Path, seconds: float) -> Path:
    f = tmp_path / "t.yaml"
    f.write_text(f"slo:\n  latency: {{objective: 0.99, thresholdSeconds: {seconds}}}\n")
    return f


@pytest.mark.parametrize("command", ["check", "build"])
def test_latency_threshold_off_the_default_buckets_warns(tmp_path: Path, capsys, command):
    from llmpulse import config

    f = _latency(tmp_path, 7)
    argv = ["alerts", command, "--thresholds", str(f)] + (["--out", str(tmp_path / "out")] if command == "build" else [])
    assert main(argv) == 0                        # a warning, not an error: the exporter's buckets may be changed
    err = capsys.readouterr().err
    assert "WARNING" in err and "slo.latency.thresholdSeconds" in err and "7" in err
    assert "gen_ai_client_operation_duration_seconds" in err
    assert ", ".join(f"{b:g}" for b in config.DURATION_BUCKETS) in err   # the bounds the exporter really uses
    assert "metrics.duration_buckets" in err and "only if" in err
    if command == "build":
        assert 'le=~"7(\\\\.0)?"' in (tmp_path / "out" / "llmpulse-rules.yaml").read_text()   # built all the same


@pytest.mark.parametrize("command", ["check", "build"])
@pytest.mark.parametrize("seconds", [None, 5.12, 10.24, 40.96])
def test_latency_threshold_on_a_default_bucket_is_quiet(tmp_path: Path, capsys, command, seconds):
    argv = ["alerts", command] + (["--thresholds", str(_latency(tmp_path, seconds))] if seconds else [])
    argv += ["--out", str(tmp_path / "out")] if command == "build" else []
    assert main(argv) == 0
    assert "WARNING" not in capsys.readouterr().err


def test_the_warning_follows_the_exporters_defaults_in_code(tmp_path: Path, capsys, monkeypatch):
    from llmpulse import config

    monkeypatch.setattr(config, "DURATION_BUCKETS", [1.0, 7.0, 30.0])
    assert main(["alerts", "check", "--thresholds", str(_latency(tmp_path, 7))]) == 0
    assert "WARNING" not in capsys.readouterr().err
    assert main(["alerts", "check", "--thresholds", str(_latency(tmp_path, 10.24))]) == 0
    assert "(1, 7, 30)" in capsys.readouterr().err


def test_a_service_named_like_a_number_keeps_its_name(tmp_path):
    # a per-service budget for service "0123" (YAML 1.1 reads the key as 83) applied to service "83"
    f = tmp_path / "thresholds.yaml"
    f.write_text(DEFAULT_PATH.read_text().replace("  per_service: {}", "  per_service: {0123: 250}", 1))
    t = load_thresholds(f)
    assert t.LLMDailyBudgetExceededThresholdUSD.per_service == {"0123": 250}
