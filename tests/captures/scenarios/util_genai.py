"""OTel opentelemetry-util-genai 1.3b0's TelemetryHandler, used as an instrumentation uses it, around the real
openai client (no PyPI instrumentation runs on 1.3b0: openai-v2 2.4b0 imports a module 1.3b0 no longer has).

Every figure on the spans comes from the client's real responses. Finish reasons are given in util-genai's
FinishReason vocabulary (tool_calls -> tool_call), as its types ask. The agent is invoke_local_agent around
a loop whose two inference invocations and one tool invocation are its children; the agent invocation is given
the run's usage (the sum of its calls') and last finish reason through its own input_tokens/output_tokens/
finish_reasons setters, as agent frameworks report a run (util-genai does not sum children by itself).

Parts: chat, stream (TTFC measured), tool, embeddings, error (500, 429), reasoning, agent.
"""

import json
import time
from urllib.parse import urlparse

import openai
from _common import (AGENT_INSTRUCTIONS, AGENT_PROMPT, CHAT_MODEL, CHAT_PROMPT, EMBED_INPUTS, EMBED_MODEL,
                     ERROR_429_PROMPT, ERROR_500_PROMPT, OPENAI_BASE_URL, OPENAI_TOOL, REASONING_MODEL,
                     REASONING_PROMPT, STREAM_PROMPT, SYSTEM, TOOL_PROMPT, get_weather, part, sdk_logger_provider,
                     sdk_meter_provider, sdk_tracer_provider, shutdown, write_parts)
from opentelemetry.util.genai.handler import TelemetryHandler

tp, lp, mp = sdk_tracer_provider(), sdk_logger_provider(), sdk_meter_provider()
handler = TelemetryHandler(tracer_provider=tp, meter_provider=mp, logger_provider=lp,
                           instrumentation_scope_name="capture.openai_util_genai", instrumentation_scope_version="1.0")
client = openai.OpenAI(max_retries=0)
HOST, PORT = urlparse(OPENAI_BASE_URL).hostname, urlparse(OPENAI_BASE_URL).port
FINISH = {"tool_calls": "tool_call", "function_call": "tool_call"}


def _usage(inv, usage) -> None:
    inv.input_tokens, inv.output_tokens = usage.prompt_tokens, usage.completion_tokens
    if usage.prompt_tokens_details is not None:
        inv.cache_read_input_tokens = usage.prompt_tokens_details.cached_tokens
    if usage.completion_tokens_details is not None:
        inv.thinking_tokens = usage.completion_tokens_details.reasoning_tokens


def chat(**kw):
    stream = bool(kw.get("stream"))
    with handler.inference("openai", request_model=kw["model"], server_address=HOST, server_port=PORT) as inv:
        inv.request_stream = stream
        if not stream:
            r = client.chat.completions.create(**kw)
            inv.response_id, inv.response_model_name = r.id, r.model
            inv.finish_reasons = [FINISH.get(c.finish_reason, c.finish_reason) for c in r.choices]
            _usage(inv, r.usage)
            return r
        started, finish = time.monotonic(), []
        for chunk in client.chat.completions.create(**kw):
            if inv.ttfc_seconds is None:
                inv.ttfc_seconds = time.monotonic() - started
            inv.response_id, inv.response_model_name = chunk.id, chunk.model
            finish += [FINISH.get(c.finish_reason, c.finish_reason) for c in chunk.choices if c.finish_reason]
            if chunk.usage is not None:
                _usage(inv, chunk.usage)
        inv.finish_reasons = finish
        return None


def user(text):
    return [{"role": "user", "content": text}]


with part("chat"):
    chat(model=CHAT_MODEL, messages=[{"role": "system", "content": SYSTEM}, *user(CHAT_PROMPT)])
with part("stream"):
    chat(model=CHAT_MODEL, stream=True, stream_options={"include_usage": True}, messages=user(STREAM_PROMPT))
with part("tool"):
    chat(model=CHAT_MODEL, tools=[OPENAI_TOOL], messages=user(TOOL_PROMPT))
with part("embeddings"):
    with handler.embedding("openai", request_model=EMBED_MODEL, server_address=HOST, server_port=PORT) as emb:
        r = client.embeddings.create(model=EMBED_MODEL, input=EMBED_INPUTS)
        emb.response_model_name, emb.input_tokens = r.model, r.usage.prompt_tokens
with part("error", expect_error=True):
    chat(model=CHAT_MODEL, messages=user(ERROR_500_PROMPT))
with part("error", expect_error=True):
    chat(model=CHAT_MODEL, messages=user(ERROR_429_PROMPT))
with part("reasoning"):
    chat(model=REASONING_MODEL, messages=user(REASONING_PROMPT))
with part("agent"):
    with handler.invoke_local_agent(request_model=CHAT_MODEL, agent_name="WeatherAgent") as agent:
        messages = [{"role": "system", "content": AGENT_INSTRUCTIONS}, *user(AGENT_PROMPT)]
        first = chat(model=CHAT_MODEL, tools=[OPENAI_TOOL], messages=messages)
        call = first.choices[0].message.tool_calls[0]
        with handler.tool("get_weather", tool_type="function", agent_name="WeatherAgent") as t:
            t.tool_call_id = call.id
            result = get_weather(**json.loads(call.function.arguments))
        messages.append(first.choices[0].message.model_dump(exclude_none=True))
        messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
        second = chat(model=CHAT_MODEL, tools=[OPENAI_TOOL], messages=messages)
        agent.input_tokens = first.usage.prompt_tokens + second.usage.prompt_tokens
        agent.output_tokens = first.usage.completion_tokens + second.usage.completion_tokens
        agent.finish_reasons = [FINISH.get(c.finish_reason, c.finish_reason) for c in second.choices]

shutdown(tp, lp, mp)
write_parts()
