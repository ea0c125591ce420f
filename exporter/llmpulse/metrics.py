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
{}
>>> reg.get_sample_value("llm_tokens_total", {"service_name": "shop", "gen_ai_operation_name": "chat",
...     "gen_ai_provider_name": "openai", "gen_ai_request_model": "gpt-4o", "gen_ai_token_type": "input"})
7.0
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import replace

from llmpulse import __version__
from llmpulse.config import Config
from llmpulse.records import EVALUATION, FINISH_REASONS, LLM_OPERATIONS, Call, Eval
from llmpulse.series import OVERFLOW, Block, Counter, Gauge, Histogram, LabelCaps
from llmpulse.crossspan import CrossSpan

KEY_CACHE_SIZE = 20_000     # raw label values remembered with their capped keys; cleared when full
L = ("service_name", "gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model")
SERVICE_MODEL = ("service_name", "gen_ai_request_model")

# Everything a label set updates is in one `llmpulse.series.Block` (a `_Slot`), a few cache lines
# apart. Its data: the numbers most calls touch first (two cache lines), then the rarer counters,
# then the histogram regions of `REGIONS` (bucket counts and exemplar values; their sums are up front).
T_IN, T_OUT, COST, UNPRICED = 0, 1, 2, 3
DEPLOYMENT = 4                      # llm_deployment_info's cell: 1, then last seen (5)
SUMS = 6                            # the sums of the REGIONS, in order (6 to 11)
S_DUR, S_IN, S_OUT, S_COST, S_TTFC, S_TPOC = range(SUMS, SUMS + 6)
FINISH_INDEX = {r: 12 + i for i, r in enumerate(FINISH_REASONS)}
T_CACHE_READ = 12 + len(FINISH_REASONS)
T_CACHE_WRITE, T_REASONING, GUARDRAIL, REFUSALS, RETRIES, FALLBACKS, CACHE_HITS = range(T_CACHE_READ + 1,
                                                                                      T_CACHE_READ + 8)
FIRST_REGION = CACHE_HITS + 1
# counter index -> (family attribute, key suffix)
COUNTERS = {T_IN: ("tokens", ("input",)), T_OUT: ("tokens", ("output",)), COST: ("cost", ()),
            UNPRICED: ("unpriced", ()), **{i: ("finish", (r,)) for r, i in FINISH_INDEX.items()},
            T_CACHE_READ: ("tokens", ("cache_read",)), T_CACHE_WRITE: ("tokens", ("cache_write",)),
            T_REASONING: ("tokens", ("reasoning",)), GUARDRAIL: ("guardrail", ()), REFUSALS: ("refusals", ()),
            RETRIES: ("retries", ()), FALLBACKS: ("fallbacks", ()), CACHE_HITS: ("cache_hits", ())}
B_IN, B_OUT, B_COST, B_UNPRICED = 1 << T_IN, 1 << T_OUT, 1 << COST, 1 << UNPRICED
# (histogram attribute, key: the slot's duration key, or its L key plus a suffix)
REGIONS = (("duration", None), ("token_usage", ("input",)), ("token_usage", ("output",)), ("request_cost", ()),
           ("ttfc", ()), ("tpoc", ()))
R_DUR, R_IN, R_OUT, R_COST, R_TTFC, R_TPOC = range(len(REGIONS))
B_R_IN, B_R_OUT, B_R_COST, B_R_TTFC, B_R_TPOC = (1 << (32 + r) for r in (R_IN, R_OUT, R_COST, R_TTFC, R_TPOC))


class _Slot(Block):
    """What a call with given label values updates, found by one dict lookup (`Metrics._keys_for`):
    the capped keys and one block with the label set's counters (`COUNTERS`), deployment cell and
    histogram regions (`REGIONS`), each bound to its family the first time it is used (bit i of
    `bound` for counter i, bit 32 + r for region r).

    A slot is one (duration key, deployment key). When its deployment expires, the slot is retired
    with its numbers still bound to their series, and the next new deployment of the same duration
    key takes it over, so slots number the deployments active at once, not every one ever seen."""

    __slots__ = ("key", "error", "dkey", "depkey", "owner", "response_owner", "bound")

    def __init__(self, key: tuple, error: str, dkey: tuple, depkey: tuple, size: int, ex_size: int):
        super().__init__(size, ex_size)
        self.key, self.error, self.dkey, self.depkey = key, error, dkey, depkey
        self.owner = (key[0], key[3], bool(error))     # (service, model, failed): what a late score attaches to
        self.response_owner = (key[2],) + self.owner    # (provider, ...): what a response id is remembered with
        self.bound = 0


class Metrics:
    """All families, the label caps and the cross-span state, behind one lock."""

    def __init__(self, cfg: Config, registry, now=time.monotonic):
        mc = cfg.metrics
        self.lock = threading.Lock()
        self._local = threading.local()
        self._keys: dict[tuple, _Slot] = {}       # raw label values -> slot, for keys with no overflow
        self._raw_strings: dict[object, object] = {}    # the strings of the keys of _keys, one object each
        self._slots: dict[tuple, _Slot] = {}      # (duration key, deployment key) -> slot
        self._retired: dict[tuple, list[_Slot]] = {}   # duration key -> slots whose deployment expired
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
        self.unpriced = C("llm_unpriced_operations", "Calls whose cost is unknown: tokens but no known price, or no token counts at all.", Ld)
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
        self.raw_errors = C("llm_raw_errors", "Failed operations by error type as sent (metrics.raw_error_types).",
                            ("service_name", "gen_ai_provider_name", "error_type", "raw_error_type"))
        self.raw_error_types = mc.raw_error_types

        # the exporter's own health
        self.spans_received = C("llmpulse_spans_received", "GenAI spans accepted, by dialect.", ("dialect",))
        self.spans_rejected = C("llmpulse_spans_rejected", "Spans rejected, by reason.", ("reason",))
        self.spans_skipped = C("llmpulse_spans_skipped", "Spans not counted, by reason (non_genai, duplicate, "
                               "nested_call, duplicate_response, duplicate_failure, covered_by_promoted).", ("reason",))
        self.aggregate_usage = C("llmpulse_aggregate_usage", "Spans that are not calls but carry token counts, by "
                                 "outcome (covered: their calls were counted; promoted: counted as one call).",
                                 ("outcome",))
        self.clamped = C("llmpulse_values_clamped", "Span values llmpulse bounded before recording, by field (ttft: "
                         "a time to first token longer than its span, recorded as the span's duration).", ("field",))
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
        self.reloads = C("llmpulse_reloads", "Reloads (SIGHUP) of the token file and price files, by outcome.",
                         ("outcome",))
        for outcome in ("ok", "failed"):
            self.reloads.inc((outcome,), 0.0)
        self.tracked = Gauge("llmpulse_tracked_items", "Traces, conversations and spans held in memory.", ("kind",))

        # what is remembered across spans: calls counted, owners of late scores, pending aggregates, open traces
        self.seen = CrossSpan(cfg.tracking, self.caps)

        self.families = [v for v in vars(self).values() if isinstance(v, (Counter, Histogram, Gauge))]
        self._counter_of = {i: (getattr(self, family), suffix) for i, (family, suffix) in COUNTERS.items()}
        # the slot layout: (histogram, data offset, exemplar offset, sum offset, key suffix) of each region
        o, e, self._regions = FIRST_REGION, 0, []
        for r, (attr, suffix) in enumerate(REGIONS):
            h = getattr(self, attr)
            self._regions.append((h, o, e, SUMS + r, suffix))
            o, e = o + h.size, e + h.n
        self._slot_size = (o, e)
        self._at = tuple(x for _, o, e, _, _ in self._regions for x in (o, e))
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
        self._expire_deployments(self.now())
        self._sync_overflows()
        for kind, n in self.seen.counts().items():
            self.tracked.set((kind,), n)

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
            self.overflows.set((label,), float(n))

    # -- recording ---------------------------------------------------------------
    def record(self, calls: list[Call], now_s: float | None = None) -> dict[str, int]:
        """Apply a batch of normalised spans (one lock acquisition for the batch).

        Calls reported already (a call span wrapping or wrapped by a counted one, the same provider response
        id, a call inside a promoted aggregate) are not recorded: they are marked (`Call.suppressed`) and
        their {reason: count} returned. Other spans carrying tokens go through `_aggregate`.
        """
        wall = now_s if now_s is not None else time.time()
        mono = self.now()
        dialects: dict[str, int] = {}
        skipped: dict[str, int] = {}
        # calls that are parents of calls in this batch: within one request the inner span is the one kept
        wrappers = {c.parent_span_id for c in calls if c.operation in LLM_OPERATIONS} if len(calls) > 1 else ()
        seen = self.seen
        with self.lock:
            for c in calls:
                op = c.operation
                if op in LLM_OPERATIONS:
                    if seen.maybe_duplicate(c, wrappers):
                        reason = seen.duplicate(c, wrappers)
                        if reason is not None:
                            c.suppressed = reason
                            skipped[reason] = skipped.get(reason, 0) + 1
                            continue
                    if c.error_type and c.scope and seen.same_failure(c):   # failed calls carry their scope
                        c.suppressed = "duplicate_failure"
                        skipped["duplicate_failure"] = skipped.get("duplicate_failure", 0) + 1
                        continue
                    self._record_one(c, wall, mono)
                elif op == EVALUATION:
                    for e in c.evals:
                        self._score(c.trace_id, c.parent_span_id, e, wall, "otlp_spans")
                else:
                    self._record_one(c, wall, mono)
                    if c.input_tokens or c.output_tokens:
                        self._aggregate(c, wall, mono)
                dialects[c.dialect] = dialects.get(c.dialect, 0) + 1
            for dialect, n in dialects.items():       # a few dialects a batch: counted once each
                self.spans_received.inc((dialect,), n)
        return skipped

    def _aggregate(self, c: Call, wall: float, mono: float) -> None:
        """A span that is not a call but carries tokens (an agent repeating its calls' totals): its tokens are
        counted only if its trace turns out to have no call (`_decide`), after `tracking.aggregate_wait_seconds`."""
        if self.seen.has_call(c.trace_id):
            self.aggregate_usage.inc(("covered",))
            return
        for items in self.seen.pending.add(c.trace_id, c, mono):
            self._decide(items, wall, mono)

    def _decide(self, items: list[Call], wall: float, mono: float) -> None:
        """Aggregates with tokens of one trace in which no call was counted: the outermost ones (not inside
        another in time) are counted once each as a call, operation chat; those inside them are covered."""
        kept: list[Call] = []
        for a in sorted(items, key=lambda a: (a.start_ns, -a.end_ns, -(a.input_tokens or 0) - (a.output_tokens or 0))):
            if any(k.start_ns <= a.start_ns and a.end_ns <= k.end_ns for k in kept):
                self.aggregate_usage.inc(("covered",))
                continue
            kept.append(a)
            p = replace(a, operation="chat", finish_reasons=(), streaming=False, ttft_s=None, tpot_s=None, evals=[],
                        guardrail=False, refusal=False, retry=False, fallback=False, cache_hit=False, tool_name="",
                        agent_name="")
            self._record_one(p, wall, mono)
            self.seen.promote(a)
            self.aggregate_usage.inc(("promoted",))

    def _keys_for(self, c: Call) -> _Slot:
        """The `_Slot` of a call's label values.

        Cached by the raw values when nothing overflowed, so a busy label set costs
        one dict lookup instead of eight cap checks and four tuple concatenations;
        with an overflow the caps are applied every time (they count overflows) and
        the slot is found by the capped keys.
        """
        raw = (c.service, c.operation, c.provider, c.request_model, c.dims, c.response_model, c.error_type,
               c.service_version, c.prompt_version)
        hit = self._keys.get(raw)
        if hit is not None:
            return hit
        cap = self.caps.value
        key: tuple[str, ...] = (cap("service_name", c.service), cap("gen_ai_operation_name", c.operation),
               cap("gen_ai_provider_name", c.provider), cap("gen_ai_request_model", c.request_model))
        if self.dim_names:
            key += tuple(cap(n, v) for n, v in zip(self.dim_names, c.dims))
        error = cap("error_type", c.error_type) if c.error_type else ""
        duration = key + (cap("gen_ai_response_model", c.response_model), error)
        deployment = key + (cap("service_version", c.service_version), cap("prompt_version", c.prompt_version))
        slot = self._slots.get((duration, deployment))
        if slot is None:
            retired = self._retired.get(duration)
            if retired:                     # a deployment of this label set expired: take its slot over
                slot = retired.pop()
                slot.depkey = deployment
            else:
                slot = _Slot(key, error, duration, deployment, *self._slot_size)
                self._bind_region(slot, R_DUR)
            self._slots[(duration, deployment)] = slot
            slot.data[DEPLOYMENT] = 1.0
            slot.data[DEPLOYMENT + 1] = self.now()
            self.deployment.bind(deployment, slot.data, DEPLOYMENT)
        if OVERFLOW not in duration and OVERFLOW not in deployment:   # overflows must keep being counted
            if len(self._keys) >= KEY_CACHE_SIZE:
                self._keys.clear()
                self._raw_strings.clear()
            # stored with one object per distinct string, so comparing a lookup with it reads few objects
            strings = self._raw_strings
            self._keys[tuple(strings.setdefault(v, v) if v.__class__ is str else v for v in raw)] = slot
        return slot

    def _bind(self, s: _Slot, i: int) -> None:
        """Make the slot's counter i part of its family's series (the first time it is counted)."""
        family, suffix = self._counter_of[i]
        family.bind(s.key + suffix, s.data, i)
        s.bound |= 1 << i

    def _bind_region(self, s: _Slot, r: int) -> None:
        """Make the slot's histogram region r part of its family's series (the first time it is used)."""
        family, o, e, so, suffix = self._regions[r]
        family.bind(s.dkey if suffix is None else s.key + suffix, s, o, e, so)
        s.bound |= 1 << (32 + r)

    def _expire_deployments(self, now: float) -> None:
        """Drop llm_deployment_info series not seen for its ttl, and retire their slots."""
        dropped = set(self.deployment.expire(now))
        if not dropped:
            return
        gone = [(k, s) for k, s in self._slots.items() if s.depkey in dropped]
        for k, s in gone:
            del self._slots[k]
            self._retired.setdefault(s.dkey, []).append(s)
        ids = {id(s) for _, s in gone}
        self._keys = {raw: s for raw, s in self._keys.items() if id(s) not in ids}

    def _record_one(self, c: Call, wall: float, mono: float) -> None:
        s = self._keys_for(c)
        d, x = s.data, s.ex
        o_dur, e_dur, o_in, e_in, o_out, e_out, o_cost, e_cost, o_ttfc, e_ttfc, o_tpoc, e_tpoc = self._at
        ex = (c.trace_id, c.span_id, wall) if self.exemplars and c.trace_id else None
        seconds = (c.end_ns - c.start_ns) / 1e9        # Call.duration_s and .is_llm, without the calls
        if seconds < 0:
            seconds = 0.0
        is_llm = c.operation in LLM_OPERATIONS
        error = s.error
        self.duration.put(d, x, o_dur, e_dur, S_DUR, seconds, ex)
        if error and self.raw_error_types:
            self.raw_errors.inc((s.key[0], s.key[2], error, self.caps.value("raw_error_type", c.error_raw)))
        if is_llm:          # the call families: tokens, time to first chunk, cost, finish reasons
            if c.input_tokens is not None:
                if not s.bound & B_R_IN:
                    self._bind_region(s, R_IN)
                self.token_usage.put(d, x, o_in, e_in, S_IN, c.input_tokens, ex)
                d[T_IN] += c.input_tokens
                if not s.bound & B_IN:
                    self._bind(s, T_IN)
            if c.output_tokens is not None:
                if not s.bound & B_R_OUT:
                    self._bind_region(s, R_OUT)
                self.token_usage.put(d, x, o_out, e_out, S_OUT, c.output_tokens, ex)
                d[T_OUT] += c.output_tokens
                if not s.bound & B_OUT:
                    self._bind(s, T_OUT)
            if c.cache_read_tokens:
                self._add(s, T_CACHE_READ, c.cache_read_tokens)
            if c.cache_write_tokens:
                self._add(s, T_CACHE_WRITE, c.cache_write_tokens)
            if c.reasoning_tokens:
                self._add(s, T_REASONING, c.reasoning_tokens)
            if c.streaming and c.ttft_s is not None and not error:
                if not s.bound & B_R_TTFC:
                    self._bind_region(s, R_TTFC)
                self.ttfc.put(d, x, o_ttfc, e_ttfc, S_TTFC, c.ttft_s, ex)
                per_chunk = c.tpot_s
                if per_chunk is None and c.output_tokens and c.output_tokens > 1 and seconds > c.ttft_s:
                    per_chunk = (seconds - c.ttft_s) / (c.output_tokens - 1)
                if per_chunk is not None:
                    if not s.bound & B_R_TPOC:
                        self._bind_region(s, R_TPOC)
                    self.tpoc.put(d, x, o_tpoc, e_tpoc, S_TPOC, per_chunk, ex)
            if c.cost_usd is not None:
                d[COST] += c.cost_usd
                if not s.bound & B_COST:
                    self._bind(s, COST)
                if not s.bound & B_R_COST:
                    self._bind_region(s, R_COST)
                self.request_cost.put(d, x, o_cost, e_cost, S_COST, c.cost_usd, ex)
            elif ((c.input_tokens or 0) + (c.output_tokens or 0)) > 0 or not error:
                # no price for its tokens, or a successful call that reported none (a stream without
                # stream_options.include_usage): its cost is unknown, not $0
                d[UNPRICED] += 1.0
                if not s.bound & B_UNPRICED:
                    self._bind(s, UNPRICED)
            for r in c.finish_reasons:
                i = FINISH_INDEX.get(r)
                if i is None:
                    self.finish.inc(s.key + (r,))
                else:
                    self._add(s, i, 1.0)
        if c.guardrail:
            self._add(s, GUARDRAIL, 1.0)
        if c.refusal or (is_llm and "content_filter" in c.finish_reasons):
            self._add(s, REFUSALS, 1.0)
        if c.retry:
            self._add(s, RETRIES, 1.0)
        if c.fallback:
            self._add(s, FALLBACKS, 1.0)
        if c.cache_hit:
            self._add(s, CACHE_HITS, 1.0)
        key = s.key
        if c.operation == "execute_tool":
            self.tool_calls.inc((key[0], self.caps.value("gen_ai_tool_name", c.tool_name or "unknown"), error))
        d[DEPLOYMENT + 1] = mono
        for e in c.evals:
            self._eval(key[0], key[3], e, ex)
        # cross-span state
        if is_llm:
            seen = self.seen
            covered = seen.remember(c, s.owner, s.response_owner)
            if covered:                 # aggregates that were waiting for a call of this trace
                self.aggregate_usage.inc(("covered",), covered)
            evicted = seen.traces.add(c.trace_id, key[0], mono, 1, c.cost_usd, c.trace_id)
            if evicted is not None:
                self._finish_trace(evicted, wall)
            if c.conversation_id:
                evicted = seen.conversations.add(c.conversation_id, key[0], mono, 1, c.cost_usd)
                if evicted is not None:
                    self._finish_conversation(evicted)

    def _add(self, s: _Slot, i: int, amount: float) -> None:
        s.data[i] += amount
        if not s.bound & (1 << i):
            self._bind(s, i)

    def _eval(self, service: str, model: str, e: Eval, ex) -> None:
        name = self.caps.value("gen_ai_evaluation_name", e.name)
        if e.score is not None:
            self.eval_score.observe((service, model, name), e.score, ex)
        self.eval_results.inc((service, model, name, self.caps.value("gen_ai_evaluation_score_label", e.label)))

    def _finish_trace(self, agg: tuple, wall: float | None = None) -> None:
        """Observe a finished trace (an `Aggregate`, or a plain tuple in its field order)."""
        service, operations, cost, priced, _, trace_id = agg
        key = (service,)
        ex = (trace_id, "", wall or time.time()) if self.exemplars and trace_id else None
        self.trace_ops.observe(key, operations, ex)
        if priced:
            self.trace_cost.observe(key, cost, ex)

    def _finish_conversation(self, agg: tuple) -> None:
        service, _, cost, priced, _, _ = agg
        if priced:
            self.conv_cost.observe((service,), cost)

    def sweep(self, flush: bool = False) -> None:
        """Decide aggregates whose wait is over, observe traces and conversations that went idle (all of
        them when flush)."""
        now = self.now()
        seen = self.seen
        with self.lock:
            for items in (seen.pending.drain() if flush else seen.pending.due(now)):
                self._decide(items, time.time(), now)
            for agg in (seen.traces.drain() if flush else seen.traces.sweep(now)):
                self._finish_trace(agg)
            for agg in (seen.conversations.drain() if flush else seen.conversations.sweep(now)):
                self._finish_conversation(agg)
            self._expire_deployments(now)

    # -- late scores and feedback -------------------------------------------
    def _score(self, trace_id: str, span_id: str, item: Eval | bool, wall: float, source: str) -> None:
        service, model = self.seen.owner(trace_id, span_id)
        ex = (trace_id, span_id, wall) if self.exemplars and trace_id else None
        if isinstance(item, Eval):
            self._eval(service, model, item, ex)
        else:
            self.feedback.inc((service, model, "positive" if item else "negative"))
        self.scores_received.inc((source,))

    def record_scores(self, items: list[tuple[str, str, Eval | bool]], source: str) -> None:
        """items: (trace_id, span_id, Eval) for scores or (trace_id, span_id, positive) for feedback."""
        wall = time.time()
        with self.lock:
            for trace_id, span_id, item in items:
                self._score(trace_id, span_id, item, wall, source)

    # -- self metrics ------------------------------------------------------------
    def count(self, counter: Counter, key: tuple, n: float = 1.0) -> None:
        with self.lock:
            counter.inc(key, n)

    def observe(self, hist: Histogram, key: tuple, value: float) -> None:
        with self.lock:
            hist.observe(key, value)

    def request_done(self, key: tuple, transport: tuple, seconds: float) -> None:
        """One ingest request answered: `requests` {key} + 1 and its time in `ingest` {transport}, under
        one lock acquisition (the HTTP and gRPC servers call this once a request)."""
        with self.lock:
            self.requests.inc(key)
            self.ingest.observe(transport, seconds)
