"""Bounded memory across spans: resent spans, traces, conversations, late scores.

Every structure is an insertion-ordered dict with a maximum size; the oldest
entry goes first. Nothing here grows with traffic beyond its configured bound.

>>> d = Dedupe(2)
>>> [d.seen("t", s) for s in ("a", "b", "a", "c", "a")]
[False, False, True, False, False]
"""

from __future__ import annotations

from dataclasses import dataclass


class Dedupe:
    """Remembers the last `size` (trace, span) ids; a second sighting is a resend."""

    def __init__(self, size: int):
        self.size = size
        self.keys: dict[int, None] = {}

    def seen(self, trace_id: str, span_id: str) -> bool:
        key = hash(trace_id + span_id)
        keys = self.keys
        if key in keys:
            return True
        keys[key] = None
        if len(keys) > self.size:
            del keys[next(iter(keys))]
        return False


class Lru:
    """A bounded mapping that forgets the oldest key first."""

    def __init__(self, size: int):
        self.size = size
        self.data: dict = {}

    def put(self, key, value) -> None:
        data = self.data
        if key in data:
            del data[key]
        data[key] = value
        if len(data) > self.size:
            del data[next(iter(data))]

    def get(self, key, default=None):
        return self.data.get(key, default)


@dataclass(slots=True)
class Aggregate:
    """Running totals for one trace or conversation."""

    service: str
    operations: int = 0
    cost: float = 0.0
    priced: bool = False
    last_seen: float = 0.0
    trace_id: str = ""


class Window:
    """Aggregates keyed by id, each finished once idle for `idle` seconds
    (or evicted early when `size` is exceeded)."""

    def __init__(self, idle: float, size: int):
        self.idle = idle
        self.size = size
        self.open: dict[str, Aggregate] = {}

    def add(self, key: str, service: str, now: float, operations: int = 0, cost: float | None = None,
            trace_id: str = "") -> list[Aggregate]:
        agg = self.open.pop(key, None)
        if agg is None:
            agg = Aggregate(service=service, trace_id=trace_id)
        agg.operations += operations
        if cost is not None:
            agg.cost += cost
            agg.priced = True
        agg.last_seen = now
        self.open[key] = agg      # re-insert: the dict stays ordered by last activity
        if len(self.open) > self.size:
            oldest = next(iter(self.open))
            return [self.open.pop(oldest)]
        return []

    def sweep(self, now: float) -> list[Aggregate]:
        done = []
        for key, agg in self.open.items():
            if now - agg.last_seen < self.idle:
                break                # ordered by last activity: the rest are newer
            done.append(key)
        return [self.open.pop(k) for k in done]

    def drain(self) -> list[Aggregate]:
        out = list(self.open.values())
        self.open.clear()
        return out
