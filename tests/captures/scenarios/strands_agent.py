"""Strands Agents 1.62 with its OpenAIModel (chat completions, always streamed with usage), default telemetry.

Strands traces through the global tracer provider (set here, as StrandsTelemetry would) and sends its
metrics through the global meter provider. Retries off (retry_strategy=None, max_retries=0).
Parts: chat (an agent with no tools: one model call), stream (stream_async), error (500, 429),
agent (call -> tool -> call; its first call is the tool call). No embeddings: Strands has none.
"""

import asyncio
import os

from _common import (AGENT_INSTRUCTIONS, AGENT_PROMPT, CHAT_MODEL, CHAT_PROMPT, ERROR_429_PROMPT, ERROR_500_PROMPT,
                     OPENAI_BASE_URL, STREAM_PROMPT, SYSTEM, get_weather, part, sdk_meter_provider,
                     sdk_tracer_provider, shutdown, write_parts)
from strands import Agent, tool
from strands.models.openai import OpenAIModel
from strands.telemetry import StrandsTelemetry

tp, mp = sdk_tracer_provider(), sdk_meter_provider()
StrandsTelemetry(tracer_provider=tp)


def model() -> OpenAIModel:
    return OpenAIModel(client_args={"base_url": OPENAI_BASE_URL, "api_key": os.environ["OPENAI_API_KEY"],
                                    "max_retries": 0}, model_id=CHAT_MODEL)


def agent(name: str, prompt: str = SYSTEM, tools=()) -> Agent:
    return Agent(name=name, model=model(), system_prompt=prompt, tools=list(tools), callback_handler=None,
                 retry_strategy=None)


weather = tool(get_weather)


async def main() -> None:
    with part("chat"):
        agent("Assistant")(CHAT_PROMPT)
    with part("stream"):
        async for _ in agent("Streamer").stream_async(STREAM_PROMPT):
            pass
    with part("error", expect_error=True):
        agent("Assistant")(ERROR_500_PROMPT)
    with part("error", expect_error=True):
        agent("Assistant")(ERROR_429_PROMPT)
    with part("agent"):
        agent("WeatherAgent", AGENT_INSTRUCTIONS, [weather])(AGENT_PROMPT)


asyncio.run(main())
shutdown(tp, mp)
write_parts()
