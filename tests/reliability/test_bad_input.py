"""Every case of the committed bad-input corpus (tests/reliability/corpus/) against a running llmpulse.

For each case: the documented status and message; the process keeps serving;
the valid spans of a partly valid batch are counted; and nothing but the
rejection counters changes. The last is checked by sending the batch's valid
part alone to a second exporter: the two full scrapes must move identically,
except for the request, ingest-latency and rejection self-metrics.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
import requests

from harness import make_exporter
from otlpdata import span, traces_request

from . import corpus
from .conftest import STEADY
from .helpers import delta, error_text, family_total, raw_http, scrape

CASES = corpus.load()
PB = {"Content-Type": "application/x-protobuf"}
PROBE = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic",
         "gen_ai.request.model": "claude-sonnet-4-5", "gen_ai.usage.input_tokens": 3}
REQUEST_FAMILIES = ("llmpulse_requests_total", "llmpulse_ingest_duration_seconds", "llmpulse_http_connections")


@pytest.fixture(scope="module")
def pair():
    """(bad, reference): two identical exporters with the corpus's body limit."""
    cfg = {**STEADY, "server": {"max_body_bytes": corpus.MAX_BODY_BYTES,
                                 "max_spans_per_request": corpus.MAX_SPANS}}
    bad, ref = make_exporter(**cfg), make_exporter(**cfg)
    yield bad, ref
    bad.stop()
    ref.stop()


def send(exp, case: corpus.Case, body: bytes) -> tuple[int, dict[str, str], bytes]:
    if case.raw:
        u = urlsplit(exp.otlp_http_url)
        return raw_http(u.hostname, u.port, body)
    r = requests.post(exp.otlp_http_url + case.path, data=body, headers=case.headers, timeout=30)
    return r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content


def not_request_or_rejection(case: corpus.Case):
    return lambda name: name.startswith(REQUEST_FAMILIES) or name == case.rejected_family


def test_committed_corpus_is_what_the_generator_builds():
    assert corpus.differences() == []


def test_corpus_readme_lists_every_case():
    readme = (corpus.CORPUS_DIR / "README.md").read_text()
    missing = [c.name for c in CASES if f"`{c.name}`" not in readme or f"| {c.status} |" not in readme]
    assert missing == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_input(pair, case: corpus.Case):
    bad, ref = pair
    bad_before, ref_before = scrape(bad.metrics_url), scrape(ref.metrics_url)

    status, headers, body = send(bad, case, case.body)
    assert status == case.status, (case.name, body[:300])
    message = error_text(status, headers.get("content-type", ""), body)
    assert case.needle.lower() in message.lower(), (case.name, message)
    if case.valid_body:
        assert send(ref, case, case.valid_body)[0] == 200

    # the process keeps serving: a valid request right after is counted on both
    probe = traces_request([span(PROBE, trace_id=os.urandom(16))]).SerializeToString()
    for exp in pair:
        assert requests.post(exp.otlp_http_url + "/v1/traces", data=probe, headers=PB, timeout=30).status_code == 200
    bad_after, ref_after = scrape(bad.metrics_url), scrape(ref.metrics_url)

    # nothing but the request and rejection counters moved differently from the reference
    skip = not_request_or_rejection(case)
    assert delta(bad_before, bad_after, skip) == delta(ref_before, ref_after, skip)
    # the rejections, exactly, by reason
    rejected = delta(bad_before, bad_after, lambda name: name != case.rejected_family)
    assert {dict(lab)["reason"]: v for (_, lab), v in rejected.items()} == case.rejected
    # the request itself was counted under its status
    signal = {"/v1/traces": "traces", "/v1/logs": "logs", "/v1/scores": "scores",
              "/v1/metrics": "metrics"}.get(case.path, "other")
    requests_delta = delta(bad_before, bad_after, lambda name: name != "llmpulse_requests_total")
    assert family_total(requests_delta, "llmpulse_requests_total", transport="http", signal=signal,
                        code=str(case.status)) == 1 + (case.status == 200 and signal == "traces")
    if case.accepted and case.path == "/v1/traces":
        received = delta(bad_before, bad_after, lambda name: name != "llmpulse_spans_received_total")
        assert sum(received.values()) == case.accepted + 1      # + the probe


def test_partial_success_reports_the_rejected_count(pair):
    bad, _ = pair
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    for case in CASES:
        if case.status == 200 and case.rejected and case.path == "/v1/traces" and not case.raw:
            status, headers, body = send(bad, case, case.body)
            assert status == 200
            if headers["content-type"] == "application/x-protobuf":
                rejected = trace_service_pb2.ExportTraceServiceResponse.FromString(body).partial_success.rejected_spans
            else:
                import json
                rejected = int(json.loads(body)["partialSuccess"]["rejectedSpans"])
            assert rejected == sum(case.rejected.values()), case.name


def test_enormous_values_become_bounded_labels(pair):
    bad, _ = pair
    samples = scrape(bad.metrics_url)
    models = {dict(lab).get("gen_ai_request_model", "") for (_, lab) in samples}
    assert "m" * 128 in models and not any(len(m) > 128 for m in models)
    assert not any("p" * 200 in v or "c" * 200 in v for (_, lab) in samples for _, v in lab)
