"""Normal demo traffic (no scenario) at the default rate stays clear of the
alert thresholds in alerts/thresholds.yaml, so each scenario fires its own
alert and not a chorus. Aggregates over ten simulated minutes; known
exceptions are listed in docs/demo.md."""

from __future__ import annotations

import collections
import math
from pathlib import Path

import pytest
import yaml
from demo_spans import NOW_NS

from llmpulse.commands.demo import DEFAULT_RATE
from llmpulse.demo.traffic import Traffic

THRESHOLDS = Path(__file__).resolve().parents[1] / "alerts" / "thresholds.yaml"
SECONDS = 600    # simulated seconds at the default rate


@pytest.fixture(scope="module")
def th():
    if not THRESHOLDS.exists():
        pytest.skip("alerts/thresholds.yaml not in this tree")
    return yaml.safe_load(THRESHOLDS.read_text())


@pytest.fixture(scope="module")
def traffic():
    t = Traffic(seed=21)
    batches = [t.batch(int(DEFAULT_RATE), NOW_NS + i * 10**9) for i in range(SECONDS)]
    return [op for b in batches for op in b.ops], [s for b in batches for s in b.scores]


def below(hits: int, n: int, limit: float) -> bool:
    """The share hits/n is compatible with a true share under `limit`: it may
    exceed it by sampling noise (two standard deviations), not by more."""
    return hits / n < limit + 2 * math.sqrt(limit * (1 - limit) / n)


def _series(ops):
    out = collections.defaultdict(list)
    for op in ops:
        if op.operation != "http":
            out[(op.service, op.operation, op.provider, op.model)].append(op)
    return out


def test_error_ratio_per_series_below_warning(th, traffic):
    ops, _ = traffic
    for key, group in _series(ops).items():
        if len(group) >= 200:
            errors = sum(op.error is not None for op in group)
            assert below(errors, len(group), th["LLMErrorRatioHighWarningThreshold"] * 0.7), (key, errors)


def _per_service_llm(ops):
    out = collections.defaultdict(list)
    for op in ops:
        if op.is_llm:
            out[op.service].append(op)
    return out


def test_slo_error_budgets_burn_slower_than_the_one_day_tier(th, traffic):
    """Availability: under the 1d/2h tier (factor 3). The 3d/6h tier (factor 1)
    needs an error ratio under 0.5 %, below the ~1 % the demo sends (see docs)."""
    ops, _ = traffic
    slo = th["slo"]
    budget = 1 - slo["availability"]["objective"]
    tier = next(w for w in slo["windows"] if w["long"] == "1d")
    factor = tier["budgetPercent"] / 100 * 30 * 24 / 24
    for service, group in _per_service_llm(ops).items():
        errors = sum(op.error is not None for op in group)
        assert below(errors, len(group), budget * factor * 0.8), (service, errors, len(group))
    latency_budget = 1 - slo["latency"]["objective"]
    for service, group in _per_service_llm(ops).items():
        slow = sum(op.duration_s > slo["latency"]["thresholdSeconds"] for op in group)
        assert below(slow, len(group), latency_budget * 0.6), (service, slow)   # under even the factor-1 tier


def _p99(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(0.99 * len(xs)))]


def test_time_to_first_token_p99_below_warning(th, traffic):
    """histogram_quantile interpolates inside buckets that double in width, so
    the estimated p99 crosses the threshold as soon as 1 % of the samples pass
    the bucket boundary below it: keep that share well under 1 %."""
    config = pytest.importorskip("llmpulse.config")
    threshold = th["LLMTimeToFirstTokenHighWarningThreshold"]
    boundary = max(b for b in config.DURATION_BUCKETS if b <= threshold)
    ops, _ = traffic
    for key, group in _series(ops).items():
        ttfts = [op.ttft_s for op in group if op.ttft_s is not None and op.error is None]
        if len(ttfts) >= 100:
            assert _p99(ttfts) < threshold, key
            assert below(sum(t > boundary for t in ttfts), len(ttfts), 0.003), (key, boundary)


def test_truncation_below_threshold(th, traffic):
    ops, _ = traffic
    for key, group in _series(ops).items():
        finishes = [op.finish for op in group if op.finish]
        if len(finishes) >= 100:
            assert below(finishes.count("length"), len(finishes), th["LLMTruncationHighThreshold"] / 2), key


def test_calls_per_trace_below_runaway_bound(th, traffic):
    ops, _ = traffic
    per = collections.Counter(op.trace_id for op in ops if op.is_llm)
    assert max(per.values()) <= th["LLMRunawayAgentMaxOperationsPerTrace"]


def test_negative_feedback_below_threshold(th, traffic):
    _, scores = traffic
    fb = [s for s in scores if s["name"] in ("feedback", "user_feedback")]
    negative = sum(s.get("value", 0) < 0 or s.get("label") == "thumbs_down" for s in fb)
    assert len(fb) > 50 and below(negative, len(fb), th["LLMNegativeFeedbackHighThreshold"] / 2)


def test_tokens_per_minute_below_quota(th, traffic):
    ops, _ = traffic
    per_model = collections.Counter()
    for op in ops:
        if op.is_llm:
            per_model[(op.provider, op.model)] += op.input_tokens + op.output_tokens
    quota = th["LLMTokenQuotaNearlyExhaustedTokensPerMinute"]
    for (_provider, model), tokens in per_model.items():
        limit = quota.get("per_model", {}).get(model, quota["default"])
        if limit:
            per_minute = tokens / SECONDS * 60
            assert per_minute < limit * th["LLMTokenQuotaNearlyExhaustedThreshold"] * 0.9, (model, per_minute)


def test_no_failed_safety_evaluation_and_no_unpriced_model(traffic):
    ops, _ = traffic
    assert not [ev for op in ops for ev in op.evals if ev.name == "safety" and ev.label == "fail"]
    assert not [op for op in ops if op.is_llm and op.cost_usd is None]
