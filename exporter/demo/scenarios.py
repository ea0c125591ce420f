"""Incident scenarios: documented deviations on top of normal demo traffic.

Each scenario changes one service (and sometimes one provider) so that one
alert of the contract fires; the rest of the traffic stays normal.

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


def describe() -> str:
    """One line per scenario: name, target alert, what changes."""
    width = max(map(len, SCENARIOS))
    return "\n".join(f"{s.name:<{width}}  {s.alert:<26} {s.description}" for s in SCENARIOS.values())
