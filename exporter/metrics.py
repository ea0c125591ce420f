"""Every metric llmpulse exposes, and how a `Call` updates them.

The names are the public contract (docs/metrics.md). Metrics live in a
registry passed in, never the global one.

>>> from prometheus_client import CollectorRegistry
>>> from llmpulse.config import load_config
>>> from llmpulse.records import Call
>>> reg = CollectorRegistry()
>>> m = Metrics(load_config(), reg)
>>> m.record([Call(trace_id="a" * 32, span_id="b" * 16, service="shop", provider="openai",
...                request_model="gpt-4o", start_ns=1, end_ns=2_000_000_001, input_tokens=7)])
>>> reg.get_sample_value("llm_tokens_total", {"service_name": "shop", "gen_ai_operation_name": "chat",
...     "gen_ai_provider_name": "openai", "gen_ai_request_model": "gpt-4o", "gen_ai_token_type": "input"})
7.0
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from contextlib import contextmanager

from llmpulse import __version__
from llmpulse.config import Config
from llmpulse.records import Call, Eval
from llmpulse.series import OVERFLOW, Counter, Gauge, Histogram, LabelCaps
from llmpulse.tracking import Lru, Window

KEY_CACHE_SIZE = 20_000     # raw label values remembered with their capped keys; cleared when full
L = ("service_name", "gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model")
SERVICE_MODEL = ("service_name", "gen_ai_request_model")


class Metrics:
    """All families, the label caps and the cross-span state, behind one lock."""

    def __init__(self, cfg: Config, registry, now=time.monotonic):
        mc = cfg.metrics
        self.lock = threading.Lock()
        self._local = threading.local()
        self._keys: dict[tuple, tuple] = {}       # raw label values -> capped key, for keys with no overflow
        self.now = now
        self.exemplars = mc.exemplars
        self.caps = LabelCaps(mc.caps(), default=100, max_length=mc.max_label_length)
        self.dim_names = tuple(d.name for d in mc.dimensions)
        Ld = L + self.dim_names
        self.L = Ld

        H, C = Histogram, Counter
        self.duration = H("gen_ai_client_operation_duration_seconds",
                          "Duration of GenAI operations (every operation span), seconds.",
                          Ld + ("gen_ai_response_model", "error_type"), mc.duration_buckets)
        self.token_usage = H("gen_ai_client_token_usage", "Tokens per GenAI operation, by token type.",
                             Ld + ("gen_ai_token_type",), mc.token_buckets)
        self.ttfc = H("gen_ai_client_operation_time_to_first_chunk_seconds",
                      "Time to the first chunk (token) of streamed responses, seconds.", Ld, mc.duration_buckets)
        self.tpoc = H("gen_ai_client_operation_time_per_output_chunk_seconds",
                      "Time per output chunk (token) after the first, streamed responses, seconds.",
                      Ld, mc.chunk_buckets)
        self.tokens = C("llm_tokens", "Tokens by type: input, output, cache_read, cache_write, reasoning.",
                        Ld + ("gen_ai_token_type",))
        self.cost = C("llm_cost_usd", "Spend in US dollars.", Ld)
        self.request_cost = H("llm_request_cost_usd", "Dollars per operation.", Ld, mc.cost_buckets)
        self.unpriced = C("llm_unpriced_operations", "Operations with tokens but no known price.", Ld)
        self.finish = C("llm_finish_reasons", "Finish reasons, normalised.", Ld + ("gen_ai_response_finish_reason",))
        self.eval_score = H("llm_eval_score", "Evaluation scores as given.",
                            SERVICE_MODEL + ("gen_ai_evaluation_name",), mc.score_buckets)
        self.eval_results = C("llm_eval_results", "Evaluation results by label.",
                              SERVICE_MODEL + ("gen_ai_evaluation_name", "gen_ai_evaluation_score_label"))
        self.feedback = C("llm_feedback", "User feedback, positive or negative.", SERVICE_MODEL + ("feedback",))
        self.tool_calls = C("llm_tool_calls", "Tool executions.", ("service_name", "gen_ai_tool_name", "error_type"))
        self.trace_ops = H("llm_trace_operations", "LLM calls per trace.", ("service_name",), mc.operations_buckets)
        self.trace_cost = H("llm_trace_cost_usd", "Dollars per trace.", ("service_name",), mc.trace_cost_buckets)
        self.conv_cost = H("llm_conversation_cost_usd", "Dollars per conversation, once idle.",
                           ("service_name",), mc.trace_cost_buckets)
        self.deployment = Gauge("llm_deployment_info", "Service, prompt and model versions seen recently (1).",
                                Ld + ("service_version", "prompt_version"), ttl_seconds=mc.deployment_info_ttl_seconds)
        self.guardrail = C("llm_guardrail_triggers", "Guardrail triggers.", Ld)
        self.refusals = C("llm_refusals", "Refusals (content-filter finish or refusal attribute).", Ld)
        self.retries = C("llm_retries", "Retried calls.", Ld)
        self.fallbacks = C("llm_fallbacks", "Calls served by a fallback model or provider.", Ld)
        self.cache_hits = C("llm_cache_hits", "Semantic-cache hits.", Ld)

        # the exporter's own health
        self.spans_received = C("llmpulse_spans_received", "GenAI spans accepted, by dialect.", ("dialect",))
        self.spans_rejected = C("llmpulse_spans_rejected", "Spans rejected, by reason.", ("reason",))
        self.spans_skipped = C("llmpulse_spans_skipped", "Spans not counted, by reason (non_genai, duplicate).",
                               ("reason",))
        self.requests = C("llmpulse_requests", "Ingest requests by transport, signal and status code.",
                          ("transport", "signal", "code"))
        self.overflows = C("llmpulse_label_overflows", "Label values replaced by __overflow__, by label.", ("label",))
        self.ingest = H("llmpulse_ingest_duration_seconds", "Time to process one ingest request.",
                        ("transport",), [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5])
        self.scores_received = C("llmpulse_scores_received", "Scores and feedback accepted, by source.", ("source",))
        self.scores_rejected = C("llmpulse_scores_rejected", "Scores rejected, by reason.", ("reason",))
        self.logs_skipped = C("llmpulse_log_records_skipped", "Log records that carry no GenAI event.", ())
        self.build_info = Gauge("llmpulse_build_info", "llmpulse version (1).", ("version",))
        self.build_info.set((__version__,), 1)
        self.price_info = Gauge("llmpulse_price_table_info", "Price table in use (1).", ("version",))
        self.price_checked = Gauge("llmpulse_price_table_checked_timestamp_seconds",
                                   "When the built-in price table was last checked (unix seconds).", ())
        self.tracked = Gauge("llmpulse_tracked_items", "Traces, conversations and spans held in memory.", ("kind",))

        tc = cfg.tracking
        self.traces = Window(tc.trace_idle_seconds, tc.max_traces)
        self.conversations = Window(tc.conversation_idle_seconds, tc.max_conversations)
        self.span_owner = Lru(tc.remember_spans)     # span_id -> (service, model)
        self.trace_owner = Lru(tc.remember_spans)    # trace_id -> (service, model)
        self.extra_families: list = []               # self-metrics added by other parts (forwarder)

        self.families = [v for v in vars(self).values() if isinstance(v, (Counter, Histogram, Gauge))]
        registry.register(self)

    # -- prometheus_client Collector protocol --------------------------------
    def collect(self):
        if getattr(self._local, "skip", False):    # llmpulse.exposition renders these families itself
            return []
        with self.lock:
            self.refresh()
            out = [f.collect() for f in self.families]
        return out

    def refresh(self) -> None:
        """Bring scrape-time values up to date (caller holds the lock)."""
        self.deployment.expire(self.now())
        self._sync_overflows()
        self.tracked.set(("traces",), len(self.traces.open))
        self.tracked.set(("conversations",), len(self.conversations.open))
        self.tracked.set(("spans",), len(self.span_owner.data))

    @contextmanager
    def collect_skipped(self):
        """Within this block, `collect()` on this thread yields nothing."""
        self._local.skip = True
        try:
            yield
        finally:
            self._local.skip = False

    def describe(self):
        return []

    def _sync_overflows(self) -> None:
        for label, n in self.caps.overflows.items():
            self.overflows.values[(label,)] = float(n)

    # -- recording ---------------------------------------------------------------
    def record(self, calls: Iterable[Call], now_s: float | None = None) -> None:
        """Apply a batch of calls (one lock acquisition for the batch)."""
        wall = now_s if now_s is not None else time.time()
        mono = self.now()
        dialects: dict[str, int] = {}
        with self.lock:
            for c in calls:
                self._record_one(c, wall, mono)
                dialects[c.dialect] = dialects.get(c.dialect, 0) + 1
            for dialect, n in dialects.items():       # a few dialects a batch: counted once each
                self.spans_received.inc((dialect,), n)

    def _keys_for(self, c: Call) -> tuple:
        """(L key, capped error_type, duration key, deployment key, input key, output key, owner) for a call.

        Cached by the raw values when nothing overflowed, so a busy label set costs
        one dict lookup instead of eight cap checks and four tuple concatenations.
        """
        raw = (c.service, c.operation, c.provider, c.request_model, c.dims, c.response_model, c.error_type,
               c.service_version, c.prompt_version)
        hit = self._keys.get(raw)
        if hit is not None:
            return hit
        cap = self.caps.value
        key = (cap("service_name", c.service), cap("gen_ai_operation_name", c.operation),
               cap("gen_ai_provider_name", c.provider), cap("gen_ai_request_model", c.request_model))
        if self.dim_names:
            key += tuple(cap(n, v) for n, v in zip(self.dim_names, c.dims))
        error = cap("error_type", c.error_type) if c.error_type else ""
        duration = key + (cap("gen_ai_response_model", c.response_model), error)
        deployment = key + (cap("service_version", c.service_version), cap("prompt_version", c.prompt_version))
        hit = (key, error, duration, deployment, key + ("input",), key + ("output",), (key[0], key[3]))
        if OVERFLOW not in duration and OVERFLOW not in deployment:   # overflows must keep being counted
            if len(self._keys) >= KEY_CACHE_SIZE:
                self._keys.clear()
            self._keys[raw] = hit
        return hit

    def _record_one(self, c: Call, wall: float, mono: float) -> None:
        cap = self.caps.value
        key, error, duration, deployment, key_in, key_out, owner = self._keys_for(c)
        ex = (c.trace_id, c.span_id, wall) if self.exemplars and c.trace_id else None
        seconds = c.duration_s
        is_llm = c.is_llm
        self.duration.observe(duration, seconds, ex)
        if c.input_tokens is not None:
            self.token_usage.observe(key_in, c.input_tokens, ex)
            self.tokens.inc(key_in, c.input_tokens)
        if c.output_tokens is not None:
            self.token_usage.observe(key_out, c.output_tokens, ex)
            self.tokens.inc(key_out, c.output_tokens)
        if c.cache_read_tokens:
            self.tokens.inc(key + ("cache_read",), c.cache_read_tokens)
        if c.cache_write_tokens:
            self.tokens.inc(key + ("cache_write",), c.cache_write_tokens)
        if c.reasoning_tokens:
            self.tokens.inc(key + ("reasoning",), c.reasoning_tokens)
        if c.streaming and c.ttft_s is not None and not error:
            self.ttfc.observe(key, c.ttft_s, ex)
            per_chunk = c.tpot_s
            if per_chunk is None and c.output_tokens and c.output_tokens > 1 and seconds > c.ttft_s:
                per_chunk = (seconds - c.ttft_s) / (c.output_tokens - 1)
            if per_chunk is not None:
                self.tpoc.observe(key, per_chunk, ex)
        if c.cost_usd is not None:
            if c.cost_usd:
                self.cost.inc(key, c.cost_usd)
            else:
                self.cost.values.setdefault(key, 0.0)
            self.request_cost.observe(key, c.cost_usd, ex)
        elif is_llm and ((c.input_tokens or 0) + (c.output_tokens or 0)) > 0:
            self.unpriced.inc(key)
        for r in c.finish_reasons:
            self.finish.inc(key + (r,))
        if c.guardrail:
            self.guardrail.inc(key)
        if c.refusal or "content_filter" in c.finish_reasons:
            self.refusals.inc(key)
        if c.retry:
            self.retries.inc(key)
        if c.fallback:
            self.fallbacks.inc(key)
        if c.cache_hit:
            self.cache_hits.inc(key)
        if c.operation == "execute_tool":
            self.tool_calls.inc((key[0], cap("gen_ai_tool_name", c.tool_name or "unknown"), error))
        self.deployment.set(deployment, 1, mono)
        for e in c.evals:
            self._eval(key[0], key[3], e, ex)
        # cross-span state
        if is_llm:
            self.span_owner.put(c.span_id, owner)
            self.trace_owner.put(c.trace_id, owner)
            for agg in self.traces.add(c.trace_id, key[0], mono, 1, c.cost_usd, c.trace_id):
                self._finish_trace(agg)
            if c.conversation_id:
                for agg in self.conversations.add(c.conversation_id, key[0], mono, 1, c.cost_usd):
                    self._finish_conversation(agg)

    def _eval(self, service: str, model: str, e: Eval, ex) -> None:
        name = self.caps.value("gen_ai_evaluation_name", e.name)
        if e.score is not None:
            self.eval_score.observe((service, model, name), e.score, ex)
        self.eval_results.inc((service, model, name, self.caps.value("gen_ai_evaluation_score_label", e.label)))

    def _finish_trace(self, agg) -> None:
        ex = (agg.trace_id, "", time.time()) if self.exemplars and agg.trace_id else None
        self.trace_ops.observe((agg.service,), agg.operations, ex)
        if agg.priced:
            self.trace_cost.observe((agg.service,), agg.cost, ex)

    def _finish_conversation(self, agg) -> None:
        if agg.priced:
            self.conv_cost.observe((agg.service,), agg.cost)

    def sweep(self, flush: bool = False) -> None:
        """Observe traces and conversations that went idle (all of them when flush)."""
        now = self.now()
        with self.lock:
            for agg in (self.traces.drain() if flush else self.traces.sweep(now)):
                self._finish_trace(agg)
            for agg in (self.conversations.drain() if flush else self.conversations.sweep(now)):
                self._finish_conversation(agg)
            self.deployment.expire(now)

    # -- late scores and feedback -------------------------------------------
    def owner(self, trace_id: str, span_id: str) -> tuple[str, str]:
        """(service, model) of the span or trace a late score refers to, else unknown."""
        hit = self.span_owner.get(span_id) if span_id else None
        if hit is None and trace_id:
            hit = self.trace_owner.get(trace_id)
        return hit or ("unknown", "unknown")

    def record_scores(self, items: list[tuple[str, str, Eval | bool]], source: str) -> None:
        """items: (trace_id, span_id, Eval) for scores or (trace_id, span_id, positive) for feedback."""
        wall = time.time()
        with self.lock:
            for trace_id, span_id, item in items:
                service, model = self.owner(trace_id, span_id)
                ex = (trace_id, span_id, wall) if self.exemplars and trace_id else None
                if isinstance(item, Eval):
                    self._eval(service, model, item, ex)
                else:
                    self.feedback.inc((service, model, "positive" if item else "negative"))
                self.scores_received.inc((source,))

    # -- self metrics ------------------------------------------------------------
    def count(self, counter: Counter, key: tuple, n: float = 1.0) -> None:
        with self.lock:
            counter.inc(key, n)

    def observe(self, hist: Histogram, key: tuple, value: float) -> None:
        with self.lock:
            hist.observe(key, value)
