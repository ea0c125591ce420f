"""What becomes approximate when one trace's spans, or its scores, reach different replicas
(docs/scaling.md, section 3), shown with in-process exporters: two replicas that each got part of a
trace, and one that got all of it."""

from __future__ import annotations

import pytest

import json
import time

import requests

from harness import make_exporter
from otlpdata import new_trace_id, span, traces_request

CALL = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 200}


def total(exp, name: str, **labels) -> float:
    return sum(s.value for fam in exp.registry.collect() for s in fam.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def post(exp, path: str, body: bytes, ctype: str) -> None:
    requests.post(exp.otlp_http_url + path, data=body, headers={"Content-Type": ctype}, timeout=10).raise_for_status()


def wait_traces_finished(*exps, expected: list[float]) -> None:
    deadline = time.time() + 10
    while time.time() < deadline:
        if [total(e, "llm_trace_operations_count") for e in exps] == expected:
            return
        time.sleep(0.1)
    raise AssertionError([total(e, "llm_trace_operations_count") for e in exps])


@pytest.mark.slow
def test_a_trace_split_over_two_replicas_is_two_partial_traces_with_the_same_totals():
    idle = {"tracking": {"trace_idle_seconds": 0.2, "conversation_idle_seconds": 0.2}}
    a, b, c, single = (make_exporter(**idle) for _ in range(4))
    try:
        trace_id = new_trace_id()
        spans = [span(CALL, trace_id=trace_id) for _ in range(4)]
        for exp, part in ((a, spans[:3]), (b, spans[3:]), (single, spans)):
            post(exp, "/v1/traces", traces_request(part).SerializeToString(), "application/x-protobuf")
        wait_traces_finished(a, b, single, expected=[1.0, 1.0, 1.0])
        # per call: exact
        for name in ("gen_ai_client_operation_duration_seconds_count", "llm_tokens_total", "llm_cost_usd_total"):
            assert abs(total(a, name) + total(b, name) - total(single, name)) < 1e-12, name
        # per trace: two partial traces, 3 + 1 operations, instead of one of 4; the cost is kept
        assert total(a, "llm_trace_operations_sum") + total(b, "llm_trace_operations_sum") == 4 == \
            total(single, "llm_trace_operations_sum")
        assert total(a, "llm_trace_operations_count") + total(b, "llm_trace_operations_count") == 2
        assert abs(total(a, "llm_trace_cost_usd_sum") + total(b, "llm_trace_cost_usd_sum")
                   - total(single, "llm_trace_cost_usd_sum")) < 1e-12
        assert total(single, "llm_trace_operations_bucket", le="4.0") == 1
        assert total(a, "llm_trace_operations_bucket", le="3.0") == 1 and total(b, "llm_trace_operations_bucket", le="1.0") == 1

        # a late score is attributed by its span, else by its trace: a replica that saw another span of
        # the trace still attributes it; one that saw nothing of the trace records `unknown`
        score = json.dumps({"scores": [{"trace_id": trace_id.hex(), "span_id": spans[0].span_id.hex(),
                                        "name": "helpfulness", "value": 0.9, "label": "pass"}]}).encode()
        for exp in (b, c, single):
            post(exp, "/v1/scores", score, "application/json")
        for exp in (b, single):
            assert total(exp, "llm_eval_score_count", service_name="svc", gen_ai_request_model="gpt-4o") == 1
        assert total(c, "llm_eval_score_count", service_name="unknown", gen_ai_request_model="unknown") == 1
        assert total(c, "llm_eval_score_count", service_name="svc") == 0
    finally:
        for exp in (a, b, c, single):
            exp.stop()
