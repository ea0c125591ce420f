"""Scenarios: incidents and non-incidents on top of normal demo traffic.

Each incident changes one service (and sometimes one provider) so that one
alert of the contract fires; the rest of the traffic stays normal. Each
non-incident is a change a healthy system goes through (a cold start, a
night-time lull, a model migration, a traffic surge) that must page nobody;
the rule tests hold the alerts to that (tests/alerts/test_non_incidents.py).

>>> SCENARIOS["provider_outage"].alert
'LLMErrorRatioHigh'
>>> sorted(SCENARIOS)[:2]
['cost_spike', 'latency_regression']
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    name: str
    alert: str                         # the contract alert it should fire
    service: str                       # the one service it changes
    description: str
    provider: str | None = None        # only calls to this provider (None = all)
    error_share: float = 0.0           # fraction of matching LLM calls that fail
    latency_factor: float = 1.0        # multiplies TTFT and generation time
    output_factor: float = 1.0         # multiplies output tokens
    eval_factor: float = 1.0           # multiplies quality eval scores
    safety_fail_share: float = 0.0     # fraction of safety evals labelled fail
    runaway_share: float = 0.0         # fraction of agent traces that loop
    runaway_calls: tuple[int, int] = (30, 45)   # LLM calls in a looping trace
    truncation_share: float = 0.0      # fraction of chat calls cut at max tokens
    max_tokens: int | None = None      # gen_ai.request.max_tokens during the incident
    model: str | None = None           # route some chat calls to this model
    model_share: float = 0.0
    prompt_version: str | None = None  # the prompt version live during the incident
    kind: str = "incident"             # or "non_incident": nothing may page
    rate_curve: tuple[tuple[float, float], ...] = ()   # (seconds after onset, factor on the call rate)
    absent_before_onset: bool = False  # `service` sends nothing before the onset (a new service)
    model_ramp_s: float = 0.0          # `model_share` is reached linearly over this many seconds
    expect: str = ""                   # what the alerts should do (non-incidents)

    def rate_factor(self, elapsed_s: float) -> float:
        """Factor on the whole demo's call rate `elapsed_s` seconds after the onset."""
        points = self.rate_curve
        if not points or elapsed_s < 0:
            return 1.0
        for (t0, f0), (t1, f1) in zip(points, points[1:]):
            if t0 <= elapsed_s <= t1:
                return f0 + (f1 - f0) * (elapsed_s - t0) / (t1 - t0)
        return points[-1][1] if elapsed_s > points[-1][0] else points[0][1]


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("provider_outage", "LLMErrorRatioHigh", "support-bot",
             "Anthropic is down for support-bot: 85% of its Anthropic calls fail "
             "(overloaded_error 529, rate_limit_error, timeout).",
             provider="anthropic", error_share=0.85),
    Scenario("latency_regression", "LLMTimeToFirstTokenHigh", "support-bot",
             "support-bot's models slow down: time to first token and generation "
             "time x5 (p99 TTFT well above 5 s).",
             latency_factor=5.0),
    Scenario("cost_spike", "LLMCostPerRequestHigh", "search-api",
             "A prompt change (rag-answer-v13) makes search-api answers ten times "
             "longer: output tokens x10, so cost per request jumps.",
             output_factor=10.0, prompt_version="rag-answer-v13"),
    Scenario("quality_drop", "LLMQualityDrop", "search-api",
             "search-api's relevance and faithfulness scores (span evals, logs and "
             "async judge scores) fall by 40%.",
             eval_factor=0.6),
    Scenario("safety_failure", "LLMSafetyEvaluationFailed", "support-bot",
             "30% of support-bot's safety evaluations are labelled fail.",
             safety_fail_share=0.3),
    Scenario("runaway_agent", "LLMRunawayAgent", "coding-agent",
             "70% of coding-agent traces loop: 30 to 45 LLM calls per trace.",
             runaway_share=0.7),
    Scenario("truncation_spike", "LLMTruncationHigh", "batch-summarizer",
             "A config change lowers batch-summarizer's max_tokens to 256: over half "
             "of its chat calls finish with length / max_tokens / MAX_TOKENS.",
             truncation_share=0.5, max_tokens=256),
    Scenario("unpriced_model", "LLMUnpricedModel", "coding-agent",
             "coding-agent sends half of its chat calls to acme-llm-9000, a model "
             "with no price anywhere.",
             model="acme-llm-9000", model_share=0.5),
)}


NON_INCIDENTS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("cold_start", "", "search-api",
             "search-api is a new service: it sends nothing before the onset, then its full share of traffic.",
             kind="non_incident", absent_before_onset=True,
             expect="no alert: baselines wait for LLMQualityDropMinHistory and friends"),
    Scenario("night_lull", "", "",
             "Night falls: the whole demo's call rate drops to 2% over 10 minutes, stays there for "
             "20 minutes and comes back over 10 minutes.",
             kind="non_incident", rate_curve=((0, 1.0), (600, 0.02), (1800, 0.02), (2400, 1.0)),
             expect="no alert: low traffic is judged by minimum counts, not by ratios of a handful of calls"),
    Scenario("model_migration", "", "search-api",
             "search-api moves its answers from its three chat models to gemini-2.5-flash over 10 minutes.",
             kind="non_incident", model="gemini-2.5-flash", model_share=1.0, model_ramp_s=600,
             expect="no alert: the new model's series start cold, the old ones fade"),
    Scenario("traffic_surge", "", "",
             "Traffic triples within a minute and stays there; every per-call figure is unchanged.",
             kind="non_incident", rate_curve=((0, 1.0), (60, 3.0)),
             expect="nothing pages; spend may warn (LLMDailyBudgetExceeded, LLMSpendSpike)"),
)}

ALL_SCENARIOS: dict[str, Scenario] = {**SCENARIOS, **NON_INCIDENTS}


def describe() -> str:
    """One line per scenario: name, target alert (or what to expect), what changes."""
    width = max(map(len, ALL_SCENARIOS))
    lines = [f"{s.name:<{width}}  {s.alert:<26} {s.description}" for s in SCENARIOS.values()]
    lines += ["", "non-incidents (nothing may page):"]
    lines += [f"{s.name:<{width}}  {s.description} Expect {s.expect}." for s in NON_INCIDENTS.values()]
    return "\n".join(lines)
