"""OTLP decoding (protobuf and JSON) into plain `RawSpan`s, and OTLP responses.

The JSON form follows the OTLP/HTTP rules: hex trace/span ids, integer enums (their names
accepted too, as the Collector does), int64 as decimal strings (numbers accepted too), unknown
fields ignored.

>>> body = b'{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name",'\\
...        b'"value":{"stringValue":"shop"}}]},"scopeSpans":[{"spans":[{"traceId":'\\
...        b'"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"chat",'\\
...        b'"startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":'\\
...        b'"gen_ai.usage.input_tokens","value":{"intValue":"12"}}]}]}]}]}'
>>> [s] = decode_traces(body, "application/json")
>>> s.resource["service.name"], s.attrs["gen_ai.usage.input_tokens"], s.end_ns
('shop', 12, 2)
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from google.protobuf.message import DecodeError as _PbDecodeError
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from llmpulse import wire

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

STATUS_ERROR = 2


class DecodeError(ValueError):
    """The body is not a valid OTLP request (HTTP 400, gRPC INVALID_ARGUMENT)."""


class TooManyItems(DecodeError):
    """More resources, scopes and spans (or log records) than one request may carry (HTTP 413)."""


def _check_items(groups: Any, mid: str, leaf: str, max_items: int | None, what: str) -> None:
    """Refuse a decoded protobuf request with more than `max_items` entries before walking it.

    A few bytes per empty span would otherwise become hundreds of bytes of Python objects each.
    """
    if max_items is None:
        return
    n = len(groups)
    for g in groups:
        if n > max_items:
            break
        mids = getattr(g, mid)
        n += len(mids)
        for m in mids:
            n += len(getattr(m, leaf))
    if n > max_items:
        raise TooManyItems(f"request carries more than {max_items} {what} (server.max_spans_per_request)")


class RawEvent:
    __slots__ = ("name", "time_ns", "attrs")

    def __init__(self, name: str, time_ns: int, attrs: dict):
        self.name = name
        self.time_ns = time_ns
        self.attrs = attrs


class RawSpan:
    """A span as received, with attributes as a plain dict."""

    __slots__ = ("trace_id", "span_id", "parent_span_id", "name", "kind", "start_ns", "end_ns",
                 "status_code", "status_message", "attrs", "events", "resource", "scope")

    def __init__(self, trace_id: str, span_id: str, parent_span_id: str, name: str, kind: int,
                 start_ns: int, end_ns: int, status_code: int, status_message: str,
                 attrs: dict, events: list, resource: dict, scope: str):
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_span_id = parent_span_id
        self.name = name
        self.kind = kind
        self.start_ns = start_ns
        self.end_ns = end_ns
        self.status_code = status_code
        self.status_message = status_message
        self.attrs = attrs
        self.events = events
        self.resource = resource
        self.scope = scope


class RawLog:
    """A log record (GenAI events such as gen_ai.evaluation.result)."""

    __slots__ = ("event_name", "trace_id", "span_id", "time_ns", "attrs", "resource", "body")

    def __init__(self, event_name, trace_id, span_id, time_ns, attrs, resource, body):
        self.event_name = event_name
        self.trace_id = trace_id
        self.span_id = span_id
        self.time_ns = time_ns
        self.attrs = attrs
        self.resource = resource
        self.body = body


# ---------------------------------------------------------------- protobuf

def _pb_value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_pb_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _pb_value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, kind)


_COMPOSITE = frozenset({"array_value", "kvlist_value"})


def _pb_attrs(kvs: Any) -> dict:
    out = {}
    for kv in kvs:
        v = kv.value
        kind = v.WhichOneof("value")
        if kind is None:
            continue
        if kind in _COMPOSITE:
            out[kv.key] = _pb_value(v)
        else:
            out[kv.key] = getattr(v, kind)
    return out


def _pb_attrs_kept(kvs: Any, keep: frozenset, prefixes: tuple[str, ...]) -> dict:
    """Like _pb_attrs, but only keys in `keep` or starting with one of `prefixes` (values never read otherwise)."""
    out = {}
    for kv in kvs:
        key = kv.key
        if key not in keep and not key.startswith(prefixes):
            continue
        v = kv.value
        kind = v.WhichOneof("value")
        if kind is None:
            continue
        if kind in _COMPOSITE:
            out[key] = _pb_value(v)
        else:
            out[key] = getattr(v, kind)
    return out


def _parse_pb(message_cls: Any, body: bytes) -> Any:
    try:
        return message_cls.FromString(body)
    except (_PbDecodeError, RuntimeError, ValueError) as exc:
        raise DecodeError(f"body is not a valid protobuf {message_cls.DESCRIPTOR.name}: {exc}") from None


def _decode_traces_pb(body: bytes, max_items: int | None = None, keep: "Keys | None" = None) -> list[RawSpan]:
    req = _parse_pb(trace_service_pb2.ExportTraceServiceRequest, body)
    _check_items(req.resource_spans, "scope_spans", "spans", max_items, "resources, scopes and spans")
    spans: list[RawSpan] = []
    append = spans.append
    if keep is None:
        span_attrs = _pb_attrs
    else:
        names, prefixes = keep.names, keep.prefixes

        def span_attrs(kvs):
            return _pb_attrs_kept(kvs, names, prefixes)
    for rs in req.resource_spans:
        resource = _pb_attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            scope = ss.scope.name
            for sp in ss.spans:
                events = [RawEvent(e.name, e.time_unix_nano, _pb_attrs(e.attributes)) for e in sp.events] \
                    if sp.events else []
                status = sp.status
                append(RawSpan(sp.trace_id.hex(), sp.span_id.hex(), sp.parent_span_id.hex(), sp.name,
                               sp.kind, sp.start_time_unix_nano, sp.end_time_unix_nano, status.code,
                               status.message, span_attrs(sp.attributes), events, resource, scope))
    return spans


def _decode_logs_pb(body: bytes, max_items: int | None = None) -> list[RawLog]:
    req = _parse_pb(logs_service_pb2.ExportLogsServiceRequest, body)
    _check_items(req.resource_logs, "scope_logs", "log_records", max_items, "resources, scopes and log records")
    out = []
    for rl in req.resource_logs:
        resource = _pb_attrs(rl.resource.attributes)
        for sl in rl.scope_logs:
            for rec in sl.log_records:
                attrs = _pb_attrs(rec.attributes)
                name = getattr(rec, "event_name", "") or str(attrs.get("event.name", ""))
                out.append(RawLog(name, rec.trace_id.hex(), rec.span_id.hex(),
                                  rec.time_unix_nano or rec.observed_time_unix_nano, attrs, resource,
                                  _pb_value(rec.body)))
    return out


# ---------------------------------------------------------------- JSON

def _get(d: dict, camel: str, snake: str, default: Any = None) -> Any:
    v = d.get(camel)
    if v is None:
        v = d.get(snake, default)
    return v


INT_MIN, INT_MAX = -(2**63), 2**64 - 1   # int64 attributes .. fixed64 timestamps


# enum names accepted beside numbers, as the OpenTelemetry Collector's OTLP/JSON reader and protobuf's do
SPAN_KINDS: dict[str, int] = dict(trace_pb2.Span.SpanKind.items())
STATUS_CODES: dict[str, int] = dict(trace_pb2.Status.StatusCode.items())


def _json_enum(v: Any, names: dict[str, int], path: str) -> int:
    """An OTLP enum in JSON: its number, or its name (`"SPAN_KIND_CLIENT"`).

    >>> _json_enum("SPAN_KIND_CLIENT", SPAN_KINDS, "kind"), _json_enum(3, SPAN_KINDS, "kind")
    (3, 3)
    """
    if isinstance(v, str) and v in names:
        return names[v]
    try:
        return _json_int(v, path)
    except DecodeError:
        raise DecodeError(f"{path}: expected an integer or one of {', '.join(names)}, got {str(v)[:64]!r}") from None


def _json_int(v: Any, path: str) -> int:
    if v is None:
        return 0
    if isinstance(v, bool):
        raise DecodeError(f"{path}: expected an integer, got {v!r}")
    n = None
    if isinstance(v, int):
        n = v
    elif isinstance(v, float) and v.is_integer():
        n = int(v)
    elif isinstance(v, str):
        try:
            n = int(v)
        except ValueError:
            pass
    if n is None:
        raise DecodeError(f"{path}: expected an integer, got {str(v)[:64]!r}")
    if not INT_MIN <= n <= INT_MAX:   # JSON integers are unbounded; OTLP's are 64-bit
        raise DecodeError(f"{path}: integer outside the 64-bit range")
    return n


def _json_float(v: Any) -> float:
    if isinstance(v, str):
        return float(v)  # "NaN", "Infinity", "-Infinity" are valid JSON-protobuf doubles
    return float(v)


def _json_value(v: Any, path: str) -> Any:
    if not isinstance(v, dict):
        raise DecodeError(f"{path}: expected an AnyValue object, got {type(v).__name__}")
    if "stringValue" in v or "string_value" in v:
        s = _get(v, "stringValue", "string_value")
        if not isinstance(s, str):
            raise DecodeError(f"{path}.stringValue: expected a string")
        return s
    if "intValue" in v or "int_value" in v:
        return _json_int(_get(v, "intValue", "int_value"), f"{path}.intValue")
    if "doubleValue" in v or "double_value" in v:
        try:
            return _json_float(_get(v, "doubleValue", "double_value"))
        except (TypeError, ValueError):
            raise DecodeError(f"{path}.doubleValue: expected a number") from None
    if "boolValue" in v or "bool_value" in v:
        return bool(_get(v, "boolValue", "bool_value"))
    if "arrayValue" in v or "array_value" in v:
        arr = _get(v, "arrayValue", "array_value") or {}
        vals = arr.get("values") or []
        if not isinstance(vals, list):
            raise DecodeError(f"{path}.arrayValue.values: expected a list")
        return [_json_value(x, f"{path}.arrayValue.values[{i}]") for i, x in enumerate(vals)]
    if "kvlistValue" in v or "kvlist_value" in v:
        kv = _get(v, "kvlistValue", "kvlist_value") or {}
        return _json_attrs(kv.get("values") or [], f"{path}.kvlistValue.values")
    if "bytesValue" in v or "bytes_value" in v:
        try:
            return base64.b64decode(_get(v, "bytesValue", "bytes_value"))
        except (binascii.Error, TypeError, ValueError):   # ValueError: non-ASCII text
            raise DecodeError(f"{path}.bytesValue: expected base64") from None
    return None


def _json_attrs(kvs: Any, path: str) -> dict:
    if kvs is None:
        return {}
    if not isinstance(kvs, list):
        raise DecodeError(f"{path}: expected a list of key/value objects")
    out = {}
    for i, kv in enumerate(kvs):
        if not isinstance(kv, dict) or not isinstance(kv.get("key"), str):
            raise DecodeError(f"{path}[{i}]: expected {{\"key\": ..., \"value\": ...}}")
        value = kv.get("value")
        if value is None:
            continue
        out[kv["key"]] = _json_value(value, f"{path}[{i}].value")
    return out


def _json_id(v: Any, size: int) -> str:
    """Hex as the spec says; base64 (what json_format emits) tolerated."""
    if not v:
        return ""
    if not isinstance(v, str):
        return "!"  # invalid; rejected per span
    if len(v) == size * 2:
        try:
            bytes.fromhex(v)
            return v.lower()
        except ValueError:
            pass
    try:
        raw = base64.b64decode(v, validate=True)
        if len(raw) == size:
            return raw.hex()
    except (binascii.Error, ValueError):
        pass
    return "!"


# A \uD800-\uDFFF escape that is not half of a pair: json.loads keeps it as a lone
# surrogate, which no UTF-8 output (a /metrics scrape, a protobuf string) can encode.
_LONE_SURROGATE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
                             rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def _no_surrogates(v: Any) -> Any:
    if isinstance(v, str):
        return v.encode("utf-8", "replace").decode("utf-8")
    if isinstance(v, list):
        return [_no_surrogates(x) for x in v]
    if isinstance(v, dict):
        return {_no_surrogates(k): _no_surrogates(x) for k, x in v.items()}
    return v


def loads(body: bytes) -> Any:
    """json.loads with DecodeError for bad input; lone surrogates become "?".

    >>> loads(b'{"a": "x\\\\ud800y"}')
    {'a': 'x?y'}
    """
    try:
        doc = json.loads(body)
        if b"\\u" in body and _LONE_SURROGATE.search(body):
            doc = _no_surrogates(doc)
    except UnicodeDecodeError as exc:
        raise DecodeError(f"body is not valid UTF-8: {exc.reason} at byte {exc.start}") from None
    except RecursionError:
        raise DecodeError("JSON body is nested too deeply") from None
    except ValueError as exc:
        raise DecodeError(f"body is not valid JSON: {exc}") from None
    return doc


def _load_json(body: bytes) -> Any:
    doc = loads(body)
    if not isinstance(doc, dict):
        raise DecodeError("JSON body must be an object")
    return doc


def _list(d: dict, camel: str, snake: str, path: str) -> list:
    v = _get(d, camel, snake) or []
    if not isinstance(v, list):
        raise DecodeError(f"{path}.{camel}: expected a list" if path else f"{camel}: expected a list")
    return v


def _obj(v: Any, path: str) -> dict:
    if not isinstance(v, dict):
        raise DecodeError(f"{path}: expected an object")
    return v


def _check_items_json(doc: dict, top: tuple[str, str], mid: tuple[str, str], leaf: tuple[str, str],
                      max_items: int | None, what: str) -> None:
    """The JSON twin of `_check_items` (shapes are checked later, by the walk)."""
    groups = _get(doc, *top)
    if max_items is None or not isinstance(groups, list):
        return
    n = len(groups)
    for g in groups:
        if n > max_items:
            break
        mids = _get(g, *mid) if isinstance(g, dict) else None
        if isinstance(mids, list):
            n += len(mids)
            for m in mids:
                leaves = _get(m, *leaf) if isinstance(m, dict) else None
                if isinstance(leaves, list):
                    n += len(leaves)
    if n > max_items:
        raise TooManyItems(f"request carries more than {max_items} {what} (server.max_spans_per_request)")


def _walk_json(doc: dict, keys: tuple[tuple[str, str], ...]):
    """Yield (resource attrs, scope name, item, path) for each leaf of an OTLP-JSON request.

    keys: (camel, snake) names of the resource, scope and leaf lists, e.g.
    ("resourceSpans", "resource_spans"), ("scopeSpans", "scope_spans"), ("spans", "spans").
    """
    (res_c, res_s), (scope_c, scope_s), (leaf_c, leaf_s) = keys
    for i, rs in enumerate(_list(doc, res_c, res_s, "")):
        p = f"{res_c}[{i}]"
        rs = _obj(rs, p)
        res = _obj(rs.get("resource") or {}, f"{p}.resource")
        resource = _json_attrs(res.get("attributes"), f"{p}.resource.attributes")
        for j, ss in enumerate(_list(rs, scope_c, scope_s, p)):
            q = f"{p}.{scope_c}[{j}]"
            ss = _obj(ss, q)
            scope = str(_obj(ss.get("scope") or {}, f"{q}.scope").get("name", ""))
            for k, item in enumerate(_list(ss, leaf_c, leaf_s, q)):
                r = f"{q}.{leaf_c}[{k}]"
                yield resource, scope, _obj(item, r), r


TRACE_KEYS = (("resourceSpans", "resource_spans"), ("scopeSpans", "scope_spans"), ("spans", "spans"))
LOG_KEYS = (("resourceLogs", "resource_logs"), ("scopeLogs", "scope_logs"), ("logRecords", "log_records"))


def _decode_traces_json(body: bytes, max_items: int | None = None) -> list[RawSpan]:
    doc = _load_json(body)
    _check_items_json(doc, *TRACE_KEYS, max_items, "resources, scopes and spans")
    spans = []
    try:
        for resource, scope, sp, r in _walk_json(doc, TRACE_KEYS):
            events = []
            for m, ev in enumerate(_list(sp, "events", "events", r)):
                ev = _obj(ev, f"{r}.events[{m}]")
                events.append(RawEvent(str(ev.get("name", "")),
                                       _json_int(_get(ev, "timeUnixNano", "time_unix_nano"),
                                                 f"{r}.events[{m}].timeUnixNano"),
                                       _json_attrs(ev.get("attributes"), f"{r}.events[{m}].attributes")))
            status = _obj(sp.get("status") or {}, f"{r}.status")
            spans.append(RawSpan(
                _json_id(_get(sp, "traceId", "trace_id"), 16),
                _json_id(_get(sp, "spanId", "span_id"), 8),
                _json_id(_get(sp, "parentSpanId", "parent_span_id"), 8),
                str(sp.get("name", "")),
                _json_enum(sp.get("kind"), SPAN_KINDS, f"{r}.kind"),
                _json_int(_get(sp, "startTimeUnixNano", "start_time_unix_nano"), f"{r}.startTimeUnixNano"),
                _json_int(_get(sp, "endTimeUnixNano", "end_time_unix_nano"), f"{r}.endTimeUnixNano"),
                _json_enum(status.get("code"), STATUS_CODES, f"{r}.status.code"),
                str(status.get("message", "")),
                _json_attrs(sp.get("attributes"), f"{r}.attributes"),
                events, resource, scope))
    except RecursionError:
        raise DecodeError("JSON body is nested too deeply") from None
    return spans


def _decode_logs_json(body: bytes, max_items: int | None = None) -> list[RawLog]:
    doc = _load_json(body)
    _check_items_json(doc, *LOG_KEYS, max_items, "resources, scopes and log records")
    out = []
    try:
        for resource, _scope, rec, r in _walk_json(doc, LOG_KEYS):
            attrs = _json_attrs(rec.get("attributes"), f"{r}.attributes")
            name = _get(rec, "eventName", "event_name") or str(attrs.get("event.name", ""))
            body_v = rec.get("body")
            out.append(RawLog(str(name), _json_id(_get(rec, "traceId", "trace_id"), 16),
                              _json_id(_get(rec, "spanId", "span_id"), 8),
                              _json_int(_get(rec, "timeUnixNano", "time_unix_nano"), f"{r}.timeUnixNano"),
                              attrs, resource,
                              _json_value(body_v, f"{r}.body") if body_v is not None else None))
    except RecursionError:
        raise DecodeError("JSON body is nested too deeply") from None
    return out


# ---------------------------------------------------------------- API

def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


WIRE = wire.load(DecodeError, TooManyItems, RawSpan, RawEvent)   # None: pure Python (wire.reason says why)
_WIRE_ALL = WIRE.Keys(None, ()) if WIRE is not None else None      # every attribute


class Keys:
    """The span attribute names a reader uses: exact names, plus name prefixes.

    >>> Keys({"a"}, ("b.",)).wants("b.1"), Keys({"a"}).wants("c")
    (True, False)
    """

    __slots__ = ("names", "prefixes", "wire")

    def __init__(self, names, prefixes: tuple[str, ...] = ()):
        self.names = frozenset(names)
        self.prefixes = tuple(prefixes)
        self.wire = WIRE.Keys(tuple(self.names), self.prefixes) if WIRE is not None else None

    def wants(self, key: str) -> bool:
        return key in self.names or key.startswith(self.prefixes)


def decode_traces(body: bytes, content_type: str, max_items: int | None = None,
                  keep: Keys | None = None) -> list[RawSpan]:
    """Decode a trace export request.

    max_items: most resources + scopes + spans accepted in one request (TooManyItems beyond).
    keep: protobuf span attributes outside it are skipped unread (resource and event
    attributes, and JSON bodies, are always decoded whole).
    Protobuf goes through the C decoder (llmpulse._otlpwire) when it is built, else upb."""
    if content_type != PROTOBUF and media_type(content_type) == JSON:
        return _decode_traces_json(body, max_items)
    if WIRE is not None:
        wire_keys = keep.wire if keep is not None else _WIRE_ALL
        assert wire_keys is not None            # both are built whenever WIRE is
        return wire_keys.decode(body, -1 if max_items is None else max_items)
    return _decode_traces_pb(body, max_items, keep)


def decode_logs(body: bytes, content_type: str, max_items: int | None = None) -> list[RawLog]:
    if media_type(content_type) == JSON:
        return _decode_logs_json(body, max_items)
    return _decode_logs_pb(body, max_items)


def _partial_response(content_type: str, rejected: int, message: str, response_cls: Any,
                      rejected_field: str, rejected_json: str) -> bytes:
    """An Export*ServiceResponse, with partial_success only when something was rejected or said."""
    if not rejected and not message:            # the common answer: an empty response
        return b"" if content_type == PROTOBUF or media_type(content_type) != JSON else b"{}"
    if media_type(content_type) == JSON:
        if not rejected and not message:
            return b"{}"
        return json.dumps({"partialSuccess": {rejected_json: str(rejected), "errorMessage": message}}).encode()
    resp = response_cls()
    if rejected or message:
        setattr(resp.partial_success, rejected_field, rejected)
        resp.partial_success.error_message = message
    return resp.SerializeToString()


def trace_response(content_type: str, rejected: int, message: str) -> bytes:
    return _partial_response(content_type, rejected, message, trace_service_pb2.ExportTraceServiceResponse,
                             "rejected_spans", "rejectedSpans")


def logs_response(content_type: str, rejected: int, message: str) -> bytes:
    return _partial_response(content_type, rejected, message, logs_service_pb2.ExportLogsServiceResponse,
                             "rejected_log_records", "rejectedLogRecords")


def status_body(content_type: str, code: int, message: str) -> tuple[bytes, str]:
    """A google.rpc.Status body (code = gRPC code) in the request's encoding."""
    if media_type(content_type) == PROTOBUF:
        msg = message.encode("utf-8", "replace")
        out = bytearray(b"\x08")
        out += _varint(code)
        out += b"\x12" + _varint(len(msg)) + msg
        return bytes(out), PROTOBUF
    return json.dumps({"code": code, "message": message}).encode(), JSON


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)
