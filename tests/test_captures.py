"""Golden captures from the real instrumentation libraries, replayed over HTTP into real exporters (one per capture).

Each capture (tests/captures/<emitter>-<version>/, made by tests/captures/capture.py) holds the OTLP
requests a real library sent while running a fixed scenario against the fake providers, and the fake
providers' log of what they served. Expected figures come from that log only (tests/fakes/expected.py).

Two kinds of known differences are declared here, each with its reason:
  * GAPS: what the emitter itself does not report (e.g. no cache attributes); the expected figure is
    taken as the emitter carried it. Not llmpulse's to fix.
  * DEFECTS: what llmpulse reads wrong today; strict xfail naming the issue 12 item, so the test fails
    (XPASS) when the fix lands and the mark must go.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).parent / "captures"))

from fakes import expected_figures  # noqa: E402
from harness import make_exporter  # noqa: E402
from replay import list_captures, load, send  # noqa: E402

from llmpulse.pricing import PriceTable  # noqa: E402

CALL_OPS = ("chat", "text_completion", "generate_content", "embeddings")
TOKEN_TYPES = ("input", "output", "cache_read", "cache_write", "reasoning")
CAPTURES = {c.name: c for c in list_captures()}

# capture -> [(figure, where, reason)]: responses matching `where` do not carry `figure` in this emitter's spans.
# figure: a token type, "finish" (no finish reason), "call" (no span at all), "error" (failure not reported),
# "model" (the span carries no request model: expected under model ""), "finish:<reason>" (the emitter reports
# <reason>, already normalised, where the provider said something else, e.g. a vocabulary with no tool-call reason),
# "cause" (a failure is reported with nothing that names its cause: expected as error_type _OTHER).
GAPS: dict[str, list[tuple[str, dict, str]]] = {
    "agent-framework-1.23.0": [
        ("cause", {}, "Agent Framework 1.23 reports both failures as error.type ChatClientException with no HTTP "
                      "status, exception event or status message: the cause is _OTHER (docs/dialects.md, Errors)"),
    ],
    "openlit-1.45.0": [
        ("reasoning", {}, "OpenLIT 1.45.0 sets no reasoning token attribute (o4-mini's 8 reasoning tokens are not on "
                          "its span)"),
    ],
    "openinference-langchain-0.1.80": [
        ("call", {"operation": "embeddings"}, "OpenInference's LangChain instrumentation 0.1.80 traces no embedding "
                                              "call (OpenAIEmbeddings runs no LangChain callback)"),
    ],
    "openai-v2-2.3b0": [
        ("cache_read", {}, "openai-v2 2.3b0 sets no cache attribute"),
        ("reasoning", {}, "openai-v2 2.3b0 sets no reasoning attribute"),
        ("finish", {"stream": True}, "openai-v2 2.3b0 sets no finish reason on a streamed chat span"),
    ],
    "litellm-1.110.2": [
        ("cache_read", {}, "LiteLLM's legacy otel callback sets no cache-read token attribute (only a cost)"),
        ("cache_write", {}, "LiteLLM's legacy otel callback sets no cache-write token attribute (only a cost)"),
        ("reasoning", {}, "LiteLLM's legacy otel callback sets no reasoning token attribute (only a cost)"),
    ],
    "litellm-otel-v2-1.110.2": [
        ("reasoning", {}, "LiteLLM's v2 otel integration sets no reasoning token attribute (only a cost)"),
    ],
    "semantic-kernel-1.45.0": [
        ("call", {"operation": "embeddings"}, "Semantic Kernel 1.45 traces no embedding call (OpenAITextEmbedding)"),
        ("cache_read", {}, "Semantic Kernel 1.45 sets no cache attribute"),
    ],
    "google-adk-2.13.0": [
        ("finish:stop", {"finish": "tool_calls"}, "ADK 2.13 reports Gemini's FinishReason; LiteLlm maps OpenAI's "
                                                  "tool_calls to STOP, so a tool call's span says stop"),
    ],
    "openai-agents-v2-0.1.0": [
        ("cache_read", {}, "openai-agents-v2 0.1.0 sets no cache attribute"),
        ("finish", {}, "openai-agents-v2 0.1.0 sets no finish reason on its chat spans"),
        ("model", {"status": 500}, "openai-agents-v2 0.1.0: a failed chat span has no gen_ai.request.model"),
        ("model", {"status": 429}, "openai-agents-v2 0.1.0: a failed chat span has no gen_ai.request.model"),
    ],
}

# capture -> the span attribute that carries each call's cost as the provider billed it (cache and reasoning
# included): the cost check expects the served calls' full price even where GAPS drop a token figure.
SPAN_COST: dict[str, str] = {
    "litellm-1.110.2": "gen_ai.cost.total_cost",
    "litellm-otel-v2-1.110.2": "litellm.cost.total",
}

# (capture, check) -> what llmpulse cannot count right from this emitter's spans (strict xfail: a fix makes it XPASS)
# Empty: every defect the captures found is fixed. Add an entry when a new capture finds one.
DEFECTS: dict[tuple[str, str], str] = {}

# capture -> the span attribute that carries a streamed call's time to first chunk: check "ttft_streamed" expects
# one TTFT sample per streamed call for these captures (others: the emitter reports none, nothing to check).
TTFT_ON_SPAN: dict[str, str] = {
    "util-genai-1.3b0": "gen_ai.response.time_to_first_chunk",
    "strands-1.62.0": "gen_ai.server.time_to_first_token (ms)",
    "litellm-otel-v2-1.110.2": "gen_ai.response.time_to_first_chunk",
    "vercel-ai-6.0.333": "ai.response.msToFirstChunk (ms), event ai.stream.firstChunk",
    "vercel-ai-otel-1.0.173": "gen_ai.client.operation.time_to_first_chunk",
}

CHECKS = ("calls", "errors", "error_causes", "finish_reasons", "cost", "ttft_calls_only", "ttft_within_duration",
          "ttft_streamed",
          *(f"tokens:{t}" for t in TOKEN_TYPES), *(f"tokens_total:{t}" for t in TOKEN_TYPES))


def adjusted_expected(name: str) -> dict:
    """Expected figures from the capture's response log, less what the emitter is declared not to report."""
    capture = CAPTURES[name]
    meta, _ = load(capture)
    records = copy.deepcopy(json.loads((capture / "responses.json").read_text()))
    kept = []
    for r in records:
        for figure, where, _why in GAPS.get(name, ()):
            if all(r.get(k) == v for k, v in where.items()):
                if figure == "call" or (figure == "error" and r["status"] != 200):
                    r = None
                    break
                if figure == "finish":
                    r["finish"] = ""
                elif figure == "model":
                    r["model"] = ""
                elif figure.startswith("finish:"):
                    r["finish"] = figure.split(":", 1)[1]
                elif figure == "cause" and r["status"] != 200:
                    r["cause"] = "_OTHER"
                elif figure in TOKEN_TYPES:
                    r[figure] = 0
        if r is not None:
            kept.append(r)
    exp = expected_figures(kept, meta["service"])
    exp["records"] = kept
    exp["served"] = json.loads((capture / "responses.json").read_text())
    return exp


class Scrape:
    def __init__(self, text: str, service: str):
        self.samples = [(s.name, s.labels, s.value) for fam in text_string_to_metric_families(text)
                        for s in fam.samples if s.labels.get("service_name") == service]

    def total(self, name: str, **match) -> float:
        out = 0.0
        for n, labels, v in self.samples:
            if n != name:
                continue
            if all(m(labels.get(k, "")) if callable(m) else labels.get(k, "") == m for k, m in match.items()):
                out += v
        return out


@pytest.fixture(scope="module")
def replayed():
    """Every capture replayed into its own exporter (each fake server numbered its response ids
    from 1, and one response id is one call however often it is reported); capture -> the final
    /metrics text, read once every exporter's text stops changing (trace windows close)."""
    tracking = {"trace_idle_seconds": 0.3, "conversation_idle_seconds": 0.3, "aggregate_wait_seconds": 0.5}
    exporters = {name: make_exporter(tracking=tracking) for name in CAPTURES}
    try:
        statuses = {name: send(path, exporters[name].otlp_http_url) for name, path in CAPTURES.items()}
        last: dict[str, str] = {}
        stable_since, deadline = time.time(), time.time() + 20
        while time.time() < deadline:
            texts = {name: requests.get(e.metrics_url, timeout=5).text for name, e in exporters.items()}
            if texts != last:
                last, stable_since = texts, time.time()
            elif time.time() - stable_since > 1.0:
                break
            time.sleep(0.2)
        yield statuses, last
    finally:
        for e in exporters.values():
            e.stop()


def test_every_capture_is_well_formed():
    assert len(CAPTURES) >= 1
    for name, path in CAPTURES.items():
        meta, exp = load(path)
        assert meta["requests"], name
        assert exp["service"] == meta["service"] == f"cap-{meta['emitter']}", name
        assert set(meta["services_seen"]) == {meta["service"]}, (name, meta["services_seen"])
        assert all(p["ok"] for p in meta["scenario"]["parts"]), (name, meta["scenario"])
        assert meta["pip_freeze"], name
        total = sum(r["bytes"] for r in meta["requests"])
        assert total < 200_000, (name, total)
        for gap in GAPS.get(name, ()):
            assert gap[2], name


def test_every_trace_request_is_accepted(replayed):
    statuses, _ = replayed
    bad = {name: [s for s in st if s[1] != 200] for name, st in statuses.items()}
    assert not {k: v for k, v in bad.items() if v}


def _cases():
    for name in CAPTURES:
        for check in CHECKS:
            marks = []
            if (name, check) in DEFECTS:
                marks.append(pytest.mark.xfail(strict=True, reason=DEFECTS[(name, check)]))
            yield pytest.param(name, check, id=f"{name}-{check}", marks=marks)


def _by(models: list[dict], *keys) -> dict:
    out = defaultdict(list)
    for m in models:
        out[tuple(m[k] for k in keys)].append(m)
    return out


@pytest.mark.parametrize("name,check", list(_cases()))
def test_capture_figure(replayed, name, check):
    _, texts = replayed
    text = texts[name]
    exp = adjusted_expected(name)
    got = Scrape(text, exp["service"])
    models = exp["models"]
    call_op = lambda op: op in CALL_OPS  # noqa: E731
    dur = "gen_ai_client_operation_duration_seconds_count"
    problems = []

    def same(what, want, have):
        if abs(want - have) > 1e-9 * max(1.0, abs(want)):
            problems.append(f"{what}: expected {want:g}, /metrics has {have:g}")

    if check == "calls":
        for (prov, model), ms in _by(models, "provider", "model").items():
            same(f"calls {prov}/{model}", sum(m["calls"] for m in ms),
                 got.total(dur, gen_ai_provider_name=prov, gen_ai_request_model=model,
                           gen_ai_operation_name=call_op, error_type=""))
        same("calls, all models", exp["totals"]["calls"],
             got.total(dur, gen_ai_operation_name=call_op, error_type=""))
    elif check == "errors":
        for (prov, model), ms in _by(models, "provider", "model").items():
            same(f"failed calls {prov}/{model}", sum(sum(m["errors"].values()) for m in ms),
                 got.total(dur, gen_ai_provider_name=prov, gen_ai_request_model=model,
                           gen_ai_operation_name=call_op, error_type=lambda e: e != ""))
        same("failed calls, all models", exp["totals"]["errors"],
             got.total(dur, gen_ai_operation_name=call_op, error_type=lambda e: e != ""))
    elif check == "error_causes":
        for m in models:
            for cause, n in m["errors"].items():
                same(f"errors {m['model']} error_type={cause}", n,
                     got.total(dur, gen_ai_request_model=m["model"], gen_ai_operation_name=call_op, error_type=cause))
    elif check.startswith("tokens:"):
        ttype = check.split(":")[1]
        for (model,), ms in _by(models, "model").items():
            same(f"llm_tokens_total {model} {ttype}", sum(m["tokens"][ttype] for m in ms),
                 got.total("llm_tokens_total", gen_ai_request_model=model, gen_ai_token_type=ttype))
    elif check.startswith("tokens_total:"):
        ttype = check.split(":")[1]
        same(f"llm_tokens_total {ttype} over all labels", exp["totals"]["tokens"][ttype],
             got.total("llm_tokens_total", gen_ai_token_type=ttype))
    elif check == "finish_reasons":
        want = defaultdict(int)
        for m in models:
            for reason, n in m["finish_reasons"].items():
                want[(m["model"], reason)] += n
        have = defaultdict(float)
        for n, labels, v in got.samples:
            if n == "llm_finish_reasons_total" and v:
                have[(labels["gen_ai_request_model"], labels["gen_ai_response_finish_reason"])] += v
        for key in sorted(set(want) | set(have)):
            same(f"finish {key[0]} {key[1]}", want.get(key, 0), have.get(key, 0))
    elif check == "cost":
        table = PriceTable.load()
        want = defaultdict(float)
        for r in exp["served"] if name in SPAN_COST else exp["records"]:
            if r["status"] == 200 and (price := table.lookup(r["provider"], r["model"])) is not None:
                want[r["model"]] += price.cost(r["input"], r["output"], r["cache_read"], r["cache_write"],
                                               r["reasoning"])
        for model, usd in sorted(want.items()):
            have = got.total("llm_cost_usd_total", gen_ai_request_model=model)
            if abs(have - usd) > 1e-9 + 1e-6 * usd:
                problems.append(f"cost {model}: expected {usd:.9f}, /metrics has {have:.9f}")
        same("cost, all models", round(sum(want.values()), 9), round(got.total("llm_cost_usd_total"), 9))
    elif check == "ttft_calls_only":
        ttft = "gen_ai_client_operation_time_to_first_chunk_seconds_count"
        same("TTFT samples on non-call operations", 0,
             got.total(ttft, gen_ai_operation_name=lambda op: not call_op(op)))
        streamed = sum(m["streamed_calls"] for m in models)
        have = got.total(ttft)
        if have > streamed:
            problems.append(f"TTFT samples {have:g} > streamed calls {streamed}")
    elif check == "ttft_streamed":
        if name in TTFT_ON_SPAN:
            same(f"TTFT samples ({TTFT_ON_SPAN[name]})", sum(m["streamed_calls"] for m in models),
                 got.total("gen_ai_client_operation_time_to_first_chunk_seconds_count",
                           gen_ai_operation_name=call_op))
    elif check == "ttft_within_duration":
        # a first chunk arrives within its call: per model, the TTFT sum cannot exceed the calls' duration sum
        # (a TTFT read in the wrong unit, e.g. ms as seconds, breaks this by orders of magnitude)
        ttft = "gen_ai_client_operation_time_to_first_chunk_seconds_sum"
        for (model,), _ in _by(models, "model").items():
            first = got.total(ttft, gen_ai_request_model=model, gen_ai_operation_name=call_op)
            whole = got.total("gen_ai_client_operation_duration_seconds_sum", gen_ai_request_model=model,
                              gen_ai_operation_name=call_op)
            if first > whole + 1e-6:
                problems.append(f"TTFT {model}: {first:g} s in all, more than the calls' {whole:g} s")
    assert not problems, "\n".join(problems)
