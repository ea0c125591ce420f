"""Span forwarding against a real OTLP/HTTP receiver (a local http.server).

The receiver decodes what arrives; spans must arrive intact (same ids, names,
attributes, resources), protobuf requests batched, JSON sent as is; retries
follow the OTLP rules; a slow or dead sink never blocks the caller.
"""

from __future__ import annotations

import json
import threading

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from llmpulse.config import ForwardConfig, OtlpForwardConfig
from llmpulse.forward import Forwarder

PB = "application/x-protobuf"


def otlp_request(service: str, n_spans: int, seed: int) -> ExportTraceServiceRequest:
    spans = []
    for i in range(n_spans):
        spans.append(Span(
            trace_id=bytes([seed]) * 15 + bytes([i + 1]),
            span_id=bytes([seed]) * 7 + bytes([i + 1]),
            name=f"chat gpt-4o #{seed}.{i}",
            kind=Span.SPAN_KIND_CLIENT,
            start_time_unix_nano=1_700_000_000_000_000_000 + i,
            end_time_unix_nano=1_700_000_001_000_000_000 + i,
            attributes=[
                KeyValue(key="gen_ai.operation.name", value=AnyValue(string_value="chat")),
                KeyValue(key="gen_ai.request.model", value=AnyValue(string_value="gpt-4o")),
                KeyValue(key="gen_ai.usage.input_tokens", value=AnyValue(int_value=10 * i + seed)),
                KeyValue(key="gen_ai.request.temperature", value=AnyValue(double_value=0.25)),
            ],
        ))
    return ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource=Resource(attributes=[KeyValue(key="service.name",
                                               value=AnyValue(string_value=service))]),
        scope_spans=[ScopeSpans(scope=InstrumentationScope(name="test"), spans=spans)],
    )])


def span_set(req: ExportTraceServiceRequest) -> set:
    out = set()
    for rs in req.resource_spans:
        service = rs.resource.attributes[0].value.string_value
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.add((service, s.trace_id.hex(), s.span_id.hex(), s.name, s.start_time_unix_nano,
                         s.end_time_unix_nano, s.SerializeToString(deterministic=True)))
    return out


def forwarder(url: str, registry, **otlp) -> Forwarder:
    cfg = ForwardConfig(otlp=OtlpForwardConfig(endpoint=url, **otlp))
    return Forwarder(cfg, registry)


def test_spans_arrive_intact_in_one_batch(receiver, registry, helpers) -> None:
    fwd = forwarder(receiver.url, registry)
    requests = [otlp_request(f"svc-{k}", 3, seed=k + 1) for k in range(10)]
    for r in requests:  # queued before start: one batch takes them all
        fwd.submit_traces(r.SerializeToString(), PB)
    fwd.start()
    try:
        helpers.wait_until(lambda: helpers.metric(registry, "llmpulse_forward_sent_total", sink="otlp") == 10,
                           "10 requests forwarded")
    finally:
        fwd.stop(5)
    assert receiver.count() == 1
    got = receiver.requests[0]
    assert got.path == "/v1/traces"
    assert got.headers["content-type"] == PB
    assert got.headers["content-encoding"] == "gzip"
    merged = ExportTraceServiceRequest.FromString(got.body)
    expected = set().union(*(span_set(r) for r in requests))
    assert span_set(merged) == expected
    assert len(merged.resource_spans) == 10  # each request's resource kept with its spans


def test_batches_respect_max_batch_bytes(receiver, registry, helpers) -> None:
    requests = [otlp_request("svc", 2, seed=k + 1).SerializeToString() for k in range(9)]
    size = len(requests[0])
    assert all(len(r) == size for r in requests)
    fwd = forwarder(receiver.url, registry, max_batch_bytes=3 * size, compression="none")
    for body in requests:
        fwd.submit_traces(body, PB)
    fwd.start()
    try:
        helpers.wait_until(lambda: receiver.count() == 3, "three batches")
    finally:
        fwd.stop(5)
    assert [len(r.body) for r in receiver.requests] == [3 * size] * 3
    assert "content-encoding" not in receiver.requests[0].headers
    assert b"".join(r.body for r in receiver.requests) == b"".join(requests)


def test_json_requests_sent_one_by_one_unchanged(receiver, registry, helpers) -> None:
    bodies = [json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": f"{k:032x}", "spanId": f"{k:016x}", "name": f"span {k}"}]}]}]}).encode()
        for k in range(1, 4)]
    fwd = forwarder(receiver.url, registry, compression="none")
    for b in bodies:
        fwd.submit_traces(b, "application/json; charset=utf-8")
    fwd.start()
    try:
        helpers.wait_until(lambda: receiver.count() == 3, "three JSON requests")
    finally:
        fwd.stop(5)
    assert [r.body for r in receiver.requests] == bodies
    assert {r.headers["content-type"] for r in receiver.requests} == {"application/json"}


def test_unsupported_content_type_is_dropped_and_counted(receiver, registry, helpers) -> None:
    fwd = forwarder(receiver.url, registry)
    fwd.submit_traces(b"x", "text/plain")
    assert helpers.metric(registry, "llmpulse_forward_dropped_total", sink="otlp",
                          reason="unsupported_content_type") == 1


def test_retry_after_is_honoured(receiver, registry, helpers) -> None:
    receiver.script.extend([(429, {"Retry-After": "1"}), (200, {})])
    fwd = forwarder(receiver.url, registry, backoff_initial_seconds=0.01, backoff_max_seconds=5)
    fwd.start()
    try:
        fwd.submit_traces(otlp_request("svc", 1, 1).SerializeToString(), PB)
        helpers.wait_until(lambda: helpers.metric(registry, "llmpulse_forward_sent_total", sink="otlp") == 1,
                           "delivery after 429")
    finally:
        fwd.stop(5)
    assert receiver.count() == 2
    # Without Retry-After the wait would have been <= 0.01 s.
    assert receiver.requests[1].at - receiver.requests[0].at >= 0.95
    assert helpers.metric(registry, "llmpulse_forward_retries_total", sink="otlp") == 1


@pytest.mark.parametrize("status", [502, 503, 504])
def test_retryable_status_is_retried(receiver, registry, helpers, status) -> None:
    receiver.script.extend([(status, {}), (status, {}), (200, {})])
    fwd = forwarder(receiver.url, registry, backoff_initial_seconds=0.01, backoff_max_seconds=0.05)
    fwd.start()
    try:
        fwd.submit_traces(otlp_request("svc", 1, 1).SerializeToString(), PB)
        helpers.wait_until(lambda: helpers.metric(registry, "llmpulse_forward_sent_total", sink="otlp") == 1,
                           "delivery after two failures")
    finally:
        fwd.stop(5)
    assert receiver.count() == 3
    assert helpers.metric(registry, "llmpulse_forward_retries_total", sink="otlp") == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 500])
def test_other_status_is_not_retried(receiver, registry, helpers, status) -> None:
    receiver.script.append((status, {}))
    fwd = forwarder(receiver.url, registry, backoff_initial_seconds=0.01)
    fwd.start()
    try:
        fwd.submit_traces(otlp_request("svc", 1, 1).SerializeToString(), PB)
        helpers.wait_until(lambda: helpers.metric(registry, "llmpulse_forward_dropped_total", sink="otlp",
                                                  reason="rejected") == 1, "rejection counted")
        # A later request goes through: the rejected one was not retried in between.
        fwd.submit_traces(otlp_request("svc", 1, 2).SerializeToString(), PB)
        helpers.wait_until(lambda: helpers.metric(registry, "llmpulse_forward_sent_total", sink="otlp") == 1,
                           "next request delivered")
    finally:
        fwd.stop(5)
    assert receiver.count() == 2
    assert helpers.metric(registry, "llmpulse_forward_retries_total", sink="otlp") == 0


def test_retries_exhausted_is_counted(receiver, registry, helpers) -> None:
    receiver.script.extend([(503, {})] * 3)
    fwd = forwarder(receiver.url, registry, max_retries=2, backoff_initial_seconds=0.01,
                    backoff_max_seconds=0.02)
    fwd.start()
    try:
        fwd.submit_traces(otlp_request("svc", 1, 1).SerializeToString(), PB)
        helpers.wait_until(lambda: helpers.metric(registry, "llmpulse_forward_dropped_total", sink="otlp",
                                                  reason="retries_exhausted") == 1, "drop counted")
    finally:
        fwd.stop(5)
    assert receiver.count() == 3


def test_slow_sink_never_blocks_and_full_queue_drops(receiver, registry, helpers) -> None:
    receiver.gate.clear()  # the receiver holds every request until the gate opens
    fwd = forwarder(receiver.url, registry, queue_max_requests=5, timeout_seconds=60)
    fwd.start()
    body = otlp_request("svc", 1, 1).SerializeToString()
    try:
        fwd.submit_traces(body, PB)
        assert receiver.in_handler.wait(20), "first request never reached the receiver"
        # The sender is stuck in the slow request; 20 more submissions return at once.
        done = threading.Event()

        def submit_many() -> None:
            for _ in range(20):
                fwd.submit_traces(body, PB)
            done.set()

        t = threading.Thread(target=submit_many, daemon=True)
        t.start()
        t.join(20)
        assert done.is_set(), "submit_traces blocked on a slow sink"
        assert helpers.metric(registry, "llmpulse_forward_queue_length", sink="otlp") == 5
        assert helpers.metric(registry, "llmpulse_forward_dropped_total", sink="otlp",
                              reason="queue_full") == 15
        receiver.gate.set()
        helpers.wait_until(lambda: helpers.metric(registry, "llmpulse_forward_sent_total", sink="otlp") == 6,
                           "held and queued requests delivered")
    finally:
        receiver.gate.set()
        fwd.stop(5)
    assert helpers.metric(registry, "llmpulse_forward_queue_length", sink="otlp") == 0


def test_dead_sink_then_back_delivery_resumes(registry, helpers) -> None:
    port = helpers.free_port()  # nothing listens: connection refused
    fwd = forwarder(f"http://127.0.0.1:{port}", registry, queue_max_requests=3,
                    max_retries=10_000, backoff_initial_seconds=0.02, backoff_max_seconds=0.1,
                    compression="none")
    fwd.start()
    sent = []
    receiver = None
    try:
        first = otlp_request("svc", 1, 1).SerializeToString()
        fwd.submit_traces(first, PB)
        sent.append(first)
        helpers.wait_until(lambda: helpers.metric(registry, "llmpulse_forward_retries_total", sink="otlp") >= 2,
                           "retries against the dead sink")
        for k in range(2, 12):  # 3 fit in the queue, 7 are dropped; none blocks
            body = otlp_request("svc", 1, k).SerializeToString()
            fwd.submit_traces(body, PB)
            if k <= 4:
                sent.append(body)
        assert helpers.metric(registry, "llmpulse_forward_dropped_total", sink="otlp",
                              reason="queue_full") == 7
        receiver = helpers.Receiver(port).start()  # the sink comes back
        helpers.wait_until(lambda: helpers.metric(registry, "llmpulse_forward_sent_total", sink="otlp") == 4,
                           "queued requests delivered after the sink came back")
        later = otlp_request("svc", 1, 99).SerializeToString()
        fwd.submit_traces(later, PB)
        sent.append(later)
        helpers.wait_until(lambda: helpers.metric(registry, "llmpulse_forward_sent_total", sink="otlp") == 5,
                           "new request delivered")
    finally:
        fwd.stop(5)
        if receiver is not None:
            receiver.stop()
    assert b"".join(r.body for r in receiver.requests) == b"".join(sent)


def test_stop_gives_up_within_its_timeout_and_counts(registry, helpers) -> None:
    port = helpers.free_port()
    fwd = forwarder(f"http://127.0.0.1:{port}", registry, max_retries=10_000,
                    backoff_initial_seconds=0.05, backoff_max_seconds=0.1)
    for k in range(3):
        fwd.submit_traces(otlp_request("svc", 1, k + 1).SerializeToString(), PB)
    fwd.start()
    fwd.stop(0.3)
    assert helpers.metric(registry, "llmpulse_forward_dropped_total", sink="otlp", reason="shutdown") == 3
    fwd.submit_traces(b"late", PB)  # after stop: dropped, counted, no error
    assert helpers.metric(registry, "llmpulse_forward_dropped_total", sink="otlp", reason="shutdown") == 4


def test_stop_without_start_counts_queued_items(registry) -> None:
    fwd = forwarder("http://127.0.0.1:9", registry)
    fwd.submit_traces(b"\x0a\x00", PB)
    fwd.submit_traces(b"\x0a\x00", PB)
    fwd.stop(1)
    assert registry.get_sample_value("llmpulse_forward_dropped_total",
                                     {"sink": "otlp", "reason": "shutdown"}) == 2


def test_headers_are_sent(receiver, registry, helpers) -> None:
    fwd = forwarder(receiver.url + "/custom/path", registry, headers={"X-Scope-OrgID": "team-a"})
    fwd.start()
    try:
        fwd.submit_traces(otlp_request("svc", 1, 1).SerializeToString(), PB)
        helpers.wait_until(lambda: receiver.count() == 1, "one request")
    finally:
        fwd.stop(5)
    assert receiver.requests[0].path == "/custom/path"
    assert receiver.requests[0].headers["x-scope-orgid"] == "team-a"


def test_disabled_forwarder_accepts_and_ignores(registry) -> None:
    fwd = Forwarder(ForwardConfig(), registry)
    assert not fwd.enabled
    fwd.start()
    fwd.submit_traces(b"x", PB)
    fwd.submit_calls([])
    fwd.stop(1)
    assert registry.get_sample_value("llmpulse_forward_sent_total", {"sink": "otlp"}) is None
