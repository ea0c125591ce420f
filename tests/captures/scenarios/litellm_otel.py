"""LiteLLM 1.110 SDK with its OpenTelemetry callback (litellm.callbacks = ["otel"]), configured from the
OTEL_* environment as its docs say; LITELLM_OTEL_V2=true (set by the registry entry) selects the v2 integration.

Parts: chat, stream (include_usage), tool, embeddings, error (500, 429), reasoning (OpenAI-compatible, api_base
the fake), and an Anthropic chat and stream (anthropic/ models, api_base the fake). No agent: LiteLLM has none.
Retries off (num_retries=0, max_retries=0).
"""

import time

import litellm
from _common import (ANTHROPIC_BASE_URL, CHAT_PROMPT, CLAUDE, CLAUDE_SMALL, EMBED_INPUTS, EMBED_MODEL, ERROR_429_PROMPT,
                     ERROR_500_PROMPT, OPENAI_BASE_URL, OPENAI_TOOL, REASONING_MODEL, REASONING_PROMPT, STREAM_PROMPT,
                     SYSTEM, TOOL_PROMPT, part, write_parts, CHAT_MODEL)

litellm.callbacks = ["otel"]
OA = {"api_base": OPENAI_BASE_URL, "num_retries": 0, "max_retries": 0}
AN = {"api_base": ANTHROPIC_BASE_URL, "num_retries": 0, "max_retries": 0, "max_tokens": 256}


def user(text):
    return [{"role": "user", "content": text}]


with part("chat"):
    litellm.completion(model="openai/" + CHAT_MODEL, messages=[{"role": "system", "content": SYSTEM},
                                                               *user(CHAT_PROMPT)], **OA)
with part("stream"):
    for _ in litellm.completion(model="openai/" + CHAT_MODEL, messages=user(STREAM_PROMPT), stream=True,
                                stream_options={"include_usage": True}, **OA):
        pass
with part("tool"):
    litellm.completion(model="openai/" + CHAT_MODEL, messages=user(TOOL_PROMPT), tools=[OPENAI_TOOL], **OA)
with part("embeddings"):
    litellm.embedding(model="openai/" + EMBED_MODEL, input=EMBED_INPUTS, api_base=OPENAI_BASE_URL, max_retries=0)
with part("error", expect_error=True):
    litellm.completion(model="openai/" + CHAT_MODEL, messages=user(ERROR_500_PROMPT), **OA)
with part("error", expect_error=True):
    litellm.completion(model="openai/" + CHAT_MODEL, messages=user(ERROR_429_PROMPT), **OA)
with part("reasoning"):
    litellm.completion(model="openai/" + REASONING_MODEL, messages=user(REASONING_PROMPT), **OA)
with part("chat"):
    litellm.completion(model="anthropic/" + CLAUDE, messages=[{"role": "system", "content": SYSTEM},
                                                              *user(CHAT_PROMPT)], **AN)
with part("stream"):
    for _ in litellm.completion(model="anthropic/" + CLAUDE_SMALL, messages=user(STREAM_PROMPT + " #cache_write"),
                                stream=True, **AN):
        pass

time.sleep(3)                       # success/failure callbacks run on LiteLLM's logging worker
for cb in litellm.callbacks + litellm._async_success_callback + litellm.success_callback:
    tp = getattr(cb, "tracer_provider", None) or getattr(getattr(cb, "_runtime", None), "tracer_provider", None)
    if tp is not None and hasattr(tp, "force_flush"):
        tp.force_flush()
from opentelemetry import trace  # noqa: E402
getattr(trace.get_tracer_provider(), "force_flush", lambda: None)()
write_parts()
