"""The C trace decoder (`llmpulse._otlpwire`), configured from the installed OTLP descriptors.

`load()` returns the configured module, or None when it was not built (no C
compiler at install time) or when the installed opentelemetry-proto has a shape
it does not know; `llmpulse.otlp` then decodes with upb and Python, with the
same results. `reason` says which.

>>> t = table()
>>> t[MESSAGES.index("Span")][9] == (MESSAGE, MESSAGES.index("KeyValue"))
True
"""

from __future__ import annotations

import os

from google.protobuf.descriptor import FieldDescriptor as F
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

# Field kinds, as the C side numbers them.
VARINT, FIXED64, FIXED32, STRING, BYTES, MESSAGE = 1, 2, 3, 4, 5, 6
_KIND = {
    F.TYPE_INT64: VARINT, F.TYPE_UINT64: VARINT, F.TYPE_INT32: VARINT, F.TYPE_UINT32: VARINT,
    F.TYPE_BOOL: VARINT, F.TYPE_ENUM: VARINT, F.TYPE_SINT32: VARINT, F.TYPE_SINT64: VARINT,
    F.TYPE_FIXED64: FIXED64, F.TYPE_SFIXED64: FIXED64, F.TYPE_DOUBLE: FIXED64,
    F.TYPE_FIXED32: FIXED32, F.TYPE_SFIXED32: FIXED32, F.TYPE_FLOAT: FIXED32,
    F.TYPE_STRING: STRING, F.TYPE_BYTES: BYTES, F.TYPE_MESSAGE: MESSAGE,
}

# The messages the C code builds from, in its order (M_REQUEST ... M_KVLIST); others follow.
MESSAGES = ("ExportTraceServiceRequest", "ResourceSpans", "Resource", "ScopeSpans", "InstrumentationScope",
            "Span", "Event", "Status", "KeyValue", "AnyValue", "ArrayValue", "KeyValueList")

# (message, field number, field name, kind) of every field the C code reads itself.
READS = (
    ("ExportTraceServiceRequest", 1, "resource_spans", MESSAGE),
    ("ResourceSpans", 1, "resource", MESSAGE), ("ResourceSpans", 2, "scope_spans", MESSAGE),
    ("Resource", 1, "attributes", MESSAGE),
    ("ScopeSpans", 1, "scope", MESSAGE), ("ScopeSpans", 2, "spans", MESSAGE),
    ("InstrumentationScope", 1, "name", STRING),
    ("Span", 1, "trace_id", BYTES), ("Span", 2, "span_id", BYTES), ("Span", 4, "parent_span_id", BYTES),
    ("Span", 5, "name", STRING), ("Span", 6, "kind", VARINT), ("Span", 7, "start_time_unix_nano", FIXED64),
    ("Span", 8, "end_time_unix_nano", FIXED64), ("Span", 9, "attributes", MESSAGE), ("Span", 11, "events", MESSAGE),
    ("Span", 15, "status", MESSAGE),
    ("Event", 1, "time_unix_nano", FIXED64), ("Event", 2, "name", STRING), ("Event", 3, "attributes", MESSAGE),
    ("Status", 2, "message", STRING), ("Status", 3, "code", VARINT),
    ("KeyValue", 1, "key", STRING), ("KeyValue", 2, "value", MESSAGE),
    ("AnyValue", 1, "string_value", STRING), ("AnyValue", 2, "bool_value", VARINT),
    ("AnyValue", 3, "int_value", VARINT), ("AnyValue", 4, "double_value", FIXED64),
    ("AnyValue", 5, "array_value", MESSAGE), ("AnyValue", 6, "kvlist_value", MESSAGE),
    ("AnyValue", 7, "bytes_value", BYTES),
    ("ArrayValue", 1, "values", MESSAGE), ("KeyValueList", 1, "values", MESSAGE),
)
ANYVALUE_ONEOF = {"string_value", "bool_value", "int_value", "double_value", "array_value", "kvlist_value",
                  "bytes_value", "string_value_strindex"}   # the last (int32) is read too, when it exists
MAX_FIELD, MAX_MESSAGES = 32, 32

reason = ""


class Unsupported(Exception):
    """The installed descriptors have a shape the C decoder does not read."""


def _descriptors() -> list:
    root = trace_service_pb2.ExportTraceServiceRequest.DESCRIPTOR
    found = {d.name: d for d in _reachable(root)}
    missing = [n for n in MESSAGES if n not in found]
    if missing:
        raise Unsupported(f"messages not found: {missing}")
    ordered = [found[n] for n in MESSAGES]
    ordered += sorted((d for d in found.values() if d.name not in MESSAGES), key=lambda d: d.full_name)
    if len({d.name for d in ordered}) != len(ordered):
        raise Unsupported("two reachable messages share a name")
    return ordered


def _reachable(root) -> list:
    out, todo, seen = [], [root], set()
    while todo:
        d = todo.pop()
        if d.full_name in seen:
            continue
        seen.add(d.full_name)
        out.append(d)
        todo.extend(f.message_type for f in d.fields if f.message_type is not None)
    return out


def table() -> list[dict[int, tuple[int, int]]]:
    """One {field number: (kind, message index)} per message, for `_otlpwire.configure`."""
    descs = _descriptors()
    if len(descs) > MAX_MESSAGES:
        raise Unsupported(f"{len(descs)} messages (at most {MAX_MESSAGES})")
    index = {d.full_name: i for i, d in enumerate(descs)}
    out = []
    for d in descs:
        fields = {}
        for f in d.fields:
            kind = _KIND.get(f.type)
            if kind is None or f.number >= MAX_FIELD:
                raise Unsupported(f"{d.name}.{f.name}: type {f.type}, number {f.number}")
            if f.is_repeated and kind not in (STRING, BYTES, MESSAGE):
                raise Unsupported(f"{d.name}.{f.name}: repeated numbers may be packed")
            if f.type == F.TYPE_ENUM and getattr(f.enum_type, "is_closed", False):
                raise Unsupported(f"{d.name}.{f.name}: a closed (proto2) enum")
            fields[f.number] = (kind, index[f.message_type.full_name] if kind == MESSAGE else 0)
        out.append(fields)
    by_name = {d.name: d for d in descs}
    for msg, number, name, kind in READS:
        f = by_name[msg].fields_by_number.get(number)
        if f is None or f.name != name or _KIND.get(f.type) != kind:
            raise Unsupported(f"{msg} field {number} is no longer {name}")
    oneof = {f.name for f in by_name["AnyValue"].oneofs_by_name["value"].fields}
    if not oneof <= ANYVALUE_ONEOF or any(f.number > 8 for f in by_name["AnyValue"].fields):
        raise Unsupported(f"AnyValue has members the C decoder does not know: {sorted(oneof - ANYVALUE_ONEOF)}")
    return out


def load(decode_error, too_many, raw_span, raw_event):
    """The configured `_otlpwire` module, or None (then `reason` says why)."""
    global reason
    if os.environ.get("LLMPULSE_PURE_PYTHON"):
        reason = "LLMPULSE_PURE_PYTHON is set"
        return None
    try:
        import llmpulse._otlpwire as _otlpwire
    except ImportError as exc:
        reason = f"not built ({exc})"
        return None
    try:
        _otlpwire.configure(table(), decode_error, too_many, raw_span, raw_event)
    except Unsupported as exc:
        reason = f"installed opentelemetry-proto not supported: {exc}"
        return None
    return _otlpwire
