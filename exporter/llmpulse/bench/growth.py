"""Growth: ingest throughput with 10 vs 10,000 active label sets, and memory under a cardinality attack.

>>> LabelSets(3, batch=32).rate(spans=64) > 0
True
>>> sorted(growth_ratio(spans=128, rounds=1, small=2, large=4))[:2]
['ratio', 'round_ratios']
"""

from __future__ import annotations

import gc
import time
from contextlib import contextmanager

from prometheus_client import CollectorRegistry

from llmpulse import otlp
from llmpulse.app import settle_gc
from llmpulse.bench.ingest import send_all
from llmpulse.bench.payloads import synthetic
from llmpulse.bench.scrape import bench_config
from llmpulse.bench.server import ServerProcess
from llmpulse.bench.stores import steady_state
from llmpulse.metrics import Metrics
from llmpulse.pipeline import Pipeline


@contextmanager
def exporter_gc():
    """The garbage-collector settings of an exporter process (`llmpulse.app.settle_gc`), for a measurement
    made in this process; undone afterwards."""
    threshold = gc.get_threshold()
    settle_gc()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


class LabelSets:
    """A pipeline (in-process: decode + normalise + record) with `label_sets` label sets already active,
    and with its bounded stores full when given `store_scale` (`llmpulse.bench.stores.steady_state`), so
    two of them differ only in their label sets."""

    def __init__(self, label_sets: int, batch: int = 512, store_scale: float | None = None):
        overrides, fill = steady_state(store_scale) if store_scale else ({"tracking": {}}, 0)
        cfg = bench_config(label_sets, overrides["tracking"])
        self.pipe = Pipeline(cfg, Metrics(cfg, CollectorRegistry()))
        self.label_sets, self.batch, self.first = label_sets, batch, 0
        while self.first < max(label_sets, fill):           # every label set active, the stores full
            self._send([self._body(min(batch, max(label_sets, fill) - self.first))])
        self.filled = self.first
        active = len({k[:4] for k in self.pipe.metrics.duration.series})
        if active < label_sets:
            raise RuntimeError(f"only {active} of {label_sets} label sets became active")

    def _body(self, n: int) -> bytes:
        body = synthetic(n, lambda k: f"model-{k % self.label_sets}", self.first).SerializeToString()
        self.first += n
        return body

    def _send(self, bodies: list[bytes]) -> None:
        for b in bodies:
            self.pipe.traces(b, otlp.PROTOBUF)

    def rate(self, spans: int) -> float:
        """Spans per second over `spans` fresh spans, with the garbage collector set as in an exporter."""
        bodies = [self._body(self.batch) for _ in range(max(1, spans // self.batch))]
        with exporter_gc():
            t = time.perf_counter()
            self._send(bodies)
            took = time.perf_counter() - t
        return len(bodies) * self.batch / took


def growth_ratio(spans: int, rounds: int, small: int = 10, large: int = 10_000,
                 store_scale: float | None = None) -> dict:
    """Throughput with `large` active label sets / with `small`, in alternating rounds; the median round.
    With `store_scale`, both pipelines' bounded stores are filled first (steady state)."""
    a, b = LabelSets(small, store_scale=store_scale), LabelSets(large, store_scale=store_scale)
    measured = []
    for _ in range(rounds):
        ra, rb = a.rate(spans // rounds), b.rate(spans // rounds)
        measured.append((rb / ra, ra, rb))
    ratio, ra, rb = sorted(measured)[len(measured) // 2]
    return {"ratio": ratio, f"spans_per_s_{small}": ra, f"spans_per_s_{large}": rb,
            "round_ratios": [m[0] for m in measured], "store_scale": store_scale,
            "spans_sent_first": [a.filled, b.filled]}


def cardinality_attack(distinct_models: int, batch: int = 512, warmup_spans: int = 0) -> dict:
    """A fresh exporter (default caps) in its own process: normal traffic first, then every span a new model.

    Growth is resident memory after the attack minus after an equal-sized warm-up of
    well-behaved traffic, so bounded stores (dedupe, late-score owners) filling up
    are not counted as attack growth.
    """
    server = ServerProcess()
    try:
        first = 1

        def send(total: int, model) -> int:
            """Post `total` spans (in rounds of 64 batches) named by `model(k)`; return how many."""
            nonlocal first
            sent = 0
            while sent < total:
                n = min(batch * 64, total - sent)
                bodies = [synthetic(batch, model, first + i * batch).SerializeToString()
                          for i in range(max(1, n // batch))]
                send_all(server.otlp_url, bodies, "protobuf")
                first += len(bodies) * batch
                sent += len(bodies) * batch
            return sent

        warmed = send(warmup_spans or distinct_models, lambda k: f"gpt-4o-{k % 8}")
        rss_before = server.rss_bytes()
        t = time.perf_counter()
        attack_sent = send(distinct_models, lambda k: f"attack-{k:09d}")
        took = time.perf_counter() - t
        rss_after = server.rss_bytes()
        return {"distinct_models": attack_sent, "warmup_spans": warmed, "seconds": took,
                "rss_before_mb": rss_before / 2**20, "rss_after_mb": rss_after / 2**20,
                "growth_mb": (rss_after - rss_before) / 2**20}
    finally:
        server.stop()
