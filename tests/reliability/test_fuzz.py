"""Fuzzing decode + normalise + record + exposition with hypothesis.

Three generators: protobuf (and JSON) bodies mutated from the committed seed
corpus, random OTLP-JSON structures, and spans with random attribute values and
types. Whatever comes in, the only exception allowed out of the pipeline is
`otlp.DecodeError` (a 400) — per-span problems are `SpanRejected`, counted
inside — the /metrics exposition still renders in both formats, and the Python
memory one request allocates stays within a bound proportional to its size.

CI runs a short, derandomized pass (a few seconds). The long run:

    LLMPULSE_FUZZ_EXAMPLES=20000 python -m pytest tests/reliability/test_fuzz.py -q -p no:cacheprovider

(its last result is in docs/reliability.md).
"""

from __future__ import annotations

import json
import math
import os
import tracemalloc

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from llmpulse import dialects, otlp
from llmpulse.config import load_config
from llmpulse.metrics import Metrics
from llmpulse.otlp import RawEvent, RawSpan
from llmpulse.pipeline import Pipeline
from llmpulse.pricing import PriceTable

from . import corpus

EXAMPLES = int(os.environ.get("LLMPULSE_FUZZ_EXAMPLES", "50"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=EXAMPLES <= 1000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
MEMORY_PER_BODY_BYTE = 400        # bytes of Python objects per byte of request, worst case allowed
MEMORY_BASE_BYTES = 4 << 20       # plus this much for any request
MAX_SPANS = 2_000                 # server.max_spans_per_request of the fuzzed pipeline

SEEDS = [c for c in corpus.load() if c.valid_body and c.path == "/v1/traces"]
PB_SEEDS = [c.valid_body for c in SEEDS if c.headers.get("Content-Type") == corpus.PB]
JSON_SEEDS = [c.valid_body for c in SEEDS if c.headers.get("Content-Type") == corpus.JS]
LOG_SEEDS = [c.valid_body for c in corpus.load() if c.path == "/v1/logs" and c.valid_body]

KEYS = sorted({*dialects.INPUT_TOKENS, *dialects.OUTPUT_TOKENS, *dialects.CACHE_READ, *dialects.CACHE_WRITE,
               *dialects.REASONING, *dialects.TTFT, *dialects.TPOT, *dialects.STREAM, *dialects.SPAN_COST,
               *dialects.CONVERSATION, *dialects.AGENT, *dialects.TOOL, *dialects.FINISH,
               *dialects.REQUEST_MODEL, *dialects.RESPONSE_MODEL,
               "gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system",
               "openinference.span.kind", "traceloop.span.kind", "llm.request.type", "llm.invocation_parameters",
               "error.type", "service.name", "service.version", "evaluations.0.evaluation.name",
               "evaluations.0.evaluation.score", "evaluations.0.evaluation.label", "gen_ai.input.messages",
               "gen_ai.output.messages", "llmpulse.guardrail.triggered", "llmpulse.retry", "app.feature"})
WORDS = ["chat", "LLM", "CHAIN", "TOOL", "openai", "OpenAI", "anthropic", "gpt-4o", "true", "1", "-1", "NaN",
         "Infinity", "1e400", "9" * 40, '["stop", "length"]', '{"model": "x", "stream": true}', "[", "{",
         "", " ", "\x00", "x\ud800y", "é" * 3, "embeddings", "execute_tool", "invoke_agent"]


def fresh_pipeline(capture: bool = True) -> tuple[Pipeline, CollectorRegistry]:
    cfg = load_config(overrides={"server": {"max_spans_per_request": MAX_SPANS},
                                 "metrics": {"dimensions": [{"name": "feature", "attributes": ["app.feature"]}]}},
                      environ={})
    reg = CollectorRegistry()
    metrics = Metrics(cfg, reg)
    return Pipeline(cfg, metrics, PriceTable.load([]), None, capture_content=capture), reg


PIPE, REG = fresh_pipeline()


def renders(reg: CollectorRegistry) -> None:
    generate_latest(reg).decode("utf-8")
    generate_openmetrics(reg).decode("utf-8")


def bounded(fn, size: int):
    """Run fn() and check the Python memory it allocated at its peak."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak <= MEMORY_BASE_BYTES + MEMORY_PER_BODY_BYTE * size, (peak, size)
    return out


def ingest(kind: str, body: bytes, ctype: str) -> None:
    try:
        if kind == "traces":
            out = bounded(lambda: PIPE.traces(body, ctype), len(body))
            otlp.trace_response(ctype, out.rejected, out.message)
        elif kind == "logs":
            out = bounded(lambda: PIPE.logs(body, ctype), len(body))
            otlp.logs_response(ctype, out.rejected, out.message)
        else:
            out = bounded(lambda: PIPE.scores(body), len(body))
            json.dumps({"accepted": out.accepted, "rejected": out.rejected, "errors": out.errors})
    except otlp.DecodeError as exc:
        otlp.status_body(ctype, 3, str(exc))      # the error body must encode too
    renders(REG)


# ---- 1. bodies mutated from the seed corpus

def mutate(seed: bytes, ops: list[tuple[int, int, bytes]]) -> bytes:
    b = bytearray(seed)
    for op, pos, data in ops:
        i = pos % (len(b) + 1)
        if op == 0 and b:                    # flip a byte
            b[i % len(b)] ^= (data[0] if data else 0xFF) or 1
        elif op == 1:                        # insert bytes
            b[i:i] = data
        elif op == 2:                        # delete a range
            del b[i:i + 1 + len(data)]
        elif op == 3:                        # duplicate a slice (repeated fields, nested lengths)
            b[i:i] = b[i:i + 1 + 4 * len(data)]
        elif op == 4:                        # truncate
            del b[i:]
        else:                                # overwrite with a varint-looking byte run
            b[i:i + len(data)] = bytes(x | 0x80 for x in data)
    return bytes(b)


MUTATIONS = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 1 << 20), st.binary(max_size=6)),
                     min_size=1, max_size=6)


@FUZZ
@given(seed=st.sampled_from(PB_SEEDS), ops=MUTATIONS)
def test_mutated_protobuf_traces(seed, ops):
    ingest("traces", mutate(seed, ops), otlp.PROTOBUF)


@FUZZ
@given(seed=st.sampled_from(JSON_SEEDS), ops=MUTATIONS)
def test_mutated_json_traces(seed, ops):
    ingest("traces", mutate(seed, ops), otlp.JSON)


@FUZZ
@given(seed=st.sampled_from(LOG_SEEDS), ops=MUTATIONS, json_form=st.booleans())
def test_mutated_logs(seed, ops, json_form):
    ingest("logs", mutate(seed, ops), otlp.JSON if json_form else otlp.PROTOBUF)


# ---- 2. random OTLP-JSON structures

json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                        st.text(max_size=12), st.sampled_from(WORDS))
json_any = st.recursive(json_scalar, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c,
                                                                                          max_size=3),
                        max_leaves=8)
int_like = st.one_of(st.integers(), st.integers(-(2**63), 2**64 - 1).map(str), st.sampled_from(WORDS), json_any)
any_value = st.deferred(lambda: st.one_of(
    st.builds(lambda v: {"stringValue": v}, st.one_of(st.text(max_size=30), st.sampled_from(WORDS), json_scalar)),
    st.builds(lambda v: {"intValue": v}, int_like),
    st.builds(lambda v: {"doubleValue": v}, st.one_of(st.floats(), st.sampled_from(["NaN", "Infinity", "-1", "x"]))),
    st.builds(lambda v: {"boolValue": v}, json_scalar),
    st.builds(lambda v: {"arrayValue": {"values": v}}, st.lists(any_value, max_size=3)),
    st.builds(lambda v: {"kvlistValue": {"values": v}}, st.lists(key_value, max_size=3)),
    st.builds(lambda v: {"bytesValue": v}, st.one_of(st.text(max_size=8), json_scalar)),
    json_any,
))
key_value = st.deferred(lambda: st.one_of(
    st.fixed_dictionaries({"key": st.one_of(st.sampled_from(KEYS), st.text(max_size=10)), "value": any_value}),
    json_any))
hex_id = st.one_of(st.binary(min_size=16, max_size=16).map(bytes.hex), st.binary(min_size=8, max_size=8).map(bytes.hex),
                   st.sampled_from(["", "0" * 32, "0" * 16, "zz" * 16, "AAAAAAAAAAAAAAAAAAAAAA=="]), json_scalar)
event = st.fixed_dictionaries({}, optional={
    "name": st.sampled_from(["gen_ai.evaluation.result", "exception", "gen_ai.content.completion.chunk",
                             "first_token", "x"]),
    "timeUnixNano": int_like, "attributes": st.one_of(st.lists(key_value, max_size=4), json_any)})
json_span = st.fixed_dictionaries({}, optional={
    "traceId": hex_id, "spanId": hex_id, "parentSpanId": hex_id,
    "name": st.one_of(st.sampled_from(["chat gpt-4o", "execute_tool search", "embeddings", "x"]), json_scalar),
    "kind": int_like, "startTimeUnixNano": int_like, "endTimeUnixNano": int_like,
    "attributes": st.one_of(st.lists(key_value, max_size=10), json_any),
    "events": st.one_of(st.lists(event, max_size=3), json_any),
    "status": st.one_of(st.fixed_dictionaries({}, optional={"code": int_like, "message": json_scalar}), json_any),
})
json_doc = st.fixed_dictionaries({}, optional={"resourceSpans": st.one_of(st.lists(st.fixed_dictionaries({}, optional={
    "resource": st.one_of(st.fixed_dictionaries({"attributes": st.lists(key_value, max_size=4)}), json_any),
    "scopeSpans": st.one_of(st.lists(st.fixed_dictionaries({}, optional={
        "scope": st.one_of(st.fixed_dictionaries({"name": json_scalar}), json_any),
        "spans": st.one_of(st.lists(json_span, max_size=4), json_any)}), max_size=2), json_any),
}), max_size=2), json_any)})


@FUZZ
@given(doc=json_doc)
def test_random_otlp_json(doc):
    ingest("traces", json.dumps(doc).encode(), otlp.JSON)


@FUZZ
@given(doc=st.one_of(json_any, st.lists(st.fixed_dictionaries({}, optional={
    "trace_id": hex_id, "span_id": hex_id, "name": json_scalar, "value": json_scalar, "label": json_scalar,
    "kind": st.one_of(st.sampled_from(["eval", "feedback"]), json_scalar)}), max_size=4)))
def test_random_scores(doc):
    ingest("scores", json.dumps(doc).encode(), otlp.JSON)


# ---- 3. spans with random attribute values and types, straight into the normaliser

int64 = st.integers(-(2**63), 2**63 - 1)
attr_value = st.deferred(lambda: st.one_of(
    st.none(), st.booleans(), int64, st.floats(), st.text(max_size=20), st.sampled_from(WORDS), st.binary(max_size=8),
    st.lists(st.one_of(st.booleans(), int64, st.floats(), st.text(max_size=8)), max_size=3),
    st.dictionaries(st.text(max_size=5), st.one_of(int64, st.text(max_size=5)), max_size=2)))
attrs = st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=12)), attr_value, max_size=14)
ids32 = st.one_of(st.binary(min_size=16, max_size=16).map(bytes.hex), st.sampled_from(["", "0" * 32, "!"]))
ids16 = st.one_of(st.binary(min_size=8, max_size=8).map(bytes.hex), st.sampled_from(["", "0" * 16, "!"]))
ts = st.one_of(st.integers(0, 2**64 - 1), st.just(corpus.START_NS), st.integers(corpus.START_NS - 10**12,
                                                                               corpus.START_NS + 10**12))
raw_event = st.builds(RawEvent, st.sampled_from(["gen_ai.evaluation.result", "exception", "first_token",
                                                 "llm.content.completion.chunk", "x"]), ts, attrs)
raw_span = st.builds(RawSpan, ids32, ids16, ids16, st.one_of(st.sampled_from(["chat gpt-4o", "x"]), st.text(max_size=20)),
                     st.integers(0, 5), ts, ts, st.integers(-1, 3), st.text(max_size=10), attrs,
                     st.lists(raw_event, max_size=3), attrs, st.text(max_size=10))


@FUZZ
@given(spans=st.lists(raw_span, min_size=1, max_size=4))
def test_random_attribute_values(spans):
    normalize = PIPE.normalizer.normalize
    for s in spans:
        try:
            call = normalize(s, corpus.START_NS)
        except dialects.SpanRejected as exc:
            assert exc.reason and str(exc)
            continue
        if call is not None:
            for v in (call.input_tokens, call.output_tokens, call.cost_usd, call.span_cost_usd, call.ttft_s):
                assert v is None or (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0), v
    out = PIPE.spans(spans)          # and through dedupe, pricing and recording
    assert out.accepted + out.rejected + out.skipped == len(spans)
    renders(REG)


def test_memory_bound_holds_for_the_worst_body_under_the_span_limit():
    """Empty spans are the cheapest bytes that become objects: a body of exactly the limit."""
    body = corpus._field(1, corpus._field(2, b"\x12\x00" * (MAX_SPANS - 2)))
    pipe, _ = fresh_pipeline()
    out = bounded(lambda: pipe.traces(body, otlp.PROTOBUF), len(body))
    assert out.rejected == MAX_SPANS - 2            # every empty span has no valid ids
