"""What the OpenTelemetry Collector's `loadbalancing` exporter does, for tests of a fleet.

Written from the exporter's documented behaviour (README and consistent_hashing.go in
opentelemetry-collector-contrib, exporter/loadbalancingexporter): each backend endpoint
("host:port", the list kept sorted) takes 100 positions on a ring of 36,000, position i being
CRC-32 (IEEE) of the endpoint's bytes followed by the byte i, modulo 36,000 (a position already
taken is skipped); a trace goes to the first endpoint at or after CRC-32 of its 16 trace-id bytes
modulo 36,000, wrapping around. With `routing_key: traceID` spans and log records are split by
trace id. When the resolver's list changes the ring is rebuilt, and about 1/N of the traces move.

>>> ring = HashRing(["10.0.0.1:4317", "10.0.0.2:4317", "10.0.0.3:4317"])
>>> ring.endpoint_for(bytes(16)) in ring.endpoints
True
"""

from __future__ import annotations

import bisect
import json
import zlib
from typing import Iterable

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

MAX_POSITIONS = 36000
WEIGHT = 100


class HashRing:
    """The Collector's consistent-hash ring over endpoint names."""

    def __init__(self, endpoints: Iterable[str]):
        self.endpoints = sorted(endpoints)
        taken: dict[int, str] = {}
        for endpoint in self.endpoints:
            for i in range(WEIGHT):
                pos = zlib.crc32(endpoint.encode() + bytes([i])) % MAX_POSITIONS
                taken.setdefault(pos, endpoint)
        self._positions = sorted(taken)
        self._owners = [taken[p] for p in self._positions]

    def endpoint_for(self, key: bytes) -> str:
        if not self._positions:
            raise LookupError("no endpoints")
        pos = zlib.crc32(key) % MAX_POSITIONS
        i = bisect.bisect_left(self._positions, pos)
        return self._owners[i % len(self._owners)]


def split_traces(request: ExportTraceServiceRequest, ring: HashRing) -> dict[str, ExportTraceServiceRequest]:
    """One request per endpoint, each span under a copy of its resource and scope."""
    out: dict[str, ExportTraceServiceRequest] = {}
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            for span in ss.spans:
                endpoint = ring.endpoint_for(span.trace_id)
                req = out.setdefault(endpoint, ExportTraceServiceRequest())
                if not req.resource_spans or req.resource_spans[-1].resource != rs.resource \
                        or req.resource_spans[-1].schema_url != rs.schema_url:
                    target = req.resource_spans.add(schema_url=rs.schema_url)
                    target.resource.CopyFrom(rs.resource)
                target = req.resource_spans[-1]
                if not target.scope_spans or target.scope_spans[-1].scope != ss.scope:
                    target.scope_spans.add().scope.CopyFrom(ss.scope)
                target.scope_spans[-1].spans.add().CopyFrom(span)
    return out


def split_logs(request: ExportLogsServiceRequest, ring: HashRing) -> dict[str, ExportLogsServiceRequest]:
    """Log records by their trace id (evaluation results follow their trace)."""
    out: dict[str, ExportLogsServiceRequest] = {}
    for rl in request.resource_logs:
        for sl in rl.scope_logs:
            for record in sl.log_records:
                endpoint = ring.endpoint_for(bytes(record.trace_id))
                req = out.setdefault(endpoint, ExportLogsServiceRequest())
                if not req.resource_logs or req.resource_logs[-1].resource != rl.resource:
                    req.resource_logs.add().resource.CopyFrom(rl.resource)
                target = req.resource_logs[-1]
                if not target.scope_logs or target.scope_logs[-1].scope != sl.scope:
                    target.scope_logs.add().scope.CopyFrom(sl.scope)
                target.scope_logs[-1].log_records.add().CopyFrom(record)
    return out


def split_scores(scores: list[dict], ring: HashRing) -> dict[str, list[dict]]:
    """/v1/scores items by trace id, as a trace-aware router would send them."""
    out: dict[str, list[dict]] = {}
    for item in scores:
        out.setdefault(ring.endpoint_for(bytes.fromhex(item["trace_id"])), []).append(item)
    return out


def scores_body(scores: list[dict]) -> bytes:
    return json.dumps({"scores": scores}, separators=(",", ":")).encode()
