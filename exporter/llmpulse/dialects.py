"""Turn a span of any GenAI dialect into one `Call`.

Dialects understood (docs/dialects.md has the full table): OpenTelemetry GenAI
v1.26 to the latest, OpenLLMetry (current and legacy), OpenInference, OpenLIT
and vLLM. Where a span carries two vocabularies, the first listed name wins and
the span is still one call.

>>> from llmpulse.config import load_config
>>> from llmpulse.otlp import RawSpan
>>> n = Normalizer(load_config())
>>> s = RawSpan("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "", "chat gpt-4o", 3,
...             1_000_000_000, 3_000_000_000, 0, "", {"gen_ai.system": "OpenAI",
...             "gen_ai.request.model": "gpt-4o", "gen_ai.usage.prompt_tokens": 10}, [],
...             {"service.name": "shop"}, "")
>>> c = n.normalize(s)
>>> c.provider, c.operation, c.input_tokens, c.duration_s, c.dialect
('openai', 'chat', 10, 2.0, 'otel_legacy')
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from llmpulse import billing, vocab
from llmpulse.config import Config
from llmpulse.otlp import STATUS_ERROR, Keys, RawSpan
from llmpulse.records import EVALUATION, LLM_OPERATIONS, Call, Eval

DIALECTS = ("otel", "otel_legacy", "openllmetry", "openinference", "openlit", "vllm", "vercel_ai", "strands")

# Attribute names, most specific first. Each tuple is read with `_first`.
INPUT_TOKENS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.usage.prompt_tokens",
                "llm.token_count.prompt", "ai.usage.inputTokens", "ai.usage.promptTokens", "ai.usage.tokens")
OUTPUT_TOKENS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
                 "llm.usage.completion_tokens", "llm.token_count.completion", "ai.usage.outputTokens",
                 "ai.usage.completionTokens")
CACHE_READ = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
              "llm.token_count.prompt_details.cache_read", "gen_ai.usage.prompt_tokens_details.cached_tokens",
              "llm.usage.cache_read_input_tokens", "gen_ai.usage.input_tokens.cached",
              "gen_ai.usage.details.cache_read_tokens", "ai.usage.inputTokenDetails.cacheReadTokens",
              "ai.usage.cachedInputTokens")
CACHE_WRITE = ("gen_ai.usage.cache_write.input_tokens", "gen_ai.usage.cache_creation.input_tokens",
               "gen_ai.usage.cache_creation_input_tokens", "llm.token_count.prompt_details.cache_write",
               "llm.usage.cache_creation_input_tokens", "gen_ai.usage.cache_write_input_tokens",
               "gen_ai.usage.details.cache_write_tokens", "gen_ai.usage.details.cache_creation_input_tokens",
               "ai.usage.inputTokenDetails.cacheWriteTokens")
REASONING = ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens",
             "llm.usage.reasoning_tokens", "llm.token_count.completion_details.reasoning",
             "gen_ai.usage.reasoning_output_tokens", "gen_ai.usage.output_tokens.reasoning",
             "gen_ai.usage.details.reasoning_tokens", "ai.usage.outputTokenDetails.reasoningTokens",
             "ai.usage.reasoningTokens")
TTFT = ("gen_ai.response.time_to_first_chunk", "gen_ai.client.operation.time_to_first_chunk",
        "gen_ai.client.inference.time_to_first_chunk", "gen_ai.server.time_to_first_token",
        "gen_ai.latency.time_to_first_token", "gen_ai.response.time_to_first_token")
TTFT_MS = ("ai.response.msToFirstChunk", "ai.stream.msToFirstChunk")      # Vercel AI SDK, milliseconds
TPOT = ("gen_ai.server.time_per_output_token",)
STREAM = ("gen_ai.request.stream", "gen_ai.is_streaming", "llm.is_streaming", "gen_ai.request.is_stream")
# span cost in US dollars: gen_ai.usage.cost.amount (proposed OTel, only with currency USD or none), OpenLIT,
# OpenInference, LiteLLM, pydantic-ai / Logfire
SPAN_COST = ("gen_ai.usage.cost.amount", "gen_ai.usage.cost", "llm.cost.total", "litellm.cost.total",
             "operation.cost", "gen_ai.cost.total_cost")      # the last: LiteLLM's legacy otel callback
COST_CURRENCY = "gen_ai.usage.cost.currency"
CONVERSATION = ("gen_ai.conversation.id", "session.id", "gen_ai.session.id",
                "traceloop.association.properties.conversation_id",
                "traceloop.association.properties.session_id", "thread.id")
AGENT = ("gen_ai.agent.name", "agent.name", "ai.telemetry.functionId")
TOOL = ("gen_ai.tool.name", "tool.name", "ai.toolCall.name")
FINISH = ("gen_ai.response.finish_reasons", "gen_ai.response.finish_reason", "llm.response.finish_reason",
          "gen_ai.completion.0.finish_reason", "llm.finish_reason", "ai.response.finishReason",
          "anthropic.message.stop_reason")        # the anthropic SDK's own spans (2.16)
REQUEST_MODEL = ("gen_ai.request.model", "llm.request.model", "llm.request.model_name", "embedding.model_name",
                 "ai.model.id")
RESPONSE_MODEL = ("gen_ai.response.model", "llm.response.model", "llm.response.model_name", "llm.model_name",
                  "ai.response.model")
RESPONSE_ID = ("gen_ai.response.id", "ai.response.id")
HTTP_STATUS = ("http.response.status_code", "http.status_code", "litellm.provider.error.status_code")

PROVIDER = ("gen_ai.provider.name", "gen_ai.system", "ai.model.provider")

# Every group `Normalizer.normalize` reads, in the order of `_pick`'s answer (configured groups follow).
GROUPS = (PROVIDER, RESPONSE_MODEL, REQUEST_MODEL, INPUT_TOKENS, OUTPUT_TOKENS, CACHE_READ, CACHE_WRITE,
          REASONING, TTFT, TPOT, STREAM, SPAN_COST, CONVERSATION, TOOL, AGENT, FINISH, TTFT_MS, RESPONSE_ID)
(G_PROVIDER, G_RESPONSE_MODEL, G_REQUEST_MODEL, G_INPUT, G_OUTPUT, G_CACHE_READ, G_CACHE_WRITE, G_REASONING,
 G_TTFT, G_TPOT, G_STREAM, G_SPAN_COST, G_CONVERSATION, G_TOOL, G_AGENT, G_FINISH, G_TTFT_MS,
 G_RESPONSE_ID) = range(len(GROUPS))
G_PROMPT_VERSION = len(GROUPS)          # then one group per configured dimension
PLAN_CACHE_SIZE = 4096                  # distinct span attribute name lists remembered by `Normalizer._pick`

MAX_FUTURE_NS = 24 * 3600 * 10**9     # end timestamps more than a day ahead are rejected

# Every other span attribute `Normalizer` reads (tests/test_perf_keys.py keeps this list complete).
OTHER_KEYS = ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.system", "error.type",
              "gen_ai.latency.e2e", "llm.invocation_parameters", "llm.provider", "llm.system", "llm.request.type",
              "llm.usage.total_tokens", "openinference.span.kind", "service.name", "service.version",
              "traceloop.entity.name", "traceloop.span.kind", "telemetry.sdk.name", "ai.operationId",
              "embedding.invocation_parameters", COST_CURRENCY, "metadata", "output.value", "eval.name",
              "eval.score", "eval.label", "llm.token_count.total", "litellm.provider.model") + HTTP_STATUS
CONTENT_KEYS = ("gen_ai.input.messages", "input.value", "gen_ai.prompt.0.content", "gen_ai.prompt",
                "gen_ai.output.messages", "output.value", "gen_ai.completion.0.content", "gen_ai.completion")
KEY_PREFIXES = ("evaluations.",)       # evaluations.<i>.evaluation.{name,score,label}


class SpanRejected(Exception):
    """A span that cannot be counted; `reason` is a bounded label value."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def _first(attrs: dict, names: tuple[str, ...]) -> Any:
    for n in names:
        v = attrs.get(n)
        if v is not None and v != "":
            return v
    return None


def _count(v: Any, what: str) -> int | None:
    """A token count as given (None when absent), or SpanRejected."""
    if v is None:
        return None
    if v.__class__ is int and v >= 0:      # the common case first (a bool is not exactly int)
        return v
    if isinstance(v, bool):
        raise SpanRejected("invalid_tokens", f"{what}: {v!r} is not a token count")
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            raise SpanRejected("invalid_tokens", f"{what}: {v!r} is not a token count") from None
    if isinstance(v, float):
        if not math.isfinite(v) or not v.is_integer():
            raise SpanRejected("invalid_tokens", f"{what}: {v!r} is not a whole finite number")
        v = int(v)
    if not isinstance(v, int) or v < 0:
        raise SpanRejected("invalid_tokens", f"{what}: {v!r} is negative or not a number")
    return v


def _seconds(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) and f >= 0 else None


def _truthy(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v > 0
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "yes", "y", "triggered", "blocked", "hit")
    return False


def _invocation_params(attrs: dict, name: str = "llm.invocation_parameters") -> dict:
    return _json_object(attrs.get(name))


def _model_from_name(span_name: str) -> str:
    # OTel span names are "{operation} {model}", e.g. "chat gpt-4o".
    op, _, rest = span_name.partition(" ")
    if rest and vocab.operation_name(op):
        return rest.strip()
    return ""


def _strip_route(model: str, provider: str) -> str:
    """ "openai/gpt-4o-mini" -> "gpt-4o-mini" where the route prefix names the span's provider.

    >>> _strip_route("openai/gpt-4o-mini", "openai"), _strip_route("meta-llama/Llama-3-8B", "vllm")
    ('gpt-4o-mini', 'meta-llama/Llama-3-8B')
    """
    head, _, rest = model.partition("/")
    if rest and head and vocab.provider_name(head) == provider:
        return rest
    return model


FINISH_MEMO_SIZE = 1024        # distinct finish-reason values remembered (they come from senders: bounded)


def _finish_reasons(v: Any) -> tuple[str, ...]:
    """Normalised finish reasons of an attribute value; a string seen before costs one lookup.

    >>> _finish_reasons('["stop", "length"]'), _finish_reasons(["STOP"]), _finish_reasons(3)
    (('stop', 'length'), ('stop',), ())
    """
    if v is None:
        return ()
    if v.__class__ is not str or len(v) > 256:      # remembered values stay small (a list reads as fast)
        return _read_finish_reasons(v)
    return _remembered_finish_reasons(v)


def _read_finish_reasons(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        s = v.strip()
        if s.startswith("["):
            try:
                parsed = json.loads(s)
                if isinstance(parsed, list):
                    v = parsed
            except ValueError:
                pass
    items = v if isinstance(v, list) else [v]
    out = []
    for item in items[:8]:
        if isinstance(item, str) and item:
            r = vocab.finish_reason(item)
            if r not in out:
                out.append(r)
    return tuple(out)


_remembered_finish_reasons, _finish_memo = vocab.bounded_memo(_read_finish_reasons, FINISH_MEMO_SIZE)


def _event_kind(name: str) -> str:
    n = name.lower().replace(" ", "_").replace(".", "_").replace("-", "_")
    if "first_token" in n or "first_chunk" in n:
        return "first"
    if n.endswith("chunk"):          # e.g. OpenLLMetry's llm.content.completion.chunk
        return "chunk"
    return ""


def _ttft_from_events(s: RawSpan) -> float | None:
    """An explicit first-token event, else the earliest streamed-chunk event."""
    earliest = None
    for ev in s.events:
        if ev.time_ns < s.start_ns:
            continue
        kind = _event_kind(ev.name)
        if kind == "first":
            return (ev.time_ns - s.start_ns) / 1e9
        if kind == "chunk" and (earliest is None or ev.time_ns < earliest):
            earliest = ev.time_ns
    return None if earliest is None else (earliest - s.start_ns) / 1e9


def _finish_from_events(s: RawSpan) -> tuple[str, ...]:
    """Finish reasons carried only on `gen_ai.choice` span events (Strands: attribute finish_reason)."""
    found = [ev.attrs.get("finish_reason") for ev in s.events if ev.name == "gen_ai.choice"]
    return _finish_reasons([r for r in found if isinstance(r, str)])


def _json_object(raw: Any) -> dict:
    if not isinstance(raw, str) or not raw.startswith("{") or len(raw) > 65536:
        return {}
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _real_provider(attrs: dict, model: str) -> str:
    """The provider of a span whose provider attribute names a framework: another provider attribute
    that names a provider, else the one the model id implies (`vocab.provider_from_model`)."""
    for name in PROVIDER + ("llm.provider", "llm.system"):
        v = attrs.get(name)
        if isinstance(v, str) and v:
            p = vocab.provider_name(v)
            if p not in vocab.FRAMEWORKS:
                return p
    return vocab.provider_from_model(model) if model else "unknown"


def _evaluator(s: RawSpan, attrs: dict, max_abs_score: float) -> Eval | None:
    """An OpenInference EVALUATOR span as one Eval: `eval.{name,score,label}`, else the same keys in the
    `output.value` or `metadata` JSON objects (`evaluator_name` too); the span name names it otherwise."""
    out, meta = _json_object(attrs.get("output.value")), _json_object(attrs.get("metadata"))

    def pick(*keys):
        for source, key in ((attrs, "eval." + keys[0]), *((d, k) for d in (out, meta) for k in keys)):
            v = source.get(key)
            if v is not None and v != "":
                return v
        return None

    score, label = pick("score", "value"), pick("label")
    if score is None and label is None:
        return None
    e = eval_from_attrs({"gen_ai.evaluation.name": pick("name", "evaluator_name", "eval_name") or s.name,
                         "gen_ai.evaluation.score.value": score, "gen_ai.evaluation.score.label": label})
    problem = score_problem(e.score, max_abs_score)
    if problem:
        raise SpanRejected("invalid_score", f"span {s.span_id}: evaluation {e.name!r} score {problem}")
    return e


def detect_dialect(attrs: dict, resource: dict) -> str:
    if "openinference.span.kind" in attrs:
        return "openinference"
    if "ai.operationId" in attrs:
        return "vercel_ai"
    if ("gen_ai.usage.cost" in attrs or "gen_ai.server.time_to_first_token" in attrs
            or resource.get("telemetry.sdk.name") == "openlit"):
        return "openlit"
    if ("traceloop.span.kind" in attrs or "llm.request.type" in attrs or "llm.usage.total_tokens" in attrs
            or "traceloop.entity.name" in attrs):
        return "openllmetry"
    if "gen_ai.latency.time_to_first_token" in attrs or "gen_ai.latency.e2e" in attrs:
        return "vllm"
    if "gen_ai.system" in attrs and "gen_ai.provider.name" not in attrs:
        return "otel_legacy"       # conventions before v1.37
    return "otel"


class Normalizer:
    """Stateless span -> Call conversion, configured once."""

    def __init__(self, cfg: Config, capture_content: bool = False):
        sig = cfg.signals
        self.guardrail = tuple(sig.guardrail_attributes)
        self.refusal = tuple(sig.refusal_attributes)
        self.retry = tuple(sig.retry_attributes)
        self.fallback = tuple(sig.fallback_attributes)
        self.cache_hit = tuple(sig.cache_hit_attributes)
        self.prompt_version = tuple(sig.prompt_version_attributes)
        self.dims = [(tuple(d.attributes), d.default) for d in cfg.metrics.dimensions]
        self.excludes_cache = tuple(x.lower() for x in cfg.tokens.input_excludes_cache)
        self.max_span_ns = int(cfg.bounds.max_duration_seconds * 1e9)
        self.max_tokens = cfg.bounds.max_tokens
        self.max_cost = cfg.bounds.max_cost_usd
        self.max_abs_score = cfg.bounds.max_abs_score
        self.capture_content = capture_content
        self.signals = frozenset(self.guardrail + self.refusal + self.retry + self.fallback + self.cache_hit)
        groups = GROUPS + (self.prompt_version,) + tuple(names for names, _default in self.dims)
        groups += (billing.SERVICE_TIER, billing.USAGE_KEYS)    # pricing dimensions (llmpulse.billing)
        self.g_tier = len(groups) - 2           # then g_tier + 1: any per-modality / 1-hour / web search count
        index: dict[str, list[tuple[int, int]]] = {}
        for g, names in enumerate(groups):
            for rank, name in enumerate(names):
                index.setdefault(name, []).append((g, rank))
        self.groups = {name: tuple(hits) for name, hits in index.items()}   # name -> ((group, rank), ...)
        self.ngroups = len(groups)
        self._plans: dict[tuple, tuple] = {}                 # attribute names -> `_plan`
        self._last_resource: tuple = (None,)
        wanted = {name for group in GROUPS for name in group}
        wanted.update(OTHER_KEYS)
        wanted.update(self.signals, self.prompt_version, billing.KEYS)
        for attributes, _default in self.dims:
            wanted.update(attributes)
        if capture_content:
            wanted.update(CONTENT_KEYS)
        self.keys = Keys(wanted, KEY_PREFIXES)   # span attributes worth decoding (llmpulse.otlp skips the rest)

    def _pick(self, attrs: dict) -> tuple[list, tuple]:
        """Each group's value as `_first` would read it (the first name with a value not None or ""),
        and the span's `_plan`.

        Spans from one instrumentation carry the same attribute names span after span, so the
        names are looked up once per distinct list of names (`_plan`, remembered): then only the
        groups the span has are read, each in rank order.

        >>> from llmpulse.config import load_config
        >>> p, _ = Normalizer(load_config())._pick({"gen_ai.usage.prompt_tokens": 3, "gen_ai.usage.input_tokens": 5,
        ...                                         "gen_ai.system": "", "x": 1})
        >>> p[G_INPUT], p[G_PROVIDER]
        (5, None)
        """
        names = tuple(attrs)
        plan = self._plans.get(names)
        if plan is None:
            plan = self._plan(names)
        found = [None] * self.ngroups
        for g, candidates in plan[0]:
            for name in candidates:
                v = attrs[name]
                if v is not None and v != "":
                    found[g] = v
                    break
        return found, plan

    def _plan(self, names: tuple) -> tuple:
        """(((group, its names among these in rank order), ...), dialect, dialect when the resource is
        OpenLIT's) for a span with these attribute names (`detect_dialect` reads only which names a span has)."""
        per: dict[int, list] = {}
        groups = self.groups
        for name in names:
            for g, rank in groups.get(name, ()):
                per.setdefault(g, []).append((rank, name))
        present = dict.fromkeys(names)
        plan = (tuple((g, tuple(name for _, name in sorted(found))) for g, found in per.items()),
                detect_dialect(present, {}), detect_dialect(present, {"telemetry.sdk.name": "openlit"}))
        if len(self._plans) >= PLAN_CACHE_SIZE:        # bounded: attribute names come from the sender
            self._plans.clear()
        self._plans[names] = plan
        return plan

    def _resource(self, res: dict) -> tuple:
        """(resource, service.name, service.version, prompt version, dimension values, whether OpenLIT sent it)
        read from a resource; the last one is remembered, as the spans of a request share their resource's dict."""
        hit = self._last_resource
        if hit[0] is res:
            return hit
        hit = (res, res.get("service.name"), res.get("service.version"), _first(res, self.prompt_version),
               tuple([_first(res, names) for names, _default in self.dims]) if self.dims else (),
               res.get("telemetry.sdk.name") == "openlit")
        self._last_resource = hit
        return hit

    # -- operation --------------------------------------------------------
    def _operation(self, s: RawSpan, attrs: dict) -> str | None:
        op = attrs.get("gen_ai.operation.name")
        if isinstance(op, str) and op:
            op = vocab.operation_name(op) or op.strip().lower()[:32]
            return None if op in vocab.PLUMBING_OPERATIONS else op     # e.g. OpenLLMetry's execute_task
        kind = attrs.get("openinference.span.kind")
        if isinstance(kind, str):
            kind = kind.upper()
            if kind == "CHAIN" and not s.parent_span_id:
                return "invoke_workflow"       # the root chain of a trace is the workflow
            if kind == "EVALUATOR":
                return EVALUATION
            return vocab.OPENINFERENCE_KINDS.get(kind)   # inner CHAIN, GUARDRAIL...: plumbing
        vercel = attrs.get("ai.operationId")
        if isinstance(vercel, str):
            return vocab.VERCEL_OPERATIONS.get(vercel)     # ai.embed and the like wrap their do* span
        tl = attrs.get("traceloop.span.kind")
        if isinstance(tl, str) and tl.lower() in vocab.TRACELOOP_KINDS:
            return vocab.TRACELOOP_KINDS[tl.lower()]
        rt = attrs.get("llm.request.type")
        if isinstance(rt, str) and rt:
            if rt == "completion" and s.name.startswith("litellm"):
                return "chat"                  # LiteLLM's call type "completion" is a chat completion
            return vocab.operation_name(rt) or "chat"
        if ("gen_ai.system" in attrs or "gen_ai.provider.name" in attrs or "gen_ai.request.model" in attrs
                or "gen_ai.latency.e2e" in attrs):
            return vocab.operation_name(s.name.partition(" ")[0]) or "chat"
        return None

    # -- main -------------------------------------------------------------
    def normalize(self, s: RawSpan, now_ns: int | None = None) -> Call | None:
        """Return the Call, None for a span that is not a GenAI operation, or raise SpanRejected."""
        if len(s.trace_id) != 32 or s.trace_id == "0" * 32:
            raise SpanRejected("invalid_id", f"span {s.name!r}: trace id must be 16 bytes, not all zero")
        if len(s.span_id) != 16 or s.span_id == "0" * 16:
            raise SpanRejected("invalid_id", f"span {s.name!r}: span id must be 8 bytes, not all zero")
        attrs = s.attrs
        op = self._operation(s, attrs)
        if op is None:
            return None
        if s.start_ns <= 0 or s.end_ns < s.start_ns:
            raise SpanRejected("invalid_time", f"span {s.span_id}: end time before start time or missing")
        now_ns = now_ns or time.time_ns()
        if s.end_ns > now_ns + MAX_FUTURE_NS:
            raise SpanRejected("future_timestamp", f"span {s.span_id}: end time more than a day in the future")
        if s.end_ns - s.start_ns > self.max_span_ns:
            raise SpanRejected("invalid_time", f"span {s.span_id}: lasts {(s.end_ns - s.start_ns) / 1e9:.0f} s, "
                               f"more than bounds.max_duration_seconds ({self.max_span_ns / 1e9:.0f})")

        _, res_service, res_version, res_prompt_version, res_dims, res_openlit = self._resource(s.resource)
        found, plan = self._pick(attrs)
        dialect = plan[2] if res_openlit else plan[1]     # `detect_dialect`, by the names the span has
        if "llm.invocation_parameters" in attrs:
            params = _invocation_params(attrs)
        elif "embedding.invocation_parameters" in attrs:
            params = _invocation_params(attrs, "embedding.invocation_parameters")
        else:
            params = {}

        # models
        response_model = found[G_RESPONSE_MODEL]
        request_model = found[G_REQUEST_MODEL] or params.get("model") or params.get("model_name") \
            or (attrs.get("llm.model_name") if dialect == "openinference" else None) \
            or (_model_from_name(s.name) if op in LLM_OPERATIONS else "") or response_model or ""
        request_model = str(request_model)
        response_model = str(response_model or request_model)

        # provider
        raw_provider = found[G_PROVIDER]
        if raw_provider is not None:
            provider = vocab.provider_name(str(raw_provider))
            if provider in vocab.FRAMEWORKS:         # Strands, ADK's call_llm, Spring AI: not the provider
                if provider == "strands_agents":
                    dialect = "strands"
                provider = _real_provider(attrs, request_model)
        else:
            provider = vocab.openinference_provider(attrs.get("llm.provider"), attrs.get("llm.system")) \
                or ("vllm" if dialect == "vllm" else "unknown")
        if provider == "unknown":
            # LiteLLM's legacy callback leaves gen_ai.system empty on embeddings: its route names the provider
            route = attrs.get("litellm.provider.model")
            if isinstance(route, str) and "/" in route:
                provider = vocab.provider_name(route.partition("/")[0])
        if "/" in request_model:
            # a LiteLLM route ("openai/gpt-4o-mini", Google ADK on LiteLlm) whose prefix is the provider
            request_model = _strip_route(request_model, provider)
            response_model = _strip_route(response_model, provider)

        # tokens
        inp = _count(found[G_INPUT], "input tokens")
        out = _count(found[G_OUTPUT], "output tokens")
        # most spans carry none of these: no call for them
        cr = found[G_CACHE_READ]
        cr = 0 if cr is None else _count(cr, "cache read tokens") or 0
        cw = found[G_CACHE_WRITE]
        cw = 0 if cw is None else _count(cw, "cache write tokens") or 0
        rz = found[G_REASONING]
        rz = 0 if rz is None else _count(rz, "reasoning tokens") or 0
        if inp is None and op == "embeddings" and "llm.token_count.total" in attrs:
            inp = _count(attrs["llm.token_count.total"], "total tokens")    # OpenInference embeddings
        if cr or cw:
            if inp is None or cr + cw > inp or self._input_excludes_cache(s.scope, provider):
                inp = (inp or 0) + cr + cw
        if rz and out is not None and rz > out:
            out = out + rz   # reasoning reported beside output, not inside it
        if (inp or 0) > self.max_tokens or (out or 0) > self.max_tokens or max(cr, cw, rz) > self.max_tokens:
            raise SpanRejected("invalid_tokens", f"span {s.span_id}: a token count ({max(inp or 0, out or 0, cr, cw, rz):,})"
                               f" is more than bounds.max_tokens ({self.max_tokens:,})")

        # errors: the normalised class from the HTTP status, the exception type, then error.type
        error_type = error_raw = ""
        et = attrs.get("error.type")
        if s.status_code == STATUS_ERROR or (et is not None and et != ""):
            exc = message = ""
            for ev in s.events:
                if ev.name == "exception" and ev.attrs.get("exception.type"):
                    exc = str(ev.attrs["exception.type"])
                    message = str(ev.attrs.get("exception.message") or "")
                    break
            if not message and s.status_message:
                message = s.status_message      # openai-agents: "Error getting response: ... Error code: 500 - ..."
            et = str(et) if et is not None else ""
            error_type = vocab.error_class(_first(attrs, HTTP_STATUS), exc, et, message)
            error_raw = et or exc or "_OTHER"

        # streaming and time to first token
        ttft = _seconds(found[G_TTFT])
        if ttft is not None:
            if dialect == "strands":
                ttft /= 1000.0           # Strands writes milliseconds in gen_ai.server.time_to_first_token
        elif found[G_TTFT_MS] is not None:
            ms = _seconds(found[G_TTFT_MS])
            ttft = None if ms is None else ms / 1000.0
        if ttft is None and s.events:
            ttft = _ttft_from_events(s)
        ttft_clamped = False
        if ttft is not None and ttft * 1e9 > s.end_ns - s.start_ns:
            # the first chunk cannot come after the call ends (anthropic 2.16's own streamed span reports
            # one 14 ms past its end): bound it by the call's duration, counted in llmpulse_values_clamped_total
            ttft, ttft_clamped = (s.end_ns - s.start_ns) / 1e9, True
        tpot = None if found[G_TPOT] is None else _seconds(found[G_TPOT])
        if tpot is not None and tpot * 1e9 > s.end_ns - s.start_ns:
            tpot = None     # a time per output token longer than the call: not a time (derived from the span instead)
        stream_attr = found[G_STREAM]
        if stream_attr is None and "stream" in params:
            stream_attr = params.get("stream")
        streaming = _truthy(stream_attr) if stream_attr is not None else ttft is not None

        # cost carried on the span (US dollars)
        span_cost = None
        raw_cost = found[G_SPAN_COST]
        if raw_cost is not None:
            currency = attrs.get(COST_CURRENCY)
            if currency and str(currency).upper() != "USD" and "gen_ai.usage.cost.amount" in attrs:
                raw_cost = _first(attrs, SPAN_COST[1:])      # an amount in another currency is not dollars
        if raw_cost is not None:
            span_cost = _seconds(raw_cost)   # finite and >= 0
            if span_cost is None:
                raise SpanRejected("invalid_cost", f"span {s.span_id}: cost {raw_cost!r} is not a finite amount >= 0")
            if span_cost > self.max_cost:
                raise SpanRejected("invalid_cost", f"span {s.span_id}: cost {raw_cost!r} is more than "
                                   f"bounds.max_cost_usd ({self.max_cost:g})")

        # by position, in Call's field order: keywords make its 40-field __init__ cost about three times as much
        call = Call(
            s.trace_id, s.span_id, s.parent_span_id,
            str(res_service or attrs.get("service.name") or "unknown"),
            str(res_version or attrs.get("service.version") or ""),
            op, provider, request_model, response_model, s.start_ns, s.end_ns, error_type,
            inp, out, cr, cw, rz, streaming, ttft, tpot,
            _finish_reasons(found[G_FINISH]) or (_finish_from_events(s) if s.events else ()), span_cost, None, str(found[G_CONVERSATION] or ""),
            str(found[G_RESPONSE_ID]) if found[G_RESPONSE_ID] is not None and not error_type
            and op in LLM_OPERATIONS else "", dialect,
        )
        if error_raw:
            call.error_raw = error_raw
            call.scope = s.scope
        elif call.response_id:
            call.scope = s.scope        # a response id repeated by another scope is the same call (crossspan)
        if ttft_clamped:
            call.ttft_clamped = True
        if op == "execute_tool":
            call.tool_name = str(found[G_TOOL] or attrs.get("traceloop.entity.name")
                                 or s.name.removeprefix("execute_tool ").strip() or "unknown")
        elif op == "invoke_agent":
            call.agent_name = str(found[G_AGENT] or attrs.get("traceloop.entity.name") or "")
        pv = found[G_PROMPT_VERSION] or res_prompt_version
        if pv is not None:
            call.prompt_version = str(pv)
        if self.dims:
            call.dims = tuple(str(found[G_PROMPT_VERSION + 1 + i] or res_dims[i] or default)
                              for i, (_names, default) in enumerate(self.dims))
        if not self.signals.isdisjoint(attrs):     # most spans carry none of these flags
            call.guardrail = any(_truthy(attrs.get(a)) for a in self.guardrail)
            call.refusal = any(_truthy(attrs.get(a)) for a in self.refusal)
            call.retry = any(_truthy(attrs.get(a)) for a in self.retry)
            call.fallback = any(_truthy(attrs.get(a)) for a in self.fallback)
            call.cache_hit = any(_truthy(attrs.get(a)) for a in self.cache_hit)
        if s.events or "evaluations.0.evaluation.name" in attrs:
            call.evals = self._evals(s)
        if op == EVALUATION:
            e = _evaluator(s, attrs, self.max_abs_score)
            if e is None:
                return None
            call.evals.append(e)
        if self.capture_content:
            call.input_text, call.output_text = _content(attrs)
        # pricing dimensions (llmpulse.billing): nothing to do for most spans
        tier = found[self.g_tier]
        if found[self.g_tier + 1] is not None:
            call.billing = b = billing.read_billing(attrs, tier)
            if b is not None and max(b.counts()) > self.max_tokens:
                raise SpanRejected("invalid_tokens", f"span {s.span_id}: a modality token or web search count "
                                   f"({max(b.counts()):,}) is more than bounds.max_tokens ({self.max_tokens:,})")
        elif tier is not None and tier != "default":
            call.billing = billing.tier_only(tier)
        return call

    def _input_excludes_cache(self, scope: str, provider: str) -> bool:
        if not self.excludes_cache:
            return False
        scope = scope.lower()
        return any(provider == x or scope.startswith(x) for x in self.excludes_cache)

    def _evals(self, s: RawSpan) -> list[Eval]:
        out = []
        for ev in s.events:
            if ev.name == "gen_ai.evaluation.result":
                out.append(eval_from_attrs(ev.attrs))
        attrs = s.attrs
        if "evaluations.0.evaluation.name" in attrs:
            for i in range(64):
                name = attrs.get(f"evaluations.{i}.evaluation.name")
                if name is None:
                    break
                out.append(eval_from_attrs({
                    "gen_ai.evaluation.name": name,
                    "gen_ai.evaluation.score.value": attrs.get(f"evaluations.{i}.evaluation.score"),
                    "gen_ai.evaluation.score.label": attrs.get(f"evaluations.{i}.evaluation.label"),
                }))
        for e in out:
            problem = score_problem(e.score, self.max_abs_score)
            if problem:
                raise SpanRejected("invalid_score", f"span {s.span_id}: evaluation {e.name!r} score {problem}")
        return out


def score_problem(score: float | None, max_abs: float) -> str:
    """Why an evaluation score cannot be counted ("" when it can): not finite, or beyond `bounds.max_abs_score`.

    >>> score_problem(0.5, 1e6), score_problem(float("nan"), 1e6), score_problem(-1e300, 1e6)
    ('', 'is not finite', 'is more than bounds.max_abs_score (1e+06) in size')
    """
    if score is None:
        return ""
    if not math.isfinite(score):
        return "is not finite"
    if abs(score) > max_abs:
        return f"is more than bounds.max_abs_score ({max_abs:g}) in size"
    return ""


def eval_from_attrs(a: dict) -> Eval:
    """`gen_ai.evaluation.result` attributes -> Eval (score None when absent)."""
    score = a.get("gen_ai.evaluation.score.value")
    if isinstance(score, bool) or score is None:
        val = None
    else:
        try:
            val = float(score)
        except (TypeError, ValueError):
            val = None
    label = a.get("gen_ai.evaluation.score.label")
    return Eval(name=str(a.get("gen_ai.evaluation.name") or "unknown"), score=val,
                label=str(label).lower() if label not in (None, "") else "")


def _content(attrs: dict) -> tuple[str | None, str | None]:
    inp = attrs.get("gen_ai.input.messages") or attrs.get("input.value") or attrs.get("gen_ai.prompt.0.content") \
        or attrs.get("gen_ai.prompt")
    out = attrs.get("gen_ai.output.messages") or attrs.get("output.value") \
        or attrs.get("gen_ai.completion.0.content") or attrs.get("gen_ai.completion")
    return (str(inp) if inp is not None else None, str(out) if out is not None else None)
