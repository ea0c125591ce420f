"""Benchmark payloads: realistic demo traffic regrouped into requests of an exact size, and synthetic chat spans.

Every body is distinct (trace and span ids and response ids are rewritten per
copy), so neither the exporter's resend filter nor its one-count-per-response
rule turns a benchmark request into cheap duplicates.

>>> pool = SpanPool(seed=1, calls=20)
>>> bodies = pool.bodies(batch=4, count=3, fmt="protobuf")
>>> len(bodies), len(set(bodies))
(3, 3)
>>> len(synthetic(2, lambda i: f"m{i}", 0).resource_spans[0].scope_spans[0].spans)
2
"""

from __future__ import annotations

import time
from collections.abc import Callable

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from llmpulse.demo import otlp_json
from llmpulse.demo.traffic import Traffic

FORMATS = ("protobuf", "json")


class SpanPool:
    """All spans of a few demo batches, flattened as (resource, scope, span) for regrouping."""

    def __init__(self, seed: int = 1, calls: int = 2000, now_ns: int | None = None):
        now_ns = now_ns or time.time_ns()
        traffic = Traffic(seed=seed)
        self.items: list[tuple[ResourceSpans, ScopeSpans, Span]] = []
        left = calls
        while left > 0:
            n = min(left, 200)
            req = traffic.batch(n, now_ns).traces
            for rs in req.resource_spans:
                for ss in rs.scope_spans:
                    for sp in ss.spans:
                        self.items.append((rs, ss, sp))
            left -= n
        self.copy = 0          # every request built gets ids no earlier request had
        self.cursor = 0

    def request(self, batch: int) -> ExportTraceServiceRequest:
        """The next `batch` spans of the pool as one request, with fresh ids."""
        self.copy += 1
        tag = self.copy.to_bytes(4, "big")
        req = ExportTraceServiceRequest()
        groups: dict[tuple[int, int], ScopeSpans] = {}
        for _ in range(batch):
            rs, ss, sp = self.items[self.cursor]
            self.cursor = (self.cursor + 1) % len(self.items)
            group = groups.get((id(rs), id(ss)))
            if group is None:
                out_rs = req.resource_spans.add()
                out_rs.resource.CopyFrom(rs.resource)
                group = groups[(id(rs), id(ss))] = out_rs.scope_spans.add()
                group.scope.CopyFrom(ss.scope)
            out = group.spans.add()
            out.CopyFrom(sp)
            out.trace_id = tag + sp.trace_id[4:]
            out.span_id = tag + sp.span_id[4:]
            if sp.parent_span_id:
                out.parent_span_id = tag + sp.parent_span_id[4:]
            for kv in out.attributes:       # a response counts once: every copy is another response
                if kv.key == "gen_ai.response.id":
                    kv.value.string_value = f"{kv.value.string_value}-{self.copy}"
        return req

    def bodies(self, batch: int, count: int, fmt: str) -> list[bytes]:
        return [encode(self.request(batch), fmt) for _ in range(count)]


def encode(req: ExportTraceServiceRequest, fmt: str) -> bytes:
    return otlp_json.dumps(req) if fmt == "json" else req.SerializeToString()


def content_type(fmt: str) -> str:
    return "application/json" if fmt == "json" else "application/x-protobuf"


def _kv(key: str, value) -> KeyValue:
    if isinstance(value, bool):
        v = AnyValue(bool_value=value)
    elif isinstance(value, int):
        v = AnyValue(int_value=value)
    elif isinstance(value, float):
        v = AnyValue(double_value=value)
    else:
        v = AnyValue(string_value=str(value))
    return KeyValue(key=key, value=v)


def synthetic(n: int, model: Callable[[int], str], first_id: int, service: str = "bench-app",
              now_ns: int | None = None) -> ExportTraceServiceRequest:
    """n OTel-convention chat spans (one per trace); span i uses model(first_id + i).

    With a fixed service, operation and provider, the number of distinct models
    is the number of active label sets.
    """
    now_ns = now_ns or time.time_ns()
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.extend([_kv("service.name", service), _kv("service.version", "1.0.0")])
    ss = rs.scope_spans.add()
    ss.scope.name = "opentelemetry.instrumentation.openai_v2"
    spans = ss.spans
    for i in range(n):
        k = first_id + i
        m = model(k)
        sp = spans.add()
        sp.trace_id = (k + 1).to_bytes(16, "big")
        sp.span_id = (k + 1).to_bytes(8, "big")
        sp.name = f"chat {m}"
        sp.kind = Span.SPAN_KIND_CLIENT
        sp.start_time_unix_nano = now_ns - 900_000_000 - (k % 7) * 10_000_000
        sp.end_time_unix_nano = now_ns
        sp.attributes.extend([
            _kv("gen_ai.operation.name", "chat"), _kv("gen_ai.provider.name", "openai"),
            _kv("gen_ai.request.model", m), _kv("gen_ai.response.model", m),
            _kv("gen_ai.usage.input_tokens", 100 + k % 900), _kv("gen_ai.usage.output_tokens", 20 + k % 300),
            _kv("gen_ai.response.finish_reasons", "stop"), _kv("server.address", "api.openai.com"),
            _kv("gen_ai.request.temperature", 0.2),
        ])
    return req
