"""Agents and tools: LLM calls and cost per trace, tool calls and failures, agent
and workflow durations, retries and fallbacks; recent traces from Tempo.

>>> build(load_thresholds(None)).uid
'llmpulse-agents'
"""

from __future__ import annotations

from grafanalib import core

from llmpulse.dashboards import base, promql
from llmpulse.dashboards.panels import GREEN, RED, Grid, logs, steps, target, timeseries, traces
from llmpulse.dashboards.thresholds import Thresholds, load_thresholds
from llmpulse.dashboards.variables import SELECTOR, SELECTOR_SERVICE

DURATION = "gen_ai_client_operation_duration_seconds"
AGENT_OPS = f'{SELECTOR}, gen_ai_operation_name=~"invoke_agent|invoke_workflow|handle_conversation_turn|create_agent|plan"'
TOOL_FAILED = f'{SELECTOR_SERVICE}, error_type!=""'
TOOL_OPS = promql.match(SELECTOR, gen_ai_operation_name="execute_tool")

# Loki and Tempo queries. `${service:regex}` is a back-quoted (raw) string: Grafana
# escapes regex metacharacters with backslashes, and both LogQL and TraceQL decode
# double-quoted strings as Go strings, where `\.` is an invalid escape. With "All"
# the value is `.*`, which Loki drops; `service_name=~".+"` keeps the selector valid
# (Loki needs one matcher that does not match the empty string).
LOGQL_SERVICE_LOGS = '{service_name=~`${service:regex}`, service_name=~".+"}'
TRACEQL_AGENT_TRACES = '{ span.gen_ai.operation.name = "invoke_agent" && resource.service.name =~ `${service:regex}` }'


def per_trace(t: Thresholds) -> list[core.Panel]:
    return [
        timeseries(
            "LLM calls per trace p50 / p95 / p99",
            "How many LLM calls one trace (one user request or agent run) makes, as whole calls: "
            "each line is the upper bound of the histogram bucket its quantile falls in, so "
            "\"p95 = 4\" means 95 % of traces made at most 4 calls. Exact up to 6 calls with the "
            "default buckets (1 to 6, 8, 10, 15, 20, 30, 50, 100); above that the bucket bound (7 "
            "calls shows as 8). A p99 climbing while p50 stays flat is an agent looping; the dashed "
            "line is the LLMRunawayAgent bound.",
            "short",
            [
                target(promql.quantile_bound(q, "llm_trace_operations", "service_name", SELECTOR_SERVICE), f"{{{{service_name}}}} p{int(q * 100)}")
                for q in (0.5, 0.95, 0.99)
            ],
            thresholds=steps((GREEN, None), (RED, t.runaway_operations_per_trace)),
        ),
        timeseries(
            "LLM calls per trace: mean and max",
            "Mean LLM calls per trace (exact: calls over traces) and the most any trace made, as the "
            "upper bound of the largest bucket reached.",
            "short",
            [
                target(promql.mean("llm_trace_operations", "service_name", SELECTOR_SERVICE), "{{service_name}} mean"),
                target(f"histogram_quantile(1, sum by (le, service_name) (rate(llm_trace_operations_bucket{{{SELECTOR_SERVICE}}}[$__rate_interval])) > 0)",
                       "{{service_name}} max"),
            ],
            thresholds=steps((GREEN, None), (RED, t.runaway_operations_per_trace)),
        ),
        timeseries(
            "Cost per trace p50 / p95 (with traces)",
            "US dollars per trace; exemplar dots open an expensive trace in Tempo.",
            "currencyUSD",
            [
                target(promql.quantile(q, "llm_trace_cost_usd", "service_name", SELECTOR_SERVICE), f"{{{{service_name}}}} p{int(q * 100)}", exemplar=True)
                for q in (0.5, 0.95)
            ],
        ),
        timeseries(
            "Traces per second",
            "Completed traces per second by service (the denominator of the per-trace panels).",
            "ops",
            [target(promql.rate("llm_trace_operations_count", SELECTOR_SERVICE, by="service_name"), "{{service_name}}")],
        ),
    ]


def tools() -> list[core.Panel]:
    return [
        timeseries(
            "Tool calls by tool",
            "Tool executions per second by tool name, stacked.",
            "ops",
            [target(promql.rate("llm_tool_calls_total", SELECTOR_SERVICE, by="gen_ai_tool_name"), "{{gen_ai_tool_name}}")],
            stack=True,
        ),
        timeseries(
            "Tool failure ratio by tool",
            "Share of tool executions that failed (error_type set) per tool.",
            "percentunit",
            [
                target(
                    f"({promql.rate('llm_tool_calls_total', TOOL_FAILED, by='gen_ai_tool_name')}"
                    f" or {promql.rate('llm_tool_calls_total', SELECTOR_SERVICE, by='gen_ai_tool_name')} * 0) / "
                    f"{promql.rate('llm_tool_calls_total', SELECTOR_SERVICE, by='gen_ai_tool_name')}",
                    "{{gen_ai_tool_name}}",
                )
            ],
            minimum=0,
        ),
        timeseries(
            "Tool execution duration p95 (with traces)",
            "p95 duration of execute_tool operations by service; exemplars open the trace.",
            "s",
            [target(promql.quantile(0.95, DURATION, "service_name", TOOL_OPS), "{{service_name}}", exemplar=True)],
        ),
    ]


def agents() -> list[core.Panel]:
    return [
        timeseries(
            "Agent and workflow duration p50 / p95 (with traces)",
            "Duration of invoke_agent, invoke_workflow, handle_conversation_turn, create_agent and plan "
            "operations; these span "
            "the LLM and tool calls inside them. Exemplars open the trace.",
            "s",
            [
                target(promql.quantile(q, DURATION, "gen_ai_operation_name", AGENT_OPS), f"{{{{gen_ai_operation_name}}}} p{int(q * 100)}", exemplar=True)
                for q in (0.5, 0.95)
            ],
        ),
        timeseries(
            "Retries and fallbacks",
            "Retried LLM calls and fallbacks to another model or provider per second. Rising "
            "retries with a flat error ratio means retries are hiding provider trouble.",
            "ops",
            [
                target(promql.rate("llm_retries_total", SELECTOR, by="service_name"), "{{service_name}} retries"),
                target(promql.rate("llm_fallbacks_total", SELECTOR, by="service_name"), "{{service_name}} fallbacks"),
            ],
        ),
    ]


def build(t: Thresholds) -> core.Dashboard:
    grid = Grid()
    grid.row("Per trace")
    for item in per_trace(t):
        grid.add(item, w=6, h=8)
    grid.row("Tools")
    for item in tools():
        grid.add(item, w=8, h=8)
    grid.row("Agents and workflows")
    for item in agents():
        grid.add(item, w=12, h=8)
    grid.collapsed_row(
        "Traces and logs (needs the optional Tempo / Loki datasources)",
        [
            (
                traces(
                    "Recent agent traces",
                    "The latest traces with an agent invocation for the selected services, from Tempo. "
                    "Click a trace id to open it; its spans link to their logs in Loki.",
                    TRACEQL_AGENT_TRACES,
                ),
                12,
                10,
            ),
            (
                logs(
                    "Logs of the selected services",
                    "Recent log lines of the selected services from Loki (OTLP logs keep "
                    "`service_name` as a label).",
                    LOGQL_SERVICE_LOGS,
                ),
                12,
                10,
            ),
        ],
    )
    return base.make_dashboard(
        base.UIDS["agents"],
        "Agents and tools",
        "What agents do per request: LLM calls and cost per trace, tool calls and failures, durations.",
        grid.panels,
        annotations=[base.FIRING_ALERTS_ANNOTATION],
    )


__all__ = ["build", "load_thresholds"]
