"""Cost and budget: spend by service, provider, model and opt-in dimensions.

Also cost per request and per conversation, cache savings, projected month,
budget burn (from `LLMDailyBudgetExceededThresholdUSD`) and unpriced traffic.

>>> build(load_thresholds(None)).uid
'llmpulse-cost'
"""

from __future__ import annotations

from grafanalib import core

from llmpulse.dashboards import base, promql, variables
from llmpulse.dashboards.panels import AMBER, BLUE, GREEN, RED, Grid, stat, steps, target, timeseries
from llmpulse.dashboards.thresholds import BUDGET_PACE_WARNING_RATIO, Thresholds, load_thresholds
from llmpulse.dashboards.variables import SELECTOR, SELECTOR_DIMENSIONS, SELECTOR_SERVICE

COST_RULE = "service_model:llm_cost_usd:rate5m"
SELECTOR_DIMS = f"{SELECTOR}, {SELECTOR_DIMENSIONS}"
CALLS = "gen_ai_client_operation_duration_seconds_count"  # with calls(t): requests only
SPEND_LAST_DAY = "sum by (job, service_name) (service:llm_cost_usd:increase1d{{{sel}}})"
BY_MODEL = "gen_ai_provider_name, gen_ai_request_model"
MODEL_LEGEND = "{{gen_ai_provider_name}}/{{gen_ai_request_model}}"



def calls(t: Thresholds) -> str:
    """The variable selector plus CallSelector: a request is a model call."""
    return f"{SELECTOR}, {t.model_call_selector}"


def projected_month(title: str, description: str) -> core.Stat:
    """The month's spend at the last 24 h's average rate (cost and overview dashboards)."""
    return stat(
        title,
        description,
        "currencyUSD",
        [
            target(
                f"sum(avg_over_time(service:llm_cost_usd:rate5m{{{SELECTOR_SERVICE}}}[1d])) "
                f"* {promql.SECONDS_PER_DAY} * {promql.DAYS_PER_MONTH}",
                "projected month",
                instant=True,
            )
        ],
        thresholds=steps((BLUE, None)),
        graph=False,
    )

def budget_steps() -> list[dict[str, object]]:
    return steps((GREEN, None), (AMBER, BUDGET_PACE_WARNING_RATIO), (RED, 1.0))


def now_tiles(t: Thresholds) -> list[core.Panel]:
    return [
        stat(
            "Spend in range",
            "US dollars spent in the selected time range (selected services, models and dimensions).",
            "currencyUSD",
            [target(f"sum(increase(llm_cost_usd_total{{{SELECTOR_DIMS}}}[$__range]))", "spend", instant=True)],
            thresholds=steps((BLUE, None)),
            graph=False,
        ),
        stat(
            "Spend per hour",
            "Current spend rate in US dollars per hour (5 m recording rule).",
            "currencyUSD",
            [target(f"sum({COST_RULE}{{{SELECTOR}}}) * 3600", "$/h")],
            thresholds=steps((BLUE, None)),
        ),
        projected_month("Projected month", "Average spend rate over the last 24 h times 30 days."),
        stat(
            "Daily budget used (last 24 h)",
            "Spend over the trailing 24 h as a share of the daily budget, for the service closest to "
            f"its budget (default {promql.number(t.daily_budget_default_usd)} USD/day; per-service "
            "overrides from thresholds.yaml). Red at 100 %: LLMDailyBudgetExceeded.",
            "percentunit",
            [target(f"max({promql.budget_ratio(SPEND_LAST_DAY, SELECTOR_SERVICE, t)})", "budget used", instant=True)],
            thresholds=budget_steps(),
            graph=False,
        ),
        stat(
            "Mean cost per request",
            "US dollars per model call (a request: CallSelector) over the rate window (priced calls "
            "and unpriced ones, which count as 0).",
            "currencyUSD",
            [target(f"{promql.rate('llm_cost_usd_total', calls(t))} / {promql.rate(CALLS, calls(t))}", "$/request")],
            thresholds=steps((BLUE, None)),
            decimals=4,
        ),
        stat(
            "Unpriced share",
            "Share of model calls whose model has no price in the price table; their cost is "
            "missing from every spend panel. Anything above 0 is amber (LLMUnpricedModel).",
            "percentunit",
            [
                target(
                    f"({promql.rate('llm_unpriced_operations_total', calls(t))} or vector(0)) / "
                    f"{promql.rate(CALLS, calls(t))}",
                    "unpriced",
                )
            ],
            thresholds=steps((GREEN, None), (AMBER, 0.000001)),
            decimals=2,
        ),
    ]


def by_dimension() -> list[tuple[core.Panel, int, int]]:
    def per_hour(title: str, description: str, expr: str, legend: str) -> core.Panel:
        return timeseries(title, description, "currencyUSD", [target(expr, legend)], stack=True)

    return [
        (
            per_hour(
                "Spend per hour by service",
                "US dollars per hour by service (5 m recording rule), stacked.",
                f"sum by (service_name) (service:llm_cost_usd:rate5m{{{SELECTOR_SERVICE}}}) * 3600",
                "{{service_name}}",
            ),
            8,
            8,
        ),
        (
            per_hour(
                "Spend per hour by provider",
                "US dollars per hour by provider, stacked.",
                f"sum by (gen_ai_provider_name) ({COST_RULE}{{{SELECTOR}}}) * 3600",
                "{{gen_ai_provider_name}}",
            ),
            8,
            8,
        ),
        (
            per_hour(
                "Spend per hour by model",
                "US dollars per hour by provider and model, stacked.",
                f"sum by ({BY_MODEL}) ({COST_RULE}{{{SELECTOR}}}) * 3600",
                MODEL_LEGEND,
            ),
            8,
            8,
        ),
        (
            per_hour(
                "Spend per hour by feature",
                "US dollars per hour by the opt-in `feature` dimension; a single unlabelled series "
                "when the exporter is not configured with it.",
                f"sum by (feature) (rate(llm_cost_usd_total{{{SELECTOR_DIMS}}}[$__rate_interval])) * 3600",
                "{{feature}}",
            ),
            12,
            8,
        ),
        (
            per_hour(
                "Spend per hour by tenant",
                "US dollars per hour by the opt-in `tenant` dimension; a single unlabelled series "
                "when the exporter is not configured with it.",
                f"sum by (tenant) (rate(llm_cost_usd_total{{{SELECTOR_DIMS}}}[$__rate_interval])) * 3600",
                "{{tenant}}",
            ),
            12,
            8,
        ),
    ]


def per_unit(t: Thresholds) -> list[tuple[core.Panel, int, int]]:
    return [
        (
            timeseries(
                "Tokens per request p95 by type",
                "p95 tokens in one operation by token type (input, output) from the OTel token "
                "usage histogram: prompt growth shows as a rising input line.",
                "short",
                [
                    target(
                        promql.quantile(0.95, "gen_ai_client_token_usage", "gen_ai_token_type", calls(t)),
                        "{{gen_ai_token_type}} p95",
                    )
                ],
            ),
            6,
            8,
        ),
        (
            timeseries(
                "Cost per request p50 / p95 by model (with traces)",
                "Distribution of the cost of single model calls per model; exemplar dots open the "
                "trace of an expensive call in Tempo.",
                "currencyUSD",
                [
                    target(promql.quantile(0.5, "llm_request_cost_usd", BY_MODEL, calls(t)), f"{MODEL_LEGEND} p50", exemplar=True),
                    target(promql.quantile(0.95, "llm_request_cost_usd", BY_MODEL, calls(t)), f"{MODEL_LEGEND} p95", exemplar=True),
                ],
            ),
            6,
            8,
        ),
        (
            timeseries(
                "Mean cost per request by model",
                "US dollars per model call per model: spend rate over call rate.",
                "currencyUSD",
                [
                    target(
                        f"{promql.rate('llm_cost_usd_total', calls(t), by=BY_MODEL)} / "
                        f"{promql.rate(CALLS, calls(t), by=BY_MODEL)}",
                        MODEL_LEGEND,
                    )
                ],
            ),
            6,
            8,
        ),
        (
            timeseries(
                "Cost per conversation p50 / p95 (with traces)",
                "Cost of whole conversations by service; a rising p95 with a flat p50 is a few "
                "long or looping conversations.",
                "currencyUSD",
                [
                    target(promql.quantile(0.5, "llm_conversation_cost_usd", "service_name", SELECTOR_SERVICE), "{{service_name}} p50", exemplar=True),
                    target(promql.quantile(0.95, "llm_conversation_cost_usd", "service_name", SELECTOR_SERVICE), "{{service_name}} p95", exemplar=True),
                ],
            ),
            6,
            8,
        ),
    ]


def budget_and_savings(t: Thresholds) -> list[tuple[core.Panel, int, int]]:
    tokens = "service_model:llm_tokens:rate5m"
    return [
        (
            timeseries(
                "Daily budget burn (trailing 24 h)",
                "Spend over the trailing 24 h as a share of each service's daily budget; dashed "
                f"lines at {int(BUDGET_PACE_WARNING_RATIO * 100)} % and 100 % (LLMDailyBudgetExceeded).",
                "percentunit",
                [target(promql.budget_ratio(SPEND_LAST_DAY, SELECTOR_SERVICE, t), "{{service_name}}")],
                thresholds=budget_steps(),
            ),
            8,
            8,
        ),
        (
            timeseries(
                "Cached tokens",
                "Prompt-cache reads per input token (how much of the prompt the provider served from "
                "its cache, billed at a discount) and semantic-cache hits per operation (calls "
                "avoided). Higher is cheaper.",
                "percentunit",
                [
                    target(
                        f'sum({tokens}{{{SELECTOR}, gen_ai_token_type="cache_read"}}) / '
                        f'sum({tokens}{{{SELECTOR}, gen_ai_token_type="input"}})',
                        "prompt-cache reads per input token",
                    ),
                    target(
                        f"{promql.rate('llm_cache_hits_total', SELECTOR)} / {promql.rate(CALLS, calls(t))}",
                        "semantic-cache hits per call",
                    ),
                ],
            ),
            8,
            8,
        ),
        (
            timeseries(
                "Unpriced operations by model",
                "Operations per second whose model is missing from the price table: add the model "
                "to the price table or they are free in every spend panel.",
                "ops",
                [target(promql.rate("llm_unpriced_operations_total", SELECTOR, by=BY_MODEL), MODEL_LEGEND)],
                stack=True,
            ),
            8,
            8,
        ),
    ]


# Savings and surcharges: token counts times the prices the exporter priced them with
# (llm_price_usd_per_token; docs/pricing.md "What the dashboards show"). The gauge has no
# service label: prices are per provider and model, the same for every service and replica.
PRICE = "llm_price_usd_per_token"
TIER_TOKENS = "llm_tier_tokens_total"
PRICE_SELECTOR = 'job=~"$job", gen_ai_provider_name=~"$provider", gen_ai_request_model=~"$model"'
MODEL_KEYS = "gen_ai_provider_name, gen_ai_request_model"
ROW_KEYS = f"{MODEL_KEYS}, gen_ai_token_type, service_tier, prompt_tokens_above"


def _price(matchers: str, by: str) -> str:
    """One price per `by` key (max over replicas, which all show the same table)."""
    return f"max by ({by}) ({PRICE}{{{PRICE_SELECTOR}, {matchers}}})" if matchers else \
        f"max by ({by}) ({PRICE}{{{PRICE_SELECTOR}}})"


def _tier_dollars(token_matchers: str, on: str, price_matchers: str, by: str) -> str:
    """USD per second of `llm_tier_tokens_total` rows at the price row matched `on` those labels."""
    tokens = f"sum by ({ROW_KEYS}) (rate({TIER_TOKENS}{{{SELECTOR}, {token_matchers}}}[$__rate_interval]))"
    return f"sum by ({by}) ({tokens} * on ({on}) group_left {_price(price_matchers, on)})"


def cached_token_savings() -> str:
    """USD per hour not spent because prompt tokens were read from the provider's cache."""
    reads = promql.rate("llm_tokens_total", promql.match(SELECTOR, gen_ai_token_type="cache_read"), by=MODEL_KEYS)
    base = 'service_tier="default", prompt_tokens_above="0"'
    input_price = _price('gen_ai_token_type="input", ' + base, MODEL_KEYS)
    read_price = _price('gen_ai_token_type="cache_read", ' + base, MODEL_KEYS)
    discount = f"({input_price} - on ({MODEL_KEYS}) {read_price})"
    return f"sum by ({MODEL_KEYS}) ({reads} * on ({MODEL_KEYS}) {discount}) * 3600"


def tier_savings() -> str:
    """USD per hour saved (batch, flex: positive) or added (priority: negative) by service tiers."""
    on_row = f"{MODEL_KEYS}, gen_ai_token_type, prompt_tokens_above"
    at_list = _tier_dollars('service_tier!="default"', on_row, 'service_tier="default"', "service_tier")
    as_billed = _tier_dollars('service_tier!="default"', ROW_KEYS, "", "service_tier")
    return f"({at_list} - {as_billed}) * 3600"


def long_context_surcharge() -> str:
    """USD per hour added by prompts above a model's prompt-size threshold."""
    as_billed = _tier_dollars('prompt_tokens_above!="0"', ROW_KEYS, "", MODEL_KEYS)
    on_base = f"{MODEL_KEYS}, gen_ai_token_type, service_tier"
    at_base = _tier_dollars('prompt_tokens_above!="0"', on_base, 'prompt_tokens_above="0"', MODEL_KEYS)
    return f"({as_billed} - {at_base}) * 3600"


def savings() -> list[tuple[core.Panel, int, int]]:
    return [
        (
            timeseries(
                "Cached-token savings per hour by model",
                "US dollars per hour the provider's prompt cache saved: cache-read tokens times the "
                "difference between the model's input and cache-read prices (llm_price_usd_per_token, "
                "default tier). Cache writes, which cost more than input at Anthropic, are not "
                "subtracted.",
                "currencyUSD",
                [target(cached_token_savings(), MODEL_LEGEND)],
                stack=True,
            ),
            6,
            8,
        ),
        (
            timeseries(
                "Service-tier savings per hour by tier",
                "US dollars per hour saved by calls billed at a cheaper service tier (batch, flex) "
                "against the same tokens at the default tier; negative for tiers that cost more "
                "(priority). From llm_tier_tokens_total and llm_price_usd_per_token.",
                "currencyUSD",
                [target(tier_savings(), "{{service_tier}}")],
            ),
            6,
            8,
        ),
        (
            timeseries(
                "Long-context surcharge per hour by model",
                "US dollars per hour added by prompts above a model's prompt-size threshold (e.g. "
                "Gemini 2.5 Pro above 200K tokens): their tokens at the long-prompt prices minus "
                "the same tokens at the model's base prices.",
                "currencyUSD",
                [target(long_context_surcharge(), MODEL_LEGEND)],
                stack=True,
            ),
            6,
            8,
        ),
        (
            timeseries(
                "Calls priced with a fallback",
                "Calls per second priced with a fallback price, by what was approximated: a service "
                "tier, modality or 1-hour cache write the model has no price for (priced at the "
                "default, text or 5-minute price), or web searches with no per-search price. "
                "Add the missing prices to your price file (docs/pricing.md).",
                "ops",
                [target('sum by (reason) (rate(llmpulse_price_approximations_total{job=~"$job"}'
                        '[$__rate_interval]))', "{{reason}}")],
                stack=True,
            ),
            6,
            8,
        ),
    ]


def build(t: Thresholds) -> core.Dashboard:
    grid = Grid()
    grid.row("Spend now")
    for tile in now_tiles(t):
        grid.add(tile, w=4, h=4)
    grid.row("Spend by service, provider, model and dimension")
    for item, w, h in by_dimension():
        grid.add(item, w, h)
    grid.row("Per request and per conversation")
    for item, w, h in per_unit(t):
        grid.add(item, w, h)
    grid.row("Budget, cache savings and unpriced traffic")
    for item, w, h in budget_and_savings(t):
        grid.add(item, w, h)
    grid.row("Savings and surcharges in dollars (from the price table)")
    for item, w, h in savings():
        grid.add(item, w, h)
    return base.make_dashboard(
        base.UIDS["cost"],
        "Cost and budget",
        "Where the money goes: spend by service, provider, model and dimension; budgets; unpriced calls.",
        grid.panels,
        templates=[*variables.standard(), *variables.dimensions()],
        annotations=[base.FIRING_ALERTS_ANNOTATION],
    )


__all__ = ["build", "load_thresholds"]
