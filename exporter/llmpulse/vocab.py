"""Normalised vocabularies: provider names, operations, finish reasons.

>>> provider_name("Anthropic"), provider_name("az.ai.openai"), provider_name("vertex_ai")
('anthropic', 'azure.ai.openai', 'gcp.vertex_ai')
>>> finish_reason("max_tokens"), finish_reason("MAX_TOKENS"), finish_reason("end_turn"), finish_reason("tool-calls")
('length', 'length', 'stop', 'tool_calls')
>>> error_class(None, "openai.InternalServerError", ""), error_class(429, "", "api_error")
('server_error', 'rate_limited')
>>> error_class(None, "", "", "Error getting response: {'error': 'Error code: 500 - ...'}")
'server_error'
>>> error_class(None, "AI_APICallError", "", "Rate limit reached for requests. Please try again in 1s.")
'rate_limited'
>>> error_class(None, "ChatClientException", "ChatClientException")
'_OTHER'
"""

from __future__ import annotations

import re
from typing import Any, Callable, TypeVar

T = TypeVar("T")

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
    "moonshot": "moonshot_ai",
    "moonshotai": "moonshot_ai",
    "moonshot_ai": "moonshot_ai",
    "amazon": "aws.bedrock",
}

# Values of gen_ai.system / gen_ai.provider.name that name an agent framework, not the provider that
# served the call (Strands, Google ADK's call_llm, Spring AI's ChatClient, ...): the provider is then
# read from the span's other provider attribute, else from the model id (`provider_from_model`).
FRAMEWORKS = frozenset({"strands_agents", "gcp.vertex.agent", "spring_ai", "microsoft.agent_framework",
                        "agent_framework", "semantic_kernel", "langchain", "llamaindex", "crewai",
                        "pydantic_ai", "openai_agents"})

# Model id prefixes -> provider, for spans whose provider attribute names a framework.
# Bedrock ids are "<vendor>.<model>" with an optional region prefix ("us.anthropic.claude-...").
_MODEL_PREFIXES = (
    ("gpt-", "openai"), ("o1", "openai"), ("o3", "openai"), ("o4", "openai"), ("chatgpt", "openai"),
    ("text-embedding-3", "openai"), ("text-embedding-ada", "openai"), ("claude", "anthropic"),
    ("gemini", "gcp.gemini"), ("gemma", "gcp.gemini"), ("text-embedding-004", "gcp.gemini"),
    ("mistral", "mistral_ai"), ("ministral", "mistral_ai"), ("codestral", "mistral_ai"),
    ("magistral", "mistral_ai"), ("pixtral", "mistral_ai"), ("grok", "x_ai"), ("deepseek", "deepseek"),
    ("command", "cohere"), ("kimi", "moonshot_ai"), ("moonshot", "moonshot_ai"),
)
_BEDROCK = re.compile(r"^(?:[a-z]{2,4}\.)?(?:anthropic|amazon|meta|mistral|cohere|ai21|deepseek|openai|qwen|writer)"
                      r"\.[a-z0-9]")


def provider_from_model(model: str) -> str:
    """The provider a model id implies, or "unknown".

    >>> provider_from_model("gpt-4o"), provider_from_model("us.anthropic.claude-sonnet-4-20250514-v1:0")
    ('openai', 'aws.bedrock')
    """
    m = model.strip().lower()
    if _BEDROCK.match(m):
        return "aws.bedrock"
    m = m.rsplit("/", 1)[-1]
    for prefix, provider in _MODEL_PREFIXES:
        if m.startswith(prefix):
            return provider
    return "unknown"

_NOT_SAFE = re.compile(r"[^a-z0-9_.\-]+")


MEMO_SIZE = 1024        # distinct raw values `provider_name` remembers (they come from senders: bounded)


def bounded_memo(fn: Callable[[str], T], size: int) -> tuple[Callable[[str], T], dict[str, T]]:
    """`fn` remembering its answers for at most `size` strings (then it starts over: the strings come from
    senders), and the memo itself.

    >>> upper, memo = bounded_memo(str.upper, 2)
    >>> [upper(s) for s in ("a", "b", "a", "c")], sorted(memo)
    (['A', 'B', 'A', 'C'], ['c'])
    """
    memo: dict[str, T] = {}

    def remembered(raw: str) -> T:
        hit = memo.get(raw)
        if hit is None:
            hit = fn(raw)
            if len(memo) >= size:
                memo.clear()
            memo[raw] = hit
        return hit
    return remembered, memo


def _provider_name(raw: str) -> str:
    key = raw.strip().lower().replace(" ", "_").replace("-", "_")
    hit = PROVIDER_ALIASES.get(key)
    if hit:
        return hit
    if "." in key and key not in FRAMEWORKS:
        # Vercel AI SDK provider ids: "openai.chat", "anthropic.messages", "google.vertex.chat", ...
        head, _, rest = key.partition(".")
        if head == "google" and rest.startswith("vertex"):
            return "gcp.vertex_ai"
        hit = PROVIDER_ALIASES.get(head)
        if hit:
            return hit
    return _NOT_SAFE.sub("_", key)[:64] or "unknown"


provider_name, _provider_memo = bounded_memo(_provider_name, MEMO_SIZE)


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
    "handle_conversation_turn": "handle_conversation_turn",
    "plan": "plan",
    "fetch_response": "fetch_response",
    # LiteLLM call types (llm.request.type, litellm.call_type)
    "acompletion": "chat",
    "responses": "chat",
    "aresponses": "chat",
    "atext_completion": "text_completion",
    "aembedding": "embeddings",
    "arerank": "retrieval",
}

# Operations that are framework plumbing around other operations: the span is skipped
# (OpenLLMetry task spans, Vercel's agent_step, Strands' event-loop cycle, Spring AI's ChatClient,
# openai-agents-v2's "unknown").
PLUMBING_OPERATIONS = frozenset({"execute_task", "task", "agent_step", "execute_event_loop_cycle", "framework",
                                 "unknown"})   # the last: openai-agents-v2 0.1.0, SDK spans it does not map

# Vercel AI SDK (ai.operationId): inner spans are the calls, outer generate/stream spans the agent loop.
VERCEL_OPERATIONS = {
    "ai.generateText": "invoke_agent", "ai.streamText": "invoke_agent", "ai.generateObject": "invoke_agent",
    "ai.streamObject": "invoke_agent", "ai.generateText.doGenerate": "chat", "ai.streamText.doStream": "chat",
    "ai.generateObject.doGenerate": "chat", "ai.streamObject.doStream": "chat", "ai.embed.doEmbed": "embeddings",
    "ai.embedMany.doEmbed": "embeddings", "ai.toolCall": "execute_tool", "ai.rerank.doRerank": "retrieval",
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
    "tool_call": "tool_calls",           # OTel's FinishReason, OpenLLMetry, pydantic-ai, Agent Framework
    "function_call": "tool_calls",
    "compaction": "compaction",         # OTel's FinishReason; Anthropic's stop_reason after context compaction
    "max_output_tokens": "length",      # OpenAI Responses API incomplete_details.reason
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
    "too_many_tool_calls": "error",
    "image_prohibited_content": "content_filter",
    "image_recitation": "content_filter",
    "other": "other",
    "unknown": "other",
    # Bedrock Converse
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
    # Cohere
    "complete": "stop",
    "error_toxic": "content_filter",
    "error_limit": "length",
    "user_cancel": "other",
    "tool_call_limit": "tool_calls",
    # Ollama
    "load": "other",
    "unload": "other",
}


def finish_reason(raw: str) -> str:
    """One of records.FINISH_REASONS, whatever the case, separators or enum prefix ("FinishReason.STOP")."""
    hit = FINISH_REASON_MAP.get(raw)
    if hit is not None:
        return hit
    key = raw.strip().lower().replace("-", "_").replace(" ", "_")
    if "." in key:
        key = key.rsplit(".", 1)[1]
    return FINISH_REASON_MAP.get(key, "other")


FEEDBACK_POSITIVE = frozenset({"positive", "thumbs_up", "up", "good", "like", "+1", "yes", "true"})
FEEDBACK_NEGATIVE = frozenset({"negative", "thumbs_down", "down", "bad", "dislike", "-1", "no", "false"})


# error_type: the cause of a failure in one small vocabulary (records.ERROR_TYPES), from the HTTP
# status where the span has one, else the exception type, else error.type (docs/dialects.md, "Errors").
def _status_class(code: int) -> str | None:
    if code == 429:
        return "rate_limited"
    if code in (408, 504):
        return "timeout"
    if code in (401, 403, 407):
        return "auth"
    if code == 499:
        return "cancelled"
    if 400 <= code < 500:
        return "bad_request"
    if 500 <= code < 600:
        return "server_error"
    return None


# (class, fragments of the name lower-cased without separators), first match wins
_NAME_RULES = (
    ("content_filter", ("contentfilter", "contentpolicy", "safety", "guardrail", "refusal", "moderation")),
    ("rate_limited", ("ratelimit", "throttl", "toomanyrequests", "resourceexhausted", "quota")),
    ("timeout", ("timeout", "timedout", "deadlineexceeded")),
    ("cancelled", ("cancel", "aborterror")),
    ("auth", ("authentication", "authorization", "unauthorized", "unauthenticated", "permission", "forbidden",
              "accessdenied", "apikey")),
    ("connection", ("connection", "connecterror", "network", "dns", "socket", "remoteprotocol")),
    ("bad_request", ("badrequest", "invalidrequest", "validation", "notfound", "unprocessable", "invalidargument",
                     "contextlength", "contextwindow", "toolarge", "invalidparameter")),
    ("server_error", ("internalserver", "servererror", "serviceunavailable", "unavailable", "overloaded",
                      "apierror", "badgateway", "serviceexception", "servicefailure")),
)
_NAME_EXACT = {"internal": "server_error", "server": "server_error", "auth": "auth", "canceled": "cancelled"}
_SEPARATORS = re.compile(r"[^a-z0-9]+")
_name_cache: dict[str, str | None] = {}


def _name_class(raw: str) -> str | None:
    if raw in _name_cache:
        return _name_cache[raw]
    s = raw.strip().lower()
    if s.isascii() and s.isdigit():         # not "²": str.isdigit takes superscripts, int() does not
        out = _status_class(int(s))
    else:
        key = _SEPARATORS.sub("", s.rsplit(".", 1)[-1])
        out = _NAME_EXACT.get(key)
        if out is None:
            out = next((cls for cls, parts in _NAME_RULES if any(p in key for p in parts)), None)
    if len(_name_cache) >= 4096:        # bounded: the names come from senders
        _name_cache.clear()
    _name_cache[raw] = out
    return out


# an HTTP status quoted in an exception message: "Error code: 429 - ..." (openai, anthropic), "429
# RESOURCE_EXHAUSTED" (google-genai), "Status 429" (mistralai), "status_code: 500" (pydantic-ai),
# "Server error '500 Internal Server Error'" (httpx)
_MESSAGE_STATUS = re.compile(r"(?:^|error code:?\s*|status[ _]?(?:code)?:?\s*|')([45]\d\d)\b", re.I)


# the providers' own error messages, for a span whose exception names no cause and carries no status
# (Vercel AI SDK's AI_APICallError: the status is a property of the exception, not on the span)
_MESSAGE_PHRASES = (
    ("rate limit", "rate_limited"),                 # OpenAI 429 "Rate limit reached for requests", Anthropic
    ("too many requests", "rate_limited"),
    ("resource exhausted", "rate_limited"),
    ("server had an error", "server_error"),        # OpenAI 500 "The server had an error while processing ..."
    ("internal server error", "server_error"),
    ("overloaded", "server_error"),                 # Anthropic 529 "Overloaded"
    ("timed out", "timeout"),
)


def error_class(status: Any, exception_type: str, error_type: str, message: str = "") -> str:
    """The normalised error_type of a failed span (one of records.ERROR_TYPES): from the HTTP status
    (an attribute, a numeric error.type, or one quoted in the exception message), else the exception
    type, else error.type, else _OTHER."""
    if status is not None and not isinstance(status, bool):
        try:
            cls = _status_class(int(status))
        except (TypeError, ValueError):
            cls = None
        if cls:
            return cls
    if message:
        m = _MESSAGE_STATUS.search(message[:300])
        if m:
            cls = _status_class(int(m.group(1)))
            if cls:
                return cls
    if error_type and error_type.isascii() and error_type.isdigit():   # error.type "429", "500": a status
        cls = _status_class(int(error_type))
        if cls:
            return cls
    for raw in (exception_type, error_type):
        if raw:
            cls = _name_class(raw)
            if cls:
                return cls
    if message:
        low = message[:300].lower()
        for phrase, cls in _MESSAGE_PHRASES:
            if phrase in low:
                return cls
    return "_OTHER"
