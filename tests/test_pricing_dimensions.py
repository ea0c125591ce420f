"""Golden costs: each pricing dimension priced as the provider's published page says, to the cent.

Every example names the page its prices come from. The built-in table (exporter/llmpulse/prices.yaml)
is used where it carries the model; models only in LiteLLM's table go through the committed
snapshot (tests/data/litellm), imported as the exporter imports it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmpulse.config import load_config
from llmpulse.dialects import Normalizer
from llmpulse.litellm_prices import convert, read_source
from llmpulse.otlp import RawSpan
from llmpulse.pricing import DEFAULT_TIER, Price, PriceTable
from llmpulse.records import Billing

SNAPSHOT = Path(__file__).parent / "data" / "litellm" / "model_prices_and_context_window-1.110.2.json.gz"

ANTHROPIC = "https://platform.claude.com/docs/en/about-claude/pricing"
OPENAI = "https://platform.openai.com/docs/pricing"
GOOGLE = "https://ai.google.dev/gemini-api/docs/pricing"


@pytest.fixture(scope="module")
def builtin() -> PriceTable:
    return PriceTable.load()


@pytest.fixture(scope="module")
def litellm() -> PriceTable:
    doc, version = read_source(str(SNAPSHOT))
    out, _ = convert(doc, source=SNAPSHOT.name, version=version)
    return PriceTable.from_doc(out, SNAPSHOT.name)


# ---------------------------------------------------------------- service tiers

def test_batch_call_anthropic(builtin):
    """Claude Sonnet 4.5 through the Message Batches API: $1.50 in / $7.50 out per MTok, cache reads
    $0.15 (batch and caching discounts stack). Source: ANTHROPIC, "Batch processing"."""
    price = builtin.lookup("anthropic", "claude-sonnet-4-5-20250929")
    b = Billing(service_tier="batch")
    # 120,000 prompt tokens, 20,000 of them read from the cache; 4,000 output tokens
    usd = price.cost(120_000, 4_000, cache_read=20_000, billing=b)
    # 100,000 x $1.50 + 20,000 x $0.15 + 4,000 x $7.50 = $0.15 + $0.003 + $0.03
    assert usd == pytest.approx(0.183)
    assert price.cost(120_000, 4_000, cache_read=20_000) == pytest.approx(0.366)   # standard: twice


def test_batch_call_openai(builtin):
    """gpt-4o Batch API: $1.25 in / $5.00 out per MTok. Source: OPENAI, "Batch"."""
    price = builtin.lookup("openai", "gpt-4o-2024-08-06")
    assert price.cost(40_000, 10_000, billing=Billing(service_tier="batch")) == pytest.approx(0.10)


def test_flex_call_openai(builtin):
    """gpt-5 Flex processing: $0.625 in, $0.0625 cached, $5.00 out per MTok. Source: OPENAI, "Flex"."""
    price = builtin.lookup("openai", "gpt-5")
    usd = price.cost(20_000, 2_000, cache_read=5_000, billing=Billing(service_tier="flex"))
    # 15,000 x $0.625 + 5,000 x $0.0625 + 2,000 x $5 = $0.009375 + $0.0003125 + $0.01
    assert usd == pytest.approx(0.0196875)
    assert round(usd, 2) == 0.02


def test_priority_call_openai(builtin):
    """gpt-4o Priority processing: $4.25 in, $2.125 cached, $17.00 out per MTok. Source: OPENAI, "Priority"."""
    price = builtin.lookup("openai", "gpt-4o")
    usd = price.cost(10_000, 1_000, cache_read=4_000, billing=Billing(service_tier="priority"))
    # 6,000 x $4.25 + 4,000 x $2.125 + 1,000 x $17 = $0.0255 + $0.0085 + $0.017
    assert usd == pytest.approx(0.051)


def test_unknown_tier_is_the_default_price_and_approximated(builtin):
    price = builtin.lookup("openai", "gpt-4o")
    q = price.quote(10_000, 1_000, billing=Billing(service_tier="scale"))
    assert q.usd == pytest.approx(price.cost(10_000, 1_000)) and q.usd > 0
    assert (q.tier, q.approximations) == (DEFAULT_TIER, ("service_tier",))


# ---------------------------------------------------------------- prompt-size tiers

def test_long_context_call_gemini(builtin):
    """Gemini 2.5 Pro: prompts up to 200K tokens $1.25 in / $0.125 cached / $10 out; above 200K the
    whole call is $2.50 / $0.25 / $15 per MTok. Source: GOOGLE, "Gemini 2.5 Pro"."""
    price = builtin.lookup("gcp.gemini", "models/gemini-2.5-pro")
    # 300,000 prompt tokens, 100,000 cached; 4,000 output
    long = price.cost(300_000, 4_000, cache_read=100_000)
    # 200,000 x $2.50 + 100,000 x $0.25 + 4,000 x $15 = $0.50 + $0.025 + $0.06
    assert long == pytest.approx(0.585)
    assert price.cost(150_000, 4_000) == pytest.approx(0.2275)     # 150,000 x $1.25 + 4,000 x $10
    assert price.cost(200_000, 0) == pytest.approx(0.25)           # at the threshold: still the base price
    assert price.cost(200_001, 0) == pytest.approx(200_001 * 2.5 / 1e6)


def test_long_context_batch_call_gemini(builtin):
    """Gemini 2.5 Pro Batch: 50 % of the interactive price, long prompts included
    ($1.25 / $7.50 per MTok above 200K). Source: GOOGLE, "Batch"."""
    price = builtin.lookup("gcp.gemini", "gemini-2.5-pro")
    usd = price.cost(250_000, 10_000, billing=Billing(service_tier="batch"))
    assert usd == pytest.approx(250_000 * 1.25 / 1e6 + 10_000 * 7.5 / 1e6)      # $0.3875


def test_long_context_tiers_from_litellm(litellm):
    """LiteLLM's Gemini 2.5 Pro above-200K priority prices come through the import:
    $4.50 in / $27 out per MTok. Source: GOOGLE, "Priority"; LiteLLM 1.110.2."""
    price = litellm.lookup("gcp.gemini", "gemini/gemini-2.5-pro")
    assert price.cost(300_000, 1_000, billing=Billing(service_tier="priority")) == pytest.approx(
        300_000 * 4.5e-6 + 1_000 * 27e-6)


# ---------------------------------------------------------------- cache write TTL and cache read

def test_one_hour_cache_write_anthropic(builtin):
    """Claude Sonnet 4.5: 1-hour cache writes $6 / MTok (2x input), 5-minute writes $3.75 (1.25x),
    cache hits $0.30. Source: ANTHROPIC, "Model pricing" and "Prompt caching"."""
    price = builtin.lookup("anthropic", "claude-sonnet-4-5")
    b = Billing(cache_write_1h_tokens=40_000)
    # 50,000 prompt tokens: 40,000 written to the 1-hour cache, 10,000 uncached; 500 output
    usd = price.cost(50_000, 500, cache_write=40_000, billing=b)
    # 10,000 x $3 + 40,000 x $6 + 500 x $15 = $0.03 + $0.24 + $0.0075
    assert usd == pytest.approx(0.2775)
    assert price.cost(50_000, 500, cache_write=40_000) == pytest.approx(0.1875)   # as 5-minute writes
    # a mix: 30,000 five-minute writes, 10,000 one-hour writes, 5,000 cache hits
    mixed = price.cost(60_000, 0, cache_read=5_000, cache_write=40_000, billing=Billing(cache_write_1h_tokens=10_000))
    assert mixed == pytest.approx(15_000 * 3e-6 + 5_000 * 0.3e-6 + 30_000 * 3.75e-6 + 10_000 * 6e-6)


def test_one_hour_write_without_a_1h_price_is_approximated():
    q = Price(3, 15, cache_write=3.75).quote(10_000, 0, 0, 10_000, 0, Billing(cache_write_1h_tokens=10_000))
    assert q.usd == pytest.approx(10_000 * 3.75e-6)
    assert q.approximations == ("cache_ttl",)


# ---------------------------------------------------------------- modalities

def test_audio_call_gemini(builtin):
    """Gemini 2.5 Flash: audio input $1.00 / MTok, text/image/video input $0.30, output $2.50.
    Source: GOOGLE, "Gemini 2.5 Flash"."""
    price = builtin.lookup("gcp.gemini", "gemini-2.5-flash")
    usd = price.cost(10_000, 1_000, billing=Billing(audio_input_tokens=8_000))
    # 2,000 x $0.30 + 8,000 x $1.00 + 1,000 x $2.50 = $0.0006 + $0.008 + $0.0025
    assert usd == pytest.approx(0.0111)


def test_audio_call_openai_realtime(litellm):
    """gpt-realtime: text $4 in / $16 out, audio $32 in / $64 out per MTok. Source: OPENAI,
    "Audio tokens"; priced through the LiteLLM 1.110.2 snapshot."""
    price = litellm.lookup("openai", "gpt-realtime")
    b = Billing(audio_input_tokens=5_000, audio_output_tokens=3_000)
    usd = price.cost(6_000, 3_200, billing=b)
    # 1,000 x $4 + 5,000 x $32 + 200 x $16 + 3,000 x $64 = $0.004 + $0.16 + $0.0032 + $0.192
    assert usd == pytest.approx(0.3592)


def test_image_input_openai_realtime(litellm):
    """gpt-realtime image input $5 / MTok. Source: OPENAI; LiteLLM 1.110.2."""
    price = litellm.lookup("openai", "gpt-realtime")
    assert price.cost(2_000, 0, billing=Billing(image_input_tokens=2_000)) == pytest.approx(0.01)


def test_audio_tokens_without_an_audio_price_are_text_priced_and_approximated(builtin):
    price = builtin.lookup("openai", "gpt-4o")
    q = price.quote(10_000, 1_000, billing=Billing(audio_input_tokens=5_000))
    assert q.usd == pytest.approx(price.cost(10_000, 1_000)) and q.approximations == ("modality",)


def test_cached_audio_gemini(builtin):
    """Gemini 2.5 Flash context caching: audio $0.10 / MTok, text $0.03. Source: GOOGLE."""
    price = builtin.lookup("gcp.gemini", "gemini-2.5-flash")
    b = Billing(audio_input_tokens=6_000, audio_cache_read_tokens=4_000)
    usd = price.cost(10_000, 0, cache_read=5_000, billing=b)
    # cached: 4,000 audio x $0.10 + 1,000 text x $0.03; uncached: 2,000 audio x $1 + 3,000 text x $0.30
    assert usd == pytest.approx(0.0004 + 0.00003 + 0.002 + 0.0009)


# ---------------------------------------------------------------- per-call fees

def test_web_search_fee_anthropic(builtin):
    """Claude web search: $10 per 1,000 searches plus tokens. Source:
    https://platform.claude.com/docs/en/agents-and-tools/tool-use/web-search-tool ("Usage and pricing")."""
    price = builtin.lookup("anthropic", "claude-sonnet-4-5")
    usd = price.cost(10_000, 1_000, billing=Billing(web_search_calls=3))
    assert usd == pytest.approx(0.03 + 0.015 + 0.03)


def test_web_search_without_a_price_is_not_charged_and_approximated():
    q = Price(1, 2).quote(1_000_000, 0, billing=Billing(web_search_calls=2))
    assert q.usd == pytest.approx(1.0) and q.approximations == ("tool_fee",)


def test_request_fee_perplexity(litellm):
    """Perplexity Sonar: $1 in / $1 out per MTok plus a request fee, $8 per 1,000 requests at medium
    search context. Source: https://docs.perplexity.ai/getting-started/pricing; LiteLLM 1.110.2."""
    price = litellm.lookup("perplexity", "perplexity/sonar")
    assert price.cost(1_000, 500) == pytest.approx(0.001 + 0.0005 + 0.008)


# ---------------------------------------------------------------- from the span

def _span(attrs: dict) -> RawSpan:
    return RawSpan("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "", "chat", 3,
                   1_000_000_000, 3_000_000_000, 0, "", attrs, [], {"service.name": "shop"}, "")


@pytest.mark.parametrize("attrs, expected", [
    ({"openai.response.service_tier": "flex"}, Billing(service_tier="flex")),
    ({"gen_ai.openai.response.service_tier": "priority", "gen_ai.openai.request.service_tier": "auto"},
     Billing(service_tier="priority")),
    ({"openai.request.service_tier": "default"}, None),
    ({"openai.response.service_tier": "Standard"}, None),
    ({"openai.response.service_tier": "default", "gen_ai.usage.audio.input_tokens": 5}, Billing(audio_input_tokens=5)),
    ({"openai.response.service_tier": "flex", "gen_ai.usage.image.input_tokens": 0}, Billing(service_tier="flex")),
    ({"llmpulse.service_tier": "batch"}, Billing(service_tier="batch")),
    ({"gen_ai.usage.details.ephemeral_1h_input_tokens": 700}, Billing(cache_write_1h_tokens=700)),
    ({"gen_ai.usage.audio.input_tokens": 5, "gen_ai.usage.audio.output_tokens": 6,
      "gen_ai.usage.image.input_tokens": 7, "gen_ai.usage.audio.cache_read.input_tokens": 2},
     Billing(audio_input_tokens=5, audio_output_tokens=6, image_input_tokens=7, audio_cache_read_tokens=2)),
    ({"llm.token_count.prompt_details.audio": 9, "llm.token_count.completion_details.audio": 4},
     Billing(audio_input_tokens=9, audio_output_tokens=4)),
    ({"gen_ai.usage.details.input_audio_tokens": 3, "gen_ai.usage.details.web_search_requests": 2},
     Billing(audio_input_tokens=3, web_search_calls=2)),
    ({"gen_ai.usage.audio.input_tokens": "x"}, None),
])
def test_dimensions_read_from_the_span(attrs, expected):
    base = {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 10}
    call = Normalizer(load_config(environ={})).normalize(_span({**base, **attrs}))
    assert call.billing == expected


def test_a_span_without_dimensions_has_no_billing():
    call = Normalizer(load_config(environ={})).normalize(_span({"gen_ai.provider.name": "openai",
                                                                "gen_ai.request.model": "gpt-4o"}))
    assert call.billing is None


# ---------------------------------------------------------------- properties

prices = st.floats(min_value=0, max_value=100, allow_nan=False, allow_infinity=False)
optional = st.none() | prices
factors = st.floats(min_value=1, max_value=5, allow_nan=False)
counts = st.integers(min_value=0, max_value=2_000_000)


@st.composite
def price_sets(draw) -> Price:
    """Any price set whose long-prompt bands cost at least the base (as providers' do)."""
    base = {k: draw(optional) for k in ("cache_read", "cache_write", "reasoning", "cache_write_1h", "audio_input",
                                         "audio_output", "image_input", "image_output", "video_input",
                                         "audio_cache_read", "image_cache_read", "web_search")}
    inp, out = draw(prices), draw(prices)
    above = ()
    if draw(st.booleans()):
        f = draw(factors)
        above = ((draw(st.integers(1, 1_000_000)),
                  Price(inp * f, out * f, **{k: None if v is None else v * f for k, v in base.items()})),)
    tier = Price(draw(prices), draw(prices))
    return Price(inp, out, **base, above=above, tiers=(("batch", tier),))


@settings(max_examples=300, deadline=None)
@given(price=price_sets(), parts=st.lists(counts, min_size=12, max_size=12), which=st.integers(0, 11),
       more=st.integers(1, 500_000), tier=st.sampled_from(["", "batch", "scale"]))
def test_cost_is_monotonic_in_every_token_count(price, parts, which, more, tier):
    """Adding tokens of any kind to a call never lowers its cost."""
    def cost(p):
        text_in, c_read, c_write5, c_write1h, audio_in, image_in, video_in, audio_read, text_out, reasoning, \
            audio_out, searches = p
        searches //= 100_000            # 0 to 20 searches, growing with the count
        b = Billing(service_tier=tier, cache_write_1h_tokens=c_write1h, audio_input_tokens=audio_in + audio_read,
                    image_input_tokens=image_in, video_input_tokens=video_in, audio_cache_read_tokens=audio_read,
                    audio_output_tokens=audio_out, web_search_calls=searches)
        inp = text_in + c_read + audio_read + c_write5 + c_write1h + audio_in + image_in + video_in
        return price.cost(inp, text_out + reasoning + audio_out, c_read + audio_read, c_write5 + c_write1h,
                          reasoning, billing=b)

    bigger = list(parts)
    bigger[which] += more
    assert cost(bigger) >= cost(parts) - 1e-12


@settings(max_examples=200, deadline=None)
@given(model=st.sampled_from([e.name for e in PriceTable.load().entries]),
       inp=counts, out=counts, c_read=counts, c_write=counts, more=st.integers(1, 300_000),
       which=st.integers(0, 3))
def test_builtin_prices_are_monotonic(builtin, model, inp, out, c_read, c_write, more, which):
    price = builtin.lookup("any", model)
    parts = [inp, out, c_read, c_write]
    bigger = list(parts)
    bigger[which] += more

    def cost(p):
        return price.cost(p[0] + p[2] + p[3], p[1], p[2], p[3])

    assert cost(bigger) >= cost(parts)


@settings(max_examples=200, deadline=None)
@given(price=price_sets(), inp=counts, out=counts, c_read=counts, c_write=counts, reasoning=counts)
def test_quote_without_dimensions_is_the_plain_cost(price, inp, out, c_read, c_write, reasoning):
    assert price.quote(inp, out, c_read, c_write, reasoning).usd == pytest.approx(
        price.cost(inp, out, c_read, c_write, reasoning), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name", ["pricing", "billing", "costing", "litellm_prices", "price_sources", "records"])
def test_docstring_examples_hold(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(f"llmpulse.{name}"))
    assert result.attempted >= 1 and result.failed == 0
