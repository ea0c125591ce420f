"""Microsoft Agent Framework 1.23 (agent-framework-core + agent-framework-openai), chat completions client,
providers from configure_otel_providers() (OTLP from the OTEL_* environment: traces, metrics, logs).

Parts: chat, stream, tool (the chat client's get_response; offered get_weather, its function-invocation layer
runs the tool and calls the model again), embeddings (OpenAIEmbeddingClient), error (500, 429),
agent (Agent.run: call -> tool -> call). Client retries off (an AsyncOpenAI with max_retries=0).
"""

import asyncio

from _common import (AGENT_INSTRUCTIONS, AGENT_PROMPT, CHAT_MODEL, CHAT_PROMPT, EMBED_INPUTS, EMBED_MODEL,
                     ERROR_429_PROMPT, ERROR_500_PROMPT, STREAM_PROMPT, SYSTEM, TOOL_PROMPT, get_weather, part,
                     write_parts)
from agent_framework import Agent, Message, tool
from agent_framework.observability import configure_otel_providers
from agent_framework.openai import OpenAIChatCompletionClient, OpenAIEmbeddingClient
from openai import AsyncOpenAI
from opentelemetry import metrics, trace
from opentelemetry._logs import get_logger_provider

configure_otel_providers()
oai = AsyncOpenAI(max_retries=0)
weather = tool(get_weather)


def client() -> OpenAIChatCompletionClient:
    return OpenAIChatCompletionClient(model=CHAT_MODEL, async_client=oai)


async def main() -> None:
    chat = client()
    system = Message(role="system", contents=[SYSTEM])
    with part("chat"):
        await chat.get_response([system, Message(role="user", contents=[CHAT_PROMPT])])
    with part("stream"):
        async for _ in chat.get_response([Message(role="user", contents=[STREAM_PROMPT])], stream=True):
            pass
    with part("tool"):
        await chat.get_response([Message(role="user", contents=[TOOL_PROMPT])],
                                options={"tools": [weather], "tool_choice": "required",
                                         "allow_multiple_tool_calls": False},
                                function_invocation_kwargs=None)
    with part("embeddings"):
        await OpenAIEmbeddingClient(model=EMBED_MODEL, async_client=oai).get_embeddings(EMBED_INPUTS)
    with part("error", expect_error=True):
        await chat.get_response([Message(role="user", contents=[ERROR_500_PROMPT])])
    with part("error", expect_error=True):
        await chat.get_response([Message(role="user", contents=[ERROR_429_PROMPT])])
    with part("agent"):
        await Agent(client(), AGENT_INSTRUCTIONS, name="WeatherAgent", tools=[weather]).run(AGENT_PROMPT)


asyncio.run(main())
for p in (trace.get_tracer_provider(), metrics.get_meter_provider(), get_logger_provider()):
    for f in ("force_flush", "shutdown"):
        try:
            getattr(p, f)()
        except Exception:       # noqa: BLE001
            pass
write_parts()
