"""OTLP/HTTP statuses, encodings and partial success, against a running exporter."""

import gzip
import json
import os

import requests
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from harness import make_exporter
from otlpdata import logs_request, span, to_json, traces_request

PB = {"Content-Type": "application/x-protobuf"}
JS = {"Content-Type": "application/json"}
GENAI = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
         "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 10}
L = {"service_name": "svc", "gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai",
     "gen_ai_request_model": "gpt-4o"}


def error_text(r) -> str:
    """The message of an error body: google.rpc.Status in protobuf or JSON."""
    if r.headers.get("Content-Type") == "application/x-protobuf":
        st = status_pb2.Status.FromString(r.content)
        return f"{st.code} {st.message}"
    return r.text


def sample(exp, name, labels=None):
    return exp.registry.get_sample_value(name, labels or {}) or 0.0


def all_samples(exp):
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in exp.metrics.collect() if not fam.name.startswith("llmpulse_") for s in fam.samples}


def test_protobuf_ok(exporter):
    body = traces_request([span(GENAI)]).SerializeToString()
    r = requests.post(exporter.otlp_http_url + "/v1/traces", data=body, headers=PB)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/x-protobuf"
    resp = trace_service_pb2.ExportTraceServiceResponse.FromString(r.content)
    assert not resp.HasField("partial_success")
    assert sample(exporter, "llm_tokens_total", {**L, "gen_ai_token_type": "input"}) == 100
    assert sample(exporter, "gen_ai_client_operation_duration_seconds_count",
                  {**L, "gen_ai_response_model": "gpt-4o", "error_type": ""}) == 1


def test_json_with_hex_ids_string_int64_and_unknown_fields(exporter):
    body = to_json(traces_request([span(GENAI), span(GENAI)]))
    r = requests.post(exporter.otlp_http_url + "/v1/traces", data=body, headers=JS)
    assert r.status_code == 200 and r.json() == {}
    assert sample(exporter, "llm_tokens_total", {**L, "gen_ai_token_type": "output"}) == 20


def test_gzip_body(exporter):
    body = gzip.compress(traces_request([span(GENAI)]).SerializeToString())
    r = requests.post(exporter.otlp_http_url + "/v1/traces", data=body, headers={**PB, "Content-Encoding": "gzip"})
    assert r.status_code == 200
    assert sample(exporter, "llm_tokens_total", {**L, "gen_ai_token_type": "input"}) == 100


def test_partial_success_keeps_valid_spans(exporter):
    bad = span({**GENAI, "gen_ai.usage.input_tokens": -3})
    body = traces_request([span(GENAI), bad, span(GENAI)]).SerializeToString()
    r = requests.post(exporter.otlp_http_url + "/v1/traces", data=body, headers=PB)
    assert r.status_code == 200
    resp = trace_service_pb2.ExportTraceServiceResponse.FromString(r.content)
    assert resp.partial_success.rejected_spans == 1
    assert "input tokens" in resp.partial_success.error_message
    assert sample(exporter, "llm_tokens_total", {**L, "gen_ai_token_type": "input"}) == 200
    assert sample(exporter, "llmpulse_spans_rejected_total", {"reason": "invalid_tokens"}) == 1


def test_partial_success_in_json(exporter):
    body = to_json(traces_request([span({**GENAI, "gen_ai.usage.output_tokens": -1})]))
    r = requests.post(exporter.otlp_http_url + "/v1/traces", data=body, headers=JS)
    assert r.status_code == 200
    assert r.json()["partialSuccess"]["rejectedSpans"] == "1"


def test_non_genai_spans_skipped_not_rejected(exporter):
    body = traces_request([span({"http.request.method": "POST"}, name="POST"), span(GENAI)]).SerializeToString()
    r = requests.post(exporter.otlp_http_url + "/v1/traces", data=body, headers=PB)
    assert r.status_code == 200
    assert not trace_service_pb2.ExportTraceServiceResponse.FromString(r.content).HasField("partial_success")
    assert sample(exporter, "llmpulse_spans_skipped_total", {"reason": "non_genai"}) == 1


def test_resent_batch_is_acknowledged_but_counted_once(exporter):
    body = traces_request([span(GENAI), span(GENAI)]).SerializeToString()
    for _ in range(3):
        assert requests.post(exporter.otlp_http_url + "/v1/traces", data=body, headers=PB).status_code == 200
    assert sample(exporter, "llm_tokens_total", {**L, "gen_ai_token_type": "input"}) == 200
    assert sample(exporter, "llmpulse_spans_skipped_total", {"reason": "duplicate"}) == 4


def bad_requests():
    good = traces_request([span(GENAI)]).SerializeToString()
    return [
        ("truncated protobuf", good[: len(good) // 2], PB, 400, "protobuf"),
        ("random bytes", os.urandom(64) + b"\xff\xff", PB, 400, "protobuf"),
        ("not json", b"{nope", JS, 400, "JSON"),
        ("json array", b"[1,2]", JS, 400, "object"),
        ("invalid utf-8", b'{"resourceSpans": "\xff\xfe"}', JS, 400, "UTF-8"),
        ("deep json", b"[" * 100000 + b"]" * 100000, JS, 400, "JSON"),
        ("wrong shape", b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"attributes": 5}]}]}]}', JS, 400,
         "attributes"),
        ("bad content type", good, {"Content-Type": "text/plain"}, 415, "content type"),
        ("no content type", good, {}, 415, "content type"),
        ("broken gzip", b"\x1f\x8b\x08\x00garbage", {**PB, "Content-Encoding": "gzip"}, 400, "gzip"),
        ("unknown encoding", good, {**PB, "Content-Encoding": "br"}, 415, "encoding"),
    ]


def test_bad_requests_get_clear_errors_and_change_nothing(exporter):
    requests.post(exporter.otlp_http_url + "/v1/traces", data=traces_request([span(GENAI)]).SerializeToString(),
                  headers=PB)
    before = all_samples(exporter)
    for what, body, headers, status, needle in bad_requests():
        r = requests.post(exporter.otlp_http_url + "/v1/traces", data=body, headers=headers)
        assert r.status_code == status, what
        assert needle.lower() in error_text(r).lower(), (what, error_text(r))
    assert all_samples(exporter) == before
    assert sample(exporter, "llmpulse_requests_total", {"transport": "http", "signal": "traces", "code": "400"}) == 8
    # and it still serves
    assert requests.get(exporter.metrics_url).status_code == 200


def test_body_limits_before_and_after_decompression():
    exp = make_exporter(server={"max_body_bytes": 10_000})
    try:
        big = b"\x00" * 20_000
        r = requests.post(exp.otlp_http_url + "/v1/traces", data=big, headers=PB)
        assert r.status_code == 413 and "limit" in error_text(r)
        bomb = gzip.compress(b"\x00" * 5_000_000)
        assert len(bomb) < 10_000
        r = requests.post(exp.otlp_http_url + "/v1/traces", data=bomb, headers={**PB, "Content-Encoding": "gzip"})
        assert r.status_code == 413 and "decompressed" in error_text(r)
    finally:
        exp.stop()


def test_overload_answers_503_with_retry_after():
    exp = make_exporter(server={"max_concurrent_requests": 1, "retry_after_seconds": 3})
    try:
        assert exp.gate.acquire(blocking=False)       # occupy the only slot
        body = traces_request([span(GENAI)]).SerializeToString()
        r = requests.post(exp.otlp_http_url + "/v1/traces", data=body, headers=PB)
        assert r.status_code == 503 and r.headers["Retry-After"] == "3"
        exp.gate.release()
        assert requests.post(exp.otlp_http_url + "/v1/traces", data=body, headers=PB).status_code == 200
    finally:
        exp.stop()


def test_bearer_token_on_ingest_scores_and_metrics():
    exp = make_exporter(auth={"token": "s3cret"})
    try:
        body = traces_request([span(GENAI)]).SerializeToString()
        for path, data, headers in (("/v1/traces", body, PB), ("/v1/scores", b"{}", JS)):
            r = requests.post(exp.otlp_http_url + path, data=data, headers=headers)
            assert r.status_code == 401 and "s3cret" not in r.text
            r = requests.post(exp.otlp_http_url + path, data=data, headers={**headers, "Authorization": "Bearer nope"})
            assert r.status_code == 401
        assert requests.get(exp.metrics_url).status_code == 401
        assert requests.get(exp.metrics_url.replace("/metrics", "/healthz")).status_code == 200
        ok = {**PB, "Authorization": "Bearer s3cret"}
        assert requests.post(exp.otlp_http_url + "/v1/traces", data=body, headers=ok).status_code == 200
        assert requests.get(exp.metrics_url, headers={"Authorization": "Bearer s3cret"}).status_code == 200
    finally:
        exp.stop()


def test_eval_events_as_log_records(exporter):
    tid, sid = os.urandom(16), os.urandom(8)
    requests.post(exporter.otlp_http_url + "/v1/traces",
                  data=traces_request([span(GENAI, trace_id=tid, span_id=sid)]).SerializeToString(), headers=PB)
    body = logs_request([(tid, sid, {"gen_ai.evaluation.name": "faithfulness", "gen_ai.evaluation.score.value": 0.9,
                                     "gen_ai.evaluation.score.label": "pass"})]).SerializeToString()
    r = requests.post(exporter.otlp_http_url + "/v1/logs", data=body, headers=PB)
    assert r.status_code == 200
    labels = {"service_name": "svc", "gen_ai_request_model": "gpt-4o", "gen_ai_evaluation_name": "faithfulness"}
    assert sample(exporter, "llm_eval_score_sum", labels) == 0.9
    assert sample(exporter, "llm_eval_results_total", {**labels, "gen_ai_evaluation_score_label": "pass"}) == 1


def test_scores_endpoint_late_attribution_and_feedback(exporter):
    tid, sid = os.urandom(16).hex(), os.urandom(8).hex()
    requests.post(exporter.otlp_http_url + "/v1/traces", headers=PB, data=traces_request(
        [span(GENAI, trace_id=bytes.fromhex(tid), span_id=bytes.fromhex(sid))]).SerializeToString())
    r = requests.post(exporter.otlp_http_url + "/v1/scores", headers=JS, data=json.dumps({"scores": [
        {"trace_id": tid, "span_id": sid, "name": "helpfulness", "value": 0.25, "label": "fail"},
        {"trace_id": tid, "name": "feedback", "label": "thumbs_down"},
        {"trace_id": "f" * 32, "name": "user_feedback", "value": 1},
        {"trace_id": "zz", "name": "x", "value": 1},
    ]}))
    assert r.status_code == 200
    assert r.json() == {"accepted": 3, "rejected": 1, "errors": ["scores[3].trace_id: must be 32 hex characters"]}
    assert sample(exporter, "llm_eval_score_sum", {"service_name": "svc", "gen_ai_request_model": "gpt-4o",
                                                   "gen_ai_evaluation_name": "helpfulness"}) == 0.25
    assert sample(exporter, "llm_feedback_total", {"service_name": "svc", "gen_ai_request_model": "gpt-4o",
                                                   "feedback": "negative"}) == 1
    # a score for a trace the exporter never saw goes to unknown
    assert sample(exporter, "llm_feedback_total", {"service_name": "unknown", "gen_ai_request_model": "unknown",
                                                   "feedback": "positive"}) == 1
    r = requests.post(exporter.otlp_http_url + "/v1/scores", headers=JS, data=b'{"trace_id": 1}')
    assert r.status_code == 400 and "trace_id" in r.text


def test_json_shape_errors_name_the_field_by_its_path(exporter):
    # the path starts at the top-level key: "resourceSpans: ...", not ".resourceSpans: ..."
    for doc, message in (({"resourceSpans": "x"}, "resourceSpans: expected a list"),
                         ({"resourceLogs": 7}, "resourceLogs: expected a list"),
                         ({"resourceSpans": [{"scopeSpans": 5}]}, "resourceSpans[0].scopeSpans: expected a list")):
        signal = "logs" if "resourceLogs" in doc else "traces"
        r = requests.post(f"{exporter.otlp_http_url}/v1/{signal}", data=json.dumps(doc), headers=JS)
        assert r.status_code == 400
        assert r.json()["message"] == message


def test_a_get_on_an_ingest_path_is_405_with_allow_post(exporter):
    # a curl or browser check of the endpoint answered 404 "not found", as if the path did not exist
    for path in ("/v1/traces", "/v1/logs", "/v1/metrics", "/v1/scores"):
        r = requests.get(exporter.otlp_http_url + path)
        assert r.status_code == 405, path
        assert r.headers["Allow"] == "POST"
        assert "use POST" in r.text
    assert requests.get(exporter.otlp_http_url + "/v1/nothing").status_code == 404
    assert requests.get(exporter.otlp_http_url + "/healthz").status_code == 200
    assert sample(exporter, "llmpulse_requests_total",
                  {"transport": "http", "signal": "traces", "code": "405"}) == 1


def test_json_enums_by_name_are_read_as_the_collector_reads_them(exporter):
    # "kind": "SPAN_KIND_CLIENT" made the whole request 400 and lost its valid spans; the Collector and
    # protobuf's JSON reader take enum names beside numbers, unknown names stay an error
    doc = json.loads(to_json(traces_request([span(GENAI)])))
    sp = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    sp["kind"], sp["status"] = "SPAN_KIND_CLIENT", {"code": "STATUS_CODE_ERROR", "message": "boom"}
    r = requests.post(exporter.otlp_http_url + "/v1/traces", data=json.dumps(doc), headers=JS)
    assert r.status_code == 200, r.text
    assert sample(exporter, "gen_ai_client_operation_duration_seconds_count",
                  {**L, "gen_ai_response_model": "gpt-4o", "error_type": "_OTHER"}) == 1
    sp["kind"] = "SPAN_KIND_SIDEWAYS"
    r = requests.post(exporter.otlp_http_url + "/v1/traces", data=json.dumps(doc), headers=JS)
    assert r.status_code == 400
    assert "kind: expected an integer or one of SPAN_KIND_UNSPECIFIED" in r.text
