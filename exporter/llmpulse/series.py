"""Small metric families keyed by label-value tuples, collected by prometheus_client.

The numbers live in `Block`s: one array of doubles (and one exemplar list) can
hold many series of many families, so `llmpulse.metrics` keeps everything one
label set updates in one block, a few cache lines apart, and finds it with one
dict lookup. A family maps each key to its parts, (block, offsets) where the
series' numbers are; a key with several parts (label sets that differ only in
labels this family does not have) is their sum. They do no locking of their
own: `llmpulse.metrics.Metrics` updates a whole batch under one lock, which is
cheaper than a lock per update.

>>> h = Histogram("x_seconds", "demo", ("op",), [0.1, 1.0])
>>> h.observe(("chat",), 0.5)
>>> [(s.name, s.labels.get("le"), s.value) for s in h.collect().samples][:3]
[('x_seconds_bucket', '0.1', 0.0), ('x_seconds_bucket', '1.0', 1.0), ('x_seconds_bucket', '+Inf', 1.0)]
"""

from __future__ import annotations

import time
from array import array
from bisect import bisect_left

import prometheus_client
from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Exemplar
from prometheus_client.utils import floatToGoString

OVERFLOW = "__overflow__"


class PlainCounter(prometheus_client.Counter):
    """client_python's Counter (labels, its own lock) without the `_created` series, like every
    other llmpulse counter (docs/metrics.md lists no `_created`; Prometheus would store it as a
    gauge family of its own).

    >>> from prometheus_client import CollectorRegistry
    >>> c = PlainCounter("x", "demo", registry=CollectorRegistry())
    >>> c.inc()
    >>> [s.name for s in c.collect()[0].samples]
    ['x_total']
    """

    def _child_samples(self):
        return [s for s in super()._child_samples() if s.name != "_created"]


class LabelCaps:
    """Caps the distinct values of each label; values past the cap become OVERFLOW.

    A value already seen comes back as the object first seen, so every key tuple holding it
    shares one string (fewer cold objects to touch per update).

    >>> caps = LabelCaps({"model": 2}, default=10, max_length=8)
    >>> [caps.value("model", m) for m in ("a", "b", "c", "a")]
    ['a', 'b', '__overflow__', 'a']
    >>> caps.overflows
    {'model': 1}
    """

    def __init__(self, caps: dict[str, int], default: int = 100, max_length: int = 128):
        self.caps = dict(caps)
        self.default = default
        self.max_length = max_length
        self.seen: dict[str, dict[str, str]] = {}
        self.overflows: dict[str, int] = {}

    def value(self, label: str, value: str) -> str:
        seen = self.seen.get(label)
        if seen is None:
            seen = self.seen[label] = {}
        hit = seen.get(value)
        if hit is not None:
            return hit
        if len(value) > self.max_length:
            value = value[: self.max_length]
            hit = seen.get(value)
            if hit is not None:
                return hit
        if len(seen) < self.caps.get(label, self.default):
            seen[value] = value
            return value
        self.overflows[label] = self.overflows.get(label, 0) + 1
        return OVERFLOW


class Block:
    """Numbers of one or more series (`data`, doubles) and their exemplars (`ex`, a list)."""

    __slots__ = ("data", "ex")

    def __init__(self, size: int, ex_size: int = 0):
        self.data = array("d", bytes(8 * size))
        self.ex: list = [None] * ex_size


class Counter:
    """A counter family. A series is its parts' sum: (array of doubles, index) cells; `inc` adds to
    the first, a holder of a cell (llmpulse.metrics) adds to it directly.

    >>> c = Counter("x", "demo", ("op",))
    >>> c.inc(("chat",), 2); c.values
    {('chat',): 2.0}
    >>> a = array("d", [0.0, 5.0]); c.bind(("chat",), a, 1); c.values
    {('chat',): 7.0}
    """

    def __init__(self, name: str, doc: str, labelnames: tuple[str, ...]):
        self.name = name            # without _total
        self.doc = doc
        self.labelnames = labelnames
        self.cells: dict[tuple, list[tuple[array, int]]] = {}
        self.label_text: dict[tuple, str] = {}     # escaped label text per key, cached by llmpulse.exposition

    def _own(self, key: tuple) -> tuple[array, int]:
        parts = self.cells.get(key)
        if parts is None:
            parts = self.cells[key] = [(array("d", [0.0]), 0)]
        return parts[0]

    def inc(self, key: tuple, amount: float = 1.0) -> None:
        data, i = self._own(key)
        data[i] += amount

    def set(self, key: tuple, value: float) -> None:
        """For a key with one part (counts kept elsewhere, e.g. label overflows)."""
        data, i = self._own(key)
        data[i] = value

    def bind(self, key: tuple, data: array, i: int) -> None:
        """Add data[i] to key's series."""
        self.cells.setdefault(key, []).append((data, i))

    def items(self) -> list[tuple[tuple, float]]:
        """(key, value) of every series."""
        out = []
        for key, parts in self.cells.items():
            if len(parts) == 1:
                data, i = parts[0]
                out.append((key, data[i]))
            else:
                out.append((key, sum(data[i] for data, i in parts)))
        return out

    @property
    def values(self) -> dict[tuple, float]:
        """A copy: key -> value."""
        return dict(self.items())

    def collect(self) -> Metric:
        m = Metric(self.name, self.doc, "counter")
        names = self.labelnames
        sample = self.name + "_total"
        for key, v in self.items():
            m.add_sample(sample, dict(zip(names, key)), v)
        return m


class Gauge:
    """Values set directly (e.g. queue lengths, info gauges with expiry). A series' parts are
    (array, index) cells holding [value, last set (monotonic seconds)]; parts of one series hold the
    same value (llm_deployment_info: 1) and it expires when its newest part is older than the ttl.

    >>> g = Gauge("x", "demo", ("v",), ttl_seconds=10)
    >>> g.set(("1",), 1, now=0); g.expire(now=5), g.values
    ([], {('1',): 1.0})
    >>> g.expire(now=11), g.values
    ([('1',)], {})
    """

    def __init__(self, name: str, doc: str, labelnames: tuple[str, ...], ttl_seconds: float | None = None):
        self.name = name
        self.doc = doc
        self.labelnames = labelnames
        self.ttl = ttl_seconds
        self.cells: dict[tuple, list[tuple[array, int]]] = {}
        self.label_text: dict[tuple, str] = {}

    def set(self, key: tuple, value: float, now: float | None = None) -> None:
        parts = self.cells.get(key)
        if parts is None:
            parts = self.cells[key] = [(array("d", [0.0, 0.0]), 0)]
        data, i = parts[0]
        data[i] = value
        if self.ttl is not None:
            data[i + 1] = now if now is not None else time.monotonic()

    def bind(self, key: tuple, data: array, i: int) -> None:
        """Add the cell data[i] (value), data[i + 1] (last set) to key's series."""
        self.cells.setdefault(key, []).append((data, i))

    def expire(self, now: float | None = None) -> list[tuple]:
        """Drop the series not set for the ttl; their keys."""
        if self.ttl is None:
            return []
        now = now if now is not None else time.monotonic()
        ttl = self.ttl
        old = [k for k, parts in self.cells.items() if all(now - data[i + 1] > ttl for data, i in parts)]
        for key in old:
            del self.cells[key]
        return old

    def items(self) -> list[tuple[tuple, float]]:
        return [(key, parts[0][0][parts[0][1]]) for key, parts in self.cells.items()]

    @property
    def values(self) -> dict[tuple, float]:
        """A copy: key -> value."""
        return dict(self.items())

    def collect(self) -> Metric:
        m = Metric(self.name, self.doc, "gauge")
        for key, v in self.items():
            m.add_sample(self.name, dict(zip(self.labelnames, key)), v)
        return m


class Histogram:
    """A histogram family. A series' part is a region of a block: its sum at data offset so, then
    at offset o (count, last exemplar's value) for each bucket (not cumulative, +Inf last), 2n
    doubles, so a bucket's count and exemplar value share a cache line; at exemplar offset e, each
    bucket's last exemplar (the call's shared (trace_id, span_id, unix seconds) tuple) or None.
    Several parts of one key are summed, the newest exemplar kept.

    >>> h = Histogram("x", "", (), [1.0])
    >>> h.observe((), 0.5, ("t", "s", 10.0)); h.observe((), 0.7, ("u", "s", 10.5))
    >>> h.merged(h.series[()])
    ([2, 0], 1.2, [('u', 's', 10.5), None], [0.7, 0.0])
    """

    def __init__(self, name: str, doc: str, labelnames: tuple[str, ...], buckets: list[float]):
        self.name = name
        self.doc = doc
        self.labelnames = labelnames
        self.bounds = [float(b) for b in buckets]
        self.les = [floatToGoString(b) for b in self.bounds] + ["+Inf"]
        self.le_text = [f'le="{le}"}} ' for le in self.les]
        self.n = len(self.les)          # buckets, +Inf included
        self.size = 2 * self.n          # doubles in a block per series, its sum apart
        self.series: dict[tuple, list[tuple[Block, int, int, int]]] = {}
        self.label_text: dict[tuple, str] = {}

    def observe(self, key: tuple, value: float, exemplar: tuple | None = None) -> None:
        """exemplar: (trace_id, span_id, unix_seconds) attached to the value's bucket."""
        parts = self.series.get(key)
        if parts is None:
            parts = self.series[key] = [(Block(self.size + 1, self.n), 1, 0, 0)]
        block, o, e, so = parts[0]
        self.put(block.data, block.ex, o, e, so, value, exemplar)

    def bind(self, key: tuple, block: Block, o: int, e: int, so: int) -> None:
        """Add the region at (o, e, so) of block to key's series."""
        self.series.setdefault(key, []).append((block, o, e, so))

    def put(self, data: array, ex: list, o: int, e: int, so: int, value: float,
            exemplar: tuple | None = None) -> None:
        """Observe value in the region at (o, e, so) of a block's data and ex."""
        i = bisect_left(self.bounds, value)
        data[so] += value
        j = o + 2 * i
        data[j] += 1.0
        if exemplar is not None:
            data[j + 1] = value
            ex[e + i] = exemplar

    def copy(self, parts: list) -> list:
        """(region, sum, exemplars) of each part, copied (C-level slices: cheap enough under the lock)."""
        size, n = self.size, self.n
        return [(block.data[o:o + size], block.data[so], block.ex[e:e + n]) for block, o, e, so in parts]

    def merged(self, parts: list, copied: bool = False) -> tuple:
        """(bucket counts, sum, exemplars, exemplar values) of one series: its parts (or their `copy`) summed."""
        regions = parts if copied else self.copy(parts)
        if len(regions) == 1:
            data, total, ex = regions[0]
            return [int(c) for c in data[0::2]], total, ex, data[1::2].tolist()     # ex: a copy already
        counts = [0] * self.n
        total = 0.0
        exemplars: list = [None] * self.n
        values = [0.0] * self.n
        for data, part_sum, ex in regions:
            total += part_sum
            for i, c in enumerate(data[0::2]):
                counts[i] += int(c)
                x = ex[i]
                if x is not None and (exemplars[i] is None or x[2] > exemplars[i][2]):
                    exemplars[i], values[i] = x, data[1 + 2 * i]
        return counts, total, exemplars, values

    def collect(self) -> Metric:
        m = Metric(self.name, self.doc, "histogram")
        names = self.labelnames
        bucket, count, total = self.name + "_bucket", self.name + "_count", self.name + "_sum"
        les = self.les
        for key, parts in self.series.items():
            labels = dict(zip(names, key))
            acc = 0
            counts, total_sum, ex, values = self.merged(parts)
            for i, c in enumerate(counts):
                acc += c
                exemplar = None
                if ex[i] is not None:
                    (trace_id, span_id, ts), value = ex[i], values[i]
                    ex_labels = {"trace_id": trace_id}
                    if span_id:
                        ex_labels["span_id"] = span_id
                    exemplar = Exemplar(ex_labels, value, ts)
                m.add_sample(bucket, {**labels, "le": les[i]}, float(acc), exemplar=exemplar)
            m.add_sample(count, labels, float(acc))
            m.add_sample(total, labels, total_sum)
        return m
