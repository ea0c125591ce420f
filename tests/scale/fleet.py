"""A fleet of `llmpulse serve` processes behind the test router, and one replica beside it.

The single replica receives every request; the fleet receives the same requests split by trace
id over a `HashRing` (what the Collector's loadbalancing exporter does). One Prometheus scrapes
both, job `fleet` (3 targets) and job `single`, so every query can be asked of each job.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from llmpulse.dialects import CONVERSATION, RESPONSE_ID

from live import Proc, free_port, llmpulse_argv, wait_until
from ring import HashRing, scores_body, split_logs, split_scores, split_traces

PB = "application/x-protobuf"
JSON = "application/json"


class Replica:
    """One `llmpulse serve` on fixed loopback ports, so a restart keeps its Prometheus target."""

    def __init__(self, name: str, tmp: Path, config: Path):
        self.name, self.tmp, self.config = name, tmp, config
        self.http, self.grpc, self.metrics = free_port(), free_port(), free_port()
        self.endpoint = f"127.0.0.1:{self.http}"
        self.target = f"127.0.0.1:{self.metrics}"
        self.starts = 0
        self.proc: Proc | None = None
        self.start()

    def start(self) -> None:
        self.starts += 1
        self.proc = Proc(llmpulse_argv("serve", "--config", str(self.config), "--host", "127.0.0.1",
                                       "--otlp-http-port", str(self.http), "--otlp-grpc-port", str(self.grpc),
                                       "--metrics-port", str(self.metrics)),
                         self.tmp / f"{self.name}-{self.starts}.log")

    def wait_ready(self) -> None:
        wait_until(lambda: requests.get(f"http://{self.target}/readyz", timeout=1).ok, 60, self.name, self.proc)

    def post(self, path: str, body: bytes, content_type: str) -> None:
        r = requests.post(f"http://{self.endpoint}{path}", data=body, headers={"Content-Type": content_type},
                          timeout=30)
        r.raise_for_status()

    def signal(self, sig: int) -> None:
        os.kill(self.proc.pid, sig)

    def pause(self) -> None:
        self.signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.alive():
                self.signal(signal.SIGCONT)
            self.proc.stop()


@dataclass
class Load:
    """Requests of one phase: trace requests, log requests, then late scores."""

    traces: list[ExportTraceServiceRequest] = field(default_factory=list)
    logs: list[ExportLogsServiceRequest] = field(default_factory=list)
    scores: list[dict] = field(default_factory=list)

    def posts(self, ring: HashRing | None) -> dict[str | None, list[tuple[str, bytes, str]]]:
        """endpoint -> (path, body, content type) in sending order; ring None: everything to one."""
        out: dict[str | None, list[tuple[str, bytes, str]]] = {}

        def add(endpoint, path, body, ctype):
            out.setdefault(endpoint, []).append((path, body, ctype))

        for req in self.traces:
            for endpoint, part in ({None: req} if ring is None else split_traces(req, ring)).items():
                add(endpoint, "/v1/traces", part.SerializeToString(), PB)
        for req in self.logs:
            for endpoint, part in ({None: req} if ring is None else split_logs(req, ring)).items():
                add(endpoint, "/v1/logs", part.SerializeToString(), PB)
        if self.scores:
            for endpoint, items in ({None: self.scores} if ring is None else split_scores(self.scores, ring)).items():
                add(endpoint, "/v1/scores", scores_body(items), JSON)
        return out

    @classmethod
    def parse(cls, posts: list[tuple[str, bytes, str]]) -> "Load":
        """The load that `posts` carry (to route again what one replica did not take)."""
        load = cls()
        for path, body, _ in posts:
            if path == "/v1/traces":
                load.traces.append(ExportTraceServiceRequest.FromString(body))
            elif path == "/v1/logs":
                load.logs.append(ExportLogsServiceRequest.FromString(body))
            else:
                load.scores += json.loads(body)["scores"]
        return load

    def joined(self, per: int) -> "Load":
        """The same telemetry in fewer requests: every `per` trace (log) requests made one."""
        out = Load(scores=list(self.scores))
        for src, dst, cls in ((self.traces, out.traces, ExportTraceServiceRequest),
                              (self.logs, out.logs, ExportLogsServiceRequest)):
            for i in range(0, len(src), per):
                req = cls()
                for part in src[i:i + per]:
                    req.MergeFrom(part)  # repeated fields (resource_spans, resource_logs) are appended
                dst.append(req)
        return out


def demo_load(traffic, batches: int, calls: int, now_ns: int, step_ns: int = 1_000_000_000) -> Load:
    """`batches` demo batches (several services, models, dialects, agents, tools, RAG, evaluations,
    feedback), `step_ns` apart and ending one step before `now_ns`; late scores only for traces of
    this load."""
    load = Load()
    for i in range(batches):
        b = traffic.batch(calls, now_ns - (batches - i) * step_ns)
        load.traces.append(b.traces)
        if b.logs is not None:
            load.logs.append(b.logs)
        load.scores += b.scores
    return load


def replay(load: Load, ring: HashRing, seed: int, conversations: bool = False) -> Load:
    """The same spans, logs and scores with new trace, span and response ids (a repeated
    response id is one call reported twice, which the exporter counts once); each new trace id
    is drawn until the ring sends it where the old one went, so every replica gets the same work
    again. With `conversations`, conversation ids are new too (the copy's traces start their own
    conversations instead of continuing the original's)."""
    rng = random.Random(seed)
    traces: dict[bytes, bytes] = {}
    spans: dict[bytes, bytes] = {}
    responses: dict[str, str] = {}
    renamed = RESPONSE_ID + CONVERSATION if conversations else RESPONSE_ID

    def new_id(old: str) -> str:
        if old not in responses:
            responses[old] = old.rstrip("0123456789abcdef") + f"{rng.getrandbits(96):024x}"
        return responses[old]

    def trace_id(old: bytes) -> bytes:
        if old not in traces:
            owner = ring.endpoint_for(old)
            while True:
                new = rng.getrandbits(128).to_bytes(16, "big")
                if ring.endpoint_for(new) == owner:
                    traces[old] = new
                    break
        return traces[old]

    def span_id(old: bytes) -> bytes:
        if old and old not in spans:
            spans[old] = rng.getrandbits(64).to_bytes(8, "big")
        return spans.get(old, old)

    out = Load()
    for req in load.traces:
        new = ExportTraceServiceRequest()
        new.CopyFrom(req)
        for rs in new.resource_spans:
            for ss in rs.scope_spans:
                for s in ss.spans:
                    s.trace_id, s.span_id, s.parent_span_id = trace_id(s.trace_id), span_id(s.span_id), \
                        span_id(s.parent_span_id)
                    for kv in s.attributes:
                        if kv.key in renamed and kv.value.string_value:
                            kv.value.string_value = new_id(kv.value.string_value)
        out.traces.append(new)
    for req in load.logs:
        new = ExportLogsServiceRequest()
        new.CopyFrom(req)
        for rl in new.resource_logs:
            for sl in rl.scope_logs:
                for r in sl.log_records:
                    r.trace_id, r.span_id = trace_id(bytes(r.trace_id)), span_id(bytes(r.span_id))
        out.logs.append(new)
    for item in load.scores:
        new_item = dict(item, trace_id=trace_id(bytes.fromhex(item["trace_id"])).hex())
        if item.get("span_id"):
            new_item["span_id"] = span_id(bytes.fromhex(item["span_id"])).hex()
        out.scores.append(new_item)
    return out


class Scrapes:
    """When Prometheus scraped each target (its `up` samples), to time sends between scrapes."""

    def __init__(self, prometheus):
        self.prometheus = prometheus

    def times(self, target: str, window: str = "2m") -> list[float]:
        result = self.prometheus.query(f'up{{instance="{target}"}}[{window}]')
        return [float(t) for t, _ in result[0]["values"]] if result else []

    def last(self, target: str) -> float:
        times = self.times(target)
        return times[-1] if times else 0.0

    def wait_for_scrape_after(self, target: str, when: float, timeout: float = 20.0) -> float:
        """Timestamp of the first scrape of `target` after `when` (waits for it to happen)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            later = [t for t in self.times(target) if t > when]
            if later:
                return later[0]
            time.sleep(0.05)
        raise TimeoutError(f"no scrape of {target} after {when}")


def send_between_scrapes(jobs: list[tuple[Replica, list[tuple[str, bytes, str]]]],
                         after) -> dict[str, tuple[float, float]]:
    """Each replica's posts, sent just after its scrape `after(target)` (a callable, run in the
    replica's own thread, that may wait for that scrape), all replicas in parallel.
    Returns target -> (scrape it followed, time the last post was answered)."""
    done: dict[str, tuple[float, float]] = {}
    errors: list[BaseException] = []

    def run(replica: Replica, posts):
        try:
            t0 = after(replica.target)
            time.sleep(max(0.0, t0 + 0.3 - time.time()))
            for path, body, ctype in posts:
                replica.post(path, body, ctype)
            done[replica.target] = (t0, time.time())
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return done
