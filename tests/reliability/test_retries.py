"""Retries do not double count: a span seen again within the dedupe window (by trace and span
id) is acknowledged, not counted, and counted under llmpulse_spans_skipped_total{reason="duplicate"}.

The SDK cases put a fault-injecting proxy between the real OpenTelemetry exporter and
llmpulse: it forwards the first request, so llmpulse counts it, then loses the answer
(HTTP 504 Gateway Timeout / gRPC UNAVAILABLE, as a load balancer does when the upstream
is slow). The SDK retries the same batch; llmpulse must count it once.
"""

from __future__ import annotations

import os
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import requests
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from llmpulse.grpc_server import TRACE_SERVICE

from .helpers import scrape
from .senders import Batch, Tally, genai, grpc_export, post_http, run_threads

L = {"gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai", "gen_ai_request_model": "gpt-4o"}


def count(exp, service: str) -> float:
    return exp.registry.get_sample_value("gen_ai_client_operation_duration_seconds_count", {
        "service_name": service, **L, "gen_ai_response_model": "gpt-4o", "error_type": ""}) or 0.0


def duplicates(exp) -> float:
    return exp.registry.get_sample_value("llmpulse_spans_skipped_total", {"reason": "duplicate"}) or 0.0


def test_same_batch_over_http_json_gzip_and_grpc_is_counted_once(make):
    exp = make()
    b = Batch.make("resent", 5)
    tally = Tally()
    with requests.Session() as s:
        for form in ("protobuf", "json", "gzip"):
            body = b.json() if form == "json" else b.protobuf()
            assert post_http(s, exp.otlp_http_url, body, form, tally) == 200
    with grpc.insecure_channel(exp.otlp_grpc_target) as ch:
        assert grpc_export(ch, b.protobuf(), tally) == grpc.StatusCode.OK
    assert count(exp, "resent") == 5
    assert duplicates(exp) == 15
    assert exp.registry.get_sample_value("llm_tokens_total", {"service_name": "resent", **L,
                                                              "gen_ai_token_type": "input"}) == b.input_tokens


def test_a_batch_resent_by_many_clients_at_once_is_counted_once(make):
    exp = make(server={"max_concurrent_requests": 32})
    b = Batch.make("storm", 8)
    body = b.protobuf()
    tally = Tally()

    def resend():
        with requests.Session() as s:
            assert post_http(s, exp.otlp_http_url, body, "protobuf", tally) == 200

    assert run_threads([resend] * 24) == []
    assert count(exp, "storm") == 8
    assert duplicates(exp) == 8 * 23


def test_partly_new_batch_counts_only_the_new_spans(make):
    exp = make()
    old, new = Batch.make("mixed", 3), Batch.make("mixed", 2)
    tally = Tally()
    with requests.Session() as s:
        post_http(s, exp.otlp_http_url, old.protobuf(), "protobuf", tally)
        both = Batch("mixed", old.spans + new.spans, 0, 0)
        post_http(s, exp.otlp_http_url, both.protobuf(), "protobuf", tally)
    assert count(exp, "mixed") == 5 and duplicates(exp) == 3


def test_dedupe_window_is_bounded(make):
    """The window holds tracking.dedupe_spans ids: memory is bounded, and a resend older than
    the window is counted again (documented in docs/reliability.md)."""
    exp = make(tracking={"dedupe_spans": 10, "trace_idle_seconds": 3600, "conversation_idle_seconds": 3600})
    first = Batch.make("window", 1)
    tally = Tally()
    with requests.Session() as s:
        post_http(s, exp.otlp_http_url, first.protobuf(), "protobuf", tally)
        for _ in range(3):
            post_http(s, exp.otlp_http_url, Batch.make("window", 5).protobuf(), "protobuf", tally)
        assert len(exp.pipeline.dedupe.keys) == 10
        post_http(s, exp.otlp_http_url, first.protobuf(), "protobuf", tally)
    assert count(exp, "window") == 1 + 15 + 1 and duplicates(exp) == 0


# ---- the real SDK behind a proxy that loses the first answer

class LosingHttpProxy:
    """Forwards POSTs to llmpulse; answers the first one 504 although llmpulse took it."""

    def __init__(self, upstream: str):
        self.forwarded = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "content-encoding")}
                r = requests.post(upstream + self.path, data=body, headers=headers, timeout=30)
                with proxy.lock:
                    proxy.forwarded += 1
                    lose = proxy.forwarded == 1
                status, payload = (504, b"") if lose else (r.status_code, r.content)
                self.send_response(status)
                self.send_header("Content-Type", r.headers.get("Content-Type", "text/plain"))
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class LosingGrpcProxy:
    """Forwards TraceService/Export to llmpulse; the first answer becomes UNAVAILABLE."""

    def __init__(self, upstream: str):
        self.forwarded = 0
        self.lock = threading.Lock()
        self.channel = grpc.insecure_channel(upstream)
        call = self.channel.unary_unary(f"/{TRACE_SERVICE}/Export", request_serializer=None,
                                        response_deserializer=None)

        def export(body, context):
            reply = call(body, timeout=30)
            with self.lock:
                self.forwarded += 1
                lose = self.forwarded == 1
            if lose:
                context.abort(grpc.StatusCode.UNAVAILABLE, "upstream answer lost")
            return reply

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(TRACE_SERVICE, {
            "Export": grpc.unary_unary_rpc_method_handler(export)}),))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.target = f"127.0.0.1:{self.port}"
        self.server.start()

    def stop(self):
        self.server.stop(0).wait()
        self.channel.close()


def emit(exporter, service: str, n: int) -> None:
    tp = TracerProvider(resource=Resource.create({"service.name": service}))
    tp.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=60_000, max_export_batch_size=512))
    tracer = tp.get_tracer("app")
    for i in range(n):
        with tracer.start_as_current_span("chat gpt-4o", attributes=genai(service, i)):
            pass
    tp.shutdown()          # one export of all n spans; the SDK retries it after the lost answer


def test_sdk_http_retry_after_a_lost_answer_is_counted_once(make):
    exp = make()
    proxy = LosingHttpProxy(exp.otlp_http_url)
    try:
        emit(HttpSpanExporter(endpoint=proxy.url + "/v1/traces", timeout=30), "sdk-http-retry", 7)
    finally:
        proxy.stop()
    assert proxy.forwarded == 2                        # the batch reached llmpulse twice
    assert count(exp, "sdk-http-retry") == 7
    assert duplicates(exp) == 7


def test_sdk_grpc_retry_after_a_lost_answer_is_counted_once(make):
    exp = make()
    proxy = LosingGrpcProxy(exp.otlp_grpc_target)
    try:
        emit(GrpcSpanExporter(endpoint=proxy.target, insecure=True, timeout=30), "sdk-grpc-retry", 7)
    finally:
        proxy.stop()
    assert proxy.forwarded == 2
    assert count(exp, "sdk-grpc-retry") == 7
    assert duplicates(exp) == 7
    samples = scrape(exp.metrics_url)
    assert samples[("llmpulse_requests_total", (("code", "OK"), ("signal", "traces"), ("transport", "grpc")))] == 2


def test_trace_level_histograms_are_not_inflated_by_resends(make):
    exp = make(tracking={"trace_idle_seconds": 0.2, "conversation_idle_seconds": 0.2})
    tid = os.urandom(16)
    b = Batch.make("agent", 3)
    for sp in b.spans:
        sp.trace_id = tid
    tally = Tally()
    with requests.Session() as s:
        for _ in range(3):
            post_http(s, exp.otlp_http_url, b.protobuf(), "protobuf", tally)
    from .helpers import wait_until
    wait_until(lambda: exp.registry.get_sample_value("llm_trace_operations_count", {"service_name": "agent"}),
               "the trace is observed once idle")
    assert exp.registry.get_sample_value("llm_trace_operations_sum", {"service_name": "agent"}) == 3
    assert exp.registry.get_sample_value("llm_trace_operations_count", {"service_name": "agent"}) == 1
