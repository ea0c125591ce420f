"""A dead or hung sink never blocks ingestion or scrapes.

Tempo (forward.otlp) and Loki (forward.loki) both point at a port that accepts
connections and never answers a byte. While the sinks hang, every ingest
request (HTTP and gRPC) and every scrape must complete; we count completions
rather than time them. The metrics must equal those of an exporter without
forwarding, and the overflow must be visible as drops, not as growing queues.
"""

from __future__ import annotations

import grpc
import pytest
import requests

from .helpers import BlackHole, delta, scrape, wait_until
from .senders import Batch, Tally, grpc_export, post_http

HTTP_REQUESTS, GRPC_REQUESTS, SCRAPE_EVERY = 60, 30, 4
QUEUE = 4                      # forward queue bound, items


@pytest.fixture
def hole():
    h = BlackHole()
    yield h
    h.close()


def test_hung_sinks_block_neither_ingestion_nor_scrapes(make, hole):
    slow = {"timeout_seconds": 5, "max_retries": 1000, "backoff_initial_seconds": 0.01, "backoff_max_seconds": 0.05}
    exp = make(forward={"otlp": {"endpoint": hole.url, "queue_max_requests": QUEUE, **slow},
                        "loki": {"url": hole.url, "queue_max_lines": QUEUE, "batch_interval_seconds": 0.01, **slow}})
    ref = make()
    batches = [Batch.make(f"svc-{i % 3}", 3) for i in range(HTTP_REQUESTS + GRPC_REQUESTS)]
    tally = Tally()
    completed = {"http": 0, "grpc": 0, "scrape": 0}
    with requests.Session() as s, grpc.insecure_channel(exp.otlp_grpc_target) as ch:
        # the sinks are hanging before the bulk of the traffic arrives
        assert post_http(s, exp.otlp_http_url, batches[0].protobuf(), "protobuf", tally) == 200
        completed["http"] += 1
        wait_until(lambda: len(hole.accepted) >= 2 and hole.received > 0, "both sinks connected and sent")
        for i, b in enumerate(batches[1:], start=1):
            if i < HTTP_REQUESTS:
                assert post_http(s, exp.otlp_http_url, b.protobuf(), "protobuf", tally) == 200
                completed["http"] += 1
            else:
                assert grpc_export(ch, b.protobuf(), tally) == grpc.StatusCode.OK
                completed["grpc"] += 1
            if i % SCRAPE_EVERY == 0:
                assert requests.get(exp.metrics_url, timeout=30).status_code == 200
                completed["scrape"] += 1
    scrapes = (HTTP_REQUESTS + GRPC_REQUESTS - 1) // SCRAPE_EVERY
    assert completed == {"http": HTTP_REQUESTS, "grpc": GRPC_REQUESTS, "scrape": scrapes}
    for b in batches:
        with requests.Session() as s:
            post_http(s, ref.otlp_http_url, b.protobuf(), "protobuf", Tally())

    got, want = scrape(exp.metrics_url), scrape(ref.metrics_url)

    def own(name):
        return name.startswith("llmpulse_")
    assert delta({}, got, own) == delta({}, want, own)      # identical user-facing metrics
    reg = exp.registry
    for sink in ("otlp", "loki"):
        assert reg.get_sample_value("llmpulse_forward_sent_total", {"sink": sink}) == 0
        assert reg.get_sample_value("llmpulse_forward_queue_length", {"sink": sink}) <= QUEUE
        assert reg.get_sample_value("llmpulse_forward_dropped_total", {"sink": sink, "reason": "queue_full"}) > 0
    assert hole.received > 0          # the sinks did send; the black hole never answered
