"""Realistic, seeded series for the non-incident rule tests: what the exporter would
expose, minute by minute, for one service whose call rate follows a curve.

Calls arrive as a Poisson process at `rate(minute)` calls/s, split across models by
`share(minute)`; each call fails with probability 0.2 %, has a lognormal duration
(median 2 s) and time to first token (median 0.6 s), lognormal token counts, a cost
from the model's price, finish reason `length` 2 % of the time; half the calls get
an evaluation score (Beta(8, 1.5), mean 0.84) and 8 % user feedback (5 % negative).
Every random draw is real (no smoothed rates), so low traffic is as lumpy as it is
at night in production.

>>> s = simulate(lambda m: 1.0, minutes=10, seed=1)
>>> any(x["series"].startswith("gen_ai_client_operation_duration_seconds_count") for x in s)
True
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from typing import Callable

SERVICE = {"job": "llm", "service_name": "chat-api", "gen_ai_operation_name": "chat"}
MODELS = {  # model -> (provider, USD per input token, USD per output token)
    "gpt-4o": ("openai", 0.0000005, 0.0000015),
    "claude-sonnet-4-5": ("anthropic", 0.0000006, 0.000002),
}
DURATION_LE = ("1", "2.56", "5.12", "10.24", "20.48", "40.96")
TTFT_LE = ("0.5", "1", "2", "3", "5", "10")
ERROR_SHARE, LENGTH_SHARE, SCORED_SHARE, FEEDBACK_SHARE, NEGATIVE_SHARE = 0.002, 0.02, 0.5, 0.08, 0.05


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 60:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _labels(d: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in d.items()) + "}"


def simulate(rate: Callable[[int], float], minutes: int, seed: int,
             share: Callable[[int], dict[str, float]] | None = None,
             starts_at: int = 0) -> list[dict[str, str]]:
    """promtool input_series, one sample a minute for `minutes` minutes.

    `rate(m)`: calls/s in minute m; `share(m)`: model -> fraction of the calls
    (default all on gpt-4o); series are absent before `starts_at` (a cold start).
    """
    rng = random.Random(seed)
    share = share or (lambda m: {"gpt-4o": 1.0})
    totals: dict[str, float] = defaultdict(float)
    seen: dict[str, int] = {}
    samples: dict[str, list[str]] = defaultdict(list)

    def add(name: str, labels: dict[str, str], value: float = 1.0) -> None:
        key = name + _labels(labels)
        totals[key] += value
        seen.setdefault(key, minute)

    for minute in range(minutes):
        if minute >= starts_at:
            for model, fraction in share(minute).items():
                provider, p_in, p_out = MODELS[model]
                lab = SERVICE | {"gen_ai_provider_name": provider, "gen_ai_request_model": model}
                ev = {"job": "llm", "service_name": SERVICE["service_name"], "gen_ai_request_model": model}
                add("gen_ai_client_operation_duration_seconds_count", lab, 0)   # series exist from the start
                add("llm_cost_usd_total", lab, 0)
                for _ in range(_poisson(rng, rate(minute) * fraction * 60)):
                    failed = rng.random() < ERROR_SHARE
                    op = lab | ({"error_type": "timeout"} if failed else {})
                    duration = rng.lognormvariate(math.log(2.0), 0.5)
                    add("gen_ai_client_operation_duration_seconds_count", op)
                    add("gen_ai_client_operation_duration_seconds_sum", op, duration)
                    for le in DURATION_LE + ("+Inf",):
                        add("gen_ai_client_operation_duration_seconds_bucket", op | {"le": le},
                            1.0 if le == "+Inf" or duration <= float(le) else 0.0)
                    if failed:
                        continue
                    ttft = rng.lognormvariate(math.log(0.6), 0.4)
                    add("gen_ai_client_operation_time_to_first_chunk_seconds_count", lab)
                    for le in TTFT_LE + ("+Inf",):
                        add("gen_ai_client_operation_time_to_first_chunk_seconds_bucket", lab | {"le": le},
                            1.0 if le == "+Inf" or ttft <= float(le) else 0.0)
                    tokens_in = round(rng.lognormvariate(math.log(800), 0.5))
                    tokens_out = round(rng.lognormvariate(math.log(300), 0.5))
                    add("llm_tokens_total", lab | {"gen_ai_token_type": "input"}, tokens_in)
                    add("llm_tokens_total", lab | {"gen_ai_token_type": "output"}, tokens_out)
                    add("llm_cost_usd_total", lab, tokens_in * p_in + tokens_out * p_out)
                    reason = "length" if rng.random() < LENGTH_SHARE else "stop"
                    add("llm_finish_reasons_total", lab | {"gen_ai_response_finish_reason": reason})
                    if rng.random() < SCORED_SHARE:
                        score = rng.betavariate(8, 1.5)
                        add("llm_eval_score_count", ev | {"gen_ai_evaluation_name": "relevance"})
                        add("llm_eval_score_sum", ev | {"gen_ai_evaluation_name": "relevance"}, score)
                    if rng.random() < FEEDBACK_SHARE:
                        add("llm_feedback_total", ev | {"feedback": "negative" if rng.random() < NEGATIVE_SHARE else "positive"})
        for key in seen:
            samples[key].append(f"{totals[key]:.6g}")
    out = []
    for key, values in samples.items():
        first = seen[key]
        padded = ["_"] * first + values
        out.append({"series": key, "values": " ".join(padded)})
    return out
