"""Build OTLP requests for tests, in protobuf or OTLP-JSON form.

>>> req = traces_request([span({"gen_ai.provider.name": "openai"})])
>>> len(req.resource_spans[0].scope_spans[0].spans)
1
"""

from __future__ import annotations

import itertools
import json
import os
import time

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

_ids = itertools.count(1)
NOW = time.time_ns()


def new_trace_id() -> bytes:
    return os.urandom(16)


def any_value(v) -> common_pb2.AnyValue:
    if isinstance(v, bool):
        return common_pb2.AnyValue(bool_value=v)
    if isinstance(v, int):
        return common_pb2.AnyValue(int_value=v)
    if isinstance(v, float):
        return common_pb2.AnyValue(double_value=v)
    if isinstance(v, (list, tuple)):
        return common_pb2.AnyValue(array_value=common_pb2.ArrayValue(values=[any_value(x) for x in v]))
    if isinstance(v, dict):
        return common_pb2.AnyValue(kvlist_value=common_pb2.KeyValueList(values=kvs(v)))
    return common_pb2.AnyValue(string_value=str(v))


def kvs(d: dict) -> list:
    return [common_pb2.KeyValue(key=k, value=any_value(v)) for k, v in d.items()]


def span(attrs: dict, name: str = "chat gpt-4o", duration_s: float = 1.0, trace_id: bytes | None = None,
         span_id: bytes | None = None, parent: bytes = b"", status: int = 0, events=(), start_ns: int | None = None,
         status_message: str = ""):
    """events: (name, offset_seconds, attrs) tuples."""
    start = start_ns if start_ns is not None else NOW - int(duration_s * 1e9) - 10**9
    sp = trace_pb2.Span(
        trace_id=trace_id if trace_id is not None else new_trace_id(),
        span_id=span_id if span_id is not None else os.urandom(8),
        parent_span_id=parent, name=name, kind=3,
        start_time_unix_nano=start, end_time_unix_nano=start + int(duration_s * 1e9),
        attributes=kvs(attrs),
        events=[trace_pb2.Span.Event(name=n, time_unix_nano=start + int(off * 1e9), attributes=kvs(a))
                for n, off, a in events],
    )
    sp.status.code = status
    sp.status.message = status_message
    return sp


def traces_request(spans, resource: dict | None = None, scope: str = "test") -> trace_service_pb2.ExportTraceServiceRequest:
    res = {"service.name": "svc"} if resource is None else resource
    return trace_service_pb2.ExportTraceServiceRequest(resource_spans=[trace_pb2.ResourceSpans(
        resource={"attributes": kvs(res)},
        scope_spans=[trace_pb2.ScopeSpans(scope=common_pb2.InstrumentationScope(name=scope), spans=list(spans))],
    )])


def logs_request(records: list[tuple[bytes, bytes, dict]], resource: dict | None = None):
    """records: (trace_id, span_id, attrs) of gen_ai.evaluation.result events."""
    lrs = []
    for tid, sid, attrs in records:
        lr = logs_pb2.LogRecord(time_unix_nano=NOW, trace_id=tid, span_id=sid, attributes=kvs(attrs))
        lr.event_name = "gen_ai.evaluation.result"
        lrs.append(lr)
    return logs_service_pb2.ExportLogsServiceRequest(resource_logs=[logs_pb2.ResourceLogs(
        resource={"attributes": kvs(resource or {"service.name": "svc"})},
        scope_logs=[logs_pb2.ScopeLogs(log_records=lrs)])])


# ---- OTLP-JSON (hex ids, int64 as strings, enums as ints)

def _json_value(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, (list, tuple)):
        return {"arrayValue": {"values": [_json_value(x) for x in v]}}
    return {"stringValue": str(v)}


def to_json(req: trace_service_pb2.ExportTraceServiceRequest) -> bytes:
    out = {"resourceSpans": []}
    for rs in req.resource_spans:
        r = {"resource": {"attributes": [{"key": kv.key, "value": _pv(kv.value)} for kv in rs.resource.attributes]},
             "scopeSpans": []}
        for ss in rs.scope_spans:
            s = {"scope": {"name": ss.scope.name}, "spans": []}
            for sp in ss.spans:
                s["spans"].append({
                    "traceId": sp.trace_id.hex(), "spanId": sp.span_id.hex(),
                    "parentSpanId": sp.parent_span_id.hex(), "name": sp.name, "kind": sp.kind,
                    "startTimeUnixNano": str(sp.start_time_unix_nano), "endTimeUnixNano": str(sp.end_time_unix_nano),
                    "attributes": [{"key": kv.key, "value": _pv(kv.value)} for kv in sp.attributes],
                    "events": [{"name": e.name, "timeUnixNano": str(e.time_unix_nano),
                                "attributes": [{"key": kv.key, "value": _pv(kv.value)} for kv in e.attributes]}
                               for e in sp.events],
                    "status": {"code": sp.status.code},
                    "someFutureField": {"ignored": True},
                })
            r["scopeSpans"].append(s)
        out["resourceSpans"].append(r)
    return json.dumps(out).encode()


def _pv(v):
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return {"arrayValue": {"values": [_pv(x) for x in v.array_value.values]}}
    return _json_value(getattr(v, kind))
