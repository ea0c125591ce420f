"""Alert thresholds the dashboards colour their panels with.

The numbers come from ``alerts/thresholds.yaml`` (owned by the alerts area), read
at build time, so a user who tunes an alert sees the same line on the dashboard.
Missing keys (or a missing file) fall back to the defaults in the shared contract.

>>> t = load_thresholds(None)
>>> t.error_ratio_warning, t.error_ratio_critical
(0.02, 0.05)
>>> t.daily_budget_usd("checkout")
100.0
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import llmpulse.alerts

DEFAULT_THRESHOLDS_PATH = Path(llmpulse.alerts.__file__).parent / "thresholds.yaml"

# Fraction of the daily budget at which the budget panels turn amber. A dashboard
# knob only: the LLMDailyBudgetExceeded alert fires at 100 %.
BUDGET_PACE_WARNING_RATIO = 0.8

# Default safety-evaluation selector (contract: configurable, this is the default).
DEFAULT_SAFETY_EVALUATION_REGEX = "(?i).*(safety|toxicity|harm|jailbreak|pii|guardrail).*"
DEFAULT_FAIL_LABEL_REGEX = "(?i)fail(ed|ure)?"
# Which operations are model calls (the SLO selector of thresholds.yaml): latency tiles
# and "by model" latency panels use it so agent and workflow spans do not dominate.
DEFAULT_MODEL_CALL_SELECTOR = 'gen_ai_operation_name=~"chat|text_completion|generate_content|embeddings"'

_DURATION = re.compile(r"^([0-9]+)(ms|s|m|h|d|w|y)$")
_DURATION_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


@dataclass(frozen=True)
class SLO:
    """One service level objective: `name` matches the `slo` label of the recording rules."""

    name: str
    objective: float  # ratio of good events, e.g. 0.995
    description: str


@dataclass(frozen=True)
class Thresholds:
    """Every number a dashboard draws, each named with its unit."""

    error_ratio_warning: float = 0.02  # ratio
    error_ratio_critical: float = 0.05  # ratio
    ttft_warning_seconds: float = 3.0  # seconds, p99
    ttft_critical_seconds: float = 5.0  # seconds, p99
    latency_slo_threshold_seconds: float = 10.24  # seconds
    daily_budget_default_usd: float = 100.0  # USD per service per day
    daily_budget_per_service_usd: dict[str, float] = field(default_factory=dict)
    quality_drop_warning: float = 0.10  # fraction below the 7 d baseline
    quality_drop_critical: float = 0.25  # fraction below the 7 d baseline
    model_call_selector: str = DEFAULT_MODEL_CALL_SELECTOR  # PromQL matchers
    safety_evaluation_regex: str = DEFAULT_SAFETY_EVALUATION_REGEX
    safety_fail_label_regex: str = DEFAULT_FAIL_LABEL_REGEX
    negative_feedback_ratio: float = 0.15  # ratio of negative feedback
    truncation_ratio: float = 0.20  # ratio of responses with finish reason length
    runaway_operations_per_trace: float = 25  # LLM calls per trace
    price_table_max_age_seconds: float = 30 * 86400  # seconds since the last price check
    # Burn-rate factors of the critical (paging) SLO alert tiers, x error budget rate.
    slo_burn_factors: tuple[float, ...] = (14.4, 6.0)
    slos: tuple[SLO, ...] = (
        SLO("availability", 0.995, "Share of LLM calls that succeed."),
        SLO("latency", 0.99, "Share of LLM calls faster than the latency threshold."),
    )

    def daily_budget_usd(self, service: str) -> float:
        """Daily budget of one service in USD (the per-service override or the default)."""
        return float(self.daily_budget_per_service_usd.get(service, self.daily_budget_default_usd))


def _number(data: dict[str, Any], key: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, dict):  # e.g. {default: 100, per_service: {...}}
        value = value.get("default", default)
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"thresholds: {key} must be a number, got {value!r}") from exc


def _seconds(data: dict[str, Any], key: str, default: float) -> float:
    """A Prometheus duration ("30d") or a number of seconds."""
    value = data.get(key, default)
    if isinstance(value, (int, float)):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"thresholds: {key} must be a duration like 30d, got {value!r}")
    return float(int(match.group(1)) * _DURATION_SECONDS[match.group(2)])


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _slos(data: dict[str, Any], defaults: tuple[SLO, ...]) -> tuple[SLO, ...]:
    """Read the `slo:` block leniently: `{availability: {objective: 0.995}, ...}`."""
    block = data.get("slo") or data.get("slos") or {}
    if not isinstance(block, dict):
        return defaults
    objectives = block.get("objectives", block)
    out = []
    for slo in defaults:
        entry = objectives.get(slo.name) if isinstance(objectives, dict) else None
        objective = slo.objective
        if isinstance(entry, dict):
            objective = float(entry.get("objective", entry.get("target", objective)))
        elif isinstance(entry, (int, float)):
            objective = float(entry)
        if objective > 1:  # written as a percentage, e.g. 99.5
            objective = objective / 100
        out.append(SLO(slo.name, objective, slo.description))
    return tuple(out)


def _burn_factors(data: dict[str, Any], default: tuple[float, ...]) -> tuple[float, ...]:
    """Factors of the critical tiers in `slo.windows`: budgetPercent/100 * period_h / long_h."""
    block = data.get("slo") or {}
    windows = block.get("windows") if isinstance(block, dict) else None
    if not isinstance(windows, list):
        return default
    period_hours = _seconds(block, "period", 30 * 86400) / 3600
    factors = []
    for tier in windows:
        if isinstance(tier, dict) and tier.get("severity") == "critical":
            long_hours = _seconds(tier, "long", 3600) / 3600
            factors.append(round(float(tier["budgetPercent"]) / 100 * period_hours / long_hours, 4))
    return tuple(sorted(factors, reverse=True)) or default


def _model_call_selector(data: dict[str, Any], default: str) -> str:
    block = data.get("slo") or {}
    selector = block.get("selector", default) if isinstance(block, dict) else default
    return str(selector).strip() or default


def _latency_threshold(data: dict[str, Any], default: float) -> float:
    if "LLMLatencySLOThresholdSeconds" in data:
        return _number(data, "LLMLatencySLOThresholdSeconds", default)
    block = data.get("slo") or {}
    latency = block.get("latency") if isinstance(block, dict) else None
    if isinstance(latency, dict):
        for key in ("thresholdSeconds", "threshold_seconds", "LLMLatencySLOThresholdSeconds"):
            if key in latency:
                return float(latency[key])
    return default


def thresholds_from_mapping(data: dict[str, Any]) -> Thresholds:
    """Build `Thresholds` from the parsed YAML mapping (missing keys keep their defaults)."""
    base = Thresholds()
    budget = data.get("LLMDailyBudgetExceededThresholdUSD", {})
    per_service = budget.get("per_service") or {} if isinstance(budget, dict) else {}
    return Thresholds(
        error_ratio_warning=_number(data, "LLMErrorRatioHighWarningThreshold", base.error_ratio_warning),
        error_ratio_critical=_number(data, "LLMErrorRatioHighCriticalThreshold", base.error_ratio_critical),
        ttft_warning_seconds=_number(
            data, "LLMTimeToFirstTokenHighWarningThreshold", base.ttft_warning_seconds
        ),
        ttft_critical_seconds=_number(
            data, "LLMTimeToFirstTokenHighCriticalThreshold", base.ttft_critical_seconds
        ),
        latency_slo_threshold_seconds=_latency_threshold(data, base.latency_slo_threshold_seconds),
        daily_budget_default_usd=_number(
            data, "LLMDailyBudgetExceededThresholdUSD", base.daily_budget_default_usd
        ),
        daily_budget_per_service_usd={str(k): float(v) for k, v in sorted(per_service.items())},
        quality_drop_warning=_number(data, "LLMQualityDropWarningThreshold", base.quality_drop_warning),
        quality_drop_critical=_number(data, "LLMQualityDropCriticalThreshold", base.quality_drop_critical),
        safety_evaluation_regex=str(data.get("LLMSafetyEvaluationFailedNameRegex", base.safety_evaluation_regex)),
        safety_fail_label_regex=str(data.get("LLMSafetyEvaluationFailedFailLabelRegex", base.safety_fail_label_regex)),
        negative_feedback_ratio=_number(data, "LLMNegativeFeedbackHighThreshold", base.negative_feedback_ratio),
        truncation_ratio=_number(data, "LLMTruncationHighThreshold", base.truncation_ratio),
        runaway_operations_per_trace=_number(
            data, "LLMRunawayAgentMaxOperationsPerTrace", base.runaway_operations_per_trace
        ),
        price_table_max_age_seconds=_seconds(data, "LLMPriceTableStaleMaxAge", base.price_table_max_age_seconds),
        slos=_slos(data, base.slos),
        model_call_selector=_model_call_selector(data, base.model_call_selector),
        slo_burn_factors=_burn_factors(data, base.slo_burn_factors),
    )


def _read(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of threshold names to values")
    return data


def load_thresholds(path: str | Path | None = DEFAULT_THRESHOLDS_PATH) -> Thresholds:
    """Read thresholds: the packaged alerts/thresholds.yaml, then `path` on top of it.

    A user file may hold only the keys it changes (as with `llmpulse alerts build
    --thresholds`). `path=None` gives the contract defaults without reading any file.
    """
    if path is None:
        return Thresholds()
    data: dict[str, Any] = {}
    if DEFAULT_THRESHOLDS_PATH.is_file():
        data = _read(DEFAULT_THRESHOLDS_PATH)
    if Path(path).is_file() and Path(path).resolve() != DEFAULT_THRESHOLDS_PATH.resolve():
        data = _merge(data, _read(Path(path)))
    return thresholds_from_mapping(data)
