"""Exporter health: is llmpulse itself receiving, accepting and exposing telemetry?

Spans received, rejected and skipped; OTLP requests; label overflows; ingest
latency; scores; forwarding; scrape size; build and price table versions.

>>> build(load_thresholds(None)).uid
'llmpulse-exporter'
"""

from __future__ import annotations

from grafanalib import core

from llmpulse.dashboards import base, promql, variables
from llmpulse.dashboards.panels import AMBER, GREEN, RED, Grid, stat, steps, table, target, timeseries
from llmpulse.dashboards.thresholds import Thresholds, load_thresholds

JOB = 'job=~"$job"'
# The price table is checked daily; older than this the tile turns amber (red: LLMPriceTableStaleMaxAge).
PRICE_TABLE_AGE_WARNING_SECONDS = 2 * 86400


def ingest() -> list[core.Panel]:
    return [
        timeseries(
            "Spans received by dialect",
            "Spans accepted per second by the telemetry dialect they were recognised as (OTel "
            "GenAI semconv, OpenInference, OpenLLMetry ...).",
            "ops",
            [target(promql.rate("llmpulse_spans_received_total", JOB, by="dialect"), "{{dialect}}")],
            stack=True,
        ),
        timeseries(
            "Spans rejected by reason",
            "Spans dropped as invalid per second, by reason. Should be 0; a steady rate means a "
            "client sends malformed data (LLMExporterRejectingSpans).",
            "ops",
            [target(promql.rate("llmpulse_spans_rejected_total", JOB, by="reason"), "{{reason}}")],
            stack=True,
        ),
        timeseries(
            "Spans skipped by reason",
            "Spans ignored on purpose per second: non-GenAI spans and duplicates. High values are "
            "normal when the app sends all its traces here.",
            "ops",
            [target(promql.rate("llmpulse_spans_skipped_total", JOB, by="reason"), "{{reason}}")],
            stack=True,
        ),
        timeseries(
            "Aggregate spans with tokens by outcome",
            "Agent and workflow spans that carry token totals, per second: covered (their calls were "
            "counted, the totals added nowhere) or promoted (no call in their trace: counted once as a call). "
            "A steady promoted rate means an emitter reports agents but not their calls.",
            "ops",
            [target(promql.rate("llmpulse_aggregate_usage_total", JOB, by="outcome"), "{{outcome}}")],
            stack=True,
        ),
        timeseries(
            "Raw error types (opt-in)",
            "Failed operations per second by error type as the span named it, beside its normalised "
            "error_type. Empty unless metrics.raw_error_types is on; use it to see what _OTHER hides.",
            "ops",
            [target(promql.rate("llm_raw_errors_total", JOB, by="error_type, raw_error_type"),
                    "{{error_type}} / {{raw_error_type}}")],
            stack=True,
        ),
        timeseries(
            "Span values bounded",
            "Span values llmpulse bounded before recording them, per second, by field (ttft: a time to "
            "first token longer than its span, recorded as the span's duration). Nonzero means an emitter "
            "reports impossible timings.",
            "ops",
            [target(promql.rate("llmpulse_values_clamped_total", JOB, by="field"), "{{field}}")],
            stack=True,
        ),
    ]


def requests() -> list[core.Panel]:
    return [
        timeseries(
            "OTLP requests by transport, signal and code",
            "Export requests per second the exporter answered, by transport (http, grpc), signal "
            "(traces, logs, metrics, scores) and response code (408: too slow, 413: too large, "
            "503: busy).",
            "reqps",
            [
                target(
                    promql.rate("llmpulse_requests_total", JOB, by="transport, signal, code"),
                    "{{transport}} {{signal}} {{code}}",
                )
            ],
        ),
        timeseries(
            "Ingest duration p50 / p99",
            "Time to decode and record one export request, by transport.",
            "s",
            [
                target(promql.quantile(0.5, "llmpulse_ingest_duration_seconds", "transport", JOB), "{{transport}} p50"),
                target(promql.quantile(0.99, "llmpulse_ingest_duration_seconds", "transport", JOB), "{{transport}} p99"),
            ],
        ),
        timeseries(
            "HTTP connections",
            "Open connections per listener (capped by server.max_connections) and connections "
            "llmpulse closed per second, by reason: deadlines (header, body, idle), evicted at the "
            "cap for a new client, bad framing. A steady header_timeout or evicted rate is a slow "
            "or hostile client (docs/reliability.md).",
            "short",
            [
                target(f"sum by (listener) (llmpulse_http_connections{{{JOB}}})", "open {{listener}}"),
                target(promql.rate("llmpulse_http_connections_closed_total", JOB, by="listener, reason"),
                       "closed {{listener}} {{reason}}"),
            ],
        ),
        timeseries(
            "OTLP metric points ignored",
            "Data points per second received on /v1/metrics or MetricsService and not converted: "
            "GenAI figures come from spans. Non-zero means an app also exports OTLP metrics "
            "(OpenLLMetry, OpenLIT do by default).",
            "ops",
            [target(promql.rate("llmpulse_otlp_metric_points_ignored_total", JOB), "points ignored")],
        ),
        timeseries(
            "Label overflows by label",
            "Label values replaced by `__overflow__` per second because the label hit its "
            "cardinality cap (LLMExporterLabelOverflow). Raise the cap or stop sending that value.",
            "ops",
            [target(promql.rate("llmpulse_label_overflows_total", JOB, by="label"), "{{label}}")],
        ),
    ]


def scores_and_forwarding() -> list[core.Panel]:
    return [
        timeseries(
            "Scores received and rejected",
            "Evaluation scores and feedback per second accepted (by source) and rejected (by reason), "
            "and OTLP log records that carried no GenAI event.",
            "ops",
            [
                target(promql.rate("llmpulse_scores_received_total", JOB, by="source"), "received {{source}}"),
                target(promql.rate("llmpulse_scores_rejected_total", JOB, by="reason"), "rejected {{reason}}"),
                target(promql.rate("llmpulse_log_records_skipped_total", JOB), "log records without GenAI events"),
            ],
        ),
        timeseries(
            "Held in memory",
            "Open traces and conversations waiting to go idle, and spans remembered for late scores. "
            "Each is capped in the config (tracking.*); a line flat at its cap means the oldest are evicted.",
            "short",
            [target(f"max by (kind) (llmpulse_tracked_items{{{JOB}}})", "{{kind}}")],
        ),
        timeseries(
            "Forward queue length",
            "Spans waiting to be forwarded to each sink (e.g. Tempo). A growing queue means the "
            "sink is slow or down.",
            "short",
            [target(f"max by (sink) (llmpulse_forward_queue_length{{{JOB}}})", "{{sink}}")],
        ),
        timeseries(
            "Forwarding sent, retried and dropped",
            "Spans per second forwarded to each sink, retried, and dropped (by reason).",
            "ops",
            [
                target(promql.rate("llmpulse_forward_sent_total", JOB, by="sink"), "{{sink}} sent"),
                target(promql.rate("llmpulse_forward_retries_total", JOB, by="sink"), "{{sink}} retries"),
                target(promql.rate("llmpulse_forward_dropped_total", JOB, by="sink, reason"), "{{sink}} dropped {{reason}}"),
            ],
        ),
    ]


def scrape_and_build(t: Thresholds) -> list[tuple[core.Panel, int, int]]:
    return [
        (
            timeseries(
                "Scrape size",
                "Samples Prometheus ingests per scrape of the exporter: the cost of its label "
                "cardinality. A steady climb means a label is growing.",
                "short",
                [target(f"scrape_samples_scraped{{{JOB}}}", "{{instance}}")],
            ),
            8,
            8,
        ),
        (
            timeseries(
                "Scrape duration",
                "Time Prometheus needs to scrape /metrics.",
                "s",
                [target(f"scrape_duration_seconds{{{JOB}}}", "{{instance}}")],
            ),
            6,
            8,
        ),
        (
            stat(
                "Price table age",
                "Time since the exporter last checked its price table. Amber after 2 days, red "
                f"after {promql.number(t.price_table_max_age_seconds / 86400)} days (LLMPriceTableStale): "
                "costs may use old prices.",
                "s",
                [target(f"time() - max(llmpulse_price_table_checked_timestamp_seconds{{{JOB}}})", "age")],
                thresholds=steps(
                    (GREEN, None), (AMBER, PRICE_TABLE_AGE_WARNING_SECONDS), (RED, t.price_table_max_age_seconds)
                ),
                graph=False,
            ),
            4,
            8,
        ),
        (
            table(
                "Versions",
                "Exporter build version per instance and the price table version in use.",
                "none",
                [
                    target(
                        f'label_replace(max by (instance, version) (llmpulse_build_info{{{JOB}}}), "component", "exporter", "", "") '
                        f'or label_replace(max by (instance, version) (llmpulse_price_table_info{{{JOB}}}), '
                        '"component", "price table", "", "")',
                        "",
                        instant=True,
                        fmt="table",
                    ),
                ],
                transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True, "Value": True}}}],
            ),
            6,
            8,
        ),
        (
            timeseries(
                "Price sources",
                "Community price tables read from pricing.sources (docs/pricing.md): models each prices, "
                "and reads in the last hour by outcome. A failed read keeps the last good copy. Also "
                "SIGHUP reloads of the price and token files by outcome (docs/configuration.md): a "
                "failed one kept the prices in use.",
                "short",
                [
                    target(f"max by (source) (llmpulse_price_source_models{{{JOB}}})", "{{source}} models"),
                    target(f"sum by (source, outcome) (increase(llmpulse_price_source_refreshes_total{{{JOB}}}[1h]))",
                           "{{source}} reads {{outcome}} /h"),
                    target(f"sum by (outcome) (increase(llmpulse_reloads_total{{{JOB}}}[1h]))", "reloads {{outcome}} /h"),
                ],
            ),
            12,
            8,
        ),
        (
            stat(
                "Price source age",
                "Time since each price source was last read successfully.",
                "s",
                [target(f"time() - max by (source) (llmpulse_price_source_last_success_timestamp_seconds{{{JOB}}})",
                        "{{source}}")],
                thresholds=steps((GREEN, None), (AMBER, PRICE_TABLE_AGE_WARNING_SECONDS)),
                graph=False,
            ),
            12,
            8,
        ),
    ]


def build(t: Thresholds) -> core.Dashboard:
    grid = Grid()
    grid.row("Ingest")
    for item in ingest():
        grid.add(item, w=8, h=8)
    grid.row("Requests, latency and cardinality")
    for item in requests():
        grid.add(item, w=8, h=8)
    grid.row("Scores and forwarding")
    for item in scores_and_forwarding():
        grid.add(item, w=8, h=8)
    grid.row("Scrape, build and price table")
    for item, w, h in scrape_and_build(t):
        grid.add(item, w, h)
    return base.make_dashboard(
        base.UIDS["exporter"],
        "Exporter health",
        "Is llmpulse itself healthy? Spans in, rejected and skipped, overflows, ingest latency, scrape size.",
        grid.panels,
        templates=[
            variables.datasource("datasource", "prometheus", "Prometheus"),
            variables.job("llmpulse_build_info"),
        ],
        annotations=[base.firing_alerts(by_service=False)],
    )


__all__ = ["build", "load_thresholds"]
