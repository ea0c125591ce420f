"""Microsoft Agent Framework 1.23 (its built-in OTel instrumentation) with the OpenAI chat-completions client."""

import asyncio

from _common import (AGENT_INSTRUCTIONS, AGENT_PROMPT, CHAT_MODEL, CHAT_PROMPT, ERROR_429_PROMPT, ERROR_500_PROMPT,
                     STREAM_PROMPT, SYSTEM, get_weather, part, sdk_tracer_provider, shutdown, write_parts)
from agent_framework import Agent
from agent_framework.observability import enable_instrumentation
from agent_framework_openai import OpenAIChatCompletionClient
from openai import AsyncOpenAI

tp = sdk_tracer_provider()
enable_instrumentation(enable_sensitive_data=False, force=True)
client = OpenAIChatCompletionClient(model=CHAT_MODEL, async_client=AsyncOpenAI(max_retries=0))
chat = Agent(client=client, instructions=SYSTEM, name="chat")
weather = Agent(client=client, instructions=AGENT_INSTRUCTIONS, name="weather", tools=[get_weather])


async def scenario():
    with part("chat"):
        await chat.run(CHAT_PROMPT)
    with part("stream"):
        async for _ in chat.run(STREAM_PROMPT, stream=True):
            pass
    with part("agent"):
        await weather.run(AGENT_PROMPT)
    with part("error", expect_error=True):
        await chat.run(ERROR_500_PROMPT)
    with part("error", expect_error=True):
        await chat.run(ERROR_429_PROMPT)

asyncio.run(scenario())
shutdown(tp)
write_parts()
