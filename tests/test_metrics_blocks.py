"""Series kept in per-label-set blocks (llmpulse.metrics._Slot) add up to what the calls say.

Calls that share some labels but not others (response model, error type, service and prompt
version) land in different slots whose parts one series sums; these tests compute every
expected value straight from the calls and compare, through prometheus_client's registry and
through the /metrics renderer.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections import defaultdict

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om

import llmpulse.metrics as metrics_module
from llmpulse import exposition
from llmpulse.config import load_config
from llmpulse.metrics import Metrics
from llmpulse.records import Call

FINISH = ("stop", "length", "tool_calls", "content_filter", "error", "other", "not-a-known-reason")


def random_calls(n: int, seed: int) -> list[Call]:
    rnd = random.Random(seed)
    out = []
    for k in range(n):
        model = rnd.choice(("gpt-4o", "claude"))
        out.append(Call(
            trace_id=f"{k + 1:032x}", span_id=f"{k + 1:016x}", service=rnd.choice(("shop", "search")),
            provider="openai", request_model=model,
            response_model=rnd.choice((model, model + "-2024", "")), error_type=rnd.choice(("", "", "timeout")),
            start_ns=0, end_ns=rnd.choice((rnd.randrange(1, 20) * 100_000_000, 10**12)),   # some past every bucket
            input_tokens=rnd.choice((None, 0, rnd.randrange(1, 5000), 10**9)),
            output_tokens=rnd.choice((None, rnd.randrange(1, 900))),
            cache_read_tokens=rnd.choice((0, 7)), reasoning_tokens=rnd.choice((0, 3)),
            streaming=rnd.random() < 0.5, ttft_s=rnd.choice((None, 0.05, 0.4)),
            finish_reasons=tuple(rnd.sample(FINISH, rnd.randrange(0, 3))),
            cost_usd=rnd.choice((None, 0.0, rnd.random() / 100)),
            service_version=rnd.choice(("1.0", "1.1")), prompt_version=rnd.choice(("", "p7")),
            guardrail=rnd.random() < 0.1, retry=rnd.random() < 0.1, dialect="otel"))
    return out


def expected(calls: list[Call], m: Metrics) -> dict:
    """(sample name, labels) -> value, for the label-set families, from the calls alone."""
    want: dict = defaultdict(float)

    def L(c: Call) -> dict:
        return {"service_name": c.service, "gen_ai_operation_name": c.operation, "gen_ai_provider_name": c.provider,
                "gen_ai_request_model": c.request_model}

    def hist(name: str, h, labels: dict, value: float) -> None:
        i = bisect_left(h.bounds, value)
        for j, le in enumerate(h.les):
            want[(name + "_bucket", frozenset({**labels, "le": le}.items()))] += 1 if j >= i else 0
        want[(name + "_count", frozenset(labels.items()))] += 1
        want[(name + "_sum", frozenset(labels.items()))] += value

    for c in calls:
        base = L(c)
        hist("gen_ai_client_operation_duration_seconds", m.duration,
             {**base, "gen_ai_response_model": c.response_model, "error_type": c.error_type}, c.duration_s)
        for kind, n in (("input", c.input_tokens), ("output", c.output_tokens)):
            if n is not None:
                hist("gen_ai_client_token_usage", m.token_usage, {**base, "gen_ai_token_type": kind}, n)
                want[("llm_tokens_total", frozenset({**base, "gen_ai_token_type": kind}.items()))] += n
        for kind, n in (("cache_read", c.cache_read_tokens), ("reasoning", c.reasoning_tokens)):
            if n:
                want[("llm_tokens_total", frozenset({**base, "gen_ai_token_type": kind}.items()))] += n
        if c.streaming and c.ttft_s is not None and not c.error_type:
            hist("gen_ai_client_operation_time_to_first_chunk_seconds", m.ttfc, base, c.ttft_s)
            if c.output_tokens and c.output_tokens > 1 and c.duration_s > c.ttft_s:
                hist("gen_ai_client_operation_time_per_output_chunk_seconds", m.tpoc, base,
                     (c.duration_s - c.ttft_s) / (c.output_tokens - 1))
        if c.cost_usd is not None:
            want[("llm_cost_usd_total", frozenset(base.items()))] += c.cost_usd
            hist("llm_request_cost_usd", m.request_cost, base, c.cost_usd)
        elif (c.input_tokens or 0) + (c.output_tokens or 0) > 0 or not c.error_type:   # unknown cost: no price, or no tokens
            want[("llm_unpriced_operations_total", frozenset(base.items()))] += 1
        for r in c.finish_reasons:
            want[("llm_finish_reasons_total", frozenset({**base, "gen_ai_response_finish_reason": r}.items()))] += 1
        if c.guardrail:
            want[("llm_guardrail_triggers_total", frozenset(base.items()))] += 1
        if c.retry:
            want[("llm_retries_total", frozenset(base.items()))] += 1
        if "content_filter" in c.finish_reasons:
            want[("llm_refusals_total", frozenset(base.items()))] += 1
        want[("llm_deployment_info", frozenset({**base, "service_version": c.service_version,
                                                "prompt_version": c.prompt_version}.items()))] = 1.0
    return want


FAMILIES = ("gen_ai_client_operation_duration_seconds", "gen_ai_client_token_usage", "llm_tokens",
            "gen_ai_client_operation_time_to_first_chunk_seconds",
            "gen_ai_client_operation_time_per_output_chunk_seconds", "llm_cost_usd", "llm_request_cost_usd",
            "llm_unpriced_operations", "llm_finish_reasons", "llm_guardrail_triggers", "llm_retries", "llm_refusals",
            "llm_deployment_info")


def got_from_registry(m: Metrics) -> dict:
    out = {}
    for fam in m.collect():
        if fam.name in FAMILIES:
            for s in fam.samples:
                out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def assert_same(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    bad = {k: (got[k], want[k]) for k in want if abs(got[k] - want[k]) > 1e-9 * max(1.0, abs(want[k]))}
    assert not bad, list(bad.items())[:5]


def run(calls: list[Call], batch: int) -> Metrics:
    m = Metrics(load_config(), CollectorRegistry())
    for i in range(0, len(calls), batch):
        m.record(calls[i:i + batch], now_s=1_000.0 + i)
    return m


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_label_set_series_equals_the_calls_summed(seed):
    calls = random_calls(600, seed)
    m = run(calls, batch=37)
    assert_same(got_from_registry(m), expected(calls, m))
    shared = [k for k, parts in m.token_usage.series.items() if len(parts) > 1]
    assert shared, "the random calls must make series with several parts"


def test_a_cleared_key_cache_reuses_the_slots(monkeypatch):
    calls = random_calls(400, 4)
    monkeypatch.setattr(metrics_module, "KEY_CACHE_SIZE", 3)      # cleared every few label sets
    m = run(calls, batch=5)
    assert_same(got_from_registry(m), expected(calls, m))
    for fam in (m.duration, m.token_usage):
        for parts in fam.series.values():
            assert len({id(b) for b, *_ in parts}) == len(parts), "a slot is bound once per series"
    assert len(m._slots) < 100


def test_render_of_summed_series_matches_the_calls_and_keeps_the_newest_exemplar():
    calls = random_calls(300, 5)
    m = run(calls, batch=300)
    reg = CollectorRegistry()
    reg.register(m)
    text = exposition.render(m, reg, openmetrics=True).decode()
    got, exemplars = {}, {}
    for fam in parse_om(text):
        if fam.name in FAMILIES:
            for s in fam.samples:
                got[(s.name, frozenset(s.labels.items()))] = s.value
                if s.exemplar is not None:
                    exemplars[(s.name, frozenset(s.labels.items()))] = s.exemplar.labels["trace_id"]
    assert_same(got, expected(calls, m))
    # one batch: every call has the same time, so a bucket's exemplar is one of the calls in it
    by_trace = {c.trace_id: c for c in calls}
    assert exemplars
    for (name, labels), trace_id in exemplars.items():
        if name == "gen_ai_client_token_usage_bucket":
            c, lab = by_trace[trace_id], dict(labels)
            n = c.input_tokens if lab["gen_ai_token_type"] == "input" else c.output_tokens
            assert n is not None and lab["gen_ai_request_model"] == c.request_model
            assert lab["le"] == "+Inf" or n <= float(lab["le"])


def test_deployment_cells_expire_and_come_back_without_piling_up():
    clock = [0.0]
    m = Metrics(load_config(), CollectorRegistry(), now=lambda: clock[0])
    ttl = m.deployment.ttl
    a = Call(trace_id="a" * 32, span_id="1" * 16, service="s", provider="openai", request_model="m",
             start_ns=0, end_ns=1, service_version="1.0")
    b = Call(trace_id="b" * 32, span_id="2" * 16, service="s", provider="openai", request_model="m",
             start_ns=0, end_ns=1, service_version="1.0", error_type="timeout")      # another slot, same series
    for cycle in range(5):
        once = Call(trace_id="c" * 32, span_id=f"{cycle:016x}", service="s", provider="openai", request_model="m",
                    start_ns=0, end_ns=1, service_version=f"old-{cycle}")     # expires while a and b go on
        m.record([a, b, once])
        clock[0] += ttl * 0.75
        m.record([a, b])
        clock[0] += ttl * 0.5
        m.refresh()                    # drops `once` only
        m.record([a, b])               # a and b see the expiry and must not bind a second time
        m.refresh()
        assert list(m.deployment.values.values()) == [1.0]
        assert [len(p) for p in m.deployment.cells.values()] == [2], cycle
        clock[0] += ttl / 2
        m.record([a])                  # one part seen recently keeps the series
        clock[0] += ttl * 0.75
        m.refresh()
        assert len(m.deployment.values) == 1, "a part newer than the ttl keeps the series"
        clock[0] += ttl
        m.refresh()
        assert m.deployment.values == {}, cycle


def test_version_churn_reuses_expired_slots_and_keeps_their_counts():
    clock = [0.0]
    m = Metrics(load_config(overrides={"metrics": {"label_caps": {"service_version": 1000}}}), CollectorRegistry(),
                now=lambda: clock[0])
    ttl = m.deployment.ttl
    for v in range(40):                # a deploy every ttl and a half: the old version has expired
        m.record([Call(trace_id=f"{v + 1:032x}", span_id=f"{v + 1:016x}", service="s", provider="openai",
                       request_model="m", start_ns=0, end_ns=10**9, input_tokens=10, service_version=f"1.{v}")])
        m.refresh()
        assert [k[-2] for k in m.deployment.values] == [f"1.{v}"]
        clock[0] += ttl * 1.5
    slots = len(m._slots) + sum(len(r) for r in m._retired.values())
    # the new version arrives before the scrape that expires the old one: two slots take turns
    assert slots == 2, f"{slots} slots for one label set"
    (parts,) = m.duration.series.values()
    assert len(parts) == 2 and m.duration.merged(parts)[0][-1] == 0
    assert sum(m.duration.merged(parts)[0]) == 40
    assert list(m.tokens.values.values()) == [400.0]
    # an old version coming back is its own deployment again, not the one that took its slot over
    m.record([Call(trace_id="f" * 32, span_id="f" * 16, service="s", provider="openai", request_model="m",
                   start_ns=0, end_ns=10**9, service_version="1.0")])
    m.refresh()
    assert [k[-2] for k in m.deployment.values] == ["1.0"]
