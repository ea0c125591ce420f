"""The normalised record every dialect is turned into.

One `Call` is one GenAI operation (an LLM call, an embedding, a retrieval,
a tool execution, an agent or workflow invocation), whatever instrumentation
library produced the span.

>>> c = Call(trace_id="0af7651916cd43dd8448eb211c80319c", span_id="b7ad6b7169203331",
...          operation="chat", provider="openai", request_model="gpt-4o")
>>> c.is_error
False
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

# Token accounting (docs/dialects.md, "Token accounting"):
#   input_tokens   all prompt tokens, cached ones included (OTel's definition)
#   cache_read_tokens / cache_write_tokens   subsets of input_tokens
#   output_tokens  all generated tokens, reasoning included
#   reasoning_tokens   subset of output_tokens
# Sources that report input without the cache (Anthropic's raw usage) are
# converted on the way in, so a cached token is never counted twice.

FINISH_REASONS = ("stop", "length", "content_filter", "tool_calls", "error", "compaction", "other")
OPERATIONS = (
    "chat", "text_completion", "generate_content", "embeddings", "retrieval",
    "execute_tool", "invoke_agent", "invoke_workflow", "handle_conversation_turn", "create_agent", "plan",
)
# Calls (docs/dialects.md, "Calls, aggregates and the rest"): one model request each. Only calls add to the
# token, cost, unpriced, finish-reason and time-to-first-chunk families.
LLM_OPERATIONS = frozenset({"chat", "text_completion", "generate_content", "embeddings"})
# Aggregates: they contain calls, and the token counts some emitters put on them repeat their calls'.
AGGREGATE_OPERATIONS = frozenset({"invoke_agent", "invoke_workflow", "handle_conversation_turn", "create_agent",
                                  "plan"})
EVALUATION = "evaluation"       # an evaluator span (OpenInference EVALUATOR): recorded as scores only
ERROR_TYPES = ("rate_limited", "timeout", "server_error", "auth", "bad_request", "content_filter", "cancelled",
               "connection", "_OTHER")


@dataclass(slots=True)
class Eval:
    """One evaluation result: `gen_ai.evaluation.result` or its equivalents."""

    name: str
    score: float | None = None
    label: str = ""


@dataclass(slots=True)
class Billing:
    """What a span says beyond the token counts that changes its price (docs/pricing.md).

    Read by `llmpulse.billing.read_billing`; every token count here is a subset of one
    of `Call`'s counts, named in its comment.

    >>> Billing(service_tier="batch").web_search_calls
    0
    """

    service_tier: str = ""            # batch, flex, priority, default, or another value lower-cased
    cache_write_1h_tokens: int = 0    # of cache_write_tokens: written with a 1-hour TTL
    audio_input_tokens: int = 0       # of input_tokens
    image_input_tokens: int = 0       # of input_tokens
    video_input_tokens: int = 0       # of input_tokens
    audio_cache_read_tokens: int = 0  # of cache_read_tokens and audio_input_tokens
    image_cache_read_tokens: int = 0  # of cache_read_tokens and image_input_tokens
    audio_output_tokens: int = 0      # of output_tokens
    image_output_tokens: int = 0      # of output_tokens
    web_search_calls: int = 0         # provider-run web searches billed per call

    def counts(self) -> tuple[int, ...]:
        """Every count above (for the bound `bounds.max_tokens`).

        >>> max(Billing(audio_input_tokens=5, web_search_calls=2).counts())
        5
        """
        return tuple(getattr(self, f.name) for f in fields(self) if f.name != "service_tier")


@dataclass(slots=True)
class Call:
    trace_id: str = ""              # 32 lower-case hex, "" if unknown
    span_id: str = ""               # 16 lower-case hex
    parent_span_id: str = ""
    service: str = "unknown"
    service_version: str = ""
    operation: str = "chat"
    provider: str = "unknown"
    request_model: str = ""
    response_model: str = ""
    start_ns: int = 0
    end_ns: int = 0
    error_type: str = ""            # "" on success
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    streaming: bool = False
    ttft_s: float | None = None     # time to first token / chunk, seconds
    tpot_s: float | None = None     # time per output token when the span states it
    finish_reasons: tuple[str, ...] = ()   # normalised, see FINISH_REASONS
    span_cost_usd: float | None = None     # cost carried on the span
    cost_usd: float | None = None          # the cost used (span or price table)
    conversation_id: str = ""
    response_id: str = ""           # gen_ai.response.id of a successful call: the same response counts once
    dialect: str = "otel"           # fields up to here are passed by position in Normalizer.normalize
    agent_name: str = ""
    tool_name: str = ""
    prompt_version: str = ""
    dims: tuple[str, ...] = ()      # values of the configured extra dimensions
    evals: list[Eval] = field(default_factory=list)
    guardrail: bool = False
    refusal: bool = False
    retry: bool = False
    fallback: bool = False
    cache_hit: bool = False
    input_text: str | None = None   # only kept when content capture is on
    output_text: str | None = None
    error_raw: str = ""             # the error as the span named it (error_type is its normalised class)
    suppressed: str = ""            # why this call was not counted (a duplicate), "" when it was
    # pricing dimensions (issue 17): None when the span carries none, which is the common case
    billing: Billing | None = None
    ttft_clamped: bool = False      # the span reported a time to first token longer than itself (bounded)
    scope: str = ""                 # instrumentation scope, set on failed calls and calls with a response id

    @property
    def duration_s(self) -> float:
        return max(0, self.end_ns - self.start_ns) / 1e9

    @property
    def is_error(self) -> bool:
        return bool(self.error_type)

    @property
    def is_llm(self) -> bool:
        return self.operation in LLM_OPERATIONS

    @property
    def kind(self) -> str:
        """call, aggregate or other (docs/dialects.md, "Calls, aggregates and the rest")."""
        if self.operation in LLM_OPERATIONS:
            return "call"
        return "aggregate" if self.operation in AGGREGATE_OPERATIONS else "other"
