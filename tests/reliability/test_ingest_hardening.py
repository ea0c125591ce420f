"""The rest of issue 13's probes (items 7-9) and issue 12's items 8 and 12 (connection resets).

Each test here failed on the http.server-based receiver (commit 6691205) and passes now; the
framing cases of item 9 are corpus cases (`test_bad_input.py`, `corpus/README.md`).
"""

from __future__ import annotations

import gzip
import http.client
import json
import logging
import socket
import struct
import time
from urllib.parse import urlsplit

import grpc
import pytest
import requests
from google.rpc import status_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2

from llmpulse.config import ConfigError, load_config

from .helpers import delta, scrape, wait_until
from .senders import TRACE_EXPORT, Batch

PB = {"Content-Type": "application/x-protobuf"}
METRICS_EXPORT = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"


def _raw_exchange(exp, data: bytes, wait: float = 5.0) -> bytes:
    u = urlsplit(exp.otlp_http_url)
    with socket.create_connection((u.hostname, u.port), timeout=wait) as s:
        s.sendall(data)
        out = b""
        end = time.monotonic() + wait
        while time.monotonic() < end:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
            if out.count(b"HTTP/1.1 ") >= 2:
                break
    return out


# ----------------------------------------------------------------- item 9

@pytest.mark.parametrize("path", ["/v1/traces", "/v1/scores"])
def test_a_body_over_the_limit_gets_its_413_not_a_broken_pipe(make, path):
    """A 17 MB body to /v1/scores ended in EPIPE instead of the 413 the server counted."""
    exp = make(server={"max_body_bytes": 1 << 20})
    headers = {"Content-Type": "application/json"} if path == "/v1/scores" else PB
    u = urlsplit(exp.otlp_http_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)   # sends it all, then reads the answer
    conn.request("POST", path, body=b" " * (17 << 20), headers=headers)
    resp = conn.getresponse()
    assert resp.status == 413 and b"limit" in resp.read()
    conn.close()
    r = requests.post(exp.otlp_http_url + path, data=b" " * (17 << 20), headers=headers, timeout=30)
    assert r.status_code == 413 and "limit" in r.text
    # and when the size is only known as it arrives (chunked)
    r = requests.post(exp.otlp_http_url + path, data=iter([b" " * (1 << 20)] * 17), headers=headers, timeout=30)
    assert r.status_code == 413


def test_a_chunked_body_with_trailers_keeps_the_next_pipelined_request(make):
    exp = make()
    body = Batch.make("trailers", 2).protobuf()
    first = (b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n" + f"{len(body):x}\r\n".encode() + body
             + b"\r\n0\r\nX-Trailer: 1\r\n\r\n")
    second = (b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
              b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    out = _raw_exchange(exp, first + second)
    assert out.count(b"HTTP/1.1 200") == 2, out


@pytest.mark.parametrize("order", ["right_first", "wrong_first"])
def test_two_authorization_headers_are_refused_on_http_and_grpc(make, order):
    """HTTP took the first of two Authorization headers, gRPC the last: now neither takes any."""
    exp = make(auth={"token": "s3cret"})
    values = ["Bearer s3cret", "Bearer wrong"]
    if order == "wrong_first":
        values.reverse()
    body = Batch.make("two-auth", 1).protobuf()
    head = (f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
            f"Authorization: {values[0]}\r\nAuthorization: {values[1]}\r\nContent-Length: {len(body)}\r\n\r\n")
    out = _raw_exchange(exp, head.encode() + body)
    assert out.startswith(b"HTTP/1.1 401"), out[:100]
    with grpc.insecure_channel(exp.otlp_grpc_target) as ch:
        export = ch.unary_unary(TRACE_EXPORT, request_serializer=None, response_deserializer=None)
        with pytest.raises(grpc.RpcError) as err:
            export(body, metadata=[("authorization", values[0]), ("authorization", values[1])], timeout=10)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        export(body, metadata=[("authorization", "Bearer s3cret")], timeout=10)    # one right token: accepted


def test_a_missing_token_file_is_a_configuration_error_naming_the_key(tmp_path):
    """It was reported as `cannot listen: [Errno 2]`."""
    missing = tmp_path / "no-such-token"
    with pytest.raises(ConfigError) as err:
        load_config(overrides={"auth": {"token_file": str(missing)}}, environ={})
    assert err.value.problems == [f"config: auth.token_file: cannot read {missing}: No such file or directory"]
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match=r"config: auth\.token_file: .* is empty"):
        load_config(overrides={"auth": {"token_file": str(tmp_path / "empty")}}, environ={})
    # the compose stack ships an empty secret on purpose: auth off, said so in its config
    cfg = load_config(overrides={"auth": {"token_file": str(tmp_path / "empty"), "allow_empty_token_file": True}},
                      environ={})
    assert cfg.auth.resolved_token() == ""


def test_query_strings_never_reach_the_log(make, caplog):
    """The DEBUG access log wrote query strings (`?api_key=...`)."""
    exp = make(server={"header_timeout_seconds": 0.5})
    secret = "QUERYSECRET123"
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="llmpulse"):
        for path in (f"/v1/traces?api_key={secret}", f"/v1/nowhere?api_key={secret}", f"/healthz?k={secret}"):
            requests.post(exp.otlp_http_url + path, data=b"", headers=PB, timeout=10)
            requests.get(exp.otlp_http_url + path, timeout=10)
        requests.get(exp.metrics_url + f"?api_key={secret}", timeout=10)
        _raw_exchange(exp, f"POST /v1/traces?api_key={secret} HTTP/1.1\r\nContent-Length: zz\r\n\r\n".encode())
        _raw_exchange(exp, f"POST /v1/traces?api_key={secret} HTTP/1.1\r\nX: 1\r\n".encode(), wait=2)
        u = urlsplit(exp.otlp_http_url)        # gone mid-body: llmpulse logs the request's path at DEBUG
        s = socket.create_connection((u.hostname, u.port), timeout=10)
        s.sendall(f"POST /v1/traces?api_key={secret} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf"
                  "\r\nContent-Length: 100\r\n\r\n".encode())
        time.sleep(0.2)
        _reset(s)
        wait_until(lambda: any("before its /v1/traces request" in r.getMessage() for r in caplog.records),
                   "the DEBUG line")
    ours = [r.getMessage() for r in caplog.records if r.name.startswith(("llmpulse", "uvicorn", "asyncio", "grpc"))]
    assert ours and not [m for m in ours if secret in m]


# ----------------------------------------------------------------- item 7

def test_an_internal_error_answers_500_with_an_internal_status_code(make, monkeypatch):
    """The body of a 500 said code 3 (INVALID_ARGUMENT), which disagrees with its status."""
    exp = make()

    def boom(body, mtype):
        raise RuntimeError("planted")
    monkeypatch.setattr(exp.pipeline, "traces", boom)
    r = requests.post(exp.otlp_http_url + "/v1/traces", data=Batch.make("x", 1).protobuf(), headers=PB, timeout=10)
    assert r.status_code == 500
    st = status_pb2.Status.FromString(r.content)
    assert (st.code, st.message) == (13, "internal error")
    r = requests.post(exp.otlp_http_url + "/v1/traces", data=Batch.make("x", 1).json(),
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 500 and r.json() == {"code": 13, "message": "internal error"}


def test_a_score_of_400_digits_is_rejected_not_a_500(make):
    exp = make()
    body = b'{"trace_id": "' + b"a" * 32 + b'", "name": "x", "value": ' + b"9" * 400 + b"}"
    r = requests.post(exp.otlp_http_url + "/v1/scores", data=body, headers={"Content-Type": "application/json"},
                      timeout=10)
    assert r.status_code == 400 and r.json()["rejected"] == 1 and "finite" in r.json()["errors"][0]
    assert exp.registry.get_sample_value("llmpulse_scores_rejected_total", {"reason": "invalid_score"}) == 1


# ----------------------------------------------------------------- item 8 and config values

@pytest.mark.parametrize("key,value", [
    ("metrics.max_label_length", 0), ("metrics.max_label_length", -1),
    ("metrics.deployment_info_ttl_seconds", 0),
    ("server.max_header_bytes", 0), ("server.header_timeout_seconds", 0), ("server.body_timeout_seconds", -1),
    ("server.idle_timeout_seconds", 0), ("server.shutdown_drain_seconds", -1),
    ("server.grpc_max_streams_per_connection", 0), ("server.grpc_keepalive_seconds", 0),
    ("server.max_body_bytes", 0), ("server.max_connections", -5), ("server.grpc_max_connections", 0),
])
def test_sizes_lengths_and_deadlines_that_make_no_sense_are_refused_with_their_path(key, value):
    """`metrics.max_label_length: -1` was accepted and cut `gpt-4o` to `gpt-4`."""
    section, name = key.split(".")
    with pytest.raises(ConfigError) as err:
        load_config(overrides={section: {name: value}}, environ={})
    assert any(p.startswith(f"config: {key}: must be") for p in err.value.problems), err.value.problems


# ----------------------------------------------------------------- issue 12, item 8: OTLP metrics

def _metrics_request() -> metrics_service_pb2.ExportMetricsServiceRequest:
    req = metrics_service_pb2.ExportMetricsServiceRequest()
    sm = req.resource_metrics.add().scope_metrics.add()
    m = sm.metrics.add(name="gen_ai.client.token.usage")
    for n in (10, 20, 30):
        m.histogram.data_points.add(count=1, sum=n)
    m = sm.metrics.add(name="gen_ai.client.operation.duration")
    m.histogram.data_points.add(count=1, sum=0.5)
    return req


def test_otlp_metrics_are_accepted_and_counted_as_ignored_never_converted(make):
    """Apps that also export metrics (OpenLLMetry, OpenLIT) got 404 on /v1/metrics."""
    exp = make()
    before = scrape(exp.metrics_url)
    body = _metrics_request().SerializeToString()
    r = requests.post(exp.otlp_http_url + "/v1/metrics", data=body, headers=PB, timeout=10)
    assert r.status_code == 200
    metrics_service_pb2.ExportMetricsServiceResponse.FromString(r.content)
    r = requests.post(exp.otlp_http_url + "/v1/metrics", json={"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "x", "sum": {"dataPoints": [{"asInt": "1"}]}}]}]}]}, timeout=10)
    assert r.status_code == 200 and r.json() == {}
    with grpc.insecure_channel(exp.otlp_grpc_target) as ch:
        ch.unary_unary(METRICS_EXPORT, request_serializer=None, response_deserializer=None)(body, timeout=10)
    changed = delta(before, scrape(exp.metrics_url),
                    skip=lambda name: name.startswith(("llmpulse_requests_total", "llmpulse_ingest_duration",
                                                       "llmpulse_http_connections")))
    assert changed == {("llmpulse_otlp_metric_points_ignored_total", ()): 4 + 1 + 4}


def test_the_sdk_metric_exporters_succeed_against_llmpulse(make):
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    exp = make()
    for exporter in (HttpMetricExporter(endpoint=exp.otlp_http_url + "/v1/metrics", timeout=10),
                     GrpcMetricExporter(endpoint=exp.otlp_grpc_target, insecure=True, timeout=10)):
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=60_000)
        provider = MeterProvider(metric_readers=[reader])
        provider.get_meter("t").create_counter("gen_ai.requests").add(3)
        assert reader.force_flush(10_000)
        provider.shutdown()
    codes = {(s.labels["transport"], s.labels["code"]): s.value for fam in exp.registry.collect()
             if fam.name == "llmpulse_requests" for s in fam.samples
             if s.name.endswith("_total") and s.labels["signal"] == "metrics"}
    assert set(codes) == {("http", "200"), ("grpc", "OK")}, codes      # a flush and the final export each
    assert exp.registry.get_sample_value("llmpulse_otlp_metric_points_ignored_total") >= 2


# ----------------------------------------------------------------- issue 12, item 12: connection resets

def _reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_a_client_reset_is_one_debug_line_never_a_traceback(make, caplog, capfd):
    exp = make()
    u = urlsplit(exp.otlp_http_url)
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="llmpulse"):
        for data in (b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                     b"Content-Length: 100000\r\n\r\n" + b"\x00" * 1000,          # mid-body
                     b"POST /v1/traces HTTP/1.1\r\nHost: x\r\n"):                    # mid-headers
            s = socket.create_connection((u.hostname, u.port), timeout=10)
            s.sendall(data)
            time.sleep(0.2)
            _reset(s)
        m = urlsplit(exp.metrics_url)
        s = socket.create_connection((m.hostname, m.port), timeout=10)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        _reset(s)
        wait_until(lambda: exp.http_connections("otlp") == 0, "reset connections gone")
        time.sleep(0.3)
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING], caplog.text
    gone = [r.getMessage() for r in caplog.records if "closed its connection" in r.getMessage()]
    assert len(gone) == 2 and all(r.levelno == logging.DEBUG for r in caplog.records if "closed its" in r.getMessage())
    assert all("\n" not in g for g in gone)
    assert requests.post(exp.otlp_http_url + "/v1/traces", data=Batch.make("after", 1).protobuf(), headers=PB,
                         timeout=10).status_code == 200


# ----------------------------------------------------------------- limits of the listener

def test_headers_over_max_header_bytes_get_431(make):
    exp = make(server={"max_header_bytes": 4096})
    out = _raw_exchange(exp, b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8000 + b"\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 431"), out[:80]


def _calls(exp, service: str) -> float:
    return exp.registry.get_sample_value("gen_ai_client_operation_duration_seconds_count", {
        "service_name": service, "gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai",
        "gen_ai_request_model": "gpt-4o", "gen_ai_response_model": "gpt-4o", "error_type": ""}) or 0.0


def test_every_member_of_a_multi_member_gzip_body_is_decoded(make):
    """A gzip body of several members (RFC 1952 2.2; `gzip -d` and Go's reader decode them all):
    only the first was decoded, so a second whole request was dropped under a 200, and a request
    split across members was refused as truncated protobuf."""
    exp = make(server={"max_body_bytes": 65536})
    gz = {**PB, "Content-Encoding": "gzip"}
    two = gzip.compress(Batch.make("first", 3).protobuf()) + gzip.compress(Batch.make("second", 4).protobuf())
    r = requests.post(exp.otlp_http_url + "/v1/traces", data=two, headers=gz, timeout=5)
    assert r.status_code == 200 and (_calls(exp, "first"), _calls(exp, "second")) == (3, 4), r.content
    body = Batch.make("split", 5).protobuf()
    cut = len(body) // 3
    split = gzip.compress(body[:cut]) + gzip.compress(body[cut:])
    r = requests.post(exp.otlp_http_url + "/v1/traces", data=split, headers=gz, timeout=5)
    assert r.status_code == 200 and _calls(exp, "split") == 5, r.content
    # the limit holds over all members together
    half = gzip.compress(b"\x00" * 40_000)
    r = requests.post(exp.otlp_http_url + "/v1/traces", data=half + half, headers=gz, timeout=5)
    assert r.status_code == 413 and b"decompressed" in r.content, r.content


def test_an_idle_connection_is_closed_after_the_idle_timeout(make):
    exp = make(server={"idle_timeout_seconds": 0.5})
    u = urlsplit(exp.otlp_http_url)
    with socket.create_connection((u.hostname, u.port), timeout=5) as s:
        t0 = time.monotonic()
        assert s.recv(10) == b""
        assert 0.4 < time.monotonic() - t0 < 3
    assert exp.registry.get_sample_value("llmpulse_http_connections_closed_total",
                                         {"listener": "otlp", "reason": "idle_timeout"}) == 1


def test_a_body_shorter_than_its_length_then_eof_is_a_400(make):
    exp = make()
    u = urlsplit(exp.otlp_http_url)
    with socket.create_connection((u.hostname, u.port), timeout=5) as s:
        s.sendall(b"POST /v1/scores HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100\r\n\r\n{}")
        s.shutdown(socket.SHUT_WR)
        out = s.recv(4096)
    assert out.startswith(b"HTTP/1.1 400") and b"shorter" in out, out
    body = json.loads(out.split(b"\r\n\r\n", 1)[1])
    assert body["code"] == 3


# ----------------------------------------------------------------- gRPC calls that end without a message

def _grpc_codes(exp) -> dict[str, float]:
    return {dict(lab)["code"]: v for (name, lab), v in scrape(exp.metrics_url).items()
            if name == "llmpulse_requests_total" and dict(lab).get("transport") == "grpc"}


def _stream_export(exp, messages, timeout: float, compression=None):
    with grpc.insecure_channel(exp.otlp_grpc_target, options=[("grpc.max_send_message_length", -1)]) as ch:
        export = ch.stream_unary(TRACE_EXPORT, request_serializer=None, response_deserializer=None)
        return export(messages, timeout=timeout, compression=compression)


def _settled(exp, want: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    """The gRPC request counts that changed since `before`, once they equal `want` (or after 5 s):
    a call gRPC ended itself is counted when its handler learns of it, just after the client's answer."""
    got: dict[str, float] = {}

    def changed() -> bool:
        nonlocal got
        now = _grpc_codes(exp)
        got = {k: v - before.get(k, 0.0) for k, v in now.items() if v != before.get(k, 0.0)}
        return got == want
    try:
        wait_until(changed, f"gRPC request counts {want}", 5.0)
    except AssertionError:
        pass                    # the caller's assert shows what was counted instead
    return got


def test_a_grpc_message_over_the_limit_is_refused_by_grpc_and_not_counted_as_the_clients_mistake(make):
    """gRPC refuses a message over `max_body_bytes` itself (RESOURCE_EXHAUSTED), raw or a gzip bomb;
    llmpulse counted it as INVALID_ARGUMENT ("Export requires exactly one request message"). It is
    counted as CANCELLED (the call ended before llmpulse could answer), and the exporter keeps serving."""
    exp = make(server={"max_body_bytes": 64 * 1024})
    before = _grpc_codes(exp)
    raw = Batch.make("big", 1)
    raw.spans[0].attributes.add(key="padding").value.string_value = "a" * (200 * 1024)
    body = raw.protobuf()
    bomb = Batch.make("bomb", 1)
    bomb.spans[0].attributes.add(key="padding").value.string_value = "a" * (32 << 20)  # 32 MiB, ~32 KiB gzipped
    for message, compression in ((body, None), (body, grpc.Compression.Gzip), (bomb.protobuf(), grpc.Compression.Gzip)):
        with pytest.raises(grpc.RpcError) as err:
            _stream_export(exp, iter([message]), timeout=30, compression=compression)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, err.value
    assert _settled(exp, {"CANCELLED": 3}, before) == {"CANCELLED": 3}
    _stream_export(exp, iter([Batch.make("small", 1).protobuf()]), timeout=10)
    assert _settled(exp, {"CANCELLED": 3, "OK": 1}, before) == {"CANCELLED": 3, "OK": 1}


def test_a_grpc_client_whose_deadline_passes_before_its_message_is_counted_as_deadline_exceeded(make):
    """It was counted as INVALID_ARGUMENT, the code of a client that sends no message at all."""
    exp = make()
    before = _grpc_codes(exp)

    def late():
        time.sleep(3)
        yield Batch.make("late", 1).protobuf()
    with pytest.raises(grpc.RpcError) as err:
        _stream_export(exp, late(), timeout=0.5)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert _settled(exp, {"DEADLINE_EXCEEDED": 1}, before) == {"DEADLINE_EXCEEDED": 1}


def test_a_grpc_call_without_a_message_is_invalid_argument_and_counted_so(make):
    exp = make()
    before = _grpc_codes(exp)
    with pytest.raises(grpc.RpcError) as err:
        _stream_export(exp, iter([]), timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "exactly one request message" in err.value.details()
    assert _settled(exp, {"INVALID_ARGUMENT": 1}, before) == {"INVALID_ARGUMENT": 1}
