"""LiteLLM's community price table (``model_prices_and_context_window.json``) in llmpulse's format.

LiteLLM keeps prices per token, keyed by model name, with the pricing dimensions as key
suffixes (``input_cost_per_token_batches``, ``cache_read_input_token_cost_above_200k_tokens``,
``cache_creation_input_token_cost_above_1hr``, ``input_cost_per_audio_token``, ...).
`convert` maps each model to one llmpulse entry (unit ``per_token``, so every number is kept as
LiteLLM wrote it) and reports what it could not map. docs/pricing.md has the key mapping.

>>> doc, cov = convert({"sample_spec": {}, "m": {"litellm_provider": "openai", "mode": "chat",
...     "input_cost_per_token": 2e-06, "output_cost_per_token": 8e-06, "input_cost_per_token_batches": 1e-06}},
...     source="x.json", version="test")
>>> doc["models"][0]["tiers"], cov.imported
({'batch': {'input': 1e-06}}, 1)
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import re
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Coverage", "convert", "parse_bytes", "read_source", "PROVIDERS"]

WHEEL_MEMBER = "litellm/model_prices_and_context_window_backup.json"

# litellm_provider -> OTel gen_ai.provider.name (others keep LiteLLM's id)
PROVIDERS = {
    "openai": "openai", "text-completion-openai": "openai", "azure": "azure.ai.openai",
    "azure_text": "azure.ai.openai", "azure_ai": "azure.ai.inference", "anthropic": "anthropic",
    "gemini": "gcp.gemini", "vertex_ai": "gcp.vertex_ai", "bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock", "mistral": "mistral_ai", "codestral": "mistral_ai",
    "text-completion-codestral": "mistral_ai", "deepseek": "deepseek", "groq": "groq", "xai": "x_ai",
    "cohere": "cohere", "cohere_chat": "cohere", "perplexity": "perplexity", "watsonx": "ibm.watsonx.ai",
}
# LiteLLM key (without tier / band suffixes) -> llmpulse price key
FIELDS = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cache_read",
    "cache_creation_input_token_cost": "cache_write",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
    "output_cost_per_reasoning_token": "reasoning",
    "input_cost_per_audio_token": "audio_input",
    "output_cost_per_audio_token": "audio_output",
    "input_cost_per_image_token": "image_input",
    "output_cost_per_image_token": "image_output",
    "input_cost_per_video_token": "video_input",
    "cache_read_input_audio_token_cost": "audio_cache_read",
    "cache_read_input_image_token_cost": "image_cache_read",
}
ALIAS_FIELDS = {"input_cost_per_token_cache_hit": "cache_read"}     # DeepSeek's name; the explicit key wins
PER_CALL_FIELDS = {"input_cost_per_request": "per_request", "input_cost_per_query": "per_request"}
TIER_SUFFIXES = {"batches": "batch", "flex": "flex", "priority": "priority"}
_KEY = re.compile(r"^(?P<field>[a-z0-9_]+?)(?:_above_(?P<k>\d+)k_tokens)?(?:_(?P<tier>batches|flex|priority))?$")
# keys that describe the model rather than price it
INFO_KEYS = re.compile(r"^(litellm_provider|mode|max_.*|supports_.*|supported_.*|deprecation_.*|source|"
                       r"successor_model|metadata|comment|.*_regions?|tool_use_system_prompt_tokens|"
                       r"output_vector_size|prompt_cache_min_tokens|reasoning_.*|search_free_requests|"
                       r"provider_specific_entry|fedramp_uplift_multiplier|rpm|tpm|.*_notes?)$")
# non-token prices llmpulse has no unit for (per image, second, character, pixel, page, ...)
NON_TOKEN = re.compile(r"(per_image(?!_token)|per_second|per_character|per_pixel|per_page|per_credit|per_session|"
                       r"per_unit|per_minute|per_hour|per_video(?!_token)|per_audio_per|per_text_message|per_1k|"
                       r"per_gb)")


@dataclass
class Coverage:
    """What `convert` did with each model and key."""

    total: int = 0                    # models in the file (sample_spec left out)
    imported: int = 0                 # priced after import
    skipped: Counter = field(default_factory=Counter)     # reason -> models
    dimensions: Counter = field(default_factory=Counter)  # llmpulse dimension -> models that have it
    unmapped: Counter = field(default_factory=Counter)    # LiteLLM price key -> models that have it

    def summary(self) -> str:
        lines = [f"{self.imported} of {self.total} models imported"]
        for reason, n in self.skipped.most_common():
            lines.append(f"  skipped, {reason}: {n}")
        lines.append("  dimensions: " + ", ".join(f"{k} {n}" for k, n in sorted(self.dimensions.items())))
        if self.unmapped:
            lines.append("  price keys not mapped: " + ", ".join(f"{k} {n}" for k, n in self.unmapped.most_common(12))
                         + (", ..." if len(self.unmapped) > 12 else ""))
        return "\n".join(lines)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value >= 0 and value == value and value != float("inf") else None
    if isinstance(value, str):
        try:
            return _number(float(value))
        except ValueError:
            return None
    return None


def _entry(name: str, spec: dict, cov: Coverage) -> dict | None:
    """One LiteLLM model -> one llmpulse entry (prices per token), or None if it has no price we can use."""
    provider_id = str(spec.get("litellm_provider") or "")
    provider = PROVIDERS.get(provider_id) or (
        "gcp.vertex_ai" if provider_id.startswith("vertex_ai") else provider_id.strip().lower() or "any")
    base: dict[str, float] = {}
    bands: dict[int, dict[str, float]] = {}
    tiers: dict[str, dict[str, Any]] = {}
    unmapped: list[str] = []
    for key, raw in spec.items():
        if INFO_KEYS.match(key):
            continue
        if key == "search_context_cost_per_query":
            per_search = _number(raw.get("search_context_size_medium")) if isinstance(raw, dict) else None
            if per_search is not None:
                # Perplexity bills every request a search fee; elsewhere it is per web search call
                base["per_request" if provider == "perplexity" else "web_search"] = per_search
            continue
        if key == "tiered_pricing":
            _tiered(raw, base, bands, unmapped)
            continue
        if key in PER_CALL_FIELDS:
            value = _number(raw)
            if value is not None:
                base[PER_CALL_FIELDS[key]] = value
            continue
        m = _KEY.match(key)
        if m and m["field"] in ALIAS_FIELDS and not NON_TOKEN.search(key):
            value = _number(raw)
            if value is not None and not m["k"] and not m["tier"]:
                base.setdefault(ALIAS_FIELDS[m["field"]], value)
                continue
        target = FIELDS.get(m["field"]) if m else None
        value = _number(raw)
        if target is None or value is None or NON_TOKEN.search(key):
            if "cost" in key or "price" in key:
                unmapped.append(key)
            continue
        assert m is not None                        # target is None without a match
        threshold = int(m["k"]) * 1000 if m["k"] else 0
        tier = TIER_SUFFIXES.get(m["tier"] or "")
        where: dict[Any, Any] = tiers.setdefault(tier, {}) if tier else base
        if threshold:
            where = where.setdefault("above", {}).setdefault(threshold, {}) if tier else bands.setdefault(threshold, {})
        where[target] = value
    for key in unmapped:
        cov.unmapped[key] += 1
    if not any(k in base for k in ("input", "output", "per_request")):
        cov.skipped["no token or request price" if not unmapped else "only prices llmpulse has no unit for"] += 1
        return None
    entry: dict[str, Any] = {"name": name, "provider": provider, "input": base.pop("input", 0.0),
                             "output": base.pop("output", 0.0), **base}
    if bands:
        entry["above"] = [{"tokens": t, **bands[t]} for t in sorted(bands)]
    if tiers:
        out = {}
        for tier, prices in sorted(tiers.items()):
            above = prices.pop("above", None)
            if above:
                prices["above"] = [{"tokens": t, **above[t]} for t in sorted(above)]
            out[tier] = prices
        entry["tiers"] = out
    for key in entry:
        if key not in ("name", "provider", "input", "output"):
            cov.dimensions[key] += 1
    mode = spec.get("mode")
    entry["source"] = f"LiteLLM {name}" + (f" ({mode})" if mode else "")
    return entry


def _tiered(raw: Any, base: dict, bands: dict, unmapped: list[str]) -> None:
    """``tiered_pricing: [{range: [lo, hi], input_cost_per_token: ..}, ...]`` -> base and ``above`` bands."""
    if not isinstance(raw, list):
        unmapped.append("tiered_pricing")
        return
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("range"), list) or not item["range"]:
            unmapped.append("tiered_pricing")
            continue
        low = _number(item["range"][0])
        if low is None:
            unmapped.append("tiered_pricing")
            continue
        where = base if low == 0 else bands.setdefault(int(low), {})
        for key, value in item.items():
            target = FIELDS.get(key)
            number = _number(value)
            if target is not None and number is not None:
                where.setdefault(target, number)


def convert(doc: Any, source: str, version: str, checked: dt.date | None = None) -> tuple[dict, Coverage]:
    """LiteLLM's JSON (parsed) -> (an llmpulse price document, `Coverage`).

    Models whose names differ only in case keep the first; they are counted as skipped.
    """
    if not isinstance(doc, dict):
        raise ValueError("not a LiteLLM price table: the top level must be an object of models")
    cov = Coverage()
    models = []
    seen: set[tuple[str, str]] = set()
    for name, spec in doc.items():
        if name == "sample_spec":
            continue
        cov.total += 1
        if not isinstance(spec, dict) or not isinstance(name, str) or not name.strip():
            cov.skipped["not a model object"] += 1
            continue
        entry = _entry(name.strip(), spec, cov)
        if entry is None:
            continue
        key = (entry["name"].lower(), entry["provider"])
        if key in seen:
            cov.skipped["name repeated (differs only in case)"] += 1
            continue
        seen.add(key)
        models.append(entry)
        cov.imported += 1
    out = {
        "checked": (checked or dt.date.today()).isoformat(),
        "unit": "per_token",
        "source": source,
        "version": version,
        "models": models,
    }
    return out, cov


MAX_SOURCE_BYTES = 64 * 1024 * 1024    # a price table, fetched or decompressed (LiteLLM's is about 1.5 MB)


def parse_bytes(data: bytes) -> tuple[Any, str]:
    """LiteLLM's JSON (gzipped or not) -> (parsed, ``sha256:`` and 12 hex digits of the JSON).

    A gzip that inflates past `MAX_SOURCE_BYTES` is a ValueError, found without inflating it all.
    """
    if data[:2] == b"\x1f\x8b":
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as f:
            data = f.read(MAX_SOURCE_BYTES + 1)
        if len(data) > MAX_SOURCE_BYTES:
            raise ValueError(f"the gzipped table inflates to more than {MAX_SOURCE_BYTES} bytes")
    return json.loads(data), "sha256:" + hashlib.sha256(data).hexdigest()[:12]


def fetch_url(url: str, timeout: float, limit: int = MAX_SOURCE_BYTES) -> bytes:
    """GET `url`'s body: at most `limit` bytes (after any Content-Encoding), within `timeout`
    seconds in all (requests' own timeout is per read: a server dripping a byte a second
    would hold it forever). ValueError past the size, TimeoutError past the time."""
    import requests

    deadline = time.monotonic() + timeout
    parts, size = [], 0
    with requests.get(url, timeout=timeout, stream=True) as resp:
        resp.raise_for_status()
        raw = resp.raw
        while True:
            chunk = raw.read1(65536, decode_content=True)       # what has arrived, not a full 64 KiB
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url}: the body took longer than {timeout:g} s")
            if not chunk:
                if raw.closed or raw.length_remaining == 0:
                    break
                continue                                         # compressed bytes that made no output yet
            size += len(chunk)
            if size > limit:
                raise ValueError(f"{url}: the body is over {limit} bytes")
            parts.append(chunk)
    return b"".join(parts)


def read_source(where: str, timeout: float = 30.0) -> tuple[Any, str]:
    """Read LiteLLM's table from a file (.json, .json.gz, or the ``litellm`` wheel) or an http(s) URL.

    Returns (parsed JSON, version): the wheel's package version (``litellm 1.110.2``), else
    what `parse_bytes` says.
    """
    if re.match(r"^https?://", where):
        return parse_bytes(fetch_url(where, timeout))
    path = Path(where)
    if path.name.endswith(".whl"):
        with zipfile.ZipFile(path) as whl:
            doc, _ = parse_bytes(whl.read(WHEEL_MEMBER))
        parts = path.name.split("-")
        return doc, f"{parts[0]} {parts[1]}" if len(parts) > 1 else path.name
    return parse_bytes(path.read_bytes())
