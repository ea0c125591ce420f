"""From spans to dollars with pricing dimensions: the exporter's cost, price gauge and self-metrics."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from llmpulse.app import Exporter
from llmpulse.config import load_config
from llmpulse.otlp import RawSpan

L = {"service_name": "shop", "gen_ai_operation_name": "chat"}


def _exporter(**metrics):
    reg = CollectorRegistry()
    cfg = load_config(environ={}, overrides={"metrics": metrics} if metrics else None)
    return Exporter(cfg, registry=reg), reg


def _span(i: int, attrs: dict) -> RawSpan:
    return RawSpan(f"{i:032x}", f"{i:016x}", "", "chat", 3, 1_000_000_000, 3_000_000_000, 0, "",
                   attrs, [], {"service.name": "shop"}, "")


def test_a_batch_call_is_charged_the_batch_price_and_shown_against_the_list_price():
    exp, reg = _exporter()
    spans = [
        _span(1, {"gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-5",
                  "gen_ai.usage.input_tokens": 100_000, "gen_ai.usage.output_tokens": 4_000,
                  "llmpulse.service_tier": "batch"}),
        _span(2, {"gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-5",
                  "gen_ai.usage.input_tokens": 100_000, "gen_ai.usage.output_tokens": 4_000}),
    ]
    out = exp.pipeline.spans(spans)
    assert [c.cost_usd for c in out.calls] == [pytest.approx(0.18), pytest.approx(0.36)]
    labels = {**L, "gen_ai_provider_name": "anthropic", "gen_ai_request_model": "claude-sonnet-4-5"}
    assert reg.get_sample_value("llm_cost_usd_total", labels) == pytest.approx(0.54)
    tier = {"service_name": "shop", "gen_ai_provider_name": "anthropic", "gen_ai_request_model": "claude-sonnet-4-5",
            "service_tier": "batch", "prompt_tokens_above": "0"}
    assert reg.get_sample_value("llm_tier_tokens_total", {**tier, "gen_ai_token_type": "input"}) == 100_000
    assert reg.get_sample_value("llm_tier_tokens_total", {**tier, "gen_ai_token_type": "output"}) == 4_000
    # the default-tier call adds nothing to the tier counter
    assert reg.get_sample_value("llm_tier_tokens_total", {**tier, "service_tier": "default",
                                                          "gen_ai_token_type": "input"}) is None
    price = {"gen_ai_provider_name": "anthropic", "gen_ai_request_model": "claude-sonnet-4-5",
             "prompt_tokens_above": "0"}
    assert reg.get_sample_value("llm_price_usd_per_token", {**price, "gen_ai_token_type": "input",
                                                            "service_tier": "default"}) == pytest.approx(3e-6)
    assert reg.get_sample_value("llm_price_usd_per_token", {**price, "gen_ai_token_type": "input",
                                                            "service_tier": "batch"}) == pytest.approx(1.5e-6)
    assert reg.get_sample_value("llm_price_usd_per_token", {**price, "gen_ai_token_type": "cache_write_1h",
                                                            "service_tier": "default"}) == pytest.approx(6e-6)


def test_a_long_prompt_is_counted_in_its_band_without_any_dimension_on_the_span():
    exp, reg = _exporter()
    out = exp.pipeline.spans([_span(1, {"gen_ai.provider.name": "gcp.gemini", "gen_ai.request.model": "gemini-2.5-pro",
                                        "gen_ai.usage.input_tokens": 300_000, "gen_ai.usage.output_tokens": 4_000,
                                        "gen_ai.usage.cache_read.input_tokens": 100_000})])
    assert out.calls[0].cost_usd == pytest.approx(0.585)
    key = {"service_name": "shop", "gen_ai_provider_name": "gcp.gemini", "gen_ai_request_model": "gemini-2.5-pro",
           "service_tier": "default", "prompt_tokens_above": "200000"}
    assert reg.get_sample_value("llm_tier_tokens_total", {**key, "gen_ai_token_type": "input"}) == 200_000
    assert reg.get_sample_value("llm_tier_tokens_total", {**key, "gen_ai_token_type": "cache_read"}) == 100_000
    assert reg.get_sample_value("llm_price_usd_per_token", {
        "gen_ai_provider_name": "gcp.gemini", "gen_ai_request_model": "gemini-2.5-pro", "gen_ai_token_type": "output",
        "service_tier": "default", "prompt_tokens_above": "200000"}) == pytest.approx(15e-6)


def test_approximations_are_counted_and_never_free():
    exp, reg = _exporter()
    out = exp.pipeline.spans([
        _span(1, {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 1000,
                  "gen_ai.usage.output_tokens": 10, "openai.response.service_tier": "scale"}),
        _span(2, {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 1000,
                  "gen_ai.usage.output_tokens": 10, "gen_ai.usage.audio.input_tokens": 800}),
    ])
    plain = exp.prices.lookup("openai", "gpt-4o").cost(1000, 10)
    assert [c.cost_usd for c in out.calls] == [pytest.approx(plain), pytest.approx(plain)]
    assert reg.get_sample_value("llmpulse_price_approximations_total", {"reason": "service_tier"}) == 1
    assert reg.get_sample_value("llmpulse_price_approximations_total", {"reason": "modality"}) == 1
    assert reg.get_sample_value("llmpulse_price_approximations_total", {"reason": "cache_ttl"}) == 0


def test_the_price_gauge_is_bounded_by_the_model_cap():
    exp, reg = _exporter(label_caps={"gen_ai_request_model": 3})
    models = ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-5", "o3"]
    exp.pipeline.spans([_span(i + 1, {"gen_ai.provider.name": "openai", "gen_ai.request.model": m,
                                      "gen_ai.usage.input_tokens": 10}) for i, m in enumerate(models)])
    shown = {s.labels["gen_ai_request_model"] for f in reg.collect() if f.name == "llm_price_usd_per_token"
             for s in f.samples}
    assert shown == set(models[:3])


def test_the_same_model_from_two_providers_shows_each_price():
    exp, reg = _exporter()
    exp.pipeline.spans([
        _span(1, {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 10}),
        _span(2, {"gen_ai.provider.name": "azure.ai.openai", "gen_ai.request.model": "gpt-4o",
                  "gen_ai.usage.input_tokens": 10}),
        _span(3, {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 10}),
    ])
    for provider in ("openai", "azure.ai.openai"):
        assert reg.get_sample_value("llm_price_usd_per_token", {
            "gen_ai_provider_name": provider, "gen_ai_request_model": "gpt-4o", "gen_ai_token_type": "input",
            "service_tier": "default", "prompt_tokens_above": "0"}) == pytest.approx(2.5e-6)
