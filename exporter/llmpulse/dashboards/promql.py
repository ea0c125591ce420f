"""Small PromQL builders shared by the dashboards.

>>> quantile(0.95, "llm_trace_cost_usd", "service_name", 'job=~"$job"')
'histogram_quantile(0.95, sum by (le, service_name) (rate(llm_trace_cost_usd_bucket{job=~"$job"}[$__rate_interval])))'
>>> rate("llm_retries_total", 'job=~"$job"', by="service_name")
'sum by (service_name) (rate(llm_retries_total{job=~"$job"}[$__rate_interval]))'
"""

from __future__ import annotations

from llmpulse.dashboards.thresholds import Thresholds

RATE_INTERVAL = "$__rate_interval"
SECONDS_PER_DAY = 86400
DAYS_PER_MONTH = 30


def rate(metric: str, selector: str, *, by: str | None = None) -> str:
    """`sum [by (...)] (rate(metric{selector}[$__rate_interval]))`."""
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} (rate({metric}{{{selector}}}[{RATE_INTERVAL}]))"


def quantile(q: float, histogram: str, by: str, selector: str) -> str:
    """`histogram_quantile(q, ...)` of a classic histogram family, grouped by `by`."""
    grouping = f"le, {by}" if by else "le"
    return (
        f"histogram_quantile({q}, sum by ({grouping}) "
        f"(rate({histogram}_bucket{{{selector}}}[{RATE_INTERVAL}])))"
    )


def quantile_bound(q: float, histogram: str, by: str, selector: str) -> str:
    """The upper bound of the bucket holding quantile `q`: whole numbers for count histograms.

    Each cumulative bucket is capped at q x count, so the bucket holding the quantile is
    the first one to reach the (new) total, and `histogram_quantile(1, ...)` returns its
    upper bound with no interpolation inside it. Nothing (not NaN) when the count is 0.
    """
    buckets = f"sum by (le, {by}) (rate({histogram}_bucket{{{selector}}}[{RATE_INTERVAL}]))"
    cap = f"({q} * sum by ({by}) (rate({histogram}_count{{{selector}}}[{RATE_INTERVAL}])) > 0)"
    return (
        f"histogram_quantile(1, ({buckets} <= on ({by}) group_left () {cap}) "
        f"or on ({by}, le) ({buckets} * 0 + on ({by}) group_left () {cap}))"
    )


def mean(histogram: str, by: str, selector: str) -> str:
    """Mean observation of a histogram: rate of `_sum` over rate of `_count`."""
    return f"{rate(histogram + '_sum', selector, by=by)} / {rate(histogram + '_count', selector, by=by)}"


def budget_ratio(spend_per_day: str, selector: str, thresholds: Thresholds) -> str:
    """Per-service spend per day over that service's budget (per-service overrides first).

    `spend_per_day` is a template with `{sel}` for the label selector and must keep
    `service_name`. Overrides become `or` branches, evaluated before the default.

    >>> from dataclasses import replace
    >>> from llmpulse.dashboards.thresholds import load_thresholds
    >>> t = replace(load_thresholds(None), daily_budget_per_service_usd={"chat": 50.0})
    >>> budget_ratio("sum by (service_name) (x{{{sel}}})", 'job="a"', t)
    '(sum by (service_name) (x{job="a", service_name="chat"})) / 50 or (sum by (service_name) (x{job="a"})) / 100'
    """
    branches = []
    for service, budget in sorted(thresholds.daily_budget_per_service_usd.items()):
        sel = f'{selector}, service_name="{service}"'
        branches.append(f"({spend_per_day.format(sel=sel)}) / {number(budget)}")
    branches.append(
        f"({spend_per_day.format(sel=selector)}) / {number(thresholds.daily_budget_default_usd)}"
    )
    return " or ".join(branches)


def number(value: float) -> str:
    """Format a threshold for PromQL without float noise: 100.0 -> '100', 0.05 -> '0.05'."""
    text = f"{value:.10g}"
    return text


def match(selector: str, **labels: str) -> str:
    """Append exact matchers to a selector: match('job=~"$job"', x="y") -> 'job=~"$job", x="y"'."""
    extra = ", ".join(f'{name}="{value}"' for name, value in labels.items())
    return f"{selector}, {extra}" if selector else extra


def negate(matchers: str) -> str:
    """The complement of one `label=~"re"` (or `label="v"`) matcher.

    >>> negate('gen_ai_operation_name=~"chat|embeddings"')
    'gen_ai_operation_name!~"chat|embeddings"'
    """
    for op, neg in (("=~", "!~"), ("!~", "=~"), ("!=", "="), ("=", "!=")):
        name, sep, value = matchers.partition(op)
        if sep and "," not in matchers and name.strip().isidentifier():
            return f"{name.strip()}{neg}{value.strip()}"
    raise ValueError(f"cannot negate {matchers!r}: give a single matcher")
