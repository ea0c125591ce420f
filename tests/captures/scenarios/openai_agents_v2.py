"""OpenAI Agents SDK 0.24 with the OTel contrib opentelemetry-instrumentation-openai-agents-v2 (Responses API)."""

import asyncio

import agents
from _common import (AGENT_INSTRUCTIONS, AGENT_PROMPT, CHAT_MODEL, CHAT_PROMPT, ERROR_500_PROMPT, STREAM_PROMPT,
                     SYSTEM, get_weather, part, sdk_tracer_provider, shutdown, write_parts)
from openai import AsyncOpenAI
from opentelemetry.instrumentation.openai_agents import OpenAIAgentsInstrumentor

tp = sdk_tracer_provider()
agents.set_trace_processors([])          # no export to OpenAI's own trace backend
OpenAIAgentsInstrumentor().instrument(tracer_provider=tp)
agents.set_default_openai_client(AsyncOpenAI(max_retries=0))

chat = agents.Agent(name="chat", instructions=SYSTEM, model=CHAT_MODEL)
weather = agents.Agent(name="weather", instructions=AGENT_INSTRUCTIONS, model=CHAT_MODEL,
                       tools=[agents.function_tool(get_weather)])



async def scenario():
    with part("chat"):
        await agents.Runner.run(chat, CHAT_PROMPT)
    with part("stream"):
        result = agents.Runner.run_streamed(chat, STREAM_PROMPT)
        async for _ in result.stream_events():
            pass
    with part("agent"):
        await agents.Runner.run(weather, AGENT_PROMPT)
    with part("error", expect_error=True):
        await agents.Runner.run(chat, ERROR_500_PROMPT)

asyncio.run(scenario())
shutdown(tp)
write_parts()
