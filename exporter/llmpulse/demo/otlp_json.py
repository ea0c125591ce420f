"""OTLP/JSON encoding by the OTLP rules, which differ from protobuf's JSON mapping.

OTLP/JSON wants trace and span ids as hex (protobuf's mapping gives base64),
enums as integers, 64-bit integers as decimal strings and lowerCamelCase keys.
`json_format.MessageToJson` gets the ids wrong, so this walks the message.

>>> from opentelemetry.proto.trace.v1.trace_pb2 import Span
>>> to_dict(Span(trace_id=bytes(range(16)), kind=3, start_time_unix_nano=5))
{'traceId': '000102030405060708090a0b0c0d0e0f', 'kind': 3, 'startTimeUnixNano': '5'}
>>> from_dict(Span, {"traceId": "000102030405060708090a0b0c0d0e0f", "kind": 3}).trace_id[:2]
b'\\x00\\x01'
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

# Bytes fields that carry ids and are hex in OTLP/JSON (Span, Span.Link, LogRecord).
HEX_FIELDS = frozenset({"trace_id", "span_id", "parent_span_id"})
_INT64 = frozenset({FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_SINT64,
                    FieldDescriptor.TYPE_FIXED64, FieldDescriptor.TYPE_SFIXED64})
M = TypeVar("M", bound=Message)


def _scalar(fd: FieldDescriptor, value: Any) -> Any:
    if fd.type == FieldDescriptor.TYPE_BYTES:
        return value.hex() if fd.name in HEX_FIELDS else base64.b64encode(value).decode("ascii")
    if fd.type in _INT64:
        return str(value)
    if fd.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if fd.type == FieldDescriptor.TYPE_MESSAGE:
        return to_dict(value)
    return value   # bool, string, int32, enum (as its number)


def to_dict(message: Message) -> dict[str, Any]:
    """An OTLP message as an OTLP/JSON object (fields at default values left out)."""
    out: dict[str, Any] = {}
    for fd, value in message.ListFields():
        if fd.is_repeated:
            out[fd.json_name] = [_scalar(fd, v) for v in value]
        else:
            out[fd.json_name] = _scalar(fd, value)
    return out


def dumps(message: Message) -> bytes:
    """OTLP/JSON bytes for a request body."""
    return json.dumps(to_dict(message), separators=(",", ":")).encode("utf-8")


def _hex_to_b64(desc: Any, obj: Any) -> Any:
    """Rewrite hex id fields as base64 so protobuf's own JSON parser takes them."""
    if not isinstance(obj, dict):
        return obj
    out = {}
    for key, value in obj.items():
        fd = desc.fields_by_camelcase_name.get(key) or desc.fields_by_name.get(key)
        if fd is None:
            continue  # OTLP: unknown fields MUST be ignored
        if fd.name in HEX_FIELDS and fd.type == FieldDescriptor.TYPE_BYTES and isinstance(value, str):
            value = base64.b64encode(bytes.fromhex(value)).decode("ascii")
        elif fd.type == FieldDescriptor.TYPE_MESSAGE:
            if fd.is_repeated:
                value = [_hex_to_b64(fd.message_type, v) for v in value]
            else:
                value = _hex_to_b64(fd.message_type, value)
        out[key] = value
    return out


def from_dict(message_cls: type[M], obj: dict[str, Any]) -> M:
    """Parse an OTLP/JSON object (hex ids, int64 as strings or numbers)."""
    msg = message_cls()
    json_format.ParseDict(_hex_to_b64(message_cls.DESCRIPTOR, obj), msg, ignore_unknown_fields=True)
    return msg


def loads(message_cls: type[M], data: bytes | str) -> M:
    return from_dict(message_cls, json.loads(data))
