"""Serving engines: self-hosted vLLM and SGLang, from the engines' own Prometheus metrics.

The metric names, labels and bucket bounds are those of vLLM 0.11.0
(`vllm/v1/metrics/loggers.py`) and SGLang 0.5.3 (`sglang/srt/metrics/collector.py`);
`llmpulse.demo.engines` serves the same names for tests and demos. The top row reads
the `engine:*` recording rules, which put both engines on one footing
(`serving_engine` label); the rows below use each engine's own series.

>>> build(load_thresholds(None)).uid
'llmpulse-engines'
"""

from __future__ import annotations

from grafanalib import core

from llmpulse.dashboards import base, promql, variables
from llmpulse.dashboards.panels import AMBER, GREEN, RED, Grid, steps, target, timeseries
from llmpulse.dashboards.thresholds import Thresholds, load_thresholds

# Every engine series the dashboard reads, as the engines expose them.
VLLM_METRICS = frozenset({
    "vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
    "vllm:prefix_cache_queries_total", "vllm:prefix_cache_hits_total", "vllm:num_preemptions_total",
    "vllm:prompt_tokens_total", "vllm:generation_tokens_total", "vllm:request_success_total",
    "vllm:time_to_first_token_seconds", "vllm:inter_token_latency_seconds", "vllm:e2e_request_latency_seconds",
    "vllm:request_queue_time_seconds",
})
SGLANG_METRICS = frozenset({
    "sglang:num_running_reqs", "sglang:num_queue_reqs", "sglang:token_usage", "sglang:gen_throughput",
    "sglang:cache_hit_rate", "sglang:num_retracted_reqs", "sglang:prompt_tokens_total",
    "sglang:generation_tokens_total", "sglang:cached_tokens_total", "sglang:num_requests_total",
    "sglang:num_aborted_requests_total", "sglang:time_to_first_token_seconds",
    "sglang:inter_token_latency_seconds", "sglang:e2e_request_latency_seconds",
})
ENGINE_HISTOGRAMS = frozenset({
    "vllm:time_to_first_token_seconds", "vllm:inter_token_latency_seconds", "vllm:e2e_request_latency_seconds",
    "vllm:request_queue_time_seconds", "sglang:time_to_first_token_seconds",
    "sglang:inter_token_latency_seconds", "sglang:e2e_request_latency_seconds",
})
RECORDING_RULES = frozenset({
    "engine:llm_engine_kv_cache_usage:ratio", "engine:llm_engine_requests_waiting:sum",
    "engine:llm_engine_requests_running:sum", "engine:llm_engine_time_to_first_token_slow:ratio_rate5m",
    "engine:llm_engine_time_to_first_token_slow:ratio_rate1h",
})
# gen_ai_provider_name values of self-hosted engines (the overview links these here).
SELF_HOSTED_PROVIDERS = ("vllm", "sglang")

SELECTOR = 'job=~"$job", instance=~"$instance", model_name=~"$model"'
BY = "instance, model_name"
LEGEND = "{{instance}} {{model_name}}"


def variables_() -> list[core.Template]:
    engines = '{__name__=~"vllm:num_requests_running|sglang:num_running_reqs"}'
    return [
        variables.datasource("datasource", "prometheus", "Prometheus"),
        variables.label_values("job", "job", engines, title="Job"),
        variables.label_values("instance", "instance", engines.replace("}", ', job=~"$job"}'), title="Instance"),
        variables.label_values("model", "model_name", engines.replace("}", ', job=~"$job", instance=~"$instance"}'),
                               title="Model"),
    ]


def both_engines(t: Thresholds) -> list[core.Panel]:
    budget = 1 - t.engine_ttft_objective
    return [
        timeseries(
            "KV-cache usage",
            "Share of the KV cache in use per engine instance and model (vLLM kv_cache_usage_perc, "
            "SGLang token_usage). Near 100 % new requests queue and running ones are preempted; the "
            "dashed line is LLMEngineKVCacheNearlyFull.",
            "percentunit",
            [target(f"max by ({BY}, serving_engine) (engine:llm_engine_kv_cache_usage:ratio{{{SELECTOR}}})",
                    "{{serving_engine}} " + LEGEND)],
            minimum=0, maximum=1,
            thresholds=steps((GREEN, None), (RED, t.engine_kv_cache_threshold)),
        ),
        timeseries(
            "Requests running and waiting",
            "Requests in the running batch and waiting for a slot. A waiting line that keeps rising "
            "is LLMEngineQueueGrowing.",
            "short",
            [
                target(f"sum by ({BY}, serving_engine) (engine:llm_engine_requests_running:sum{{{SELECTOR}}})",
                       "{{serving_engine}} " + LEGEND + " running"),
                target(f"sum by ({BY}, serving_engine) (engine:llm_engine_requests_waiting:sum{{{SELECTOR}}})",
                       "{{serving_engine}} " + LEGEND + " waiting"),
            ],
        ),
        timeseries(
            "Time to first token: slow share and burn rate",
            f"Share of requests whose first token took more than "
            f"{promql.number(t.engine_ttft_threshold_seconds)} s (5 m and 1 h), divided by the budget "
            f"({promql.number(round(budget, 10))}, objective {t.engine_ttft_objective * 100:g} %): 1 = "
            "burning exactly the budget. LLMEngineTimeToFirstTokenBurn pages from "
            f"{promql.number(max(t.slo_burn_factors))}x.",
            "suffix:x",
            [
                target(f"max by ({BY}, serving_engine) (engine:llm_engine_time_to_first_token_slow:ratio_rate{w}"
                       f"{{{SELECTOR}}}) / {promql.number(round(budget, 10))}", "{{serving_engine}} " + LEGEND + f" {w}")
                for w in ("5m", "1h")
            ],
            minimum=0,
            thresholds=steps((GREEN, None), (AMBER, min(t.slo_burn_factors)), (RED, max(t.slo_burn_factors))),
        ),
    ]


def _latency(engine: str, title: str, description: str, histogram: str, quantiles=(0.5, 0.95, 0.99)) -> core.Panel:
    return timeseries(
        title, description, "s",
        [target(promql.quantile(q, histogram, BY, SELECTOR), f"{LEGEND} p{int(q * 100)}") for q in quantiles],
    )


def vllm() -> list[core.Panel]:
    return [
        _latency("vllm", "vLLM time to first token", "Time from arrival to the first generated token "
                 "(vllm:time_to_first_token_seconds): queueing plus prefill.", "vllm:time_to_first_token_seconds"),
        _latency("vllm", "vLLM inter-token latency", "Time between generated tokens "
                 "(vllm:inter_token_latency_seconds): decode speed, lower is faster.",
                 "vllm:inter_token_latency_seconds", (0.5, 0.95)),
        timeseries(
            "vLLM request latency and queue time p95",
            "p95 end-to-end request latency and p95 time spent waiting before scheduling "
            "(vllm:e2e_request_latency_seconds, vllm:request_queue_time_seconds).",
            "s",
            [target(promql.quantile(0.95, "vllm:e2e_request_latency_seconds", BY, SELECTOR), f"{LEGEND} end to end"),
             target(promql.quantile(0.95, "vllm:request_queue_time_seconds", BY, SELECTOR), f"{LEGEND} queue")],
        ),
        timeseries(
            "vLLM prompt and generation throughput",
            "Prefill (prompt) and generated tokens per second (vllm:prompt_tokens_total, "
            "vllm:generation_tokens_total).",
            "suffix: tokens/s",
            [target(promql.rate("vllm:prompt_tokens_total", SELECTOR, by=BY), f"{LEGEND} prompt"),
             target(promql.rate("vllm:generation_tokens_total", SELECTOR, by=BY), f"{LEGEND} generation")],
        ),
        timeseries(
            "vLLM preemptions and finished requests",
            "Preemptions per second (vllm:num_preemptions_total: the KV cache ran out and a running "
            "request was evicted) and finished requests per second by reason (stop, length, abort).",
            "ops",
            [target(promql.rate("vllm:num_preemptions_total", SELECTOR, by=BY), f"{LEGEND} preemptions"),
             target(promql.rate("vllm:request_success_total", SELECTOR, by=f"{BY}, finished_reason"),
                    LEGEND + " {{finished_reason}}")],
        ),
        timeseries(
            "vLLM prefix-cache hit ratio",
            "Prompt tokens served from the prefix cache per prompt token queried "
            "(vllm:prefix_cache_hits_total / vllm:prefix_cache_queries_total). Higher is faster prefill.",
            "percentunit",
            [target(f"{promql.rate('vllm:prefix_cache_hits_total', SELECTOR, by=BY)} / "
                    f"{promql.rate('vllm:prefix_cache_queries_total', SELECTOR, by=BY)}", LEGEND)],
            minimum=0, maximum=1,
        ),
    ]


def sglang() -> list[core.Panel]:
    return [
        _latency("sglang", "SGLang time to first token", "Time from arrival to the first generated token "
                 "(sglang:time_to_first_token_seconds).", "sglang:time_to_first_token_seconds"),
        _latency("sglang", "SGLang inter-token latency", "Time between generated tokens "
                 "(sglang:inter_token_latency_seconds).", "sglang:inter_token_latency_seconds", (0.5, 0.95)),
        _latency("sglang", "SGLang request latency", "End-to-end request latency "
                 "(sglang:e2e_request_latency_seconds).", "sglang:e2e_request_latency_seconds", (0.5, 0.95)),
        timeseries(
            "SGLang prompt and generation throughput",
            "Prompt, cached prompt and generated tokens per second (sglang:prompt_tokens_total, "
            "sglang:cached_tokens_total, sglang:generation_tokens_total) and the scheduler's own "
            "generation throughput gauge (sglang:gen_throughput).",
            "suffix: tokens/s",
            [target(promql.rate("sglang:prompt_tokens_total", SELECTOR, by=BY), f"{LEGEND} prompt"),
             target(promql.rate("sglang:cached_tokens_total", SELECTOR, by=BY), f"{LEGEND} cached prompt"),
             target(promql.rate("sglang:generation_tokens_total", SELECTOR, by=BY), f"{LEGEND} generation"),
             target(f"sum by ({BY}) (sglang:gen_throughput{{{SELECTOR}}})", f"{LEGEND} gen_throughput gauge")],
        ),
        timeseries(
            "SGLang requests, aborts and retractions",
            "Requests finished and aborted per second (sglang:num_requests_total, "
            "sglang:num_aborted_requests_total) and requests retracted from the running batch now "
            "(sglang:num_retracted_reqs: the KV pool ran out).",
            "short",
            [target(promql.rate("sglang:num_requests_total", SELECTOR, by=BY), f"{LEGEND} requests/s"),
             target(promql.rate("sglang:num_aborted_requests_total", SELECTOR, by=BY), f"{LEGEND} aborted/s"),
             target(f"sum by ({BY}) (sglang:num_retracted_reqs{{{SELECTOR}}})", f"{LEGEND} retracted")],
        ),
        timeseries(
            "SGLang prefix-cache hit rate",
            "Share of prompt tokens found in the radix (prefix) cache, as the scheduler reports it "
            "(sglang:cache_hit_rate).",
            "percentunit",
            [target(f"max by ({BY}) (sglang:cache_hit_rate{{{SELECTOR}}})", LEGEND)],
            minimum=0, maximum=1,
        ),
    ]


def build(t: Thresholds) -> core.Dashboard:
    grid = Grid()
    grid.row("Every engine: capacity and time to first token")
    for item in both_engines(t):
        grid.add(item, w=8, h=8)
    grid.row("vLLM")
    for item in vllm():
        grid.add(item, w=8, h=8)
    grid.row("SGLang")
    for item in sglang():
        grid.add(item, w=8, h=8)
    return base.make_dashboard(
        base.UIDS["engines"],
        "Serving engines",
        "Self-hosted vLLM and SGLang from their own metrics: KV cache, queue, time to first token, throughput.",
        grid.panels,
        templates=variables_(),
        annotations=[base.firing_alerts(by_service=False)],
    )


__all__ = ["build", "load_thresholds", "SELF_HOSTED_PROVIDERS"]
