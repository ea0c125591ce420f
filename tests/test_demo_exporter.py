"""Demo traffic through the real embedded exporter: what /metrics counts must
match the generator's ground truth (`Batch.ops`), for every dialect at once."""

from __future__ import annotations

import collections
import time

import pytest

from llmpulse.demo.ops import Op
from llmpulse.demo.sender import Sender
from llmpulse.demo.traffic import Traffic

app = pytest.importorskip("llmpulse.app")
config = pytest.importorskip("llmpulse.config")


def start_exporter():
    cfg = config.load_config(overrides={"server": {"host": "127.0.0.1", "otlp_http_port": 0,
                                                   "otlp_grpc_port": 0, "metrics_port": 0}})
    return app.Exporter(cfg).start()


def feed(exporter, sender_kw, seed=5, scenario=None, batches=8, calls=40):
    traffic = Traffic(seed=seed, scenario=scenario)
    sender = Sender(exporter.otlp_http_url, **sender_kw)
    now = time.time_ns() - batches * 10**9
    sent = []
    for i in range(batches):
        b = traffic.batch(calls, now + i * 10**9)
        sender.send(b)
        sent.append(b)
    assert sender.stats.spans_failed == 0 and sender.stats.scores_failed == 0, sender.stats.last_error
    return sent, sender


def samples(exporter, name):
    out = []
    for metric in exporter.registry.collect():
        for s in metric.samples:
            if s.name == name:
                out.append((s.labels, s.value))
    return out


def key(op: Op) -> tuple:
    return (op.service, op.operation, op.provider, op.model)


# one series per cause, whatever the dialect says: the cause is the failure's HTTP status (none: a client timeout)
CAUSE = {None: "timeout", 408: "timeout", 429: "rate_limited", 500: "server_error", 529: "server_error"}


def expected_error(op: Op) -> str:
    return CAUSE[op.error.http_status]


@pytest.fixture(scope="module", params=[{"encoding": "protobuf"}, {"encoding": "json", "gzip": True}],
                ids=["protobuf", "json-gzip"])
def fed(request):
    exporter = start_exporter()
    try:
        batches, sender = feed(exporter, request.param)
        yield exporter, [op for b in batches for op in b.ops], batches, sender
    finally:
        exporter.stop()


def test_nothing_rejected(fed):
    exporter, ops, _, sender = fed
    assert sum(v for _, v in samples(exporter, "llmpulse_spans_rejected_total")) == 0
    assert sender.stats.spans_rejected == 0
    received = sum(v for _, v in samples(exporter, "llmpulse_spans_received_total"))
    skipped = sum(v for _, v in samples(exporter, "llmpulse_spans_skipped_total"))
    assert received + skipped == len(ops)
    dialects = {labels["dialect"] for labels, v in samples(exporter, "llmpulse_spans_received_total") if v}
    # every dialect the demo writes is recognised, under the name the demo gives it (one name per dialect)
    from llmpulse.demo.catalog import DIALECTS
    assert set(DIALECTS) <= dialects


def test_llm_operations_and_errors_per_service_provider_model(fed):
    exporter, ops, _, _ = fed
    want, want_err = collections.Counter(), collections.Counter()
    for op in ops:
        if op.is_llm:
            want[key(op)] += 1
            if op.error:
                want_err[key(op) + (expected_error(op),)] += 1
    got, got_err = collections.Counter(), collections.Counter()
    for labels, v in samples(exporter, "gen_ai_client_operation_duration_seconds_count"):
        if labels["gen_ai_operation_name"] in ("chat", "embeddings"):
            k = (labels["service_name"], labels["gen_ai_operation_name"], labels["gen_ai_provider_name"],
                 labels["gen_ai_request_model"])
            got[k] += v
            if labels["error_type"]:
                got_err[k + (labels["error_type"],)] += v
    assert got == want
    assert got_err == want_err and sum(want_err.values()) > 0


def test_tokens_per_service_and_type(fed):
    exporter, ops, _, _ = fed
    want = collections.Counter()
    for op in ops:
        if op.is_llm and op.error is None:
            for t in ("input", "output", "cache_read", "cache_write", "reasoning"):
                want[(op.service, t)] += getattr(op, f"{t}_tokens")
    got = collections.Counter()
    for labels, v in samples(exporter, "llm_tokens_total"):
        got[(labels["service_name"], labels["gen_ai_token_type"])] += v
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in want.items() if v}


def test_time_to_first_token_where_the_span_carries_it(fed):
    exporter, ops, _, _ = fed
    want = collections.Counter(op.service for op in ops if op.is_llm and op.error is None and op.ttft_s is not None
                               and (op.stream or op.dialect == "vllm") and op.dialect != "openllmetry")
    got = collections.Counter()
    for labels, v in samples(exporter, "gen_ai_client_operation_time_to_first_chunk_seconds_count"):
        got[labels["service_name"]] += v
    for service in ("support-bot", "search-api", "vllm-llama"):
        assert got[service] == want[service], service


def test_time_to_first_token_from_openllmetry_chunk_events(fed):
    exporter, ops, _, _ = fed
    want = sum(op.service == "coding-agent" and op.is_llm and op.error is None and op.stream for op in ops)
    got = sum(v for labels, v in samples(exporter, "gen_ai_client_operation_time_to_first_chunk_seconds_count")
              if labels["service_name"] == "coding-agent")
    assert got == want


def test_finish_reasons(fed):
    exporter, ops, _, _ = fed
    want = collections.Counter((op.service, op.finish) for op in ops
                               if op.is_llm and op.finish and op.error is None and op.dialect != "vllm")
    got = collections.Counter()
    for labels, v in samples(exporter, "llm_finish_reasons_total"):
        if labels["gen_ai_response_finish_reason"] != "error":
            got[(labels["service_name"], labels["gen_ai_response_finish_reason"])] += v
    assert got == want


def test_evals_from_spans_logs_and_scores_api(fed):
    exporter, ops, batches, _ = fed
    want = collections.Counter((op.service, ev.name) for op in ops for ev in op.evals)
    where = {(op.trace_id_hex, op.span_id_hex): op.service for op in ops}
    for b in batches:
        for s in b.scores:
            if s["name"] == "helpfulness":
                want[(where[(s["trace_id"], s["span_id"])], "helpfulness")] += 1
    got = collections.Counter()
    for labels, v in samples(exporter, "llm_eval_score_count"):
        got[(labels["service_name"], labels["gen_ai_evaluation_name"])] += v
    assert got == want
    fails = collections.Counter((op.service, ev.name) for op in ops for ev in op.evals if ev.label == "fail")
    got_fails = collections.Counter()
    for labels, v in samples(exporter, "llm_eval_results_total"):
        if labels["gen_ai_evaluation_score_label"] == "fail" and labels["gen_ai_evaluation_name"] != "helpfulness":
            got_fails[(labels["service_name"], labels["gen_ai_evaluation_name"])] += v
    assert got_fails == fails


def test_feedback(fed):
    exporter, ops, batches, _ = fed
    where = {(op.trace_id_hex, op.span_id_hex): op.service for op in ops}
    want = collections.Counter()
    for b in batches:
        for s in b.scores:
            if s["name"] in ("feedback", "user_feedback"):
                positive = s.get("value", 0) > 0 or s.get("label") == "thumbs_up"
                want[(where[(s["trace_id"], s["span_id"])], "positive" if positive else "negative")] += 1
    got = collections.Counter()
    for labels, v in samples(exporter, "llm_feedback_total"):
        got[(labels["service_name"], labels["feedback"])] += v
    assert {k: v for k, v in got.items() if v} == want and want


def test_guardrails_and_prompt_versions(fed):
    exporter, ops, _, _ = fed
    want = sum(bool(op.guardrail) for op in ops)
    assert sum(v for _, v in samples(exporter, "llm_guardrail_triggers_total")) == want
    versions = {(labels["service_name"], labels["prompt_version"])
                for labels, v in samples(exporter, "llm_deployment_info") if v}
    assert {("support-bot", "support-v7"), ("search-api", "rag-answer-v12"),
            ("batch-summarizer", "summarize-v3")} <= versions


def test_unpriced_model_scenario_is_counted_unpriced():
    exporter = start_exporter()
    try:
        batches, _ = feed(exporter, {}, scenario="unpriced_model", batches=6)
        ops = [op for b in batches for op in b.ops]
        want = sum(op.model == "acme-llm-9000" and op.error is None for op in ops)
        got = sum(v for labels, v in samples(exporter, "llm_unpriced_operations_total")
                  if labels["gen_ai_request_model"] == "acme-llm-9000")
        assert want > 5 and got == want
        others = sum(v for labels, v in samples(exporter, "llm_unpriced_operations_total")
                     if labels["gen_ai_request_model"] != "acme-llm-9000")
        assert others == 0, "every normal demo model has a price"
    finally:
        exporter.stop()
