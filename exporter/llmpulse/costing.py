"""The cost of each call, and the metrics that show how it was priced.

`Costing.cost` prices a call that carries pricing dimensions, or whose model has prompt-size
bands (`llmpulse.pipeline.Pipeline.price` prices every other call with `Price.cost` directly,
so nearly every call costs what it did before); such calls go through `Price.quote` and are
recorded in `PriceMetrics`:

- ``llm_price_usd_per_token`` (gauge): the prices of each model priced so far, per token type,
  service tier and prompt-size band, so dashboards can turn token counts into dollars saved or
  added. Built at scrape time from the models of ``llm_cost_usd_total`` (so bounded by its label
  caps) and the prices in use: nothing per call;
- ``llm_tier_tokens_total``: tokens billed at a service tier other than the default or above a
  prompt-size threshold, by the price row applied;
- ``llmpulse_price_approximations_total{reason}``: calls priced with a fallback price.

>>> from prometheus_client import CollectorRegistry
>>> from llmpulse.pricing import Price
>>> from llmpulse.records import Billing, Call
>>> reg = CollectorRegistry()
>>> costing = Costing(PriceMetrics(reg))
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
from collections.abc import Callable

from llmpulse.pricing import APPROXIMATIONS, Price, PriceChain, PriceTable
from llmpulse.records import Call
from llmpulse.series import OVERFLOW, Counter, Gauge, LabelCaps

__all__ = ["Costing", "PriceMetrics"]

PRICE_LABELS = ("gen_ai_provider_name", "gen_ai_request_model", "gen_ai_token_type", "service_tier",
                "prompt_tokens_above")
TIER_LABELS = ("service_name", *PRICE_LABELS)
MAX_TIERS = 20          # distinct service_tier label values (tables name a handful)


class PriceMetrics:
    """The pricing families, on their own lock; a collector on the registry passed in.

    `attach` gives it the exporter's `Metrics` and the prices in use, from which
    ``llm_price_usd_per_token`` is built at each scrape.
    """

    def __init__(self, registry, caps: dict[str, int] | None = None, max_label_length: int = 128):
        self.lock = threading.Lock()
        self.price = Gauge("llm_price_usd_per_token",
                           "USD per token of each model priced so far, by token type, service tier and "
                           "prompt-size band.", PRICE_LABELS)
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
        # the labels of llm_tier_tokens_total: capped like every other family's (metrics.label_caps)
        self.caps = LabelCaps({**(caps or {}), "service_tier": MAX_TIERS}, default=100, max_length=max_label_length)
        self.metrics = None
        self.prices: Callable[[], PriceTable | PriceChain] | None = None
        self.families = (self.price, self.tier_tokens, self.approximations, self.refreshes, self.source_models,
                         self.source_success)
        registry.register(self)

    def attach(self, metrics, prices: Callable[[], PriceTable | PriceChain]) -> None:
        """Show the prices (``prices()``: a PriceTable or PriceChain) of the models in ``metrics``."""
        self.metrics, self.prices = metrics, prices

    def collect(self):
        self._refresh_prices()
        with self.lock:
            return [f.collect() for f in self.families]

    def describe(self):
        return []

    def _refresh_prices(self) -> None:
        """Rebuild ``llm_price_usd_per_token`` from the (provider, model) label pairs of ``llm_cost_usd``."""
        m = self.metrics
        if m is None or self.prices is None:
            return
        with m.lock:
            pairs = {(key[2], key[3]) for key in m.cost.cells}
        prices = self.prices()
        rows = {}
        for provider, model in pairs:
            if OVERFLOW in (provider, model):
                continue
            price = prices.lookup(provider, model)
            if price is not None:
                for tier, threshold, kind, usd in price.rows():
                    rows[(provider, model, kind, tier, str(threshold))] = usd
        with self.lock:
            self.price.cells.clear()
            if len(self.price.label_text) > 4 * len(rows) + 1000:    # texts of series gone: bounded
                self.price.label_text.clear()
            for key, usd in rows.items():
                self.price.set(key, usd)

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
            head = (caps("service_name", c.service), caps("gen_ai_provider_name", c.provider),
                    caps("gen_ai_request_model", c.request_model))
            tail = (caps("service_tier", tier), str(threshold))
            for kind, n in tokens:
                self.tier_tokens.inc((*head, kind, *tail), n)


class Costing:
    """Prices calls with pricing dimensions; records how in `PriceMetrics` (if given)."""

    def __init__(self, metrics: PriceMetrics | None = None):
        self.metrics = metrics

    def cost(self, c: Call, price: Price) -> float:
        """USD cost of ``c`` at ``price``."""
        inp = c.input_tokens or 0
        if c.billing is None and not (price.above and inp > price.above[0][0]):
            return price.cost(inp, c.output_tokens or 0, c.cache_read_tokens, c.cache_write_tokens,
                              c.reasoning_tokens)
        q = price.quote(inp, c.output_tokens or 0, c.cache_read_tokens, c.cache_write_tokens,
                        c.reasoning_tokens, c.billing)
        if self.metrics is not None:
            self.metrics.record(c, q.tier, q.threshold, q.tokens, q.approximations)
        return q.usd
