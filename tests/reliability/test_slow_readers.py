"""Clients that send and do not read: they cannot shut out senders or scrapes, or take memory.

Found probing `llmpulse serve` on 2026-12-05 (issue 13): a client that pipelines requests and
never reads the answers left its connection waiting on the answer forever, a state the
connection cap never closes, so 8 such clients on a cap of 8 refused every new client (0 of 6)
and, with requests read on while answers waited, took RSS from 58 MB to 1 GB in 8 s. The same
held for /metrics: scrapes never read kept the metrics port full. And several pipelined
requests in one read had their headers summed against `max_header_bytes` (431 for valid
requests). On loopback, bounded in count and time, deadlines made short.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest
import requests

from llmpulse.http_server import MAX_PIPELINED

from .helpers import RssSampler, read_all, rss_bytes, wait_until
from .senders import Batch

pytestmark = pytest.mark.slow     # deadlines of seconds

PB = {"Content-Type": "application/x-protobuf"}
EMPTY_POST = (b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
              b"Content-Length: 0\r\n\r\n")


def _closed(exp, listener: str, reason: str) -> float:
    return exp.registry.get_sample_value("llmpulse_http_connections_closed_total",
                                         {"listener": listener, "reason": reason}) or 0.0


def _non_reader(host: str, port: int) -> socket.socket:
    """A connection whose receive buffer is tiny, so unread answers back up into the server."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.connect((host, port))
    return s


def test_pipelined_requests_are_answered_whatever_their_headers_add_up_to(make):
    """30 requests of 3 KB of headers each in one write: each is within `max_header_bytes`,
    together they are not (they were summed: 431 and a closed connection)."""
    exp = make(server={"max_header_bytes": 65536})
    u = urlsplit(exp.otlp_http_url)
    one = EMPTY_POST[:-2] + b"X-Pad: " + b"p" * 3000 + b"\r\n\r\n"
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(one * 29 + one.replace(b"Host: x", b"Host: x\r\nConnection: close"))
        answers = read_all(s)
    assert answers.count(b"HTTP/1.1 200 ") == 30, answers[:300]
    assert b"431" not in answers


def test_requests_pipelined_without_reading_answers_take_no_memory(make):
    """4 clients writing empty requests as fast as the server reads them, reading nothing."""
    exp = make(server={"max_connections": 8})
    u = urlsplit(exp.otlp_http_url)
    burst = EMPTY_POST * (30_000 // len(EMPTY_POST))
    socks = [_non_reader(u.hostname, u.port) for _ in range(4)]
    for s in socks:
        s.setblocking(False)
    base = rss_bytes()
    with RssSampler() as rss:
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            for s in socks:
                try:
                    s.send(burst)
                except OSError:       # the server's buffers are full, or it closed the connection
                    pass
            time.sleep(0.02)
        ok = sum(requests.post(exp.otlp_http_url + "/v1/traces", data=Batch.make(f"n-{i}", 2).protobuf(),
                               headers=PB, timeout=5).status_code == 200 for i in range(5))
    for s in socks:
        s.close()
    grew = (rss.peak - base) / 2**20
    print(f"pipelining non-readers: RSS +{grew:.1f} MB, closed {_closed(exp, 'otlp', 'pipelined'):.0f}")
    assert ok == 5
    assert grew < 48, f"RSS grew {grew:.0f} MB while 4 clients pipelined without reading"
    assert _closed(exp, "otlp", "pipelined") == 4     # each past MAX_PIPELINED waiting answers


def test_pipelining_up_to_the_limit_is_served(make):
    exp = make()
    u = urlsplit(exp.otlp_http_url)
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(EMPTY_POST * MAX_PIPELINED + EMPTY_POST.replace(b"Host: x", b"Host: x\r\nConnection: close"))
        answers = read_all(s)
    assert answers.count(b"HTTP/1.1 200 ") == MAX_PIPELINED + 1, answers[-300:]


def test_scrapes_never_read_leave_the_metrics_port_served_and_are_closed(make):
    """6 clients (the cap) each pipelining 8 GETs of a ~0.6 MB /metrics and reading nothing:
    a normal scrape is still served, and each non-reader is closed by `send_timeout_seconds`."""
    exp = make(server={"max_connections": 6, "send_timeout_seconds": 2.0})
    for i in range(40):                         # 40 services: /metrics of about 0.6 MB
        requests.post(exp.otlp_http_url + "/v1/traces", data=Batch.make(f"svc-{i}", 4).protobuf(),
                      headers=PB, timeout=5).raise_for_status()
    size = len(requests.get(exp.metrics_url, timeout=5).content)
    assert size > 300_000, size
    u = urlsplit(exp.metrics_url)
    socks = [_non_reader(u.hostname, u.port) for _ in range(6)]
    for s in socks:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 8)
    time.sleep(0.5)                             # their answers back up; the cap is full of them
    t0 = time.monotonic()
    served = [requests.get(exp.metrics_url, timeout=5).status_code for _ in range(3)]
    took = time.monotonic() - t0
    assert served == [200] * 3 and took < 3, (served, took)
    wait_until(lambda: _closed(exp, "metrics", "send_timeout") + _closed(exp, "metrics", "evicted") >= 6,
               "every non-reader closed", seconds=6)
    assert _closed(exp, "metrics", "send_timeout") >= 3      # the ones not evicted: by the deadline
    for s in socks:
        s.close()


def test_an_unread_answer_is_dropped_at_the_send_deadline(make):
    """One non-reader, alone (nothing evicts it): closed within send_timeout + a sweep."""
    exp = make(server={"send_timeout_seconds": 1.0})
    for i in range(40):
        requests.post(exp.otlp_http_url + "/v1/traces", data=Batch.make(f"svc-{i}", 4).protobuf(),
                      headers=PB, timeout=5).raise_for_status()
    u = urlsplit(exp.metrics_url)
    s = _non_reader(u.hostname, u.port)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 8)
    t0 = time.monotonic()
    wait_until(lambda: _closed(exp, "metrics", "send_timeout") == 1, "the non-reader closed", seconds=5)
    took = time.monotonic() - t0
    wait_until(lambda: exp.http_connections("metrics") == 0, "its connection gone", seconds=2)
    s.close()
    assert 0.9 <= took < 3.0, took
