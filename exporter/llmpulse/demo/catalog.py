"""What the demo traffic is made of: services, models, prices, errors, texts.

Numbers here are plausible shapes, not measurements: medians of lognormal
distributions for time to first token, generation speed and token counts.

>>> MODELS["claude-sonnet-4-5"].provider
'anthropic'
>>> finish_value("anthropic", "length")
'max_tokens'
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Model:
    """One model as a client asks for it."""

    name: str                    # request model
    provider: str                # OTel gen_ai.provider.name value
    response_model: str          # what the provider answers with (often dated)
    ttft_median_s: float         # time to first token, median, seconds
    tokens_per_s: float          # generation speed, median, tokens per second
    # USD per million tokens: input, output, cache read, cache write; None = unpriced
    price: tuple[float, float, float, float] | None = None
    reasoning: bool = False      # can emit reasoning ("thinking") tokens
    embedding: bool = False
    batch: bool = False          # has a Batch API at 50 % of the price (batch-summarizer uses it)


MODELS: dict[str, Model] = {m.name: m for m in (
    Model("gpt-4o", "openai", "gpt-4o-2024-08-06", 0.45, 85.0, (2.50, 10.00, 1.25, 0.0)),
    Model("gpt-4o-mini", "openai", "gpt-4o-mini-2024-07-18", 0.35, 110.0, (0.15, 0.60, 0.075, 0.0)),
    Model("text-embedding-3-small", "openai", "text-embedding-3-small", 0.12, 0.0,
          (0.02, 0.0, 0.0, 0.0), embedding=True),
    Model("claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5-20250929", 0.70, 75.0,
          (3.00, 15.00, 0.30, 3.75), reasoning=True),
    Model("claude-3-5-haiku", "anthropic", "claude-3-5-haiku-20241022", 0.45, 120.0,
          (0.80, 4.00, 0.08, 1.00)),
    Model("anthropic.claude-3-5-haiku-20241022-v1:0", "aws.bedrock",
          "anthropic.claude-3-5-haiku-20241022-v1:0", 0.55, 110.0, (0.80, 4.00, 0.08, 1.00), batch=True),
    Model("gemini-2.5-flash", "gcp.gemini", "gemini-2.5-flash", 0.40, 180.0,
          (0.30, 2.50, 0.075, 0.0), reasoning=True, batch=True),
    Model("mistral-large-latest", "mistral_ai", "mistral-large-2411", 0.55, 70.0, (2.00, 6.00, 0.0, 0.0)),
    Model("llama-3.1-8b-instruct", "vllm", "llama-3.1-8b-instruct", 0.12, 150.0, (0.0, 0.0, 0.0, 0.0)),
    # Only sent by the unpriced_model scenario: no price anywhere.
    Model("acme-llm-9000", "acme", "acme-llm-9000-0613", 0.50, 70.0, None),
)}

# Provider vocabularies of finish reasons, keyed by the canonical reason.
_FINISH = {
    "openai": {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "content_filter": "content_filter"},
    "anthropic": {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"},
    "gcp.gemini": {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP", "content_filter": "SAFETY"},
    "mistral_ai": {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "content_filter": "error"},
    "vllm": {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "content_filter": "abort"},
}
_FINISH["aws.bedrock"] = _FINISH["anthropic"]
_FINISH["acme"] = _FINISH["openai"]


def finish_value(provider: str, canonical: str) -> str:
    """The provider's own word for a canonical finish reason.

    >>> finish_value("gcp.gemini", "content_filter")
    'SAFETY'
    """
    return _FINISH.get(provider, _FINISH["openai"])[canonical]


@dataclass(frozen=True)
class ErrorKind:
    """One way a provider call fails."""

    error_type: str              # `error.type` value
    exception_type: str          # `exception.type` of the exception event
    message: str
    http_status: int | None      # None for client-side timeouts
    fails_after_s: float         # median time until the failure is seen, seconds
    weight: float = 1.0          # relative frequency among the provider's failures


ERRORS: dict[str, tuple[ErrorKind, ...]] = {
    "openai": (
        ErrorKind("rate_limit_exceeded", "openai.RateLimitError",
                  "Rate limit reached for requests per min (RPM): limit 500", 429, 0.25),
        ErrorKind("timeout", "openai.APITimeoutError", "Request timed out.", None, 30.0, weight=0.25),
        ErrorKind("500", "openai.InternalServerError",
                  "The server had an error while processing your request.", 500, 1.2),
    ),
    "anthropic": (
        ErrorKind("overloaded_error", "anthropic.InternalServerError", "Overloaded", 529, 0.9),
        ErrorKind("rate_limit_error", "anthropic.RateLimitError",
                  "Number of request tokens has exceeded your per-minute rate limit", 429, 0.2),
        ErrorKind("timeout", "anthropic.APITimeoutError", "Request timed out.", None, 60.0, weight=0.25),
    ),
    "gcp.gemini": (
        ErrorKind("429", "google.genai.errors.ClientError", "429 RESOURCE_EXHAUSTED", 429, 0.3),
        ErrorKind("500", "google.genai.errors.ServerError", "500 INTERNAL", 500, 1.5),
    ),
    "mistral_ai": (
        ErrorKind("rate_limit_exceeded", "mistralai.models.SDKError",
                  "API error occurred: Status 429 Requests rate limit exceeded", 429, 0.3),
        ErrorKind("timeout", "httpx.ReadTimeout", "The read operation timed out", None, 30.0, weight=0.25),
    ),
    "aws.bedrock": (
        ErrorKind("ThrottlingException", "botocore.errorfactory.ThrottlingException",
                  "Too many requests, please wait before trying again.", 429, 0.2),
        ErrorKind("ModelTimeoutException", "botocore.errorfactory.ModelTimeoutException",
                  "Model has timed out in processing the request.", 408, 45.0, weight=0.25),
    ),
    "acme": (ErrorKind("500", "httpx.HTTPStatusError", "Server error '500 Internal Server Error'", 500, 1.0),),
    "vllm": (ErrorKind("500", "httpx.HTTPStatusError", "Server error '500 Internal Server Error'", 500, 0.5),),
}

SERVER_ADDRESS = {
    "openai": "api.openai.com", "anthropic": "api.anthropic.com",
    "gcp.gemini": "generativelanguage.googleapis.com", "mistral_ai": "api.mistral.ai",
    "aws.bedrock": "bedrock-runtime.us-east-1.amazonaws.com", "vllm": "vllm-llama.internal",
    "acme": "api.acme-llm.example",
}

# Legacy vocabularies for the provider: OpenLLMetry <=v0.47 title case,
# OTel v1.26 `gen_ai.system`, OpenInference `llm.system` / `llm.provider`.
OPENLLMETRY_SYSTEM = {"openai": "OpenAI", "anthropic": "Anthropic", "gcp.gemini": "Google",
                      "mistral_ai": "MistralAI", "aws.bedrock": "AWS", "vllm": "OpenAI", "acme": "Acme"}
OTEL_OLD_SYSTEM = {"openai": "openai", "anthropic": "anthropic", "gcp.gemini": "gemini",
                   "mistral_ai": "mistral_ai", "aws.bedrock": "aws.bedrock", "vllm": "vllm", "acme": "acme"}
OPENINFERENCE_SYSTEM = {"openai": "openai", "anthropic": "anthropic", "gcp.gemini": "vertexai",
                        "mistral_ai": "mistralai", "aws.bedrock": "anthropic", "vllm": "openai", "acme": "acme"}
OPENINFERENCE_PROVIDER = {"openai": "openai", "anthropic": "anthropic", "gcp.gemini": "google",
                          "mistral_ai": "mistralai", "aws.bedrock": "aws", "vllm": "openai", "acme": "acme"}
# OpenLLMetry span-name prefixes per provider package.
OPENLLMETRY_PREFIX = {"openai": "openai", "anthropic": "anthropic", "gcp.gemini": "vertexai",
                      "mistral_ai": "mistralai", "aws.bedrock": "bedrock", "vllm": "openai", "acme": "openai"}

# Dialects: what each span is rendered as.
OTEL = "otel"                    # current OTel GenAI (v1.37+)
OTEL_LEGACY = "otel_legacy"      # gen_ai.system, prompt/completion tokens, no operation name
OPENLLMETRY = "openllmetry"      # OpenLLMetry legacy (llm.request.type, gen_ai.prompt.N.*)
OPENINFERENCE = "openinference"
OPENLIT = "openlit"
VLLM = "vllm"
DIALECTS = (OTEL, OTEL_LEGACY, OPENLLMETRY, OPENINFERENCE, OPENLIT, VLLM)

# Instrumentation scope per dialect (one ScopeSpans each inside a resource).
SCOPES = {
    OTEL: ("opentelemetry.instrumentation.genai", "0.3b0"),
    OTEL_LEGACY: ("opentelemetry.instrumentation.google_genai", "0.1b0"),
    OPENLLMETRY: ("opentelemetry.instrumentation.mistralai", "0.47.3"),
    OPENINFERENCE: ("openinference.instrumentation.openai", "0.1.30"),
    OPENLIT: ("openlit.otel.tracing", "1.36.0"),
    VLLM: ("vllm.tracing", "0.11.0"),
}

# Where a non-standard signal goes. The exporter's defaults decide whether
# they count; keep them in one place so they are easy to align.
GUARDRAIL_ATTR = "llmpulse.guardrail.triggered"      # bool on the guarded span
GUARDRAIL_NAME_ATTR = "llmpulse.guardrail.name"
PROMPT_VERSION_ATTR = "llmpulse.prompt.version"      # span or resource attribute
RETRY_ATTR = "llmpulse.retry"                        # bool on a retried call
SERVICE_TIER_ATTR = "llmpulse.service_tier"          # batch on batch-summarizer's Batch API calls
# Span events that mark the first streamed token (the SDK stamps their time).
FIRST_TOKEN_EVENT = {OPENINFERENCE: "First Token Stream Event",
                     OPENLLMETRY: "llm.content.completion.chunk"}


@dataclass(frozen=True)
class Service:
    """One application sending telemetry."""

    name: str
    version: str
    environment: str
    shape: str                                   # agent, rag, agent_loop, workflow
    weight: float                                # share of traces
    chat_models: tuple[tuple[str, float], ...]   # (model, weight)
    dialects: tuple[tuple[str, float], ...]      # (dialect, weight) for its spans
    prompt_version: str
    prompt_version_on_resource: bool = False
    # models whose SDK is instrumented by one library, whatever the service default
    model_dialects: tuple[tuple[str, str], ...] = ()
    copy_resource_to_spans: bool = False         # a processor copies service.* onto spans
    max_tokens: int = 1024                       # gen_ai.request.max_tokens
    streaming_share: float = 0.8                 # share of chat calls that stream
    input_tokens_median: int = 1500
    output_tokens_median: int = 250
    truncation_share: float = 0.005              # share of answers cut at max tokens
    extra_resource: tuple[tuple[str, str], ...] = field(default=())


SERVICES: tuple[Service, ...] = (
    Service("support-bot", "2.14.0", "production", "agent", 0.40,
            (("claude-sonnet-4-5", 0.4), ("gpt-4o-mini", 0.35), ("claude-3-5-haiku", 0.25)),
            ((OTEL, 0.6), (OPENLIT, 0.25), (OPENINFERENCE, 0.15)), "support-v7",
            streaming_share=0.9, input_tokens_median=1500, output_tokens_median=160),
    Service("search-api", "1.8.3", "production", "rag", 0.30,
            (("gpt-4o-mini", 0.5), ("gemini-2.5-flash", 0.35), ("gpt-4o", 0.15)),
            ((OPENINFERENCE, 0.75), (OTEL, 0.25)), "rag-answer-v12",
            model_dialects=(("gemini-2.5-flash", OTEL_LEGACY),),
            streaming_share=0.7, input_tokens_median=2600, output_tokens_median=220),
    Service("coding-agent", "0.9.1", "staging", "agent_loop", 0.15,
            (("gpt-4o", 0.45), ("claude-sonnet-4-5", 0.35), ("gpt-4o-mini", 0.2)),
            ((OPENLLMETRY, 0.55), (OTEL, 0.45)), "coder-v3",
            model_dialects=(("acme-llm-9000", OTEL),), copy_resource_to_spans=True, max_tokens=4096,
            streaming_share=0.3, input_tokens_median=1600, output_tokens_median=220,
            extra_resource=(("telemetry.sdk.language", "python"), ("host.name", "ci-runner-7"))),
    Service("batch-summarizer", "3.2.0", "production", "workflow", 0.15,
            (("mistral-large-latest", 0.35), ("llama-3.1-8b-instruct", 0.35),
             ("anthropic.claude-3-5-haiku-20241022-v1:0", 0.15), ("gemini-2.5-flash", 0.15)),
            ((OPENLLMETRY, 1.0),), "summarize-v3", prompt_version_on_resource=True,
            model_dialects=(("mistral-large-latest", OPENLLMETRY), ("llama-3.1-8b-instruct", VLLM),
                            ("anthropic.claude-3-5-haiku-20241022-v1:0", OTEL),
                            ("gemini-2.5-flash", OTEL_LEGACY)),
            max_tokens=512,
            streaming_share=0.0, input_tokens_median=4000, output_tokens_median=160,
            truncation_share=0.01),
)
SERVICE_BY_NAME = {s.name: s for s in SERVICES}
# The self-hosted vLLM server reports its own spans under its own resource.
VLLM_SERVICE = Service("vllm-llama", "0.11.0", "production", "server", 0.0,
                       (("llama-3.1-8b-instruct", 1.0),), ((VLLM, 1.0),), "")

TOOLS = {      # (tool, median duration in seconds); each tool is called equally often
    "support-bot": (("lookup_order", 0.12), ("search_kb", 0.08), ("create_ticket", 0.35)),
    "coding-agent": (("read_file", 0.01), ("grep", 0.05), ("run_tests", 4.0), ("apply_patch", 0.03)),
}

EMAILS = ("jane.doe@example.com", "m.rossi@example.org", "kwame.mensah@example.net",
          "li.wei@example.com", "olga.ivanova@example.org")
PROMPTS = {
    "support-bot": ("Hi, this is {email}. My order #{n} has not arrived yet, can you check?",
                    "Please change the delivery address on order #{n}; reply to {email}.",
                    "I was charged twice for order #{n}. Contact me at {email}."),
    "search-api": ("How do I rotate an API key without downtime?",
                   "What is the refund policy for annual plans? (asked by {email})",
                   "Compare the pro and team plans for {n} seats."),
    "coding-agent": ("Fix the failing test in tests/test_parser.py (ticket {n}, owner {email}).",
                     "Add retry with backoff to the HTTP client, see issue #{n}."),
    "batch-summarizer": ("Summarise the following support thread #{n} from {email}: ...",
                         "Summarise document {n} in five bullet points."),
}
COMPLETIONS = ("I checked order #{n}: it ships tomorrow. I sent the details to {email}.",
               "Here is a summary with the key points and next steps.",
               "Done: the patch is applied and the tests pass.",
               "Rotate the key in two steps: create the new key, then revoke the old one.")
