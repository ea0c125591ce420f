"""Latency: end to end, time to first token and per output chunk, and per operation.

Percentile lines come from the recording rules; the panels marked "with traces"
query the raw histograms so Grafana can show exemplars that open the trace in Tempo.

>>> build(load_thresholds(None)).uid
'llmpulse-latency'
"""

from __future__ import annotations

from grafanalib import core

from llmpulse.dashboards import base, promql
from llmpulse.dashboards.panels import GREEN, RED, Grid, heatmap, steps, table, target, timeseries
from llmpulse.dashboards.thresholds import Thresholds, load_thresholds
from llmpulse.dashboards.variables import SELECTOR

DURATION = "gen_ai_client_operation_duration_seconds"
TTFT = "gen_ai_client_operation_time_to_first_chunk_seconds"
PER_CHUNK = "gen_ai_client_operation_time_per_output_chunk_seconds"
BY_MODEL = "gen_ai_provider_name, gen_ai_request_model"
MODEL_LEGEND = "{{gen_ai_provider_name}}/{{gen_ai_request_model}}"


def model_calls(t: Thresholds) -> str:
    """The variable selector plus the model-call operations (`CallSelector` of the thresholds)."""
    return f"{SELECTOR}, {t.model_call_selector}"


def rule_percentiles(metric: str, quantiles: tuple[str, ...], selector: str) -> list[core.Target]:
    return [
        target(
            f"max by ({BY_MODEL}) (service_model:{metric}:{q}_rate5m{{{selector}}})",
            f"{MODEL_LEGEND} {q}",
        )
        for q in quantiles
    ]


def end_to_end(t: Thresholds) -> list[tuple[core.Panel, int, int]]:
    slo_line = steps((GREEN, None), (RED, t.latency_slo_threshold_seconds))
    return [
        (
            timeseries(
                "Duration p50 / p95 / p99 by model",
                "Duration percentiles of model calls (chat, completions, embeddings) per provider "
                "and model, from the 5 m recording rules (worst service per model). Agent and tool "
                "spans are in the per-operation row. The dashed line is the latency SLO threshold.",
                "s",
                rule_percentiles(DURATION, ("p50", "p95", "p99"), model_calls(t)),
                thresholds=slo_line,
            ),
            12,
            9,
        ),
        (
            timeseries(
                "Duration p95 by model (with traces)",
                "p95 duration of model calls per provider and model from the raw histogram. Exemplar "
                "dots are individual calls: click one to open its trace in Tempo.",
                "s",
                [target(promql.quantile(0.95, DURATION, BY_MODEL, model_calls(t)), MODEL_LEGEND, exemplar=True)],
                thresholds=slo_line,
            ),
            12,
            9,
        ),
        (
            heatmap(
                "Duration distribution",
                "How many model calls fell in each duration bucket over time; a second band "
                "appearing above the usual one is a slow subset (a model, region or retry). "
                "Exemplars link to traces.",
                "s",
                f"sum by (le) (rate({DURATION}_bucket{{{model_calls(t)}}}[$__rate_interval]))",
            ),
            12,
            9,
        ),
        (
            table(
                "Slowest service / model pairs (p95)",
                "The ten slowest (service, operation, provider, model) combinations right now by "
                "p95 duration (5 m recording rule).",
                "s",
                [
                    target(
                        f"topk(10, service_model:{DURATION}:p95_rate5m{{{SELECTOR}}})",
                        "",
                        instant=True,
                        fmt="table",
                    )
                ],
                transformations=[
                    {"id": "organize", "options": {"excludeByName": {"Time": True, "__name__": True}, "renameByName": {"Value": "p95"}}},
                    {"id": "sortBy", "options": {"sort": [{"field": "p95", "desc": True}]}},
                ],
            ),
            12,
            9,
        ),
    ]


def streaming(t: Thresholds) -> list[tuple[core.Panel, int, int]]:
    return [
        (
            timeseries(
                "Time to first token p95 / p99 by model",
                "Time from request to the first streamed chunk (streamed calls only), 5 m recording "
                "rules. The dashed line is the LLMTimeToFirstTokenHigh critical threshold (p99).",
                "s",
                rule_percentiles(TTFT, ("p95", "p99"), SELECTOR),
                thresholds=steps((GREEN, None), (RED, t.ttft_critical_seconds)),
            ),
            8,
            9,
        ),
        (
            heatmap(
                "Time to first token distribution",
                "Distribution of time to first chunk over time; exemplars open the trace of a "
                "single slow stream in Tempo.",
                "s",
                f"sum by (le) (rate({TTFT}_bucket{{{SELECTOR}}}[$__rate_interval]))",
            ),
            8,
            9,
        ),
        (
            timeseries(
                "Time per output chunk p50 / p95 by model",
                "Time between streamed output chunks (generation speed; lower is faster), from the "
                "raw histogram with trace exemplars.",
                "s",
                [
                    target(promql.quantile(0.5, PER_CHUNK, BY_MODEL, SELECTOR), f"{MODEL_LEGEND} p50", exemplar=True),
                    target(promql.quantile(0.95, PER_CHUNK, BY_MODEL, SELECTOR), f"{MODEL_LEGEND} p95", exemplar=True),
                ],
            ),
            8,
            9,
        ),
    ]


def per_operation() -> list[tuple[core.Panel, int, int]]:
    return [
        (
            timeseries(
                "p95 duration by operation (with traces)",
                "p95 duration per operation type (chat, retrieval, execute_tool, invoke_agent ...). "
                "The operation whose line rises is the bottleneck stage; exemplars open traces.",
                "s",
                [
                    target(
                        promql.quantile(0.95, DURATION, "gen_ai_operation_name", SELECTOR),
                        "{{gen_ai_operation_name}}",
                        exemplar=True,
                    )
                ],
            ),
            12,
            9,
        ),
        (
            timeseries(
                "Time spent by operation",
                "Seconds of operation time per second of wall clock, stacked by operation type: "
                "the biggest band is where your requests spend their time (calls x duration).",
                "s",
                [target(promql.rate(f"{DURATION}_sum", SELECTOR, by="gen_ai_operation_name"), "{{gen_ai_operation_name}}")],
                stack=True,
            ),
            12,
            9,
        ),
    ]


def build(t: Thresholds) -> core.Dashboard:
    grid = Grid()
    grid.row("End to end")
    for item, w, h in end_to_end(t):
        grid.add(item, w, h)
    grid.row("Streaming: time to first token and per output chunk")
    for item, w, h in streaming(t):
        grid.add(item, w, h)
    grid.row("Per operation: find the slow stage")
    for item, w, h in per_operation():
        grid.add(item, w, h)
    return base.make_dashboard(
        base.UIDS["latency"],
        "Latency",
        "Where LLM time goes: end-to-end, time to first token, per output chunk and per operation.",
        grid.panels,
        annotations=[base.FIRING_ALERTS_ANNOTATION],
    )


__all__ = ["build", "load_thresholds"]
