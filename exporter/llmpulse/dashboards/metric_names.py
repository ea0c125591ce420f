"""Metric and recording-rule names the dashboards may query (metrics read from the exporter).

Tests check every name a panel query uses against these sets, so a renamed metric
breaks the build instead of silently emptying a panel.

>>> "llm_cost_usd_total" in EXPORTED_METRICS
True
>>> series_family("gen_ai_client_operation_duration_seconds_bucket")
'gen_ai_client_operation_duration_seconds'
"""

from __future__ import annotations

def _exported() -> tuple[frozenset[str], frozenset[str]]:
    """(histogram families, every family as exposed) read from the exporter itself.

    An exporter with every optional part on (forwarding) is built into a private
    registry; nothing listens. Counters carry their `_total` name.
    """
    from prometheus_client import CollectorRegistry

    from llmpulse.app import Exporter
    from llmpulse.config import load_config

    registry = CollectorRegistry()
    cfg = load_config(environ={}, overrides={"forward": {"otlp": {"endpoint": "http://127.0.0.1:9"}}})
    Exporter(cfg, registry=registry)
    families = list(registry.collect())
    hist = frozenset(f.name for f in families if f.type == "histogram")
    every = frozenset(f.name + "_total" if f.type == "counter" else f.name for f in families)
    return hist, every


EXPORTED_HISTOGRAMS, EXPORTED_METRICS = _exported()

SLO_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")

RECORDING_RULES = frozenset(
    {
        "service_model:gen_ai_client_calls:rate5m",
        "service_model:gen_ai_client_call_errors:rate5m",
        "service_model:gen_ai_client_call_errors_per_calls:ratio_rate5m",
        "service:gen_ai_client_calls:rate5m",
        "service:gen_ai_client_call_errors_per_calls:ratio_rate5m",
        "service_model:gen_ai_client_operations:rate5m",
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
    from llmpulse.dashboards.engines import ENGINE_HISTOGRAMS

    for suffix in _HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in EXPORTED_HISTOGRAMS | ENGINE_HISTOGRAMS:
            return name[: -len(suffix)]
    return name


def is_known(name: str) -> bool:
    """True when `name` is an exported series, a recording rule, a Prometheus series or a
    serving-engine series (vLLM, SGLang: see exporter/llmpulse/dashboards/engines.py)."""
    from llmpulse.dashboards import engines

    return (
        series_family(name) in EXPORTED_METRICS
        or name in RECORDING_RULES
        or name in PROMETHEUS_SERIES
        or series_family(name) in engines.VLLM_METRICS | engines.SGLANG_METRICS
        or name in engines.RECORDING_RULES
    )
