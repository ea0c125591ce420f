"""The real OpenTelemetry Python SDK, with its OTLP exporters (HTTP and gRPC), sending to a running llmpulse."""

import time

import pytest
import requests
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode
from prometheus_client.openmetrics.parser import text_string_to_metric_families


def emit(exporter_obj, service: str) -> dict:
    """Send a realistic little agent trace; return the ids used."""
    tp = TracerProvider(resource=Resource.create({"service.name": service, "service.version": "3.1.0"}))
    tp.add_span_processor(BatchSpanProcessor(exporter_obj, schedule_delay_millis=50))
    tracer = tp.get_tracer("app")
    with tracer.start_as_current_span("invoke_agent planner", attributes={
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner",
            "gen_ai.provider.name": "anthropic"}):
        for i in range(3):
            # started a second ago: a TTFT of 0.5 s fits inside the call (a longer one is bounded by it)
            with tracer.start_as_current_span("chat claude-sonnet-4-5", start_time=time.time_ns() - 10**9, attributes={
                    "gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic",
                    "gen_ai.request.model": "claude-sonnet-4-5", "gen_ai.response.model": "claude-sonnet-4-5-20250929",
                    "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 100,
                    "gen_ai.usage.cache_read.input_tokens": 600, "gen_ai.request.stream": True,
                    "gen_ai.response.time_to_first_chunk": 0.5, "gen_ai.response.finish_reasons": ["end_turn"],
                    "gen_ai.conversation.id": f"{service}-conv"}) as sp:
                sp.add_event("gen_ai.evaluation.result", {"gen_ai.evaluation.name": "relevance",
                                                          "gen_ai.evaluation.score.value": 0.5 + i * 0.1,
                                                          "gen_ai.evaluation.score.label": "pass"})
        with tracer.start_as_current_span("execute_tool search", attributes={
                "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"}) as sp:
            sp.set_status(Status(StatusCode.ERROR))
            sp.set_attribute("error.type", "TimeoutError")
    tp.shutdown()


@pytest.mark.parametrize("transport", ["http", "http-gzip", "grpc"])
def test_sdk_spans_become_exact_metrics(exporter, transport):
    service = f"agent-{transport}"
    if transport == "grpc":
        exp = GrpcExporter(endpoint=exporter.otlp_grpc_target, insecure=True)
    else:
        exp = HttpExporter(endpoint=exporter.otlp_http_url + "/v1/traces",
                           compression=Compression.Gzip if transport == "http-gzip" else Compression.NoCompression)
    emit(exp, service)
    deadline = time.time() + 3
    while time.time() < deadline and not exporter.registry.get_sample_value(
            "llm_trace_operations_count", {"service_name": service}):
        time.sleep(0.1)

    get = exporter.registry.get_sample_value
    L = {"service_name": service, "gen_ai_operation_name": "chat", "gen_ai_provider_name": "anthropic",
         "gen_ai_request_model": "claude-sonnet-4-5"}
    assert get("gen_ai_client_operation_duration_seconds_count",
               {**L, "gen_ai_response_model": "claude-sonnet-4-5-20250929", "error_type": ""}) == 3
    assert get("gen_ai_client_token_usage_sum", {**L, "gen_ai_token_type": "input"}) == 3000
    assert get("gen_ai_client_token_usage_count", {**L, "gen_ai_token_type": "output"}) == 3
    assert get("llm_tokens_total", {**L, "gen_ai_token_type": "cache_read"}) == 1800
    assert get("gen_ai_client_operation_time_to_first_chunk_seconds_count", L) == 3
    assert get("gen_ai_client_operation_time_to_first_chunk_seconds_sum", L) == pytest.approx(1.5)
    assert get("llm_finish_reasons_total", {**L, "gen_ai_response_finish_reason": "stop"}) == 3
    # claude-sonnet-4-5 list price: 3 in, 15 out, 0.30 cache read per million tokens
    one = (400 * 3.0 + 600 * 0.30 + 100 * 15.0) / 1e6
    assert get("llm_cost_usd_total", L) == pytest.approx(3 * one)
    assert get("llm_request_cost_usd_count", L) == 3
    assert get("llm_eval_score_count", {"service_name": service, "gen_ai_request_model": "claude-sonnet-4-5",
                                        "gen_ai_evaluation_name": "relevance"}) == 3
    assert get("llm_eval_score_sum", {"service_name": service, "gen_ai_request_model": "claude-sonnet-4-5",
                                      "gen_ai_evaluation_name": "relevance"}) == pytest.approx(1.8)
    assert get("llm_tool_calls_total", {"service_name": service, "gen_ai_tool_name": "search",
                                        "error_type": "timeout"}) == 1
    assert get("gen_ai_client_operation_duration_seconds_count",
               {"service_name": service, "gen_ai_operation_name": "invoke_agent", "gen_ai_provider_name": "anthropic",
                "gen_ai_request_model": "", "gen_ai_response_model": "", "error_type": ""}) == 1
    assert get("llm_trace_operations_sum", {"service_name": service}) == 3
    assert get("llm_trace_cost_usd_sum", {"service_name": service}) == pytest.approx(3 * one)
    assert get("llm_deployment_info", {**L, "service_version": "3.1.0", "prompt_version": ""}) == 1
    assert get("llmpulse_spans_received_total", {"dialect": "otel"}) == 5


def test_openmetrics_scrape_carries_exemplars_and_text_does_not(exporter):
    emit(HttpExporter(endpoint=exporter.otlp_http_url + "/v1/traces"), "ex")
    om = requests.get(exporter.metrics_url, headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert om.headers["Content-Type"].startswith("application/openmetrics-text")
    exemplars = [s.exemplar for fam in text_string_to_metric_families(om.text) for s in fam.samples
                 if fam.name == "gen_ai_client_operation_duration_seconds" and s.exemplar]
    assert exemplars and all(len(e.labels["trace_id"]) == 32 and len(e.labels["span_id"]) == 16 for e in exemplars)
    plain = requests.get(exporter.metrics_url)
    assert plain.headers["Content-Type"].startswith("text/plain") and "# {" not in plain.text
    assert "gen_ai_client_operation_duration_seconds_bucket" in plain.text
