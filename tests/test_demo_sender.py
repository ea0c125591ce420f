"""The demo sender against a local HTTP server that decodes what it receives."""

from __future__ import annotations

import json
import re

import pytest
from demo_receiver import Receiver
from demo_spans import NOW_NS
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from llmpulse.demo import otlp_json
from llmpulse.demo.sender import Sender, retry_after_seconds
from llmpulse.demo.traffic import Traffic


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def batches():
    t = Traffic(seed=4)
    return [t.batch(40, NOW_NS + i * 10**9) for i in range(4)]


def _no_sleep(waits):
    return lambda s: waits.append(s)


@pytest.mark.parametrize("use_gzip", [False, True])
def test_protobuf_bodies_decode_to_the_same_requests(receiver, batches, use_gzip):
    sender = Sender(receiver.url, gzip=use_gzip)
    for b in batches:
        sender.send(b)
    traces = [r for r in receiver.requests if r["path"] == "/v1/traces"]
    logs = [r for r in receiver.requests if r["path"] == "/v1/logs"]
    assert len(traces) == len(batches)
    for req, b in zip(traces, batches):
        assert req["headers"]["Content-Type"] == "application/x-protobuf"
        assert (req["headers"].get("Content-Encoding") == "gzip") == use_gzip
        if use_gzip:
            assert req["raw"][:2] == b"\x1f\x8b"
        msg = ExportTraceServiceRequest()
        msg.ParseFromString(req["body"])
        assert msg == b.traces
    assert len(logs) == sum(b.logs is not None for b in batches) > 0
    for req in logs:
        msg = ExportLogsServiceRequest()
        msg.ParseFromString(req["body"])
        assert msg.resource_logs[0].scope_logs[0].log_records
    s = sender.stats
    assert s.spans_sent == sum(b.span_count for b in batches) and s.spans_failed == 0
    assert s.logs_sent == sum(b.log_count for b in batches)
    assert s.scores_sent == sum(len(b.scores) for b in batches) > 0
    assert "/v1/scores" in receiver.paths()


def _walk(obj, path=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk(v, path + "[]")
    else:
        yield path, obj


def test_json_bodies_follow_otlp_json_rules(receiver, batches):
    sender = Sender(receiver.url, encoding="json")
    sender.send(batches[1])
    req = next(r for r in receiver.requests if r["path"] == "/v1/traces")
    assert req["headers"]["Content-Type"] == "application/json"
    doc = json.loads(req["body"])
    leaves = list(_walk(doc))
    keys = {k for p, _ in leaves for k in re.findall(r"\.(\w+)", p)}
    assert not any("_" in k for k in keys), "lowerCamelCase keys only"
    seen = set()
    for path, v in leaves:
        key = path.rsplit(".", 1)[-1]
        seen.add(key)
        if key == "traceId":
            assert re.fullmatch(r"[0-9a-f]{32}", v), v
        elif key in ("spanId", "parentSpanId"):
            assert re.fullmatch(r"[0-9a-f]{16}", v), v
        elif key in ("startTimeUnixNano", "endTimeUnixNano", "timeUnixNano", "intValue"):
            assert isinstance(v, str) and v.lstrip("-").isdigit(), (path, v)
        elif key in ("kind", "code"):
            assert isinstance(v, int), (path, v)
        elif key == "doubleValue":
            assert isinstance(v, float)
    assert {"traceId", "spanId", "parentSpanId", "intValue", "doubleValue", "boolValue", "arrayValue",
            "kind"} <= seen | keys
    # a decoder (hex ids -> bytes, strings -> int64) gives back the original message
    assert otlp_json.loads(ExportTraceServiceRequest, req["body"]) == batches[1].traces
    logs = next(r for r in receiver.requests if r["path"] == "/v1/logs")
    log_doc = json.loads(logs["body"])
    rec = log_doc["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    assert re.fullmatch(r"[0-9a-f]{32}", rec["traceId"]) and isinstance(rec["timeUnixNano"], str)
    assert otlp_json.loads(ExportLogsServiceRequest, logs["body"]) == batches[1].logs


def test_json_encoder_differs_from_protobufs_json_mapping(batches):
    from google.protobuf import json_format
    theirs = json.loads(json_format.MessageToJson(batches[0].traces))
    ours = otlp_json.to_dict(batches[0].traces)
    span_theirs = theirs["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span_ours = ours["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert bytes.fromhex(span_ours["traceId"]) == batches[0].traces.resource_spans[0].scope_spans[0].spans[0].trace_id
    assert span_theirs["traceId"] != span_ours["traceId"]   # base64 there, hex here


def test_retry_after_is_honoured_then_success(receiver, batches):
    receiver.script = [(429, {"Retry-After": "2"}, b""), (503, {"Retry-After": "1"}, b"")]
    waits: list[float] = []
    sender = Sender(receiver.url, sleep=_no_sleep(waits))
    resp = sender.post("/v1/traces", batches[0].traces.SerializeToString(), "application/x-protobuf")
    assert resp is not None and resp.status_code == 200
    assert waits == [2.0, 1.0]
    assert sender.stats.retries == 2 and sender.stats.requests == 3
    assert receiver.paths() == ["/v1/traces"] * 3


def test_retries_are_bounded_and_waits_capped(receiver, batches):
    receiver.script = [(503, {"Retry-After": "3600"}, b"")] * 10
    waits: list[float] = []
    sender = Sender(receiver.url, max_retries=2, max_backoff_s=5, sleep=_no_sleep(waits))
    b = batches[0]
    sender.send_scores = lambda scores: None   # only the traces request matters here
    b_no_logs = type(b)(traces=b.traces, logs=None, scores=[], ops=b.ops)
    sender.send(b_no_logs)
    assert waits == [5, 5]
    assert receiver.paths() == ["/v1/traces"] * 3
    assert sender.stats.spans_failed == b.span_count and sender.stats.spans_sent == 0
    assert "503" in sender.stats.last_error


def test_without_retry_after_backoff_is_exponential(receiver):
    receiver.script = [(502, {}, b""), (504, {}, b""), (429, {"Retry-After": "soon"}, b"")]
    waits: list[float] = []
    sender = Sender(receiver.url, max_retries=3, sleep=_no_sleep(waits))
    assert sender.post("/v1/traces", b"", "application/x-protobuf").status_code == 200
    assert waits == [0.5, 1.0, 2.0]


@pytest.mark.parametrize("status", [400, 413, 415, 500])
def test_other_errors_are_not_retried(receiver, batches, status):
    receiver.script = [(status, {"Retry-After": "1"}, b"bad")]
    waits: list[float] = []
    sender = Sender(receiver.url, sleep=_no_sleep(waits))
    b = batches[0]
    sender.send(type(b)(traces=b.traces, logs=None, scores=[], ops=b.ops))
    assert waits == [] and receiver.paths() == ["/v1/traces"]
    assert sender.stats.spans_failed == b.span_count


def test_partial_success_counts_rejected_spans(receiver, batches):
    answer = ExportTraceServiceResponse()
    answer.partial_success.rejected_spans = 3
    answer.partial_success.error_message = "3 spans had no trace id"
    receiver.script = [(200, {"Content-Type": "application/x-protobuf"}, answer.SerializeToString()),
                       (200, {"Content-Type": "application/json"},
                        json.dumps({"partialSuccess": {"rejectedSpans": "2"}}).encode())]
    sender = Sender(receiver.url)
    b = batches[0]
    for _ in range(2):
        sender.send(type(b)(traces=b.traces, logs=None, scores=[], ops=b.ops))
    assert sender.stats.spans_rejected == 5
    assert sender.stats.spans_sent == 2 * b.span_count - 5


def test_scores_are_posted_as_json_and_answers_counted(receiver, batches):
    scores = [s for b in batches for s in b.scores]
    assert scores
    receiver.script = [(200, {"Content-Type": "application/json"},
                        json.dumps({"accepted": len(scores) - 1, "rejected": 1, "errors": ["x"]}).encode()),
                       (404, {}, b"no such path")]
    sender = Sender(receiver.url)
    sender.send_scores(scores)
    req = receiver.requests[0]
    assert req["path"] == "/v1/scores" and req["headers"]["Content-Type"] == "application/json"
    assert json.loads(req["body"]) == {"scores": scores}
    assert (sender.stats.scores_sent, sender.stats.scores_rejected) == (len(scores) - 1, 1)
    sender.send_scores(scores)
    assert sender.stats.scores_failed == len(scores)


def test_unreachable_endpoint_is_counted_not_raised(batches):
    r = Receiver()
    url = r.url
    r.stop()  # nothing listens there any more
    waits: list[float] = []
    sender = Sender(url, max_retries=1, sleep=_no_sleep(waits), timeout_s=2)
    sender.send(batches[0])
    s = sender.stats
    assert s.spans_failed == batches[0].span_count and s.spans_sent == 0
    assert waits and "ConnectionError" in s.last_error


def test_retry_after_parsing():
    assert retry_after_seconds("0") == 0.0
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    assert retry_after_seconds("-5") is None


def test_base_url_accepts_a_signal_path():
    assert Sender("http://h:4318/v1/traces").base_url == "http://h:4318"
    with pytest.raises(ValueError):
        Sender("http://h:4318", encoding="xml")
