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
    "LLMErrorRatioHigh": "LLM calls are failing at an unusual rate.",
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
    "LLMUnpricedModel": "Calls have no known cost (a model with no price, or no token counts), so spend is under-counted.",
    "LLMRunawayAgent": "Agent traces make far more LLM calls than expected.",
    "LLMConversationCostOutlier": "Some conversations cost far more than the average conversation.",
    "LLMRetrievalLatencyTrendingUp": "Retrieval latency (p95) is trending up.",
    "LLMToolLatencyTrendingUp": "Tool latency (p95) is trending up.",
    "LLMConversationCostTrendingUp": "Mean cost per conversation is trending up.",
    "LLMExporterLabelOverflow": "The exporter folded label values into __overflow__ because a label hit its cap.",
    "LLMExporterRejectingSpans": "The exporter is rejecting spans it received.",
    "LLMPriceTableStale": "The model price table has not been checked for a long time.",
    "Watchdog": "An alert that always fires, to prove the alerting pipeline works.",
    "LLMEngineKVCacheNearlyFull": "A serving engine has almost no KV cache left.",
    "LLMEngineQueueGrowing": "Requests are piling up in a serving engine queue.",
    "LLMEngineTimeToFirstTokenBurn": "A serving engine is burning its time-to-first-token objective too fast.",
}

DASHBOARD = {
    "LLMErrorRatioHigh": "llmpulse-overview", "LLMTimeToFirstTokenHigh": "llmpulse-latency",
    "LLMSafetyEvaluationFailed": "llmpulse-quality", "LLMQualityDrop": "llmpulse-quality",
    "LLMAvailabilitySLOBurn": "llmpulse-slo", "LLMLatencySLOBurn": "llmpulse-slo",
    "LLMTelemetryAbsent": "llmpulse-overview", "LLMCostPerRequestHigh": "llmpulse-cost",
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

    def document(self, rule_files: list[str], group_order: list[str]) -> dict[str, Any]:
        """The promtool test file. Groups run in `group_order` (recording rules
        first), as promtool otherwise picks a random order between files."""
        test: dict[str, Any] = {"interval": self.interval, "input_series": self.input_series}
        if self.alerts:
            test["alert_rule_test"] = self.alerts
        if self.exprs:
            test["promql_expr_test"] = self.exprs
        return {"rule_files": rule_files, "evaluation_interval": self.evaluation_interval,
                "group_eval_order": group_order, "tests": [test]}


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
        at("5m", "LLMErrorRatioHigh"),
        at("6m", "LLMErrorRatioHigh", fired("LLMErrorRatioHigh", "critical", SM,
           f"{WHO}: 10% of calls failed over the last 5m (threshold 5%).")),
        at("15m", "LLMErrorRatioHigh", fired("LLMErrorRatioHigh", "critical", SM,
           f"{WHO}: 10% of calls failed over the last 5m (threshold 5%).")),
        at("16m", "LLMErrorRatioHigh",
           fired("LLMErrorRatioHigh", "critical", SM, f"{WHO}: 10% of calls failed over the last 5m (threshold 5%)."),
           fired("LLMErrorRatioHigh", "warning", SM, f"{WHO}: 10% of calls failed over the last 5m (threshold 2%).")),
    ],
    exprs=[
        expr("10m", "service_model:gen_ai_client_operations:rate5m",
             (lbl("service_model:gen_ai_client_operations:rate5m", SM), 1.0),
             (lbl("service_model:gen_ai_client_operations:rate5m", QUIET), 0.00625)),
        expr("10m", "service_model:gen_ai_client_call_errors:rate5m",
             (lbl("service_model:gen_ai_client_call_errors:rate5m", SM), 0.1),
             (lbl("service_model:gen_ai_client_call_errors:rate5m", QUIET), 0.00625)),
        expr("10m", "service_model:gen_ai_client_call_errors_per_calls:ratio_rate5m",
             (lbl("service_model:gen_ai_client_call_errors_per_calls:ratio_rate5m", SM), 0.1),
             (lbl("service_model:gen_ai_client_call_errors_per_calls:ratio_rate5m", QUIET), 1.0)),
        expr("10m", "service_model:gen_ai_client_calls:rate5m",
             (lbl("service_model:gen_ai_client_calls:rate5m", SM), 1.0),
             (lbl("service_model:gen_ai_client_calls:rate5m", QUIET), 0.00625)),
        expr("10m", 'service:gen_ai_client_calls:rate5m{service_name="chat-api"}',
             (lbl("service:gen_ai_client_calls:rate5m", SVC), 1.0)),
        expr("10m", 'service:gen_ai_client_call_errors:rate5m{service_name="chat-api"}',
             (lbl("service:gen_ai_client_call_errors:rate5m", SVC), 0.1)),
        expr("10m", 'service:gen_ai_client_call_errors_per_calls:ratio_rate5m{service_name="chat-api"}',
             (lbl("service:gen_ai_client_call_errors_per_calls:ratio_rate5m", SVC), 0.1)),
    ],
))

# A service with no errors at all records a 0 error ratio, not a missing one.
CASES.append(Case(
    "error_ratio_zero",
    [series("gen_ai_client_operation_duration_seconds_count", SM, "0+60x10")],
    alerts=[at("10m", "LLMErrorRatioHigh")],
    exprs=[expr("10m", "service_model:gen_ai_client_call_errors_per_calls:ratio_rate5m",
                (lbl("service_model:gen_ai_client_call_errors_per_calls:ratio_rate5m", SM), 0.0)),
           expr("10m", "service:gen_ai_client_call_errors_per_calls:ratio_rate5m",
                (lbl("service:gen_ai_client_call_errors_per_calls:ratio_rate5m", SVC), 0.0))],
))

# Latency quantiles: every operation takes between 1s and 2s; every first
# chunk arrives between 5s and 10s, so p99 TTFT = 5 + 5 * 0.99 = 9.95s.
CASES.append(Case(
    "latency_quantiles",
    hist("gen_ai_client_operation_duration_seconds", SM, {"1": "0x30", "2": "0+60x30"}, "0+60x30")
    + hist("gen_ai_client_operation_time_to_first_chunk_seconds", SM, {"1": "0x30", "5": "0x30", "10": "0+60x30"}, "0+60x30"),
    alerts=[
        at("5m", "LLMTimeToFirstTokenHigh"),
        at("6m", "LLMTimeToFirstTokenHigh", fired("LLMTimeToFirstTokenHigh", "critical", SM,
           f"{WHO}: p99 time to first token is 9.95s over the last 5m (threshold 5s).")),
        at("15m", "LLMTimeToFirstTokenHigh", fired("LLMTimeToFirstTokenHigh", "critical", SM,
           f"{WHO}: p99 time to first token is 9.95s over the last 5m (threshold 5s).")),
        at("16m", "LLMTimeToFirstTokenHigh",
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
        at("9m", "LLMSafetyEvaluationFailed"),
        at("10m", "LLMSafetyEvaluationFailed", fired("LLMSafetyEvaluationFailed", "critical", SAFETY,
           "chat-api gpt-4o: 1 safety evaluations failed over the last 5m (threshold 0).")),
        at("15m", "LLMSafetyEvaluationFailed"),
        at("20m", "LLMSafetyEvaluationFailed", fired("LLMSafetyEvaluationFailed", "critical", SAFETY,
           "chat-api gpt-4o: 1 safety evaluations failed over the last 5m (threshold 0).")),
    ],
    exprs=[expr("12m", "service_model:llm_eval_safety_failures:increase5m",
                (lbl("service_model:llm_eval_safety_failures:increase5m", SAFETY), 1.0))],
))

# Quality: the relevance score averages 0.75 for 26h, then 0.5 (a 33 % drop), at 12
# scores a minute sampled every 5m. Critical (5m mean 25 % below and 15m mean 10 %
# below, for 3m) fires at the first evaluation after its for:, warning (15m mean
# 10 % below, for 15m) later; the same drop after only 15m of history (cold start,
# new-api) never fires.
COLD = EVAL | {"service_name": "new-api"}
CASES.append(Case(
    "quality_drop",
    [series("llm_eval_score_count", EVAL, "0+60x340"),
     series("llm_eval_score_sum", EVAL, "0+45x312 14070+30x27"),
     # new-api starts at 25h50m and drops 15 minutes later
     series("llm_eval_score_count", COLD, "_x310 0+60x30"),
     series("llm_eval_score_sum", COLD, "_x310 0+45x2 120+30x27")],
    interval="5m", evaluation_interval="5m",
    alerts=[
        at("26h05m", "LLMQualityDrop"),
        at("26h10m", "LLMQualityDrop",
           fired("LLMQualityDrop", "critical", EVAL,
                 "chat-api gpt-4o: mean relevance score over 5m is 33.32% below its 7d baseline (threshold 25%).")),
        at("26h20m", "LLMQualityDrop",
           fired("LLMQualityDrop", "critical", EVAL,
                 "chat-api gpt-4o: mean relevance score over 5m is 33.27% below its 7d baseline (threshold 25%)."),
           fired("LLMQualityDrop", "warning", EVAL,
                 "chat-api gpt-4o: mean relevance score over 15m is 33.27% below its 7d baseline (threshold 10%).")),
    ],
    exprs=[
        approx("26h", 'service_model:llm_eval_score:avg_rate5m{service_name="chat-api"}', (EVAL, 0.75)),
        approx("26h", 'service_model:llm_eval_score:avg_rate15m{service_name="chat-api"}', (EVAL, 0.75)),
        approx("26h", 'service_model:llm_eval_score:avg_rate1h{service_name="chat-api"}', (EVAL, 0.75)),
        approx("26h", 'service_model:llm_eval_score:avg_baseline7d{service_name="chat-api"}', (EVAL, 0.75)),
        # cold start: the new service's score dropped too, but it has no day of history
        approx("26h35m", 'service_model:llm_eval_score:avg_rate15m{service_name="new-api"}', (COLD, 0.5)),
        expr("26h35m", 'ALERTS{service_name="new-api"}'),
    ],
))

# SLOs (30d, availability 99.5 %, latency 99 % under 10.24s). chat-api fails
# 10 % of its calls: every burn tier fires in turn (14.4x for 2m, 6x for 15m,
# 3x for 1h, 1x for 3h). slow-api answers 20 % of calls above 10.24s.
SLOW = SVC | {"service_name": "slow-api"}


def burn(alert: str, severity: str, labels: dict, slo: str, objective: str, long: str, short: str, value: str,
         bound: str, factor: str, exhaustion: str) -> dict:
    return fired(alert, severity, labels | {"slo": slo, "long": long, "short": short, "exhaustion": exhaustion},
                 f"{labels['service_name']}: {slo} SLO ({objective} over 30d) error ratio is {value} over {long} and above "
                 f"{bound} over {short} too, {factor}x the sustainable rate; at this rate the budget lasts {exhaustion}.")


def avail(long, short, sev, bound, factor, exh):
    return burn("LLMAvailabilitySLOBurn", sev, SVC, "availability", "99.5%", long, short, "10%", bound, factor, exh)


def lat(long, short, sev, bound, factor, exh):
    return burn("LLMLatencySLOBurn", sev, SLOW, "latency", "99%", long, short, "20%", bound, factor, exh)


A1, A2 = avail("1h", "5m", "critical", "7.2%", "14.4", "2.1d"), avail("6h", "30m", "critical", "3%", "6", "5d")
A3, A4 = avail("1d", "2h", "warning", "1.5%", "3", "10d"), avail("3d", "6h", "warning", "0.5%", "1", "30d")
L1, L2 = lat("1h", "5m", "critical", "14.4%", "14.4", "2.1d"), lat("6h", "30m", "critical", "6%", "6", "5d")
L3, L4 = lat("1d", "2h", "warning", "3%", "3", "10d"), lat("3d", "6h", "warning", "1%", "1", "30d")
OK_CALL = {"gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai", "gen_ai_request_model": "gpt-4o"}
SLI = "slo:sli_error:ratio_rate"
CASES.append(Case(
    "slo_burn",
    [series("gen_ai_client_operation_duration_seconds_count", SVC | OK_CALL, "0+54x200"),
     series("gen_ai_client_operation_duration_seconds_count", SVC | OK_CALL | {"error_type": "429"}, "0+6x200"),
     # embeddings count too; retrieval does not
     series("gen_ai_client_operation_duration_seconds_count", SVC | OK_CALL | {"gen_ai_operation_name": "retrieval", "error_type": "x"}, "0+600x200"),
     *hist("gen_ai_client_operation_duration_seconds", SLOW | OK_CALL, {"5.12": "0+30x200", "10.24": "0+48x200"}, "0+60x200")],
    alerts=[
        at("2m", "LLMAvailabilitySLOBurn"),
        at("3m", "LLMAvailabilitySLOBurn", A1),
        at("15m", "LLMAvailabilitySLOBurn", A1),
        at("16m", "LLMAvailabilitySLOBurn", A1, A2),
        at("60m", "LLMAvailabilitySLOBurn", A1, A2),
        at("61m", "LLMAvailabilitySLOBurn", A1, A2, A3),
        at("180m", "LLMAvailabilitySLOBurn", A1, A2, A3),
        at("181m", "LLMAvailabilitySLOBurn", A1, A2, A3, A4),
        at("2m", "LLMLatencySLOBurn"),
        at("3m", "LLMLatencySLOBurn", L1),
        at("15m", "LLMLatencySLOBurn", L1),
        at("16m", "LLMLatencySLOBurn", L1, L2),
        at("60m", "LLMLatencySLOBurn", L1, L2),
        at("61m", "LLMLatencySLOBurn", L1, L2, L3),
        at("180m", "LLMLatencySLOBurn", L1, L2, L3),
        at("181m", "LLMLatencySLOBurn", L1, L2, L3, L4),
    ],
    exprs=[
        *[approx("190m", f"{SLI}{w}", (SVC | {"slo": "availability"}, 0.1), (SLOW | {"slo": "availability"}, 0.0),
                 (SLOW | {"slo": "latency"}, 0.2))
          for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d")],
        approx("190m", f"{SLI}30d", (SVC | {"slo": "availability"}, 0.1), (SLOW | {"slo": "availability"}, 0.0),
               (SLOW | {"slo": "latency"}, 0.2)),
        expr("190m", "slo:objective:ratio", ('slo:objective:ratio{slo="availability"}', 0.995), ('slo:objective:ratio{slo="latency"}', 0.99)),
        expr("190m", "slo:error_budget:ratio", ('slo:error_budget:ratio{slo="availability"}', 0.005), ('slo:error_budget:ratio{slo="latency"}', 0.01)),
        approx("190m", "slo:current_burn_rate:ratio", (SVC | {"slo": "availability"}, 20.0), (SLOW | {"slo": "availability"}, 0.0),
               (SLOW | {"slo": "latency"}, 20.0)),
        approx("190m", "slo:period_error_budget_remaining:ratio", (SVC | {"slo": "availability"}, -19.0),
               (SLOW | {"slo": "availability"}, 1.0), (SLOW | {"slo": "latency"}, -19.0)),
    ],
))

# SLOs through idle spells: chat-api makes 60 calls a minute, 3 of them failed and
# 3 slow (above 10.24s), for an hour; then nothing for 30m; another hour; nothing
# for 40m. An idle window has no ratio (not NaN: 0/0 used to poison the 30d average
# for 30 days); the 30d SLI weighs every call once and stays at exactly 5 %.
IDLE_OK = SVC | OK_CALL
IDLE_ERR = IDLE_OK | {"error_type": "429"}
IDLE_SLO = [
    *hist("gen_ai_client_operation_duration_seconds", IDLE_OK, {"10.24": "0+54x60 3240x30 3240+54x60 6480x40"},
          "0+57x60 3420x30 3420+57x60 6840x40"),
    *hist("gen_ai_client_operation_duration_seconds", IDLE_ERR, {"10.24": "0+3x60 180x30 180+3x60 360x40"},
          "0+3x60 180x30 180+3x60 360x40"),
]
NOT_NAN = "slo:sli_error:ratio_rate{w} != slo:sli_error:ratio_rate{w}"
CASES.append(Case(
    "slo_idle_spells",
    IDLE_SLO,
    exprs=[
        *[expr(t, NOT_NAN.format(w=w)) for t in ("70m", "89m", "100m", "160m", "185m", "190m")
          for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")],
        expr("80m", 'slo:sli_error:ratio_rate5m'),   # idle for 20 minutes: no ratio at all
        *[approx(t, f"{SLI}30d", (SVC | {"slo": "availability"}, 0.05), (SVC | {"slo": "latency"}, 0.05))
          for t in ("30m", "80m", "100m", "160m", "190m")],
        approx("190m", "slo:period_error_budget_remaining:ratio", (SVC | {"slo": "availability"}, -9.0),
               (SVC | {"slo": "latency"}, -4.0)),
        approx("30m", "slo:sli_events:rate5m", (SVC | {"slo": "availability"}, 1.0), (SVC | {"slo": "latency"}, 1.0)),
        approx("30m", "slo:sli_error_events:rate5m", (SVC | {"slo": "availability"}, 0.05),
               (SVC | {"slo": "latency"}, 0.05)),
        approx("80m", "slo:sli_events:rate5m", (SVC | {"slo": "availability"}, 0.0), (SVC | {"slo": "latency"}, 0.0)),
    ],
))

# Silent service: chat-api makes a call a second for 90m, its last one in the 90m
# sample, then nothing (the app is down: the exporter's counter stays flat). gone-api
# stops with its series (the exporter is gone). Both page at 97m, 7 minutes after
# the last call: increase over 5m is 0 from 95m, then for: 2m. other-api keeps
# sending; tiny-api (0.1 call/s, below LLMTelemetryAbsentMinCallsPerSecond) goes
# silent too but is never judged: at that rate a quiet spell is normal.
OTHER = SM | {"service_name": "other-api"}
GONE, TINY_SM = SM | {"service_name": "gone-api"}, SM | {"service_name": "tiny-api"}
CASES.append(Case(
    "telemetry_absent",
    [series("gen_ai_client_operation_duration_seconds_count", SM, "0+60x90 5400x30"),
     series("gen_ai_client_operation_duration_seconds_count", GONE, "0+60x90"),
     series("gen_ai_client_operation_duration_seconds_count", TINY_SM, "0+6x90 540x30"),
     series("gen_ai_client_operation_duration_seconds_count", OTHER, "0+60x120"),
     # agent spans keep flowing from a silent service's other pods: not calls
     series("gen_ai_client_operation_duration_seconds_count", SM | {"gen_ai_operation_name": "invoke_agent"}, "0+6x120")],
    alerts=[
        at("96m", "LLMTelemetryAbsent"),
        at("97m", "LLMTelemetryAbsent",
           fired("LLMTelemetryAbsent", "critical", SVC,
                 "chat-api (job llm) made 0.97 calls/s over the 1h before, and none over the last 5m: "
                 "the app or the pipeline is down."),
           fired("LLMTelemetryAbsent", "critical", SVC | {"service_name": "gone-api"},
                 "gone-api (job llm) made 0.97 calls/s over the 1h before, and none over the last 5m: "
                 "the app or the pipeline is down.")),
    ],
))

# Eval-score collapse at one score a minute: relevance holds 0.8 for 3h, then every
# score is x0.6 (0.48) from the 181st minute. The 5m mean is 32 % down and the 15m
# mean 10.7 % down at 184m; critical pages at 187m (for: 3m), 7 minutes after the
# first collapsed score. The warning (15m mean, for: 15m) follows at 199m.
ONE_A_MINUTE = EVAL | {"service_name": "slow-scores"}
CASES.append(Case(
    "quality_collapse_one_score_a_minute",
    [series("llm_eval_score_count", ONE_A_MINUTE, "0+1x240"),
     series("llm_eval_score_sum", ONE_A_MINUTE, "0+0.8x180 144.48+0.48x59")],
    alerts=[
        at("186m", "LLMQualityDrop"),
        at("187m", "LLMQualityDrop", fired("LLMQualityDrop", "critical", ONE_A_MINUTE,
           "slow-scores gpt-4o: mean relevance score over 5m is 39.94% below its 7d baseline (threshold 25%).")),
    ],
))

# Cost per request: 64 operations and 0.5 USD per 5m (0.0078125 USD each) for
# 7h, then 2 USD per 5m (4x).
NEW_SM = SM | {"service_name": "new-api"}
OPS = "gen_ai_client_operation_duration_seconds_count"
CASES.append(Case(
    "cost_per_request",
    [series(OPS, SM, "0+64x120"), series("llm_cost_usd_total", SM, "0+0.5x84 44+2x35")],
    interval="5m", evaluation_interval="5m",
    alerts=[
        at("7h25m", "LLMCostPerRequestHigh"),
        at("7h30m", "LLMCostPerRequestHigh", fired("LLMCostPerRequestHigh", "warning", SM,
           f"{WHO}: mean cost per call over 30m is 0.0312 USD, above 2x its 1d mean.")),
    ],
    exprs=[
        approx("6h", 'service_model:llm_cost_usd:rate5m{service_name="chat-api"}', (SM, round(0.5 / 300, 4))),
        approx("6h", 'service:llm_cost_usd:rate5m{service_name="chat-api"}', (SVC, round(0.5 / 300, 4))),
        approx("6h", 'service_model:llm_cost_per_call_usd:ratio_rate30m{service_name="chat-api"}', (SM, 0.0078)),
        approx("6h", 'service_model:llm_cost_per_call_usd:ratio_rate1d{service_name="chat-api"}', (SM, 0.0078)),
    ],
))

# Cold start: new-api's cost per request jumps 16x after 1h30m of history.
# With 3h of history required nothing is even pending; without the guard it fires.
COLD_COST = [series(OPS, NEW_SM, "0+64x40"), series("llm_cost_usd_total", NEW_SM, "0+0.5x18 17+8x21")]
CASES.append(Case(
    "cost_per_request_cold_start",
    COLD_COST, interval="5m", evaluation_interval="5m",
    thresholds={"LLMCostPerRequestHighMinHistory": "3h"},
    exprs=[approx("2h", 'service_model:llm_cost_per_call_usd:ratio_rate30m', (NEW_SM, 0.125)),
           expr("2h30m", 'ALERTS{alertname="LLMCostPerRequestHigh"}')],
))
CASES.append(Case(
    "cost_per_request_without_history_guard",
    COLD_COST, interval="5m", evaluation_interval="5m",
    thresholds={"LLMCostPerRequestHighMinHistory": "0"},
    exprs=[expr("2h30m", 'ALERTS{alertname="LLMCostPerRequestHigh", service_name="new-api"}',
                (lbl("ALERTS", NEW_SM | {"alertname": "LLMCostPerRequestHigh", "alertstate": "firing", "severity": "warning"}), 1))],
))

# Spend spike: 1.5 USD/h for 8h, then 15 USD/h.
CASES.append(Case(
    "spend_spike",
    [series("llm_cost_usd_total", SM, "0+0.125x96 13.25+1.25x35")],
    interval="5m", evaluation_interval="5m",
    alerts=[
        at("8h25m", "LLMSpendSpike"),
        at("8h30m", "LLMSpendSpike", fired("LLMSpendSpike", "warning", SVC,
           "chat-api spent 8.25 USD over the last hour, above 3x its 1d hourly mean.")),
    ],
    exprs=[approx("6h", 'service:llm_cost_usd:rate1h{service_name="chat-api"}', (SVC, round(1.5 / 3600, 4)))],
))

# Cold start: new-api spends a steady 1.5 USD/h from t=0. Its 1h rate ramps up
# during the first hour, so without the history guard that ramp alone looks
# like a 3x spike; with the default 2h guard nothing is even pending.
COLD_SPEND = [series("llm_cost_usd_total", NEW_SM, "0+0.125x60")]
CASES.append(Case(
    "spend_spike_cold_start", COLD_SPEND, interval="5m", evaluation_interval="5m",
    exprs=[expr(t, 'ALERTS{alertname="LLMSpendSpike"}') for t in ("1h20m", "1h45m", "2h15m", "3h", "5h")],
))
CASES.append(Case(
    "spend_spike_without_history_guard", COLD_SPEND, interval="5m", evaluation_interval="5m",
    thresholds={"LLMSpendSpikeMinHistory": "0"},
    exprs=[expr("1h30m", 'ALERTS{alertname="LLMSpendSpike"}',
                (lbl("ALERTS", SVC | {"service_name": "new-api", "alertname": "LLMSpendSpike", "alertstate": "firing",
                                      "severity": "warning"}), 1))],
))

# Daily budget: 10 USD per 5m (120 USD/h) crosses the 100 USD default after ~50m.
CASES.append(Case(
    "daily_budget",
    [series("llm_cost_usd_total", SM, "0+10x30")],
    interval="5m", evaluation_interval="5m",
    alerts=[
        at("55m", "LLMDailyBudgetExceeded"),
        at("60m", "LLMDailyBudgetExceeded", fired("LLMDailyBudgetExceeded", "warning", SVC,
           "chat-api spent 120.00 USD over the last 24h (budget 100 USD).")),
    ],
    exprs=[approx("1h", 'service:llm_cost_usd:increase1d', (SVC, 120.0))],
))

# Per-service budgets and per-model quotas from a user thresholds file:
# chat-api has 50 USD, free-api 0 (no budget), other-api the 100 USD default;
# gpt-4o has a 2M tokens/minute quota, gpt-4o-mini the 1M default.
FREE, OTHER_SVC = SVC | {"service_name": "free-api"}, SVC | {"service_name": "other-api"}
PM = {"job": "llm", "gen_ai_provider_name": "openai", "gen_ai_request_model": "gpt-4o"}
MINI = PM | {"gen_ai_request_model": "gpt-4o-mini"}
CASES.append(Case(
    "budget_and_quota_overrides",
    [series("llm_cost_usd_total", SM, "0+10x30"),
     series("llm_cost_usd_total", SM | FREE, "0+10x30"),
     series("llm_cost_usd_total", SM | OTHER_SVC, "0+5x30"),
     series("llm_tokens_total", SM | {"gen_ai_token_type": "input"}, "0+3000000x30"),
     series("llm_tokens_total", SM | {"gen_ai_token_type": "output"}, "0+1500000x30"),
     series("llm_tokens_total", SM | MINI | {"gen_ai_token_type": "input"}, "0+4500000x30"),
     series("llm_tokens_total", SM | MINI | {"gen_ai_token_type": "cache_read"}, "0+9000000x30")],
    interval="5m", evaluation_interval="5m",
    thresholds={"LLMDailyBudgetExceededThresholdUSD": {"per_service": {"chat-api": 50, "free-api": 0}},
                "LLMTokenQuotaNearlyExhaustedTokensPerMinute": {"per_model": {"gpt-4o": 2000000}}},
    alerts=[
        at("30m", "LLMDailyBudgetExceeded"),
        at("35m", "LLMDailyBudgetExceeded", fired("LLMDailyBudgetExceeded", "warning", SVC,
           "chat-api spent 70.00 USD over the last 24h (budget 50 USD).")),
        at("2h", "LLMDailyBudgetExceeded",
           fired("LLMDailyBudgetExceeded", "warning", SVC, "chat-api spent 240.00 USD over the last 24h (budget 50 USD)."),
           fired("LLMDailyBudgetExceeded", "warning", OTHER_SVC, "other-api spent 120.00 USD over the last 24h (budget 100 USD).")),
        at("10m", "LLMTokenQuotaNearlyExhausted"),
        at("15m", "LLMTokenQuotaNearlyExhausted", fired("LLMTokenQuotaNearlyExhausted", "warning", MINI,
           "openai/gpt-4o-mini uses 90% of its 1000000 tokens/minute quota (threshold 80%).")),
    ],
))

# Every override fires at its own value, all from one rule per alert name (promtool's
# lint calls rules sharing name and labels duplicates): chat-api (50 USD) and
# batch-api (200 USD, above the default, so quiet at 55m with 220 USD spent) each
# fire with their budget, other-api only once past the 100 USD default.
BATCH = SVC | {"service_name": "batch-api"}
CASES.append(Case(
    "each_budget_override_fires",
    [series("llm_cost_usd_total", SM, "0+10x40"),
     series("llm_cost_usd_total", SM | BATCH, "0+20x40"),
     series("llm_cost_usd_total", SM | OTHER_SVC, "0+5x40"),
     series("llm_cost_usd_total", SM | FREE, "0+30x40")],
    interval="5m", evaluation_interval="5m",
    thresholds={"LLMDailyBudgetExceededThresholdUSD": {"per_service": {"chat-api": 50, "batch-api": 200, "free-api": 0}}},
    alerts=[
        at("55m", "LLMDailyBudgetExceeded", fired("LLMDailyBudgetExceeded", "warning", SVC,
           "chat-api spent 110.00 USD over the last 24h (budget 50 USD).")),
        at("60m", "LLMDailyBudgetExceeded",
           fired("LLMDailyBudgetExceeded", "warning", SVC, "chat-api spent 120.00 USD over the last 24h (budget 50 USD)."),
           fired("LLMDailyBudgetExceeded", "warning", BATCH, "batch-api spent 240.00 USD over the last 24h (budget 200 USD).")),
        at("3h", "LLMDailyBudgetExceeded",
           fired("LLMDailyBudgetExceeded", "warning", SVC, "chat-api spent 360.00 USD over the last 24h (budget 50 USD)."),
           fired("LLMDailyBudgetExceeded", "warning", BATCH, "batch-api spent 720.00 USD over the last 24h (budget 200 USD)."),
           fired("LLMDailyBudgetExceeded", "warning", OTHER_SVC, "other-api spent 180.00 USD over the last 24h (budget 100 USD).")),
    ],
))

# Quotas per model: gpt-4o (500k) at 90 %, gpt-4o-mini (2M, above the default) at
# 90 % of 2M, claude at 90 % of the 1M default fire; o3 (0: no quota) never does.
CLAUDE, O3 = {"gen_ai_request_model": "claude"}, {"gen_ai_request_model": "o3"}
CASES.append(Case(
    "each_quota_override_fires",
    [series("llm_tokens_total", SM | {"gen_ai_token_type": "input"}, "0+450000x30"),
     series("llm_tokens_total", SM | MINI | {"gen_ai_token_type": "output"}, "0+1800000x30"),
     series("llm_tokens_total", SM | CLAUDE | {"gen_ai_token_type": "input"}, "0+900000x30"),
     series("llm_tokens_total", SM | O3 | {"gen_ai_token_type": "input"}, "0+9000000x30")],
    thresholds={"LLMTokenQuotaNearlyExhaustedTokensPerMinute": {"per_model": {"gpt-4o": 500000, "gpt-4o-mini": 2000000, "o3": 0}}},
    alerts=[
        at("14m", "LLMTokenQuotaNearlyExhausted"),
        at("15m", "LLMTokenQuotaNearlyExhausted",
           fired("LLMTokenQuotaNearlyExhausted", "warning", PM | CLAUDE,
                 "openai/claude uses 90% of its 1000000 tokens/minute quota (threshold 80%)."),
           fired("LLMTokenQuotaNearlyExhausted", "warning", PM,
                 "openai/gpt-4o uses 90% of its 500000 tokens/minute quota (threshold 80%)."),
           fired("LLMTokenQuotaNearlyExhausted", "warning", MINI,
                 "openai/gpt-4o-mini uses 90% of its 2000000 tokens/minute quota (threshold 80%).")),
    ],
))

# Token quota at the default 1M tokens/minute: 900k input+output tokens a minute.
CASES.append(Case(
    "token_quota",
    [series("llm_tokens_total", SM | {"gen_ai_token_type": "input"}, "0+600000x30"),
     series("llm_tokens_total", SM | {"gen_ai_token_type": "output"}, "0+300000x30")],
    alerts=[
        at("14m", "LLMTokenQuotaNearlyExhausted"),
        at("15m", "LLMTokenQuotaNearlyExhausted", fired("LLMTokenQuotaNearlyExhausted", "warning", PM,
           "openai/gpt-4o uses 90% of its 1000000 tokens/minute quota (threshold 80%).")),
    ],
    exprs=[approx("10m", "service_model:llm_tokens:rate5m",
                  (SM | {"gen_ai_token_type": "input"}, 10000.0), (SM | {"gen_ai_token_type": "output"}, 5000.0))],
))

# Negative feedback: 10 of 50 feedback events a minute are negative (20 %);
# tiny-api has a single negative event, below the 10-event minimum.
FB = {"job": "llm", "service_name": "chat-api", "gen_ai_request_model": "gpt-4o"}
TINY = FB | {"service_name": "tiny-api"}
CASES.append(Case(
    "negative_feedback",
    [series("llm_feedback_total", FB | {"feedback": "positive"}, "0+40x30"),
     series("llm_feedback_total", FB | {"feedback": "negative"}, "0+10x30"),
     series("llm_feedback_total", TINY | {"feedback": "negative"}, "0x5 1x25")],
    alerts=[
        at("15m", "LLMNegativeFeedbackHigh"),
        at("16m", "LLMNegativeFeedbackHigh", fired("LLMNegativeFeedbackHigh", "warning", FB,
           "chat-api gpt-4o: 20% of feedback over the last 1h was negative (threshold 15%).")),
    ],
    exprs=[
        approx("20m", "service_model:llm_feedback_negative_per_feedback:ratio_rate1h", (FB, 0.2), (TINY, 1.0)),
        approx("20m", "service_model:llm_feedback:increase1h", (FB, 1000.0), (TINY, 1.0)),
    ],
))

# Truncation: 3 of 10 responses a minute stop at the token limit (30 %).
CASES.append(Case(
    "truncation",
    [series("llm_finish_reasons_total", SM | {"gen_ai_response_finish_reason": "length"}, "0+3x30"),
     series("llm_finish_reasons_total", SM | {"gen_ai_response_finish_reason": "stop"}, "0+7x30")],
    alerts=[
        at("10m", "LLMTruncationHigh"),
        at("11m", "LLMTruncationHigh", fired("LLMTruncationHigh", "warning", SM,
           f"{WHO}: 30% of responses over the last 15m ended with finish reason length (threshold 20%).")),
    ],
    exprs=[approx("20m", "service_model:llm_finish_reason_length_per_finish_reasons:ratio_rate15m", (SM, 0.3))],
))

# Unpriced model: unpriced operations first exposed at 5m.
CASES.append(Case(
    "unpriced_model",
    [series("llm_unpriced_operations_total", SM, "_x5 1+1x30")],
    alerts=[
        at("9m", "LLMUnpricedModel"),
        at("10m", "LLMUnpricedModel", fired("LLMUnpricedModel", "warning", SM,
           f"{WHO}: 6 calls over the last 15m could not be priced: no price in the price table, or no token "
           "counts on the span (a stream without include_usage).")),
    ],
    exprs=[expr("8m", "service_model:llm_unpriced_operations:increase15m", (lbl("service_model:llm_unpriced_operations:increase15m", SM), 4))],
))

# Runaway agent: agent-api traces make 50-100 LLM calls (p99 99.5); normal-api 1-5.
AGENT, NORMAL = SVC | {"service_name": "agent-api"}, SVC | {"service_name": "normal-api"}
CASES.append(Case(
    "runaway_agent",
    hist("llm_trace_operations", AGENT, {"5": "0x30", "50": "0x30", "100": "0+10x30"}, "0+10x30")
    + hist("llm_trace_operations", NORMAL, {"5": "0+10x30", "50": "0+10x30", "100": "0+10x30"}, "0+10x30"),
    alerts=[
        at("5m", "LLMRunawayAgent"),
        at("6m", "LLMRunawayAgent", fired("LLMRunawayAgent", "warning", AGENT,
           "agent-api: p99 of LLM calls per trace over the last 10m is 100 (bound 25).")),
    ],
    exprs=[approx("10m", "service:llm_trace_operations:p99_rate10m", (AGENT, 99.5), (NORMAL, 4.95))],
))

# Quality with too few scores: the same 33 % drop over 180 scores stays quiet when
# LLMQualityDropMinScores asks for more (a mean of a handful of scores is noise).
CASES.append(Case(
    "quality_drop_too_few_scores",
    next(c for c in CASES if c.name == "quality_drop").input_series, interval="5m", evaluation_interval="5m",
    thresholds={"LLMQualityDropMinScores": 181},
    alerts=[at("26h20m", "LLMQualityDrop"), at("26h40m", "LLMQualityDrop")],
))

# Quality without the history guard: new-api's drop after 15m would fire.
CASES.append(Case(
    "quality_drop_without_history_guard",
    next(c for c in CASES if c.name == "quality_drop").input_series, interval="5m", evaluation_interval="5m",
    thresholds={"LLMQualityDropMinHistory": "0"},
    exprs=[expr("26h35m", 'ALERTS{alertname="LLMQualityDrop", service_name="new-api"}',
                (lbl("ALERTS", COLD | {"alertname": "LLMQualityDrop", "alertstate": "firing", "severity": "warning"}), 1))],
))

# Latency regression: p99 1.99s for a week, then 7.96s (4x the same hour last
# week). new-api has the same slow latency but no history a week back.
LAT_BUCKETS_SLOW_AFTER_WEEK = {"1": "0x345", "2": "0+1800x336 604800x9", "4": "0+1800x336 604800x9"}
CASES.append(Case(
    "latency_regression",
    hist("gen_ai_client_operation_duration_seconds", SM, LAT_BUCKETS_SLOW_AFTER_WEEK | {"8": "0+1800x345"}, "0+1800x345")
    + hist("gen_ai_client_operation_duration_seconds", NEW_SM,
           {"1": "_x330 0x15", "2": "_x330 0x15", "4": "_x330 0x15", "8": "_x330 0+1800x15"}, "_x330 0+1800x15"),
    interval="30m", evaluation_interval="30m",
    alerts=[
        at("7d", "LLMLatencyRegression"),
        at("7d1h", "LLMLatencyRegression", fired("LLMLatencyRegression", "warning", SM,
           f"{WHO}: p99 latency over 1h is 7.96s, more than 2x the same window 1w earlier.")),
    ],
    exprs=[
        approx("7d", 'service_model:gen_ai_client_operation_duration_seconds:p99_rate1h{service_name="chat-api"}', (SM, 1.99)),
        approx("7d", 'service_model:gen_ai_client_operations:rate1h{service_name="chat-api"}', (SM, 1.0)),
        approx("7d2h", 'service_model:gen_ai_client_operation_duration_seconds:p99_rate1h{service_name="new-api"}', (NEW_SM, 7.96)),
    ],
))

# Conversation cost outlier: 100 conversations at 0.0625 USD per 5m; from 7h
# also 2 at 4 USD (p99 5.41 USD, far above 10x the 0.07 USD mean).
CONV_BUCKETS = {"0.01": "0x120", "0.1": "0+100x120", "1": "0+100x120"}
CASES.append(Case(
    "conversation_cost_outlier",
    hist("llm_conversation_cost_usd", SVC, CONV_BUCKETS | {"10": "0+100x84 8502+102x35"}, "0+100x84 8502+102x35",
         "0+6.25x84 539.25+14.25x35")
    # new-api: 5 outliers per 5m after only 30m of history; its series stop at 1h30m
    + hist("llm_conversation_cost_usd", SVC | {"service_name": "new-api"},
           {"0.01": "0x18", "0.1": "0+100x18", "1": "0+100x18", "10": "0+100x6 705+105x11"},
           "0+100x6 705+105x11", "0+6.25x6 63.75+26.25x11"),
    interval="5m", evaluation_interval="5m",
    alerts=[
        at("7h45m", "LLMConversationCostOutlier"),
        at("7h50m", "LLMConversationCostOutlier", fired("LLMConversationCostOutlier", "warning", SVC,
           "chat-api: p99 conversation cost over the last 1h is 4.5100 USD, above 10x the 1d mean.")),
    ],
    exprs=[
        approx("7h", 'service:llm_conversation_cost_usd:avg_rate1d{service_name="chat-api"}', (SVC, 0.0625)),
        approx("9h", 'service:llm_conversation_cost_usd:p99_rate1h{service_name="chat-api"}', (SVC, 5.41)),
        expr("55m", 'ALERTS{service_name="new-api"}'),
    ],
))
CASES.append(Case(
    "conversation_cost_outlier_without_history_guard",
    CASES[-1].input_series, interval="5m", evaluation_interval="5m",
    thresholds={"LLMConversationCostOutlierMinHistory": "0"},
    exprs=[expr("55m", 'ALERTS{alertname="LLMConversationCostOutlier", service_name="new-api"}',
                (lbl("ALERTS", SVC | {"service_name": "new-api", "alertname": "LLMConversationCostOutlier",
                                      "alertstate": "firing", "severity": "warning"}), 1))],
))

# Trends over 7 days: retrieval and tool p95 go from 0.195s to 0.78s and the
# mean conversation cost from 0.0625 to 0.125 USD after day 7; nothing can
# fire before there is a week of history.
RETR = {"job": "llm", "service_name": "chat-api", "gen_ai_operation_name": "retrieval"}
TOOL = RETR | {"gen_ai_operation_name": "execute_tool"}
TREND_BUCKETS = {"0.1": "0x200", "0.2": "0+3600x168 604800x32", "0.4": "0+3600x168 604800x32", "0.8": "0+3600x200"}
CASES.append(Case(
    "trends",
    hist("gen_ai_client_operation_duration_seconds", RETR, TREND_BUCKETS, "0+3600x200")
    + hist("gen_ai_client_operation_duration_seconds", TOOL, TREND_BUCKETS, "0+3600x200")
    + [series("llm_conversation_cost_usd_count", SVC, "0+160x200"),
       series("llm_conversation_cost_usd_sum", SVC, "0+10x168 1700+20x31")],
    interval="1h", evaluation_interval="1h",
    alerts=[
        at("7d2h", "LLMRetrievalLatencyTrendingUp"),
        at("7d3h", "LLMRetrievalLatencyTrendingUp", fired("LLMRetrievalLatencyTrendingUp", "info", RETR,
           "chat-api: Retrieval latency (p95) over the last 1d is 640ms, more than 1.25x the same window 7d earlier.")),
        at("7d2h", "LLMToolLatencyTrendingUp"),
        at("7d3h", "LLMToolLatencyTrendingUp", fired("LLMToolLatencyTrendingUp", "info", TOOL,
           "chat-api: Tool latency (p95) over the last 1d is 640ms, more than 1.25x the same window 7d earlier.")),
        at("7d7h", "LLMConversationCostTrendingUp"),
        at("7d8h", "LLMConversationCostTrendingUp", fired("LLMConversationCostTrendingUp", "info", SVC,
           "chat-api: Mean cost per conversation over the last 1d is 0.0833 USD, more than 1.25x the same window 7d earlier.")),
    ],
    exprs=[
        expr("6d", 'ALERTS{alertname=~".*TrendingUp"}'),
        approx("3d", "service_operation:gen_ai_client_operation_duration_seconds:p95_rate1d", (RETR, 0.195), (TOOL, 0.195)),
        approx("3d", "service:llm_conversation_cost_usd:avg_rate1d", (SVC, 0.0625)),
    ],
))

# Exporter health: overflowed label values (first exposed at 10m), rejected
# spans, and a price table last checked 30 days minus 1000s before t=0.
EXP = {"job": "llm", "instance": "llmpulse:9464"}
FRESH = EXP | {"instance": "fresh:9464"}
CASES.append(Case(
    "exporter",
    [series("llmpulse_label_overflows_total", EXP | {"label": "gen_ai_request_model"}, "_x10 3+1x20"),
     series("llmpulse_spans_rejected_total", EXP | {"reason": "invalid_attribute"}, "0+5x90"),
     series("llmpulse_spans_rejected_total", FRESH | {"reason": "invalid_attribute"}, "0x90"),
     series("llmpulse_price_table_checked_timestamp_seconds", EXP, "-2591000+0x90"),
     series("llmpulse_price_table_checked_timestamp_seconds", FRESH, "0+60x90")],
    alerts=[
        at("9m", "LLMExporterLabelOverflow"),
        at("10m", "LLMExporterLabelOverflow", fired("LLMExporterLabelOverflow", "info", EXP | {"label": "gen_ai_request_model"},
           "llmpulse:9464: 3 values of label gen_ai_request_model overflowed over the last 1h; series for them are merged into __overflow__.")),
        at("15m", "LLMExporterRejectingSpans"),
        at("16m", "LLMExporterRejectingSpans", fired("LLMExporterRejectingSpans", "info", EXP | {"reason": "invalid_attribute"},
           "llmpulse:9464: 75 spans were rejected over the last 15m (reason invalid_attribute).")),
        at("76m", "LLMPriceTableStale"),
        at("77m", "LLMPriceTableStale", fired("LLMPriceTableStale", "info", EXP,
           "llmpulse:9464: the price table was last checked 30d 1h 0m 20s ago (limit 30d); costs may be wrong.")),
        at("0m", "Watchdog", {"exp_labels": {"severity": "info"}, "exp_annotations": {
            "summary": SUMMARY["Watchdog"],
            "description": "This alert always fires. If it stops arriving at the Watchdog receiver, Prometheus, "
                           "Alertmanager or the path between them is broken.",
            "runbook_url": RUNBOOK + "watchdog", "dashboard_url": f"{GRAFANA}/d/llmpulse-overview"}}),
    ],
))


# ------------------------------------------------------------ serving engines
# Series as vLLM 0.11.0 and SGLang 0.5.3 expose them (llmpulse.demo.engines has the
# source files): vLLM labels model_name, engine; SGLang's scheduler gauges add
# engine_type, tp_rank, pp_rank. The rules tag each series serving_engine.
VLLM = {"job": "vllm", "instance": "gpu-1:8000", "model_name": "llama-3.1-8b-instruct"}
SGL = {"job": "sglang", "instance": "gpu-2:30000", "model_name": "qwen2.5-7b-instruct"}
SGL_SCHED = SGL | {"engine_type": "unified", "tp_rank": "0", "pp_rank": "0"}
V_ENG, S_ENG = VLLM | {"serving_engine": "vllm"}, SGL | {"serving_engine": "sglang"}


def engine_fired(alert: str, severity: str, labels: dict, description: str, extra: dict | None = None) -> dict:
    return {
        "exp_labels": {"severity": severity} | labels | (extra or {}),
        "exp_annotations": {
            "summary": SUMMARY[alert], "description": description,
            "runbook_url": RUNBOOK + alert.lower(),
            "dashboard_url": f"{GRAFANA}/d/llmpulse-engines?var-model={labels['model_name']}&var-instance={labels['instance']}",
        },
    }


VWHO = "vllm gpu-1:8000 (llama-3.1-8b-instruct)"

# KV cache: vLLM sits at 95 % from the start (mean over 5m > 90 %): pending at 0m,
# fires at 10m. SGLang at 50 % stays quiet.
CASES.append(Case(
    "engine_kv_cache",
    [series("vllm:kv_cache_usage_perc", VLLM | {"engine": "0"}, "0.95x30"),
     series("sglang:token_usage", SGL_SCHED, "0.5x30")],
    alerts=[
        at("9m", "LLMEngineKVCacheNearlyFull"),
        at("10m", "LLMEngineKVCacheNearlyFull", engine_fired("LLMEngineKVCacheNearlyFull", "warning", V_ENG,
           f"{VWHO}: 95% of the KV cache in use on average over the last 5m (threshold 90%); "
           "new requests queue and running ones get preempted.")),
    ],
    exprs=[approx("5m", "engine:llm_engine_kv_cache_usage:ratio", (V_ENG, 0.95), (S_ENG, 0.5))],
))

# Queue: vLLM's waiting requests grow by 2 a minute from 0; the window's minimum
# reaches 10 at 15m (pending), so it fires at 20m. SGLang holds 20 waiting, flat:
# a long queue that is not growing is not this alert.
CASES.append(Case(
    "engine_queue_growing",
    [series("vllm:num_requests_waiting", VLLM | {"engine": "0"}, "0+2x40"),
     series("vllm:num_requests_running", VLLM | {"engine": "0"}, "32x40"),
     series("sglang:num_queue_reqs", SGL_SCHED, "20x40"),
     series("sglang:num_running_reqs", SGL_SCHED, "24x40")],
    alerts=[
        at("19m", "LLMEngineQueueGrowing"),
        at("20m", "LLMEngineQueueGrowing", engine_fired("LLMEngineQueueGrowing", "warning", V_ENG,
           f"{VWHO}: at least 10 requests waited at every moment of the last 10m, and the queue grows by "
           "2.0 requests a minute (threshold 1).")),
        at("40m", "LLMEngineQueueGrowing", engine_fired("LLMEngineQueueGrowing", "warning", V_ENG,
           f"{VWHO}: at least 10 requests waited at every moment of the last 10m, and the queue grows by "
           "2.0 requests a minute (threshold 1).")),
    ],
    exprs=[approx("20m", "engine:llm_engine_requests_waiting:sum", (V_ENG, 40.0), (S_ENG, 20.0)),
           approx("20m", "engine:llm_engine_requests_running:sum", (V_ENG, 32.0), (S_ENG, 24.0))],
))


def ttft_burn(severity, long, short, bound, factor, exhaustion):
    return engine_fired("LLMEngineTimeToFirstTokenBurn", severity, V_ENG,
                        f"{VWHO}: 80% of requests waited more than 1s for their first token over {long} and above "
                        f"{bound} over {short} too (objective 95% within 1s), {factor}x the sustainable rate; "
                        f"at this rate the budget lasts {exhaustion}.",
                        {"long": long, "short": short, "exhaustion": exhaustion})


T1, T2 = ttft_burn("critical", "1h", "5m", "72%", "14.4", "2.1d"), ttft_burn("critical", "6h", "30m", "30%", "6", "5d")
T3, T4 = ttft_burn("warning", "1d", "2h", "15%", "3", "10d"), ttft_burn("warning", "3d", "6h", "5%", "1", "30d")
ENGINE_SLI = "engine:llm_engine_time_to_first_token_slow:ratio_rate"
# TTFT: 80 % of vLLM's requests wait more than 1s for their first token (16x the 5 %
# budget of the 95 % objective): every burn tier fires in turn. SGLang: 2 % slow.
CASES.append(Case(
    "engine_ttft_burn",
    [*hist("vllm:time_to_first_token_seconds", VLLM | {"engine": "0"}, {"0.5": "0+6x200", "1.0": "0+12x200"}, "0+60x200"),
     *hist("sglang:time_to_first_token_seconds", SGL, {"0.6": "0+90x200", "1": "0+98x200"}, "0+100x200")],
    alerts=[
        at("2m", "LLMEngineTimeToFirstTokenBurn"),
        at("3m", "LLMEngineTimeToFirstTokenBurn", T1),
        at("15m", "LLMEngineTimeToFirstTokenBurn", T1),
        at("16m", "LLMEngineTimeToFirstTokenBurn", T1, T2),
        at("60m", "LLMEngineTimeToFirstTokenBurn", T1, T2),
        at("61m", "LLMEngineTimeToFirstTokenBurn", T1, T2, T3),
        at("180m", "LLMEngineTimeToFirstTokenBurn", T1, T2, T3),
        at("181m", "LLMEngineTimeToFirstTokenBurn", T1, T2, T3, T4),
    ],
    exprs=[approx("190m", f"{ENGINE_SLI}{w}", (V_ENG, 0.8), (S_ENG, 0.02))
           for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d")],
))
