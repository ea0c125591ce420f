"""Alert thresholds the dashboards colour their panels with.

The numbers come from ``alerts/thresholds.yaml`` through the alerts' own typed
loader, read at build time, so a user who tunes an alert sees the same line on the
dashboard, and a misspelled key fails the dashboards build as it fails the rules build.

>>> t = load_thresholds(None)
>>> t.error_ratio_warning, t.error_ratio_critical
(0.02, 0.05)
>>> t.daily_budget_usd("checkout")
100.0
>>> from dataclasses import replace
>>> replace(t, daily_budget_per_service_usd={"chat": 50.0}).daily_budget_usd("chat")
50.0
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from llmpulse.alerts import thresholds as alerts_thresholds
from llmpulse.alerts.thresholds import duration_seconds

DEFAULT_THRESHOLDS_PATH = alerts_thresholds.DEFAULT_PATH

# Fraction of the daily budget at which the budget panels turn amber. A dashboard
# knob only: the LLMDailyBudgetExceeded alert fires at 100 %.
BUDGET_PACE_WARNING_RATIO = 0.8


@dataclass(frozen=True)
class SLO:
    """One service level objective: `name` matches the `slo` label of the recording rules."""

    name: str
    objective: float  # ratio of good events, e.g. 0.995
    description: str


@dataclass(frozen=True)
class Thresholds:
    """Every number a dashboard draws, each named with its unit. No defaults here: every value comes
    from alerts/thresholds.yaml (`from_alerts`), the one place they are written."""

    error_ratio_warning: float  # ratio
    error_ratio_critical: float  # ratio
    ttft_warning_seconds: float  # seconds, p99
    ttft_critical_seconds: float  # seconds, p99
    latency_slo_threshold_seconds: float  # seconds
    daily_budget_default_usd: float  # USD per service per day
    daily_budget_per_service_usd: dict[str, float]
    quality_drop_warning: float  # fraction below the 7 d baseline
    quality_drop_critical: float  # fraction below the 7 d baseline
    model_call_selector: str  # PromQL matchers: which operations are model calls (CallSelector)
    safety_evaluation_regex: str
    safety_fail_label_regex: str
    negative_feedback_ratio: float  # ratio of negative feedback
    truncation_ratio: float  # ratio of responses with finish reason length
    runaway_operations_per_trace: float  # LLM calls per trace
    price_table_max_age_seconds: float  # seconds since the last price check
    engine_kv_cache_threshold: float  # ratio of the KV cache in use
    engine_ttft_objective: float  # ratio of engine requests with a first token within the threshold
    engine_ttft_threshold_seconds: float  # seconds
    # Burn-rate factors of the critical (paging) SLO alert tiers, x error budget rate.
    slo_burn_factors: tuple[float, ...]
    slos: tuple[SLO, ...]

    def daily_budget_usd(self, service: str) -> float:
        """Daily budget of one service in USD (the per-service override or the default)."""
        return float(self.daily_budget_per_service_usd.get(service, self.daily_budget_default_usd))


SLO_DESCRIPTIONS = {"availability": "Share of LLM calls that succeed.",
                    "latency": "Share of LLM calls faster than the latency threshold."}


def _burn_factors(slo: alerts_thresholds.SLO) -> tuple[float, ...]:
    """Factors of the critical tiers (of every tier when none is critical): budgetPercent/100 x period /
    long window (Sloth's rule)."""
    period = duration_seconds(slo.period)
    tiers = [w for w in slo.windows if w.severity == "critical"] or slo.windows
    factors = [round(w.budgetPercent / 100 * period / duration_seconds(w.long), 4) for w in tiers]
    return tuple(sorted(factors, reverse=True))


def from_alerts(a: alerts_thresholds.Thresholds) -> Thresholds:
    """The numbers a dashboard draws, read off the alerts' validated thresholds."""
    budget = a.LLMDailyBudgetExceededThresholdUSD
    return Thresholds(
        error_ratio_warning=float(a.LLMErrorRatioHighWarningThreshold),
        error_ratio_critical=float(a.LLMErrorRatioHighCriticalThreshold),
        ttft_warning_seconds=float(a.LLMTimeToFirstTokenHighWarningThreshold),
        ttft_critical_seconds=float(a.LLMTimeToFirstTokenHighCriticalThreshold),
        latency_slo_threshold_seconds=float(a.slo.latency.thresholdSeconds),
        daily_budget_default_usd=float(budget.default),
        daily_budget_per_service_usd={str(k): float(v) for k, v in sorted(budget.per_service.items())},
        quality_drop_warning=float(a.LLMQualityDropWarningThreshold),
        quality_drop_critical=float(a.LLMQualityDropCriticalThreshold),
        model_call_selector=a.CallSelector.strip(),
        safety_evaluation_regex=a.LLMSafetyEvaluationFailedNameRegex,
        safety_fail_label_regex=a.LLMSafetyEvaluationFailedFailLabelRegex,
        negative_feedback_ratio=float(a.LLMNegativeFeedbackHighThreshold),
        truncation_ratio=float(a.LLMTruncationHighThreshold),
        runaway_operations_per_trace=float(a.LLMRunawayAgentMaxOperationsPerTrace),
        price_table_max_age_seconds=float(duration_seconds(a.LLMPriceTableStaleMaxAge)),
        engine_kv_cache_threshold=float(a.LLMEngineKVCacheNearlyFullThreshold),
        engine_ttft_objective=float(a.LLMEngineTimeToFirstTokenObjective),
        engine_ttft_threshold_seconds=float(a.LLMEngineTimeToFirstTokenThresholdSeconds),
        slo_burn_factors=_burn_factors(a.slo),
        slos=(SLO("availability", float(a.slo.availability.objective), SLO_DESCRIPTIONS["availability"]),
              SLO("latency", float(a.slo.latency.objective), SLO_DESCRIPTIONS["latency"])),
    )


def load_thresholds(path: str | Path | None = DEFAULT_THRESHOLDS_PATH) -> Thresholds:
    """Read thresholds through the alerts' loader: the packaged file, then `path` on top.

    A user file may hold only the keys it changes, and a misspelled key or a wrong
    type is an error naming its path (ThresholdsError, a ValueError), exactly as for
    `llmpulse alerts build --thresholds`. `path=None` reads the packaged file alone.
    """
    if path is not None and Path(path).resolve() == DEFAULT_THRESHOLDS_PATH.resolve():
        path = None
    return from_alerts(alerts_thresholds.load_thresholds(path))
