"""Slow and stalled clients cannot shut out normal senders (issue 13, items 1-4).

Each attack of the issue, on loopback, bounded in count and time, with the deadlines made
short so the tests run in seconds: slowloris (more connections than the cap, one header
line at a time, reconnecting when closed), slow bodies (more than `max_concurrent_requests`
bodies trickling in), gRPC streams that send headers and never a message, and a chunk size
of -1. During each, a normal sender's requests must succeed (>= 90 %, with a timeout of the
attack's deadline + 2 s).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from urllib.parse import urlsplit

import grpc
import pytest
import requests

from .helpers import read_all, scrape, wait_until
from .senders import TRACE_EXPORT, Batch

pytestmark = pytest.mark.slow     # slow clients, by design: deadlines of seconds (2-6 s a test)

PB = {"Content-Type": "application/x-protobuf"}
DEADLINE_S = 2.0
ATTACK_S = 5.0


def _normal_sender(url: str, seconds: float, timeout: float) -> tuple[int, int]:
    """(succeeded, tried): one 4-span request every 50 ms, each on a fresh connection."""
    ok = tried = 0
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        tried += 1
        try:
            r = requests.post(url + "/v1/traces", data=Batch.make(f"normal-{i}", 4).protobuf(), headers=PB,
                              timeout=timeout)
            ok += r.status_code == 200
        except requests.RequestException:
            pass
        i += 1
        time.sleep(0.05)
    return ok, tried


class Slowloris:
    """`n` connections sending one header line every `every` s, never finishing; reconnecting when closed."""

    def __init__(self, host: str, port: int, n: int, every: float, first: bytes, drip: bytes):
        self.addr = (host, port)
        self.every, self.first, self.drip = every, first, drip
        self.stop = threading.Event()
        self.closed_by_server = 0
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(n)]
        for t in self.threads:
            t.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                s = socket.create_connection(self.addr, timeout=5)
            except OSError:
                time.sleep(0.05)
                continue
            try:
                s.sendall(self.first)
                while not self.stop.wait(self.every):
                    s.sendall(self.drip)
            except OSError:
                self.closed_by_server += 1
            finally:
                s.close()

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(10)


def test_slowloris_leaves_normal_senders_served(make):
    exp = make(server={"max_connections": 40, "header_timeout_seconds": DEADLINE_S})
    u = urlsplit(exp.otlp_http_url)
    attack = Slowloris(u.hostname, u.port, n=60, every=0.5, first=b"POST /v1/traces HTTP/1.1\r\n",
                       drip=b"X-Slow: 1\r\n")
    try:
        time.sleep(0.5)                                   # the cap is full of slow connections
        ok, tried = _normal_sender(exp.otlp_http_url, ATTACK_S, DEADLINE_S + 2)
        assert requests.get(exp.metrics_url, timeout=DEADLINE_S + 2).status_code == 200
        assert exp.http_connections() <= 40
    finally:
        attack.close()
    print(f"slowloris: normal sender {ok}/{tried}")
    assert ok >= 0.9 * tried, f"{ok} of {tried} normal requests served during slowloris"
    closed = {r: exp.registry.get_sample_value("llmpulse_http_connections_closed_total",
                                               {"listener": "otlp", "reason": r}) for r in ("evicted", "header_timeout")}
    assert closed["evicted"] + closed["header_timeout"] > 0, closed


def test_slow_headers_are_cut_at_the_header_deadline_with_408(make):
    exp = make(server={"header_timeout_seconds": 1.0})
    u = urlsplit(exp.otlp_http_url)
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(b"POST /v1/traces HTTP/1.1\r\n")
        t0 = time.monotonic()
        got = b""
        s.settimeout(0.2)
        while not got and time.monotonic() - t0 < 5:
            try:
                s.sendall(b"X-Slow: 1\r\n")            # progress every 0.2 s: a per-read timeout never fires
                got = s.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                break
        took = time.monotonic() - t0
    assert got.startswith(b"HTTP/1.1 408") and b"headers not received within 1 s" in got, got
    assert 0.9 <= took < 3.0, took
    assert exp.registry.get_sample_value("llmpulse_http_connections_closed_total",
                                         {"listener": "otlp", "reason": "header_timeout"}) == 1
    assert exp.registry.get_sample_value("llmpulse_requests_total",
                                         {"transport": "http", "signal": "traces", "code": "408"}) == 1


def test_slow_bodies_hold_no_admission_slot(make):
    """16 bodies trickling in once held all 16 decoding slots (503 for everyone else for 40 s)."""
    exp = make(server={"max_concurrent_requests": 4, "body_timeout_seconds": 3.0})
    u = urlsplit(exp.otlp_http_url)
    head = (b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
            b"Content-Length: 100000\r\n\r\n")
    slow = [socket.create_connection((u.hostname, u.port), timeout=10) for _ in range(12)]
    stop = threading.Event()

    def trickle():
        while not stop.wait(0.5):
            for s in slow:
                try:
                    s.send(b"\x00")
                except OSError:
                    pass
    for s in slow:
        s.sendall(head)
    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    try:
        ok, tried = _normal_sender(exp.otlp_http_url, 2.5, 5.0)
    finally:
        stop.set()
        t.join()
    print(f"slow bodies: normal sender {ok}/{tried}")
    assert ok >= 0.9 * tried, f"{ok} of {tried} normal requests served during the slow-body attack"
    # each slow body is cut at its deadline with a 408 and its connection closed
    answers = []
    for s in slow:
        answers.append(read_all(s)[:12])
        s.close()
    assert answers == [b"HTTP/1.1 408"] * 12, answers
    wait_until(lambda: exp.registry.get_sample_value("llmpulse_http_connections_closed_total",
                                                     {"listener": "otlp", "reason": "body_timeout"}) == 12,
               "slow bodies counted")


def test_chunk_size_minus_one_cannot_grow_memory(make):
    """`-1` as a chunk size once disabled the body limit: 400 MB sent took 400 MB of RSS."""
    exp = make(server={"max_body_bytes": 65536})
    u = urlsplit(exp.otlp_http_url)
    before = scrape(exp.metrics_url)
    sent = 0
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n-1\r\n")
        try:
            for _ in range(64):                               # up to 4 MiB, 64 times the limit
                s.sendall(b"\x00" * 65536)
                sent += 65536
        except OSError:
            pass
        answer = read_all(s)
    assert answer.startswith(b"HTTP/1.1 400") and b"chunk size" in answer, answer[:200]
    after = scrape(exp.metrics_url)
    assert after[("llmpulse_requests_total", (("code", "400"), ("signal", "traces"), ("transport", "http")))] \
        == before.get(("llmpulse_requests_total", (("code", "400"), ("signal", "traces"), ("transport", "http"))),
                      0) + 1
    print(f"chunk size -1: {sent} bytes sent before the server closed")


def test_stalled_grpc_streams_leave_normal_exports_served(make):
    """200 streams over 4 HTTP/2 connections that send headers and never a message once made every
    normal Export fail with RESOURCE_EXHAUSTED for as long as they stayed open."""
    exp = make(server={"body_timeout_seconds": 3.0, "max_concurrent_requests": 4})
    target = exp.otlp_grpc_target
    results: dict = {}

    async def attack_and_send() -> None:
        release = asyncio.Event()

        async def never():                               # a request stream that never yields a message
            await release.wait()
            if False:  # pragma: no cover - makes this an async generator
                yield b""

        channels = [grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1),
                                                                ("llmpulse.test.connection", i)])
                    for i in range(4)]
        stalled = []
        for i in range(200):
            call = channels[i % 4].stream_unary(TRACE_EXPORT, request_serializer=None,
                                                response_deserializer=None)(never(), timeout=30)
            stalled.append(call)
        await asyncio.sleep(0.5)
        normal = grpc.aio.insecure_channel(target)
        export = normal.unary_unary(TRACE_EXPORT, request_serializer=None, response_deserializer=None)
        ok = tried = 0
        end = time.monotonic() + 2.0
        i = 0
        while time.monotonic() < end:
            tried += 1
            try:
                await export(Batch.make(f"grpc-normal-{i}", 4).protobuf(), timeout=5)
                ok += 1
            except grpc.aio.AioRpcError:
                pass
            i += 1
            await asyncio.sleep(0.05)
        results["ok"], results["tried"] = ok, tried
        codes = []
        for call in stalled:                             # the server gives up on each at its deadline
            try:
                await call
                codes.append("OK")
            except grpc.aio.AioRpcError as exc:
                codes.append(exc.code().name)
        results["stalled"] = codes
        release.set()
        await normal.close()
        for ch in channels:
            await ch.close()

    asyncio.run(asyncio.wait_for(attack_and_send(), 60))
    print(f"stalled gRPC streams: normal sender {results['ok']}/{results['tried']}")
    assert results["ok"] >= 0.9 * results["tried"], results
    assert set(results["stalled"]) == {"DEADLINE_EXCEEDED"}, set(results["stalled"])
    assert exp.registry.get_sample_value("llmpulse_requests_total", {
        "transport": "grpc", "signal": "traces", "code": "DEADLINE_EXCEEDED"}) == 200


def test_a_flood_of_grpc_connections_is_capped_and_leaves_http_and_metrics_served(make):
    """Connections to the gRPC port were not capped: each idle one held a file descriptor and about
    15 KB for about a minute (measured: 5,000 took RSS from 59 to 123 MB), so a client opening a few
    hundred a second could use up the process's descriptors, which HTTP ingest and /metrics share,
    and its memory. Beyond `server.grpc_max_connections` a new connection is closed at once."""
    cap = 20
    exp = make(server={"grpc_max_connections": cap})
    host, port = exp.otlp_grpc_target.rsplit(":", 1)
    flood = [socket.create_connection((host, int(port)), timeout=5) for _ in range(10 * cap)]
    try:
        def closed_by_server() -> int:
            n = 0
            for s in flood:
                s.setblocking(False)
                try:
                    n += s.recv(1) == b""
                except BlockingIOError:
                    pass
                except OSError:
                    n += 1
            return n
        wait_until(lambda: closed_by_server() >= 9 * cap, f"the server closing the connections beyond {cap}", 10)
        r = requests.post(exp.otlp_http_url + "/v1/traces", data=Batch.make("during-flood", 2).protobuf(),
                          headers={"Content-Type": "application/x-protobuf"}, timeout=5)
        assert r.status_code == 200
        assert requests.get(exp.metrics_url, timeout=5).status_code == 200
    finally:
        for s in flood:
            s.close()

    def export_ok() -> bool:           # once the flood is gone, gRPC clients connect again
        try:
            with grpc.insecure_channel(exp.otlp_grpc_target) as ch:
                ch.unary_unary(TRACE_EXPORT, request_serializer=None, response_deserializer=None)(
                    Batch.make("after-flood", 1).protobuf(), timeout=2)
            return True
        except grpc.RpcError:
            return False
    wait_until(export_ok, "a gRPC export after the flood", 15)
