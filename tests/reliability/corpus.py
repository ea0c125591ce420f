"""The bad-input corpus: every hostile or broken request llmpulse must survive.

Each case is a request body (or, for `raw` cases, a whole HTTP request) plus
what llmpulse must answer: the status, a word of the message, and which spans
or scores it rejects by reason. Cases with a partially valid batch also carry
the batch's valid part (`<name>.valid.*`): sending that alone to a second
exporter must produce exactly the same metrics.

The files under corpus/ are generated, deterministically, by this module:

    python tests/reliability/corpus.py            # rewrite tests/reliability/corpus/
    python tests/reliability/corpus.py --check    # exit 1 if the committed files differ

Example:

>>> [c.status for c in build() if c.name == "gzip_bomb"]
[413]
"""

from __future__ import annotations

import gzip
import json
import random
import sys
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from otlpdata import logs_request, span, to_json, traces_request  # noqa: E402

CORPUS_DIR = HERE / "corpus"
MAX_BODY_BYTES = 65_536          # bytes: the limit of the exporter the corpus runs against
MAX_SPANS = 1_000                # server.max_spans_per_request of that exporter
START_NS = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z: fixed, so the files never change
FAR_FUTURE_NS = 7_258_118_400 * 10**9  # 2200-01-01T00:00:00Z
SEED = 20261123

PB = "application/x-protobuf"
JS = "application/json"

GENAI = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
         "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o",
         "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 10,
         "gen_ai.response.finish_reasons": ["stop"]}


@dataclass
class Case:
    name: str
    what: str
    status: int
    needle: str = ""                 # a word the error / partial-success message must contain
    path: str = "/v1/traces"
    headers: dict[str, str] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)   # reason -> spans (or scores) rejected
    rejected_family: str = "llmpulse_spans_rejected_total"
    accepted: int = 0                # valid spans (or scores) in the batch that must be counted
    raw: bool = False                # the file is a whole HTTP request, sent over a socket
    file: str = ""
    valid_file: str = ""             # the batch's valid part alone ("" = nothing valid)
    body: bytes = field(default=b"", repr=False)
    valid_body: bytes = field(default=b"", repr=False)

    def manifest(self) -> dict:
        d = asdict(self)
        del d["body"], d["valid_body"]
        return d


class Ids:
    """Deterministic, distinct trace and span ids."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> tuple[bytes, bytes]:
        self.n += 1
        return (b"\x7e" + self.n.to_bytes(15, "big"), b"\x5a" + self.n.to_bytes(7, "big"))


def _span(ids: Ids, attrs: dict, **kw):
    tid, sid = ids()
    kw.setdefault("start_ns", START_NS)
    return span(attrs, trace_id=kw.pop("trace_id", tid), span_id=kw.pop("span_id", sid), **kw)


def _pb(spans) -> bytes:
    return traces_request(spans).SerializeToString()


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(num: int, payload: bytes) -> bytes:
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def _deep_pb(depth: int) -> bytes:
    """A request whose one attribute is an AnyValue array nested `depth` deep (built by hand:
    the protobuf runtime refuses to build it)."""
    value = _field(1, b"x")                                  # AnyValue.string_value
    for _ in range(depth):
        value = _field(5, _field(1, value))                  # AnyValue.array_value.values[0]
    kv = _field(1, b"deep") + _field(2, value)
    sp = (_field(1, b"\x11" * 16) + _field(2, b"\x22" * 8) + _field(5, b"chat")
          + _field(9, kv))
    return _field(1, _field(2, _field(2, sp)))               # resource_spans.scope_spans.spans


def _json_spans(spans: list[dict]) -> bytes:
    return json.dumps({"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "svc"}}]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}]}]}).encode()


def _json_span(ids: Ids, attrs: list, **over) -> dict:
    tid, sid = ids()
    d = {"traceId": tid.hex(), "spanId": sid.hex(), "name": "chat gpt-4o", "kind": 3,
         "startTimeUnixNano": str(START_NS), "endTimeUnixNano": str(START_NS + 10**9),
         "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                        {"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}},
                        {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}}] + attrs}
    d.update(over)
    return d


def _logs(records) -> bytes:
    req = logs_request(records)
    for rl in req.resource_logs:
        for sl in rl.scope_logs:
            for rec in sl.log_records:
                rec.time_unix_nano = START_NS     # fixed, so the file never changes
    return req.SerializeToString()


def _raw(head: str, body: bytes = b"") -> bytes:
    return head.replace("\n", "\r\n").encode() + b"\r\n" + body


def build() -> list[Case]:
    rnd = random.Random(SEED)
    ids = Ids()
    cases: list[Case] = []

    def add(case: Case) -> None:
        cases.append(case)

    good = _pb([_span(ids, GENAI)])

    # ---- the body as a whole is unusable: 400 / 413 / 415, nothing recorded
    add(Case("truncated_protobuf", "a valid request cut in half", 400, "protobuf",
             headers={"Content-Type": PB}, body=good[: len(good) // 2]))
    noise = bytes([0xFF, 0xFF]) + rnd.randbytes(510)
    add(Case("random_protobuf", "512 random bytes labelled as protobuf", 400, "protobuf",
             headers={"Content-Type": PB}, body=noise))
    add(Case("protobuf_labelled_json", "a protobuf body sent as application/json", 400, "UTF-8",
             headers={"Content-Type": JS}, body=good))
    add(Case("json_labelled_protobuf", "an OTLP-JSON body sent as application/x-protobuf", 400, "protobuf",
             headers={"Content-Type": PB}, body=to_json(traces_request([_span(ids, GENAI)]))))
    add(Case("wrong_content_type", "text/plain", 415, "content type",
             headers={"Content-Type": "text/plain"}, body=good))
    add(Case("missing_content_type", "no Content-Type header", 415, "content type", body=good))
    add(Case("unknown_content_encoding", "Content-Encoding: br", 415, "encoding",
             headers={"Content-Type": PB, "Content-Encoding": "br"}, body=good))
    add(Case("broken_gzip", "a gzip header followed by garbage", 400, "gzip",
             headers={"Content-Type": PB, "Content-Encoding": "gzip"},
             body=b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + rnd.randbytes(64)))
    add(Case("truncated_gzip", "a gzip stream cut short", 400, "gzip",
             headers={"Content-Type": PB, "Content-Encoding": "gzip"}, body=_gz(good)[:-12]))
    add(Case("gzip_trailing_garbage", "a whole gzip member followed by bytes that are not gzip", 400, "gzip",
             headers={"Content-Type": PB, "Content-Encoding": "gzip"}, body=_gz(good) + b"not gzip at all"))
    add(Case("gzip_too_many_members", "1025 empty gzip members (concatenated members are decoded in turn)", 400,
             "members", headers={"Content-Type": PB, "Content-Encoding": "gzip"}, body=_gz(b"") * 1025))
    add(Case("gzip_bomb", "40 MB of zeros in 40 KB of gzip", 413, "decompressed",
             headers={"Content-Type": PB, "Content-Encoding": "gzip"}, body=_gz(b"\x00" * 40_000_000)))
    add(Case("over_limit_before_decompression", "one byte over max_body_bytes", 413, "limit",
             headers={"Content-Type": PB}, body=b"\x00" * (MAX_BODY_BYTES + 1)))
    many = _pb([_span(ids, {**GENAI, "pad": "p" * 400}) for _ in range(200)])
    assert len(many) > MAX_BODY_BYTES
    add(Case("over_limit_after_decompression", "a valid 100 KB request, gzipped under the limit", 413,
             "decompressed", headers={"Content-Type": PB, "Content-Encoding": "gzip"}, body=_gz(many)))
    huge = _json_spans([_json_span(ids, []) for _ in range(8_000)])
    add(Case("huge_json_gzipped", f"{len(huge) // 1_000_000} MB of OTLP-JSON, gzipped", 413, "decompressed",
             headers={"Content-Type": JS, "Content-Encoding": "gzip"}, body=_gz(huge)))
    add(Case("deeply_nested_json", "20000 nested arrays", 400, "JSON",
             headers={"Content-Type": JS}, body=b"[" * 20_000 + b"]" * 20_000))
    deep = '{"stringValue": "x"}'
    for _ in range(1500):
        deep = '{"arrayValue": {"values": [' + deep + ']}}'
    add(Case("deeply_nested_json_anyvalue", "an attribute value nested 1500 deep", 400, "nested",
             headers={"Content-Type": JS},
             body=('{"resourceSpans": [{"scopeSpans": [{"spans": [{"attributes": [{"key": "deep", "value": '
                   + deep + '}]}]}]}]}').encode()))
    add(Case("deeply_nested_protobuf_anyvalue", "an attribute value nested 200 deep", 400, "protobuf",
             headers={"Content-Type": PB}, body=_deep_pb(200)))
    add(Case("invalid_utf8_json", "JSON with bytes that are not UTF-8", 400, "UTF-8",
             headers={"Content-Type": JS}, body=b'{"resourceSpans": [{"x": "\xff\xfe\xc3"}]}'))
    add(Case("invalid_utf8_protobuf", "a protobuf string field that is not UTF-8", 400, "protobuf",
             headers={"Content-Type": PB}, body=good.replace(b"chat gpt-4o", b"chat \xff\xfe\xc3-4o")))
    add(Case("json_not_an_object", "a JSON array at the top", 400, "object",
             headers={"Content-Type": JS}, body=b"[1, 2, 3]"))
    add(Case("json_wrong_shape", "attributes that are a number", 400, "attributes",
             headers={"Content-Type": JS},
             body=b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"attributes": 5}]}]}]}'))
    add(Case("json_int_not_a_number", "startTimeUnixNano is not a number", 400, "startTimeUnixNano",
             headers={"Content-Type": JS}, body=_json_spans([_json_span(ids, [], startTimeUnixNano="soon")])))

    add(Case("json_int_beyond_int64", "input tokens as a 401-digit intValue", 400, "64-bit",
             headers={"Content-Type": JS}, body=_json_spans([_json_span(ids, [
                 {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "1" + "0" * 400}}])])))
    add(Case("json_time_beyond_uint64", "endTimeUnixNano of 2**64", 400, "64-bit",
             headers={"Content-Type": JS}, body=_json_spans([_json_span(ids, [], endTimeUnixNano=str(2**64))])))
    add(Case("json_bytes_value_not_ascii", "a bytesValue that is not base64 text", 400, "base64",
             headers={"Content-Type": JS}, body=_json_spans([_json_span(ids, [
                 {"key": "blob", "value": {"bytesValue": "\u00e9t\u00e9"}}])])))
    tiny = b"\x12\x00" * 30_000                               # 30000 empty spans in 60 KB
    add(Case("many_empty_spans", f"30000 empty spans in 60 KB (limit {MAX_SPANS} per request)", 413,
             "max_spans_per_request", headers={"Content-Type": PB}, body=_field(1, _field(2, tiny))))
    add(Case("many_empty_resources", "20000 empty resourceSpans in OTLP-JSON", 413, "max_spans_per_request",
             headers={"Content-Type": JS}, body=b'{"resourceSpans": [' + b",".join([b"{}"] * 20_000) + b"]}"))

    # ---- partly valid batches: 200 with partial_success, the valid spans counted
    def partial(name: str, what: str, bad_attrs: dict, reason: str, needle: str, **span_kw) -> None:
        valid = [_span(ids, GENAI), _span(ids, {**GENAI, "gen_ai.usage.input_tokens": 7})]
        bad = _span(ids, {**GENAI, **bad_attrs}, **span_kw)
        add(Case(name, what, 200, needle, headers={"Content-Type": PB}, rejected={reason: 1}, accepted=2,
                 body=_pb([valid[0], bad, valid[1]]), valid_body=_pb(valid)))

    partial("nan_input_tokens", "input tokens NaN", {"gen_ai.usage.input_tokens": float("nan")},
            "invalid_tokens", "input tokens")
    partial("inf_output_tokens", "output tokens +inf", {"gen_ai.usage.output_tokens": float("inf")},
            "invalid_tokens", "output tokens")
    partial("negative_input_tokens", "input tokens -5", {"gen_ai.usage.input_tokens": -5},
            "invalid_tokens", "input tokens")
    partial("fractional_tokens", "output tokens 2.5", {"gen_ai.usage.output_tokens": 2.5},
            "invalid_tokens", "output tokens")
    partial("text_tokens", "input tokens 'many'", {"gen_ai.usage.input_tokens": "many"},
            "invalid_tokens", "input tokens")
    partial("negative_cache_tokens", "cache read tokens -1", {"gen_ai.usage.cache_read.input_tokens": -1},
            "invalid_tokens", "cache read")
    partial("nan_cost", "span cost NaN", {"gen_ai.usage.cost": float("nan")}, "invalid_cost", "cost")
    partial("negative_cost", "span cost -1", {"gen_ai.usage.cost": -1.0}, "invalid_cost", "cost")
    partial("inf_eval_score_attribute", "OpenInference evaluation score -inf",
            {"evaluations.0.evaluation.name": "relevance", "evaluations.0.evaluation.score": float("-inf")},
            "invalid_score", "score")
    partial("nan_eval_score_event", "gen_ai.evaluation.result event with a NaN score", {},
            "invalid_score", "score",
            events=[("gen_ai.evaluation.result", 0.5, {"gen_ai.evaluation.name": "faithfulness",
                                                       "gen_ai.evaluation.score.value": float("nan")})])
    partial("end_before_start", "end time 1 s before start", {}, "invalid_time", "before start",
            duration_s=-1.0)
    partial("missing_start", "start time 0", {}, "invalid_time", "start", start_ns=0)
    partial("far_future", "ends in the year 2200", {}, "future_timestamp", "future", start_ns=FAR_FUTURE_NS)
    partial("zero_trace_id", "trace id all zeros", {}, "invalid_id", "trace id", trace_id=b"\x00" * 16)
    partial("short_trace_id", "trace id of 3 bytes", {}, "invalid_id", "trace id", trace_id=b"abc")
    partial("empty_span_id", "no span id", {}, "invalid_id", "span id", span_id=b"")
    partial("long_span_id", "span id of 9 bytes", {}, "invalid_id", "span id", span_id=b"123456789")

    # JSON ids that are not hex (nor base64 of the right size)
    v1, v2 = _json_span(ids, []), _json_span(ids, [])
    badj = _json_span(ids, [], traceId="not-a-trace-id-zzzzzzzzzzzzzzzzz")
    add(Case("json_bad_trace_id", "traceId that is neither hex nor base64", 200, "trace id",
             headers={"Content-Type": JS}, rejected={"invalid_id": 1}, accepted=2,
             body=_json_spans([v1, badj, v2]), valid_body=_json_spans([v1, v2])))
    v1, v2 = _json_span(ids, []), _json_span(ids, [])
    badj = _json_span(ids, [{"key": "gen_ai.usage.input_tokens", "value": {"doubleValue": "NaN"}}])
    add(Case("json_nan_tokens", "input tokens as the JSON double \"NaN\"", 200, "input tokens",
             headers={"Content-Type": JS}, rejected={"invalid_tokens": 1}, accepted=2,
             body=_json_spans([v1, badj, v2]), valid_body=_json_spans([v1, v2])))

    # ---- odd but valid: accepted and counted (bounded labels, nothing leaks)
    big = [_span(ids, {**GENAI, "gen_ai.request.model": "m" * 4000, "gen_ai.input.messages": "p" * 40_000,
                       "gen_ai.output.messages": "c" * 8_000})]
    add(Case("enormous_attribute_values", "a 4 KB model name and a 48 KB prompt: the label is cut", 200,
             headers={"Content-Type": PB}, accepted=1, body=_pb(big), valid_body=_pb(big)))
    wide = [_span(ids, {**GENAI, **{f"junk.{i}": i for i in range(2000)}})]
    add(Case("two_thousand_attributes", "one GenAI span with 2000 extra attributes", 200,
             headers={"Content-Type": PB}, accepted=1, body=_pb(wide), valid_body=_pb(wide)))
    lone = _json_spans([_json_span(ids, [{"key": "gen_ai.request.model", "value": {"stringValue": "gpt\ud800"}}])])
    assert b"gpt\\ud800" in lone
    add(Case("json_lone_surrogate", "a model name with an unpaired UTF-16 surrogate escape: becomes '?'", 200,
             headers={"Content-Type": JS}, accepted=1, body=lone, valid_body=lone))
    typed = [_span(ids, {"openinference.span.kind": "LLM", "llm.system": True, "llm.provider": 7,
                         "llm.model_name": "gpt-4o", "llm.token_count.prompt": 3})]
    add(Case("non_string_provider_attributes", "llm.system true and llm.provider 7 (OpenInference)", 200,
             headers={"Content-Type": PB}, accepted=1, body=_pb(typed), valid_body=_pb(typed)))
    many_small = _json_spans([_json_span(ids, []) for _ in range(150)])
    assert len(many_small) < MAX_BODY_BYTES
    add(Case("many_json_spans", "150 spans in one OTLP-JSON request under the limit", 200,
             headers={"Content-Type": JS}, accepted=150, body=many_small, valid_body=many_small))

    # ---- logs and scores
    tid, sid = ids()
    ok_rec = (tid, sid, {"gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 0.75})
    bad_rec = (tid, sid, {"gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": float("nan")})
    add(Case("log_nan_eval_score", "an evaluation log record with a NaN score beside a valid one", 200, "finite",
             path="/v1/logs", headers={"Content-Type": PB}, rejected={"invalid_score": 1},
             rejected_family="llmpulse_scores_rejected_total", accepted=1,
             body=_logs([ok_rec, bad_rec]),
             valid_body=_logs([ok_rec])))
    add(Case("log_truncated", "a logs request cut in half", 400, "protobuf", path="/v1/logs",
             headers={"Content-Type": PB}, body=_logs([ok_rec])[:20]))
    okscore = {"trace_id": tid.hex(), "name": "helpfulness", "value": 0.5}
    add(Case("score_nan_and_inf", "scores NaN and 1e999 beside a valid one", 200, "finite", path="/v1/scores",
             headers={"Content-Type": JS}, rejected={"invalid_score": 2},
             rejected_family="llmpulse_scores_rejected_total", accepted=1,
             body=('{"scores": [' + json.dumps(okscore) + ', {"trace_id": "' + tid.hex()
                   + '", "name": "x", "value": NaN}, {"trace_id": "' + tid.hex()
                   + '", "name": "x", "value": 1e999}]}').encode(),
             valid_body=json.dumps({"scores": [okscore]}).encode()))
    add(Case("score_deep_json", "20000 nested arrays to /v1/scores", 400, "JSON", path="/v1/scores",
             headers={"Content-Type": JS}, body=b"[" * 20_000 + b"]" * 20_000))
    add(Case("score_bad_ids", "a score whose trace id is not hex", 400, "trace_id", path="/v1/scores",
             headers={"Content-Type": JS}, rejected={"invalid_id": 1},
             rejected_family="llmpulse_scores_rejected_total",
             body=b'{"trace_id": "' + b"g" * 32 + b'", "name": "x", "value": 1}'))

    # ---- broken HTTP framing, sent over a raw socket
    add(Case("no_content_length", "POST without Content-Length or chunking", 411, "Content-Length", raw=True,
             body=_raw(f"POST /v1/traces HTTP/1.1\nHost: x\nContent-Type: {PB}\nConnection: close\n")))
    add(Case("content_length_not_a_number", "Content-Length: ten", 400, "Content-Length", raw=True,
             body=_raw(f"POST /v1/traces HTTP/1.1\nHost: x\nContent-Type: {PB}\nContent-Length: ten\n"
                       "Connection: close\n")))
    add(Case("body_shorter_than_content_length", "Content-Length 1000, 10 bytes, then EOF", 400, "shorter",
             raw=True, body=_raw(f"POST /v1/traces HTTP/1.1\nHost: x\nContent-Type: {PB}\nContent-Length: 1000\n"
                                 "Connection: close\n", b"0123456789")))
    add(Case("malformed_chunk_size", "chunked body with a chunk size that is not hex", 400, "chunked", raw=True,
             body=_raw(f"POST /v1/traces HTTP/1.1\nHost: x\nContent-Type: {PB}\nTransfer-Encoding: chunked\n"
                       "Connection: close\n", b"zz\r\nhello\r\n0\r\n\r\n")))
    add(Case("chunked_over_limit", "chunked body that exceeds max_body_bytes", 413, "limit", raw=True,
             body=_raw(f"POST /v1/traces HTTP/1.1\nHost: x\nContent-Type: {PB}\nTransfer-Encoding: chunked\n"
                       "Connection: close\n", f"{MAX_BODY_BYTES + 1:x}\r\n".encode()
                       + b"\x00" * (MAX_BODY_BYTES + 1) + b"\r\n0\r\n\r\n")))
    # issue 13, item 9 (and item 1: a chunk size of -1 read the body until the connection closed)
    framing = {
        "content_length_signed": ("Content-Length: +2\n", b"ab", 400, "Content-Length"),
        "content_length_underscored": ("Content-Length: 1_0\n", b"0123456789", 400, "Content-Length"),
        "content_length_twice": ("Content-Length: 2\nContent-Length: 3\n", b"abc", 400, "Content-Length"),
        "content_length_and_chunked": ("Content-Length: 5\nTransfer-Encoding: chunked\n", b"0\r\n\r\n", 400,
                                       "Transfer-Encoding"),
        "chunk_size_negative": ("Transfer-Encoding: chunked\n", b"-1\r\n" + b"\x00" * 64, 400, "chunk"),
        "chunk_size_hex_prefix": ("Transfer-Encoding: chunked\n", b"0x2\r\nab\r\n0\r\n\r\n", 400, "chunk"),
        "chunk_size_underscored": ("Transfer-Encoding: chunked\n", b"1_0\r\n" + b"a" * 16 + b"\r\n0\r\n\r\n",
                                   400, "chunk"),
        "transfer_coding_gzip_chunked": ("Transfer-Encoding: gzip, chunked\n", b"0\r\n\r\n", 400,
                                         "transfer"),
        "transfer_coding_chunked_gzip": ("Transfer-Encoding: chunked, gzip\n", b"0\r\n\r\n", 400, "transfer"),
        "header_space_before_colon": ("Content-Length : 0\n", b"", 400, "header"),
        "header_folded": ("X-A: b\n c\nContent-Length: 0\n", b"", 400, "header"),
    }
    for name, (head, tail, status, needle) in framing.items():
        add(Case(name, head.strip().replace("\n", ", "), status, needle, raw=True,
                 body=_raw(f"POST /v1/traces HTTP/1.1\nHost: x\nContent-Type: {PB}\n{head}Connection: close\n",
                           tail)))
    add(Case("unknown_path", "POST /v1/profiles (not served)", 404, "unknown path", path="/v1/profiles",
             headers={"Content-Type": PB}, body=good))
    add(Case("score_over_limit", "/v1/scores body over max_body_bytes", 413, "limit", path="/v1/scores",
             headers={"Content-Type": JS}, body=b'{"scores": [' + b" " * MAX_BODY_BYTES + b"]}"))
    add(Case("score_huge_integer", "a score value of 400 digits beside a valid one", 200, "finite",
             path="/v1/scores", headers={"Content-Type": JS}, rejected={"invalid_score": 1},
             rejected_family="llmpulse_scores_rejected_total", accepted=1,
             body=('{"scores": [' + json.dumps(okscore) + ', {"trace_id": "' + tid.hex()
                   + '", "name": "x", "value": ' + "9" * 400 + '}]}').encode(),
             valid_body=json.dumps({"scores": [okscore]}).encode()))
    # OTLP metrics (issue 12, item 8): accepted and counted as ignored; a body that is not one is a 400
    add(Case("metrics_garbage", "/v1/metrics with a body that is not protobuf", 400, "metrics request",
             path="/v1/metrics", headers={"Content-Type": PB}, body=b"\xff\xff\xff\xff"))

    # past the bounds of spans.*: one broken span must not add 2^62 tokens, 1e300 dollars or 56 years
    # (added last, so the ids of the cases above stay as committed)
    partial("huge_input_tokens", "input tokens 2^62", {"gen_ai.usage.input_tokens": 2**62},
            "invalid_tokens", "bounds.max_tokens")
    partial("huge_web_searches", "10^12 web searches (pydantic-ai's count)",
            {"gen_ai.usage.details.web_search_requests": 10**12}, "invalid_tokens", "bounds.max_tokens")
    partial("huge_cost", "span cost 1e300 dollars", {"gen_ai.usage.cost": 1e300}, "invalid_cost", "bounds.max_cost_usd")
    partial("start_in_seconds", "start time sent in seconds, end in nanoseconds (a span of 56 years)", {},
            "invalid_time", "bounds.max_duration_seconds", start_ns=START_NS // 10**9,
            duration_s=(START_NS - START_NS // 10**9) / 1e9)
    partial("huge_eval_score_event", "gen_ai.evaluation.result event with a score of 1e300", {},
            "invalid_score", "bounds.max_abs_score",
            events=[("gen_ai.evaluation.result", 0.5, {"gen_ai.evaluation.name": "faithfulness",
                                                       "gen_ai.evaluation.score.value": 1e300})])
    add(Case("score_huge_value", "a score value of 1e300 beside a valid one", 200, "bounds.max_abs_score",
             path="/v1/scores", headers={"Content-Type": JS}, rejected={"invalid_score": 1},
             rejected_family="llmpulse_scores_rejected_total", accepted=1,
             body=('{"scores": [' + json.dumps(okscore) + ', {"trace_id": "' + tid.hex()
                   + '", "name": "x", "value": 1e300}]}').encode(),
             valid_body=json.dumps({"scores": [okscore]}).encode()))

    for c in cases:
        ext = "http" if c.raw else ("json" if c.headers.get("Content-Type") == JS else "bin")
        if c.headers.get("Content-Encoding") == "gzip":
            ext += ".gz"
        c.file = f"{c.name}.{ext}"
        if c.valid_body == c.body:
            c.valid_file = c.file          # the whole batch is valid
        elif c.valid_body:
            c.valid_file = f"{c.name}.valid.{'json' if c.headers.get('Content-Type') == JS else 'bin'}"
    return cases


README_HEAD = """# Bad-input corpus

Generated by `python tests/reliability/corpus.py` (deterministic; do not edit by hand) and
replayed by `tests/reliability/test_bad_input.py` against an exporter with
`server.max_body_bytes: {limit}` and `server.max_spans_per_request: {spans}`. `manifest.json` holds each case's headers, files and
expectations. For every case the test checks the status, that the message contains the
word shown, that the process keeps serving, that the valid spans of the batch are counted
(compared with an exporter that received only the valid part, `*.valid.*`) and that nothing
but the rejection counters changes. `raw` cases are whole HTTP requests sent over a socket.

| case | what | status | message contains | rejected (reason: n) | valid items kept |
|---|---|---|---|---|---|
"""


def readme(cases: list[Case]) -> str:
    rows = []
    for c in cases:
        rej = ", ".join(f"{r}: {n}" for r, n in c.rejected.items()) or "-"
        path = "" if c.path == "/v1/traces" else f" ({c.path})"
        kind = " (raw HTTP)" if c.raw else ""
        rows.append(f"| `{c.name}` | {c.what}{path}{kind} | {c.status} | {c.needle or '-'} | {rej} | {c.accepted} |")
    return README_HEAD.format(limit=MAX_BODY_BYTES, spans=MAX_SPANS) + "\n".join(rows) + "\n"


def write(cases: list[Case], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    (folder / "README.md").write_text(readme(cases))
    for c in cases:
        (folder / c.file).write_bytes(c.body)
        if c.valid_file and c.valid_file != c.file:
            (folder / c.valid_file).write_bytes(c.valid_body)
    manifest = {"max_body_bytes": MAX_BODY_BYTES, "max_spans_per_request": MAX_SPANS, "cases": [c.manifest() for c in cases]}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def load(folder: Path = CORPUS_DIR) -> list[Case]:
    """The committed corpus, bodies read from their files."""
    manifest = json.loads((folder / "manifest.json").read_text())
    out = []
    for d in manifest["cases"]:
        c = Case(**d)
        c.body = (folder / c.file).read_bytes()
        c.valid_body = (folder / c.valid_file).read_bytes() if c.valid_file else b""
        out.append(c)
    return out


def _same_gzip(a: bytes, b: bytes) -> bool:
    """Another zlib may compress differently; the content is what must match."""
    try:
        return gzip.decompress(a) == gzip.decompress(b)
    except (OSError, EOFError, zlib.error):
        return False


def differences(folder: Path = CORPUS_DIR) -> list[str]:
    """Files that differ from what build() produces (gzip compared after decompression)."""
    built = {c.name: c for c in build()}
    committed = {c.name: c for c in load(folder)}
    problems = sorted(set(built) ^ set(committed))
    if (folder / "README.md").read_text() != readme(list(built.values())):
        problems.append("README.md")
    for name in set(built) & set(committed):
        a, b = built[name], committed[name]
        if a.manifest() != b.manifest():
            problems.append(f"{name}: manifest entry")
        same = a.body == b.body or (a.file.endswith(".gz") and _same_gzip(a.body, b.body))
        if not same or a.valid_body != b.valid_body:
            problems.append(f"{name}: body")
    return problems


if __name__ == "__main__":
    if "--check" in sys.argv:
        diff = differences()
        print("\n".join(diff) or "corpus up to date")
        sys.exit(1 if diff else 0)
    write(build(), CORPUS_DIR)
    print(f"wrote {len(build())} cases to {CORPUS_DIR}")
