"""The cost of each call, and the metrics that show how it was priced.

`Costing.cost` prices one call. A call without pricing dimensions whose prompt is under its
model's first size threshold (nearly every call) takes `Price.cost`'s formula and one dict
lookup; the rest go through `Price.quote` and are recorded in `PriceMetrics`:

- ``llm_price_usd_per_token`` (gauge): each seen model's prices per token type, service tier
  and prompt-size band, so dashboards can turn token counts into dollars saved or added;
- ``llm_tier_tokens_total``: tokens billed at a service tier other than the default or above a
  prompt-size threshold, by the price row applied;
- ``llmpulse_price_approximations_total{reason}``: calls priced with a fallback price.

>>> from prometheus_client import CollectorRegistry
>>> from llmpulse.pricing import Price
>>> from llmpulse.records import Billing, Call
>>> reg = CollectorRegistry()
>>> costing = Costing(PriceMetrics(reg, model_cap=10))
>>> c = Call(provider="openai", request_model="m", input_tokens=1_000_000, output_tokens=0,
...          billing=Billing(service_tier="batch"))
>>> costing.cost(c, Price(2, 8, tiers=(("batch", Price(1, 4)),)))
1.0
>>> reg.get_sample_value("llm_tier_tokens_total", {"service_name": "unknown", "gen_ai_provider_name": "openai",
...     "gen_ai_request_model": "m", "gen_ai_token_type": "input", "service_tier": "batch",
...     "prompt_tokens_above": "0"})
1000000.0
"""

from __future__ import annotations

import threading

from llmpulse.pricing import APPROXIMATIONS, Price
from llmpulse.records import Call
from llmpulse.series import OVERFLOW, Counter, Gauge, LabelCaps

__all__ = ["Costing", "PriceMetrics"]

PRICE_LABELS = ("gen_ai_provider_name", "gen_ai_request_model", "gen_ai_token_type", "service_tier",
                "prompt_tokens_above")
TIER_LABELS = ("service_name", *PRICE_LABELS)
MAX_TIERS = 20          # distinct service_tier label values (tables name a handful)


class PriceMetrics:
    """The pricing families, on their own lock; a collector on the registry passed in.

    ``model_cap`` bounds the (provider, model) pairs whose prices are shown, as
    ``metrics.label_caps.gen_ai_request_model`` bounds the models of every other family.
    """

    def __init__(self, registry, model_cap: int = 200, service_cap: int = 100, max_label_length: int = 128):
        self.lock = threading.Lock()
        self.model_cap = model_cap
        self.price = Gauge("llm_price_usd_per_token",
                           "USD per token of each seen model, by token type, service tier and prompt-size band.",
                           PRICE_LABELS)
        self.tier_tokens = Counter("llm_tier_tokens",
                                   "Tokens billed at a non-default service tier or above a prompt-size threshold, "
                                   "by the price row applied.", TIER_LABELS)
        self.approximations = Counter("llmpulse_price_approximations",
                                      "Calls priced with a fallback price, by what was approximated.", ("reason",))
        for reason in APPROXIMATIONS:
            self.approximations.inc((reason,), 0.0)
        self.refreshes = Counter("llmpulse_price_source_refreshes",
                                 "Reads of the configured price sources, by source and outcome (ok, failed).",
                                 ("source", "outcome"))
        self.source_models = Gauge("llmpulse_price_source_models", "Models priced by each price source.",
                                   ("source",))
        self.source_success = Gauge("llmpulse_price_source_last_success_timestamp_seconds",
                                    "When each price source was last read successfully (unix seconds).", ("source",))
        self.caps = LabelCaps({"gen_ai_request_model": model_cap, "service_name": service_cap,
                               "service_tier": MAX_TIERS}, default=model_cap, max_length=max_label_length)
        self.shown: dict[tuple[str, str], Price] = {}    # (provider, model) -> the price in the gauge
        self.families = (self.price, self.tier_tokens, self.approximations, self.refreshes, self.source_models,
                         self.source_success)
        registry.register(self)

    def collect(self):
        with self.lock:
            return [f.collect() for f in self.families]

    def describe(self):
        return []

    def show(self, provider: str, model: str, price: Price) -> None:
        """Put ``price``'s rows in the gauge for (provider, model), replacing what it showed."""
        with self.lock:
            model_label = self.caps.value("gen_ai_request_model", model)
            if model_label == OVERFLOW:
                return
            key = (provider, model_label)
            if self.shown.get(key) is price:
                return
            if key in self.shown:
                for k in [k for k in self.price.cells if k[:2] == key]:
                    del self.price.cells[k]
            self.shown[key] = price
            for tier, threshold, kind, usd in price.rows():
                self.price.set((provider, model_label, kind, tier, str(threshold)), usd)

    def source_refreshed(self, source: str, outcome: str) -> None:
        with self.lock:
            self.refreshes.inc((source, outcome))

    def source_loaded(self, source: str, models: int, when: float) -> None:
        with self.lock:
            self.source_models.set((source,), float(models))
            self.source_success.set((source,), when)

    def record(self, c: Call, tier: str, threshold: int, tokens, approximations) -> None:
        with self.lock:
            for reason in approximations:
                self.approximations.inc((reason,))
            if tier == "default" and not threshold:
                return
            caps = self.caps.value
            head = (caps("service_name", c.service), c.provider, caps("gen_ai_request_model", c.request_model))
            tail = (caps("service_tier", tier), str(threshold))
            for kind, n in tokens:
                self.tier_tokens.inc((*head, kind, *tail), n)


class Costing:
    """Prices calls with a price table's `Price`; records how in `PriceMetrics` (if given)."""

    def __init__(self, metrics: PriceMetrics | None = None):
        self.metrics = metrics
        self._shown: dict[str, dict[str, Price]] = {}   # provider -> request model -> price shown (a cheap check)
        self._n_shown = 0

    def _show(self, m: PriceMetrics, c: Call, price: Price) -> None:
        m.show(c.provider, c.request_model, price)
        if self._n_shown >= 4 * m.model_cap + 64:      # bounded: cleared, then refilled
            self._shown.clear()
            self._n_shown = 0
        self._shown.setdefault(c.provider, {})[c.request_model] = price
        self._n_shown += 1

    def cost(self, c: Call, price: Price) -> float:
        """USD cost of ``c`` at ``price``."""
        inp = c.input_tokens or 0
        m = self.metrics
        if m is not None:
            shown = self._shown.get(c.provider)
            if shown is None or shown.get(c.request_model) is not price:
                self._show(m, c, price)
        if c.billing is None and not (price.above and inp > price.above[0][0]):
            return price.cost(inp, c.output_tokens or 0, c.cache_read_tokens, c.cache_write_tokens,
                              c.reasoning_tokens)
        q = price.quote(inp, c.output_tokens or 0, c.cache_read_tokens, c.cache_write_tokens,
                        c.reasoning_tokens, c.billing)
        if m is not None:
            m.record(c, q.tier, q.threshold, q.tokens, q.approximations)
        return q.usd
