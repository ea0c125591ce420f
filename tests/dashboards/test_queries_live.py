"""Every dashboard query against a real Prometheus that scraped a real llmpulse demo.

Needs the session fixture `live_prometheus` (tests/conftest.py): Prometheus 2.42
with exemplar storage and the llmpulse recording rules loaded, scraping an
exporter fed by `llmpulse demo`; `.query(expr) -> list` of result series (raises
on a query error) and `.url`. Without that fixture the tests skip.

Grafana variables are replaced as Grafana would with "All" selected
(`$__rate_interval` -> 1m, `"$service"` -> `".*"`, ...; see `build.live_expr`).
"""

from __future__ import annotations

import json
import math
import time
import urllib.parse
import urllib.request
from collections import defaultdict

import pytest

from llmpulse.dashboards.build import all_queries, live_expr

PANELS: dict[tuple[str, str], list[str]] = defaultdict(list)
for _uid, _title, _expr in all_queries():
    PANELS[(_uid, _title)].append(_expr)

_ALERTS = "no alert fires under normal demo traffic (the scenarios make them fire)"
_ALL = (
    "llmpulse-overview", "llmpulse-latency", "llmpulse-cost", "llmpulse-quality",
    "llmpulse-agents", "llmpulse-slo", "llmpulse-exporter", "llmpulse-engines",
)
# Panels that may legitimately show no data after a short run of normal demo traffic.
MAY_BE_EMPTY: dict[tuple[str, str], str] = {
    **{(uid, "annotation: Firing LLM alerts"): _ALERTS for uid in _ALL},
    ("llmpulse-overview", "annotation: Deployments"): "marks only the first 5 minutes after a version appears",
    ("llmpulse-quality", "annotation: Deployments"): "marks only the first 5 minutes after a version appears",
    ("llmpulse-cost", "Cost per conversation p50 / p95 (with traces)"):
        "a conversation is observed once idle (the exporter's idle timeout outlasts a test run)",
    ("llmpulse-cost", "Unpriced operations by model"):
        "normal demo traffic uses priced models (the unpriced_model scenario fills it)",
    ("llmpulse-quality", "Safety evaluation failures"):
        "normal demo traffic passes its safety evaluations (the safety_failure scenario fills it)",
    ("llmpulse-exporter", "Spans rejected by reason"): "the demo sends only valid spans",
    ("llmpulse-exporter", "Aggregate spans with tokens by outcome"): "the demo's agent spans carry no token totals",
    ("llmpulse-exporter", "Raw error types (opt-in)"): "metrics.raw_error_types is off in the test stack",
    ("llmpulse-exporter", "Span values bounded"): "the demo reports no TTFT longer than its span",
    ("llmpulse-exporter", "Label overflows by label"): "the demo stays below every label cap",
    ("llmpulse-exporter", "Forward queue length"): "no forwarding sink is configured in the test stack",
    ("llmpulse-exporter", "Forwarding sent, retried and dropped"): "no forwarding sink is configured",
    ("llmpulse-exporter", "Price sources"): "no pricing.sources in the test stack (tests/test_price_sources.py)",
    ("llmpulse-exporter", "Price source age"): "no pricing.sources in the test stack (tests/test_price_sources.py)",
    ("llmpulse-cost", "Long-context surcharge per hour by model"):
        "demo prompts stay under every threshold; test_cost_savings_live.py sends long ones and checks the dollars",
}


def has_value(series_list: list) -> bool:
    """True when some series has a finite sample (NaN-only results show as broken panels)."""
    for series in series_list:
        samples = [series["value"]] if "value" in series else series.get("values", [])
        if any(math.isfinite(float(v)) for _, v in samples):
            return True
    return False


@pytest.fixture(scope="module")
def prometheus(request):
    try:
        return request.getfixturevalue("live_prometheus")
    except pytest.FixtureLookupError:
        pytest.skip("needs the live_prometheus fixture (tests/conftest.py): real Prometheus + llmpulse demo")


def test_every_may_be_empty_entry_names_a_real_panel():
    """Runs without Prometheus: the exemption list cannot drift from the dashboards."""
    assert set(MAY_BE_EMPTY) <= set(PANELS), set(MAY_BE_EMPTY) - set(PANELS)
    assert all(reason.strip() for reason in MAY_BE_EMPTY.values())


# Some signals appear only after the demo has run a while (a trace is recorded once
# idle for 15 s; rate windows need two scrapes). Panels without data are re-queried
# until this many seconds after the first live panel test started, then fail.
DATA_DEADLINE_SECONDS = 120.0
POLL_SECONDS = 2.0
_started: list[float] = []


def run_panel(prometheus, panel: tuple[str, str]) -> list[list]:
    results = []
    for expr in PANELS[panel]:
        query = live_expr(expr)
        try:
            results.append(prometheus.query(query))
        except Exception as exc:  # the fixture raises on a query error
            pytest.fail(f"{panel[0]} / {panel[1]}: query failed: {query}\n{exc}")
    return results


@pytest.mark.live
@pytest.mark.parametrize("panel", sorted(PANELS), ids=lambda key: f"{key[0]}/{key[1]}")
def test_panel_queries_run_and_return_data(prometheus, panel):
    if not _started:
        _started.append(time.monotonic())
    results = run_panel(prometheus, panel)
    if panel in MAY_BE_EMPTY:
        return
    while not any(has_value(r) for r in results) and time.monotonic() < _started[0] + DATA_DEADLINE_SECONDS:
        time.sleep(POLL_SECONDS)
        results = run_panel(prometheus, panel)
    assert any(has_value(r) for r in results), f"{panel[0]} / {panel[1]}: no finite data from any of {[live_expr(e) for e in PANELS[panel]]}"


@pytest.mark.live
def test_latency_panels_have_trace_exemplars(prometheus):
    """The exemplar-enabled duration histogram carries trace ids Grafana can link to Tempo."""
    end = time.time()
    params = urllib.parse.urlencode(
        {
            "query": live_expr('sum by (le) (rate(gen_ai_client_operation_duration_seconds_bucket{job=~"$job"}[$__rate_interval]))'),
            "start": end - 3600,
            "end": end,
        }
    )
    with urllib.request.urlopen(f"{prometheus.url}/api/v1/query_exemplars?{params}", timeout=10) as response:
        body = json.load(response)
    assert body["status"] == "success"
    labels = [e["labels"] for series in body["data"] for e in series["exemplars"]]
    assert labels, "no exemplars: is Prometheus started with --enable-feature=exemplar-storage?"
    assert all(len(label.get("trace_id", "")) == 32 for label in labels)
