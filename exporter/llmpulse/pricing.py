"""Model prices and the cost of one call.

The built-in table ships as ``llmpulse/prices.yaml``; users add or override
entries with their own YAML files of the same shape (docs/pricing.md).

>>> table = PriceTable.load()
>>> price = table.lookup("openai", "openai/gpt-4o-2024-08-06")
>>> price.input, price.output
(2.5, 10.0)
>>> round(price.cost(input_tokens=1_000, output_tokens=200), 6)
0.0045
>>> table.lookup("openai", "no-such-model") is None
True

Token accounting (OTel GenAI convention; `Price.cost` documents the formula):
``input_tokens`` includes the cache_read and cache_write tokens, and
``output_tokens`` includes the reasoning tokens.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import yaml

from llmpulse.records import Billing
from llmpulse import typed
from llmpulse.typed import Check, got

__all__ = ["Price", "PriceChain", "PriceEntry", "PriceTable", "PriceTableError", "Quote", "name_forms"]

TOKENS_PER_UNIT = 1_000_000          # prices are USD per this many tokens
LOOKUP_CACHE_MAX_ENTRIES = 4096      # results kept before the cache is cleared
MAX_MODEL_NAME_CHARS = 256           # longer names are never priced (nor cached)
ANY_PROVIDER = "any"

# `unit:` values a price file may declare -> multiplier to USD per million tokens.
UNIT_TO_PER_MILLION: dict[str, float] = {
    "per_million_tokens": 1.0,
    "per_thousand_tokens": 1_000.0,
    "per_token": 1_000_000.0,
}
# Prices per token type (scaled by `unit:`); a sub-price (`above`, `tiers`) that leaves one out
# scales its parent's by the sub-price's input ratio (INPUT_SIDE) or output ratio (OUTPUT_SIDE).
INPUT_SIDE = ("cache_read", "cache_write", "cache_write_1h", "audio_input", "image_input", "video_input",
              "audio_cache_read", "image_cache_read")
OUTPUT_SIDE = ("reasoning", "audio_output", "image_output")
PER_CALL = ("per_request", "web_search")        # USD per call / per search: never scaled, inherited as is
PRICE_KEYS = ("input", "output", "cache_read", "cache_write", "reasoning", "per_request",
              "cache_write_1h", "audio_input", "audio_output", "image_input", "image_output", "video_input",
              "audio_cache_read", "image_cache_read", "web_search")
DEFAULT_TIER = "default"
TIER_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
# Why a call was priced with a fallback (llmpulse_price_approximations_total{reason}).
APPROXIMATIONS = ("service_tier", "modality", "cache_ttl", "tool_fee")


class PriceTableError(typed.ConfigError):
    """A price file is missing, unreadable or invalid.

    ``problems`` lists every problem found, each prefixed by its path, in the format of every typed
    file (`llmpulse.typed`): ``my-prices.yaml: models[3].input: must be a number >= 0, got -2``.
    """

    what = "price table"


@dataclass(frozen=True, slots=True)
class Price:
    """Prices of one model: USD per million tokens; ``per_request`` and ``web_search`` USD per call.

    ``None`` cache prices fall back to ``input``; ``None`` reasoning to ``output``.
    ``above`` holds the prices of prompts above a number of tokens, ascending; ``tiers`` the
    prices of service tiers other than the default (each with its own ``above``).

    >>> Price(input=3, output=15, cache_read=0.3, cache_write=3.75).cost(
    ...     input_tokens=10_000, output_tokens=1_000, cache_read=6_000, cache_write=2_000)
    0.0303
    """

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None
    reasoning: float | None = None
    per_request: float = 0.0
    cache_write_1h: float | None = None     # None: the (5-minute) cache_write price, approximated
    audio_input: float | None = None        # None: the text price, approximated
    audio_output: float | None = None
    image_input: float | None = None
    image_output: float | None = None
    video_input: float | None = None
    audio_cache_read: float | None = None   # None: audio tokens read from the cache at the cache_read price
    image_cache_read: float | None = None
    web_search: float | None = None         # USD per web search; None: not priced, approximated
    above: tuple[tuple[int, Price], ...] = ()
    tiers: tuple[tuple[str, Price], ...] = ()

    def cost(
        self,
        input_tokens: int | None,
        output_tokens: int | None,
        cache_read: int | None = 0,
        cache_write: int | None = 0,
        reasoning: int | None = 0,
        billing: Billing | None = None,
    ) -> float:
        """USD cost of one call.

        ``input_tokens`` INCLUDES ``cache_read`` and ``cache_write`` tokens and
        ``output_tokens`` INCLUDES ``reasoning`` tokens (OTel convention). So::

            uncached = max(0, input_tokens - cache_read - cache_write)
            visible  = max(0, output_tokens - reasoning)
            cost = (uncached * input + cache_read * cache_read_price
                    + cache_write * cache_write_price
                    + visible * output + reasoning * reasoning_price) / 1e6
                   + per_request

        with the prices of the band ``input_tokens`` falls in (``above``). ``None``
        counts as 0. Missing cache prices use ``input``, a missing reasoning price
        uses ``output``. With ``billing`` (tier, 1-hour cache writes, modalities, web
        searches) the cost is `quote`'s.
        """
        if billing is not None:
            return self.quote(input_tokens, output_tokens, cache_read, cache_write, reasoning, billing).usd
        # max(0, int(n)), None as 0: inline, as this runs for every priced call
        inp = int(input_tokens) if input_tokens and input_tokens > 0 else 0
        out = int(output_tokens) if output_tokens and output_tokens > 0 else 0
        c_read = int(cache_read) if cache_read and cache_read > 0 else 0
        c_write = int(cache_write) if cache_write and cache_write > 0 else 0
        reason = int(reasoning) if reasoning and reasoning > 0 else 0
        p = self
        if self.above and inp > self.above[0][0]:
            p = self.band(inp)[1]
        uncached = max(0, inp - c_read - c_write)
        visible = max(0, out - reason)
        read_price = p.input if p.cache_read is None else p.cache_read
        write_price = p.input if p.cache_write is None else p.cache_write
        reasoning_price = p.output if p.reasoning is None else p.reasoning
        usd_tokens = (
            uncached * p.input
            + c_read * read_price
            + c_write * write_price
            + visible * p.output
            + reason * reasoning_price
        )
        return usd_tokens / TOKENS_PER_UNIT + p.per_request

    def band(self, prompt_tokens: int) -> tuple[int, Price]:
        """(threshold, prices) for a prompt of this many tokens; threshold 0 is the base price.

        >>> p = Price(1.25, 10, above=((200_000, Price(2.5, 15)),))
        >>> p.band(200_000)[0], p.band(200_001)[1].input
        (0, 2.5)
        """
        threshold, prices = 0, self
        for tokens, band in self.above:
            if prompt_tokens <= tokens:
                break
            threshold, prices = tokens, band
        return threshold, prices

    def tier(self, name: str) -> Price | None:
        """The prices of service tier ``name`` (``default``: these), or None if not priced."""
        if name == DEFAULT_TIER:
            return self
        for tier, prices in self.tiers:
            if tier == name:
                return prices
        return None

    def quote(
        self,
        input_tokens: int | None,
        output_tokens: int | None,
        cache_read: int | None = 0,
        cache_write: int | None = 0,
        reasoning: int | None = 0,
        billing: Billing | None = None,
    ) -> Quote:
        """The cost of one call with its pricing dimensions, and how it was priced.

        The service tier's prices are chosen first (an unknown tier: the default's,
        approximated), then the band of the prompt's size within them. Modality,
        1-hour cache write and web search tokens are priced at their own prices where
        the table has them, else at the text / 5-minute / no price, approximated.
        `Quote.tokens` says how many tokens each price row (`Quote.tier`,
        `Quote.threshold`, token type) was applied to.

        >>> from llmpulse.records import Billing
        >>> p = Price(3, 15, cache_write=3.75, cache_write_1h=6, tiers=(("batch", Price(1.5, 7.5)),))
        >>> q = p.quote(10_000, 1_000, 0, 4_000, 0, Billing(service_tier="flex", cache_write_1h_tokens=4_000))
        >>> round(q.usd, 6), q.tier, q.approximations
        (0.057, 'default', ('service_tier',))
        """
        inp, out, c_read, c_write, reason = (int(n) if n and n > 0 else 0 for n in (
            input_tokens, output_tokens, cache_read, cache_write, reasoning))
        b = billing if billing is not None else _NO_BILLING
        approx: list[str] = []
        tier = b.service_tier or DEFAULT_TIER
        p = self.tier(tier)
        if p is None:
            approx.append("service_tier")
            tier, p = DEFAULT_TIER, self
        threshold, p = p.band(inp)
        tokens: dict[str, int] = {}
        usd = 0.0

        def charge(kind: str, n: int, price: float | None, fallback_kind: str, fallback: float, why: str) -> None:
            nonlocal usd
            if n <= 0:
                return
            if price is None:
                if why not in approx:
                    approx.append(why)
                kind, price = fallback_kind, fallback
            tokens[kind] = tokens.get(kind, 0) + n
            usd += n * price

        read_price = p.input if p.cache_read is None else p.cache_read
        write_price = p.input if p.cache_write is None else p.cache_write
        uncached = max(0, inp - c_read - c_write)
        # input: cached reads by modality, then uncached by modality, the rest is text
        a_read = min(b.audio_cache_read_tokens, b.audio_input_tokens, c_read)
        i_read = min(b.image_cache_read_tokens, b.image_input_tokens, c_read - a_read)
        a_in = min(b.audio_input_tokens - a_read, uncached)
        i_in = min(b.image_input_tokens - i_read, uncached - a_in)
        v_in = min(b.video_input_tokens, uncached - a_in - i_in)
        charge("input", uncached - a_in - i_in - v_in, p.input, "", 0.0, "")
        charge("audio_input", a_in, p.audio_input, "input", p.input, "modality")
        charge("image_input", i_in, p.image_input, "input", p.input, "modality")
        charge("video_input", v_in, p.video_input, "input", p.input, "modality")
        charge("cache_read", c_read - a_read - i_read, read_price, "", 0.0, "")
        charge("audio_cache_read", a_read, p.audio_cache_read, "cache_read", read_price, "modality")
        charge("image_cache_read", i_read, p.image_cache_read, "cache_read", read_price, "modality")
        w_1h = min(b.cache_write_1h_tokens, c_write)
        charge("cache_write", c_write - w_1h, write_price, "", 0.0, "")
        charge("cache_write_1h", w_1h, p.cache_write_1h, "cache_write", write_price, "cache_ttl")
        # output: reasoning, then audio and image, the rest is text
        visible = max(0, out - reason)
        a_out = min(b.audio_output_tokens, visible)
        i_out = min(b.image_output_tokens, visible - a_out)
        charge("output", visible - a_out - i_out, p.output, "", 0.0, "")
        charge("audio_output", a_out, p.audio_output, "output", p.output, "modality")
        charge("image_output", i_out, p.image_output, "output", p.output, "modality")
        charge("reasoning", reason, p.output if p.reasoning is None else p.reasoning, "", 0.0, "")
        usd = usd / TOKENS_PER_UNIT + p.per_request
        if b.web_search_calls:
            if p.web_search is None:
                approx.append("tool_fee")
            else:
                usd += b.web_search_calls * p.web_search
        return Quote(usd, tier, threshold, tuple(approx), tuple(tokens.items()))

    def rows(self) -> Iterator[tuple[str, int, str, float]]:
        """Every (tier, threshold, token type, USD per token) this price applies: the
        core types always (with their fallbacks), the others where set. For
        ``llm_price_usd_per_token``.

        >>> sorted(Price(2, 8, cache_read=0.5).rows())[0]
        ('default', 0, 'cache_read', 5e-07)
        """
        tiers = ((DEFAULT_TIER, self), *self.tiers)
        for tier, price in tiers:
            for threshold, band in ((0, price), *price.above):
                yield from ((tier, threshold, kind, usd) for kind, usd in band._row_values())

    def _row_values(self) -> Iterator[tuple[str, float]]:
        core = (("input", self.input), ("output", self.output),
                ("cache_read", self.input if self.cache_read is None else self.cache_read),
                ("cache_write", self.input if self.cache_write is None else self.cache_write),
                ("reasoning", self.output if self.reasoning is None else self.reasoning))
        for kind, value in core:
            yield kind, value / TOKENS_PER_UNIT
        for kind in ("cache_write_1h", "audio_input", "audio_output", "image_input", "image_output",
                     "video_input", "audio_cache_read", "image_cache_read"):
            value = getattr(self, kind)
            if value is not None:
                yield kind, value / TOKENS_PER_UNIT

    def canonical(self) -> dict[str, Any]:
        """A JSON-able form, for the table's content hash (unset dimensions left out)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in PRICE_KEYS[:6]}
        out.update({k: getattr(self, k) for k in PRICE_KEYS[6:] if getattr(self, k) is not None})
        if self.above:
            out["above"] = [[t, band.canonical()] for t, band in self.above]
        if self.tiers:
            out["tiers"] = {name: tier.canonical() for name, tier in self.tiers}
        return out


@dataclass(frozen=True, slots=True)
class Quote:
    """How one call was priced: `Price.quote`."""

    usd: float
    tier: str = DEFAULT_TIER              # the service tier whose prices were used
    threshold: int = 0                    # the prompt-size band (0: the base prices)
    approximations: tuple[str, ...] = ()  # what fell back to another price (APPROXIMATIONS)
    tokens: tuple[tuple[str, int], ...] = ()   # (token type, tokens) by the price row applied


_NO_BILLING = Billing()


@dataclass(frozen=True, slots=True)
class PriceEntry:
    """One model of a price file: its names, its provider and its `Price`."""

    name: str
    provider: str
    price: Price
    aliases: tuple[str, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()
    source: str = ""
    origin: str = ""                 # "<file>: models[i]" it was read from

    def canonical(self) -> dict[str, Any]:
        """A JSON-able form, for the table's content hash."""
        return {
            "name": self.name, "provider": self.provider, **self.price.canonical(),
            "aliases": list(self.aliases), "patterns": [pat.pattern for pat in self.patterns],
        }


# --------------------------------------------------------------- name forms

_PATH_PREFIX = re.compile(r"^.*/")
_REGION_PREFIX = re.compile(r"^(?:us|eu|apac|ap|jp|au|ca|global|us-gov)\.")
_VENDOR_PREFIX = re.compile(
    r"^(?:anthropic|meta|mistral|amazon|cohere|ai21|deepseek|qwen|openai|google|writer)\.")
_BEDROCK_VERSION = re.compile(r"-v\d+:\d+$")      # anthropic.claude-...-v1:0
_MODEL_VERSION = re.compile(r"-v\d+$")            # claude-3-5-sonnet-v2@20241022
_VERSION_SUFFIXES = (
    re.compile(r"-latest$"),
    re.compile(r"-\d{4}-\d{2}-\d{2}$"),     # gpt-4o-2024-08-06
    re.compile(r"-\d{8}$"),                 # claude-3-5-sonnet-20241022
    re.compile(r"-\d{2}-\d{2}$"),           # gemini-2.5-pro-preview-06-05
    re.compile(r"-\d{3,4}$"),               # gemini-2.0-flash-001, mistral-large-2411, gpt-4-0613
    re.compile(r"-(?:preview|exp)$"),
)
_DOTTED_VERSION = re.compile(r"(\d)\.(\d)")


def name_forms(model: str) -> tuple[str, ...]:
    """The forms of a model name that lookups try, most specific first.

    Lower-cased; provider paths, Bedrock region and vendor prefixes, Vertex
    ``@version``, Bedrock ``-v1:0`` and dated / ``-latest`` / ``-001``
    suffixes are peeled off one at a time.

    >>> name_forms("bedrock/us.anthropic.claude-3-5-sonnet-20240620-v1:0")[-2:]
    ('claude-3-5-sonnet-20240620', 'claude-3-5-sonnet')
    >>> name_forms("claude-sonnet-4-5@20250929")[-1]
    'claude-sonnet-4-5'
    """
    forms: list[str] = []

    def add(form: str) -> None:
        if form and form not in forms:
            forms.append(form)

    name = model.strip().lower()
    add(name)
    name = _PATH_PREFIX.sub("", name)
    add(name)
    unprefixed = _VENDOR_PREFIX.sub("", _REGION_PREFIX.sub("", name))
    cloud_id = unprefixed != name            # a Bedrock id: region / vendor prefix
    name = unprefixed
    add(name)
    if "@" in name:                          # a Vertex id: name@version
        name = name.split("@", 1)[0]
        cloud_id = True
        add(name)
    stripped = _BEDROCK_VERSION.sub("", name)
    if cloud_id:                             # -v2 only on cloud ids: not deepseek-v3
        stripped = _MODEL_VERSION.sub("", stripped)
    if stripped != name:
        name = stripped
        add(name)
    if ":" in name:                      # llama3.1:8b (Ollama), model:thinking (OpenRouter)
        add(name.replace(":", "-"))
        name = name.split(":", 1)[0]
        add(name)
    changed = True
    while changed:
        changed = False
        for suffix in _VERSION_SUFFIXES:
            stripped = suffix.sub("", name)
            if stripped and stripped != name:
                name = stripped
                add(name)
                changed = True
                break
    for form in list(forms):
        add(_DOTTED_VERSION.sub(r"\1-\2", form))   # claude-3.5-sonnet -> claude-3-5-sonnet
    return tuple(forms)


# ------------------------------------------------------------------ table

@dataclass(slots=True)
class _ParsedFile:
    label: str
    checked: dt.date | None
    entries: list[PriceEntry] = field(default_factory=list)


def _builtin_path() -> Any:
    return resources.files("llmpulse").joinpath("prices.yaml")


class PriceTable:
    """Model prices, looked up by (provider, model name).

    Build with `PriceTable.load`; call `lookup` once per span (it is cached).
    """

    def __init__(self, entries: Sequence[PriceEntry], checked: dt.date,
                 cache_max_entries: int = LOOKUP_CACHE_MAX_ENTRIES):
        self.entries: tuple[PriceEntry, ...] = tuple(entries)
        self.checked: dt.date = checked
        digest = hashlib.sha256(
            json.dumps([e.canonical() for e in self.entries], sort_keys=True).encode()
        ).hexdigest()
        self.version: str = f"{checked.isoformat()}.{digest[:8]}"
        self.cache_max_entries = cache_max_entries
        self._cache: dict[tuple[str, str], PriceEntry | None] = {}
        self._cache_lock = threading.Lock()
        self._by_name: dict[str, list[PriceEntry]] = {}
        self._by_alias: dict[str, list[PriceEntry]] = {}
        for entry in self.entries:           # earlier entries win within a key
            self._by_name.setdefault(entry.name.lower(), []).append(entry)
            for alias in entry.aliases:
                self._by_alias.setdefault(alias.lower(), []).append(entry)
        self._patterned = tuple(e for e in self.entries if e.patterns)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def checked_timestamp_seconds(self) -> float:
        """``checked`` as Unix seconds (midnight UTC), for
        ``llmpulse_price_table_checked_timestamp_seconds``.

        >>> PriceTable([], checked=dt.date(2026, 1, 2)).checked_timestamp_seconds
        1767312000.0
        """
        midnight = dt.datetime.combine(self.checked, dt.time(), tzinfo=dt.timezone.utc)
        return midnight.timestamp()

    def __repr__(self) -> str:
        return f"PriceTable({len(self.entries)} models, version={self.version!r})"

    # ------------------------------------------------------------- loading
    @classmethod
    def load(cls, paths: Iterable[str | Path] = (), builtin: bool = True,
             checked: dt.date | None = None) -> PriceTable:
        """The built-in table (unless ``builtin=False``) overridden by ``paths``.

        Later files win. A later entry replaces every earlier entry with the
        same name and provider (or the same name, if it says ``provider: any``);
        if it lists no aliases or patterns it keeps the replaced entry's.
        Raises `PriceTableError` listing every problem of every file. ``checked`` is the
        date of a table whose files declare none (default: at least one must).
        """
        files: list[_ParsedFile] = []
        problems: list[str] = []
        if builtin:
            text = _builtin_path().read_text(encoding="utf-8")
            parsed = _parse_text(text, "llmpulse/prices.yaml", problems, require_checked=True)
            if parsed:
                files.append(parsed)
        for path in paths:
            label = str(path)
            try:
                text = Path(path).read_text(encoding="utf-8")
            except OSError as exc:
                problems.append(f"{label}: cannot read: {exc.strerror or exc}")
                continue
            parsed = _parse_text(text, label, problems, require_checked=False)
            if parsed:
                files.append(parsed)
        if problems:
            raise PriceTableError(problems)
        dates = [f.checked for f in files if f.checked is not None] or ([checked] if checked else [])
        if not dates:
            raise PriceTableError(["no price file declares `checked: YYYY-MM-DD`"])
        layered: list[tuple[int, PriceEntry]] = []
        for layer, parsed in enumerate(files):
            layered = _merge(layered, layer, parsed.entries)
        # Later files first, so their aliases and patterns win over older ones.
        layered.sort(key=lambda item: -item[0])
        return cls([entry for _, entry in layered], checked=min(dates))

    @classmethod
    def from_doc(cls, doc: Any, label: str, checked: dt.date | None = None) -> PriceTable:
        """A table of one parsed price document alone (no built-in table), e.g. an imported one.

        Its ``checked`` is the document's, else ``checked``. Raises `PriceTableError`.
        """
        problems: list[str] = []
        parsed = _parse_doc(doc, label, problems, require_checked=checked is None)
        if problems or parsed is None:
            raise PriceTableError(problems or [f"{label}: not a price table"])
        when = parsed.checked or checked
        assert when is not None     # require_checked: _parse_doc reported a missing date as a problem
        return cls(parsed.entries, checked=when)

    # ------------------------------------------------------------- lookups
    def lookup(self, provider: str, model: str) -> Price | None:
        """The price of ``model`` or None if unknown. ``provider`` is a hint.

        >>> table = PriceTable.load()
        >>> table.lookup("aws.bedrock", "us.anthropic.claude-3-5-haiku-20241022-v1:0").output
        4.0
        """
        entry = self.match(provider, model)
        return entry.price if entry else None

    def match(self, provider: str, model: str) -> PriceEntry | None:
        """The `PriceEntry` that prices ``model``, or None; cached and bounded."""
        key = (provider or "", model or "")
        try:
            return self._cache[key]
        except KeyError:
            pass
        if not model or len(model) > MAX_MODEL_NAME_CHARS:
            return None
        result = self._match_uncached((provider or "").strip().lower(), model)
        with self._cache_lock:               # misses only: hits stay lock-free
            if len(self._cache) >= self.cache_max_entries:
                self._cache.clear()
            self._cache[key] = result
        return result

    def _match_uncached(self, provider: str, model: str) -> PriceEntry | None:
        forms = name_forms(model)
        for form in forms:
            for index in (self._by_name, self._by_alias):
                candidates = index.get(form)
                if candidates:
                    return _prefer_provider(candidates, provider)
        hits = [e for e in self._patterned
                if any(p.search(form) for p in e.patterns for form in forms)]
        return _prefer_provider(hits, provider) if hits else None


def _prefer_provider(candidates: Sequence[PriceEntry], provider: str) -> PriceEntry:
    """The hinted provider's entry, else an ``any`` entry, else the first."""
    for entry in candidates:
        if entry.provider == provider:
            return entry
    for entry in candidates:
        if entry.provider == ANY_PROVIDER:
            return entry
    return candidates[0]


def _merge(earlier: list[tuple[int, PriceEntry]], layer: int,
           later: Sequence[PriceEntry]) -> list[tuple[int, PriceEntry]]:
    """Apply one file's entries (load order ``layer``) over those loaded so far."""
    alive = {id(old): (lay, old) for lay, old in earlier}      # insertion-ordered
    by_name: dict[str, list[PriceEntry]] = {}
    for _, old in earlier:
        by_name.setdefault(old.name.lower(), []).append(old)
    for new in later:
        same = by_name.setdefault(new.name.lower(), [])
        replaced = [old for old in same if new.provider == ANY_PROVIDER or old.provider == new.provider]
        if replaced and not new.aliases and not new.patterns:
            aliases: list[str] = []
            patterns: list[re.Pattern[str]] = []
            for old in replaced:
                aliases += [a for a in old.aliases if a not in aliases]
                patterns += [p for p in old.patterns if p not in patterns]
            new = PriceEntry(new.name, new.provider, new.price, tuple(aliases),
                             tuple(patterns), new.source or replaced[0].source, new.origin)
        for old in replaced:
            del alive[id(old)]
            same.remove(old)
        alive[id(new)] = (layer, new)
        same.append(new)
    return list(alive.values())


# ------------------------------------------------------------- validation

# The shape of a price file, loaded by llmpulse.typed (the loader of every typed file: unknown keys with a
# suggestion, types, required keys, one message format); the walker below (_parse_doc) then builds the
# prices and checks what a shape cannot say (tier names, band order, duplicates, regular expressions).
_Price = Annotated[float, Check("a number >= 0", lambda v: math.isfinite(v) and v >= 0)]
_NonEmpty = Annotated[str, Check("a non-empty string", lambda v: bool(v.strip()))]
_Tokens = Annotated[int, Check("a whole number of prompt tokens >= 1", lambda v: v >= 1)]


@dataclass(kw_only=True)
class _PricesDoc:
    """Prices per token type (scaled by the file's `unit`), per call for per_request and web_search."""

    input: _Price | None = None
    output: _Price | None = None
    cache_read: _Price | None = None
    cache_write: _Price | None = None
    reasoning: _Price | None = None
    per_request: _Price | None = None
    cache_write_1h: _Price | None = None
    audio_input: _Price | None = None
    audio_output: _Price | None = None
    image_input: _Price | None = None
    image_output: _Price | None = None
    video_input: _Price | None = None
    audio_cache_read: _Price | None = None
    image_cache_read: _Price | None = None
    web_search: _Price | None = None


@dataclass(kw_only=True)
class _BandDoc(_PricesDoc):
    """`above: [{tokens: N, ...}]`: prices of prompts of more than N tokens."""

    tokens: _Tokens


@dataclass(kw_only=True)
class _TierDoc(_PricesDoc):
    """A service tier stated as prices (the alternative is a multiplier)."""

    above: list[_BandDoc] | None = None


@dataclass(kw_only=True)
class _ModelDoc(_PricesDoc):
    name: _NonEmpty
    input: _Price = field()         # required here (field(): not the None inherited from _PricesDoc)
    output: _Price = field()
    provider: Annotated[str, Check("a non-empty string (e.g. openai, anthropic, any)",
                                   lambda v: bool(v.strip()))] = ANY_PROVIDER
    above: list[_BandDoc] | None = None
    tiers: dict[str, _Price | _TierDoc] | None = None
    aliases: list[_NonEmpty] = field(default_factory=list)
    patterns: list[_NonEmpty] = field(default_factory=list)
    source: str = ""


@dataclass(kw_only=True)
class _FileDoc:
    models: list[_ModelDoc]
    checked: str | None = None
    currency: str = "USD"
    unit: str = "per_million_tokens"
    source: str = ""
    version: Any = None


assert tuple(f.name for f in fields(_PricesDoc)) == PRICE_KEYS
TOP_LEVEL_KEYS = tuple(f.name for f in fields(_FileDoc))


if TYPE_CHECKING:
    _SafeLoader = yaml.SafeLoader
else:                       # libyaml's when present: imported tables are large
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):
    """SafeLoader that leaves timestamps as strings, so a bad date is a
    validation problem with a path instead of a crash."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _parse_text(text: str, label: str, problems: list[str],
                require_checked: bool) -> _ParsedFile | None:
    try:
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problems.append(f"{label}: not valid YAML{where}: {getattr(exc, 'problem', exc)}")
        return None
    return _parse_doc(doc, label, problems, require_checked)


def _parse_doc(doc: Any, label: str, problems: list[str],
               require_checked: bool) -> _ParsedFile | None:
    start = len(problems)
    if not isinstance(doc, dict):
        problems.append(f"{label}: must be a mapping with keys {', '.join(TOP_LEVEL_KEYS)}")
        return None
    shape = typed.check(_FileDoc, doc, label, partial=False)
    problems.extend(shape)
    # what the walker finds at a path the shape already reported is the same problem, said twice
    reported = {p.split(": ", 2)[1] for p in shape}

    def bad(path: str, message: str) -> None:
        if path not in reported:
            problems.append(f"{label}: {path}: {message}")
    checked = _parse_date(doc.get("checked"))
    if "checked" in doc and checked is None:
        bad("checked", f"must be a date YYYY-MM-DD, got {got(doc.get('checked'))}")
    elif require_checked and checked is None:
        bad("checked", "missing (required: the date the prices were checked, YYYY-MM-DD)")
    currency = doc.get("currency", "USD")
    if currency != "USD":
        bad("currency", "must be USD")
    unit = doc.get("unit", "per_million_tokens")
    scale = UNIT_TO_PER_MILLION.get(unit) if isinstance(unit, str) else None
    if scale is None:
        bad("unit", f"must be one of {', '.join(UNIT_TO_PER_MILLION)}")
        scale = 1.0
    models = doc.get("models")
    if not isinstance(models, list):
        bad("models", "must be a list of model entries")
        models = []
    parsed = _ParsedFile(label=label, checked=checked)
    seen: dict[tuple[str, str], str] = {}
    for i, raw in enumerate(models):
        entry = _parse_entry(raw, f"models[{i}]", label, scale, bad)
        if entry is None:
            continue
        key = (entry.name.lower(), entry.provider)
        if key in seen:
            bad(f"models[{i}].name", f"duplicate of {seen[key]} "
                f"({entry.name}, provider {entry.provider})")
            continue
        seen[key] = f"models[{i}]"
        parsed.entries.append(entry)
    _check_alias_clashes(parsed.entries, bad)
    return parsed if len(problems) == start else None


def _parse_entry(raw: Any, path: str, label: str, scale: float, bad: Any) -> PriceEntry | None:
    if not isinstance(raw, dict):
        bad(path, f"must be a mapping, got {got(raw)}")
        return None
    ok = True
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        bad(f"{path}.name", "missing (required: a non-empty string)")
        ok = False
    provider = raw.get("provider", ANY_PROVIDER)
    if not isinstance(provider, str) or not provider.strip():
        bad(f"{path}.provider", "must be a non-empty string (e.g. openai, anthropic, any)")
        ok = False
    given = _price_values(raw, path, scale, bad, required=("input", "output"))
    base = _derive({k: None for k in PRICE_KEYS} | {"input": 0.0, "output": 0.0, "per_request": 0.0},
                   given or {}, 1.0, 1.0)
    above = _parse_above(raw.get("above"), f"{path}.above", scale, bad, base) if "above" in raw else []
    tiers = _parse_tiers(raw.get("tiers"), f"{path}.tiers", scale, bad, base, above or []) \
        if "tiers" in raw else []
    if given is None or above is None or tiers is None:
        ok = False
    aliases = _string_list(raw.get("aliases", []), f"{path}.aliases", bad)
    pattern_texts = _string_list(raw.get("patterns", []), f"{path}.patterns", bad)
    if aliases is None or pattern_texts is None:
        ok = False
    patterns: list[re.Pattern[str]] = []
    for j, text in enumerate(pattern_texts or []):
        try:
            patterns.append(re.compile(text, re.IGNORECASE))
        except re.error as exc:
            bad(f"{path}.patterns[{j}]", f"not a valid regular expression: {exc}")
            ok = False
    source = raw.get("source", "")
    if not isinstance(source, str):
        bad(f"{path}.source", f"must be a string, got {got(source)}")
        ok = False
    if not ok:
        return None
    assert isinstance(name, str) and isinstance(provider, str)      # checked above (ok)
    price = _build(base, above or [], [(name, _build(v, a)) for name, v, a in tiers or []])
    return PriceEntry(
        name=name.strip(), provider=provider.strip().lower(), price=price,
        aliases=tuple(a.strip() for a in aliases or []), patterns=tuple(patterns),
        source=source, origin=f"{label}: {path}",
    )


# ------------------------------------------------------- prices and sub-prices

def _price_values(raw: dict[str, Any], path: str, scale: float, bad: Any,
                  required: tuple[str, ...] = ()) -> dict[str, float] | None:
    """The price keys ``raw`` gives, as USD per million tokens (per call for PER_CALL); None on a problem."""
    ok = True
    values: dict[str, float] = {}
    for key in PRICE_KEYS:
        if key not in raw or raw[key] is None:
            if key in required:
                bad(f"{path}.{key}", "missing (required: a number >= 0)")
                ok = False
            continue
        value = raw[key]
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(value) or value < 0):
            bad(f"{path}.{key}", f"must be a number >= 0, got {got(value)}")
            ok = False
            continue
        values[key] = float(value) if key in PER_CALL else float(value) * scale
    return values if ok else None


def _derive(parent: dict[str, Any], given: dict[str, float],
            r_in: float | None = None, r_out: float | None = None) -> dict[str, Any]:
    """A sub-price: what ``given`` states, the rest scaled from ``parent``.

    Input-side prices scale by the input ratio (given input / parent input), output-side
    prices by the output ratio; per-call prices are inherited unchanged.

    >>> d = _derive({"input": 1.25, "output": 10, "cache_read": 0.125, "reasoning": None,
    ...              **{k: None for k in INPUT_SIDE[1:] + OUTPUT_SIDE[1:]}, "per_request": 0.0,
    ...              "web_search": 0.035}, {"input": 2.5, "output": 15})
    >>> d["cache_read"], d["reasoning"], d["web_search"]
    (0.25, None, 0.035)
    """
    p_in, p_out = parent["input"], parent["output"]
    if r_in is None:
        r_in = given["input"] / p_in if "input" in given and p_in else 1.0
    if r_out is None:
        r_out = given["output"] / p_out if "output" in given and p_out else 1.0
    out: dict[str, Any] = {"input": given.get("input", p_in * r_in), "output": given.get("output", p_out * r_out)}
    for keys, ratio in ((INPUT_SIDE, r_in), (OUTPUT_SIDE, r_out)):
        for key in keys:
            if key in given:
                out[key] = given[key]
            else:
                out[key] = None if parent[key] is None else parent[key] * ratio
    for key in PER_CALL:
        out[key] = given.get(key, parent[key])
    return out


def _ratios(sub: dict[str, Any], parent: dict[str, Any]) -> tuple[float, float]:
    r_in = sub["input"] / parent["input"] if parent["input"] else 1.0
    r_out = sub["output"] / parent["output"] if parent["output"] else 1.0
    return r_in, r_out


def _parse_above(raw: Any, path: str, scale: float, bad: Any,
                 parent: dict[str, Any]) -> list[tuple[int, dict[str, Any]]] | None:
    """``above: [{tokens: N, input: .., ...}]``: prices of prompts of more than N tokens."""
    if not isinstance(raw, list) or not raw:
        bad(path, "must be a non-empty list of {tokens: N, <prices>}")
        return None
    ok = True
    out: list[tuple[int, dict[str, Any]]] = []
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        if not isinstance(item, dict):
            bad(where, "must be a mapping {tokens: N, <prices>}")
            ok = False
            continue
        tokens = item.get("tokens")
        if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1:
            bad(f"{where}.tokens", "missing (required: a whole number of prompt tokens >= 1)")
            ok = False
            continue
        if out and tokens <= out[-1][0]:
            bad(f"{where}.tokens", "must be larger than the threshold before it")
            ok = False
        given = _price_values(item, where, scale, bad)
        if given is None:
            ok = False
            continue
        out.append((tokens, _derive(parent, given)))
    return out if ok else None


def _parse_tiers(raw: Any, path: str, scale: float, bad: Any, base: dict[str, Any],
                 base_above: list[tuple[int, dict[str, Any]]]) -> list[tuple[str, dict[str, Any], list[Any]]] | None:
    """``tiers: {batch: 0.5, priority: {input: .., above: [...]}}``: service tiers other than the default.

    A number multiplies every token price (and every ``above`` price). A mapping states
    prices like a model entry; without its own ``above`` the base ``above`` prices are
    scaled by the tier's input and output ratios.
    """
    if not isinstance(raw, dict) or not raw:
        bad(path, "must be a mapping of tier name to a multiplier or prices")
        return None
    ok = True
    out: list[tuple[str, dict[str, Any], list[Any]]] = []
    for name, spec in raw.items():
        where = f"{path}.{name}"
        if not isinstance(name, str) or not TIER_NAME.fullmatch(name) or name in (DEFAULT_TIER, "standard"):
            bad(where, "tier names are lower-case words other than default/standard (batch, flex, priority, ...)")
            ok = False
            continue
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            if not math.isfinite(spec) or spec < 0:
                bad(where, f"a multiplier must be a number >= 0, got {got(spec)}")
                ok = False
                continue
            m = float(spec)
            vals = _derive(base, {}, m, m)
            bands = [(t, _derive(band, {}, m, m)) for t, band in base_above]
        elif isinstance(spec, dict):
            given = _price_values(spec, where, scale, bad)
            if given is None:
                ok = False
                continue
            vals = _derive(base, given)
            if "above" in spec:
                parsed = _parse_above(spec["above"], f"{where}.above", scale, bad, vals)
                if parsed is None:
                    ok = False
                    continue
                bands = parsed
            else:
                r_in, r_out = _ratios(vals, base)
                bands = [(t, _derive(band, {k: vals[k] for k in PER_CALL}, r_in, r_out)) for t, band in base_above]
        else:
            bad(where, "must be a multiplier (e.g. 0.5) or a mapping of prices")
            ok = False
            continue
        out.append((name, vals, bands))
    return out if ok else None


def _build(vals: dict[str, Any], above: list[tuple[int, dict[str, Any]]],
           tiers: Sequence[tuple[str, Price]] = ()) -> Price:
    return Price(
        input=vals["input"], output=vals["output"], cache_read=vals["cache_read"],
        cache_write=vals["cache_write"], reasoning=vals["reasoning"], per_request=vals["per_request"] or 0.0,
        **{k: vals[k] for k in PRICE_KEYS[6:]},
        above=tuple((t, _build(band, [])) for t, band in above), tiers=tuple(tiers),
    )


def _string_list(value: Any, path: str, bad: Any) -> list[str] | None:
    if not isinstance(value, list):
        bad(path, f"must be a list of strings, got {got(value)}")
        return None
    out: list[str] = []
    ok = True
    for j, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            bad(f"{path}[{j}]", f"must be a non-empty string, got {got(item)}")
            ok = False
        else:
            out.append(item)
    return out if ok else None


def _check_alias_clashes(entries: Sequence[PriceEntry], bad: Any) -> None:
    """Within one file, a name or alias may point at one entry per provider."""
    owner: dict[tuple[str, str], PriceEntry] = {}
    for entry in entries:
        for key in (entry.name, *entry.aliases):
            slot = (key.lower(), entry.provider)
            other = owner.get(slot)
            if other is not None and other is not entry:
                path = entry.origin.split(": ", 1)[1]
                where = other.origin.split(": ", 1)[1]
                attr = "name" if key == entry.name else "aliases"
                bad(f"{path}.{attr}", f"{key!r} already names {where} ({other.name})")
            owner.setdefault(slot, entry)


def _parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


class PriceChain:
    """Price tables consulted in order: the first that prices a model wins.

    Each table is matched whole (names, aliases, patterns) before the next is tried, so a
    model the built-in table knows by an alias is not taken over by a community table that
    lists the alias as its own name. Lookups are cached like `PriceTable.lookup`'s.

    >>> a = PriceTable([PriceEntry("m", "any", Price(1, 2))], checked=dt.date(2026, 1, 1))
    >>> b = PriceTable([PriceEntry("m", "any", Price(9, 9)), PriceEntry("n", "any", Price(3, 4))],
    ...                checked=dt.date(2026, 2, 1))
    >>> chain = PriceChain([a, b])
    >>> chain.lookup("x", "m").input, chain.lookup("x", "n").input, chain.checked.isoformat()
    (1, 3, '2026-01-01')
    """

    def __init__(self, tables: Sequence[PriceTable], cache_max_entries: int = LOOKUP_CACHE_MAX_ENTRIES):
        if not tables:
            raise ValueError("a PriceChain needs at least one table")
        self.tables = tuple(tables)
        self.checked: dt.date = min(t.checked for t in self.tables)
        digest = hashlib.sha256("|".join(t.version for t in self.tables).encode()).hexdigest()
        self.version: str = f"{self.checked.isoformat()}.{digest[:8]}"
        self.cache_max_entries = cache_max_entries
        self._cache: dict[tuple[str, str], PriceEntry | None] = {}
        self._cache_lock = threading.Lock()

    def __len__(self) -> int:
        return sum(len(t) for t in self.tables)

    def __repr__(self) -> str:
        return f"PriceChain({[len(t) for t in self.tables]} models, version={self.version!r})"

    checked_timestamp_seconds = PriceTable.checked_timestamp_seconds

    def lookup(self, provider: str, model: str) -> Price | None:
        entry = self.match(provider, model)
        return entry.price if entry else None

    def match(self, provider: str, model: str) -> PriceEntry | None:
        key = (provider or "", model or "")
        try:
            return self._cache[key]
        except KeyError:
            pass
        result = None
        for table in self.tables:
            result = table.match(provider, model)
            if result is not None:
                break
        with self._cache_lock:
            if len(self._cache) >= self.cache_max_entries:
                self._cache.clear()
            self._cache[key] = result
        return result
