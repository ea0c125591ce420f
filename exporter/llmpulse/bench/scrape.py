"""Scrape cost per exposed line, and memory per active label set.

`loaded_metrics(n)` fills a `Metrics` with n active label sets (distinct
service/operation/provider/model tuples) through the normal recording path;
`mirror(metrics)` recreates the same series as prometheus_client
Counter/Histogram/Gauge objects in a separate registry, which is what
`generate_latest` is timed on.

>>> m, reg = loaded_metrics(5)
>>> len({k[:4] for k in m.duration.series})
5
>>> ours, theirs = scrape_costs(m, reg, repeats=1)
>>> abs(ours["lines"] - theirs["lines"]) <= 2     # unlabelled prometheus_client metrics always show a 0
True
"""

from __future__ import annotations

import gc
import time
import tracemalloc

from prometheus_client import CollectorRegistry, disable_created_metrics, enable_created_metrics, generate_latest
from prometheus_client import Counter as PCounter
from prometheus_client import Gauge as PGauge
from prometheus_client import Histogram as PHistogram

from llmpulse import exposition
from llmpulse.config import load_config
from llmpulse.metrics import Metrics
from llmpulse.records import Call
from llmpulse.series import Counter, Gauge, Histogram

SERVICES = 20
PROVIDERS = ("openai", "anthropic", "aws.bedrock", "gcp.vertex_ai", "azure.ai.openai")


def bench_config(max_label_sets: int, tracking: dict | None = None):
    """Caps raised so the benchmark's label sets are real ones, not __overflow__ (tracking: store sizes)."""
    cap = max(200, 2 * max_label_sets)
    return load_config(overrides={"metrics": {"label_caps": {"gen_ai_request_model": cap,
                                                             "gen_ai_response_model": cap,
                                                             "service_version": cap}},
                                  "tracking": tracking or {}})


def calls_for(n_label_sets: int, per_set: int = 1, first_id: int = 0) -> list[Call]:
    """Calls covering n label sets: service i % 20, provider i % 5, model m<i>."""
    out = []
    k = first_id
    for _rep in range(per_set):
        for i in range(n_label_sets):
            k += 1
            out.append(Call(trace_id=f"{k:032x}", span_id=f"{k:016x}", service=f"svc-{i % SERVICES}",
                            provider=PROVIDERS[i % len(PROVIDERS)], request_model=f"model-{i}",
                            start_ns=1_000_000_000, end_ns=1_000_000_000 + 300_000_000 + (k % 97) * 50_000_000,
                            input_tokens=50 + k % 2000, output_tokens=10 + k % 500, streaming=i % 2 == 0,
                            ttft_s=0.1 + (k % 7) * 0.05, finish_reasons=("stop",), cost_usd=0.0001 * (k % 50),
                            service_version="1.2.3", dialect="otel"))
    return out


def loaded_metrics(n_label_sets: int) -> tuple[Metrics, CollectorRegistry]:
    reg = CollectorRegistry()
    m = Metrics(bench_config(n_label_sets), reg)
    m.record(calls_for(n_label_sets, per_set=2))
    m.sweep(flush=True)
    return m, reg


def mirror(metrics: Metrics) -> CollectorRegistry:
    """The same series as prometheus_client metric objects in their own registry."""
    reg = CollectorRegistry()
    _fill_mirror(metrics, reg)
    return reg


def _fill_mirror(metrics: Metrics, reg: CollectorRegistry) -> None:
    for f in metrics.families:
        if isinstance(f, Histogram):
            h = PHistogram(f.name, f.doc, f.labelnames, buckets=f.bounds, registry=reg)
            for key, s in f.series.items():
                child = h.labels(*key) if key else h
                for bound, c in zip(f.bounds + [float("inf")], f.merged(s)[0]):
                    for _ in range(min(c, 3)):      # the line count is what matters, not the values
                        child.observe(bound)
        elif isinstance(f, Counter):
            c = PCounter(f.name, f.doc, f.labelnames, registry=reg)
            for key, v in f.values.items():
                (c.labels(*key) if key else c).inc(v)
        elif isinstance(f, Gauge):
            g = PGauge(f.name, f.doc, f.labelnames, registry=reg)
            for key, v in f.values.items():
                (g.labels(*key) if key else g).set(v)


def _best(fn, repeats: int) -> tuple[float, bytes]:
    best, body = float("inf"), b""
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        body = fn()
        best = min(best, time.perf_counter() - t)
    return best, body


def scrape_costs(metrics: Metrics, registry: CollectorRegistry, repeats: int = 3) -> tuple[dict, dict]:
    """(ours, theirs): seconds and lines of the /metrics text render and of generate_latest on the mirror.

    Ours is timed before the mirror exists, theirs after, so neither pays for the
    other's objects in garbage collection.
    """
    exposition.render(metrics, registry, False)          # first render fills the label cache; steady state after
    t_ours, body_ours = _best(lambda: exposition.render(metrics, registry, False), repeats)
    t_om, _ = _best(lambda: exposition.render(metrics, registry, True), repeats)
    theirs_reg = mirror(metrics)
    disable_created_metrics()        # llmpulse exposes no _created series: compare like with like
    try:
        t_theirs, body_theirs = _best(lambda: generate_latest(theirs_reg), repeats)
    finally:
        enable_created_metrics()
    return ({"seconds": t_ours, "lines": sample_lines(body_ours), "openmetrics_seconds": t_om},
            {"seconds": t_theirs, "lines": sample_lines(body_theirs)})


def sample_lines(body: bytes) -> int:
    """Exposed sample lines (comments and blank lines not counted)."""
    return sum(1 for line in body.split(b"\n") if line and not line.startswith(b"#"))


def bytes_per_label_set(small: int = 10, large: int = 10_000) -> float:
    """Traced Python memory of a Metrics holding `large` label sets minus one holding `small`, per set."""
    def size(n: int) -> int:
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        m, reg = loaded_metrics(n)
        exposition.render(m, reg, False)                  # includes the scrape-time label cache
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        del m, reg
        return held

    return (size(large) - size(small)) / (large - small)
