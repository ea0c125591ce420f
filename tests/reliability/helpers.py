"""Shared helpers for the reliability tests: scrapes, raw HTTP, senders, fault injectors.

>>> parse_scrape('x_total{a="1"} 2.0\\n# EOF\\n')
{('x_total', (('a', '1'),)): 2.0}
"""

from __future__ import annotations

import http.client
import os
import re
import resource
import socket
import threading
import time
from collections.abc import Callable

import requests
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from prometheus_client.parser import text_string_to_metric_families

WAIT_SECONDS = 30.0      # upper bound on any wait: a hang becomes a failure, never a pass
PB = "application/x-protobuf"
JS = "application/json"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse_scrape(text: str) -> Samples:
    """A text-format scrape as {(sample name, sorted labels): value}."""
    out: Samples = {}
    for fam in text_string_to_metric_families(text.replace("# EOF\n", "")):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def scrape(metrics_url: str, token: str = "") -> Samples:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = requests.get(metrics_url, headers=headers, timeout=WAIT_SECONDS)
    r.raise_for_status()
    return parse_scrape(r.text)


def delta(before: Samples, after: Samples, skip: Callable[[str], bool] = lambda name: False) -> Samples:
    """Samples that changed (new ones count from 0), minus those whose name `skip` matches."""
    out = {}
    for key, v in after.items():
        if skip(key[0]):
            continue
        d = v - before.get(key, 0.0)
        if d != 0:
            out[key] = d
    for key, v in before.items():
        if key not in after and not skip(key[0]):
            out[key] = -v
    return out


def family_total(samples: Samples, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and want <= set(lab))


def error_text(status: int, content_type: str, body: bytes) -> str:
    """The message of an OTLP error or partial-success body, whatever its encoding."""
    ctype = (content_type or "").split(";")[0].strip()
    if ctype == PB:
        if status != 200:
            st = status_pb2.Status.FromString(body)
            return f"{st.code} {st.message}"
        for cls in (trace_service_pb2.ExportTraceServiceResponse, logs_service_pb2.ExportLogsServiceResponse):
            try:
                return cls.FromString(body).partial_success.error_message
            except Exception:  # noqa: BLE001 - try the other response type
                continue
    return body.decode("utf-8", "replace")


def raw_http(host: str, port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (a whole HTTP request), half-close, read the response."""
    with socket.create_connection((host, port), timeout=WAIT_SECONDS) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body


def read_all(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes (or `timeout` passes, or a reset)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except OSError:
        pass
    return data


def wait_until(predicate: Callable[[], bool], what: str, seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for: {what}")
        time.sleep(0.02)


def rss_bytes() -> int:
    """Resident set size of this process now (Linux)."""
    with open(f"/proc/{os.getpid()}/status") as f:
        m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
    return int(m.group(1)) * 1024 if m else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class RssSampler:
    """Samples this process's RSS every few milliseconds; `.peak` is the highest seen."""

    def __init__(self, every_s: float = 0.005):
        self.every = every_s
        self.peak = rss_bytes()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self) -> "RssSampler":
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()


class BlackHole:
    """A TCP port that accepts connections and never answers (a hung Tempo or Loki)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.accepted: list[socket.socket] = []
        self.received = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        self.sock.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
                conn.setblocking(False)
                self.accepted.append(conn)
            except OSError:
                pass
            for c in self.accepted:              # read and discard, never write a byte
                try:
                    self.received += len(c.recv(1 << 16))
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._t.join()
        for c in self.accepted:
            c.close()
        self.sock.close()
