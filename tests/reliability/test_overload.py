"""Overload: beyond capacity llmpulse answers 503 + Retry-After (gRPC UNAVAILABLE) at once
instead of queueing; a refused request changes no metric; memory stays bounded however much
is refused; and the real OpenTelemetry SDK exporters, which retry those answers, get every
span counted exactly once when the load drops.

Capacity is forced by holding `Exporter.gate` (the semaphore that admits requests to decoding).
"""

from __future__ import annotations

import pytest

import socket
import threading
from urllib.parse import urlsplit

import grpc
import requests
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter

from .helpers import RssSampler, delta, rss_bytes, scrape, wait_until
from .senders import TRACE_EXPORT, Batch, run_threads
from .test_retries import count, emit

PB = {"Content-Type": "application/x-protobuf"}
FLOOD_REQUESTS = 320               # refused requests in the memory test
FLOOD_BODY_BYTES = 1 << 20         # each one 1 MiB: 320 MiB refused in all
FLOOD_RSS_GROWTH_BOUND = 96 << 20  # bytes: far below what queueing the refused bodies would take


def hold(gate, n: int) -> None:
    for _ in range(n):
        assert gate.acquire(blocking=False)


def release(gate, n: int) -> None:
    for _ in range(n):
        gate.release()


def test_busy_answers_change_no_metric_and_carry_retry_after(make):
    exp = make(server={"max_concurrent_requests": 2, "retry_after_seconds": 2})
    before = scrape(exp.metrics_url)
    hold(exp.gate, 2)
    try:
        body = Batch.make("busy", 4).protobuf()
        r = requests.post(exp.otlp_http_url + "/v1/traces", data=body, headers=PB, timeout=30)
        assert r.status_code == 503 and r.headers["Retry-After"] == "2" and "overloaded" in r.text
        r = requests.post(exp.otlp_http_url + "/v1/scores", json={"trace_id": "a" * 32, "name": "x", "value": 1},
                          timeout=30)
        assert r.status_code == 503
        with grpc.insecure_channel(exp.otlp_grpc_target) as ch:
            call = ch.unary_unary(TRACE_EXPORT, request_serializer=None, response_deserializer=None)
            try:
                call(body, timeout=30)
                raise AssertionError("expected UNAVAILABLE")
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.UNAVAILABLE and "overloaded" in exc.details()
        # scrapes and health are on their own server: still answered while ingest is full
        assert requests.get(exp.metrics_url.replace("/metrics", "/readyz"), timeout=30).status_code == 200
        after = scrape(exp.metrics_url)
    finally:
        release(exp.gate, 2)
    changed = delta(before, after, skip=lambda name: name == "llmpulse_http_connections")  # open now: a gauge
    assert {k[0] for k in changed} <= {"llmpulse_requests_total", "llmpulse_ingest_duration_seconds_bucket",
                                       "llmpulse_ingest_duration_seconds_count", "llmpulse_ingest_duration_seconds_sum"}
    assert changed[("llmpulse_requests_total", (("code", "503"), ("signal", "traces"), ("transport", "http")))] == 1
    assert changed[("llmpulse_requests_total", (("code", "UNAVAILABLE"), ("signal", "traces"),
                                                ("transport", "grpc")))] == 1
    assert requests.post(exp.otlp_http_url + "/v1/traces", data=body, headers=PB, timeout=30).status_code == 200
    assert count(exp, "busy") == 4


@pytest.mark.slow
def test_refused_requests_are_not_queued_memory_stays_bounded(make):
    exp = make(server={"max_concurrent_requests": 1, "max_body_bytes": 2 * FLOOD_BODY_BYTES})
    body = Batch.make("flood", 1).protobuf().ljust(FLOOD_BODY_BYTES, b"\x00")
    statuses: list[int] = []
    lock = threading.Lock()
    per_thread = FLOOD_REQUESTS // 16

    def flood():
        with requests.Session() as s:
            for _ in range(per_thread):
                code = s.post(exp.otlp_http_url + "/v1/traces", data=body, headers=PB, timeout=30).status_code
                with lock:
                    statuses.append(code)

    hold(exp.gate, 1)
    start = rss_bytes()
    try:
        with RssSampler() as rss:
            assert run_threads([flood] * 16) == []
    finally:
        release(exp.gate, 1)
    assert statuses == [503] * FLOOD_REQUESTS
    growth = rss.peak - start
    print(f"flood: peak RSS growth {growth / 2**20:.1f} MiB for {FLOOD_REQUESTS} refused MiB")
    assert growth < FLOOD_RSS_GROWTH_BOUND, f"RSS grew {growth >> 20} MiB while refusing {FLOOD_REQUESTS} MiB"
    assert exp.registry.get_sample_value("llmpulse_requests_total", {"transport": "http", "signal": "traces",
                                                                     "code": "503"}) == FLOOD_REQUESTS


def test_connections_beyond_the_limit_are_closed_and_scrapes_go_on(make):
    """At max_connections the idlest connection is closed for the newcomer (issue 13: idle or slow
    clients must not keep a normal one out); open connections never exceed the cap."""
    exp = make(server={"max_connections": 3})
    u = urlsplit(exp.otlp_http_url)
    idle = []
    for _ in range(3):
        idle.append(socket.create_connection((u.hostname, u.port)))
        wait_until(lambda: exp.http_connections() == len(idle), "idle connection held")
    try:
        extra = socket.create_connection((u.hostname, u.port))
        extra.settimeout(30)
        extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert extra.recv(100).startswith(b"HTTP/1.1 200")     # the newcomer is served
        idle[0].settimeout(30)
        try:
            assert idle[0].recv(100) == b""                  # the oldest idle one was closed for it
        except ConnectionResetError:
            pass
        assert exp.http_connections() <= 3
        assert exp.registry.get_sample_value("llmpulse_http_connections_closed_total",
                                             {"listener": "otlp", "reason": "evicted"}) == 1
        extra.close()
        assert requests.get(exp.metrics_url, timeout=30).status_code == 200
    finally:
        for s in idle:
            s.close()
    wait_until(lambda: exp.http_connections() == 0, "idle connections released")
    assert requests.post(exp.otlp_http_url + "/v1/traces", data=Batch.make("after", 1).protobuf(), headers=PB,
                         timeout=30).status_code == 200


@pytest.mark.slow
def test_sdk_exporters_get_everything_counted_once_after_the_load_drops(make):
    exp = make(server={"max_concurrent_requests": 2, "retry_after_seconds": 1})
    hold(exp.gate, 2)
    busy = {"http": 0, "grpc": 0}

    def refused(transport: str, code: str) -> float:
        return exp.registry.get_sample_value("llmpulse_requests_total", {
            "transport": transport, "signal": "traces", "code": code}) or 0.0

    senders = [
        lambda: emit(HttpSpanExporter(endpoint=exp.otlp_http_url + "/v1/traces", timeout=30), "sdk-http-busy", 9),
        lambda: emit(GrpcSpanExporter(endpoint=exp.otlp_grpc_target, insecure=True, timeout=30),
                     "sdk-grpc-busy", 9),
    ]
    threads = [threading.Thread(target=s, daemon=True) for s in senders]
    for t in threads:
        t.start()
    try:
        # both SDKs have been refused at least twice (and are backing off) before capacity returns
        wait_until(lambda: refused("http", "503") >= 2 and refused("grpc", "UNAVAILABLE") >= 2,
                   "the SDK exporters are refused and retry")
        busy = {"http": refused("http", "503"), "grpc": refused("grpc", "UNAVAILABLE")}
        assert count(exp, "sdk-http-busy") == 0 and count(exp, "sdk-grpc-busy") == 0
    finally:
        release(exp.gate, 2)
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert count(exp, "sdk-http-busy") == 9 and count(exp, "sdk-grpc-busy") == 9
    assert exp.registry.get_sample_value("llmpulse_spans_skipped_total", {"reason": "duplicate"}) is None
    assert busy["http"] >= 2 and busy["grpc"] >= 2
