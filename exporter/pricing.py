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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Price", "PriceEntry", "PriceTable", "PriceTableError", "name_forms"]

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
TOP_LEVEL_KEYS = ("checked", "currency", "unit", "models")
PRICE_KEYS = ("input", "output", "cache_read", "cache_write", "reasoning", "per_request")
MODEL_KEYS = ("name", "provider", *PRICE_KEYS, "aliases", "patterns", "source")


class PriceTableError(ValueError):
    """A price file is missing, unreadable or invalid.

    ``problems`` lists every problem found, each prefixed by its path:
    ``my-prices.yaml: models[3].input: must be a number >= 0``.
    """

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("invalid price table:\n  " + "\n  ".join(self.problems))


@dataclass(frozen=True, slots=True)
class Price:
    """Prices of one model: USD per million tokens, ``per_request`` USD per call.

    ``None`` cache prices fall back to ``input``; ``None`` reasoning to ``output``.

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

    def cost(
        self,
        input_tokens: int | None,
        output_tokens: int | None,
        cache_read: int | None = 0,
        cache_write: int | None = 0,
        reasoning: int | None = 0,
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

        ``None`` counts as 0. Missing cache prices use ``input``, a missing
        reasoning price uses ``output``.
        """
        # max(0, int(n)), None as 0: inline, as this runs for every priced call
        inp = int(input_tokens) if input_tokens and input_tokens > 0 else 0
        out = int(output_tokens) if output_tokens and output_tokens > 0 else 0
        c_read = int(cache_read) if cache_read and cache_read > 0 else 0
        c_write = int(cache_write) if cache_write and cache_write > 0 else 0
        reason = int(reasoning) if reasoning and reasoning > 0 else 0
        uncached = max(0, inp - c_read - c_write)
        visible = max(0, out - reason)
        read_price = self.input if self.cache_read is None else self.cache_read
        write_price = self.input if self.cache_write is None else self.cache_write
        reasoning_price = self.output if self.reasoning is None else self.reasoning
        usd_tokens = (
            uncached * self.input
            + c_read * read_price
            + c_write * write_price
            + visible * self.output
            + reason * reasoning_price
        )
        return usd_tokens / TOKENS_PER_UNIT + self.per_request


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
        p = self.price
        return {
            "name": self.name, "provider": self.provider,
            "input": p.input, "output": p.output, "cache_read": p.cache_read,
            "cache_write": p.cache_write, "reasoning": p.reasoning,
            "per_request": p.per_request, "aliases": list(self.aliases),
            "patterns": [pat.pattern for pat in self.patterns],
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
    def load(cls, paths: Iterable[str | Path] = (), builtin: bool = True) -> PriceTable:
        """The built-in table (unless ``builtin=False``) overridden by ``paths``.

        Later files win. A later entry replaces every earlier entry with the
        same name and provider (or the same name, if it says ``provider: any``);
        if it lists no aliases or patterns it keeps the replaced entry's.
        Raises `PriceTableError` listing every problem of every file.
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
        dates = [f.checked for f in files if f.checked is not None]
        if not dates:
            raise PriceTableError(["no price file declares `checked: YYYY-MM-DD`"])
        layered: list[tuple[int, PriceEntry]] = []
        for layer, parsed in enumerate(files):
            layered = _merge(layered, layer, parsed.entries)
        # Later files first, so their aliases and patterns win over older ones.
        layered.sort(key=lambda item: -item[0])
        return cls([entry for _, entry in layered], checked=min(dates))

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
    merged = list(earlier)
    for new in later:
        replaced = [
            old for _, old in merged
            if old.name.lower() == new.name.lower()
            and (new.provider == ANY_PROVIDER or old.provider == new.provider)
        ]
        if replaced and not new.aliases and not new.patterns:
            aliases: list[str] = []
            patterns: list[re.Pattern[str]] = []
            for old in replaced:
                aliases += [a for a in old.aliases if a not in aliases]
                patterns += [p for p in old.patterns if p not in patterns]
            new = PriceEntry(new.name, new.provider, new.price, tuple(aliases),
                             tuple(patterns), new.source or replaced[0].source, new.origin)
        merged = [(lay, old) for lay, old in merged if not any(old is r for r in replaced)]
        merged.append((layer, new))
    return merged


# ------------------------------------------------------------- validation

class _Loader(yaml.SafeLoader):
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

    def bad(path: str, message: str) -> None:
        problems.append(f"{label}: {path}: {message}")

    if not isinstance(doc, dict):
        problems.append(f"{label}: must be a mapping with keys {', '.join(TOP_LEVEL_KEYS)}")
        return None
    for key in doc:
        if key not in TOP_LEVEL_KEYS:
            bad(str(key), f"unknown key (allowed: {', '.join(TOP_LEVEL_KEYS)})")
    checked = _parse_date(doc.get("checked"))
    if "checked" in doc and checked is None:
        bad("checked", "must be a date YYYY-MM-DD")
    elif require_checked and checked is None:
        bad("checked", "is required (the date the prices were checked, YYYY-MM-DD)")
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
        bad(path, "must be a mapping")
        return None
    ok = True
    for key in raw:
        if key not in MODEL_KEYS:
            bad(f"{path}.{key}", f"unknown key (allowed: {', '.join(MODEL_KEYS)})")
            ok = False
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        bad(f"{path}.name", "is required (a non-empty string)")
        ok = False
    provider = raw.get("provider", ANY_PROVIDER)
    if not isinstance(provider, str) or not provider.strip():
        bad(f"{path}.provider", "must be a non-empty string (e.g. openai, anthropic, any)")
        ok = False
    values: dict[str, float | None] = {}
    for key in PRICE_KEYS:
        required = key in ("input", "output")
        if key not in raw or raw[key] is None:
            if required:
                bad(f"{path}.{key}", "is required (a number >= 0)")
                ok = False
            values[key] = None
            continue
        value = raw[key]
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(value) or value < 0):
            bad(f"{path}.{key}", "must be a number >= 0")
            ok = False
            values[key] = None
            continue
        values[key] = float(value) if key == "per_request" else float(value) * scale
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
        bad(f"{path}.source", "must be a string")
        ok = False
    if not ok:
        return None
    price = Price(
        input=values["input"] or 0.0,
        output=values["output"] or 0.0,
        cache_read=values["cache_read"],
        cache_write=values["cache_write"],
        reasoning=values["reasoning"],
        per_request=values["per_request"] or 0.0,
    )
    return PriceEntry(
        name=name.strip(), provider=provider.strip().lower(), price=price,
        aliases=tuple(a.strip() for a in aliases or []), patterns=tuple(patterns),
        source=source, origin=f"{label}: {path}",
    )


def _string_list(value: Any, path: str, bad: Any) -> list[str] | None:
    if not isinstance(value, list):
        bad(path, "must be a list of strings")
        return None
    out: list[str] = []
    ok = True
    for j, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            bad(f"{path}[{j}]", "must be a non-empty string")
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
