"""One call, one count: the defects of issue 12, each with spans shaped like the emitters' own.

Spans are written by hand after the emitters' source and the captured payloads
(docs/dialects.md names the source of every shape); each test failed before its fix.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from llmpulse import otlp
from llmpulse.config import load_config
from llmpulse.metrics import Metrics
from llmpulse.pipeline import Pipeline
from llmpulse.pricing import PriceTable
from otlpdata import span, traces_request

ROOT = Path(__file__).resolve().parents[1]


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


class Rig:
    """A pipeline with its registry and a clock the test moves."""

    def __init__(self, **overrides):
        self.cfg = load_config(environ={}, overrides=overrides)
        self.reg, self.clock = CollectorRegistry(), Clock()
        self.metrics = Metrics(self.cfg, self.reg, now=self.clock)
        self.pipe = Pipeline(self.cfg, self.metrics, PriceTable.load(self.cfg.pricing.files))

    def send(self, *spans, resource=None, scope="test"):
        body = traces_request(list(spans), resource=resource, scope=scope).SerializeToString()
        return self.pipe.traces(body, otlp.PROTOBUF)

    def wait(self, seconds: float):
        self.clock.t += seconds
        self.metrics.sweep()

    def total(self, name: str, **match) -> float:
        out = 0.0
        for fam in self.reg.collect():
            for s in fam.samples:
                if s.name == name and all(s.labels.get(k) == v for k, v in match.items()):
                    out += s.value
        return out

    def tokens(self, token_type: str = "input") -> float:
        return self.total("llm_tokens_total", gen_ai_token_type=token_type)

    def calls(self) -> float:
        """Request count as the dashboards compute it: duration _count over the four call operations."""
        return sum(self.total("gen_ai_client_operation_duration_seconds_count", gen_ai_operation_name=op)
                   for op in ("chat", "text_completion", "generate_content", "embeddings"))

    def labels(self, name: str, label: str) -> set:
        return {s.labels[label] for fam in self.reg.collect() for s in fam.samples
                if s.name == name and s.value}


def ids(n: int = 1):
    return [os.urandom(8) for _ in range(n)]


def chat(tokens_in, tokens_out=5, *, trace, span_id=None, parent=b"", extra=None, name="chat gpt-4o", **kw):
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
             "gen_ai.usage.input_tokens": tokens_in, "gen_ai.usage.output_tokens": tokens_out, **(extra or {})}
    return span(attrs, name=name, trace_id=trace, span_id=span_id, parent=parent, **kw)


# ---- 1. aggregate spans that repeat their children's totals --------------------------------------------

AGENT_SHAPES = {
    # OTel util-genai 1.3b0 / Agent Framework 1.23: summed gen_ai.usage.* on invoke_agent
    "util_genai": {"gen_ai.operation.name": "invoke_agent", "gen_ai.provider.name": "openai",
                   "gen_ai.agent.name": "helper", "gen_ai.request.model": "gpt-4o"},
    # Strands 1.62: invoke_agent with provider strands-agents and the totals
    "strands": {"gen_ai.operation.name": "invoke_agent", "gen_ai.provider.name": "strands-agents",
                "gen_ai.system": "strands-agents", "gen_ai.agent.name": "helper", "gen_ai.request.model": "gpt-4o"},
    # OpenInference CrewAI: the crew's root CHAIN span carries llm.token_count.*
    "crewai": {"openinference.span.kind": "CHAIN", "llm.token_count.total": 45},
    # @ai-sdk/otel 1.0: root invoke_agent with the totals
    "vercel_otel": {"gen_ai.operation.name": "invoke_agent", "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4o"},
}


def _agent(shape, tokens_in, tokens_out, trace, span_id):
    attrs = dict(AGENT_SHAPES[shape])
    if shape == "crewai":
        attrs.update({"llm.token_count.prompt": tokens_in, "llm.token_count.completion": tokens_out})
    else:
        attrs.update({"gen_ai.usage.input_tokens": tokens_in, "gen_ai.usage.output_tokens": tokens_out})
    return span(attrs, name="invoke_agent helper", trace_id=trace, span_id=span_id, duration_s=3.0)


@pytest.mark.parametrize("shape", sorted(AGENT_SHAPES))
def test_agent_totals_are_not_added_to_the_calls_below_them(shape):
    rig = Rig()
    trace = os.urandom(16)
    [agent_id] = ids()
    rig.send(chat(10, 5, trace=trace, parent=agent_id), chat(20, 10, trace=trace, parent=agent_id),
             _agent(shape, 30, 15, trace, agent_id))
    assert rig.tokens("input") == 30 and rig.tokens("output") == 15
    assert rig.total("gen_ai_client_token_usage_count", gen_ai_token_type="input") == 2
    assert rig.calls() == 2
    assert rig.total("llmpulse_aggregate_usage_total", outcome="covered") == 1


def test_agent_before_its_calls_in_a_later_request_is_still_counted_once():
    rig = Rig()
    trace = os.urandom(16)
    [agent_id] = ids()
    rig.send(_agent("util_genai", 30, 15, trace, agent_id))         # the parent first: held back
    assert rig.tokens() == 0
    rig.wait(2)
    rig.send(chat(10, 5, trace=trace, parent=agent_id), chat(20, 10, trace=trace, parent=agent_id))
    rig.wait(60)
    assert rig.tokens() == 30 and rig.calls() == 2
    assert rig.total("llmpulse_aggregate_usage_total", outcome="covered") == 1


def test_an_agent_with_tokens_and_no_call_below_it_is_counted_once_after_the_wait():
    rig = Rig()
    trace = os.urandom(16)
    outer, inner = ids(2)
    # an outer workflow and an inner agent, both with totals, and no chat span at all
    wf = span({"gen_ai.operation.name": "invoke_workflow", "gen_ai.provider.name": "openai",
               "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 30,
               "gen_ai.usage.output_tokens": 15}, name="invoke_workflow w", trace_id=trace, span_id=outer,
              duration_s=4.0)
    agent = span({"gen_ai.operation.name": "invoke_agent", "gen_ai.provider.name": "openai",
                  "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 30,
                  "gen_ai.usage.output_tokens": 15}, name="invoke_agent a", trace_id=trace, span_id=inner,
                 parent=outer, duration_s=2.0, start_ns=wf.start_time_unix_nano + 10**9)
    rig.send(agent, wf)
    assert rig.tokens() == 0
    assert rig.total("llmpulse_tracked_items", kind="pending_aggregates") == 2
    rig.wait(rig.cfg.tracking.aggregate_wait_seconds + 1)
    assert rig.tokens() == 30 and rig.tokens("output") == 15 and rig.calls() == 1
    assert rig.total("llmpulse_aggregate_usage_total", outcome="promoted") == 1
    assert rig.total("llmpulse_aggregate_usage_total", outcome="covered") == 1      # the inner one
    assert rig.total("gen_ai_client_operation_duration_seconds_count", gen_ai_operation_name="invoke_agent") == 1
    # a call of that trace arriving after the wait is inside the promoted totals: not added again
    rig.send(chat(30, 15, trace=trace, parent=inner, start_ns=agent.start_time_unix_nano + 1000))
    assert rig.tokens() == 30
    assert rig.total("llmpulse_spans_skipped_total", reason="covered_by_promoted") == 1


def test_pending_aggregates_are_bounded():
    rig = Rig(tracking={"max_pending_aggregates": 3})
    for _ in range(10):
        rig.send(_agent("util_genai", 7, 1, os.urandom(16), os.urandom(8)))
    assert rig.total("llmpulse_tracked_items", kind="pending_aggregates") <= 3
    assert rig.total("llmpulse_aggregate_usage_total", outcome="promoted") == 7     # decided early, not lost
    rig.wait(rig.cfg.tracking.aggregate_wait_seconds + 1)
    assert rig.tokens() == 70


def test_tools_and_agents_still_have_their_durations():
    rig = Rig()
    trace = os.urandom(16)
    [agent_id] = ids()
    tool = span({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"}, name="execute_tool search",
                trace_id=trace, parent=agent_id)
    rig.send(chat(10, trace=trace, parent=agent_id), tool, _agent("util_genai", 10, 5, trace, agent_id))
    for op in ("chat", "execute_tool", "invoke_agent"):
        assert rig.total("gen_ai_client_operation_duration_seconds_count", gen_ai_operation_name=op) == 1
    assert rig.labels("llm_tokens_total", "gen_ai_operation_name") == {"chat"}
    assert rig.labels("gen_ai_client_token_usage_count", "gen_ai_operation_name") == {"chat"}


# ---- 2. finish reasons -----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw,expected", [
    ("tool_call", "tool_calls"), ("tool_calls", "tool_calls"), ("tool-calls", "tool_calls"),
    ("tool_use", "tool_calls"), ("function_call", "tool_calls"), ("TOOL_CALL", "tool_calls"),
    ("end_turn", "stop"), ("STOP", "stop"), ("stop_sequence", "stop"), ("COMPLETE", "stop"),
    ("max_tokens", "length"), ("MAX_TOKENS", "length"), ("max_output_tokens", "length"), ("length", "length"),
    ("SAFETY", "content_filter"), ("content-filter", "content_filter"), ("Content Filter", "content_filter"),
    ("refusal", "content_filter"), ("FinishReason.SAFETY", "content_filter"),
    ("compaction", "compaction"), ("error", "error"), ("abort", "error"),
])
def test_finish_reason_spellings(raw, expected):
    from llmpulse import vocab
    assert vocab.finish_reason(raw) == expected


def test_fetch_response_finish_reasons_are_not_counted_again():
    rig = Rig()
    trace = os.urandom(16)
    rig.send(chat(10, trace=trace, extra={"gen_ai.response.finish_reasons": ["stop"]}),
             span({"gen_ai.operation.name": "fetch_response", "gen_ai.provider.name": "openai",
                   "gen_ai.response.finish_reasons": ["stop"]}, name="fetch_response", trace_id=trace))
    assert rig.total("llm_finish_reasons_total") == 1


# ---- 3. OpenInference EMBEDDING spans -------------------------------------------------------------------

def test_openinference_embedding_keeps_its_model_and_is_priced():
    rig = Rig()
    rig.send(span({"openinference.span.kind": "EMBEDDING", "embedding.model_name": "text-embedding-3-small",
                   "llm.token_count.prompt": 1000, "llm.token_count.total": 1000}, name="CreateEmbeddingResponse"))
    assert rig.labels("llm_tokens_total", "gen_ai_request_model") == {"text-embedding-3-small"}
    assert rig.total("llm_unpriced_operations_total") == 0 and rig.total("llm_cost_usd_total") > 0
    rig.send(span({"openinference.span.kind": "EMBEDDING", "llm.token_count.prompt": 10,
                   "embedding.invocation_parameters": '{"model": "text-embedding-3-large"}'}, name="embed"))
    assert "text-embedding-3-large" in rig.labels("llm_tokens_total", "gen_ai_request_model")


# ---- 4. a span cost of 0 for a priced model -------------------------------------------------------------

def test_zero_span_cost_for_a_priced_model_is_treated_as_missing():
    rig = Rig()
    rig.send(chat(1_000_000, 0, trace=os.urandom(16), extra={"gen_ai.usage.cost": 0}))
    assert rig.total("llm_cost_usd_total") == pytest.approx(rig.pipe.prices.lookup("openai", "gpt-4o").input)
    # configurable: trust a zero
    rig = Rig(pricing={"zero_span_cost_is_missing": False})
    rig.send(chat(1_000_000, 0, trace=os.urandom(16), extra={"gen_ai.usage.cost": 0}))
    assert rig.total("llm_cost_usd_total") == 0 and rig.total("llm_request_cost_usd_count") == 1
    # a zero for a model the table cannot price stays a zero (self-hosted, free tier)
    rig = Rig()
    rig.send(chat(100, 0, trace=os.urandom(16), extra={"gen_ai.usage.cost": 0,
                                                      "gen_ai.request.model": "my-own-model"}))
    assert rig.total("llm_request_cost_usd_count") == 1 and rig.total("llm_unpriced_operations_total") == 0


# ---- 5. OpenLLMetry task spans --------------------------------------------------------------------------

def test_openllmetry_execute_task_spans_are_not_operations():
    rig = Rig()
    out = rig.send(span({"traceloop.span.kind": "task", "gen_ai.operation.name": "execute_task",
                         "traceloop.entity.name": "summarise"}, name="summarise.task"))
    assert out.accepted == 0 and rig.total("gen_ai_client_operation_duration_seconds_count") == 0
    assert rig.total("llmpulse_spans_skipped_total", reason="non_genai") == 1


def test_openai_agents_v2_unknown_operation_spans_are_not_operations():
    """openai-agents-v2 0.1.0 names the Agents SDK spans it has no mapping for `unknown` (13 in its capture)."""
    rig = Rig()
    out = rig.send(span({"gen_ai.operation.name": "unknown", "gen_ai.provider.name": "openai",
                         "gen_ai.agent.name": "OpenAI Agent"}, name="unknown"),
                   scope="opentelemetry.instrumentation.openai_agents")
    assert out.accepted == 0 and rig.total("gen_ai_client_operation_duration_seconds_count") == 0


# ---- 6. one call reported twice -------------------------------------------------------------------------

@pytest.mark.parametrize("order", ["child_first", "parent_first", "separate_requests_parent_first"])
def test_a_chat_span_wrapping_a_chat_span_counts_once(order):
    rig = Rig()
    trace = os.urandom(16)
    outer_id, inner_id = ids(2)
    # OpenAI Agents SDK generation span (via OpenLLMetry) around OpenLLMetry's openai chat span
    outer = chat(10, 5, trace=trace, span_id=outer_id, name="openai.response", duration_s=1.2)
    inner = chat(10, 5, trace=trace, span_id=inner_id, parent=outer_id, name="openai.chat",
                 extra={"gen_ai.response.model": "gpt-4o-2024-08-06"})
    if order == "child_first":
        rig.send(inner, outer)
    elif order == "parent_first":
        rig.send(outer, inner)
    else:
        rig.send(outer)
        rig.send(inner)
    assert rig.tokens() == 10 and rig.calls() == 1
    assert rig.total("llmpulse_spans_skipped_total", reason="nested_call") == 1
    if order != "separate_requests_parent_first":     # within one request the inner span is the one kept
        assert rig.labels("gen_ai_client_operation_duration_seconds_count",
                          "gen_ai_response_model") == {"gpt-4o-2024-08-06"}


def test_the_same_response_in_two_traces_counts_once():
    rig = Rig()
    extra = {"gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-5",
             "gen_ai.response.id": "msg_01XFDUDYJgAACzvnptvVoYEL"}
    rig.send(chat(50, 7, trace=os.urandom(16), extra=extra), scope="com.anthropic.sdk.python")    # its own tracing
    rig.send(chat(50, 7, trace=os.urandom(16), extra=extra, name="anthropic.chat"),
             scope="opentelemetry.instrumentation.anthropic")                                   # OpenLLMetry
    assert rig.tokens() == 50 and rig.calls() == 1
    assert rig.total("llmpulse_spans_skipped_total", reason="duplicate_response") == 1
    # another provider may reuse the id space: not a duplicate
    rig.send(chat(50, 7, trace=os.urandom(16), extra={**extra, "gen_ai.provider.name": "openai"}))
    assert rig.calls() == 2


def test_a_response_id_repeated_by_the_same_instrumentation_is_a_new_call():
    """Providers reuse response ids (Ollama's OpenAI endpoint draws `chatcmpl-N` from 999 values; a restarted
    server counts from 1 again): one scope's repeats are new calls, all counted (a new-user trial lost half
    the calls of a second run against a restarted provider: 7 of 14)."""
    rig = Rig()
    extra = {"gen_ai.response.id": "chatcmpl-fake0001"}
    for _ in range(3):
        rig.send(chat(10, 5, trace=os.urandom(16), extra=extra), scope="opentelemetry.instrumentation.openai_v2")
    assert rig.calls() == 3 and rig.tokens() == 30
    assert rig.total("llmpulse_spans_skipped_total", reason="duplicate_response") == 0
    # and a second instrumentation's report of the last of them still counts once
    rig.send(chat(10, 5, trace=os.urandom(16), extra=extra), scope="openinference.instrumentation.openai")
    assert rig.calls() == 3 and rig.total("llmpulse_spans_skipped_total", reason="duplicate_response") == 1


def test_two_calls_with_different_response_ids_under_one_parent_both_count():
    rig = Rig()
    trace = os.urandom(16)
    [agent_id] = ids()
    rig.send(chat(10, trace=trace, parent=agent_id, extra={"gen_ai.response.id": "a"}),
             chat(20, trace=trace, parent=agent_id, extra={"gen_ai.response.id": "b"}))
    assert rig.tokens() == 30 and rig.calls() == 2


# ---- 7. scores by trace id ------------------------------------------------------------------------------

def test_a_score_with_only_a_trace_id_goes_to_the_successful_call_of_the_trace():
    rig = Rig()
    trace = os.urandom(16)
    rig.send(chat(10, trace=trace, extra={"gen_ai.request.model": "gpt-4o-mini"}),
             chat(10, trace=trace, status=2, extra={"gen_ai.request.model": "claude-sonnet-4-5",
                                                    "gen_ai.provider.name": "anthropic", "error.type": "500"}))
    rig.pipe.scores(f'{{"trace_id": "{trace.hex()}", "name": "helpfulness", "value": 0.9}}'.encode())
    assert rig.total("llm_eval_score_count", gen_ai_request_model="gpt-4o-mini") == 1
    assert rig.total("llm_eval_score_count", gen_ai_request_model="claude-sonnet-4-5") == 0


def test_a_score_with_only_a_trace_id_goes_to_the_last_successful_call():
    rig = Rig()
    trace = os.urandom(16)
    rig.send(chat(10, trace=trace, extra={"gen_ai.request.model": "gpt-4o-mini"}))
    rig.send(chat(10, trace=trace, extra={"gen_ai.request.model": "gpt-4o"}))
    rig.send(chat(10, trace=trace, status=2, extra={"gen_ai.request.model": "o3", "error.type": "timeout"}))
    rig.pipe.scores(f'{{"trace_id": "{trace.hex()}", "name": "feedback", "label": "thumbs_up"}}'.encode())
    assert rig.total("llm_feedback_total", gen_ai_request_model="gpt-4o") == 1


# ---- 9. error_type -------------------------------------------------------------------------------------

@pytest.mark.parametrize("attrs,events,expected", [
    ({"error.type": "openai.InternalServerError"}, [], "server_error"),      # openai-v2
    ({"error.type": "InternalServerError"}, [], "server_error"),             # OpenLLMetry
    ({"error.type": "api_error"}, [], "server_error"),                       # Anthropic's error body type
    ({"error.type": "pydantic_ai.exceptions.ModelServerError"}, [], "server_error"),    # pydantic-ai
    ({}, [("exception", 0.1, {"exception.type": "pydantic_ai.exceptions.ModelHTTPError"})], "_OTHER"),
    ({"error.type": "pydantic_ai.exceptions.ModelHTTPError", "http.response.status_code": 500}, [], "server_error"),
    ({"error.type": "500"}, [], "server_error"),
    ({"error.type": "rate_limit_exceeded"}, [], "rate_limited"),
    ({"error.type": "openai.RateLimitError"}, [], "rate_limited"),
    ({"error.type": "ThrottlingException"}, [], "rate_limited"),
    ({"error.type": "429"}, [], "rate_limited"),
    ({"error.type": "timeout"}, [], "timeout"),
    ({}, [("exception", 0.1, {"exception.type": "openai.APITimeoutError"})], "timeout"),
    ({"error.type": "httpx.ReadTimeout"}, [], "timeout"),
    ({"error.type": "overloaded_error"}, [], "server_error"),
    ({"error.type": "AuthenticationError"}, [], "auth"),
    ({"error.type": "openai.BadRequestError"}, [], "bad_request"),
    ({"error.type": "content_filter"}, [], "content_filter"),
    ({"error.type": "asyncio.CancelledError"}, [], "cancelled"),
    ({"error.type": "openai.APIConnectionError"}, [], "connection"),
    ({"error.type": "SomethingOdd"}, [], "_OTHER"),
    # HTTP status first, then the exception type, then error.type
    ({"error.type": "rate_limit_exceeded", "http.response.status_code": 503}, [], "server_error"),
    ({"error.type": "api_error"}, [("exception", 0.1, {"exception.type": "anthropic.RateLimitError"})],
     "rate_limited"),
])
def test_error_type_is_one_series_per_cause(attrs, events, expected):
    rig = Rig()
    rig.send(chat(10, 0, trace=os.urandom(16), status=2, extra=attrs, events=events))
    assert rig.labels("gen_ai_client_operation_duration_seconds_count", "error_type") == {expected}


def test_the_raw_error_type_is_kept_in_an_opt_in_family():
    rig = Rig(metrics={"raw_error_types": True})
    rig.send(chat(10, 0, trace=os.urandom(16), status=2, extra={"error.type": "openai.InternalServerError"}))
    assert rig.total("llm_raw_errors_total", error_type="server_error",
                     raw_error_type="openai.InternalServerError") == 1
    rig = Rig()
    rig.send(chat(10, 0, trace=os.urandom(16), status=2, extra={"error.type": "openai.InternalServerError"}))
    assert rig.total("llm_raw_errors_total") == 0


# ---- 10. Strands ---------------------------------------------------------------------------------------

def test_strands_ttft_in_milliseconds_provider_and_dialect():
    rig = Rig()
    out = rig.send(span({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "strands-agents",
                         "gen_ai.system": "strands-agents", "gen_ai.request.model": "gpt-4o",
                         "gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 3,
                         "gen_ai.server.time_to_first_token": 420, "gen_ai.server.request.duration": 900},
                        name="chat", duration_s=1.0), scope="strands.telemetry.tracer")
    [c] = out.calls
    assert c.ttft_s == pytest.approx(0.42) and c.streaming
    assert c.dialect == "strands" and c.provider == "openai"
    out = rig.send(span({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "strands-agents",
                         "gen_ai.request.model": "us.anthropic.claude-sonnet-4-20250514-v1:0",
                         "gen_ai.usage.input_tokens": 1}, name="chat"), scope="strands.telemetry.tracer")
    assert out.calls[0].provider == "aws.bedrock"


# ---- 11. span cost and TTFT under other names ----------------------------------------------------------

@pytest.mark.parametrize("attrs,cost", [
    ({"gen_ai.usage.cost.amount": 0.25, "gen_ai.usage.cost.currency": "USD"}, 0.25),
    ({"gen_ai.usage.cost.amount": 0.25}, 0.25),
    ({"litellm.cost.total": 0.125}, 0.125),
    ({"operation.cost": 0.5}, 0.5),
])
def test_span_cost_names(attrs, cost):
    rig = Rig()
    rig.send(chat(10, trace=os.urandom(16), extra=attrs))
    assert rig.total("llm_cost_usd_total") == pytest.approx(cost)


def test_a_span_cost_in_another_currency_is_not_taken_as_dollars():
    rig = Rig()
    rig.send(chat(1_000_000, 0, trace=os.urandom(16),
                  extra={"gen_ai.usage.cost.amount": 99.0, "gen_ai.usage.cost.currency": "EUR"}))
    assert rig.total("llm_cost_usd_total") == pytest.approx(rig.pipe.prices.lookup("openai", "gpt-4o").input)


@pytest.mark.parametrize("attrs,ttft", [
    ({"gen_ai.client.operation.time_to_first_chunk": 0.3}, 0.3),       # pydantic-ai, @ai-sdk/otel
    ({"gen_ai.client.inference.time_to_first_chunk": 0.3}, 0.3),
    ({"ai.response.msToFirstChunk": 300}, 0.3),                         # Vercel AI SDK, milliseconds
])
def test_ttft_names(attrs, ttft):
    rig = Rig()
    out = rig.send(chat(10, 20, trace=os.urandom(16), extra=attrs))
    assert out.calls[0].ttft_s == pytest.approx(ttft)
    assert rig.total("gen_ai_client_operation_time_to_first_chunk_seconds_count") == 1


# ---- 11b. shapes found by the golden captures (tests/test_captures.py) ---------------------------------

@pytest.mark.parametrize("attrs,events,message,expected", [
    # openai-agents-v2 0.1.0: the status only in the span status message
    ({}, [], "Error getting response: {'error': 'Error code: 429 - Rate limit reached for requests.'}",
     "rate_limited"),
    ({}, [], "Error getting response: {'error': 'Error code: 500 - The server had an error'}", "server_error"),
    # Vercel AI SDK 6: AI_APICallError, the status only a property of the exception; the provider's message
    ({}, [("exception", 0.1, {"exception.type": "AI_APICallError",
                              "exception.message": "Rate limit reached for requests. Please try again in 1s."})],
     "", "rate_limited"),
    ({}, [("exception", 0.1, {"exception.type": "AI_APICallError", "exception.message":
                              "The server had an error while processing your request. Sorry about that!"})],
     "", "server_error"),
    # Google ADK on LiteLlm: litellm's exception classes
    ({}, [("exception", 0.1, {"exception.type": "litellm.exceptions.RateLimitError"})], "", "rate_limited"),
    # Agent Framework 1.23: nothing names the cause
    ({"error.type": "ChatClientException"}, [], "", "_OTHER"),
])
def test_error_cause_from_status_message_and_provider_message(attrs, events, message, expected):
    rig = Rig()
    rig.send(chat(10, 0, trace=os.urandom(16), status=2, extra=attrs, events=events, status_message=message))
    assert rig.labels("gen_ai_client_operation_duration_seconds_count", "error_type") == {expected}


def test_anthropic_sdk_stop_reason_is_the_finish_reason():
    rig = Rig()
    rig.send(chat(10, trace=os.urandom(16), extra={"gen_ai.provider.name": "anthropic",
                                                   "anthropic.message.stop_reason": "tool_use"}))
    assert rig.labels("llm_finish_reasons_total", "gen_ai_response_finish_reason") == {"tool_calls"}


def test_strands_finish_reason_from_the_gen_ai_choice_event():
    rig = Rig()
    out = rig.send(span({"gen_ai.operation.name": "chat", "gen_ai.system": "strands-agents",
                         "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 12,
                         "gen_ai.usage.output_tokens": 3}, name="chat",
                        events=[("gen_ai.choice", 0.9, {"finish_reason": "end_turn", "message": "[]"})]),
                   scope="strands.telemetry.tracer")
    assert out.calls[0].finish_reasons == ("stop",)


def test_litellm_legacy_callback_operation_provider_and_span_cost():
    rig = Rig()
    out = rig.send(span({"llm.request.type": "aembedding", "gen_ai.operation.name": "aembedding",
                         "gen_ai.system": "", "gen_ai.request.model": "text-embedding-3-small",
                         "litellm.provider.model": "openai/text-embedding-3-small",
                         "gen_ai.usage.input_tokens": 5, "gen_ai.cost.total_cost": 1e-07},
                        name="litellm_request"))
    [c] = out.calls
    assert (c.operation, c.provider, c.request_model) == ("embeddings", "openai", "text-embedding-3-small")
    assert rig.total("llm_cost_usd_total") == pytest.approx(1e-07)


@pytest.mark.parametrize("model,provider,expected", [
    ("openai/gpt-4o-mini", "openai", "gpt-4o-mini"),            # Google ADK on LiteLlm
    ("anthropic/claude-sonnet-4-5", "openai", "anthropic/claude-sonnet-4-5"),   # a route, not this provider
    ("meta-llama/Llama-3.1-8B", "vllm", "meta-llama/Llama-3.1-8B"),             # a model id with a slash
])
def test_a_route_prefix_equal_to_the_provider_is_stripped(model, provider, expected):
    rig = Rig()
    out = rig.send(chat(10, trace=os.urandom(16), extra={"gen_ai.operation.name": "generate_content",
                                                         "gen_ai.provider.name": provider,
                                                         "gen_ai.request.model": model}))
    assert out.calls[0].request_model == expected


def test_ttft_longer_than_its_span_is_bounded_and_counted():
    rig = Rig()
    out = rig.send(chat(10, trace=os.urandom(16), duration_s=0.152,
                        extra={"gen_ai.response.time_to_first_chunk": 0.166}))
    assert out.calls[0].ttft_s == pytest.approx(0.152)
    assert rig.total("llmpulse_values_clamped_total", field="ttft") == 1
    rig.send(chat(10, trace=os.urandom(16), duration_s=1.0, extra={"gen_ai.response.time_to_first_chunk": 0.3}))
    assert rig.total("llmpulse_values_clamped_total", field="ttft") == 1


def _failed(scope, start_ns, error="api_error", status=500, model="claude-sonnet-4-5"):
    return scope, span({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic",
                        "gen_ai.request.model": model, "error.type": error,
                        "http.response.status_code": status}, name="anthropic.chat", status=2,
                       start_ns=start_ns, duration_s=0.05, trace_id=os.urandom(16))


@pytest.mark.parametrize("reports,counted", [
    # anthropic 2.16's own span and OpenLLMetry's, each in its own trace, 0.84 ms apart: one failure
    ([("com.anthropic.sdk.python", 0), ("opentelemetry.instrumentation.anthropic", 840_000)], 1),
    # one instrumentation, two concurrent failures: two
    ([("opentelemetry.instrumentation.anthropic", 0), ("opentelemetry.instrumentation.anthropic", 100_000)], 2),
    # two scopes, 20 ms apart: two failures
    ([("com.anthropic.sdk.python", 0), ("opentelemetry.instrumentation.anthropic", 20_000_000)], 2),
    # a counted failure stands for one other report at most
    ([("a", 0), ("b", 500_000), ("b", 900_000)], 2),
])
def test_one_failure_reported_by_two_instrumentations_counts_once(reports, counted):
    rig = Rig()
    t0 = 1_796_000_000_000_000_000
    for scope, offset in reports:
        scope, sp = _failed(scope, t0 + offset)
        rig.send(sp, scope=scope)
    assert rig.calls() == counted
    assert rig.total("llmpulse_spans_skipped_total", reason="duplicate_failure") == len(reports) - counted


def test_failures_of_different_causes_are_not_merged():
    rig = Rig()
    t0 = 1_796_000_000_000_000_000
    for scope, (err, status) in (("a", ("api_error", 500)), ("b", ("rate_limit_error", 429))):
        scope, sp = _failed(scope, t0, err, status)
        rig.send(sp, scope=scope)
    assert rig.calls() == 2


# ---- 12. install, docs -----------------------------------------------------------------------------------

def test_bench_needs_nothing_beyond_the_plain_install():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(re.match(r"opentelemetry-sdk\b", d) for d in deps)


def test_the_scores_body_is_documented_with_an_example_that_is_accepted():
    doc = (ROOT / "docs" / "scores.md").read_text()
    examples = re.findall(r"```json\n(.*?)```", doc, flags=re.S)
    assert examples, "docs/scores.md shows a /v1/scores body"
    rig = Rig()
    for body in examples:
        out = rig.pipe.scores(body.encode())
        assert out.accepted >= 1 and out.rejected == 0, out.message


@pytest.mark.parametrize("sent", [
    b"POST /v1/traces HTTP/1.1\r\nHost: x\r\n",                                          # within the headers
    b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
    b"Content-Type: application/x-protobuf\r\n\r\nabc",                                   # within the body
])
def test_a_connection_reset_is_one_debug_line(caplog, sent):
    """issue 12 item 7: a client that resets its connection mid-request is logged once, at DEBUG."""
    import logging
    import socket
    import struct
    import time as _time

    from harness import make_exporter

    exp = make_exporter()
    try:
        caplog.set_level(logging.DEBUG)
        caplog.clear()
        sock = socket.create_connection(("127.0.0.1", exp.otlp_http_port), timeout=5)
        sock.sendall(sent)
        _time.sleep(0.2)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))     # close with RST
        sock.close()
        deadline = _time.time() + 5
        while _time.time() < deadline and not any("closed its connection" in r.getMessage() or
                                                   "went away" in r.getMessage() for r in caplog.records):
            _time.sleep(0.05)
    finally:
        exp.stop()
    mine = [r for r in caplog.records if "closed its connection" in r.getMessage() or "went away" in r.getMessage()]
    assert len(mine) == 1 and mine[0].levelno == logging.DEBUG and "\n" not in mine[0].getMessage()
    assert not mine[0].exc_info
    loud = [r for r in caplog.records if r.levelno > logging.INFO and r.name.startswith(("llmpulse", "uvicorn"))]
    assert not loud, [r.getMessage() for r in loud]


def test_stopping_the_exporter_decides_pending_aggregates_and_observes_open_traces():
    """A replica that stops counts what it was still waiting on (an agent with totals and no call
    below it, so far) instead of taking it along, before its metrics port closes."""
    import requests
    from harness import make_exporter

    exp = make_exporter()
    try:
        trace = os.urandom(16)
        agent = span({"gen_ai.operation.name": "invoke_agent", "gen_ai.provider.name": "openai",
                      "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 30,
                      "gen_ai.usage.output_tokens": 15}, name="invoke_agent a", trace_id=trace)
        r = requests.post(exp.otlp_http_url + "/v1/traces", data=traces_request([agent]).SerializeToString(),
                          headers={"Content-Type": otlp.PROTOBUF}, timeout=5)
        assert r.status_code == 200
        reg = exp.registry
        # a promoted aggregate is counted as the call it stands for
        tokens = {"service_name": "svc", "gen_ai_operation_name": "chat",
                  "gen_ai_provider_name": "openai", "gen_ai_request_model": "gpt-4o", "gen_ai_token_type": "input"}
        assert reg.get_sample_value("llmpulse_tracked_items", {"kind": "pending_aggregates"}) == 1
        assert (reg.get_sample_value("llm_tokens_total", tokens) or 0) == 0
        assert (reg.get_sample_value("llm_trace_operations_count", {"service_name": "svc"}) or 0) == 0
    finally:
        exp.stop(drain_seconds=0)
    assert reg.get_sample_value("llm_tokens_total", tokens) == 30
    assert reg.get_sample_value("llmpulse_aggregate_usage_total", {"outcome": "promoted"}) == 1
    assert reg.get_sample_value("llm_trace_operations_count", {"service_name": "svc"}) == 1


def test_an_error_type_of_unicode_digits_is_a_cause_not_a_crash():
    """error.type "²" passes str.isdigit() but not int(): it once raised out of the pipeline, so
    the request answered 500 and its valid spans were lost (found by tests/test_vocab.py)."""
    rig = Rig()
    trace = os.urandom(16)
    failed = chat(10, 0, trace=trace, status=2, extra={"error.type": "²"})
    ok = chat(20, 5, trace=os.urandom(16))
    out = rig.send(failed, ok)
    assert out.rejected == 0
    assert rig.calls() == 2 and rig.tokens() == 30
    assert rig.total("gen_ai_client_operation_duration_seconds_count", error_type="_OTHER") == 1


def test_a_successful_call_without_token_counts_is_unpriced_not_free():
    """A stream without stream_options.include_usage (the OpenAI SDK's default) reports no tokens: its cost is
    unknown, counted in llm_unpriced_operations_total (docs/metrics.md: unknown never looks like $0); before,
    it added a call and nothing else. A failed call without tokens is not billed and not counted there."""
    rig = Rig()
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
             "gen_ai.request.stream": True}
    rig.send(span(attrs, name="chat gpt-4o"))
    rig.send(span({**attrs, "error.type": "500"}, name="chat gpt-4o", status=2))
    assert rig.calls() == 2
    assert rig.total("llm_unpriced_operations_total") == 1
    assert rig.total("llm_cost_usd_total") == 0
