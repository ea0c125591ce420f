"""Forwarding through the running exporter: a second llmpulse receives the spans intact."""

import time

import requests

from harness import make_exporter
from otlpdata import span, traces_request

GENAI = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
         "gen_ai.usage.input_tokens": 50, "gen_ai.usage.output_tokens": 5}


def test_spans_forwarded_to_a_second_llmpulse_arrive_intact():
    downstream = make_exporter()
    upstream = make_exporter(forward={"otlp": {"endpoint": downstream.otlp_http_url}})
    try:
        body = traces_request([span(GENAI) for _ in range(4)] + [span({"http.request.method": "GET"}, name="GET")],
                              resource={"service.name": "fwd"}).SerializeToString()
        r = requests.post(upstream.otlp_http_url + "/v1/traces", data=body,
                          headers={"Content-Type": "application/x-protobuf"})
        assert r.status_code == 200
        labels = {"service_name": "fwd", "gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai",
                  "gen_ai_request_model": "gpt-4o-mini", "gen_ai_token_type": "input"}
        deadline = time.time() + 30
        while time.time() < deadline and downstream.registry.get_sample_value("llm_tokens_total", labels) != 200:
            time.sleep(0.05)
        for exp in (upstream, downstream):
            assert exp.registry.get_sample_value("llm_tokens_total", labels) == 200
            assert exp.registry.get_sample_value("llmpulse_spans_skipped_total", {"reason": "non_genai"}) == 1
        # the upstream counts a request as sent once the downstream's answer is back
        while time.time() < deadline and not upstream.registry.get_sample_value(
                "llmpulse_forward_sent_total", {"sink": "otlp"}):
            time.sleep(0.05)
        assert upstream.registry.get_sample_value("llmpulse_forward_sent_total", {"sink": "otlp"}) == 1
    finally:
        upstream.stop()
        downstream.stop()
