"""Clients for the reliability tests: raw OTLP senders over HTTP and gRPC, and the real SDK.

Raw senders retry 503 / UNAVAILABLE the way an OTLP client must, and record
every status they saw, so a test can compare them with llmpulse's own counts.

>>> batch = Batch.make("svc", 2, start_ns=10**18)
>>> len(batch.spans), batch.input_tokens
(2, 3)
"""

from __future__ import annotations

import gzip
import json
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import grpc
import requests
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from otlpdata import span, to_json, traces_request

TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
DURATION_S = 1.5                  # every span lasts exactly this long: sums are exact
CLIENT_RETRY_SLEEP_S = 0.01       # raw senders retry busy answers after this pause
MAX_ATTEMPTS = 2000               # a sender that never gets through fails the test


def genai(service: str, i: int) -> dict:
    return {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o", "gen_ai.usage.input_tokens": 1 + i % 7,
            "gen_ai.usage.output_tokens": 10 * (1 + i % 3)}


@dataclass
class Batch:
    service: str
    spans: list
    input_tokens: int
    output_tokens: int
    inputs: list[int] = field(default_factory=list)

    @classmethod
    def make(cls, service: str, n: int, start_ns: int | None = None) -> "Batch":
        start = start_ns if start_ns is not None else time.time_ns() - 10 * 10**9
        spans, inputs, out = [], [], 0
        for i in range(n):
            a = genai(service, i)
            spans.append(span(a, duration_s=DURATION_S, trace_id=os.urandom(16), start_ns=start))
            inputs.append(a["gen_ai.usage.input_tokens"])
            out += a["gen_ai.usage.output_tokens"]
        return cls(service, spans, sum(inputs), out, inputs)

    def protobuf(self) -> bytes:
        return traces_request(self.spans, resource={"service.name": self.service}).SerializeToString()

    def json(self) -> bytes:
        return to_json(traces_request(self.spans, resource={"service.name": self.service}))


class Tally:
    """Statuses seen by clients, thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.codes: Counter = Counter()

    def add(self, key: str) -> None:
        with self.lock:
            self.codes[key] += 1


def post_http(session: requests.Session, url: str, body: bytes, form: str, tally: Tally, token: str = "") -> int:
    headers = {"Content-Type": "application/json" if form == "json" else "application/x-protobuf"}
    if form == "gzip":
        body = gzip.compress(body, compresslevel=1)
        headers["Content-Encoding"] = "gzip"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    for _ in range(MAX_ATTEMPTS):
        r = session.post(url + "/v1/traces", data=body, headers=headers, timeout=30)
        tally.add(str(r.status_code))
        if r.status_code == 503:
            assert r.headers.get("Retry-After"), "503 without Retry-After"
            time.sleep(CLIENT_RETRY_SLEEP_S)
            continue
        return r.status_code
    raise AssertionError("never got through")


def grpc_export(channel: grpc.Channel, body: bytes, tally: Tally, metadata=()) -> grpc.StatusCode:
    call = channel.unary_unary(TRACE_EXPORT, request_serializer=None, response_deserializer=None)
    for _ in range(MAX_ATTEMPTS):
        try:
            call(body, timeout=30, metadata=metadata)
            tally.add("OK")
            return grpc.StatusCode.OK
        except grpc.RpcError as exc:
            tally.add(exc.code().name)
            if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED):
                time.sleep(CLIENT_RETRY_SLEEP_S)
                continue
            return exc.code()
    raise AssertionError("never got through")


def partial_rejected(body: bytes) -> int:
    if body.startswith(b"{"):
        return int(json.loads(body).get("partialSuccess", {}).get("rejectedSpans", 0) or 0)
    return trace_service_pb2.ExportTraceServiceResponse.FromString(body).partial_success.rejected_spans


def run_threads(targets) -> list[BaseException]:
    """Start every callable at once (a barrier), join them, return the exceptions they raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(targets))

    def wrap(fn):
        def run():
            try:
                barrier.wait()
                fn()
            except BaseException as exc:  # noqa: BLE001 - reported to the test
                errors.append(exc)
        return run

    threads = [threading.Thread(target=wrap(t), daemon=True) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a sender hung"
    return errors
