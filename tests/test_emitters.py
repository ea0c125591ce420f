"""Each emitter's trace shape, written after its source (docs/dialects.md, "Emitters"), through the pipeline:
the sum of llm_tokens_total over every label value is what the provider billed, calls are counted once,
and what each emitter says is read."""

from __future__ import annotations

import os

import pytest

from otlpdata import span
from test_fidelity import Rig


class Trace:
    """Spans of one trace, built child first as exporters send them."""

    def __init__(self):
        self.id = os.urandom(16)
        self.spans = []
        self.t0 = None

    def add(self, attrs, name, parent=b"", span_id=None, start=0.0, duration=1.0, **kw):
        sid = span_id or os.urandom(8)
        sp = span(attrs, name=name, trace_id=self.id, span_id=sid, parent=parent, duration_s=duration, **kw)
        if self.t0 is None:
            self.t0 = sp.start_time_unix_nano - int(start * 1e9)
        sp.start_time_unix_nano = self.t0 + int(start * 1e9)
        sp.end_time_unix_nano = sp.start_time_unix_nano + int(duration * 1e9)
        self.spans.append(sp)
        return sid


def billed(rig):
    return rig.tokens("input"), rig.tokens("output")


def test_vercel_ai_sdk_6_generate_text_with_a_tool_step():
    rig, t = Rig(), Trace()
    outer = os.urandom(8)
    for i, (tin, tout, reason) in enumerate(((100, 20, "tool-calls"), (150, 30, "stop"))):
        t.add({"ai.operationId": "ai.generateText.doGenerate", "operation.name": "ai.generateText.doGenerate",
               "gen_ai.system": "openai.chat", "gen_ai.request.model": "gpt-4o-mini",
               "gen_ai.response.model": "gpt-4o-mini-2024-07-18", "gen_ai.response.id": f"chatcmpl-{i}",
               "gen_ai.usage.input_tokens": tin, "gen_ai.usage.output_tokens": tout,
               "ai.usage.promptTokens": tin, "ai.usage.completionTokens": tout,
               "gen_ai.response.finish_reasons": [reason], "ai.response.finishReason": reason},
              "ai.generateText.doGenerate", parent=outer, start=0.1 + i, duration=0.8)
    t.add({"ai.operationId": "ai.toolCall", "ai.toolCall.name": "weather", "ai.toolCall.id": "call_1"},
          "ai.toolCall", parent=outer, start=0.95, duration=0.04)
    t.add({"ai.operationId": "ai.generateText", "operation.name": "ai.generateText support",
           "ai.telemetry.functionId": "support", "ai.model.provider": "openai.chat", "ai.model.id": "gpt-4o-mini",
           "ai.usage.promptTokens": 250, "ai.usage.completionTokens": 50, "ai.response.finishReason": "stop"},
          "ai.generateText", span_id=outer, duration=2.0)
    out = rig.send(*t.spans, resource={"service.name": "next-app"})
    assert billed(rig) == (250, 50) and rig.calls() == 2
    assert {c.dialect for c in out.calls} == {"vercel_ai"}
    assert rig.labels("llm_tokens_total", "gen_ai_provider_name") == {"openai"}
    assert rig.total("llm_finish_reasons_total", gen_ai_response_finish_reason="tool_calls") == 1
    assert rig.total("llm_tool_calls_total", gen_ai_tool_name="weather") == 1
    assert rig.total("gen_ai_client_operation_duration_seconds_count", gen_ai_operation_name="invoke_agent") == 1
    assert rig.total("llm_unpriced_operations_total") == 0


def test_vercel_ai_sdk_stream_ttft_in_milliseconds():
    rig, t = Rig(), Trace()
    t.add({"ai.operationId": "ai.streamText.doStream", "gen_ai.system": "anthropic.messages",
           "gen_ai.request.model": "claude-sonnet-4-5", "gen_ai.usage.input_tokens": 10,
           "gen_ai.usage.output_tokens": 40, "ai.response.msToFirstChunk": 412.5,
           "ai.response.finishReason": "stop"}, "ai.streamText.doStream", duration=2.0)
    out = rig.send(*t.spans)
    [c] = out.calls
    assert (c.operation, c.provider, c.ttft_s, c.streaming) == ("chat", "anthropic", pytest.approx(0.4125), True)


def test_ai_sdk_otel_v7_root_agent_steps_and_chats():
    rig, t = Rig(), Trace()
    root, step = os.urandom(8), os.urandom(8)
    t.add({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
           "gen_ai.usage.input_tokens": 30, "gen_ai.usage.output_tokens": 3,
           "gen_ai.response.finish_reasons": ["tool-calls"], "gen_ai.client.operation.time_to_first_chunk": 0.2},
          "chat gpt-4o", parent=step, start=0.1)
    t.add({"gen_ai.operation.name": "agent_step", "gen_ai.usage.input_tokens": 30}, "agent_step", span_id=step,
          parent=root)
    t.add({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup"}, "execute_tool lookup",
          parent=root, start=1.2, duration=0.1)
    t.add({"gen_ai.operation.name": "invoke_agent", "gen_ai.provider.name": "openai",
           "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 30, "gen_ai.usage.output_tokens": 3,
           "gen_ai.usage.cache_read.input_tokens": 0}, "invoke_agent", span_id=root, duration=2.0)
    rig.send(*t.spans)
    assert billed(rig) == (30, 3) and rig.calls() == 1
    assert rig.total("llm_finish_reasons_total", gen_ai_response_finish_reason="tool_calls") == 1
    assert "agent_step" not in rig.labels("gen_ai_client_operation_duration_seconds_count", "gen_ai_operation_name")


def test_pydantic_ai_agent_run():
    rig, t = Rig(), Trace()
    agent = os.urandom(8)
    for i, (tin, tout, reason) in enumerate(((60, 12, "tool_call"), (90, 25, "stop"))):
        t.add({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.system": "openai",
               "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": tin,
               "gen_ai.usage.output_tokens": tout, "gen_ai.response.finish_reasons": [reason],
               "operation.cost": (tin * 2.5 + tout * 10) / 1e6,
               "gen_ai.client.operation.time_to_first_chunk": 0.15}, "chat gpt-4o", parent=agent, start=i)
    t.add({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"}, "execute_tool search",
          parent=agent, start=1.0, duration=0.1)
    t.add({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support", "gen_ai.system": "openai",
           "gen_ai.aggregated_usage.input_tokens": 150, "gen_ai.aggregated_usage.output_tokens": 37},
          "invoke_agent support", span_id=agent, duration=3.0)
    rig.send(*t.spans)
    assert billed(rig) == (150, 37) and rig.calls() == 2
    assert rig.total("llm_cost_usd_total") == pytest.approx((150 * 2.5 + 37 * 10) / 1e6)
    assert rig.total("llm_finish_reasons_total", gen_ai_response_finish_reason="tool_calls") == 1
    assert rig.total("gen_ai_client_operation_time_to_first_chunk_seconds_count") == 2
    assert rig.total("llmpulse_aggregate_usage_total") == 0          # aggregated_usage is not read at all


def test_litellm_legacy_callback_call_types_and_cost():
    rig = Rig()
    rig.send(span({"llm.request.type": "aembedding", "gen_ai.system": "openai",
                   "gen_ai.request.model": "text-embedding-3-small", "gen_ai.usage.input_tokens": 8},
                  name="litellm_request"),
             span({"llm.request.type": "completion", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o",
                   "gen_ai.usage.input_tokens": 5, "gen_ai.usage.output_tokens": 5, "litellm.cost.total": 0.001},
                  name="litellm_request"))
    assert rig.labels("llm_tokens_total", "gen_ai_operation_name") == {"embeddings", "chat"}
    assert rig.total("llm_cost_usd_total", gen_ai_operation_name="chat") == pytest.approx(0.001)


def test_google_adk_call_llm_around_google_genai_generate_content():
    rig, t = Rig(), Trace()
    call_llm = os.urandom(8)
    t.add({"gen_ai.operation.name": "generate_content", "gen_ai.provider.name": "gcp.gemini",
           "gen_ai.request.model": "gemini-2.5-flash", "gen_ai.usage.input_tokens": 40,
           "gen_ai.usage.output_tokens": 8, "gen_ai.response.finish_reasons": ["STOP"]},
          "generate_content gemini-2.5-flash", parent=call_llm, start=0.01)
    t.add({"gen_ai.system": "gcp.vertex.agent", "gen_ai.request.model": "gemini-2.5-flash",
           "gen_ai.usage.input_tokens": 40, "gen_ai.usage.output_tokens": 8,
           "gen_ai.response.finish_reasons": ["stop"]}, "call_llm", span_id=call_llm)
    rig.send(*t.spans)
    assert billed(rig) == (40, 8) and rig.calls() == 1
    assert rig.total("llmpulse_spans_skipped_total", reason="nested_call") == 1
    # call_llm alone (no google-genai instrumentation): a gemini call, not provider gcp.vertex.agent
    rig = Rig()
    rig.send(span({"gen_ai.system": "gcp.vertex.agent", "gen_ai.request.model": "gemini-2.5-flash",
                   "gen_ai.usage.input_tokens": 40}, name="call_llm"))
    assert rig.labels("llm_tokens_total", "gen_ai_provider_name") == {"gcp.gemini"}


@pytest.mark.parametrize("finish_attr", ["gen_ai.response.finish_reasons", "gen_ai.response.finish_reason"])
def test_agent_framework_and_semantic_kernel(finish_attr):
    rig, t = Rig(), Trace()
    agent = os.urandom(8)
    t.add({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "azure.ai.openai",
           "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 70, "gen_ai.usage.output_tokens": 9,
           finish_attr: "tool_call"}, "chat gpt-4o", parent=agent)
    t.add({"gen_ai.operation.name": "invoke_agent", "gen_ai.provider.name": "microsoft.agent_framework",
           "gen_ai.agent.name": "writer", "gen_ai.usage.input_tokens": 70, "gen_ai.usage.output_tokens": 9},
          "invoke_agent writer", span_id=agent, duration=2.0)
    rig.send(*t.spans)
    assert billed(rig) == (70, 9)
    assert rig.total("llm_finish_reasons_total", gen_ai_response_finish_reason="tool_calls") == 1


def test_spring_ai_chat_client_is_plumbing_around_the_chat_model():
    rig, t = Rig(), Trace()
    client = os.urandom(8)
    t.add({"gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o",
           "gen_ai.usage.input_tokens": 11, "gen_ai.usage.output_tokens": 2}, "chat gpt-4o", parent=client)
    t.add({"gen_ai.operation.name": "framework", "gen_ai.system": "spring_ai", "spring.ai.kind": "chat_client"},
          "spring_ai chat_client", span_id=client)
    rig.send(*t.spans)
    assert billed(rig) == (11, 2)
    assert rig.labels("gen_ai_client_operation_duration_seconds_count", "gen_ai_operation_name") == {"chat"}


def test_openllmetry_langgraph_workflow_tasks_and_nested_chat():
    rig, t = Rig(), Trace()
    wf, task, lc = os.urandom(8), os.urandom(8), os.urandom(8)
    t.add({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
           "gen_ai.usage.input_tokens": 20, "gen_ai.usage.output_tokens": 4, "gen_ai.response.id": "chatcmpl-x",
           "gen_ai.response.finish_reasons": ["stop"]}, "openai.chat", parent=lc)
    t.add({"traceloop.span.kind": "task", "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
           "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 20, "gen_ai.usage.output_tokens": 4},
          "ChatOpenAI.chat", span_id=lc, parent=task)
    t.add({"traceloop.span.kind": "task", "gen_ai.operation.name": "execute_task",
           "traceloop.entity.name": "agent_node"}, "agent_node.task", span_id=task, parent=wf)
    t.add({"traceloop.span.kind": "workflow", "traceloop.entity.name": "LangGraph"}, "LangGraph.workflow",
          span_id=wf, duration=2.0)
    rig.send(*t.spans)
    assert billed(rig) == (20, 4) and rig.calls() == 1
    ops = rig.labels("gen_ai_client_operation_duration_seconds_count", "gen_ai_operation_name")
    assert ops == {"chat", "invoke_workflow"}


def test_openai_agents_with_openllmetry_in_two_requests():
    """The Agents SDK's spans are exported by its own processor after OpenLLMetry's openai span."""
    rig, t = Rig(), Trace()
    agent, gen = os.urandom(8), os.urandom(8)
    t.add({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
           "gen_ai.usage.input_tokens": 33, "gen_ai.usage.output_tokens": 7}, "openai.chat", parent=gen)
    rig.send(*t.spans)
    t.spans.clear()
    t.add({"gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o",
           "gen_ai.usage.input_tokens": 33, "gen_ai.usage.output_tokens": 7}, "response", span_id=gen, parent=agent)
    t.add({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "Assistant"}, "Assistant.agent",
          span_id=agent)
    rig.send(*t.spans)
    assert billed(rig) == (33, 7) and rig.calls() == 1


def test_newest_otel_operations_and_providers():
    rig, t = Rig(), Trace()
    turn, plan = os.urandom(8), os.urandom(8)
    t.add({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "moonshot", "gen_ai.request.model": "kimi-k2",
           "gen_ai.usage.input_tokens": 9, "gen_ai.usage.output_tokens": 1,
           "gen_ai.response.finish_reasons": ["compaction"]}, "chat kimi-k2", parent=plan)
    t.add({"gen_ai.operation.name": "plan", "gen_ai.provider.name": "moonshot_ai"}, "plan", span_id=plan,
          parent=turn)
    t.add({"gen_ai.operation.name": "fetch_response", "gen_ai.provider.name": "openai",
           "gen_ai.response.finish_reasons": ["stop"]}, "fetch_response", parent=turn)
    t.add({"gen_ai.operation.name": "handle_conversation_turn", "gen_ai.usage.input_tokens": 9,
           "gen_ai.usage.output_tokens": 1}, "handle_conversation_turn", span_id=turn, duration=3.0)
    rig.send(*t.spans)
    assert billed(rig) == (9, 1)
    assert rig.labels("llm_tokens_total", "gen_ai_provider_name") == {"moonshot_ai"}
    assert rig.labels("llm_finish_reasons_total", "gen_ai_response_finish_reason") == {"compaction"}
    assert rig.labels("gen_ai_client_operation_duration_seconds_count", "gen_ai_operation_name") == \
        {"chat", "plan", "fetch_response", "handle_conversation_turn"}


def test_openinference_every_span_kind():
    rig, t = Rig(), Trace()
    chain, agent, judge = os.urandom(8), os.urandom(8), os.urandom(8)
    t.add({"openinference.span.kind": "EMBEDDING", "embedding.model_name": "text-embedding-3-small",
           "llm.token_count.prompt": 12, "llm.token_count.total": 12}, "embed", parent=agent)
    t.add({"openinference.span.kind": "RETRIEVER"}, "retrieve", parent=agent)
    t.add({"openinference.span.kind": "RERANKER", "reranker.model_name": "rerank-v3"}, "rerank", parent=agent)
    t.add({"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o", "llm.provider": "openai",
           "llm.token_count.prompt": 100, "llm.token_count.completion": 10, "llm.finish_reason": "stop"},
          "ChatOpenAI", parent=agent)
    t.add({"openinference.span.kind": "TOOL", "tool.name": "calculator"}, "calculator", parent=agent)
    t.add({"openinference.span.kind": "GUARDRAIL"}, "guard", parent=agent)
    t.add({"openinference.span.kind": "CHAIN"}, "inner chain", parent=agent)
    t.add({"openinference.span.kind": "AGENT", "agent.name": "researcher", "llm.token_count.prompt": 112,
           "llm.token_count.completion": 10}, "researcher", span_id=agent, parent=chain)
    t.add({"openinference.span.kind": "CHAIN", "llm.token_count.prompt": 112, "llm.token_count.completion": 10},
          "Crew", span_id=chain, duration=3.0)
    t.add({"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini", "llm.provider": "openai",
           "llm.token_count.prompt": 30, "llm.token_count.completion": 2}, "judge llm", parent=judge)
    t.add({"openinference.span.kind": "EVALUATOR", "output.value": '{"label": "correct", "score": 1.0}',
           "metadata": '{"evaluator_name": "correctness"}'}, "evaluate", span_id=judge, parent=chain)
    rig.send(*t.spans)
    assert billed(rig) == (142, 12) and rig.calls() == 3
    assert rig.total("llm_eval_score_count", gen_ai_evaluation_name="correctness") == 1
    assert rig.total("llmpulse_scores_received_total", source="otlp_spans") == 1
    assert rig.total("llmpulse_aggregate_usage_total", outcome="covered") == 2
    ops = rig.labels("gen_ai_client_operation_duration_seconds_count", "gen_ai_operation_name")
    assert ops == {"chat", "embeddings", "retrieval", "execute_tool", "invoke_agent", "invoke_workflow"}


def test_strands_agent_with_cycles():
    rig, t = Rig(), Trace()
    agent, cycle = os.urandom(8), os.urandom(8)
    base = {"gen_ai.provider.name": "strands-agents", "gen_ai.system": "strands-agents"}
    t.add({**base, "gen_ai.operation.name": "chat", "gen_ai.request.model": "us.anthropic.claude-sonnet-4-20250514-v1:0",
           "gen_ai.usage.input_tokens": 200, "gen_ai.usage.prompt_tokens": 200, "gen_ai.usage.output_tokens": 20,
           "gen_ai.usage.completion_tokens": 20, "gen_ai.usage.total_tokens": 220,
           "gen_ai.server.time_to_first_token": 800}, "chat", parent=cycle, duration=2.0)
    t.add({**base, "gen_ai.operation.name": "execute_event_loop_cycle"}, "execute_event_loop_cycle",
          span_id=cycle, parent=agent)
    t.add({**base, "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "Strands Agents",
           "gen_ai.request.model": "us.anthropic.claude-sonnet-4-20250514-v1:0", "gen_ai.usage.input_tokens": 200,
           "gen_ai.usage.output_tokens": 20}, "invoke_agent Strands Agents", span_id=agent, duration=3.0)
    rig.send(*t.spans, scope="strands.telemetry.tracer")
    assert billed(rig) == (200, 20)
    assert rig.labels("llm_tokens_total", "gen_ai_provider_name") == {"aws.bedrock"}
    assert rig.total("gen_ai_client_operation_time_to_first_chunk_seconds_sum") == pytest.approx(0.8)
    assert rig.total("llmpulse_spans_received_total", dialect="strands") == 2


def test_vllm_server_span():
    rig = Rig()
    rig.send(span({"gen_ai.request.model": "meta-llama/Llama-3.1-8B-Instruct", "gen_ai.usage.prompt_tokens": 50,
                   "gen_ai.usage.completion_tokens": 60, "gen_ai.latency.time_to_first_token": 0.09,
                   "gen_ai.latency.e2e": 1.2, "gen_ai.request.id": "chatcmpl-1"}, name="llm_request"))
    assert billed(rig) == (50, 60) and rig.labels("llm_tokens_total", "gen_ai_provider_name") == {"vllm"}
