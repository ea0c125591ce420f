"""What keeps the garbage collector's pauses short (they showed as ingest latency at p99).

No timing here: what is checked is what the collector has to walk.
"""

from __future__ import annotations

import argparse
import gc
import io
import subprocess
import sys

import pytest

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


@pytest.mark.slow
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
    held = len(m.seen.traces.open) + len(m.seen.span_owner.data) + len(m.seen.trace_owner.data) + len(m.seen.responses.data)
    assert held > 10_000 and len(m.seen.responses.data) > 1000 and len(m.seen.call_parents.data) > 1000
    tracked = [v for v in (*m.seen.traces.open.values(), *m.seen.span_owner.data.values(), *m.seen.trace_owner.data.values(),
                           *m.seen.responses.data.values(), *m.seen.call_parents.data.values()) if gc.is_tracked(v)]
    assert not tracked


def test_settle_gc_freezes_what_is_loaded_and_raises_the_young_threshold():
    code = ("import gc; from llmpulse import app; app.settle_gc(); "
            "assert gc.get_freeze_count() > 10_000, gc.get_freeze_count(); "
            "assert gc.get_threshold()[0] == app.GC_YOUNG_THRESHOLD; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr


class _Stop(Exception):
    pass


class _FakeExporter:
    otlp_http_url = "http://127.0.0.1:1/v1/traces"
    otlp_grpc_target = None
    metrics_url = "http://127.0.0.1:1/metrics"

    def __init__(self, calls, *args, **kwargs):
        self.calls = calls

    def start(self):
        self.calls.append("start")
        return self

    def reload(self):
        return True

    def stop(self):
        self.calls.append("stop")


def _recording_settle(monkeypatch):
    """Replace app.settle_gc (the entry points import it when they run) with a recorder."""
    from llmpulse import app

    calls: list[str] = []
    monkeypatch.setattr(app, "settle_gc", lambda: calls.append("settle_gc"))
    return calls


def test_llmpulse_serve_settles_the_collector_once_the_exporter_has_started(monkeypatch):
    from llmpulse.commands import serve as serve_cmd

    calls = _recording_settle(monkeypatch)
    monkeypatch.setattr(serve_cmd, "block_stop_signals", lambda: None)
    monkeypatch.setattr(serve_cmd, "start_exporter", lambda args: _FakeExporter(calls).start())

    def wait(on_reload=None):
        raise _Stop

    monkeypatch.setattr(serve_cmd, "wait_for_signal", wait)
    with pytest.raises(_Stop):
        serve_cmd.run(argparse.Namespace())
    assert calls == ["start", "settle_gc"]


def test_the_benchmark_server_settles_the_collector_once_the_exporter_has_started(monkeypatch, capsys):
    from llmpulse import app
    from llmpulse.bench import server

    calls = _recording_settle(monkeypatch)
    monkeypatch.setattr(app, "Exporter", lambda cfg: _FakeExporter(calls))
    monkeypatch.setattr(sys, "argv", ["server"])
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    server.main()
    assert calls == ["start", "settle_gc", "stop"]


def test_llmpulse_demo_settles_the_collector_once_its_exporter_has_started(monkeypatch):
    from llmpulse.commands import demo as cmd

    calls = _recording_settle(monkeypatch)
    monkeypatch.setattr(cmd, "_validate", lambda args: None)
    monkeypatch.setattr(cmd, "_start_embedded", lambda args: _FakeExporter(calls).start())

    class Out(io.StringIO):
        def write(self, text):
            if "metrics at" in text:
                raise _Stop
            return super().write(text)

    with pytest.raises(_Stop):
        cmd.run(argparse.Namespace(list_scenarios=False, target=None), out=Out())
    assert calls == ["start", "settle_gc"]
