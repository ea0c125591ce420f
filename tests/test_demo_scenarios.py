"""Each scenario changes what it says, measured on the emitted spans, logs and
scores (not on the generator's own records), against normal traffic of the
same seed."""

from __future__ import annotations

import collections
import statistics

import pytest
from demo_spans import all_rows, log_evals, run

from llmpulse.demo.scenarios import SCENARIOS

BATCHES = 30     # one-second ticks
CALLS = 50       # LLM calls per tick


@pytest.fixture(scope="module")
def normal():
    return run(seed=11, batches=BATCHES, calls=CALLS)


def scenario(name):
    return run(seed=11, scenario=name, batches=BATCHES, calls=CALLS)


def _p99(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(0.99 * len(xs)))]


def test_every_scenario_names_a_contract_alert():
    expected = {"provider_outage": "LLMErrorRatioHigh", "latency_regression": "LLMTimeToFirstTokenHigh",
                "cost_spike": "LLMCostPerRequestHigh", "quality_drop": "LLMQualityDrop",
                "safety_failure": "LLMSafetyEvaluationFailed", "runaway_agent": "LLMRunawayAgent",
                "truncation_spike": "LLMTruncationHigh", "unpriced_model": "LLMUnpricedModel"}
    assert {n: s.alert for n, s in SCENARIOS.items()} == expected
    assert all(s.description.endswith(".") for s in SCENARIOS.values())


def _error_share(rows, service, provider):
    calls = [r for r in rows if r.is_llm and r.service == service and r.provider == provider]
    return sum(r.error for r in calls) / len(calls)


def test_provider_outage(normal):
    sc = SCENARIOS["provider_outage"]
    assert _error_share(all_rows(normal), sc.service, sc.provider) < 0.05
    rows = all_rows(scenario("provider_outage"))
    assert _error_share(rows, sc.service, sc.provider) > 0.5
    # the service's overall error ratio is far above the 5 % critical threshold
    svc = [r for r in rows if r.is_llm and r.service == sc.service]
    assert sum(r.error for r in svc) / len(svc) > 0.2
    # other services keep normal error ratios
    other = [r for r in rows if r.is_llm and r.service != sc.service]
    assert sum(r.error for r in other) / len(other) < 0.05


def _ttfts(rows, service):
    return [r.ttft_s for r in rows if r.is_llm and r.service == service and r.ttft_s is not None]


def test_latency_regression(normal):
    sc = SCENARIOS["latency_regression"]
    before, after = _ttfts(all_rows(normal), sc.service), _ttfts(all_rows(scenario("latency_regression")), sc.service)
    assert _p99(before) < 5.0 < _p99(after)    # LLMTimeToFirstTokenHighCriticalThreshold: 5 s
    assert statistics.median(after) > 3.5 * statistics.median(before)


def _per_request(rows, service):
    chats = [r for r in rows if r.service == service and r.is_llm and not r.error and r.output_tokens is not None
             and r.attrs.get("gen_ai.operation.name", "chat") == "chat"
             and r.attrs.get("openinference.span.kind", "LLM") == "LLM"]
    costs = [r.attrs["llm.cost.total"] for r in chats if "llm.cost.total" in r.attrs]
    return statistics.mean(r.output_tokens for r in chats), statistics.mean(costs), {
        r.attrs.get("llmpulse.prompt.version") for r in chats}


def test_cost_spike(normal):
    sc = SCENARIOS["cost_spike"]
    out0, cost0, pv0 = _per_request(all_rows(normal), sc.service)
    rows = all_rows(scenario("cost_spike"))
    out1, cost1, pv1 = _per_request(rows, sc.service)
    assert out1 > 5 * out0
    assert cost1 > 2 * cost0      # LLMCostPerRequestHigh: above 2x the baseline
    assert pv0 == {"rag-answer-v12"} and pv1 == {"rag-answer-v13"}
    # the longer answers are not cut at max tokens (that would be another alert)
    finishes = [f for r in rows if r.service == sc.service for f in r.finish_reasons]
    assert sum(f in ("length", "MAX_TOKENS") for f in finishes) / len(finishes) < 0.1


def _quality(batches, service):
    rows = all_rows(batches)
    scores = [s for r in rows if r.service == service for n, s, _ in r.evals() if n != "safety"]
    scores += [s for b in batches for svc, n, s, _ in log_evals(b) if svc == service and n != "safety"]
    ids = {r.trace_id for r in rows if r.service == service}
    judged = [s["value"] for b in batches for s in b.scores if s["name"] == "helpfulness" and s["trace_id"] in ids]
    return statistics.mean(scores), statistics.mean(judged)


def test_quality_drop(normal):
    sc = SCENARIOS["quality_drop"]
    spans0, judge0 = _quality(normal, sc.service)
    spans1, judge1 = _quality(scenario("quality_drop"), sc.service)
    assert spans1 < 0.7 * spans0     # more than the 25 % critical drop
    assert judge1 < 0.7 * judge0


def _safety(batches, service):
    evals = [(n, lab) for r in all_rows(batches) if r.service == service for n, _, lab in r.evals()]
    evals += [(n, lab) for b in batches for svc, n, _, lab in log_evals(b) if svc == service]
    safety = [lab for n, lab in evals if n == "safety"]
    return safety.count("fail"), len(safety)


def test_safety_failure(normal):
    sc = SCENARIOS["safety_failure"]
    assert _safety(normal, sc.service)[0] == 0
    fails, total = _safety(scenario("safety_failure"), sc.service)
    assert 0.15 < fails / total < 0.45


def _llm_calls_per_trace(batches, service):
    per = collections.Counter()
    for r in all_rows(batches):
        if r.service == service:
            per[r.trace_id] += r.is_llm
    return list(per.values())


def test_runaway_agent(normal):
    sc = SCENARIOS["runaway_agent"]
    assert max(_llm_calls_per_trace(normal, sc.service)) < 30
    calls = _llm_calls_per_trace(scenario("runaway_agent"), sc.service)
    assert max(calls) >= 30
    assert sum(c >= 30 for c in calls) / len(calls) > 0.5


def _truncation_share(batches, service):
    finishes = [f for r in all_rows(batches) if r.service == service and r.is_llm for f in r.finish_reasons]
    return sum(f in ("length", "max_tokens", "MAX_TOKENS") for f in finishes) / len(finishes)


def test_truncation_spike(normal):
    sc = SCENARIOS["truncation_spike"]
    assert _truncation_share(normal, sc.service) < 0.1
    assert _truncation_share(scenario("truncation_spike"), sc.service) > 0.4


def test_unpriced_model(normal):
    sc = SCENARIOS["unpriced_model"]
    assert not [r for r in all_rows(normal) if r.model == sc.model]
    rows = [r for r in all_rows(scenario("unpriced_model")) if r.model == sc.model]
    assert len(rows) > 20 and {r.service for r in rows} == {sc.service}
    ok = [r for r in rows if not r.error]
    assert ok and all(r.attrs.get("gen_ai.usage.output_tokens") for r in ok)
    assert not any("gen_ai.usage.cost" in r.attrs or "llm.cost.total" in r.attrs for r in rows)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_leaves_other_services_alone(normal, name):
    """Other services look like normal traffic: same error ratio band, no loops,
    no unpriced model, no failed safety evals."""
    sc = SCENARIOS[name]
    rows = [r for r in all_rows(scenario(name)) if r.service not in (sc.service, "vllm-llama")]
    llm = [r for r in rows if r.is_llm]
    assert sum(r.error for r in llm) / len(llm) < 0.05
    assert not any(r.model == "acme-llm-9000" for r in rows)
    assert not any(n == "safety" and lab == "fail" for r in rows for n, _, lab in r.evals())


# ------------------------------------------------------------ non-incidents

def test_non_incidents_are_separate_from_incidents():
    from llmpulse.demo.scenarios import ALL_SCENARIOS, NON_INCIDENTS

    assert set(NON_INCIDENTS) == {"cold_start", "night_lull", "model_migration", "traffic_surge"}
    assert not set(NON_INCIDENTS) & set(SCENARIOS)
    assert set(ALL_SCENARIOS) == set(SCENARIOS) | set(NON_INCIDENTS)
    assert all(s.kind == "non_incident" and s.expect and s.description.endswith(".") for s in NON_INCIDENTS.values())


def test_rate_curves_of_lull_and_surge():
    from llmpulse.demo.traffic import Traffic

    t0 = 1_800_000_000_000_000_000
    lull, surge = Traffic(seed=1, scenario="night_lull"), Traffic(seed=1, scenario="traffic_surge")
    for tr in (lull, surge):
        tr.batch(5, t0)
    at = lambda tr, s: round(tr.rate_factor(t0 + int(s * 1e9)), 3)  # noqa: E731
    assert [at(lull, s) for s in (0, 300, 600, 1200, 2100, 2400, 3000)] == [1.0, 0.51, 0.02, 0.02, 0.51, 1.0, 1.0]
    assert [at(surge, s) for s in (0, 30, 60, 600)] == [1.0, 2.0, 3.0, 3.0]
    assert Traffic(seed=1).rate_factor(t0) == 1.0


def _services(batches):
    return collections.Counter(r.service for r in all_rows(batches) if r.is_llm)


def test_cold_start_service_appears_at_the_onset():
    before = run(seed=11, scenario="cold_start", batches=10, calls=CALLS, onset_s=1000)
    assert _services(before)["search-api"] == 0 and _services(before)["support-bot"] > 0
    after = run(seed=11, scenario="cold_start", batches=10, calls=CALLS)
    assert _services(after)["search-api"] > 0.15 * sum(_services(after).values())


def test_model_migration_ramps_to_the_new_model():
    def share(batches):
        chats = [r for r in all_rows(batches) if r.service == "search-api" and r.is_llm and r.model != "text-embedding-3-small"]
        return sum(r.model == "gemini-2.5-flash" for r in chats) / len(chats)

    normal_share = share(run(seed=11, batches=10, calls=CALLS))
    assert 0.2 < normal_share < 0.5                      # gemini is one of search-api's three models
    done = run(seed=11, scenario="model_migration", batches=10, calls=CALLS, onset_s=-600)  # ramp already over
    assert share(done) > 0.97
