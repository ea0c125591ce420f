"""The C trace decoder (llmpulse._otlpwire) against upb + Python (`otlp._decode_traces_pb`).

The two must agree on every input: the same RawSpans for what upb accepts, a
DecodeError for what it refuses, TooManyItems past the item limit. Requests are
generated with the protobuf API (every AnyValue kind, nested arrays and
kvlists, events, links, status, unknown wanted and unwanted names), then
mutated byte by byte and concatenated (protobuf merges concatenated messages);
a table of hand-made edge cases covers depth, groups, tags, lengths and UTF-8.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from llmpulse import otlp, wire
from llmpulse.config import load_config
from llmpulse.demo.traffic import Traffic
from llmpulse.dialects import Normalizer

EXAMPLES = int(os.environ.get("LLMPULSE_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=EXAMPLES <= 1000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
KEYS = Normalizer(load_config(), capture_content=True).keys
WANTED = sorted(KEYS.names)[:40] + ["evaluations.0.evaluation.name", "evaluations.1.evaluation.score"]


def test_the_c_decoder_is_built_and_in_use():
    """CI builds it (gcc is there); without it everything still works, only slower."""
    assert otlp.WIRE is not None, f"llmpulse._otlpwire is not in use: {wire.reason}"
    assert KEYS.wire is not None


# ------------------------------------------------------------------ comparing

def canon(v):
    """A value with floats made comparable (NaN == NaN, -0.0 != 0.0)."""
    if isinstance(v, float):
        return ("float", struct.pack("<d", v))
    if isinstance(v, list):
        return [canon(x) for x in v]
    if isinstance(v, dict):
        return {k: canon(x) for k, x in v.items()}
    if isinstance(v, bool):
        return ("bool", v)
    return v


def spans(result):
    return [(s.trace_id, s.span_id, s.parent_span_id, s.name, s.kind, s.start_ns, s.end_ns, s.status_code,
             s.status_message, canon(s.attrs), [(e.name, e.time_ns, canon(e.attrs)) for e in s.events],
             canon(s.resource), s.scope) for s in result]


def outcome(decode, body: bytes, max_items: int | None):
    try:
        return "ok", spans(decode(body, max_items))
    except otlp.TooManyItems:
        return "too_many", None
    except otlp.DecodeError:
        return "error", None


def agree(body: bytes, max_items: int | None = None) -> str:
    """Assert both decoders agree on body, for the normaliser's names and for every name; the outcome."""
    result = None
    for keys, c_keys in ((KEYS, KEYS.wire), (None, otlp._WIRE_ALL)):
        py = outcome(lambda b, m, keys=keys: otlp._decode_traces_pb(b, m, keys), body, max_items)
        c = outcome(lambda b, m, c_keys=c_keys: c_keys.decode(b, -1 if m is None else m), body, max_items)
        assert c == py, f"C {c[0]} vs upb {py[0]} for {body[:200]!r}..."
        result = c[0]
    return result


# ------------------------------------------------------------------ generated requests

def _any(kind_value) -> AnyValue:
    kind, value = kind_value
    v = AnyValue()
    if kind == "array":
        v.array_value.values.extend(value)
    elif kind == "kvlist":
        v.kvlist_value.values.extend(value)
    elif kind != "unset":
        setattr(v, kind, value)
    return v


scalars = st.one_of(
    st.tuples(st.just("string_value"), st.text(max_size=12)),
    st.tuples(st.just("bool_value"), st.booleans()),
    st.tuples(st.just("int_value"), st.integers(-2**63, 2**63 - 1)),
    st.tuples(st.just("double_value"), st.floats()),
    st.tuples(st.just("bytes_value"), st.binary(max_size=8)),
    st.tuples(st.just("unset"), st.none()),
) | (st.tuples(st.just("string_value_strindex"), st.integers(-2**31, 2**31 - 1))
     if "string_value_strindex" in AnyValue.DESCRIPTOR.fields_by_name else st.nothing())
keys = st.one_of(st.sampled_from(WANTED), st.text(max_size=10), st.just(""), st.just("evaluations.x"))
values = st.recursive(
    scalars.map(_any),
    lambda inner: st.one_of(
        st.tuples(st.just("array"), st.lists(inner, max_size=3)).map(_any),
        st.tuples(st.just("kvlist"), st.lists(st.builds(lambda k, v: KeyValue(key=k, value=v), keys, inner),
                                              max_size=3)).map(_any)),
    max_leaves=6)
attributes = st.lists(st.builds(lambda k, v: KeyValue(key=k, value=v), keys, values), max_size=8)
ids = st.one_of(st.binary(min_size=16, max_size=16), st.binary(max_size=20))


@st.composite
def requests(draw) -> bytes:
    req = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(0, 3))):
        rs = req.resource_spans.add()
        rs.resource.attributes.extend(draw(attributes))
        rs.schema_url = draw(st.text(max_size=5))
        for _ in range(draw(st.integers(0, 3))):
            ss = rs.scope_spans.add()
            ss.scope.name = draw(st.text(max_size=8))
            ss.scope.version = draw(st.text(max_size=3))
            ss.scope.attributes.extend(draw(attributes))
            for _ in range(draw(st.integers(0, 4))):
                sp = ss.spans.add()
                sp.trace_id, sp.span_id, sp.parent_span_id = draw(ids), draw(ids), draw(ids)
                sp.trace_state = draw(st.text(max_size=4))
                sp.name = draw(st.text(max_size=10))
                sp.kind = draw(st.integers(-2**31, 2**31 - 1))
                sp.start_time_unix_nano = draw(st.integers(0, 2**64 - 1))
                sp.end_time_unix_nano = draw(st.integers(0, 2**64 - 1))
                sp.attributes.extend(draw(attributes))
                sp.dropped_attributes_count = draw(st.integers(0, 2**32 - 1))
                for _ in range(draw(st.integers(0, 2))):
                    ev = sp.events.add(name=draw(st.text(max_size=6)), time_unix_nano=draw(st.integers(0, 2**64 - 1)))
                    ev.attributes.extend(draw(attributes))
                for _ in range(draw(st.integers(0, 1))):
                    link = sp.links.add(trace_id=draw(ids), span_id=draw(ids), trace_state=draw(st.text(max_size=3)))
                    link.attributes.extend(draw(attributes))
                sp.status.code = draw(st.integers(-2**31, 2**31 - 1))
                sp.status.message = draw(st.text(max_size=6))
                sp.flags = draw(st.integers(0, 2**32 - 1))
    return req.SerializeToString()


@pytest.mark.slow
@FUZZ
@given(requests())
def test_generated_requests_decode_the_same(body):
    assert agree(body) == "ok"


@st.composite
def mutated(draw) -> bytes:
    body = bytearray(draw(requests()))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "delete", "insert", "duplicate", "truncate", "concat"]))
        n = len(body)
        i = draw(st.integers(0, max(0, n - 1)))
        if op == "flip" and n:
            body[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "delete" and n:
            del body[i:i + draw(st.integers(1, 4))]
        elif op == "insert":
            body[i:i] = draw(st.binary(min_size=1, max_size=4))
        elif op == "duplicate" and n:
            body[i:i] = body[i:i + draw(st.integers(1, 16))]
        elif op == "truncate":
            del body[i:]
        elif op == "concat":
            body += draw(requests())
    return bytes(body)


@pytest.mark.slow
@FUZZ
@given(mutated(), st.sampled_from([None, None, 0, 3, 10]))
def test_mutated_requests_get_the_same_verdict(body, max_items):
    agree(body, max_items)


def test_demo_traffic_decodes_the_same():
    now = 1_700_000_000 * 10**9
    for seed in (1, 2):
        body = Traffic(seed=seed).batch(300, now).traces.SerializeToString()
        assert agree(body) == "ok"
        assert agree(body, max_items=10) == "too_many"
        assert agree(body[:-7]) == "error"


# ------------------------------------------------------------------ hand-made edge cases

def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def ld(field: int, payload: bytes) -> bytes:
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def in_span(span: bytes) -> bytes:
    return ld(1, ld(2, ld(2, span)))


def attr(key: bytes, value: bytes) -> bytes:
    return ld(9, ld(1, key) + ld(2, value))


def nested_arrays(depth: int, inner: bytes) -> bytes:
    v = inner
    for _ in range(depth):
        v = ld(5, ld(1, v))
    return v


def group(field: int, inner: bytes = b"") -> bytes:
    return varint(field << 3 | 3) + inner + varint(field << 3 | 4)


def groups(depth: int) -> bytes:
    g = b""
    for _ in range(depth):
        g = group(20, g)
    return g


MODEL = b"gen_ai.request.model"
GOOD_SPAN = ld(1, bytes(range(16))) + ld(2, bytes(range(8))) + ld(5, b"chat") + attr(MODEL, ld(1, b"gpt-4o"))
EDGES = {
    "empty body": b"",
    "one empty resource": ld(1, b""),
    "a span": in_span(GOOD_SPAN),
    "nested 99 levels": in_span(attr(b"k", nested_arrays(47, ld(1, b"x")))),
    "nested 100 levels": in_span(attr(b"k", nested_arrays(47, ld(5, b"")))),
    "nested 101 levels": in_span(attr(b"k", nested_arrays(47, ld(5, ld(1, b""))))),
    "nested 101 levels, unwanted name": in_span(attr(b"x.unread", nested_arrays(47, ld(5, ld(1, b""))))),
    "100 groups at the top": groups(100),
    "101 groups at the top": groups(101),
    "97 groups in a span": in_span(groups(97)),
    "98 groups in a span": in_span(groups(98)),
    "mismatched end of group": varint(20 << 3 | 3) + varint(21 << 3 | 4),
    "stray end of group": varint(7 << 3 | 4),
    "a known field as a group": varint(1 << 3 | 3) + varint(1 << 3 | 4),
    "unclosed group": varint(20 << 3 | 3),
    "field number 0 inside a group": group(20, b"\x00\x00" + b"\x02\x00" + b"\x03\x04"),
    "field number 0 ending a group": varint(20 << 3 | 3) + b"\x04",
    "a message field sent as a group is unknown": group(1, ld(1, b"")) + in_span(GOOD_SPAN),
    "attributes sent as a group": in_span(GOOD_SPAN + group(9, ld(1, MODEL))),
    "end tag of a group, not minimal": varint(20 << 3 | 3) + b"\xa4\x81\x00",
    "wire type 6": varint(7 << 3 | 6),
    "wire type 7": varint(7 << 3 | 7),
    "field number 0": b"\x00\x01",
    "tag of 5 bytes": b"\x8a\x80\x80\x80\x00\x00",
    "tag of 6 bytes": b"\x8a\x80\x80\x80\x80\x00\x00",
    "tag above 32 bits": b"\x80\x80\x80\x80\x20\x00",
    "highest field number": varint((2**29 - 1) << 3) + b"\x00",
    "length of 5 bytes": b"\x0a\x80\x80\x80\x80\x00",
    "length of 6 bytes": b"\x0a\x80\x80\x80\x80\x80\x00",
    "length past the end": b"\x0a\x05\x00",
    "length of 2^31": b"\x0a" + varint(2**31),
    "varint of 10 bytes": varint(30 << 3) + b"\x80" * 9 + b"\x7f",
    "varint of 11 bytes": varint(30 << 3) + b"\x80" * 10 + b"\x00",
    "kind beyond 32 bits": in_span(GOOD_SPAN + varint(6 << 3) + varint(2**40 + 3)),
    "kind 2^64-1": in_span(GOOD_SPAN + varint(6 << 3) + varint(2**64 - 1)),
    "truncated fixed64": in_span(varint(7 << 3 | 1) + b"\x00" * 7),
    "truncated fixed32 flags": in_span(varint(16 << 3 | 5) + b"\x00" * 3),
    "name as a varint (unknown)": in_span(GOOD_SPAN + varint(5 << 3) + b"\x05"),
    "attributes as a varint (unknown)": in_span(GOOD_SPAN + varint(9 << 3) + b"\x05"),
    "bad UTF-8 in an unread trace_state": in_span(GOOD_SPAN + ld(3, b"\xff")),
    "bad UTF-8 in an unread attribute value": in_span(GOOD_SPAN + attr(b"x.unread", ld(1, b"\xc3"))),
    "bad UTF-8 in an unread attribute name": in_span(GOOD_SPAN + attr(b"x.\xff", ld(1, b"v"))),
    "a surrogate in UTF-8": in_span(GOOD_SPAN + ld(5, b"\xed\xa0\x80")),
    "overlong UTF-8": in_span(GOOD_SPAN + ld(5, b"\xc0\xaf")),
    "past U+10FFFF": in_span(GOOD_SPAN + ld(5, b"\xf4\x90\x80\x80")),
    "4-byte UTF-8": in_span(GOOD_SPAN + ld(5, "chat 🦜".encode())),
    "bad UTF-8 in bytes_value is fine": in_span(GOOD_SPAN + attr(MODEL, ld(7, b"\xff"))),
    "bad UTF-8 in link trace_state": in_span(GOOD_SPAN + ld(13, ld(3, b"\xff"))),
    "bad UTF-8 in an entity ref": ld(1, ld(1, ld(3, ld(2, b"\xff")))),
    "value before key": in_span(ld(9, ld(2, ld(1, b"v")) + ld(1, MODEL))),
    "value given twice, arrays merge": in_span(ld(9, ld(1, MODEL) + ld(2, ld(5, ld(1, ld(1, b"a"))))
                                                 + ld(2, ld(5, ld(1, ld(1, b"b")))))),
    "oneof switched back": in_span(ld(9, ld(1, MODEL) + ld(2, ld(5, ld(1, ld(1, b"a"))) + ld(1, b"s")
                                                       + ld(5, ld(1, ld(1, b"c")))))),
    "kvlists merge, unset is None": in_span(attr(MODEL, ld(6, ld(1, ld(1, b"a") + ld(2, ld(1, b"1"))))
                                                 + ld(6, ld(1, ld(1, b"b")) + ld(1, ld(1, b"a") + ld(2, b""))))),
    "unset value drops the pair": in_span(attr(MODEL, ld(1, b"x")) + attr(MODEL, b"")),
    "name given twice": in_span(GOOD_SPAN + ld(5, b"second")),
    "status merged": in_span(GOOD_SPAN + ld(15, ld(2, b"m")) + ld(15, varint(3 << 3) + b"\x02")),
    "resource merged, after its scopes": ld(1, ld(2, ld(2, GOOD_SPAN)) + ld(1, ld(1, ld(1, b"a") + ld(2, ld(1, b"1"))))
                                            + ld(1, ld(1, ld(1, b"b") + ld(2, varint(3 << 3) + b"\x02")))),
    "scope after its spans": ld(1, ld(2, ld(2, GOOD_SPAN) + ld(1, ld(1, b"scope")))),
    "event time and name": in_span(GOOD_SPAN + ld(11, varint(1 << 3 | 1) + b"\x01" * 8 + ld(2, b"ev")
                                                  + ld(3, ld(1, b"k") + ld(2, ld(4, b"\x00" * 8))))),
    "double NaN": in_span(attr(MODEL, varint(4 << 3 | 1) + b"\x00\x00\x00\x00\x00\x00\xf8\x7f")),
    "int of 10 bytes": in_span(attr(MODEL, varint(3 << 3) + b"\xff" * 9 + b"\x01")),
    "evaluations prefix": in_span(attr(b"evaluations.7.evaluation.name", ld(1, b"tox"))),
    "prefix alone": in_span(attr(b"evaluations.", ld(1, b"tox"))),
    "empty name": in_span(attr(b"", ld(1, b"v"))),
    "concatenated requests": in_span(GOOD_SPAN) + in_span(GOOD_SPAN),
}


@pytest.mark.parametrize("name", list(EDGES))
def test_edge_cases_get_the_same_verdict(name):
    agree(EDGES[name])


def test_edge_verdicts_are_the_expected_ones():
    """A few verdicts spelled out, so the comparison above is not two decoders wrong the same way."""
    verdicts = {n: agree(EDGES[n]) for n in EDGES}
    for n in ("nested 100 levels", "100 groups at the top", "field number 0 inside a group", "97 groups in a span",
              "tag of 5 bytes", "length of 5 bytes", "bad UTF-8 in bytes_value is fine", "varint of 10 bytes", "empty body"):
        assert verdicts[n] == "ok", n
    for n in ("nested 101 levels", "nested 101 levels, unwanted name", "101 groups at the top",
              "98 groups in a span", "tag of 6 bytes", "length of 6 bytes", "a surrogate in UTF-8",
              "bad UTF-8 in an unread attribute value", "bad UTF-8 in an entity ref", "field number 0"):
        assert verdicts[n] == "error", n
    [s] = KEYS.wire.decode(EDGES["value given twice, arrays merge"], -1)
    assert s.attrs == {"gen_ai.request.model": ["a", "b"]}
    [s] = KEYS.wire.decode(EDGES["kvlists merge, unset is None"], -1)
    assert s.attrs == {"gen_ai.request.model": {"a": None, "b": None}}
    [s] = KEYS.wire.decode(EDGES["resource merged, after its scopes"], -1)
    assert s.resource == {"a": "1", "b": 2} and s.trace_id == bytes(range(16)).hex()


def test_decode_error_says_where():
    with pytest.raises(otlp.DecodeError, match=r"not a valid protobuf ExportTraceServiceRequest: .* at byte \d+"):
        otlp.decode_traces(EDGES["length past the end"], otlp.PROTOBUF)


def test_too_many_items_is_reported_only_for_a_valid_body():
    body = in_span(GOOD_SPAN) * 3
    with pytest.raises(otlp.TooManyItems):
        otlp.decode_traces(body, otlp.PROTOBUF, max_items=5)
    with pytest.raises(otlp.DecodeError) as err:
        otlp.decode_traces(body + b"\x0a\x05", otlp.PROTOBUF, max_items=5)
    assert not isinstance(err.value, otlp.TooManyItems)
    assert len(otlp.decode_traces(body, otlp.PROTOBUF, max_items=9)) == 3


def test_no_memory_is_kept_after_decoding():
    """Every object the C code makes is freed, on success and on every error path."""
    now = 1_700_000_000 * 10**9
    body = Traffic(seed=9).batch(40, now).traces.SerializeToString()
    cuts = [body[:n] for n in range(0, len(body), max(1, len(body) // 150))]
    bodies = [body, *EDGES.values(), *cuts]

    def run():
        for b in bodies:
            for k in (KEYS.wire, otlp._WIRE_ALL):
                try:
                    k.decode(b, -1)
                    k.decode(b, 3)
                except otlp.DecodeError:
                    pass
    run()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(3):
            run()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024, f"{grown} bytes kept after {3 * len(bodies) * 4} decodes"


def test_pure_python_is_used_when_asked_and_gives_the_same_spans():
    body = Traffic(seed=4).batch(50, 1_700_000_000 * 10**9).traces.SerializeToString()
    code = ("import sys, pickle; from llmpulse import otlp, wire; assert otlp.WIRE is None, wire.reason; "
            "s = otlp.decode_traces(sys.stdin.buffer.read(), otlp.PROTOBUF); "
            "sys.stdout.buffer.write(pickle.dumps([(x.trace_id, x.name, x.attrs, x.resource) for x in s]))")
    out = subprocess.run([sys.executable, "-c", code], input=body, capture_output=True, check=True,
                         env={**os.environ, "LLMPULSE_PURE_PYTHON": "1"}).stdout
    import pickle
    theirs = pickle.loads(out)
    ours = [(x.trace_id, x.name, x.attrs, x.resource) for x in otlp.decode_traces(body, otlp.PROTOBUF)]
    assert theirs == ours and len(ours) > 50


def test_the_schema_table_follows_the_installed_descriptors():
    t = wire.table()
    span = t[wire.MESSAGES.index("Span")]
    assert span[3] == (wire.STRING, 0)              # trace_state: checked for UTF-8, never read
    assert span[13][0] == wire.MESSAGE               # links: checked, never read
    link = t[span[13][1]]
    assert link[3] == (wire.STRING, 0)
    assert len(t) > len(wire.MESSAGES)
