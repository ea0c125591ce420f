"""OpenAI Agents SDK 0.24 bridged to OTel by opentelemetry-instrumentation-openai-agents-v2 (Responses API).

The SDK's own trace exporter (to api.openai.com) is removed first; the OTel processor is the only one.
Parts: chat, stream, tool (stops after the tool ran: one model call), error (500, 429), agent (call -> tool -> call).
No embeddings: the Agents SDK has none.
"""

import asyncio

from _common import (AGENT_INSTRUCTIONS, AGENT_PROMPT, CHAT_MODEL, CHAT_PROMPT, ERROR_429_PROMPT, ERROR_500_PROMPT,
                     STREAM_PROMPT, SYSTEM, TOOL_PROMPT, get_weather, part, sdk_tracer_provider, shutdown, write_parts)
from agents import Agent, Runner, function_tool, set_default_openai_client, set_trace_processors
from openai import AsyncOpenAI
from opentelemetry.instrumentation.openai_agents import OpenAIAgentsInstrumentor

tp = sdk_tracer_provider()
set_trace_processors([])                      # no export to the OpenAI platform
OpenAIAgentsInstrumentor().instrument(tracer_provider=tp)
set_default_openai_client(AsyncOpenAI(max_retries=0), use_for_tracing=False)

weather = function_tool(get_weather)


async def main() -> None:
    plain = Agent(name="Assistant", instructions=SYSTEM, model=CHAT_MODEL)
    with part("chat"):
        await Runner.run(plain, CHAT_PROMPT)
    with part("stream"):
        result = Runner.run_streamed(plain, STREAM_PROMPT)
        async for _ in result.stream_events():
            pass
    with part("tool"):
        await Runner.run(Agent(name="ToolCaller", instructions=SYSTEM, model=CHAT_MODEL, tools=[weather],
                               tool_use_behavior="stop_on_first_tool"), TOOL_PROMPT)
    with part("error", expect_error=True):
        await Runner.run(plain, ERROR_500_PROMPT)
    with part("error", expect_error=True):
        await Runner.run(plain, ERROR_429_PROMPT)
    with part("agent"):
        await Runner.run(Agent(name="WeatherAgent", instructions=AGENT_INSTRUCTIONS, model=CHAT_MODEL,
                               tools=[weather]), AGENT_PROMPT)


asyncio.run(main())
shutdown(tp)
write_parts()
