"""One definition of "request": a model call (chat, text_completion, generate_content,
embeddings; `CallSelector` in alerts/thresholds.yaml). Agent, tool, workflow and
retrieval spans are activity, shown in their own panels, never counted as requests.

The traffic below is the issue's case: 0.73 model calls/s inside agent and workflow
traces that also report 0.2 agent/tool/workflow/retrieval operations/s. Every
"request" panel and the SLO rules must see the 0.73, and agree with each other.
"""

from __future__ import annotations

from alerts.rule_cases import series
from llmpulse.alerts.thresholds import load_thresholds
from panel_eval import check, panel_queries

OPS = "gen_ai_client_operation_duration_seconds_count"
SVC = {"job": "llm", "service_name": "chat-api"}
CHAT = SVC | {"gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai", "gen_ai_request_model": "gpt-4o"}
EMB = CHAT | {"gen_ai_operation_name": "embeddings", "gen_ai_request_model": "text-embedding-3-small"}
AGENT = CHAT | {"gen_ai_operation_name": "invoke_agent"}
TOOL = SVC | {"gen_ai_operation_name": "execute_tool", "gen_ai_provider_name": "", "gen_ai_request_model": ""}
FLOW = TOOL | {"gen_ai_operation_name": "invoke_workflow"}
RETR = TOOL | {"gen_ai_operation_name": "retrieval"}

# per minute: 40 chat + 4 embeddings = 44 calls (0.7333/s), 4 of them failed;
# 6 agent (2 failed with their call), 3 tool, 2 workflow, 1 retrieval = 12 operations.
SERIES = [
    series(OPS, CHAT, "0+36x40"), series(OPS, CHAT | {"error_type": "timeout"}, "0+4x40"),
    series(OPS, EMB, "0+4x40"),
    series(OPS, AGENT, "0+4x40"), series(OPS, AGENT | {"error_type": "timeout"}, "0+2x40"),
    series(OPS, TOOL, "0+3x40"), series(OPS, FLOW, "0+2x40"), series(OPS, RETR, "0+1x40"),
    # cost and unpriced calls as the exporter records them today: a framework that
    # also reports usage on the agent span would count it there too
    series("llm_cost_usd_total", CHAT, "0+0.44x40"),
    series("llm_unpriced_operations_total", CHAT, "0+4.4x40"),
    series("llm_refusals_total", CHAT, "0+0.44x40"),
    series("llm_cache_hits_total", CHAT, "0+4.4x40"),
]
CALLS_PER_S = 44 / 60
AT = "30m"


def test_call_selector_is_defined_once_in_the_thresholds():
    th = load_thresholds()
    assert th.CallSelector == 'gen_ai_operation_name=~"chat|text_completion|generate_content|embeddings"'
    assert not hasattr(th.slo, "selector")  # the SLOs read CallSelector too


def test_request_panels_count_calls_only(tmp_path):
    def one(uid, title, value, index=0):
        return (AT, panel_queries(uid, title)[index], [("{}", round(value, 4))])

    check(tmp_path, SERIES, [
        one("llmpulse-overview", "Requests / s", CALLS_PER_S),
        one("llmpulse-overview", "Error ratio", 4 / 44),
        (AT, panel_queries("llmpulse-overview", "Requests per minute")[0], [('{service_name="chat-api"}', 44.0)]),
        one("llmpulse-overview", "Refusals and truncation", 0.01),
        one("llmpulse-cost", "Mean cost per request", 0.01),
        one("llmpulse-cost", "Unpriced share", 0.1),
        (AT, panel_queries("llmpulse-cost", "Mean cost per request by model")[0],
         [('{gen_ai_provider_name="openai", gen_ai_request_model="gpt-4o"}', 0.011)]),
        (AT, panel_queries("llmpulse-cost", "Cached tokens")[1], [("{}", 0.1)]),
    ])


def test_agent_tool_workflow_activity_has_its_own_panel(tmp_path):
    (expr,) = panel_queries("llmpulse-overview", "Agent, tool and workflow operations per minute")
    check(tmp_path, SERIES, [(AT, expr, [
        ('{gen_ai_operation_name="invoke_agent"}', 6.0), ('{gen_ai_operation_name="execute_tool"}', 3.0),
        ('{gen_ai_operation_name="invoke_workflow"}', 2.0), ('{gen_ai_operation_name="retrieval"}', 1.0)])])


def test_rules_and_dashboards_agree_on_requests(tmp_path):
    """The SLO, the error-ratio alert and the overview read the same calls."""
    avail = 'slo:sli_error:ratio_rate5m{slo="availability", job="llm", service_name="chat-api"}'
    svc = '{job="llm", service_name="chat-api"}'
    check(tmp_path, SERIES, [
        (AT, avail, [('{job="llm", service_name="chat-api", slo="availability"}', round(4 / 44, 4))]),
        (AT, "service:gen_ai_client_calls:rate5m", [(svc, round(CALLS_PER_S, 4))]),
        (AT, "service:gen_ai_client_call_errors_per_calls:ratio_rate5m", [(svc, round(4 / 44, 4))]),
        (AT, 'sum by (job, service_name) (slo:sli_events:rate5m{slo="availability"})', [(svc, round(CALLS_PER_S, 4))]),
        (AT, 'service_model:gen_ai_client_operations:rate5m{gen_ai_operation_name="invoke_agent"}',
         [('{job="llm", service_name="chat-api", gen_ai_operation_name="invoke_agent", '
           'gen_ai_provider_name="openai", gen_ai_request_model="gpt-4o"}', 0.1)]),
    ])


def test_every_query_counting_operations_counts_calls():
    """A panel that divides by or shows the operation count uses CallSelector, except the
    activity panel, which shows exactly the operations that are not calls."""
    from llmpulse.dashboards.build import all_queries

    call_selector = load_thresholds().CallSelector
    activity = {("llmpulse-overview", "Agent, tool and workflow operations per minute")}
    for uid, title, expr in all_queries():
        if (uid, title) in activity:
            assert call_selector.replace("=~", "!~") in expr
            continue
        if "gen_ai_client_operation_duration_seconds_count" in expr or "gen_ai_client_operations:" in expr:
            assert call_selector in expr, f"{uid} / {title} counts operations, not calls: {expr}"
