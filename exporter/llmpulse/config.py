"""llmpulse configuration: one YAML file, overridable by flags and environment.

Every key has a default; an unknown or misspelled key is an error naming its
path (see `llmpulse.typed`). Environment variables override the file:
`LLMPULSE_AUTH_TOKEN`, `LLMPULSE_OTLP_HTTP_PORT`, `LLMPULSE_OTLP_GRPC_PORT`,
`LLMPULSE_METRICS_PORT`, `LLMPULSE_HOST`, `LLMPULSE_PRICE_FILES` (comma separated).

>>> cfg = load_config(overrides={"server": {"metrics_port": 0}})
>>> cfg.server.metrics_port, cfg.server.otlp_http_port
(0, 4318)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import yaml

from llmpulse.call_log import DYNAMIC_LABELS, LABEL_NAME
from llmpulse.typed import ConfigError, FilePath, build, got, load_yaml, merge, refuse, relative_to, unknown_key_message

__all__ = ["Config", "ConfigError", "ForwardConfig", "LokiContentConfig", "LokiForwardConfig", "OtlpForwardConfig",
           "load_config"]

# OTel GenAI advised boundaries (gen_ai.client.operation.duration), extended
# so that calls of several minutes still land in a finite bucket.
DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24,
                    20.48, 40.96, 81.92, 163.84, 327.68, 655.36]
TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
                 16777216, 67108864]
# Per output chunk: OTel's gen_ai.server.time_per_output_token boundaries, extended downwards.
CHUNK_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4,
                 0.5, 0.75, 1.0, 2.5]
COST_BUCKETS = [0.00001, 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                0.5, 1, 2.5, 5, 10]
TRACE_COST_BUCKETS = [0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
                      25, 50, 100]
SCORE_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
OPERATIONS_BUCKETS = [1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100]
# Seconds a stopping exporter (SIGTERM) may spend draining before it exits: the default of
# `server.shutdown_drain_seconds`. deploy/kubernetes derives terminationGracePeriodSeconds from it.
SHUTDOWN_DRAIN_SECONDS = 10.0

DEFAULT_LABEL_CAPS = {
    "service_name": 100,
    "gen_ai_operation_name": 20,
    "gen_ai_provider_name": 50,
    "gen_ai_request_model": 200,
    "gen_ai_response_model": 200,
    "error_type": 50,
    "gen_ai_tool_name": 100,
    "gen_ai_evaluation_name": 50,
    "gen_ai_evaluation_score_label": 20,
    "service_version": 50,
    "prompt_version": 50,
    "raw_error_type": 50,
}


@dataclass
class ServerConfig:
    host: str = "0.0.0.0"
    otlp_http_port: int = 4318          # 0 picks a free port
    otlp_grpc_port: int = 4317          # 0 picks a free port
    grpc_enabled: bool = True
    metrics_port: int = 9464
    max_body_bytes: int = 16 * 1024 * 1024   # bytes, before and after decompression
    max_concurrent_requests: int = 16       # requests decoded at once; beyond: 503 + Retry-After
    max_connections: int = 256              # open HTTP connections per port; beyond: the idlest is closed
    retry_after_seconds: int = 1
    max_spans_per_request: int = 100_000   # resources + scopes + spans (or log records); beyond: 413
    max_header_bytes: int = 65536          # request line + headers; beyond: 431
    header_timeout_seconds: float = 10.0   # from a request's first byte to the end of its headers; beyond: 408
    body_timeout_seconds: float = 30.0     # from the end of the headers to the end of the body (gRPC: the message)
    idle_timeout_seconds: float = 30.0     # an idle HTTP connection is closed after this long
    send_timeout_seconds: float = 30.0     # an answer the client reads none of for this long: connection closed
    shutdown_drain_seconds: float = 10.0   # on SIGTERM: forwarding queues drain this long at most, then exit
    grpc_max_streams_per_connection: int = 100   # concurrent gRPC streams on one HTTP/2 connection
    grpc_keepalive_seconds: float = 60.0   # ping a gRPC connection idle this long (closed if no answer in 20 s)
    grpc_max_idle_seconds: float = 300.0   # close a gRPC connection without calls for this long
    grpc_max_connections: int = 1024       # open gRPC connections; beyond: a new one is closed at once

    def validate(self) -> list[str]:
        errs = []
        for name in ("otlp_http_port", "otlp_grpc_port", "metrics_port"):
            if not 0 <= getattr(self, name) <= 65535:
                errs.append(f"{name}: must be a port number 0..65535, got {getattr(self, name)}")
        for name in ("max_body_bytes", "max_concurrent_requests", "max_connections", "retry_after_seconds",
                     "max_spans_per_request", "grpc_max_streams_per_connection", "grpc_max_connections"):
            if getattr(self, name) < 1:
                errs.append(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.max_header_bytes < 1024:
            errs.append(f"max_header_bytes: must be >= 1024, got {self.max_header_bytes}")
        for name in ("header_timeout_seconds", "body_timeout_seconds", "idle_timeout_seconds",
                     "send_timeout_seconds", "grpc_keepalive_seconds", "grpc_max_idle_seconds"):
            if not getattr(self, name) > 0:
                errs.append(f"{name}: must be > 0, got {getattr(self, name)}")
        if not self.shutdown_drain_seconds >= 0:
            errs.append(f"shutdown_drain_seconds: must be >= 0, got {self.shutdown_drain_seconds}")
        return errs


@dataclass
class AuthConfig:
    token: str = ""            # bearer token required on ingest, scores (and metrics); "" = off
    token_file: FilePath = ""  # read the token from this file instead
    protect_metrics: bool = True   # also require it on /metrics (health endpoints stay open)
    allow_empty_token_file: bool = False   # an empty token_file turns auth off (the compose
                                           # stack's shipped secret) instead of being an error

    def resolved_token(self) -> str:
        if self.token_file:
            return Path(self.token_file).read_text().strip()
        return self.token

    def validate(self) -> list[str]:
        if self.token_file:
            try:
                if not Path(self.token_file).read_text().strip() and not self.allow_empty_token_file:
                    return [f"token_file: {self.token_file} is empty (set auth.allow_empty_token_file: "
                            "true to run without auth)"]
            except OSError as exc:
                return [f"token_file: cannot read {self.token_file}: {exc.strerror or exc}"]
        return []


@dataclass
class DimensionConfig:
    """An opt-in extra label, read from span then resource attributes."""

    name: str = ""                       # label name, e.g. feature
    attributes: list[str] = field(default_factory=list)   # e.g. [app.feature]
    cap: int = 20                        # distinct values before __overflow__
    default: str = ""

    def validate(self) -> list[str]:
        errs = []
        import re
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", self.name or "") or self.name.startswith("__"):
            errs.append(f"name: must be a Prometheus label name ([a-z_][a-z0-9_]*, no leading __), "
                        f"got {got(self.name)}")
        if self.name in FORBIDDEN_DIMENSIONS:
            errs.append(f"name: {self.name!r} is an identifier, never a label")
        elif self.name in BUILTIN_LABELS:
            # the families a dimension joins would carry the label twice: Prometheus refuses the scrape
            errs.append(f"name: {self.name!r} is a label llmpulse sets itself")
        if not self.attributes:
            errs.append("attributes: name at least one attribute")
        if self.cap < 1:
            errs.append(f"cap: must be >= 1, got {self.cap}")
        return errs


# Labels llmpulse's own families carry (the capped ones and the fixed vocabularies): no dimension's name.
BUILTIN_LABELS = frozenset(DEFAULT_LABEL_CAPS) | {"gen_ai_token_type", "gen_ai_response_finish_reason"}

FORBIDDEN_DIMENSIONS = frozenset({"trace_id", "span_id", "user_id", "session_id", "conversation_id",
                                  "user", "prompt", "completion", "le", "job", "instance"})


@dataclass
class MetricsConfig:
    duration_buckets: list[float] = field(default_factory=lambda: list(DURATION_BUCKETS))
    token_buckets: list[float] = field(default_factory=lambda: list(TOKEN_BUCKETS))
    chunk_buckets: list[float] = field(default_factory=lambda: list(CHUNK_BUCKETS))
    cost_buckets: list[float] = field(default_factory=lambda: list(COST_BUCKETS))
    trace_cost_buckets: list[float] = field(default_factory=lambda: list(TRACE_COST_BUCKETS))
    score_buckets: list[float] = field(default_factory=lambda: list(SCORE_BUCKETS))
    operations_buckets: list[float] = field(default_factory=lambda: list(OPERATIONS_BUCKETS))
    label_caps: dict[str, int] = field(default_factory=dict)   # merged over DEFAULT_LABEL_CAPS
    max_label_length: int = 128          # characters; longer values are cut
    dimensions: list[DimensionConfig] = field(default_factory=list)
    deployment_info_ttl_seconds: float = 3600   # a version combination not seen for this long expires
    exemplars: bool = True
    raw_error_types: bool = False        # also count llm_raw_errors_total{raw_error_type} (error.type as sent)

    def caps(self) -> dict[str, int]:
        caps = dict(DEFAULT_LABEL_CAPS)
        caps.update(self.label_caps)
        for dim in self.dimensions:
            caps[dim.name] = dim.cap
        return caps

    def validate(self) -> list[str]:
        errs = []
        for name in ("duration_buckets", "token_buckets", "chunk_buckets", "cost_buckets",
                     "trace_cost_buckets", "score_buckets", "operations_buckets"):
            b = getattr(self, name)
            if not b or any(x >= y for x, y in zip(b, b[1:])):
                errs.append(f"{name}: must be a non-empty, strictly increasing list, got {got(b)}")
        dims = {d.name: i for i, d in enumerate(self.dimensions)}
        for label, cap in self.label_caps.items():
            if label in dims:
                errs.append(f"label_caps.{label}: a dimension's cap is metrics.dimensions[{dims[label]}].cap")
            elif label not in DEFAULT_LABEL_CAPS:
                errs.append(f"label_caps.{label}: {unknown_key_message(label, DEFAULT_LABEL_CAPS)}")
            elif cap < 1:
                errs.append(f"label_caps.{label}: must be >= 1, got {cap}")
        if self.max_label_length < 1:
            errs.append(f"max_label_length: must be >= 1, got {self.max_label_length}")
        if not self.deployment_info_ttl_seconds > 0:
            errs.append(f"deployment_info_ttl_seconds: must be > 0, got {self.deployment_info_ttl_seconds}")
        names = [d.name for d in self.dimensions]
        for dup in sorted({n for n in names if names.count(n) > 1}):
            errs.append(f"dimensions: {dup!r} named twice")
        return errs


@dataclass
class SignalsConfig:
    """Span attributes that mark signals no convention defines (truthy value = yes)."""

    guardrail_attributes: list[str] = field(default_factory=lambda: [
        "llmpulse.guardrail.triggered", "gen_ai.guardrail.triggered", "guardrail.triggered"])
    refusal_attributes: list[str] = field(default_factory=lambda: [
        "llmpulse.refusal", "gen_ai.response.refusal", "llm.refusal"])
    retry_attributes: list[str] = field(default_factory=lambda: [
        "llmpulse.retry", "gen_ai.request.retry", "http.request.resend_count", "llm.retry_count"])
    fallback_attributes: list[str] = field(default_factory=lambda: [
        "llmpulse.fallback", "gen_ai.request.fallback", "llm.fallback"])
    cache_hit_attributes: list[str] = field(default_factory=lambda: [
        "llmpulse.cache.hit", "gen_ai.cache.hit", "llm.cache_hit", "cache_hit"])
    prompt_version_attributes: list[str] = field(default_factory=lambda: [
        "llmpulse.prompt.version", "gen_ai.prompt.version", "prompt.version",
        "llm.prompt_template.version", "traceloop.association.properties.prompt_version"])


@dataclass
class TokensConfig:
    # Instrumentation scope names (prefix match) or provider names whose
    # input token count EXCLUDES cached tokens (Anthropic's raw usage does).
    # Without a match, input is taken to include them (the OTel definition),
    # unless cache_read + cache_write exceed it, which proves the opposite.
    input_excludes_cache: list[str] = field(default_factory=list)


@dataclass
class PriceSourceConfig:
    """A community price table (docs/pricing.md): a file, or opt-in, a URL refreshed on an interval."""

    path: FilePath = ""            # a file: LiteLLM JSON (.json, .json.gz) or an llmpulse YAML table
    url: str = ""                  # or an http(s) URL
    format: str = "litellm"        # litellm | llmpulse
    name: str = ""                 # label in llmpulse_price_source_* metrics (default: source<i>)
    refresh_seconds: float = 0     # URL only: fetch again this often (0: once, at start)
    cache_file: FilePath = ""      # URL only: the last good copy, written after each fetch, read when one fails
    timeout_seconds: float = 30

    def validate(self) -> list[str]:
        errs = []
        if bool(self.path) == bool(self.url):
            errs.append("path: give exactly one of path or url")
        if self.format not in ("litellm", "llmpulse"):
            errs.append(f"format: must be litellm or llmpulse, got {got(self.format)}")
        if self.refresh_seconds < 0 or (self.refresh_seconds and self.refresh_seconds < 60):
            errs.append(f"refresh_seconds: must be 0 (never) or >= 60, got {self.refresh_seconds}")
        if self.path and (self.refresh_seconds or self.cache_file):
            errs.append("refresh_seconds and cache_file are for url sources")
        if self.timeout_seconds <= 0:
            errs.append(f"timeout_seconds: must be > 0, got {self.timeout_seconds}")
        return errs


@dataclass
class PricingConfig:
    files: list[FilePath] = field(default_factory=list)   # user price tables, later files win
    use_span_cost: bool = True   # trust a cost the span carries (gen_ai.usage.cost, llm.cost.total, ...)
    # a span cost of exactly 0 for a model the price table prices is taken as "not known" (OpenLIT sends 0
    # when it could not load its own prices) and the table's price is used
    zero_span_cost_is_missing: bool = True
    sources: list[PriceSourceConfig] = field(default_factory=list)   # community tables, e.g. LiteLLM's
    prefer: str = "builtin"      # builtin: the built-in table (and files) win where both price a model; or sources

    def validate(self) -> list[str]:
        errs = [] if self.prefer in ("builtin", "sources") else [f"prefer: must be builtin or sources, got {got(self.prefer)}"]
        names = [s.name or f"source{i}" for i, s in enumerate(self.sources)]
        errs += [f"sources: name {n!r} used twice" for n in sorted({n for n in names if names.count(n) > 1})]
        return errs


@dataclass
class TrackingConfig:
    trace_idle_seconds: float = 15          # a trace is complete once idle this long
    max_traces: int = 50_000
    conversation_idle_seconds: float = 600  # a conversation's cost is observed once idle this long
    max_conversations: int = 50_000
    remember_spans: int = 100_000           # spans remembered for late scores
    dedupe_spans: int = 200_000             # (trace, span) ids remembered to drop resent spans
    remember_responses: int = 100_000       # (provider, gen_ai.response.id) remembered: a response counts once
    aggregate_wait_seconds: float = 10      # how long an agent span with tokens waits for a call of its trace
    max_pending_aggregates: int = 10_000    # agent spans waiting at once; beyond, the oldest is decided early

    def validate(self) -> list[str]:
        return [f"{n}: must be > 0, got {getattr(self, n)}" for n in ("trace_idle_seconds", "max_traces", "conversation_idle_seconds",
                                               "max_conversations", "remember_spans", "dedupe_spans",
                                               "remember_responses", "aggregate_wait_seconds",
                                               "max_pending_aggregates")
                if getattr(self, n) <= 0]



# --- forwarding (llmpulse.forward) ---------------------------------------------

@dataclass
class OtlpForwardConfig:
    """Spans forwarded unchanged to an OTLP/HTTP endpoint (Tempo, a Collector...)."""

    endpoint: str = ""                 # "" = off; a bare http://host:port gets /v1/traces appended
    headers: dict[str, str] = field(default_factory=dict)   # e.g. {"X-Scope-OrgID": "team-a"}
    compression: str = "gzip"          # gzip | none
    queue_max_requests: int = 1000     # OTLP requests waiting; beyond this they are dropped
    max_batch_bytes: int = 4_194_304   # protobuf requests are merged up to this size, bytes
    timeout_seconds: float = 10.0      # per HTTP attempt
    max_retries: int = 5               # retries after the first attempt (429/502/503/504, network errors)
    backoff_initial_seconds: float = 0.5
    backoff_max_seconds: float = 30.0  # also caps a Retry-After

    def validate(self) -> list[str]:
        errs = _http_url("endpoint", self.endpoint) + _retry(self, "queue_max_requests")
        if self.compression not in ("gzip", "none"):
            errs.append(f"compression: must be gzip or none, got {got(self.compression)}")
        if self.max_batch_bytes < 1:
            errs.append(f"max_batch_bytes: must be >= 1, got {self.max_batch_bytes}")
        return errs

    def __post_init__(self) -> None:
        refuse(self)        # built in code too (llmpulse.forward's tests): refused there as in a file


@dataclass
class LokiContentConfig:
    """Prompt and completion text in the log lines. Off by default.

    There is deliberately no switch to turn redaction off: when text is logged it
    is always redacted (llmpulse.redact) before it leaves the process.
    """

    enabled: bool = False
    sample_rate: float = 0.01          # fraction (0..1) of ordinary calls whose text is kept, by trace id
    max_chars: int = 4000              # per prompt / completion, after redaction, characters
    always_on_error: bool = True       # keep text of failed calls
    always_on_low_score: bool = True   # keep text of calls with an eval score below the threshold (or label "fail")
    low_score_threshold: float = 0.5   # eval score, 0..1 higher is better
    always_on_guardrail: bool = True   # keep text of calls that tripped a guardrail or were refused
    extra_redact_patterns: list[str] = field(default_factory=list)  # regexes -> [REDACTED:custom]

    def validate(self) -> list[str]:
        errs = []
        if not 0.0 <= self.sample_rate <= 1.0:
            errs.append(f"sample_rate: must be a number in [0, 1], got {self.sample_rate}")
        if not 1 <= self.max_chars <= 1_000_000:
            errs.append(f"max_chars: must be an integer in [1, 1000000], got {self.max_chars}")
        for i, pattern in enumerate(self.extra_redact_patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                errs.append(f"extra_redact_patterns[{i}]: not a valid regular expression: {exc}")
        return errs

    def __post_init__(self) -> None:
        refuse(self)


@dataclass
class LokiForwardConfig:
    """One JSON log line per LLM call, pushed to Loki."""

    url: str = ""                      # "" = off; base URL, /loki/api/v1/push is appended
    headers: dict[str, str] = field(default_factory=dict)   # e.g. {"X-Scope-OrgID": "team-a"}
    labels: dict[str, str] = field(default_factory=lambda: {"job": "llmpulse"})  # static stream labels
    max_label_values: int = 200        # distinct values per dynamic label, then __overflow__
    batch_max_lines: int = 500         # lines per push
    batch_interval_seconds: float = 1.0  # longest a line waits for its batch to fill
    queue_max_lines: int = 10000       # calls waiting; beyond this they are dropped
    timeout_seconds: float = 10.0
    max_retries: int = 5
    backoff_initial_seconds: float = 0.5
    backoff_max_seconds: float = 30.0
    content: LokiContentConfig = field(default_factory=LokiContentConfig)

    def validate(self) -> list[str]:
        errs = _http_url("url", self.url) + _retry(self, "queue_max_lines")
        for name in self.labels:
            if not LABEL_NAME.match(name):
                errs.append(f"labels.{name}: not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)")
            elif name in DYNAMIC_LABELS:
                errs.append(f"labels.{name}: set by llmpulse, cannot be a static label")
        for key in ("batch_max_lines", "max_label_values"):
            if getattr(self, key) < 1:
                errs.append(f"{key}: must be >= 1, got {getattr(self, key)}")
        if self.batch_interval_seconds <= 0:
            errs.append(f"batch_interval_seconds: must be > 0, got {self.batch_interval_seconds}")
        return errs

    def __post_init__(self) -> None:
        refuse(self)


@dataclass
class ForwardConfig:
    otlp: OtlpForwardConfig = field(default_factory=OtlpForwardConfig)
    loki: LokiForwardConfig = field(default_factory=LokiForwardConfig)


def _http_url(key: str, url: str) -> list[str]:
    if url and urlsplit(url).scheme not in ("http", "https"):
        return [f"{key}: must be an http:// or https:// URL, got {got(url)}"]
    return []


def _retry(cfg: OtlpForwardConfig | LokiForwardConfig, queue_key: str) -> list[str]:
    """The queue and retry knobs both forwarders share."""
    errs = []
    if getattr(cfg, queue_key) < 1:
        errs.append(f"{queue_key}: must be >= 1, got {getattr(cfg, queue_key)}")
    if cfg.timeout_seconds <= 0:
        errs.append(f"timeout_seconds: must be > 0, got {cfg.timeout_seconds}")
    if cfg.max_retries < 0:
        errs.append(f"max_retries: must be >= 0, got {cfg.max_retries}")
    if cfg.backoff_initial_seconds < 0:
        errs.append(f"backoff_initial_seconds: must be >= 0, got {cfg.backoff_initial_seconds}")
    elif cfg.backoff_max_seconds < cfg.backoff_initial_seconds:
        errs.append(f"backoff_max_seconds: must be >= backoff_initial_seconds ({cfg.backoff_initial_seconds}), "
                    f"got {cfg.backoff_max_seconds}")
    return errs


@dataclass
class BoundsConfig:
    """What one span or score may claim: beyond a bound it is rejected (`llmpulse_spans_rejected_total{reason}`,
    `llmpulse_scores_rejected_total{reason}`),
    so that one broken span (a start time in seconds, a token count of 2^62, a cost of 1e300) cannot add
    years, exabytes or a fortune to counters that never go down, and leave them too large for later
    calls' increments to register (a float64 counter at 1e13 cannot add $0.001)."""

    max_duration_seconds: float = 86_400    # seconds; longer: invalid_time (a start time given in seconds, not ns)
    max_tokens: int = 100_000_000           # tokens of each kind in one span; more: invalid_tokens
    max_cost_usd: float = 10_000            # US dollars carried on one span; more: invalid_cost
    max_abs_score: float = 1_000_000        # an evaluation score (span, log record, /v1/scores) larger in size:
                                            # invalid_score (scores are on any scale: 0-1, 1-5, 0-100)

    def validate(self) -> list[str]:
        return [f"{n}: must be > 0, got {getattr(self, n)}" for n in ("max_duration_seconds", "max_tokens",
                                                                    "max_cost_usd", "max_abs_score")
                if not getattr(self, n) > 0]


@dataclass
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    signals: SignalsConfig = field(default_factory=SignalsConfig)
    tokens: TokensConfig = field(default_factory=TokensConfig)
    pricing: PricingConfig = field(default_factory=PricingConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    bounds: BoundsConfig = field(default_factory=BoundsConfig)
    forward: ForwardConfig = field(default_factory=ForwardConfig)


ENV: dict[str, tuple[str, str, Callable[[str], Any]]] = {
    "LLMPULSE_HOST": ("server", "host", str),
    "LLMPULSE_OTLP_HTTP_PORT": ("server", "otlp_http_port", int),
    "LLMPULSE_OTLP_GRPC_PORT": ("server", "otlp_grpc_port", int),
    "LLMPULSE_METRICS_PORT": ("server", "metrics_port", int),
    "LLMPULSE_AUTH_TOKEN": ("auth", "token", str),
    "LLMPULSE_AUTH_TOKEN_FILE": ("auth", "token_file", str),
    "LLMPULSE_PRICE_FILES": ("pricing", "files", lambda s: [p for p in s.split(",") if p]),
}


def _env_overrides(environ: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The variables' values by section and key, and their problems (`$VAR: key path: message`)."""
    out: dict[str, dict[str, Any]] = {}
    errs = []
    for var, (section, key, conv) in ENV.items():
        if var in environ:
            try:
                out.setdefault(section, {})[key] = conv(environ[var])
            except ValueError:          # only int() can fail
                errs.append(f"${var}: {section}.{key}: must be an integer, got {got(environ[var])}")
    return out, errs


def load_config(path: str | os.PathLike[str] | None = None, overrides: dict[str, Any] | None = None,
                environ: dict[str, str] | None = None, overrides_source: str = "") -> Config:
    """Defaults < file < environment < overrides (flags). Raises ConfigError; a problem with a value
    the overrides set is reported under `overrides_source` (the commands pass "command line")."""
    data: dict[str, Any] = {}
    where = "config"
    if path:
        where = str(path)
        try:
            loaded = load_yaml(Path(path).read_text())
        except OSError as exc:
            raise ConfigError([f"{where}: cannot read: {exc.strerror}"]) from None
        except yaml.YAMLError as exc:
            raise ConfigError([f"{where}: not valid YAML: {exc}"]) from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError([f"{where}: must be a mapping at the top level"])
        # Relative paths in the file are relative to its folder, joined as Prometheus joins them (so a
        # relative config path gives paths relative to the working directory, shown as the user wrote
        # them); the environment's and the flags' stay relative to the working directory.
        data = relative_to(Config, loaded or {}, os.path.dirname(path))
    variables = dict(os.environ if environ is None else environ)
    env, env_errs = _env_overrides(variables)
    data = merge(merge(data, env), overrides or {})
    try:
        cfg = build(Config, data, where)
    except ConfigError as exc:          # every problem at once: the file's, then the environment's
        # a problem with a value the environment or a flag set is theirs, not the file's
        layers = [(overrides_source, _key_paths(overrides or {}))] if overrides_source else []
        layers += [(f"${var}", {f"{section}.{key}"}) for var, (section, key, _) in ENV.items() if var in variables]
        raise ConfigError([*(_blame(p, where, layers) for p in exc.problems), *env_errs]) from None
    if env_errs:
        raise ConfigError(env_errs)
    return cfg


def _key_paths(layer: dict[str, Any], prefix: str = "") -> set[str]:
    """The key paths a layer sets: `_key_paths({"server": {"host": "x"}}) == {"server.host"}`."""
    out: set[str] = set()
    for key, value in layer.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        out |= _key_paths(value, path) if isinstance(value, dict) and value else {path}
    return out


def _blame(problem: str, where: str, layers: list[tuple[str, set[str]]]) -> str:
    """`problem` ("<where>: <key path>: ...") under the name of the layer that set that key, if one did.

    >>> _blame("cfg.yaml: server.metrics_port: must be a port", "cfg.yaml", [("command line", {"server.metrics_port"})])
    'command line: server.metrics_port: must be a port'
    """
    rest = problem.removeprefix(f"{where}: ")
    key = rest.partition(": ")[0]
    for name, paths in layers:
        if any(key == p or key.startswith((p + ".", p + "[")) for p in paths):
            return f"{name}: {rest}"
    return problem
