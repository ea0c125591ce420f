"""Read a span's pricing dimensions: service tier, 1-hour cache writes, per-modality tokens, web searches.

Every name below was read in the emitter that writes it (docs/pricing.md, "Where the span says
it"). The normaliser reads the service tier with the rest of the span's attributes, calls
`tier_only` when a span's tier is not ``default``, and `read_billing` only for spans that carry one
of `USAGE_KEYS`: a span without any costs nothing here.

>>> b = read_billing({"openai.response.service_tier": "flex", "gen_ai.usage.audio.input_tokens": 40})
>>> b.service_tier, b.audio_input_tokens
('flex', 40)
>>> read_billing({"openai.request.service_tier": "auto"}) is None
True
"""

from __future__ import annotations

import math
from typing import Any

from llmpulse.records import Billing

__all__ = ["KEYS", "SERVICE_TIER", "USAGE_KEYS", "read_billing", "service_tier", "tier_only"]

# Most specific first; the first name with a value wins. What the provider says it served
# (response) beats what was asked for (request); `llmpulse.service_tier` is for callers that
# know better (e.g. results of a Batch API job replayed as spans).
SERVICE_TIER = (
    "llmpulse.service_tier",
    "openai.response.service_tier",            # OTel semconv >= 1.37 (openai-v2 2.x, OpenLIT)
    "gen_ai.openai.response.service_tier",     # OTel semconv < 1.37, LiteLLM, OpenLIT
    "openai.request.service_tier",             # OpenLLMetry, openai-v2 (never "auto")
    "gen_ai.openai.request.service_tier",
)
CACHE_WRITE_1H = (
    "llmpulse.usage.cache_write_1h.input_tokens",
    "gen_ai.usage.details.ephemeral_1h_input_tokens",      # pydantic-ai (Anthropic usage.cache_creation)
)
AUDIO_INPUT = (
    "gen_ai.usage.audio.input_tokens",                     # OTel GenAI (util-genai 1.3)
    "llm.token_count.prompt_details.audio",                # OpenInference
    "gen_ai.usage.details.input_audio_tokens",             # pydantic-ai
)
IMAGE_INPUT = ("gen_ai.usage.image.input_tokens",)
VIDEO_INPUT = ("gen_ai.usage.video.input_tokens",)
AUDIO_CACHE_READ = ("gen_ai.usage.audio.cache_read.input_tokens", "gen_ai.usage.details.cache_audio_read_tokens")
IMAGE_CACHE_READ = ("gen_ai.usage.image.cache_read.input_tokens",)
AUDIO_OUTPUT = (
    "gen_ai.usage.audio.output_tokens",                    # OTel GenAI
    "llm.token_count.completion_details.audio",            # OpenInference
    "gen_ai.usage.details.output_audio_tokens",            # pydantic-ai
    "gen_ai.usage.completion_tokens_details.audio_tokens",  # OpenLIT
)
IMAGE_OUTPUT = ("gen_ai.usage.image.output_tokens",)
WEB_SEARCH = ("llmpulse.usage.web_search_requests", "gen_ai.usage.details.web_search_requests")   # pydantic-ai

_COUNTS = (
    ("cache_write_1h_tokens", CACHE_WRITE_1H), ("audio_input_tokens", AUDIO_INPUT),
    ("image_input_tokens", IMAGE_INPUT), ("video_input_tokens", VIDEO_INPUT),
    ("audio_cache_read_tokens", AUDIO_CACHE_READ), ("image_cache_read_tokens", IMAGE_CACHE_READ),
    ("audio_output_tokens", AUDIO_OUTPUT), ("image_output_tokens", IMAGE_OUTPUT),
    ("web_search_calls", WEB_SEARCH),
)
USAGE_KEYS: tuple[str, ...] = tuple(name for _, names in _COUNTS for name in names)
KEYS: tuple[str, ...] = SERVICE_TIER + USAGE_KEYS

# Span values -> the tier names price tables use. "default" is the list price.
_TIER_ALIASES = {
    "": "default", "default": "default", "standard": "default", "auto": "default", "on_demand": "default",
    "ondemand": "default", "on-demand": "default",
    "batch": "batch", "batches": "batch",
    "flex": "flex", "priority": "priority",
}
MAX_TIER_CHARS = 32


def service_tier(value: Any) -> str:
    """A span's service tier value as price tables name it.

    >>> service_tier("Standard"), service_tier("batches"), service_tier("scale")
    ('default', 'batch', 'scale')
    """
    text = str(value).strip().lower()
    return _TIER_ALIASES.get(text) or text[:MAX_TIER_CHARS]


def _count(value: Any) -> int:
    """A count as given; anything that is not a finite number >= 0 counts as 0 (never rejects a span)."""
    if value.__class__ is int:
        return value if value > 0 else 0
    if isinstance(value, bool) or value is None:
        return 0
    try:
        f = float(value)
    except (TypeError, ValueError):
        return 0
    return int(f) if math.isfinite(f) and f > 0 else 0


def _first(attrs: dict, names: tuple[str, ...]) -> Any:
    for name in names:
        v = attrs.get(name)
        if v is not None and v != "":
            return v
    return None


def tier_only(value: Any) -> Billing | None:
    """The `Billing` of a span whose only dimension is this service tier value (None: the default tier).

    >>> tier_only("priority").service_tier, tier_only("standard")
    ('priority', None)
    """
    tier = service_tier(value)
    return None if tier == "default" else Billing(service_tier=tier)


def read_billing(attrs: dict, tier_value: Any = None) -> Billing | None:
    """The span's `Billing`, or None when nothing in it changes the price (a default tier, zeros).

    ``tier_value``: the first `SERVICE_TIER` value, when the caller has read it already.
    """
    if tier_value is None:
        tier_value = _first(attrs, SERVICE_TIER)
    tier = service_tier(tier_value) if tier_value is not None else ""
    b = Billing(service_tier="" if tier == "default" else tier)
    found = bool(b.service_tier)
    for field_name, names in _COUNTS:
        v = _first(attrs, names)
        if v is not None:
            n = _count(v)
            if n:
                setattr(b, field_name, n)
                found = True
    return b if found else None
