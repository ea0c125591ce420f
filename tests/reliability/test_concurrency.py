"""Exact counting under concurrency: many senders at once over HTTP (protobuf, JSON, gzip) and
gRPC, plus the real OpenTelemetry SDK exporters, while a scraper reads /metrics throughout.

Capacity is kept small on purpose, so some requests are answered 503 / UNAVAILABLE
and retried: those must count nothing, and the successful ones exactly once.
"""

from __future__ import annotations

import threading
from bisect import bisect_left

import grpc
import pytest
import requests
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from prometheus_client.utils import floatToGoString

from .helpers import parse_scrape
from .senders import DURATION_S, Batch, Tally, genai, grpc_export, post_http, run_threads

HTTP_SENDERS, GRPC_SENDERS, SDK_SENDERS = 8, 8, 4
BATCHES_PER_SENDER, SPANS_PER_BATCH, SDK_SPANS = 15, 6, 40
L = {"gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai", "gen_ai_request_model": "gpt-4o"}


def sdk_sender(exp_obj, service: str, n: int):
    def run():
        tp = TracerProvider(resource=Resource.create({"service.name": service}))
        tp.add_span_processor(BatchSpanProcessor(exp_obj, schedule_delay_millis=5, max_export_batch_size=8))
        tracer = tp.get_tracer("app")
        for i in range(n):
            with tracer.start_as_current_span("chat gpt-4o", attributes=genai(service, i)):
                pass
        tp.shutdown()
    return run


def expected_buckets(values: list[int], bounds: list[float]) -> list[float]:
    counts = [0] * (len(bounds) + 1)
    for v in values:
        counts[bisect_left(bounds, v)] += 1
    out, acc = [], 0
    for c in counts:
        acc += c
        out.append(float(acc))
    return out


class Scraper:
    """Scrapes /metrics in a loop; checks that every counter only ever grows."""

    def __init__(self, url: str):
        self.url = url
        self.stop = threading.Event()
        self.scrapes = 0
        self.problems: list[str] = []
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        last: dict = {}
        while not self.stop.is_set():
            r = requests.get(self.url, timeout=30)
            if r.status_code != 200:
                self.problems.append(f"scrape {r.status_code}")
                continue
            now = parse_scrape(r.text)
            for key, v in now.items():
                if key[0].endswith(("_total", "_count", "_bucket")) and v < last.get(key, 0):
                    self.problems.append(f"{key} went down")
            last = now
            self.scrapes += 1


@pytest.mark.parametrize("capacity", [2, 16])
def test_concurrent_senders_are_counted_exactly(make, capacity):
    exp = make(server={"max_concurrent_requests": capacity, "retry_after_seconds": 1})
    http_tally, grpc_tally, sdk_http_tally = Tally(), Tally(), Tally()
    batches: dict[str, list[Batch]] = {}
    targets = []
    forms = ("protobuf", "json", "gzip")
    for i in range(HTTP_SENDERS):
        service = f"http-{i}"
        batches[service] = [Batch.make(service, SPANS_PER_BATCH) for _ in range(BATCHES_PER_SENDER)]

        def send_http(service=service, form=forms[i % 3]):
            with requests.Session() as s:
                for b in batches[service]:
                    body = b.json() if form == "json" else b.protobuf()
                    assert post_http(s, exp.otlp_http_url, body, form, http_tally) == 200
        targets.append(send_http)
    for i in range(GRPC_SENDERS):
        service = f"grpc-{i}"
        batches[service] = [Batch.make(service, SPANS_PER_BATCH) for _ in range(BATCHES_PER_SENDER)]

        def send_grpc(service=service):
            with grpc.insecure_channel(exp.otlp_grpc_target) as ch:
                for b in batches[service]:
                    assert grpc_export(ch, b.protobuf(), grpc_tally) == grpc.StatusCode.OK
        targets.append(send_grpc)
    sdk_services = []
    for i in range(SDK_SENDERS):
        service = f"sdk-{i}"
        sdk_services.append(service)
        if i % 2:
            exporter = GrpcSpanExporter(endpoint=exp.otlp_grpc_target, insecure=True, timeout=30)
        else:
            session = requests.Session()
            session.hooks["response"].append(lambda r, *a, **k: sdk_http_tally.add(str(r.status_code)))
            exporter = HttpSpanExporter(endpoint=exp.otlp_http_url + "/v1/traces", session=session, timeout=30)
        targets.append(sdk_sender(exporter, service, SDK_SPANS))

    scraper = Scraper(exp.metrics_url)
    scraper.thread.start()
    try:
        errors = run_threads(targets)
    finally:
        scraper.stop.set()
        scraper.thread.join(30)
    assert errors == []
    assert scraper.problems == [] and scraper.scrapes > 0

    samples = parse_scrape(requests.get(exp.metrics_url, timeout=30).text)

    def get(name: str, **labels) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    bounds = exp.cfg.metrics.token_buckets
    les = [floatToGoString(b) for b in bounds] + ["+Inf"]
    for service, bs in batches.items():
        spans = sum(len(b.spans) for b in bs)
        lab = {"service_name": service, **L}
        assert get("gen_ai_client_operation_duration_seconds_count", **lab, gen_ai_response_model="gpt-4o",
                   error_type="") == spans, service
        assert get("gen_ai_client_operation_duration_seconds_sum", **lab, gen_ai_response_model="gpt-4o",
                   error_type="") == spans * DURATION_S
        inputs = [v for b in bs for v in b.inputs]
        assert get("llm_tokens_total", **lab, gen_ai_token_type="input") == sum(inputs)
        assert get("llm_tokens_total", **lab, gen_ai_token_type="output") == sum(b.output_tokens for b in bs)
        got = [get("gen_ai_client_token_usage_bucket", **lab, gen_ai_token_type="input", le=le) for le in les]
        assert got == expected_buckets(inputs, bounds), service
        assert get("llm_request_cost_usd_count", **lab) == spans
    for service in sdk_services:
        lab = {"service_name": service, **L}
        assert get("gen_ai_client_operation_duration_seconds_count", **lab, gen_ai_response_model="gpt-4o",
                   error_type="") == SDK_SPANS, service
        inputs = [genai(service, i)["gen_ai.usage.input_tokens"] for i in range(SDK_SPANS)]
        assert get("llm_tokens_total", **lab, gen_ai_token_type="input") == sum(inputs)

    total = (HTTP_SENDERS + GRPC_SENDERS) * BATCHES_PER_SENDER * SPANS_PER_BATCH + SDK_SENDERS * SDK_SPANS
    assert sum(v for (n, _), v in samples.items() if n == "llmpulse_spans_received_total") == total
    assert get("llmpulse_spans_skipped_total", reason="duplicate") == 0
    # every answer a client saw is counted once by llmpulse, and vice versa (HTTP: raw + SDK)
    http_seen = http_tally.codes + sdk_http_tally.codes
    for code, n in http_seen.items():
        assert get("llmpulse_requests_total", transport="http", signal="traces", code=code) == n, code
    assert grpc_tally.codes["OK"] == GRPC_SENDERS * BATCHES_PER_SENDER
    assert get("llmpulse_requests_total", transport="grpc", signal="traces", code="UNAVAILABLE") \
        >= grpc_tally.codes["UNAVAILABLE"]
    # (whether a busy answer happens here depends on scheduling; test_overload.py forces them)
