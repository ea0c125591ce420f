"""Normalised vocabularies: provider names, operations, finish reasons.

>>> provider_name("Anthropic"), provider_name("az.ai.openai"), provider_name("vertex_ai")
('anthropic', 'azure.ai.openai', 'gcp.vertex_ai')
>>> finish_reason("max_tokens"), finish_reason("MAX_TOKENS"), finish_reason("end_turn")
('length', 'length', 'stop')
"""

from __future__ import annotations

import re

# Old or library-specific provider spellings -> the current OTel
# `gen_ai.provider.name` values (docs/dialects.md lists them).
PROVIDER_ALIASES = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "azure.openai": "azure.ai.openai",
    "az.ai.openai": "azure.ai.openai",
    "azureopenai": "azure.ai.openai",
    "az.ai.inference": "azure.ai.inference",
    "azure_ai_inference": "azure.ai.inference",
    "anthropic": "anthropic",
    "aws": "aws.bedrock",
    "bedrock": "aws.bedrock",
    "aws_bedrock": "aws.bedrock",
    "amazon_bedrock": "aws.bedrock",
    "aws.bedrock": "aws.bedrock",
    "vertex_ai": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "vertex": "gcp.vertex_ai",
    "google_vertex": "gcp.vertex_ai",
    "gcp.vertex_ai": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "google": "gcp.gemini",
    "google_genai": "gcp.gemini",
    "googlegenai": "gcp.gemini",
    "google_ai_studio": "gcp.gemini",
    "gcp.gemini": "gcp.gemini",
    "gcp.gen_ai": "gcp.gen_ai",
    "mistral": "mistral_ai",
    "mistralai": "mistral_ai",
    "mistral_ai": "mistral_ai",
    "xai": "x_ai",
    "x_ai": "x_ai",
    "cohere": "cohere",
    "groq": "groq",
    "deepseek": "deepseek",
    "perplexity": "perplexity",
    "watsonx": "ibm.watsonx.ai",
    "ibm.watsonx.ai": "ibm.watsonx.ai",
    "ibm_watsonx": "ibm.watsonx.ai",
    "ollama": "ollama",
    "vllm": "vllm",
    "huggingface": "hugging_face",
    "hugging_face": "hugging_face",
    "together": "together_ai",
    "togetherai": "together_ai",
    "together_ai": "together_ai",
    "replicate": "replicate",
    "openrouter": "openrouter",
    "fireworks": "fireworks_ai",
    "fireworks_ai": "fireworks_ai",
    "aleph_alpha": "aleph_alpha",
    "alephalpha": "aleph_alpha",
    "writer": "writer",
    "langchain": "langchain",
    "llamaindex": "llamaindex",
}

_NOT_SAFE = re.compile(r"[^a-z0-9_.\-]+")


def provider_name(raw: str) -> str:
    key = raw.strip().lower().replace(" ", "_").replace("-", "_")
    hit = PROVIDER_ALIASES.get(key)
    if hit:
        return hit
    return _NOT_SAFE.sub("_", key)[:64] or "unknown"


# OpenInference: llm.provider is the host, llm.system the model vendor.
def openinference_provider(host: object, system: object) -> str | None:
    h = host.lower() if isinstance(host, str) else ""       # attributes may be of any type
    s = system.lower() if isinstance(system, str) else ""
    if h == "azure":
        return "azure.ai.openai" if s in ("", "openai") else "azure.ai.inference"
    if h == "aws":
        return "aws.bedrock"
    if h == "google":
        return "gcp.vertex_ai" if s in ("vertexai", "vertex_ai") else "gcp.gemini"
    if h:
        return provider_name(h)
    if s:
        return provider_name(s)
    return None


OPERATION_ALIASES = {
    "chat": "chat",
    "completion": "text_completion",
    "completions": "text_completion",
    "text_completion": "text_completion",
    "generate_content": "generate_content",
    "embedding": "embeddings",
    "embeddings": "embeddings",
    "retrieval": "retrieval",
    "retrieve": "retrieval",
    "rerank": "retrieval",
    "execute_tool": "execute_tool",
    "tool": "execute_tool",
    "invoke_agent": "invoke_agent",
    "agent": "invoke_agent",
    "create_agent": "create_agent",
    "invoke_workflow": "invoke_workflow",
    "workflow": "invoke_workflow",
}

OPENINFERENCE_KINDS = {
    "LLM": "chat",
    "EMBEDDING": "embeddings",
    "RETRIEVER": "retrieval",
    "RERANKER": "retrieval",
    "TOOL": "execute_tool",
    "AGENT": "invoke_agent",
}

TRACELOOP_KINDS = {
    "workflow": "invoke_workflow",
    "agent": "invoke_agent",
    "tool": "execute_tool",
}


def operation_name(raw: str) -> str | None:
    return OPERATION_ALIASES.get(raw.strip().lower())


# Provider finish reasons -> stop, length, content_filter, tool_calls, error, other.
FINISH_REASON_MAP = {
    # OpenAI, Mistral, vLLM, most OpenAI-compatible servers
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "abort": "error",
    "error": "error",
    "model_length": "length",
    # Anthropic
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "other",
    "model_context_window_exceeded": "length",
    # Gemini / Vertex (upper case in the API)
    "finish_reason_unspecified": "other",
    "safety": "content_filter",
    "recitation": "content_filter",
    "blocklist": "content_filter",
    "prohibited_content": "content_filter",
    "spii": "content_filter",
    "image_safety": "content_filter",
    "language": "other",
    "malformed_function_call": "error",
    "unexpected_tool_call": "error",
    # Bedrock Converse
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
    # Cohere
    "complete": "stop",
    "error_toxic": "content_filter",
    "error_limit": "length",
    "user_cancel": "other",
    # Ollama
    "load": "other",
    "unload": "other",
}


def finish_reason(raw: str) -> str:
    key = raw.strip().lower()
    if key.startswith("finish_reason."):
        key = key[len("finish_reason."):]
    return FINISH_REASON_MAP.get(key, "other")


FEEDBACK_POSITIVE = frozenset({"positive", "thumbs_up", "up", "good", "like", "+1", "yes", "true"})
FEEDBACK_NEGATIVE = frozenset({"negative", "thumbs_down", "down", "bad", "dislike", "-1", "no", "false"})
