"""End to end: the OpenTelemetry SDK sends to llmpulse, which forwards the spans
to a second llmpulse (a real OTLP/HTTP receiver) and call log lines to a local
Loki stand-in. Both instances must count the same; a dead sink changes nothing.

The forwarder is built by the Exporter from the `forward:` section of the config,
as `llmpulse serve --config` does.
"""

from __future__ import annotations

import json

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from llmpulse.app import Exporter
from llmpulse.config import load_config

LOOPBACK = {"host": "127.0.0.1", "otlp_http_port": 0, "otlp_grpc_port": 0, "metrics_port": 0}
L = {"service_name": "shop", "gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai",
     "gen_ai_request_model": "gpt-4o"}
SERIES = [
    ("gen_ai_client_operation_duration_seconds_count", {**L, "gen_ai_response_model": "gpt-4o",
                                                        "error_type": ""}),
    ("gen_ai_client_operation_duration_seconds_count", {**L, "gen_ai_response_model": "gpt-4o",
                                                        "error_type": "rate_limited"}),
    ("gen_ai_client_token_usage_sum", {**L, "gen_ai_token_type": "input"}),
    ("gen_ai_client_token_usage_sum", {**L, "gen_ai_token_type": "output"}),
    ("llm_cost_usd_total", L),
]


def new_exporter(forward: dict | None = None) -> Exporter:
    return Exporter(load_config(overrides={"server": LOOPBACK, "forward": forward or {}}, environ={}))


def send_calls(url: str, n_ok: int, n_err: int) -> list[str]:
    tp = TracerProvider(resource=Resource.create({"service.name": "shop"}))
    tp.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=url + "/v1/traces")))
    tracer = tp.get_tracer("app")
    trace_ids = []
    for i in range(n_ok + n_err):
        attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                 "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o",
                 "gen_ai.usage.input_tokens": 100 + i, "gen_ai.usage.output_tokens": 10}
        if i >= n_ok:
            attrs["error.type"] = "RateLimitError"
        with tracer.start_as_current_span("chat gpt-4o", attributes=attrs) as span:
            trace_ids.append(format(span.get_span_context().trace_id, "032x"))
    tp.shutdown()
    return trace_ids


def values(exporter: Exporter) -> list[float | None]:
    return [exporter.registry.get_sample_value(name, labels) for name, labels in SERIES]


@pytest.mark.live
def test_second_llmpulse_counts_the_forwarded_spans(receiver, helpers) -> None:
    downstream = new_exporter().start()
    assert downstream.forwarder is None  # no sink configured: no forwarder at all
    upstream = new_exporter({"otlp": {"endpoint": downstream.otlp_http_url},
                             "loki": {"url": receiver.url, "batch_interval_seconds": 0.05}})
    upstream.start()
    try:
        trace_ids = send_calls(upstream.otlp_http_url, n_ok=5, n_err=2)
        helpers.wait_until(lambda: helpers.metric(upstream.registry, "llmpulse_forward_sent_total",
                                                  sink="otlp") == 7, "7 requests forwarded")
        helpers.wait_until(lambda: values(downstream) == values(upstream), "downstream caught up")
        helpers.wait_until(lambda: helpers.metric(upstream.registry, "llmpulse_forward_sent_total",
                                                  sink="loki") == 7, "7 log lines pushed")
    finally:
        upstream.stop()
        downstream.stop()
    up = values(upstream)
    assert up[0] == 5 and up[1] == 2 and up[2] == sum(100 + i for i in range(7))
    lines = [json.loads(line) for r in receiver.requests
             for s in json.loads(r.body)["streams"] for _, line in s["values"]]
    assert sorted(ln["trace_id"] for ln in lines) == sorted(trace_ids)
    assert {ln["error_type"] for ln in lines} == {"", "rate_limited"}
    assert {ln.get("error_raw") for ln in lines} == {None, "RateLimitError"}     # as the span named it


@pytest.mark.live
def test_dead_sinks_change_nothing(helpers) -> None:
    reference = new_exporter().start()
    dead = f"http://127.0.0.1:{helpers.free_port()}"
    retry = {"max_retries": 1000, "backoff_initial_seconds": 0.01, "backoff_max_seconds": 0.05}
    upstream = new_exporter({"otlp": {"endpoint": dead, "queue_max_requests": 2, **retry},
                             "loki": {"url": dead, "queue_max_lines": 2,
                                      "batch_interval_seconds": 0.05, **retry}})
    fwd = upstream.forwarder
    upstream.start()
    try:
        send_calls(upstream.otlp_http_url, n_ok=6, n_err=1)
        send_calls(reference.otlp_http_url, n_ok=6, n_err=1)
        helpers.wait_until(lambda: values(upstream) == values(reference) and values(upstream)[0] == 6,
                           "upstream metrics equal a llmpulse without forwarding")
        helpers.wait_until(lambda: helpers.metric(upstream.registry, "llmpulse_forward_dropped_total",
                                                  sink="otlp", reason="queue_full") >= 1,
                           "drops counted")
    finally:
        fwd.stop(0.1)  # give up on the dead sinks at once (Exporter.stop would wait 5 s)
        upstream.stop()
        reference.stop()
    assert helpers.metric(upstream.registry, "llmpulse_forward_retries_total", sink="otlp") > 0
    assert helpers.metric(upstream.registry, "llmpulse_forward_sent_total", sink="otlp") == 0


@pytest.mark.live
def test_captured_content_reaches_loki_redacted_only(receiver, helpers) -> None:
    from prometheus_client import generate_latest

    upstream = new_exporter({"loki": {"url": receiver.url, "batch_interval_seconds": 0.05,
                                      "content": {"enabled": True, "sample_rate": 0.0}}})
    upstream.start()
    secrets = ["carol@example.com", "sk-proj-Abc123Def456Ghi789Jkl012Mno345Pqr678", "4111 1111 1111 1111"]
    try:
        tp = TracerProvider(resource=Resource.create({"service.name": "shop"}))
        tp.add_span_processor(SimpleSpanProcessor(
            OTLPSpanExporter(endpoint=upstream.otlp_http_url + "/v1/traces")))
        tracer = tp.get_tracer("app")
        for _i, error in enumerate([True, False]):
            attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                     "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 10,
                     "gen_ai.usage.output_tokens": 5,
                     "gen_ai.input.messages": f"I am {secrets[0]}, key {secrets[1]}, card {secrets[2]}",
                     "gen_ai.output.messages": "Thanks, carol@example.com"}
            if error:
                attrs["error.type"] = "RateLimitError"
            with tracer.start_as_current_span("chat gpt-4o", attributes=attrs):
                pass
        tp.shutdown()
        helpers.wait_until(lambda: helpers.metric(upstream.registry, "llmpulse_forward_sent_total",
                                                  sink="loki") == 2, "2 log lines pushed")
        scrape = generate_latest(upstream.registry).decode()
    finally:
        upstream.stop()
    pushed = b"".join(r.body for r in receiver.requests).decode()
    for secret in secrets:
        assert secret not in pushed
        assert secret not in scrape
    lines = [json.loads(line) for r in receiver.requests
             for s in json.loads(r.body)["streams"] for _, line in s["values"]]
    kept = [ln for ln in lines if "prompt" in ln]
    assert len(kept) == 1 and kept[0]["error_type"] == "rate_limited"  # sample_rate 0: errors only
    assert kept[0]["prompt"] == ("I am [REDACTED:email], key [REDACTED:api_key], "
                                 "card [REDACTED:card]")
    assert kept[0]["completion"] == "Thanks, [REDACTED:email]"


@pytest.mark.live
def test_content_stays_out_by_default(receiver, helpers) -> None:
    upstream = new_exporter({"loki": {"url": receiver.url, "batch_interval_seconds": 0.05}})
    assert upstream.pipeline.normalizer.capture_content is False
    upstream.start()
    try:
        tp = TracerProvider(resource=Resource.create({"service.name": "shop"}))
        tp.add_span_processor(SimpleSpanProcessor(
            OTLPSpanExporter(endpoint=upstream.otlp_http_url + "/v1/traces")))
        with tp.get_tracer("app").start_as_current_span("chat gpt-4o", attributes={
                "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o", "error.type": "Boom",
                "gen_ai.input.messages": "secret plan for dave@example.com"}):
            pass
        tp.shutdown()
        helpers.wait_until(lambda: helpers.metric(upstream.registry, "llmpulse_forward_sent_total",
                                                  sink="loki") == 1, "1 log line pushed")
    finally:
        upstream.stop()
    pushed = b"".join(r.body for r in receiver.requests).decode()
    assert "secret plan" not in pushed and "dave@example.com" not in pushed
    assert '\\"prompt\\"' not in pushed
