"""The Cost dashboard's savings panels on a real Prometheus: known calls, known dollars.

Sends batch and long-prompt calls of a service of its own to the live stack's exporter
(the `live_prometheus` fixture, tests/conftest.py), then evaluates each savings panel's query
with that service selected, beside the same dollars written out by hand from the providers'
prices (not from the price gauge), at the same instant.
"""

from __future__ import annotations

import time

import pytest
import requests

from llmpulse.dashboards import cost
from llmpulse.dashboards.build import live_expr

SERVICE = "savings-test"
GEMINI = {"gen_ai.provider.name": "gcp.gemini", "gen_ai.request.model": "gemini-2.5-pro",
          "gen_ai.usage.input_tokens": 300_000, "gen_ai.usage.cache_read.input_tokens": 100_000,
          "gen_ai.usage.output_tokens": 4_000, "gen_ai.operation.name": "chat"}
GPT_BATCH = {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.operation.name": "chat",
             "gen_ai.usage.input_tokens": 100_000, "gen_ai.usage.cache_read.input_tokens": 40_000,
             "gen_ai.usage.output_tokens": 10_000, "llmpulse.service_tier": "batch"}


def rate(model: str, kind: str, family: str = "llm_tier_tokens_total") -> str:
    return (f'sum(rate({family}{{service_name="{SERVICE}", gen_ai_request_model="{model}", '
            f'gen_ai_token_type="{kind}"}}[1m]))')


# USD per token differences, from the providers' pages (tests/test_pricing_dimensions.py names them)
EXPECTED = {
    # Gemini 2.5 Pro above 200K: input 2.50 vs 1.25, cache read 0.25 vs 0.125, output 15 vs 10 (per MTok)
    "long": f"({rate('gemini-2.5-pro', 'input')} * 1.25e-6 + {rate('gemini-2.5-pro', 'cache_read')} * 0.125e-6"
            f" + {rate('gemini-2.5-pro', 'output')} * 5e-6) * 3600",
    # gpt-4o Batch: input 1.25 vs 2.50, cache read 0.625 vs 1.25, output 5 vs 10
    "batch": f"({rate('gpt-4o', 'input')} * 1.25e-6 + {rate('gpt-4o', 'cache_read')} * 0.625e-6"
             f" + {rate('gpt-4o', 'output')} * 5e-6) * 3600",
    # cache reads save input minus cache-read price at the default tier: gpt-4o 2.50 - 1.25, Gemini 1.25 - 0.125
    "cached": f"({rate('gpt-4o', 'cache_read', 'llm_tokens_total')} * 1.25e-6"
              f" + {rate('gemini-2.5-pro', 'cache_read', 'llm_tokens_total')} * 1.125e-6) * 3600",
}


@pytest.fixture(scope="module")
def prometheus(request):
    try:
        return request.getfixturevalue("live_prometheus")
    except pytest.FixtureLookupError:
        pytest.skip("needs the live_prometheus fixture (tests/conftest.py): real Prometheus + llmpulse demo")


def _send(stack) -> None:
    from otlpdata import span, traces_request

    now = time.time_ns()
    spans = [span(attrs, name="chat", start_ns=now - 2 * 10**9) for attrs in (GEMINI, GPT_BATCH) for _ in range(5)]
    body = traces_request(spans, resource={"service.name": SERVICE}).SerializeToString()
    r = requests.post(stack.otlp_http_url + "/v1/traces", data=body,
                      headers={"Content-Type": "application/x-protobuf"}, timeout=10)
    assert r.status_code == 200, r.text


def _wait(stack, expr: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not stack.query(expr):
        assert time.monotonic() < deadline, f"no data for {expr}"
        time.sleep(0.5)


def _at(stack, expr: str, when: float) -> float:
    result = stack.api("query", query=expr, time=when)["result"]
    assert len(result) == 1, (expr, result)
    return float(result[0]["value"][1])


@pytest.mark.live
def test_savings_panels_show_the_dollars_of_known_calls(prometheus):
    _send(prometheus)
    _wait(prometheus, f'llm_tier_tokens_total{{service_name="{SERVICE}"}}')
    time.sleep(2.5)                     # two scrapes of the first counts, then an increase to rate
    _send(prometheus)
    _wait(prometheus, f'rate(llm_tier_tokens_total{{service_name="{SERVICE}"}}[1m]) > 0')
    time.sleep(3.5)

    def panel(expr: str) -> str:
        return live_expr(expr.replace('"$service"', f'"{SERVICE}"'))

    # An instant a little in the past: a scrape that started before `when` may still be being written
    # when the first query runs and be seen by the next, and the queries below must see the same samples
    # (a full-suite run once compared a panel at 5 samples with its hand-written twin at 4: 1.25x).
    when = time.time() - 3.0
    long = _at(prometheus, f"sum({panel(cost.long_context_surcharge())})", when)
    batch = _at(prometheus, panel(cost.tier_savings()), when)
    cached = _at(prometheus, f"sum({panel(cost.cached_token_savings())})", when)
    assert long > 0 and batch > 0 and cached > 0
    assert long == pytest.approx(_at(prometheus, EXPECTED["long"], when), rel=1e-6)
    assert batch == pytest.approx(_at(prometheus, EXPECTED["batch"], when), rel=1e-6)
    assert cached == pytest.approx(_at(prometheus, EXPECTED["cached"], when), rel=1e-6)
