"""Alert thresholds the dashboards colour their panels with.

The numbers come from ``alerts/thresholds.yaml`` through the alerts' own typed
loader, read at build time, so a user who tunes an alert sees the same line on the
dashboard, and a misspelled key fails the dashboards build as it fails the rules build.

>>> t = load_thresholds(None)
>>> t.error_ratio_warning, t.error_ratio_critical
(0.02, 0.05)
>>> t.daily_budget_usd("checkout")
100.0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from llmpulse.alerts import thresholds as alerts_thresholds
from llmpulse.alerts.thresholds import duration_seconds
from llmpulse.paths import ALERTS_DIR

DEFAULT_THRESHOLDS_PATH = ALERTS_DIR / "thresholds.yaml"

# Fraction of the daily budget at which the budget panels turn amber. A dashboard
# knob only: the LLMDailyBudgetExceeded alert fires at 100 %.
BUDGET_PACE_WARNING_RATIO = 0.8

# Default safety-evaluation selector (contract: configurable, this is the default).
DEFAULT_SAFETY_EVALUATION_REGEX = "(?i).*(safety|toxicity|harm|jailbreak|pii|guardrail).*"
DEFAULT_FAIL_LABEL_REGEX = "(?i)fail(ed|ure)?"
# Which operations are model calls (`CallSelector` of thresholds.yaml): every request,
# error-ratio and per-request panel, the latency tiles and "by model" latency panels use it.
DEFAULT_MODEL_CALL_SELECTOR = 'gen_ai_operation_name=~"chat|text_completion|generate_content|embeddings"'



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
    engine_kv_cache_threshold: float = 0.90  # ratio of the KV cache in use
    engine_ttft_objective: float = 0.95  # ratio of engine requests with a first token within the threshold
    engine_ttft_threshold_seconds: float = 1.0  # seconds
    # Burn-rate factors of the critical (paging) SLO alert tiers, x error budget rate.
    slo_burn_factors: tuple[float, ...] = (14.4, 6.0)
    slos: tuple[SLO, ...] = (
        SLO("availability", 0.995, "Share of LLM calls that succeed."),
        SLO("latency", 0.99, "Share of LLM calls faster than the latency threshold."),
    )

    def daily_budget_usd(self, service: str) -> float:
        """Daily budget of one service in USD (the per-service override or the default)."""
        return float(self.daily_budget_per_service_usd.get(service, self.daily_budget_default_usd))


def _burn_factors(slo) -> tuple[float, ...]:
    """Factors of the critical tiers: budgetPercent/100 x period / long window (Sloth's rule)."""
    period = duration_seconds(slo.period)
    factors = [round(w.budgetPercent / 100 * period / duration_seconds(w.long), 4)
               for w in slo.windows if w.severity == "critical"]
    return tuple(sorted(factors, reverse=True))


def from_alerts(a: alerts_thresholds.Thresholds) -> Thresholds:
    """The numbers a dashboard draws, read off the alerts' validated thresholds."""
    base = Thresholds()
    budget = a.LLMDailyBudgetExceededThresholdUSD
    return Thresholds(
        error_ratio_warning=float(float(a.LLMErrorRatioHighWarningThreshold)),
        error_ratio_critical=float(float(a.LLMErrorRatioHighCriticalThreshold)),
        ttft_warning_seconds=float(float(a.LLMTimeToFirstTokenHighWarningThreshold)),
        ttft_critical_seconds=float(float(a.LLMTimeToFirstTokenHighCriticalThreshold)),
        latency_slo_threshold_seconds=float(float(a.slo.latency.thresholdSeconds)),
        daily_budget_default_usd=float(budget.default),
        daily_budget_per_service_usd={str(k): float(v) for k, v in sorted(budget.per_service.items())},
        quality_drop_warning=float(float(a.LLMQualityDropWarningThreshold)),
        quality_drop_critical=float(float(a.LLMQualityDropCriticalThreshold)),
        model_call_selector=a.CallSelector.strip() or base.model_call_selector,
        safety_evaluation_regex=a.LLMSafetyEvaluationFailedNameRegex,
        safety_fail_label_regex=a.LLMSafetyEvaluationFailedFailLabelRegex,
        negative_feedback_ratio=float(float(a.LLMNegativeFeedbackHighThreshold)),
        truncation_ratio=float(float(a.LLMTruncationHighThreshold)),
        runaway_operations_per_trace=float(float(a.LLMRunawayAgentMaxOperationsPerTrace)),
        price_table_max_age_seconds=float(float(duration_seconds(a.LLMPriceTableStaleMaxAge))),
        engine_kv_cache_threshold=float(a.LLMEngineKVCacheNearlyFullThreshold),
        engine_ttft_objective=float(a.LLMEngineTimeToFirstTokenObjective),
        engine_ttft_threshold_seconds=float(a.LLMEngineTimeToFirstTokenThresholdSeconds),
        slo_burn_factors=_burn_factors(a.slo) or base.slo_burn_factors,
        slos=(SLO("availability", float(float(a.slo.availability.objective)), base.slos[0].description),
              SLO("latency", float(float(a.slo.latency.objective)), base.slos[1].description)),
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
