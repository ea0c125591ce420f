"""Decoding only the span attributes the normalizer reads changes no Call."""

from __future__ import annotations

import ast
import re
import time
from pathlib import Path

import llmpulse.dialects as dialects
from llmpulse import otlp
from llmpulse.config import load_config
from llmpulse.demo.traffic import Traffic

# literals in dialects.py that are not span attribute names (event names, event attributes, separators)
NOT_SPAN_KEYS = {"gen_ai.evaluation.result", "exception.type", "exception.message", "gen_ai.evaluation.name",
                 "gen_ai.evaluation.score.value", "gen_ai.evaluation.score.label", "gen_ai.choice"}   # event names and attributes
NAME = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z0-9_]+)+")


def test_every_attribute_name_the_normalizer_reads_is_decoded():
    keys = dialects.Normalizer(load_config(), capture_content=True).keys
    tree = ast.parse(Path(dialects.__file__).read_text())
    literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    names = {v for v in literals if NAME.fullmatch(v)} - NOT_SPAN_KEYS
    assert len(names) > 60
    missing = sorted(n for n in names if not keys.wants(n))
    assert not missing, f"add these to dialects.OTHER_KEYS (or a group): {missing}"
    assert keys.wants("evaluations.3.evaluation.score")


def test_configured_names_are_decoded():
    cfg = load_config(overrides={"metrics": {"dimensions": [{"name": "tenant", "attributes": ["app.tenant.id"]}]},
                                 "signals": {"retry_attributes": ["my.retry"]}})
    keys = dialects.Normalizer(cfg).keys
    assert keys.wants("app.tenant.id") and keys.wants("my.retry")
    assert not keys.wants("http.request.method")


def test_calls_are_the_same_with_and_without_skipping():
    cfg = load_config(overrides={"metrics": {"dimensions": [{"name": "feature", "attributes": ["app.feature"]}]}})
    for capture in (False, True):
        n = dialects.Normalizer(cfg, capture_content=capture)
        now = time.time_ns()
        body = Traffic(seed=5).batch(150, now).traces.SerializeToString()
        full = otlp.decode_traces(body, otlp.PROTOBUF)
        kept = otlp.decode_traces(body, otlp.PROTOBUF, keep=n.keys)
        assert len(full) == len(kept) > 150
        assert any(len(a.attrs) > len(b.attrs) for a, b in zip(full, kept)), "something was skipped"
        calls_full = [n.normalize(s, now) for s in full]
        calls_kept = [n.normalize(s, now) for s in kept]
        assert sum(c is not None for c in calls_full) > 100
        assert calls_full == calls_kept


def test_every_new_emitter_name_survives_skipping_in_both_decoders():
    """The names issue 12 added (Vercel ai.*, cost, TTFT, evaluator, status) decode alike through the C decoder's
    skipping and without it."""
    from otlpdata import span, traces_request

    n = dialects.Normalizer(load_config())
    numbers = set(dialects.INPUT_TOKENS + dialects.OUTPUT_TOKENS + dialects.CACHE_READ + dialects.CACHE_WRITE
                  + dialects.REASONING + dialects.TTFT + dialects.TTFT_MS + dialects.TPOT + dialects.SPAN_COST
                  + dialects.HTTP_STATUS + ("llm.token_count.total",))
    shapes = [
        {"ai.operationId": "ai.streamText.doStream", "gen_ai.system": "openai.chat", "ai.model.id": "gpt-4o",
         "ai.response.msToFirstChunk": 250.0, "ai.usage.inputTokens": 7, "ai.usage.outputTokens": 3,
         "ai.response.finishReason": "tool-calls", "ai.response.id": "r1", "x.unread": "z"},
        {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "strands-agents", "gen_ai.request.model": "claude-x",
         "gen_ai.server.time_to_first_token": 300, "gen_ai.usage.cost.amount": 0.5,
         "gen_ai.usage.cost.currency": "USD", "gen_ai.usage.details.reasoning_tokens": 2, "x.unread": 1},
        {"openinference.span.kind": "EMBEDDING", "embedding.model_name": "e", "llm.token_count.total": 5,
         "embedding.invocation_parameters": '{"model": "e2"}'},
        {"openinference.span.kind": "EVALUATOR", "output.value": '{"score": 0.5}', "metadata": '{"name": "q"}'},
        {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "error.type": "x",
         "http.response.status_code": 429, "litellm.cost.total": 0.1, "operation.cost": 0.2},
    ]
    assert all(n.keys.wants(k) for k in numbers)
    now = time.time_ns()
    for attrs in shapes:
        body = traces_request([span(attrs, status=2 if "error.type" in attrs else 0)]).SerializeToString()
        full = otlp.decode_traces(body, otlp.PROTOBUF)
        kept = otlp.decode_traces(body, otlp.PROTOBUF, keep=n.keys)
        assert "x.unread" not in kept[0].attrs
        assert n.normalize(full[0], now) == n.normalize(kept[0], now) is not None
