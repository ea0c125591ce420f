"""Small metric families keyed by label-value tuples, collected by prometheus_client.

They do no locking of their own: `llmpulse.metrics.Metrics` updates a whole
batch under one lock, which is cheaper than a lock per update.

>>> h = Histogram("x_seconds", "demo", ("op",), [0.1, 1.0])
>>> h.observe(("chat",), 0.5)
>>> [(s.name, s.labels.get("le"), s.value) for s in h.collect().samples][:3]
[('x_seconds_bucket', '0.1', 0.0), ('x_seconds_bucket', '1.0', 1.0), ('x_seconds_bucket', '+Inf', 1.0)]
"""

from __future__ import annotations

import time
from array import array
from bisect import bisect_left

from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Exemplar
from prometheus_client.utils import floatToGoString

OVERFLOW = "__overflow__"


class LabelCaps:
    """Caps the distinct values of each label; values past the cap become OVERFLOW.

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
        self.seen: dict[str, set[str]] = {}
        self.overflows: dict[str, int] = {}

    def value(self, label: str, value: str) -> str:
        seen = self.seen.get(label)
        if seen is None:
            seen = self.seen[label] = set()
        if value in seen:
            return value
        if len(value) > self.max_length:
            value = value[: self.max_length]
            if value in seen:
                return value
        if len(seen) < self.caps.get(label, self.default):
            seen.add(value)
            return value
        self.overflows[label] = self.overflows.get(label, 0) + 1
        return OVERFLOW


class Counter:
    def __init__(self, name: str, doc: str, labelnames: tuple[str, ...]):
        self.name = name            # without _total
        self.doc = doc
        self.labelnames = labelnames
        self.values: dict[tuple, float] = {}
        self.label_text: dict[tuple, str] = {}     # escaped label text per key, cached by llmpulse.exposition

    def inc(self, key: tuple, amount: float = 1.0) -> None:
        self.values[key] = self.values.get(key, 0.0) + amount

    def collect(self) -> Metric:
        m = Metric(self.name, self.doc, "counter")
        names = self.labelnames
        sample = self.name + "_total"
        for key, v in self.values.items():
            m.add_sample(sample, dict(zip(names, key)), v)
        return m


class Gauge:
    """Values set directly (e.g. queue lengths, info gauges with expiry)."""

    def __init__(self, name: str, doc: str, labelnames: tuple[str, ...], ttl_seconds: float | None = None):
        self.name = name
        self.doc = doc
        self.labelnames = labelnames
        self.ttl = ttl_seconds
        self.values: dict[tuple, float] = {}
        self.seen: dict[tuple, float] = {}
        self.label_text: dict[tuple, str] = {}

    def set(self, key: tuple, value: float, now: float | None = None) -> None:
        self.values[key] = value
        if self.ttl is not None:
            self.seen[key] = now if now is not None else time.monotonic()

    def expire(self, now: float | None = None) -> None:
        if self.ttl is None:
            return
        now = now if now is not None else time.monotonic()
        for key in [k for k, t in self.seen.items() if now - t > self.ttl]:
            del self.seen[key]
            del self.values[key]

    def collect(self) -> Metric:
        m = Metric(self.name, self.doc, "gauge")
        for key, v in self.values.items():
            m.add_sample(self.name, dict(zip(self.labelnames, key)), v)
        return m


class _Series:
    """One histogram series in two objects, so an observation touches few cache lines: `data`, an
    array of doubles holding the n bucket counts, their sum, then each bucket's last exemplar value;
    and `exemplars`, each bucket's last exemplar (the call's shared (trace_id, span_id, unix seconds)
    tuple) or None, made at the first exemplar."""

    __slots__ = ("data", "exemplars")

    def __init__(self, n: int):
        self.data = array("d", bytes(8 * (2 * n + 1)))
        self.exemplars: list | None = None


class Histogram:
    def __init__(self, name: str, doc: str, labelnames: tuple[str, ...], buckets: list[float]):
        self.name = name
        self.doc = doc
        self.labelnames = labelnames
        self.bounds = [float(b) for b in buckets]
        self.les = [floatToGoString(b) for b in self.bounds] + ["+Inf"]
        self.le_text = [f'le="{le}"}} ' for le in self.les]
        self.n = len(self.les)          # buckets, +Inf included
        self.series: dict[tuple, _Series] = {}
        self.label_text: dict[tuple, str] = {}

    def observe(self, key: tuple, value: float, exemplar: tuple | None = None) -> None:
        """exemplar: (trace_id, span_id, unix_seconds) attached to the value's bucket."""
        n = self.n
        s = self.series.get(key)
        if s is None:
            s = self.series[key] = _Series(n)
        i = bisect_left(self.bounds, value)
        data = s.data
        data[i] += 1.0
        data[n] += value
        if exemplar is not None:
            ex = s.exemplars
            if ex is None:
                ex = s.exemplars = [None] * n
            ex[i] = exemplar
            data[n + 1 + i] = value

    def parts(self, s: _Series) -> tuple:
        """(bucket counts, sum, exemplars, exemplar values) of one series, copied.

        >>> h = Histogram("x", "", (), [1.0])
        >>> h.observe((), 0.5, ("t", "s", 1.0)); h.parts(h.series[()])
        ([1, 0], 0.5, [('t', 's', 1.0), None], [0.5, 0.0])
        """
        n, data = self.n, s.data
        ex = s.exemplars
        return ([int(c) for c in data[:n]], data[n], None if ex is None else ex.copy(),
                None if ex is None else data[n + 1:].tolist())

    def collect(self) -> Metric:
        m = Metric(self.name, self.doc, "histogram")
        names = self.labelnames
        bucket, count, total = self.name + "_bucket", self.name + "_count", self.name + "_sum"
        les = self.les
        for key, s in self.series.items():
            labels = dict(zip(names, key))
            acc = 0
            counts, total_sum, ex, values = self.parts(s)
            for i, c in enumerate(counts):
                acc += c
                exemplar = None
                if ex is not None and ex[i] is not None:
                    (trace_id, span_id, ts), value = ex[i], values[i]
                    ex_labels = {"trace_id": trace_id}
                    if span_id:
                        ex_labels["span_id"] = span_id
                    exemplar = Exemplar(ex_labels, value, ts)
                m.add_sample(bucket, {**labels, "le": les[i]}, float(acc), exemplar=exemplar)
            m.add_sample(count, labels, float(acc))
            m.add_sample(total, labels, total_sum)
        return m
