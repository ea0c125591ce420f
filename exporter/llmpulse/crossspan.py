"""What llmpulse remembers across spans and requests, so one call counts once and late data finds its call.

- the calls already counted (their span ids, the span ids around them, their provider response ids,
  recent failures): a second report of a call is recognised (`duplicate`, `same_failure`);
- which call a late score belongs to (`owner`): the span's call, else the trace's last successful call;
- aggregate usage (an agent span repeating its calls' totals) waiting for a call of its trace (`pending`),
  and the intervals of aggregates counted because none came (`promoted`);
- open traces and conversations (`traces`, `conversations`), observed when idle.

Everything is bounded by `tracking.*` (llmpulse.tracking's Lru, Window and Pending). `llmpulse.metrics.Metrics`
holds one `CrossSpan` and calls it under its lock; this module records no metric itself.

>>> from llmpulse.config import load_config
>>> from llmpulse.records import Call
>>> from llmpulse.series import LabelCaps
>>> seen = CrossSpan(load_config().tracking, LabelCaps({}))
>>> first = Call(trace_id="a" * 32, span_id="b" * 16, provider="openai", response_id="r1", scope="sdk")
>>> seen.remember(first, ("shop", "gpt-4o", False), ("openai", "shop", "gpt-4o", False))
0
>>> seen.owner("a" * 32, "")
('shop', 'gpt-4o')
>>> again = Call(trace_id="c" * 32, span_id="d" * 16, provider="openai", response_id="r1", scope="openllmetry")
>>> seen.maybe_duplicate(again, ()), seen.duplicate(again, ())
(True, 'duplicate_response')
>>> reused = Call(trace_id="e" * 32, span_id="f" * 16, provider="openai", response_id="r1", scope="sdk")
>>> seen.duplicate(reused, ())          # the same scope again: a provider reusing its ids, a new call
"""

from __future__ import annotations

from collections.abc import Collection

from llmpulse.config import TrackingConfig
from llmpulse.records import Call
from llmpulse.series import LabelCaps
from llmpulse.tracking import Lru, Pending, Window

MAX_SCOPED = 4096                  # (label set, scope) pairs whose response-id tuple is shared
FAILURE_MATCH_NS = 5_000_000      # two scopes' reports of one failed call start within 5 ms of each other

# (service, model, failed): what a late score attaches to
Owner = tuple[str, str, bool]


class CrossSpan:
    """The cross-span state of one exporter (see the module docstring). Not thread-safe: callers lock."""

    def __init__(self, tc: TrackingConfig, caps: LabelCaps):
        self.caps = caps
        self.traces = Window(tc.trace_idle_seconds, tc.max_traces)
        self.conversations = Window(tc.conversation_idle_seconds, tc.max_conversations)
        self.span_owner = Lru(tc.remember_spans)     # span_id of a call -> (service, model, failed)
        self.trace_owner = Lru(tc.remember_spans)    # trace_id -> its last successful call's (service, model, failed)
        self.call_parents = Lru(tc.remember_spans)   # parent span ids of calls (a call there wraps a counted one)
        # response id -> (provider, service, model, failed, scope): one tuple per label set and scope, none per call
        self.responses = Lru(tc.remember_responses)
        self.scoped: dict[tuple[tuple[str, str, str, bool], str], tuple[str, str, str, bool, str]] = {}
        # failed calls have no response id: (service, provider, model, error_type, start // window) ->
        # [[start_ns, scope, matched]] of counted failures, to match one failure reported by two scopes
        self.failures = Lru(tc.remember_responses)
        self.pending = Pending(tc.aggregate_wait_seconds, tc.max_pending_aggregates)   # aggregates with tokens
        self.promoted = Lru(tc.max_pending_aggregates)   # trace_id -> [(start_ns, end_ns)] of promoted aggregates

    def counts(self) -> dict[str, int]:
        """Items held, by kind (`llmpulse_tracked_items`)."""
        return {"traces": len(self.traces.open), "conversations": len(self.conversations.open),
                "spans": len(self.span_owner.data), "responses": len(self.responses.data),
                "pending_aggregates": self.pending.count}

    # -- one call, one count -------------------------------------------------------
    def maybe_duplicate(self, c: Call, wrappers: Collection[str]) -> bool:
        """A cheap test every call takes: False means `duplicate(c, wrappers)` is None."""
        sid, parent, rid = c.span_id, c.parent_span_id, c.response_id
        return (sid in wrappers or sid in self.call_parents.data or bool(parent and parent in self.span_owner.data)
                or bool(rid and rid in self.responses.data)
                or bool(self.promoted.data and c.trace_id in self.promoted.data))

    def duplicate(self, c: Call, wrappers: Collection[str]) -> str | None:
        """Why call c is not to be counted (it was reported already), or None.

        `wrappers`: parent span ids of the calls in c's request (within one request the inner span is kept).
        """
        sid, parent = c.span_id, c.parent_span_id
        owners = self.span_owner.data
        owner = None
        if sid in wrappers:
            reason = "nested_call"                 # the call below it in this batch is counted
        elif parent and parent in owners:
            reason, owner = "nested_call", owners[parent]      # the call around it was counted
        elif sid in self.call_parents.data:
            reason = "nested_call"                 # a call below it was counted in an earlier request
        elif c.response_id and (seen := self.responses.data.get(c.response_id)) is not None \
                and seen[4] != c.scope and seen[0] == self.caps.value("gen_ai_provider_name", c.provider):
            # the same response reported by another instrumentation (a scope's own repeats are new calls:
            # providers reuse ids, Ollama draws them from 999, a restarted server starts again)
            reason, owner = "duplicate_response", seen[1:4]
        else:
            ivs = self.promoted.data.get(c.trace_id) if self.promoted.data else None
            if not ivs or not any(a <= c.start_ns and c.end_ns <= b for a, b in ivs):
                return None
            reason = "covered_by_promoted"         # the promoted aggregate's totals include it
        # remembered so that what wraps it is recognised too, and, when the call counted is around it (or
        # elsewhere), what it wraps and late scores naming it
        if owner is not None:
            self.span_owner.put_new(sid, owner)
        if parent:
            self.call_parents.put_new(parent, True)
        return reason

    def same_failure(self, c: Call) -> bool:
        """Whether failed call c is one already counted from another instrumentation scope: same service,
        provider, model and error_type, started within FAILURE_MATCH_NS of it (anthropic 2.16's own span and
        OpenLLMetry's, each in its own trace, ~1 ms apart). A counted failure matches one report at most; one
        that matches none is remembered (bounded: tracking.remember_responses keys, 64 failures each)."""
        base = (c.service, self.caps.value("gen_ai_provider_name", c.provider), c.request_model, c.error_type)
        bucket = c.start_ns // FAILURE_MATCH_NS
        data = self.failures.data
        for b in (bucket - 1, bucket, bucket + 1):
            for entry in data.get(base + (b,), ()):
                if not entry[2] and entry[1] != c.scope and abs(entry[0] - c.start_ns) <= FAILURE_MATCH_NS:
                    entry[2] = True
                    return True
        key = base + (bucket,)
        entries = data.get(key)
        if entries is None:
            self.failures.put_new(key, [[c.start_ns, c.scope, False]])
        elif len(entries) < 64:
            entries.append([c.start_ns, c.scope, False])
        return False

    def remember(self, c: Call, owner: Owner, response_owner: tuple[str, str, str, bool]) -> int:
        """Remember counted call c: its span (and the span around it), its response id, its trace's owner.
        Returns how many aggregates were waiting for a call of its trace (now covered by it)."""
        trace_id = c.trace_id
        self.span_owner.put_new(c.span_id, owner)
        if c.parent_span_id:          # Lru.put_new, inline: this runs for every call
            lru = self.call_parents
            lru.data[c.parent_span_id] = True
            if len(lru.data) > lru.size:
                lru.data.popitem(last=False)
        if c.response_id:
            lru = self.responses
            key = (response_owner, c.scope)
            value = self.scoped.get(key)
            if value is None:
                if len(self.scoped) >= MAX_SCOPED:      # scope names come from senders: bounded
                    self.scoped.clear()
                value = self.scoped[key] = response_owner + (c.scope,)
            lru.data[c.response_id] = value
            if len(lru.data) > lru.size:
                lru.data.popitem(last=False)
        if not owner[2]:
            self.trace_owner.put(trace_id, owner)
        else:           # a failed call stands for its trace only until a successful one is seen
            old = self.trace_owner.data.get(trace_id)
            if old is None or old[2]:
                self.trace_owner.put(trace_id, owner)
        if self.pending.count and trace_id in self.pending.traces:
            return len(self.pending.pop(trace_id) or ())
        return 0

    # -- aggregates: counted only when their trace has no call ------------------------
    def has_call(self, trace_id: str) -> bool:
        return trace_id in self.trace_owner.data

    def promote(self, a: Call) -> None:
        """Aggregate a is counted as its trace's call: calls of its trace inside its interval are covered."""
        ivs = self.promoted.get(a.trace_id)
        self.promoted.put(a.trace_id, (ivs or []) + [(a.start_ns, a.end_ns)])

    # -- late scores --------------------------------------------------------------
    def owner(self, trace_id: str, span_id: str) -> tuple[str, str]:
        """(service, model) of the call a late score refers to: the span's call when the span id names a
        call, else the trace's last successful call (its last call when none succeeded), else unknown."""
        hit = self.span_owner.get(span_id) if span_id else None
        if hit is None and trace_id:
            hit = self.trace_owner.get(trace_id)
        return hit[:2] if hit else ("unknown", "unknown")
