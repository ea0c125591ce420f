"""Ingest throughput over real OTLP/HTTP, the floor, and latency at a fixed rate.

The floor is what any Python receiver must at least do with the same body:
decode it and read every attribute of every span (and of its resource and
events) in a bare loop, building nothing.

>>> from llmpulse.bench.payloads import SpanPool
>>> body = SpanPool(calls=5).bodies(8, 1, "protobuf")[0]
>>> floor_pass([body], "protobuf")
8
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from urllib.parse import urlsplit

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from llmpulse.bench.payloads import content_type


def _pb_walk(kvs) -> int:
    n = 0
    for kv in kvs:
        kv.key
        v = kv.value
        kind = v.WhichOneof("value")
        if kind is not None:
            getattr(v, kind)
        n += 1
    return n


def floor_pass(bodies: list[bytes], fmt: str) -> int:
    """Decode each body and read every attribute; returns the number of spans."""
    spans = 0
    if fmt == "json":
        for body in bodies:
            doc = json.loads(body)
            for rs in doc.get("resourceSpans", ()):
                for kv in rs.get("resource", {}).get("attributes", ()):
                    kv["key"], kv["value"]
                for ss in rs.get("scopeSpans", ()):
                    for sp in ss.get("spans", ()):
                        sp.get("traceId"), sp.get("spanId"), sp.get("name"), sp.get("startTimeUnixNano")
                        for kv in sp.get("attributes", ()):
                            kv["key"], kv["value"]
                        for ev in sp.get("events", ()):
                            for kv in ev.get("attributes", ()):
                                kv["key"], kv["value"]
                        spans += 1
        return spans
    parse = ExportTraceServiceRequest.FromString
    for body in bodies:
        req = parse(body)
        for rs in req.resource_spans:
            _pb_walk(rs.resource.attributes)
            for ss in rs.scope_spans:
                ss.scope.name
                for sp in ss.spans:
                    sp.trace_id, sp.span_id, sp.name, sp.start_time_unix_nano, sp.end_time_unix_nano
                    _pb_walk(sp.attributes)
                    for ev in sp.events:
                        _pb_walk(ev.attributes)
                    spans += 1
    return spans


def floor_now(bodies: list[bytes], fmt: str, passes: int = 3) -> float:
    """Spans per second of the floor over these bodies now: the best of a few passes (the first
    warms the decoder's code and data, as a busy receiver's are)."""
    best = 0.0
    for _ in range(passes):
        t = time.perf_counter()
        n = floor_pass(bodies, fmt)
        best = max(best, n / (time.perf_counter() - t))
    return best


def floor_rate(bodies: list[bytes], fmt: str, min_seconds: float) -> float:
    """Spans per second of the floor over these bodies (best of the passes run in min_seconds)."""
    best = 0.0
    deadline = time.perf_counter() + min_seconds
    while True:
        t = time.perf_counter()
        n = floor_pass(bodies, fmt)
        best = max(best, n / (time.perf_counter() - t))
        if time.perf_counter() > deadline:
            return best


class Client:
    """One keep-alive HTTP/1.1 connection posting OTLP bodies."""

    def __init__(self, base_url: str):
        u = urlsplit(base_url)
        self.host, self.port = u.hostname or "127.0.0.1", u.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def post(self, path: str, body: bytes, ctype: str) -> int:
        self.conn.request("POST", path, body, {"Content-Type": ctype})
        resp = self.conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"POST {path} answered {resp.status}")
        return resp.status

    def get(self, path: str) -> bytes:
        self.conn.request("GET", path)
        resp = self.conn.getresponse()
        return resp.read()

    def close(self) -> None:
        self.conn.close()


def send_all(base_url: str, bodies: list[bytes], fmt: str, connections: int = 2) -> float:
    """Post every body over `connections` keep-alive connections; returns the wall seconds taken."""
    ctype = content_type(fmt)
    clients = [Client(base_url) for _ in range(connections)]
    clients[0].post("/v1/traces", bodies[0], ctype)          # warm the connection and code paths
    parts = [bodies[1 + i::connections] for i in range(connections)]
    errors: list[BaseException] = []

    def run(client: Client, part: list[bytes]) -> None:
        try:
            for b in part:
                client.post("/v1/traces", b, ctype)
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c, p)) for c, p in zip(clients, parts)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    took = time.perf_counter() - t
    for c in clients:
        c.close()
    if errors:
        raise errors[0]
    return took


def latency_run(base_url: str, metrics_url: str, bodies: list[bytes], rate_rps: float, seconds: float,
                scrape_interval_s: float = 1.0) -> dict:
    """Post at a fixed request rate (open loop) while scraping every scrape_interval_s; latency percentiles."""
    ctype = content_type("protobuf")
    client = Client(base_url)
    client.post("/v1/traces", bodies[0], ctype)
    stop = threading.Event()
    scrapes: list[float] = []

    def scraper() -> None:
        c = Client(metrics_url)
        path = urlsplit(metrics_url).path
        while not stop.wait(scrape_interval_s):
            t = time.perf_counter()
            c.get(path)
            scrapes.append(time.perf_counter() - t)
        c.close()

    th = threading.Thread(target=scraper, daemon=True)
    th.start()
    lat: list[float] = []
    interval = 1.0 / rate_rps
    start = time.perf_counter()
    i = 1
    while time.perf_counter() - start < seconds and i < len(bodies):
        due = start + (i - 1) * interval
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        t = time.perf_counter()
        client.post("/v1/traces", bodies[i], ctype)
        lat.append(time.perf_counter() - t)
        i += 1
    stop.set()
    th.join(timeout=5)
    client.close()
    lat.sort()
    return {"requests": len(lat), "p50_ms": percentile(lat, 0.50) * 1e3, "p99_ms": percentile(lat, 0.99) * 1e3,
            "max_ms": lat[-1] * 1e3 if lat else 0.0, "scrapes": len(scrapes),
            "scrape_max_ms": max(scrapes) * 1e3 if scrapes else 0.0}


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5)
    2.0
    """
    if not sorted_values:
        return 0.0
    k = max(0, min(len(sorted_values) - 1, int(q * len(sorted_values) + 0.999999) - 1))
    return sorted_values[k]
