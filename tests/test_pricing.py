"""Price table and cost engine: lookups, overrides, cost arithmetic, validation."""

from __future__ import annotations

import datetime as dt
import re
from importlib import resources
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from llmpulse.pricing import (
    LOOKUP_CACHE_MAX_ENTRIES,
    Price,
    PriceTable,
    PriceTableError,
    name_forms,
)


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable.load()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------ real-world names

@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        # exact and case-insensitive
        ("openai", "gpt-4o", "gpt-4o"),
        ("openai", "GPT-4o", "gpt-4o"),
        ("openai", "gpt-4o-mini", "gpt-4o-mini"),
        # provider prefixes
        ("openai", "openai/gpt-4o", "gpt-4o"),
        ("azure.ai.openai", "azure/gpt-4o-mini", "gpt-4o-mini"),
        ("gcp.gemini", "models/gemini-2.5-pro", "gemini-2.5-pro"),
        ("gcp.vertex_ai",
         "projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash",
         "gemini-2.5-flash"),
        ("aws.bedrock", "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet"),
        ("aws.bedrock", "us.anthropic.claude-3-7-sonnet-20250219-v1:0", "claude-3-7-sonnet"),
        ("aws.bedrock", "global.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5"),
        ("aws.bedrock", "eu.anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4"),
        ("openrouter", "anthropic/claude-3.7-sonnet:thinking", "claude-3-7-sonnet"),
        # dated and versioned suffixes
        ("openai", "gpt-4o-2024-08-06", "gpt-4o"),
        ("openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("openai", "o3-mini-2025-01-31", "o3-mini"),
        ("openai", "gpt-5-2025-08-07", "gpt-5"),
        ("openai", "gpt-3.5-turbo-0125", "gpt-3.5-turbo"),
        ("openai", "chatgpt-4o-latest", "gpt-4o"),
        ("anthropic", "claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
        ("anthropic", "claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
        ("anthropic", "claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("anthropic", "claude-opus-4-20250514", "claude-opus-4"),
        ("gcp.vertex_ai", "claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("gcp.vertex_ai", "claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet"),
        ("anthropic", "claude-opus-4.6", "claude-opus-4-6"),
        ("aws.bedrock", "us.anthropic.claude-opus-4-8-v1:0", "claude-opus-4-8"),
        ("gcp.gemini", "gemini-2.0-flash-001", "gemini-2.0-flash"),
        ("gcp.gemini", "gemini-1.5-pro-002", "gemini-1.5-pro"),
        ("gcp.gemini", "gemini-2.5-flash-lite-preview-06-17", "gemini-2.5-flash-lite"),
        ("mistral_ai", "mistral-large-latest", "mistral-large"),
        ("mistral_ai", "codestral-latest", "codestral"),
        # an exact alias beats suffix stripping
        ("mistral_ai", "mistral-medium-latest", "mistral-medium-3.5"),
        ("openai", "gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),
        # open-weight models as hosts name them
        ("ollama", "llama3.1:8b", "llama-3.1-8b-instruct"),
        ("together", "meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo", "llama-3.1-405b-instruct"),
        ("aws.bedrock", "meta.llama3-1-70b-instruct-v1:0", "llama-3.1-70b-instruct"),
        ("groq", "llama-3.3-70b-versatile", "llama-3.3-70b-instruct"),
        ("fireworks", "accounts/fireworks/models/llama-v3p1-8b-instruct", "llama-3.1-8b-instruct"),
        ("together", "mistralai/Mixtral-8x7B-Instruct-v0.1", "mixtral-8x7b-instruct"),
        ("ollama", "qwen2.5:72b", "qwen-2.5-72b-instruct"),
        ("together", "Qwen/Qwen2.5-72B-Instruct-Turbo", "qwen-2.5-72b-instruct"),
        ("deepseek", "deepseek-chat", "deepseek-chat"),
        ("together", "deepseek-ai/DeepSeek-V3", "deepseek-chat"),
        ("deepseek", "deepseek-reasoner", "deepseek-reasoner"),
        ("together", "deepseek-ai/DeepSeek-R1", "deepseek-reasoner"),
        # embeddings
        ("openai", "text-embedding-3-small", "text-embedding-3-small"),
        ("mistral_ai", "mistral-embed", "mistral-embed"),
        # the provider is only a hint: unknown or wrong providers still match
        ("some.unknown.provider", "gpt-4.1-nano", "gpt-4.1-nano"),
        ("", "claude-3-haiku-20240307", "claude-3-haiku"),
    ],
)
def test_lookup_real_world_names(table: PriceTable, provider: str, model: str, expected: str) -> None:
    entry = table.match(provider, model)
    assert entry is not None, f"{model!r} not priced"
    assert entry.name == expected
    assert table.lookup(provider, model) == entry.price


@pytest.mark.parametrize(
    "model",
    [
        "no-such-model",
        "gemini-1.5-flash-8b",          # a different, cheaper model: must not become 1.5 flash
        "gpt-4o-audio-preview",         # priced per audio token: not gpt-4o
        "ft:gpt-4o-mini:acme::abc123",  # fine-tuned: the user must price it
        "my-azure-deployment",
        "claude-opus-9-9",              # a one-digit version is part of the name
        "deepseek-v2",
        "o1-pro",                       # ten times o1's price: never o1
        "o3-pro",
        "",
    ],
)
def test_unknown_models_are_none(table: PriceTable, model: str) -> None:
    assert table.lookup("openai", model) is None


def test_flash_lite_is_not_flash(table: PriceTable) -> None:
    lite = table.lookup("gcp.gemini", "gemini-2.5-flash-lite")
    flash = table.lookup("gcp.gemini", "gemini-2.5-flash")
    assert lite is not None and flash is not None
    assert lite.input < flash.input


def test_known_prices(table: PriceTable) -> None:
    sonnet = table.lookup("anthropic", "claude-sonnet-4-5-20250929")
    assert (sonnet.input, sonnet.output, sonnet.cache_read, sonnet.cache_write, sonnet.cache_write_1h) == (
        3, 15, 0.3, 3.75, 6)
    assert sonnet.tier("batch").input == 1.5 and sonnet.web_search == 0.01
    gpt5 = table.lookup("openai", "gpt-5")
    assert (gpt5.input, gpt5.cache_read, gpt5.output) == (1.25, 0.125, 10)
    emb = table.lookup("openai", "text-embedding-3-large")
    assert (emb.input, emb.output) == (0.13, 0)


def test_name_forms_peel_one_layer_at_a_time() -> None:
    forms = name_forms("bedrock/us.anthropic.claude-3-5-sonnet-20241022-v2:0")
    assert forms[0] == "bedrock/us.anthropic.claude-3-5-sonnet-20241022-v2:0"
    assert "claude-3-5-sonnet-20241022" in forms
    assert forms.index("claude-3-5-sonnet-20241022") < forms.index("claude-3-5-sonnet")
    assert name_forms("Claude-3.5-Sonnet")[-1] == "claude-3-5-sonnet"
    # a bare -vN is only a version on cloud ids, not part of a model's own name
    assert "deepseek" not in name_forms("deepseek-v3")
    assert name_forms("amazon.titan-text-express-v1")[-1] == "titan-text-express"


# ------------------------------------------------------------- provider hint

def test_provider_hint_prefers_matching_entry(tmp_path: Path) -> None:
    path = write(tmp_path, "hosts.yaml", """
models:
  - {name: llama-3.1-8b-instruct, provider: groq, input: 0.05, output: 0.08}
  - {name: llama-3.1-8b-instruct, provider: aws.bedrock, input: 0.22, output: 0.22}
""")
    table = PriceTable.load([path])
    assert table.lookup("groq", "llama-3.1-8b-instruct").output == 0.08
    assert table.lookup("aws.bedrock", "llama-3.1-8b-instruct").output == 0.22
    # no entry for this provider: the built-in `any` entry answers
    assert table.lookup("together", "llama-3.1-8b-instruct").output == 0.18


# --------------------------------------------------------------- overrides

def test_user_file_overrides_builtin_and_keeps_its_aliases(tmp_path: Path) -> None:
    path = write(tmp_path, "negotiated.yaml", """
checked: 2026-10-01
models:
  - name: gpt-4o
    provider: openai
    input: 2.0
    output: 8.0
    source: our enterprise agreement
""")
    table = PriceTable.load([path])
    assert table.lookup("openai", "gpt-4o") == Price(input=2.0, output=8.0)
    # dated and aliased names of the overridden model follow the new price
    assert table.lookup("openai", "gpt-4o-2024-08-06").input == 2.0
    assert table.lookup("openai", "chatgpt-4o-latest").input == 2.0
    # the built-in keeps everything else
    assert table.lookup("openai", "gpt-4o-mini").input == 0.15
    # the oldest declared `checked` date is the table's
    assert table.checked == dt.date(2026, 10, 1)
    assert table.version != PriceTable.load().version


def test_later_files_win(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", "models: [{name: my-model, input: 1, output: 1}]")
    second = write(tmp_path, "b.yaml", "models: [{name: my-model, input: 2, output: 2}]")
    assert PriceTable.load([first, second]).lookup("x", "my-model").input == 2
    assert PriceTable.load([second, first]).lookup("x", "my-model").input == 1


def test_self_hosted_zero_price_is_a_price_not_unknown(tmp_path: Path) -> None:
    path = write(tmp_path, "self-hosted.yaml", """
models:
  - name: our-llama-70b
    provider: any
    input: 0
    output: 0
    aliases: [llama-70b-internal]
    patterns: ['^ft:gpt-4o-mini:acme:']
""")
    table = PriceTable.load([path])
    price = table.lookup("vllm", "our-llama-70b")
    assert price is not None
    assert price == Price(input=0.0, output=0.0)
    assert price.cost(1_000_000, 1_000_000, cache_read=10, reasoning=5) == 0.0
    assert table.lookup("vllm", "llama-70b-internal") == price
    assert table.lookup("openai", "ft:gpt-4o-mini:acme::abc123") == price
    assert table.lookup("vllm", "our-llama-8b") is None


def test_user_entry_can_price_an_unknown_model_with_a_pattern(tmp_path: Path) -> None:
    path = write(tmp_path, "ft.yaml", """
unit: per_thousand_tokens
models:
  - {name: ft-gpt-4o-mini, provider: openai, input: 0.0003, output: 0.0012, patterns: ['^ft:gpt-4o-mini']}
""")
    price = PriceTable.load([path]).lookup("openai", "ft:gpt-4o-mini-2024-07-18:acme::x1")
    assert price is not None
    assert price.input == pytest.approx(0.3)
    assert price.output == pytest.approx(1.2)


def test_builtin_false_uses_only_user_files(tmp_path: Path) -> None:
    path = write(tmp_path, "only.yaml", """
checked: 2026-01-02
models: [{name: only-model, provider: any, input: 1, output: 2}]
""")
    table = PriceTable.load([path], builtin=False)
    assert len(table) == 1
    assert table.lookup("openai", "gpt-4o") is None
    assert table.checked == dt.date(2026, 1, 2)


def test_builtin_false_needs_a_checked_date(tmp_path: Path) -> None:
    path = write(tmp_path, "nodate.yaml", "models: [{name: m, input: 1, output: 2}]")
    with pytest.raises(PriceTableError, match="checked"):
        PriceTable.load([path], builtin=False)


# ------------------------------------------------------------ cost arithmetic

def test_cost_plain() -> None:
    price = Price(input=2.5, output=10)
    assert price.cost(1_000, 200) == pytest.approx((1_000 * 2.5 + 200 * 10) / 1e6)


def test_cost_with_cache_read_and_write() -> None:
    # input_tokens INCLUDES the cached tokens: 10k prompt = 2k uncached + 6k read + 2k written
    price = Price(input=3, output=15, cache_read=0.3, cache_write=3.75)
    cost = price.cost(input_tokens=10_000, output_tokens=1_000, cache_read=6_000, cache_write=2_000)
    expected = (2_000 * 3 + 6_000 * 0.3 + 2_000 * 3.75 + 1_000 * 15) / 1e6
    assert cost == pytest.approx(expected)
    assert cost == pytest.approx(0.0303)


def test_cost_with_reasoning() -> None:
    # output_tokens INCLUDES reasoning tokens
    price = Price(input=1, output=4, reasoning=8)
    cost = price.cost(input_tokens=100, output_tokens=1_000, reasoning=600)
    assert cost == pytest.approx((100 * 1 + 400 * 4 + 600 * 8) / 1e6)


def test_missing_cache_and_reasoning_prices_fall_back() -> None:
    price = Price(input=2, output=6)
    with_details = price.cost(1_000, 500, cache_read=300, cache_write=200, reasoning=100)
    assert with_details == pytest.approx(price.cost(1_000, 500))


def test_cost_per_request_and_none_tokens() -> None:
    price = Price(input=1, output=1, per_request=0.01)
    assert price.cost(None, None, None, None, None) == pytest.approx(0.01)
    assert price.cost(0, 0) == pytest.approx(0.01)


def test_cost_never_negative_when_details_exceed_totals() -> None:
    # a dialect reporting more cache tokens than input must not produce a credit
    price = Price(input=10, output=10, cache_read=1)
    cost = price.cost(input_tokens=100, output_tokens=10, cache_read=500, reasoning=50)
    assert cost == pytest.approx((500 * 1 + 50 * 10) / 1e6)
    assert cost >= 0


def test_builtin_cost_worked_example(table: PriceTable) -> None:
    """The example in docs/pricing.md."""
    price = table.lookup("anthropic", "claude-sonnet-4-5-20250929")
    cost = price.cost(input_tokens=12_000, output_tokens=1_500,
                      cache_read=8_000, cache_write=1_000, reasoning=500)
    assert cost == pytest.approx(0.03765)


# ------------------------------------------------------------------ validation

BAD_FILE = """
checked: 2026-13-45
currency: EUR
colour: blue
models:
  - name: ok-model
    input: 1
    output: 1
  - name: negative
    input: -1
    output: 1
  - name: text-price
    input: "cheap"
    output: 1
  - input: 1
    output: 1
  - name: bad-regex
    input: 1
    output: 1
    patterns: ['llama(']
  - name: typo
    input: 1
    outptu: 1
  - name: ok-model
    input: 2
    output: 2
"""


def test_validation_lists_every_problem_with_its_path(tmp_path: Path) -> None:
    path = write(tmp_path, "my-prices.yaml", BAD_FILE)
    with pytest.raises(PriceTableError) as info:
        PriceTable.load([path])
    problems = info.value.problems
    text = str(info.value)
    p = str(path)
    # one format for every typed file (llmpulse.typed): file: key path: what was wrong (what is allowed)
    expected = [
        # the shape (llmpulse.typed: keys, types, required keys) ...
        f"{p}: colour: unknown key (known: checked, currency, models, source, unit, version)",
        f"{p}: models[1].input: must be a number >= 0, got -1",
        f"{p}: models[2].input: must be a number >= 0, got 'cheap'",
        f"{p}: models[3].name: missing (required)",
        f"{p}: models[5].outptu: unknown key (did you mean output? known: above, aliases, audio_cache_read, "
        "audio_input, audio_output, cache_read, cache_write, cache_write_1h, ... (22 in all))",
        f"{p}: models[5].output: missing (required)",
        # ... then what a shape cannot say
        f"{p}: checked: must be a date YYYY-MM-DD, got '2026-13-45'",
        f"{p}: currency: must be USD",
        f"{p}: models[4].patterns[0]: not a valid regular expression: missing ), unterminated subpattern at position 5",
        f"{p}: models[6].name: duplicate of models[0] (ok-model, provider any)",
    ]
    assert problems == expected
    for want in expected:
        assert want in text


def test_validation_reports_problems_of_every_file(tmp_path: Path) -> None:
    one = write(tmp_path, "one.yaml", "models: [{name: a, input: -2, output: 1}]")
    two = write(tmp_path, "two.yaml", "models: [{name: b, input: 1, output: true}]")
    missing = tmp_path / "missing.yaml"
    with pytest.raises(PriceTableError) as info:
        PriceTable.load([one, two, missing])
    problems = info.value.problems
    assert any(p.startswith(f"{one}: models[0].input:") for p in problems)
    assert any(p.startswith(f"{two}: models[0].output:") for p in problems)
    assert any(p.startswith(f"{missing}: cannot read") for p in problems)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("models: [1, 2", "not valid YAML"),
        ("checked: 2026-02-30\nmodels: []", "checked: must be a date YYYY-MM-DD"),
        ("- just a list", "must be a mapping"),
        ("models: {name: x}", "models: must be a list"),
        ("unit: per_gallon\nmodels: []", "unit: must be one of"),
        ("models: [{name: x, input: 1, output: 1, aliases: gpt-x}]", "models[0].aliases: must be a list"),
        ("models: [{name: x, input: .nan, output: 1}]", "models[0].input: must be a number >= 0"),
        ("models: [{name: x, input: 1, output: 1}, {name: y, input: 1, output: 1, aliases: [x]}]",
         "models[1].aliases: 'x' already names models[0]"),
    ],
)
def test_validation_cases(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, "p.yaml", text)
    with pytest.raises(PriceTableError) as info:
        PriceTable.load([path])
    assert any(problem in p for p in info.value.problems), info.value.problems


# --------------------------------------------------------------- bounded cache

def test_lookup_cache_is_bounded(tmp_path: Path) -> None:
    table = PriceTable.load()
    for i in range(3 * LOOKUP_CACHE_MAX_ENTRIES + 7):
        table.lookup("openai", f"attacker-model-{i}")
    assert 0 < len(table._cache) <= LOOKUP_CACHE_MAX_ENTRIES
    # still answers correctly after the clears
    assert table.lookup("openai", "gpt-4o").input == 2.5


def test_small_cache_limit_and_overlong_names() -> None:
    table = PriceTable.load()
    table.cache_max_entries = 10
    for i in range(95):
        table.lookup("x", f"m{i}")
    assert len(table._cache) <= 10
    huge = "gpt-4o" + "x" * 10_000
    assert table.lookup("openai", huge) is None
    assert all(len(model) < 1000 for _, model in table._cache)


def test_cached_and_uncached_answers_agree(table: PriceTable) -> None:
    first = table.match("openai", "gpt-4o-2024-11-20")
    second = table.match("openai", "gpt-4o-2024-11-20")
    assert first is second
    assert table._match_uncached("openai", "gpt-4o-2024-11-20") is first


# ------------------------------------------------------------- shipped table

def test_shipped_table_is_valid_and_complete(table: PriceTable) -> None:
    raw = yaml.safe_load(resources.files("llmpulse").joinpath("prices.yaml").read_text())
    assert raw["currency"] == "USD"
    assert raw["unit"] == "per_million_tokens"
    assert isinstance(raw["checked"], dt.date)
    assert len(table) == len(raw["models"])
    for entry in table.entries:
        assert entry.source, f"{entry.name} has no source"
        p = entry.price
        assert p.input >= 0 and p.output >= 0
        if p.cache_read is not None:
            assert p.cache_read <= p.input, entry.name
        # every entry finds itself, and every alias finds its entry
        assert table.match(entry.provider, entry.name) is entry
        for alias in entry.aliases:
            assert table.match(entry.provider, alias) is entry, alias
    required = [
        "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o1", "o3", "o3-mini",
        "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5-nano", "text-embedding-3-small",
        "text-embedding-3-large", "gpt-3.5-turbo",
        "claude-3-haiku", "claude-3-5-haiku", "claude-3-5-sonnet", "claude-3-7-sonnet",
        "claude-sonnet-4", "claude-sonnet-4-5", "claude-opus-4", "claude-opus-4-1", "claude-haiku-4-5",
        "gemini-1.5-pro", "gemini-1.5-flash", "gemini-2.0-flash", "gemini-2.0-flash-lite",
        "gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite",
        "mistral-large", "mistral-medium", "mistral-small", "codestral", "mistral-embed",
        "llama-3.1-8b-instruct", "llama-3.1-70b-instruct", "llama-3.1-405b-instruct",
        "llama-3.3-70b-instruct", "mixtral-8x7b-instruct", "qwen-2.5-72b-instruct",
        "deepseek-chat", "deepseek-reasoner",
    ]
    names = {e.name for e in table.entries}
    assert not [n for n in required if n not in names]
    for entry in table.entries:
        if entry.provider == "anthropic":
            assert entry.price.cache_read is not None and entry.price.cache_write is not None


def test_checked_is_a_real_date_and_version_is_stable(table: PriceTable) -> None:
    assert isinstance(table.checked, dt.date)
    assert dt.date(2025, 1, 1) <= table.checked <= dt.date.today()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}\.[0-9a-f]{8}", table.version)
    assert table.version.startswith(table.checked.isoformat())
    assert PriceTable.load().version == table.version
    stamp = dt.datetime.fromtimestamp(table.checked_timestamp_seconds, tz=dt.timezone.utc)
    assert stamp.date() == table.checked and stamp.hour == 0


def test_docstring_examples_hold() -> None:
    import doctest

    import llmpulse.pricing as module

    result = doctest.testmod(module)
    assert result.attempted >= 4
    assert result.failed == 0


def test_yaml_examples_in_docs_load(tmp_path: Path) -> None:
    doc = Path(__file__).resolve().parents[1] / "docs" / "pricing.md"
    blocks = re.findall(r"```yaml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    blocks = [b for b in blocks if not b.lstrip().startswith("pricing:")]    # exporter configuration examples
    assert len(blocks) >= 5
    for i, block in enumerate(blocks):
        path = write(tmp_path, f"example{i}.yaml", block)
        table = PriceTable.load([path])
        for raw in yaml.safe_load(block)["models"]:
            assert table.match(raw.get("provider", "any"), raw["name"]) is not None, raw["name"]
    self_hosted = PriceTable.load([write(tmp_path, "sh.yaml", blocks[1])])
    assert self_hosted.lookup("vllm", "support-bot-v12") == Price(input=0.0, output=0.0)
    assert self_hosted.lookup("groq", "llama-3.3-70b-versatile") == Price(input=0.0, output=0.0)


# ------------------------------------------------------------ properties

_price = st.floats(min_value=0, max_value=1_000, allow_nan=False)
_tokens = st.integers(min_value=0, max_value=10_000_000)


@settings(max_examples=300, deadline=None)
@given(inp=_price, out=_price, read_frac=st.floats(0, 1), write_frac=st.floats(0, 1),
       reason_frac=st.floats(0, 1), per_request=st.floats(0, 1),
       input_tokens=_tokens, cache_read=_tokens, cache_write=_tokens,
       output_tokens=_tokens, reasoning=_tokens)
def test_cost_properties(inp: float, out: float, read_frac: float, write_frac: float,
                         reason_frac: float, per_request: float, input_tokens: int,
                         cache_read: int, cache_write: int, output_tokens: int,
                         reasoning: int) -> None:
    cache_read = min(cache_read, input_tokens)
    cache_write = min(cache_write, input_tokens - cache_read)
    reasoning = min(reasoning, output_tokens)
    # cache prices at or below input, reasoning at or below output
    price = Price(input=inp, output=out, cache_read=inp * read_frac,
                  cache_write=inp * write_frac, reasoning=out * reason_frac,
                  per_request=per_request)
    cost = price.cost(input_tokens, output_tokens, cache_read, cache_write, reasoning)
    full = Price(input=inp, output=out, per_request=per_request).cost(input_tokens, output_tokens)
    assert per_request <= cost + 1e-12
    assert cost <= full + 1e-9 * max(1.0, full)
    # the parts add up: every token is priced exactly once
    parts = ((input_tokens - cache_read - cache_write) * inp + cache_read * price.cache_read
             + cache_write * price.cache_write + (output_tokens - reasoning) * out
             + reasoning * price.reasoning) / 1e6 + per_request
    assert cost == pytest.approx(parts, rel=1e-9, abs=1e-12)


def test_concurrent_lookups_while_the_cache_clears() -> None:
    import threading

    table = PriceTable.load()
    table.cache_max_entries = 50
    errors: list[BaseException] = []
    wrong: list[str] = []

    def worker(n: int) -> None:
        try:
            for i in range(2_000):
                table.lookup("x", f"flood-{n}-{i}")
                price = table.lookup("openai", "gpt-4o-2024-08-06")
                if price is None or price.input != 2.5:
                    wrong.append(repr(price))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert not wrong
    assert len(table._cache) <= 50
