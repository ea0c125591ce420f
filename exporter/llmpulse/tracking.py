"""Bounded memory across spans: resent spans, traces, conversations, late scores.

Every structure has a maximum size and forgets its oldest entry first, in
constant time: a plain dict used as a queue (`del d[next(iter(d))]`) is not,
as every deleted entry at its front stays in its table until the next resize
and is stepped over by the next `iter()` (up to 0.17 ms an eviction at
100,000 entries). Nothing here grows with traffic beyond its configured bound.

>>> d = Dedupe(2)
>>> [d.seen("t", s) for s in ("a", "b", "a", "c", "a")]
[False, False, True, False, False]
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, NamedTuple


class Dedupe:
    """Remembers the last `size` (trace, span) ids; a second sighting is a resend."""

    def __init__(self, size: int):
        self.size = size
        self.keys: set[int] = set()
        self.ring: list[int | None] = [None] * size      # the keys in arrival order; `pos` is the oldest
        self.pos = 0

    def seen(self, trace_id: str, span_id: str) -> bool:
        key = hash(trace_id + span_id)
        keys = self.keys
        if key in keys:
            return True
        ring, pos = self.ring, self.pos
        old = ring[pos]
        if old is not None:
            keys.discard(old)
        ring[pos] = key
        keys.add(key)
        self.pos = pos + 1 if pos + 1 < self.size else 0
        return False


class Lru:
    """A bounded mapping that forgets the least recently put key first."""

    def __init__(self, size: int):
        self.size = size
        self.data: OrderedDict[Any, Any] = OrderedDict()

    def put(self, key: Any, value: Any) -> None:
        data = self.data
        if key in data:
            data.move_to_end(key)
        data[key] = value
        if len(data) > self.size:
            data.popitem(last=False)

    def put_new(self, key: Any, value: Any) -> None:
        """`put` for keys almost never put twice (span ids): one lookup less, and a key put again keeps
        its place (it is forgotten as if first put then)."""
        data = self.data
        data[key] = value
        if len(data) > self.size:
            data.popitem(last=False)

    def get(self, key: Any, default: Any = None) -> Any:
        return self.data.get(key, default)


class Aggregate(NamedTuple):
    """Running totals for one trace or conversation, as `Window` hands them out."""

    service: str
    operations: int = 0
    cost: float = 0.0
    priced: bool = False
    last_seen: float = 0.0
    trace_id: str = ""


class Window:
    """Aggregates keyed by id, each finished once idle for `idle` seconds
    (or evicted early when `size` is exceeded).

    Open totals are plain tuples in `Aggregate`'s field order: the garbage collector stops
    tracking a tuple of plain values after its first pass (not a tuple subclass, not an
    instance), so tens of thousands of open traces add nothing to a full collection, which
    as instances took 30 ms and more, felt as ingest latency.
    """

    def __init__(self, idle: float, size: int):
        self.idle = idle
        self.size = size
        self.open: OrderedDict[str, tuple] = OrderedDict()     # ordered by last activity

    def add(self, key: str, service: str, now: float, operations: int = 0, cost: float | None = None,
            trace_id: str = "") -> tuple | None:
        """Add to key's totals; the totals evicted to stay within `size` (a plain tuple in `Aggregate`'s
        field order), or None."""
        opened = self.open
        old = opened.get(key)
        if old is None:
            opened[key] = (service, operations, cost or 0.0, cost is not None, now, trace_id)
            if len(opened) > self.size:
                return opened.popitem(last=False)[1]
        else:
            opened[key] = (old[0], old[1] + operations, old[2] + (cost or 0.0), old[3] or cost is not None, now,
                           old[5])
            opened.move_to_end(key)
        return None

    def sweep(self, now: float) -> list[Aggregate]:
        done = []
        opened = self.open
        while opened:
            key, agg = next(iter(opened.items()))
            if now - agg[4] < self.idle:
                break                # ordered by last activity: the rest are newer
            del opened[key]
            done.append(Aggregate._make(agg))
        return done

    def drain(self) -> list[Aggregate]:
        out = [Aggregate._make(a) for a in self.open.values()]
        self.open.clear()
        return out


class Pending:
    """Spans held back for a while, grouped by trace: aggregates (agent, workflow spans) that carry token
    counts, waiting for a call of their trace to show they were counted already.

    A trace's group is due `wait` seconds after its last addition; at most `size` spans are held, and
    past that the oldest group is handed back at once (decided early, never dropped).

    >>> p = Pending(wait=10, size=2)
    >>> p.add("t1", "a", now=0), p.add("t2", "b", now=1), p.add("t3", "c", now=2)
    ([], [], [['a']])
    >>> p.pop("t2"), p.count, p.due(now=20)
    (['b'], 1, [['c']])
    """

    def __init__(self, wait: float, size: int):
        self.wait = wait
        self.size = size
        self.count = 0
        self.traces: OrderedDict[str, list] = OrderedDict()     # trace id -> [due, [items]], by due time

    def add(self, trace_id: str, item, now: float) -> list[list]:
        """Hold item; the groups handed back early to stay within `size` (oldest first)."""
        group = self.traces.get(trace_id)
        if group is None:
            self.traces[trace_id] = [now + self.wait, [item]]
        else:
            group[0] = now + self.wait
            group[1].append(item)
            self.traces.move_to_end(trace_id)
        self.count += 1
        early = []
        while self.count > self.size:
            _, (_, items) = self.traces.popitem(last=False)
            self.count -= len(items)
            early.append(items)
        return early

    def pop(self, trace_id: str) -> list | None:
        group = self.traces.pop(trace_id, None)
        if group is None:
            return None
        self.count -= len(group[1])
        return group[1]

    def due(self, now: float) -> list[list]:
        out = []
        traces = self.traces
        while traces:
            trace_id, group = next(iter(traces.items()))
            if group[0] > now:
                break                # ordered by due time: the rest are later
            del traces[trace_id]
            self.count -= len(group[1])
            out.append(group[1])
        return out

    def drain(self) -> list[list]:
        out = [items for _, items in self.traces.values()]
        self.traces.clear()
        self.count = 0
        return out
