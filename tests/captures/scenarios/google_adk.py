"""Google ADK 2.13 (default telemetry schema 2, otel_semconv_1_44) with an LlmAgent on LiteLlm("openai/...")
pointed at the fake OpenAI server, OTel SDK providers set globally (ADK traces through the global provider).

Parts: chat (an agent with no tools: one model call), stream (RunConfig streaming_mode=SSE), error (500, 429),
agent (call -> tool -> call). No embeddings: ADK has none. Retries off (num_retries=0 on LiteLlm).
"""

import asyncio
import os

from _common import (AGENT_INSTRUCTIONS, AGENT_PROMPT, CHAT_MODEL, CHAT_PROMPT, ERROR_429_PROMPT, ERROR_500_PROMPT,
                     OPENAI_BASE_URL, STREAM_PROMPT, SYSTEM, get_weather, part, sdk_logger_provider,
                     sdk_meter_provider, sdk_tracer_provider, shutdown, write_parts)

tp, lp, mp = sdk_tracer_provider(), sdk_logger_provider(), sdk_meter_provider()

from google.adk.agents import LlmAgent  # noqa: E402
from google.adk.agents.run_config import RunConfig, StreamingMode  # noqa: E402
from google.adk.models.lite_llm import LiteLlm  # noqa: E402
from google.adk.runners import InMemoryRunner  # noqa: E402
from google.genai import types  # noqa: E402

MODEL = os.environ.get("CAPTURE_ADK_MODEL", "openai/" + CHAT_MODEL)


def model():
    if MODEL.startswith("openai/"):
        return LiteLlm(model=MODEL, api_base=OPENAI_BASE_URL, num_retries=0, max_retries=0)
    return MODEL                     # a Gemini model name: google-genai against GOOGLE_GEMINI_BASE_URL


async def run(agent: LlmAgent, text: str, streaming: bool = False) -> None:
    runner = InMemoryRunner(agent=agent, app_name="capture")
    session = await runner.session_service.create_session(app_name="capture", user_id="u1")
    config = RunConfig(streaming_mode=StreamingMode.SSE if streaming else StreamingMode.NONE)
    async for _ in runner.run_async(user_id="u1", session_id=session.id, run_config=config,
                                    new_message=types.Content(role="user", parts=[types.Part(text=text)])):
        pass


async def main() -> None:
    with part("chat"):
        await run(LlmAgent(name="Assistant", model=model(), instruction=SYSTEM), CHAT_PROMPT)
    with part("stream"):
        await run(LlmAgent(name="Streamer", model=model(), instruction=SYSTEM), STREAM_PROMPT, streaming=True)
    with part("error", expect_error=True):
        await run(LlmAgent(name="Assistant", model=model(), instruction=SYSTEM), ERROR_500_PROMPT)
    with part("error", expect_error=True):
        await run(LlmAgent(name="Assistant", model=model(), instruction=SYSTEM), ERROR_429_PROMPT)
    with part("agent"):
        await run(LlmAgent(name="WeatherAgent", model=model(), instruction=AGENT_INSTRUCTIONS, tools=[get_weather]),
                  AGENT_PROMPT)


asyncio.run(main())
shutdown(tp, lp, mp)
write_parts()
