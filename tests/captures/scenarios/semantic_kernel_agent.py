"""Semantic Kernel 1.45 (Python) with its GenAI model diagnostics on
(SEMANTICKERNEL_EXPERIMENTAL_GENAI_ENABLE_OTEL_DIAGNOSTICS=true, set by the registry entry), OTel SDK providers
set globally as SK's telemetry sample does; OpenAI connectors on an AsyncOpenAI client (max_retries=0).

Parts: chat, stream, tool (FunctionChoiceBehavior.Auto(auto_invoke=False): one call answered with a tool call),
embeddings (OpenAITextEmbedding), error (500, 429), agent (ChatCompletionAgent with a plugin: call -> tool -> call).
"""

import asyncio
from typing import Annotated

from _common import (AGENT_INSTRUCTIONS, AGENT_PROMPT, CHAT_MODEL, CHAT_PROMPT, EMBED_INPUTS, EMBED_MODEL,
                     ERROR_429_PROMPT, ERROR_500_PROMPT, STREAM_PROMPT, SYSTEM, TOOL_PROMPT, get_weather, part,
                     sdk_logger_provider, sdk_meter_provider, sdk_tracer_provider, shutdown, write_parts)
from openai import AsyncOpenAI
from semantic_kernel import Kernel
from semantic_kernel.agents import ChatCompletionAgent
from semantic_kernel.connectors.ai import FunctionChoiceBehavior
from semantic_kernel.connectors.ai.open_ai import (OpenAIChatCompletion, OpenAIChatPromptExecutionSettings,
                                                   OpenAITextEmbedding)
from semantic_kernel.contents import ChatHistory
from semantic_kernel.functions import kernel_function

tp, lp, mp = sdk_tracer_provider(), sdk_logger_provider(), sdk_meter_provider()
oai = AsyncOpenAI(max_retries=0)


class WeatherPlugin:
    @kernel_function(name="get_weather", description="Current weather for a city")
    def get_weather(self, city: Annotated[str, "City name"]) -> str:
        return get_weather(city)


def history(text: str, system: str | None = None) -> ChatHistory:
    h = ChatHistory(system_message=system) if system else ChatHistory()
    h.add_user_message(text)
    return h


async def main() -> None:
    chat = OpenAIChatCompletion(ai_model_id=CHAT_MODEL, async_client=oai)
    settings = OpenAIChatPromptExecutionSettings()
    with part("chat"):
        await chat.get_chat_message_content(history(CHAT_PROMPT, SYSTEM), settings)
    with part("stream"):
        async for _ in chat.get_streaming_chat_message_content(history(STREAM_PROMPT), settings):
            pass
    with part("tool"):
        kernel = Kernel()
        kernel.add_plugin(WeatherPlugin(), "weather")
        await chat.get_chat_message_content(history(TOOL_PROMPT), OpenAIChatPromptExecutionSettings(
            function_choice_behavior=FunctionChoiceBehavior.Auto(auto_invoke=False)), kernel=kernel)
    with part("embeddings"):
        await OpenAITextEmbedding(ai_model_id=EMBED_MODEL, async_client=oai).generate_embeddings(EMBED_INPUTS)
    with part("error", expect_error=True):
        await chat.get_chat_message_content(history(ERROR_500_PROMPT), settings)
    with part("error", expect_error=True):
        await chat.get_chat_message_content(history(ERROR_429_PROMPT), settings)
    with part("agent"):
        agent = ChatCompletionAgent(service=chat, name="WeatherAgent", instructions=AGENT_INSTRUCTIONS,
                                    plugins=[WeatherPlugin()])
        await agent.get_response(messages=AGENT_PROMPT)


asyncio.run(main())
shutdown(tp, lp, mp)
write_parts()
