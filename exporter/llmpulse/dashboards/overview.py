"""Overview: "is everything OK?" in ten seconds, for the on-call engineer.

Top to bottom: status tiles coloured by the alert thresholds, quality trends, cost
and volume, deployments; firing alerts and deployments are drawn as annotations.

>>> from llmpulse.dashboards.thresholds import load_thresholds
>>> d = build(load_thresholds(None))
>>> d.uid
'llmpulse-overview'
"""

from __future__ import annotations

import attr
from grafanalib import core

from llmpulse.dashboards import base, promql
from llmpulse.dashboards.cost import projected_month
from llmpulse.dashboards.engines import SELF_HOSTED_PROVIDERS
from llmpulse.dashboards.panels import AMBER, BLUE, GREEN, RED, Grid, stat, steps, table, target, timeseries
from llmpulse.dashboards.promql import negate
from llmpulse.dashboards.thresholds import BUDGET_PACE_WARNING_RATIO, Thresholds
from llmpulse.dashboards.variables import SELECTOR, SELECTOR_SERVICE, SELECTOR_SERVICE_MODEL

CALLS = "service_model:gen_ai_client_calls:rate5m"  # requests: model calls (CallSelector)
ERRORS = "service_model:gen_ai_client_call_errors:rate5m"
OPERATIONS = "service_model:gen_ai_client_operations:rate5m"  # every operation, agents and tools too
COST = "service_model:llm_cost_usd:rate5m"
SCORE = "service_model:llm_eval_score:avg_rate5m"
BASELINE = "service_model:llm_eval_score:avg_baseline7d"  # 7 d mean of the 1 h mean (alerts rules)

SPEND_PER_DAY = (
    "sum by (job, service_name) (service:llm_cost_usd:rate5m{{{sel}}}) * " + str(promql.SECONDS_PER_DAY)
)


def error_ratio(selector: str = SELECTOR) -> str:
    """Failed over all calls, 0 (not empty) when nothing failed, empty (not NaN) when idle."""
    return f"(sum({ERRORS}{{{selector}}}) or vector(0)) / (sum({CALLS}{{{selector}}}) > 0)"


def status_tiles(t: Thresholds) -> list[core.Stat]:
    n = promql.number
    return [
        stat(
            "Requests / s",
            "Model calls per second (chat, completions, embeddings: the CallSelector of the "
            "alert thresholds) across the selected services and models, 5 m rate. Agent, tool and "
            "workflow spans are not requests: see their own panel below. A drop to zero with "
            "traffic expected means telemetry or the app is down.",
            "reqps",
            [target(f"sum({CALLS}{{{SELECTOR}}})", "requests/s")],
            thresholds=steps((BLUE, None)),
        ),
        stat(
            "Error ratio",
            f"Share of model calls that failed (error_type set), 5 m rate. Amber from "
            f"{n(t.error_ratio_warning)}, red from {n(t.error_ratio_critical)}: the "
            "LLMErrorRatioHigh warning and critical thresholds.",
            "percentunit",
            [target(error_ratio(), "error ratio")],
            thresholds=steps((GREEN, None), (AMBER, t.error_ratio_warning), (RED, t.error_ratio_critical)),
            decimals=2,
        ),
        stat(
            "p95 latency (slowest model)",
            "p95 duration of model calls (chat, completions, embeddings; not agents or tools) for "
            "the slowest service/model pair (5 m). Red from the latency "
            f"SLO threshold ({n(t.latency_slo_threshold_seconds)} s). Open Latency to find the stage.",
            "s",
            [
                target(
                    "max(service_model:gen_ai_client_operation_duration_seconds:p95_rate5m"
                    f"{{{SELECTOR}, {t.model_call_selector}}})",
                    "p95",
                )
            ],
            thresholds=steps((GREEN, None), (RED, t.latency_slo_threshold_seconds)),
        ),
        stat(
            "p95 time to first token (slowest model)",
            "p95 time to the first streamed chunk of the slowest service/model pair (5 m); streamed "
            f"calls only. Amber from {n(t.ttft_warning_seconds)} s, red from {n(t.ttft_critical_seconds)} s: "
            "the LLMTimeToFirstTokenHigh (p99) thresholds.",
            "s",
            [
                target(
                    f"max(service_model:gen_ai_client_operation_time_to_first_chunk_seconds:p95_rate5m{{{SELECTOR}}})",
                    "p95 TTFT",
                )
            ],
            thresholds=steps((GREEN, None), (AMBER, t.ttft_warning_seconds), (RED, t.ttft_critical_seconds)),
        ),
        stat(
            "Daily budget at current pace",
            "Spend per day at the current 5 m spend rate, as a share of the service's daily budget "
            "(LLMDailyBudgetExceededThresholdUSD), for the service closest to its budget. "
            f"Amber from {int(BUDGET_PACE_WARNING_RATIO * 100)} %, red from 100 %.",
            "percentunit",
            [target(f"max({promql.budget_ratio(SPEND_PER_DAY, SELECTOR_SERVICE, t)})", "budget pace")],
            thresholds=steps((GREEN, None), (AMBER, BUDGET_PACE_WARNING_RATIO), (RED, 1.0)),
        ),
        stat(
            "Quality score",
            "Mean evaluation score (0 to 1, higher is better) over all evaluations of the selected "
            "services and models, 5 m. Compare with the tile to the right for a drop.",
            "percentunit",
            [target(f"avg({SCORE}{{{SELECTOR_SERVICE_MODEL}}} >= 0)", "score")],
            thresholds=steps((BLUE, None)),
        ),
        stat(
            "Quality drop vs 7 d",
            "How far evaluation scores sit below their 7-day baseline, averaged over evaluations "
            "(0 = no drop). Amber from "
            f"{n(t.quality_drop_warning)}, red from {n(t.quality_drop_critical)}: the LLMQualityDrop "
            "thresholds.",
            "percentunit",
            [
                target(
                    f"clamp_min(1 - avg({SCORE}{{{SELECTOR_SERVICE_MODEL}}} / "
                    f"({BASELINE}{{{SELECTOR_SERVICE_MODEL}}} > 0)), 0)",
                    "drop",
                    instant=True,
                )
            ],
            thresholds=steps((GREEN, None), (AMBER, t.quality_drop_warning), (RED, t.quality_drop_critical)),
            graph=False,
        ),
        stat(
            "Firing LLM alerts",
            "Number of llmpulse alerts (LLM*) firing now in Prometheus. Anything above 0 is red; "
            "the alert markers on the graphs below show when they started.",
            "none",
            [target('count(ALERTS{alertstate="firing", alertname=~"LLM.*"}) or vector(0)', "firing")],
            thresholds=steps((GREEN, None), (RED, 1)),
            decimals=0,
        ),
    ]


def quality_panels(t: Thresholds) -> list[core.Panel]:
    total_calls = promql.rate("gen_ai_client_operation_duration_seconds_count", f"{SELECTOR}, {t.model_call_selector}")
    return [
        timeseries(
            "Evaluation scores",
            "Mean score per evaluation (0 to 1, higher is better), from the exporter's eval score "
            "histogram via recording rules. A line sloping down is a quality regression.",
            "percentunit",
            [target(f"avg by (gen_ai_evaluation_name) ({SCORE}{{{SELECTOR_SERVICE_MODEL}}} >= 0)", "{{gen_ai_evaluation_name}}")],
            minimum=0,
            maximum=1,
        ),
        timeseries(
            "Negative feedback ratio",
            "Share of user feedback that was negative (thumbs down), per service. Rising means users "
            "notice something the evaluations may not. Dashed line: the LLMNegativeFeedbackHigh threshold.",
            "percentunit",
            [
                target(
                    promql.rate("llm_feedback_total", promql.match(SELECTOR_SERVICE_MODEL, feedback="negative"), by="service_name")
                    + " / "
                    + promql.rate("llm_feedback_total", SELECTOR_SERVICE_MODEL, by="service_name"),
                    "{{service_name}}",
                )
            ],
            minimum=0,
            thresholds=steps((GREEN, None), (RED, t.negative_feedback_ratio)),
        ),
        timeseries(
            "Refusals and truncation",
            "Refusals per model call and the share of responses cut off by the token limit "
            "(finish reason `length`). Either rising points at prompt or max-tokens changes. Dashed "
            "line: the LLMTruncationHigh threshold.",
            "percentunit",
            [
                target(f"{promql.rate('llm_refusals_total', SELECTOR)} / {total_calls}", "refusals"),
                target(
                    promql.rate("llm_finish_reasons_total", promql.match(SELECTOR, gen_ai_response_finish_reason="length"))
                    + " / "
                    + promql.rate("llm_finish_reasons_total", SELECTOR),
                    "truncated",
                ),
            ],
            minimum=0,
            thresholds=steps((GREEN, None), (RED, t.truncation_ratio)),
        ),
    ]


def cost_panels(t: Thresholds) -> list[core.Panel]:
    return [
        timeseries(
            "Requests per minute",
            "Model calls per minute by service (5 m rate): the requests of the Requests / s tile.",
            "reqpm",
            [target(f"sum by (service_name) ({CALLS}{{{SELECTOR}}}) * 60", "{{service_name}}")],
            stack=True,
        ),
        timeseries(
            "Agent, tool and workflow operations per minute",
            "Operations that are not model calls, per minute by operation (invoke_agent, "
            "execute_tool, invoke_workflow, retrieval ...): the activity around the requests. They "
            "are never counted as requests.",
            "suffix: ops/min",
            [
                target(
                    f"sum by (gen_ai_operation_name) ({OPERATIONS}{{{SELECTOR}, {negate(t.model_call_selector)}}}) * 60",
                    "{{gen_ai_operation_name}}",
                )
            ],
            stack=True,
        ),
        timeseries(
            "Tokens per minute",
            "Tokens per minute by type (input, output, cache reads and writes, reasoning).",
            "suffix: tokens/min",
            [
                target(
                    f"sum by (gen_ai_token_type) (service_model:llm_tokens:rate5m{{{SELECTOR}}}) * 60",
                    "{{gen_ai_token_type}}",
                )
            ],
        ),
        timeseries(
            "Spend per minute",
            "US dollars per minute by service, from the exporter's price table (5 m rate). "
            "Unpriced models count as 0: see the Cost dashboard.",
            "currencyUSD",
            [target(f"sum by (service_name) ({COST}{{{SELECTOR}}}) * 60", "{{service_name}}")],
            stack=True,
        ),
        projected_month("Projected monthly spend",
                        "Average spend rate over the last 24 h times 30 days, for the selected services."),
    ]


def deployment_panels() -> list[core.Panel]:
    keys = "service_name, service_version, prompt_version, gen_ai_provider_name, gen_ai_request_model"
    return [
        table(
            "Deployments first seen",
            "Every (service version, prompt version, model) seen in the time range and when it first "
            "reported (from llm_deployment_info). The newest rows are the live versions.",
            "dateTimeAsIso",
            [
                target(
                    f"min by ({keys}) (min_over_time(timestamp(llm_deployment_info{{{SELECTOR}}})[$__range:$__interval])) * 1000",
                    "",
                    instant=True,
                    fmt="table",
                )
            ],
            transformations=[
                {"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": {"Value": "first seen"}}},
                {"id": "sortBy", "options": {"sort": [{"field": "first seen", "desc": True}]}},
            ],
        ),
        timeseries(
            "Live versions",
            "One line per live (service, service version, prompt version) combination, its value the "
            "number of models it calls: a new line starting is a deployment; compare with quality and "
            "latency above.",
            "short",
            [
                target(   # models, not series: every replica reports its own llm_deployment_info
                    "count by (service_name, service_version, prompt_version) (group by (service_name, "
                    f"service_version, prompt_version, gen_ai_provider_name, gen_ai_request_model) "
                    f"(llm_deployment_info{{{SELECTOR}}}))",
                    "{{service_name}} {{service_version}} prompt {{prompt_version}}",
                )
            ],
            legend_calcs=(),
        ),
    ]


def self_hosted_panel() -> core.Panel:
    """Calls to self-hosted engines, each row linking to the Serving engines dashboard."""
    providers = "|".join(SELF_HOSTED_PROVIDERS)
    panel = table(
        "Self-hosted engines in use",
        "Services calling a self-hosted serving engine (provider "
        + ", ".join(SELF_HOSTED_PROVIDERS)
        + "), calls per second now. Click a model to open the Serving engines dashboard: the "
        "engine's own KV cache, queue and time to first token for that model.",
        "reqps",
        [
            target(
                f"sum by (service_name, gen_ai_provider_name, gen_ai_request_model) "
                f'({CALLS}{{{SELECTOR}, gen_ai_provider_name=~"{providers}"}})',
                "",
                instant=True,
                fmt="table",
            )
        ],
        transformations=[
            {"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": {"Value": "calls/s"}}},
        ],
    )
    link = {
        "title": "Serving engine: ${__data.fields.gen_ai_request_model}",
        "url": f"/d/{base.UIDS['engines']}?${{__url_time_range}}&var-model=${{__data.fields.gen_ai_request_model}}",
    }
    return attr.evolve(
        panel,
        links=[{"title": "Serving engines", "url": f"/d/{base.UIDS['engines']}?${{__url_time_range}}"}],
        extraJson={"fieldConfig": {"defaults": {"links": [link]}}},
    )


def build(t: Thresholds) -> core.Dashboard:
    grid = Grid()
    grid.row("Status now")
    for tile in status_tiles(t):
        grid.add(tile, w=3, h=4)
    grid.row("Quality trends")
    for item in quality_panels(t):
        grid.add(item, w=8, h=8)
    grid.row("Cost and volume")
    for item, w in zip(cost_panels(t), (5, 5, 5, 5, 4)):
        grid.add(item, w=w, h=8)
    grid.row("Deployments and self-hosted engines")
    for item in deployment_panels():
        grid.add(item, w=9, h=8)
    grid.add(self_hosted_panel(), w=6, h=8)
    return base.make_dashboard(
        base.UIDS["overview"],
        "Overview",
        "Is everything OK? Status, quality, cost and deployments of LLM calls seen by llmpulse.",
        grid.panels,
        annotations=[base.FIRING_ALERTS_ANNOTATION, base.DEPLOYMENT_ANNOTATION],
    )

