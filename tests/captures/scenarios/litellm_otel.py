"""LiteLLM 1.110 SDK with its OpenTelemetry callback (litellm.callbacks = ["otel"]), configured from the
OTEL_* environment as its docs say; LITELLM_OTEL_V2=true (set by the registry entry) selects the v2 integration.

Calls are async (acompletion/aembedding): with LITELLM_OTEL_V2 the sync completion() leaves its call span open
(never ended, never exported) in 1.110.2; the legacy callback reports either way.
Parts: chat, stream (include_usage), tool, embeddings, error (500, 429), reasoning (OpenAI-compatible, api_base
the fake), and an Anthropic chat and stream (anthropic/ models, api_base the fake). No agent: LiteLLM has none.
Retries off (num_retries=0, max_retries=0).
"""

import asyncio

import litellm
from _common import (ANTHROPIC_BASE_URL, CHAT_MODEL, CHAT_PROMPT, CLAUDE, CLAUDE_SMALL, EMBED_INPUTS, EMBED_MODEL,
                     ERROR_429_PROMPT, ERROR_500_PROMPT, OPENAI_BASE_URL, OPENAI_TOOL, REASONING_MODEL,
                     REASONING_PROMPT, STREAM_PROMPT, SYSTEM, TOOL_PROMPT, part, write_parts)
from litellm.litellm_core_utils import litellm_logging
from opentelemetry import trace

litellm.callbacks = ["otel"]
OA = {"api_base": OPENAI_BASE_URL, "num_retries": 0, "max_retries": 0}
AN = {"api_base": ANTHROPIC_BASE_URL, "num_retries": 0, "max_retries": 0, "max_tokens": 256}


def user(text):
    return [{"role": "user", "content": text}]


async def main() -> None:
    with part("chat"):
        await litellm.acompletion(model="openai/" + CHAT_MODEL, messages=[{"role": "system", "content": SYSTEM},
                                                                          *user(CHAT_PROMPT)], **OA)
    with part("stream"):
        async for _ in await litellm.acompletion(model="openai/" + CHAT_MODEL, messages=user(STREAM_PROMPT),
                                                 stream=True, stream_options={"include_usage": True}, **OA):
            pass
    with part("tool"):
        await litellm.acompletion(model="openai/" + CHAT_MODEL, messages=user(TOOL_PROMPT), tools=[OPENAI_TOOL], **OA)
    with part("embeddings"):
        await litellm.aembedding(model="openai/" + EMBED_MODEL, input=EMBED_INPUTS, api_base=OPENAI_BASE_URL,
                                 max_retries=0)
    with part("error", expect_error=True):
        await litellm.acompletion(model="openai/" + CHAT_MODEL, messages=user(ERROR_500_PROMPT), **OA)
    with part("error", expect_error=True):
        await litellm.acompletion(model="openai/" + CHAT_MODEL, messages=user(ERROR_429_PROMPT), **OA)
    with part("reasoning"):
        await litellm.acompletion(model="openai/" + REASONING_MODEL, messages=user(REASONING_PROMPT), **OA)
    with part("chat"):
        await litellm.acompletion(model="anthropic/" + CLAUDE, messages=[{"role": "system", "content": SYSTEM},
                                                                         *user(CHAT_PROMPT)], **AN)
    with part("stream"):
        async for _ in await litellm.acompletion(model="anthropic/" + CLAUDE_SMALL, stream=True,
                                                 messages=user(STREAM_PROMPT + " #cache_write"), **AN):
            pass
    await asyncio.sleep(3)           # success/failure callbacks run as tasks and on LiteLLM's logging worker


asyncio.run(main())
for cb in [*litellm_logging._in_memory_loggers, *litellm.success_callback, *litellm._async_success_callback]:
    for attr in ("_tracer_provider", "tracer_provider"):        # v2 keeps its own provider, not the global one
        getattr(getattr(cb, attr, None), "force_flush", lambda: None)()
getattr(trace.get_tracer_provider(), "force_flush", lambda: None)()
write_parts()
