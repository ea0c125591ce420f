"""What keeps the garbage collector's pauses short (they showed as ingest latency at p99).

No timing here: what is checked is what the collector has to walk.
"""

from __future__ import annotations

import gc
import subprocess
import sys

from prometheus_client import CollectorRegistry

from llmpulse import otlp
from llmpulse.config import load_config
from llmpulse.demo.traffic import Traffic
from llmpulse.metrics import Metrics
from llmpulse.pipeline import Pipeline
from llmpulse.tracking import Aggregate, Window


def test_open_traces_are_not_tracked_by_the_collector():
    w = Window(idle=60, size=10)
    for i in range(5):
        w.add(f"t{i}", "shop", 1.0, 1, 0.25 if i % 2 else None, f"t{i}")
    gc.collect()
    assert len(w.open) == 5 and not any(gc.is_tracked(a) for a in w.open.values())


def test_window_hands_out_aggregates_with_their_totals():
    w = Window(idle=10, size=2)
    w.add("a", "shop", 1.0, 1, 0.5, "a")
    w.add("a", "shop", 2.0, 2, None, "a")
    w.add("b", "cart", 3.0, 1, None, "b")
    assert w.add("b", "cart", 3.5, 1, None, "b") is None
    evicted = w.add("c", "cart", 4.0, 1, None, "c")
    assert evicted == Aggregate("shop", 3, 0.5, True, 2.0, "a")
    assert w.sweep(13.8) == [Aggregate("cart", 2, 0.0, False, 3.5, "b")]
    assert w.drain() == [Aggregate("cart", 1, 0.0, False, 4.0, "c")] and not w.open


def test_a_busy_exporter_leaves_few_objects_for_the_collector():
    """After real traffic, what stays tracked is bounded by label sets, not by spans or traces held."""
    cfg = load_config()
    m = Metrics(cfg, CollectorRegistry())
    pipe = Pipeline(cfg, m)
    traffic = Traffic(seed=3)
    now = 1_700_000_000 * 10**9
    for i in range(20):
        pipe.traces(traffic.batch(500, now + i * 10**9).traces.SerializeToString(), otlp.PROTOBUF)
    gc.collect()
    held = len(m.traces.open) + len(m.span_owner.data) + len(m.trace_owner.data) + len(m.responses.data)
    assert held > 10_000 and len(m.responses.data) > 1000 and len(m.call_parents.data) > 1000
    tracked = [v for v in (*m.traces.open.values(), *m.span_owner.data.values(), *m.trace_owner.data.values(),
                           *m.responses.data.values(), *m.call_parents.data.values()) if gc.is_tracked(v)]
    assert not tracked


def test_settle_gc_freezes_what_is_loaded_and_raises_the_young_threshold():
    code = ("import gc; from llmpulse import app; app.settle_gc(); "
            "assert gc.get_freeze_count() > 10_000, gc.get_freeze_count(); "
            "assert gc.get_threshold()[0] == app.GC_YOUNG_THRESHOLD; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr


def test_the_entry_points_settle_the_collector():
    import inspect

    from llmpulse import serve_cmd
    from llmpulse.bench import server
    from llmpulse.demo import cmd

    for mod in (serve_cmd, server, cmd):
        assert "settle_gc()" in inspect.getsource(mod), mod.__name__
