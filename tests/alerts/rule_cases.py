"""promtool unit tests for every llmpulse alert and recording rule, as data.

Each Case becomes one `promtool test rules` file. Alerts are checked on both
sides of their `for:` (no alert one evaluation before, the full alert with all
labels and annotations at it), baselines on a cold start (no alert without
history), and every recording rule by a promql_expr_test with exact samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

GRAFANA = "http://localhost:3000"
RUNBOOK = "https://github.com/llmpulse/llmpulse/blob/main/docs/runbooks.md#"

SUMMARY = {
    "LLMErrorRatioHigh": "LLM operations are failing at an unusual rate.",
    "LLMTimeToFirstTokenHigh": "Streamed LLM responses are slow to start.",
    "LLMSafetyEvaluationFailed": "A safety evaluation of an LLM response failed.",
    "LLMQualityDrop": "LLM evaluation scores dropped below their baseline.",
    "LLMAvailabilitySLOBurn": "The availability error budget is burning too fast.",
    "LLMLatencySLOBurn": "The latency error budget is burning too fast.",
    "LLMTelemetryAbsent": "A service that was sending LLM telemetry has gone silent.",
    "LLMCostPerRequestHigh": "LLM cost per request is well above its daily baseline.",
    "LLMSpendSpike": "Hourly LLM spend spiked above its rolling average.",
    "LLMDailyBudgetExceeded": "LLM spend over the last 24 hours is above its budget.",
    "LLMNegativeFeedbackHigh": "Users are giving an unusual share of negative feedback.",
    "LLMTruncationHigh": "Many LLM responses are cut off by the token limit.",
    "LLMLatencyRegression": "LLM latency regressed against the same time last week.",
    "LLMTokenQuotaNearlyExhausted": "LLM token use is close to its quota.",
    "LLMUnpricedModel": "Traffic goes to a model with no price, so its cost is not tracked.",
    "LLMRunawayAgent": "Agent traces make far more LLM calls than expected.",
    "LLMConversationCostOutlier": "Some conversations cost far more than the average conversation.",
    "LLMRetrievalLatencyTrendingUp": "Retrieval latency (p95) is trending up.",
    "LLMToolLatencyTrendingUp": "Tool latency (p95) is trending up.",
    "LLMConversationCostTrendingUp": "Mean cost per conversation is trending up.",
    "LLMExporterLabelOverflow": "The exporter folded label values into __overflow__ because a label hit its cap.",
    "LLMExporterRejectingSpans": "The exporter is rejecting spans it received.",
    "LLMPriceTableStale": "The model price table has not been checked for a long time.",
    "Watchdog": "An alert that always fires, to prove the alerting pipeline works.",
}

DASHBOARD = {
    "LLMErrorRatioHigh": "llmpulse-overview", "LLMTimeToFirstTokenHigh": "llmpulse-latency",
    "LLMSafetyEvaluationFailed": "llmpulse-quality", "LLMQualityDrop": "llmpulse-quality",
    "LLMAvailabilitySLOBurn": "llmpulse-slo", "LLMLatencySLOBurn": "llmpulse-slo",
    "LLMTelemetryAbsent": "llmpulse-exporter", "LLMCostPerRequestHigh": "llmpulse-cost",
    "LLMSpendSpike": "llmpulse-cost", "LLMDailyBudgetExceeded": "llmpulse-cost",
    "LLMNegativeFeedbackHigh": "llmpulse-quality", "LLMTruncationHigh": "llmpulse-quality",
    "LLMLatencyRegression": "llmpulse-latency", "LLMTokenQuotaNearlyExhausted": "llmpulse-cost",
    "LLMUnpricedModel": "llmpulse-cost", "LLMRunawayAgent": "llmpulse-agents",
    "LLMConversationCostOutlier": "llmpulse-cost", "LLMRetrievalLatencyTrendingUp": "llmpulse-latency",
    "LLMToolLatencyTrendingUp": "llmpulse-agents", "LLMConversationCostTrendingUp": "llmpulse-cost",
    "LLMExporterLabelOverflow": "llmpulse-exporter", "LLMExporterRejectingSpans": "llmpulse-exporter",
    "LLMPriceTableStale": "llmpulse-exporter", "Watchdog": "llmpulse-overview",
}

# Alerts whose dashboard link also selects the model.
MODEL_SCOPED = {
    "LLMErrorRatioHigh", "LLMTimeToFirstTokenHigh", "LLMSafetyEvaluationFailed", "LLMQualityDrop",
    "LLMCostPerRequestHigh", "LLMNegativeFeedbackHigh", "LLMTruncationHigh", "LLMLatencyRegression",
    "LLMTokenQuotaNearlyExhausted", "LLMUnpricedModel",
}

SM = {"job": "llm", "service_name": "chat-api", "gen_ai_operation_name": "chat",
      "gen_ai_provider_name": "openai", "gen_ai_request_model": "gpt-4o"}
SVC = {"job": "llm", "service_name": "chat-api"}
EVAL = {"job": "llm", "service_name": "chat-api", "gen_ai_request_model": "gpt-4o", "gen_ai_evaluation_name": "relevance"}
WHO = "chat-api chat on openai/gpt-4o"


def series(metric: str, labels: dict[str, str], values: str) -> dict[str, str]:
    body = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{metric}{{{body}}}", "values": values}


def hist(metric: str, labels: dict[str, str], buckets: dict[str, str], total: str, sum_values: str | None = None) -> list[dict]:
    """Series of a classic histogram: `buckets` maps le -> values; +Inf and _count get `total`."""
    out = [series(metric + "_bucket", labels | {"le": le}, v) for le, v in buckets.items()]
    out.append(series(metric + "_bucket", labels | {"le": "+Inf"}, total))
    out.append(series(metric + "_count", labels, total))
    if sum_values is not None:
        out.append(series(metric + "_sum", labels, sum_values))
    return out


def dashboard(alert: str, labels: dict[str, str]) -> str:
    vars_ = []
    if "service_name" in labels:
        vars_.append(f"var-service={labels['service_name']}")
    if alert in MODEL_SCOPED and "gen_ai_request_model" in labels:
        vars_.append(f"var-model={labels['gen_ai_request_model']}")
    return f"{GRAFANA}/d/{DASHBOARD[alert]}" + ("?" + "&".join(vars_) if vars_ else "")


def fired(alert: str, severity: str, labels: dict[str, str], description: str) -> dict[str, Any]:
    """One expected firing alert with every label and annotation."""
    return {
        "exp_labels": {"severity": severity} | labels,
        "exp_annotations": {
            "summary": SUMMARY[alert],
            "description": description,
            "runbook_url": RUNBOOK + alert.lower(),
            "dashboard_url": dashboard(alert, labels),
        },
    }


def at(eval_time: str, alert: str, *expected: dict) -> dict[str, Any]:
    return {"eval_time": eval_time, "alertname": alert, "exp_alerts": list(expected)}


def expr(eval_time: str, query: str, *samples: tuple[str, float]) -> dict[str, Any]:
    return {"eval_time": eval_time, "expr": query,
            "exp_samples": [{"labels": lbl, "value": v} for lbl, v in samples]}


def approx(eval_time: str, query: str, *samples: tuple[dict[str, str], float], to: float = 0.0001) -> dict[str, Any]:
    """Like expr(), with the query rounded to `to` (rate() leaves float noise)."""
    return {"eval_time": eval_time, "expr": f"round({query}, {to})",
            "exp_samples": [{"labels": lbl("", labels), "value": v} for labels, v in samples]}


def lbl(metric: str, labels: dict[str, str]) -> str:
    return metric + "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


@dataclass
class Case:
    name: str
    input_series: list[dict]
    alerts: list[dict] = field(default_factory=list)
    exprs: list[dict] = field(default_factory=list)
    interval: str = "1m"
    evaluation_interval: str = "1m"
    thresholds: dict[str, Any] | None = None  # build the rules from these overrides instead

    def document(self, rule_files: list[str]) -> dict[str, Any]:
        test: dict[str, Any] = {"interval": self.interval, "input_series": self.input_series}
        if self.alerts:
            test["alert_rule_test"] = self.alerts
        if self.exprs:
            test["promql_expr_test"] = self.exprs
        return {"rule_files": rule_files, "evaluation_interval": self.evaluation_interval, "tests": [test]}


# ------------------------------------------------------------------ cases

CASES: list[Case] = []

# Error ratio: 6 of 60 operations a minute fail (10 %). Critical (5 %, for 5m)
# becomes active at 1m and fires at 6m; warning (2 %, for 15m) fires at 16m.
# A quiet service with 100 % errors stays silent (below the minimum traffic).
QUIET = SM | {"service_name": "quiet-api"}
CASES.append(Case(
    "error_ratio",
    [series("gen_ai_client_operation_duration_seconds_count", SM | {"gen_ai_response_model": "gpt-4o-2024"}, "0+54x30"),
     series("gen_ai_client_operation_duration_seconds_count", SM | {"gen_ai_response_model": "gpt-4o-2024", "error_type": "timeout"}, "0+6x30"),
     series("gen_ai_client_operation_duration_seconds_count", QUIET | {"error_type": "500"}, "0+0.375x30")],
    alerts=[
        at("6m", "LLMErrorRatioHigh"),
        at("7m", "LLMErrorRatioHigh", fired("LLMErrorRatioHigh", "critical", SM,
           f"{WHO}: 10% of operations failed over the last 5m (threshold 5%).")),
        at("16m", "LLMErrorRatioHigh", fired("LLMErrorRatioHigh", "critical", SM,
           f"{WHO}: 10% of operations failed over the last 5m (threshold 5%).")),
        at("17m", "LLMErrorRatioHigh",
           fired("LLMErrorRatioHigh", "critical", SM, f"{WHO}: 10% of operations failed over the last 5m (threshold 5%)."),
           fired("LLMErrorRatioHigh", "warning", SM, f"{WHO}: 10% of operations failed over the last 5m (threshold 2%).")),
    ],
    exprs=[
        expr("10m", "service_model:gen_ai_client_operations:rate5m",
             (lbl("service_model:gen_ai_client_operations:rate5m", SM), 1.0),
             (lbl("service_model:gen_ai_client_operations:rate5m", QUIET), 0.00625)),
        expr("10m", "service_model:gen_ai_client_operation_errors:rate5m",
             (lbl("service_model:gen_ai_client_operation_errors:rate5m", SM), 0.1),
             (lbl("service_model:gen_ai_client_operation_errors:rate5m", QUIET), 0.00625)),
        expr("10m", "service_model:gen_ai_client_operation_errors_per_operations:ratio_rate5m",
             (lbl("service_model:gen_ai_client_operation_errors_per_operations:ratio_rate5m", SM), 0.1),
             (lbl("service_model:gen_ai_client_operation_errors_per_operations:ratio_rate5m", QUIET), 1.0)),
        expr("10m", 'service:gen_ai_client_operations:rate5m{service_name="chat-api"}',
             (lbl("service:gen_ai_client_operations:rate5m", SVC), 1.0)),
        expr("10m", 'service:gen_ai_client_operation_errors:rate5m{service_name="chat-api"}',
             (lbl("service:gen_ai_client_operation_errors:rate5m", SVC), 0.1)),
        expr("10m", 'service:gen_ai_client_operation_errors_per_operations:ratio_rate5m{service_name="chat-api"}',
             (lbl("service:gen_ai_client_operation_errors_per_operations:ratio_rate5m", SVC), 0.1)),
    ],
))

# A service with no errors at all records a 0 error ratio, not a missing one.
CASES.append(Case(
    "error_ratio_zero",
    [series("gen_ai_client_operation_duration_seconds_count", SM, "0+60x10")],
    alerts=[at("10m", "LLMErrorRatioHigh")],
    exprs=[expr("10m", "service_model:gen_ai_client_operation_errors_per_operations:ratio_rate5m",
                (lbl("service_model:gen_ai_client_operation_errors_per_operations:ratio_rate5m", SM), 0.0)),
           expr("10m", "service:gen_ai_client_operation_errors_per_operations:ratio_rate5m",
                (lbl("service:gen_ai_client_operation_errors_per_operations:ratio_rate5m", SVC), 0.0))],
))

# Latency quantiles: every operation takes between 1s and 2s; every first
# chunk arrives between 5s and 10s, so p99 TTFT = 5 + 5 * 0.99 = 9.95s.
CASES.append(Case(
    "latency_quantiles",
    hist("gen_ai_client_operation_duration_seconds", SM, {"1": "0x30", "2": "0+60x30"}, "0+60x30")
    + hist("gen_ai_client_operation_time_to_first_chunk_seconds", SM, {"1": "0x30", "5": "0x30", "10": "0+60x30"}, "0+60x30"),
    alerts=[
        at("6m", "LLMTimeToFirstTokenHigh"),
        at("7m", "LLMTimeToFirstTokenHigh", fired("LLMTimeToFirstTokenHigh", "critical", SM,
           f"{WHO}: p99 time to first token is 9.95s over the last 5m (threshold 5s).")),
        at("16m", "LLMTimeToFirstTokenHigh", fired("LLMTimeToFirstTokenHigh", "critical", SM,
           f"{WHO}: p99 time to first token is 9.95s over the last 5m (threshold 5s).")),
        at("17m", "LLMTimeToFirstTokenHigh",
           fired("LLMTimeToFirstTokenHigh", "critical", SM, f"{WHO}: p99 time to first token is 9.95s over the last 5m (threshold 5s)."),
           fired("LLMTimeToFirstTokenHigh", "warning", SM, f"{WHO}: p99 time to first token is 9.95s over the last 5m (threshold 3s).")),
    ],
    exprs=[
        expr("10m", "service_model:gen_ai_client_operation_duration_seconds:p50_rate5m",
             (lbl("service_model:gen_ai_client_operation_duration_seconds:p50_rate5m", SM), 1.5)),
        expr("10m", "service_model:gen_ai_client_operation_duration_seconds:p95_rate5m",
             (lbl("service_model:gen_ai_client_operation_duration_seconds:p95_rate5m", SM), 1.95)),
        expr("10m", "service_model:gen_ai_client_operation_duration_seconds:p99_rate5m",
             (lbl("service_model:gen_ai_client_operation_duration_seconds:p99_rate5m", SM), 1.99)),
        expr("10m", "service_model:gen_ai_client_operation_time_to_first_chunk_seconds:p50_rate5m",
             (lbl("service_model:gen_ai_client_operation_time_to_first_chunk_seconds:p50_rate5m", SM), 7.5)),
        expr("10m", "service_model:gen_ai_client_operation_time_to_first_chunk_seconds:p95_rate5m",
             (lbl("service_model:gen_ai_client_operation_time_to_first_chunk_seconds:p95_rate5m", SM), 9.75)),
        expr("10m", "service_model:gen_ai_client_operation_time_to_first_chunk_seconds:p99_rate5m",
             (lbl("service_model:gen_ai_client_operation_time_to_first_chunk_seconds:p99_rate5m", SM), 9.95)),
    ],
))

# Safety: a failed "safety" evaluation first exposed at 10m fires at once (the
# counter starts at 1, so increase() alone would miss it); a second failure at
# 20m fires again. Passed safety evaluations and failed non-safety ones never fire.
SAFETY = EVAL | {"gen_ai_evaluation_name": "safety"}
CASES.append(Case(
    "safety",
    [series("llm_eval_results_total", SAFETY | {"gen_ai_evaluation_score_label": "fail"}, "_x10 1x9 2x10"),
     series("llm_eval_results_total", SAFETY | {"gen_ai_evaluation_score_label": "pass"}, "0+10x30"),
     series("llm_eval_results_total", EVAL | {"gen_ai_evaluation_score_label": "fail"}, "0+10x30")],
    alerts=[
        at("10m", "LLMSafetyEvaluationFailed"),
        at("11m", "LLMSafetyEvaluationFailed", fired("LLMSafetyEvaluationFailed", "critical", SAFETY,
           "chat-api gpt-4o: 1 safety evaluations failed over the last 5m (threshold 0).")),
        at("17m", "LLMSafetyEvaluationFailed"),
        at("21m", "LLMSafetyEvaluationFailed", fired("LLMSafetyEvaluationFailed", "critical", SAFETY,
           "chat-api gpt-4o: 1 safety evaluations failed over the last 5m (threshold 0).")),
    ],
    exprs=[expr("12m", "service_model:llm_eval_safety_failures:increase5m",
                (lbl("service_model:llm_eval_safety_failures:increase5m", SAFETY), 1.0))],
))

# Quality: the relevance score averages 0.75 for 26h, then 0.5 (a 33 % drop).
# Critical (25 %, for 15m) and warning (10 %, for 30m) fire; the same drop
# after only 3h of history (cold start) never fires.
COLD = EVAL | {"service_name": "new-api"}
CASES.append(Case(
    "quality_drop",
    [series("llm_eval_score_count", EVAL, "0+60x340"),
     series("llm_eval_score_sum", EVAL, "0+45x312 14070+30x27"),
     series("llm_eval_score_count", COLD, "0+60x340"),
     series("llm_eval_score_sum", COLD, "0+45x36 1650+30x303")],
    interval="5m", evaluation_interval="5m",
    alerts=[
        at("26h25m", "LLMQualityDrop"),
        at("26h30m", "LLMQualityDrop", fired("LLMQualityDrop", "critical", EVAL,
           "chat-api gpt-4o: mean relevance score over 15m is 33.21% below its 7d baseline (threshold 25%).")),
        at("26h45m", "LLMQualityDrop",
           fired("LLMQualityDrop", "critical", EVAL,
                 "chat-api gpt-4o: mean relevance score over 15m is 33.07% below its 7d baseline (threshold 25%)."),
           fired("LLMQualityDrop", "warning", EVAL,
                 "chat-api gpt-4o: mean relevance score over 15m is 33.07% below its 7d baseline (threshold 10%).")),
    ],
    exprs=[
        approx("26h", 'service_model:llm_eval_score:avg_rate5m{service_name="chat-api"}', (EVAL, 0.75)),
        approx("26h", 'service_model:llm_eval_score:avg_rate15m{service_name="chat-api"}', (EVAL, 0.75)),
        approx("26h", 'service_model:llm_eval_score:avg_rate1h{service_name="chat-api"}', (EVAL, 0.75)),
        approx("26h", 'service_model:llm_eval_score:avg_baseline7d{service_name="chat-api"}', (EVAL, 0.75)),
        # cold start: the new service's score dropped too, but it has no day of history
        approx("4h", 'service_model:llm_eval_score:avg_rate15m{service_name="new-api"}', (COLD, 0.5)),
        expr("4h", 'ALERTS{service_name="new-api"}'),
    ],
))
