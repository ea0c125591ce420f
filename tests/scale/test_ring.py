"""The test router's ring behaves as the Collector's loadbalancing exporter documents."""

from __future__ import annotations

import pytest

import random
import zlib
from collections import Counter

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ring import MAX_POSITIONS, HashRing, split_traces

ENDPOINTS = ["10.0.0.1:4317", "10.0.0.2:4317", "10.0.0.3:4317"]


def ids(n: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.getrandbits(128).to_bytes(16, "big") for _ in range(n)]


def test_a_trace_goes_to_the_first_position_at_or_after_its_hash():
    ring = HashRing(ENDPOINTS)
    positions = sorted({zlib.crc32(e.encode() + bytes([i])) % MAX_POSITIONS: e
                        for e in reversed(ENDPOINTS) for i in reversed(range(100))}.items())
    for trace_id in ids(200):
        h = zlib.crc32(trace_id) % MAX_POSITIONS
        expected = next((e for p, e in positions if p >= h), positions[0][1])
        assert ring.endpoint_for(trace_id) == expected


@pytest.mark.slow
def test_load_is_spread_and_order_of_endpoints_does_not_matter():
    counts = Counter(HashRing(ENDPOINTS).endpoint_for(t) for t in ids(30000))
    assert set(counts) == set(ENDPOINTS)
    assert all(0.2 < c / 30000 < 0.47 for c in counts.values()), counts
    reordered = HashRing(list(reversed(ENDPOINTS)))
    assert all(reordered.endpoint_for(t) == HashRing(ENDPOINTS).endpoint_for(t) for t in ids(500))


def test_removing_an_endpoint_moves_only_its_traces():
    full, smaller = HashRing(ENDPOINTS), HashRing(ENDPOINTS[:2])
    moved = [t for t in ids(5000) if full.endpoint_for(t) != smaller.endpoint_for(t)]
    assert moved and all(full.endpoint_for(t) == ENDPOINTS[2] for t in moved)


def test_split_keeps_every_span_with_its_resource_and_scope():
    req = ExportTraceServiceRequest()
    for svc in ("a", "b"):
        rs = req.resource_spans.add()
        kv = rs.resource.attributes.add(key="service.name")
        kv.value.string_value = svc
        ss = rs.scope_spans.add()
        ss.scope.name = "scope-" + svc
        for trace_id in ids(40, seed=ord(svc)):
            span = ss.spans.add(trace_id=trace_id, span_id=trace_id[:8], name=svc)
            assert span
    parts = split_traces(req, HashRing(ENDPOINTS))
    seen = []
    for endpoint, part in parts.items():
        for rs in part.resource_spans:
            svc = rs.resource.attributes[0].value.string_value
            for ss in rs.scope_spans:
                assert ss.scope.name == "scope-" + svc
                for span in ss.spans:
                    assert span.name == svc and HashRing(ENDPOINTS).endpoint_for(span.trace_id) == endpoint
                    seen.append(span.trace_id)
    assert sorted(seen) == sorted(s.trace_id for rs in req.resource_spans for ss in rs.scope_spans for s in ss.spans)
