"""Metric and recording-rule names the dashboards may query (from the shared contract).

Tests check every name a panel query uses against these sets, so a renamed metric
breaks the build instead of silently emptying a panel.

>>> "llm_cost_usd_total" in EXPORTED_METRICS
True
>>> series_family("gen_ai_client_operation_duration_seconds_bucket")
'gen_ai_client_operation_duration_seconds'
"""

from __future__ import annotations

# Families as exposed on /metrics (counters carry their `_total` name).
EXPORTED_HISTOGRAMS = frozenset(
    {
        "gen_ai_client_operation_duration_seconds",
        "gen_ai_client_token_usage",
        "gen_ai_client_operation_time_to_first_chunk_seconds",
        "gen_ai_client_operation_time_per_output_chunk_seconds",
        "llm_request_cost_usd",
        "llm_eval_score",
        "llm_trace_operations",
        "llm_trace_cost_usd",
        "llm_conversation_cost_usd",
        "llmpulse_ingest_duration_seconds",
    }
)

EXPORTED_METRICS = EXPORTED_HISTOGRAMS | frozenset(
    {
        "llm_tokens_total",
        "llm_cost_usd_total",
        "llm_unpriced_operations_total",
        "llm_finish_reasons_total",
        "llm_eval_results_total",
        "llm_feedback_total",
        "llm_tool_calls_total",
        "llm_deployment_info",
        "llm_guardrail_triggers_total",
        "llm_refusals_total",
        "llm_retries_total",
        "llm_fallbacks_total",
        "llm_cache_hits_total",
        "llmpulse_spans_received_total",
        "llmpulse_spans_rejected_total",
        "llmpulse_spans_skipped_total",
        "llmpulse_requests_total",
        "llmpulse_label_overflows_total",
        "llmpulse_scores_received_total",
        "llmpulse_scores_rejected_total",
        "llmpulse_forward_queue_length",
        "llmpulse_forward_sent_total",
        "llmpulse_forward_dropped_total",
        "llmpulse_forward_retries_total",
        "llmpulse_price_table_info",
        "llmpulse_price_table_checked_timestamp_seconds",
        "llmpulse_build_info",
    }
)

SLO_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")

RECORDING_RULES = frozenset(
    {
        "service_model:gen_ai_client_operations:rate5m",
        "service_model:gen_ai_client_operation_errors:rate5m",
        "service_model:gen_ai_client_operation_errors_per_operations:ratio_rate5m",
        "service:gen_ai_client_operations:rate5m",
        "service:gen_ai_client_operation_errors_per_operations:ratio_rate5m",
        "service_model:gen_ai_client_operation_duration_seconds:p50_rate5m",
        "service_model:gen_ai_client_operation_duration_seconds:p95_rate5m",
        "service_model:gen_ai_client_operation_duration_seconds:p99_rate5m",
        "service_model:gen_ai_client_operation_time_to_first_chunk_seconds:p95_rate5m",
        "service_model:gen_ai_client_operation_time_to_first_chunk_seconds:p99_rate5m",
        "service_model:llm_cost_usd:rate5m",
        "service:llm_cost_usd:rate5m",
        "service_model:llm_tokens:rate5m",
        "service_model:llm_eval_score:avg_rate5m",
    }
    | {f"slo:sli_error:ratio_rate{w}" for w in SLO_WINDOWS}
    # Beyond the contract list, from alerts/generated/llmpulse-rules.yaml.
    | {"service_model:llm_eval_score:avg_baseline7d", "service:llm_cost_usd:increase1d"}
)

# Series Prometheus itself writes (scrape metadata and the alert state).
PROMETHEUS_SERIES = frozenset({"ALERTS", "up", "scrape_samples_scraped", "scrape_duration_seconds"})

_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def series_family(name: str) -> str:
    """Map a histogram series name (`x_bucket`, `x_sum`, `x_count`) to its family `x`."""
    for suffix in _HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in EXPORTED_HISTOGRAMS:
            return name[: -len(suffix)]
    return name


def is_known(name: str) -> bool:
    """True when `name` is an exported series, a recording rule or a Prometheus series."""
    return (
        series_family(name) in EXPORTED_METRICS
        or name in RECORDING_RULES
        or name in PROMETHEUS_SERIES
    )
