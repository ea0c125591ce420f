"""The exporter's bounded stores at steady state: full, so every span measured evicts one.

>>> overrides, fill = steady_state(0.1)
>>> overrides["tracking"]["dedupe_spans"], fill
(20000, 25000)
"""

from __future__ import annotations

from llmpulse.config import load_config

STORES = ("dedupe_spans", "remember_spans", "max_traces", "max_conversations")


def steady_state(scale: float) -> tuple[dict, int]:
    """(config overrides, spans to send first) so the exporter's bounded stores are full before anything is
    measured, and every span measured evicts one: a busy exporter's steady state, not its first minute."""
    defaults = load_config().tracking
    sizes = {k: max(1_000, int(getattr(defaults, k) * scale)) for k in STORES}
    # about 1 span in 8 of the demo traffic is not a GenAI call (and is not remembered): send a quarter more
    return {"tracking": sizes}, int(max(sizes.values()) * 1.25)
