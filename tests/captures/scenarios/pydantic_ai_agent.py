"""pydantic-ai's own OpenTelemetry instrumentation (InstrumentationSettings), agents on an OpenAI-compatible model."""

import asyncio

from _common import (AGENT_INSTRUCTIONS, AGENT_PROMPT, CHAT_MODEL, CHAT_PROMPT, ERROR_429_PROMPT, ERROR_500_PROMPT,
                     OPENAI_BASE_URL, STREAM_PROMPT, SYSTEM, get_weather, part, sdk_tracer_provider, shutdown,
                     write_parts)
from openai import AsyncOpenAI
from pydantic_ai import Agent
from pydantic_ai.models.instrumented import InstrumentationSettings
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

tp = sdk_tracer_provider()
settings = InstrumentationSettings(tracer_provider=tp, include_content=False)
model = OpenAIChatModel(CHAT_MODEL, provider=OpenAIProvider(openai_client=AsyncOpenAI(base_url=OPENAI_BASE_URL,
                                                                                      max_retries=0)))
Agent.instrument_all(settings)
chat = Agent(model, instructions=SYSTEM, name="chat")
weather = Agent(model, instructions=AGENT_INSTRUCTIONS, name="weather", tools=[get_weather])



async def scenario():
    with part("chat"):
        await chat.run(CHAT_PROMPT)
    with part("stream"):
        async with chat.run_stream(STREAM_PROMPT) as result:
            async for _ in result.stream_text():
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
