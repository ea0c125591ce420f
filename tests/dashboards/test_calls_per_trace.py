""""LLM calls per trace" shows what a user expects: whole numbers of calls.

Quantiles interpolated inside the buckets of llm_trace_operations (1, 2, ..., 6, 8,
10, ...) gave 0.5 / 0.95 / 0.99 when every trace made exactly 1 call and 7.9 when
every trace made 7. The panel now shows each quantile as the upper bound of the
bucket it falls in ("p95 = 4": 95 % of traces made at most 4 calls), exact up to 6
with the default buckets, plus the exact mean and the largest bucket reached.
"""

from __future__ import annotations

from alerts.rule_cases import hist
from panel_eval import check, panel_queries

ONE = {"job": "llm", "service_name": "one-call"}
SEVEN = {"job": "llm", "service_name": "seven-calls"}
MIX = {"job": "llm", "service_name": "mixed"}
BOUNDS = ("1", "2", "3", "4", "5", "6", "8", "10", "15", "20", "30", "50", "100")


def traces(labels, per_minute_by_calls: dict[int, int]):
    """Histogram series for traces making k calls, `n` traces a minute each."""
    buckets = {}
    for le in BOUNDS:
        n = sum(v for k, v in per_minute_by_calls.items() if k <= float(le))
        buckets[le] = f"0+{n}x20"
    total = sum(per_minute_by_calls.values())
    total_calls = sum(k * v for k, v in per_minute_by_calls.items())
    return hist("llm_trace_operations", labels, buckets, f"0+{total}x20", f"0+{total_calls}x20")


SERIES = [
    *traces(ONE, {1: 60}),
    *traces(SEVEN, {7: 60}),
    # 50 % one call, 45 % two, 4 % three, 1 % twelve
    *traces(MIX, {1: 50, 2: 45, 3: 4, 12: 1}),
]


def test_quantiles_are_whole_calls(tmp_path):
    p50, p95, p99 = panel_queries("llmpulse-agents", "LLM calls per trace p50 / p95 / p99")
    at = "15m"
    check(tmp_path, SERIES, [
        (at, p50, [('{service_name="one-call"}', 1), ('{service_name="seven-calls"}', 8), ('{service_name="mixed"}', 1)]),
        (at, p95, [('{service_name="one-call"}', 1), ('{service_name="seven-calls"}', 8), ('{service_name="mixed"}', 2)]),
        (at, p99, [('{service_name="one-call"}', 1), ('{service_name="seven-calls"}', 8), ('{service_name="mixed"}', 3)]),
    ])


def test_mean_is_exact_and_max_is_the_largest_bucket(tmp_path):
    mean, most = panel_queries("llmpulse-agents", "LLM calls per trace: mean and max")
    at = "15m"
    check(tmp_path, SERIES, [
        (at, mean, [('{service_name="one-call"}', 1), ('{service_name="seven-calls"}', 7),
                    ('{service_name="mixed"}', 1.64)]),
        (at, most, [('{service_name="one-call"}', 1), ('{service_name="seven-calls"}', 8),
                    ('{service_name="mixed"}', 15)]),
    ])
