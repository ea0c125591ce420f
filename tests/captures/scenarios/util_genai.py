"""opentelemetry-util-genai 1.3b0's TelemetryHandler, driven by hand around the openai client (as an
instrumentation built on it does): inference, streamed inference, embeddings, errors, and a local agent
(invoke_agent) with two inferences and a tool."""

import json

import openai
from _common import (AGENT_INSTRUCTIONS, AGENT_PROMPT, CHAT_MODEL, CHAT_PROMPT, EMBED_INPUTS, EMBED_MODEL,
                     ERROR_429_PROMPT, ERROR_500_PROMPT, OPENAI_TOOL, STREAM_PROMPT, SYSTEM, TOOL_PROMPT, get_weather,
                     part, sdk_tracer_provider, shutdown, write_parts)
from opentelemetry.util.genai.handler import TelemetryHandler

FINISH = {"tool_calls": "tool_call"}          # the OTel enum value, as util-genai users map it
tp = sdk_tracer_provider()
handler = TelemetryHandler(tracer_provider=tp, instrumentation_scope_name="capture.util_genai")
client = openai.OpenAI(max_retries=0)


def chat(messages, tools=None, stream=False):
    with handler.inference("openai", request_model=CHAT_MODEL) as inv:
        kw = {"tools": tools} if tools else {}
        if stream:
            inv.request_stream = True
            resp, usage, finish = None, None, None
            for chunk in client.chat.completions.create(model=CHAT_MODEL, messages=messages, stream=True,
                                                        stream_options={"include_usage": True}, **kw):
                usage = chunk.usage or usage
                if chunk.choices and chunk.choices[0].finish_reason:
                    finish = chunk.choices[0].finish_reason
                inv.response_id, inv.response_model_name = chunk.id, chunk.model
        else:
            resp = client.chat.completions.create(model=CHAT_MODEL, messages=messages, **kw)
            usage, finish = resp.usage, resp.choices[0].finish_reason
            inv.response_id, inv.response_model_name = resp.id, resp.model
        inv.input_tokens, inv.output_tokens = usage.prompt_tokens, usage.completion_tokens
        if usage.prompt_tokens_details and usage.prompt_tokens_details.cached_tokens:
            inv.cache_read_input_tokens = usage.prompt_tokens_details.cached_tokens
        inv.finish_reasons = [FINISH.get(finish, finish)]
        return resp


with part("chat"):
    chat([{"role": "system", "content": SYSTEM}, {"role": "user", "content": CHAT_PROMPT}])
with part("stream"):
    chat([{"role": "user", "content": STREAM_PROMPT}], stream=True)
with part("tool"):
    chat([{"role": "user", "content": TOOL_PROMPT}], tools=[OPENAI_TOOL])
with part("embeddings"):
    with handler.embedding("openai", request_model=EMBED_MODEL) as inv:
        r = client.embeddings.create(model=EMBED_MODEL, input=EMBED_INPUTS)
        inv.input_tokens = r.usage.prompt_tokens
with part("error", expect_error=True):
    chat([{"role": "user", "content": ERROR_500_PROMPT}])
with part("error", expect_error=True):
    chat([{"role": "user", "content": ERROR_429_PROMPT}])
with part("agent"):
    with handler.invoke_local_agent(agent_name="weather", request_model=CHAT_MODEL):
        messages = [{"role": "system", "content": AGENT_INSTRUCTIONS}, {"role": "user", "content": AGENT_PROMPT}]
        first = chat(messages, tools=[OPENAI_TOOL])
        call = first.choices[0].message.tool_calls[0]
        messages.append(first.choices[0].message.model_dump(exclude_none=True))
        with handler.tool("get_weather"):
            result = get_weather(**json.loads(call.function.arguments))
        messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
        chat(messages, tools=[OPENAI_TOOL])
shutdown(tp)
write_parts()
