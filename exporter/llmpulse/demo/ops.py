"""Ground truth of the demo: one `Op` per span, before it is rendered in a dialect.

Tests (and the exporter's end-to-end tests) compare what the exporter
measured with these records.

>>> op = Op(trace_id=b"\\x01" * 16, span_id=b"\\x02" * 8, service="search-api", operation="chat")
>>> op.trace_id_hex[:4], op.is_llm
('0101', True)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llmpulse.demo.catalog import ErrorKind

LLM_OPERATIONS = frozenset({"chat", "embeddings"})
HTTP = "http"   # a non-GenAI HTTP client span


@dataclass(slots=True)
class EvalTruth:
    name: str
    score: float
    label: str
    channel: str          # "span_event", "attributes" (OpenInference) or "log"


@dataclass(slots=True)
class Op:
    trace_id: bytes
    span_id: bytes
    service: str
    operation: str                   # chat, embeddings, retrieval, execute_tool, invoke_agent, invoke_workflow, http
    parent_span_id: bytes = b""
    dialect: str = "otel"
    start_ns: int = 0
    end_ns: int = 0
    name: str = ""                   # agent, workflow, tool or data-source name
    provider: str = ""               # canonical OTel provider name
    model: str = ""                  # request model
    response_model: str = ""
    response_id: str = ""
    max_tokens: int = 0
    temperature: float = 0.0
    stream: bool = False
    ttft_s: float | None = None
    input_tokens: int = 0            # all prompt tokens, cached ones included
    output_tokens: int = 0           # all generated tokens, reasoning included
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    finish: str = ""                 # canonical: stop, length, tool_calls, content_filter
    error: ErrorKind | None = None
    conversation_id: str = ""
    prompt_version: str = ""
    evals: list[EvalTruth] = field(default_factory=list)
    guardrail: str = ""              # name of the guardrail that fired, "" if none
    input_text: str = ""
    output_text: str = ""
    cost_usd: float | None = None    # list-price cost (None = unpriced model)
    service_tier: str = ""           # "batch" for Batch API calls, "" for the default tier
    mixed: bool = False              # carries a second vocabulary as well
    retry: bool = False              # a retry of the failed call just before it
    variant: int = 0                 # picks between equivalent attribute spellings
    url: str = ""                    # HTTP spans
    http_status: int = 200

    @property
    def trace_id_hex(self) -> str:
        return self.trace_id.hex()

    @property
    def span_id_hex(self) -> str:
        return self.span_id.hex()

    @property
    def is_llm(self) -> bool:
        return self.operation in LLM_OPERATIONS

    @property
    def error_type(self) -> str:
        return self.error.error_type if self.error else ""

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9
