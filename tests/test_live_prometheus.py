"""Debian's real Prometheus scrapes a real llmpulse fed by `llmpulse demo`."""

import time

import pytest

pytestmark = pytest.mark.live


def test_metrics_reach_prometheus_with_contract_labels(live_prometheus):
    series = live_prometheus.api("series", **{"match[]": "gen_ai_client_operation_duration_seconds_count"})
    assert series
    for s in series:
        assert {"service_name", "gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model",
                "gen_ai_response_model", "error_type", "job", "instance"} >= set(s) - {"__name__"}
    providers = {r["metric"]["gen_ai_provider_name"] for r in live_prometheus.query(
        "sum by (gen_ai_provider_name) (llm_tokens_total)")}
    assert {"openai", "anthropic", "gcp.gemini"} <= providers
    assert live_prometheus.query("sum(rate(llm_cost_usd_total[1m])) > 0")


def test_exemplars_found_through_query_exemplars(live_prometheus):
    end = time.time()
    data = []
    deadline = end + 20
    while not data and time.time() < deadline:
        data = live_prometheus.api("query_exemplars", query="gen_ai_client_operation_duration_seconds_bucket",
                                   start=str(end - 300), end=str(time.time()))
        time.sleep(0.5)
    assert data, "no exemplars stored"
    exemplars = [e for series in data for e in series["exemplars"]]
    assert all(len(e["labels"]["trace_id"]) == 32 for e in exemplars)
    assert any("span_id" in e["labels"] for e in exemplars)
    # the exemplar carries the series labels, so a panel can open the trace of a slow model
    assert all("service_name" in s["seriesLabels"] for s in data)
    assert any("gen_ai_request_model" in s["seriesLabels"] for s in data)


def test_no_identifier_ever_becomes_a_label(live_prometheus):
    names = set(live_prometheus.api("labels"))
    assert not names & {"trace_id", "span_id", "session_id", "conversation_id", "user_id", "user", "prompt"}
