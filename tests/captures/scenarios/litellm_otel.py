"""LiteLLM's OpenTelemetry callback ("otel") over its OpenAI-compatible provider."""

import os

from _common import (CHAT_MODEL, CHAT_PROMPT, EMBED_INPUTS, EMBED_MODEL, ERROR_429_PROMPT, ERROR_500_PROMPT, OPENAI_TOOL,
                     OTLP, STREAM_PROMPT, SYSTEM, TOOL_PROMPT, part, write_parts)

os.environ.update({"OTEL_EXPORTER": "otlp_http", "OTEL_ENDPOINT": OTLP + "/v1/traces"})
import litellm  # noqa: E402

litellm.callbacks = ["otel"]
M = "openai/" + CHAT_MODEL
KW = {"api_base": os.environ["OPENAI_BASE_URL"], "num_retries": 0, "max_retries": 0}
with part("chat"):
    litellm.completion(model=M, messages=[{"role": "system", "content": SYSTEM},
                                          {"role": "user", "content": CHAT_PROMPT}], **KW)
with part("stream"):
    for _ in litellm.completion(model=M, stream=True, stream_options={"include_usage": True},
                                messages=[{"role": "user", "content": STREAM_PROMPT}], **KW):
        pass
with part("tool"):
    litellm.completion(model=M, tools=[OPENAI_TOOL], messages=[{"role": "user", "content": TOOL_PROMPT}], **KW)
with part("embeddings"):
    litellm.embedding(model="openai/" + EMBED_MODEL, input=EMBED_INPUTS, api_base=KW["api_base"])
with part("error", expect_error=True):
    litellm.completion(model=M, messages=[{"role": "user", "content": ERROR_500_PROMPT}], **KW)
with part("error", expect_error=True):
    litellm.completion(model=M, messages=[{"role": "user", "content": ERROR_429_PROMPT}], **KW)
import time  # noqa: E402

time.sleep(3)          # the callback's batch processor
for cb in litellm.callbacks:
    tp = getattr(cb, "tracer_provider", None) or getattr(getattr(cb, "tracer", None), "provider", None)
from opentelemetry import trace  # noqa: E402

prov = trace.get_tracer_provider()
if hasattr(prov, "force_flush"):
    prov.force_flush()
write_parts()
