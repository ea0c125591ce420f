"""Shape of the committed dashboard JSON: ids, grid, datasources, units, rates, links."""

from __future__ import annotations

import re

import pytest

from dashboard_files import EXPECTED_UIDS, all_panels, committed, leaf_panels

DASHBOARDS = committed()
ALLOWED_DATASOURCES = {
    ("prometheus", "${datasource}"),
    ("tempo", "${tempo}"),
    ("loki", "${loki}"),
}
RATE_CALL = re.compile(r"(?<![A-Za-z0-9_:])(i?rate)\s*\(")


def rate_ranges(expr: str) -> list[str]:
    """The range selectors inside every rate()/irate() call of `expr`."""
    ranges = []
    for match in RATE_CALL.finditer(expr):
        depth, start = 0, match.end() - 1
        for i in range(start, len(expr)):
            depth += {"(": 1, ")": -1}.get(expr[i], 0)
            if depth == 0:
                ranges.append(re.findall(r"\[([^\]]*)\]", expr[start:i]))
                break
    return [r for found in ranges for r in (found or ["<none>"])]


def test_every_dashboard_committed_with_its_stable_uid():
    assert set(DASHBOARDS) == EXPECTED_UIDS


@pytest.mark.parametrize("uid", sorted(EXPECTED_UIDS))
class TestDashboard:
    def test_modern_schema_and_metadata(self, uid):
        data = DASHBOARDS[uid]
        assert data["schemaVersion"] >= 36
        assert data["title"].startswith("llmpulse / ")
        assert data["description"]
        assert "llmpulse" in data["tags"]
        assert data["id"] is None
        for legacy in ("rows", "style", "sharedCrosshair"):
            assert legacy not in data

    def test_panel_ids_unique(self, uid):
        ids = [p["id"] for p in all_panels(DASHBOARDS[uid]["panels"])]
        assert all(isinstance(i, int) for i in ids)
        assert len(ids) == len(set(ids))

    def test_panel_titles_unique(self, uid):
        titles = [p["title"] for p in leaf_panels(DASHBOARDS[uid])]
        assert len(titles) == len(set(titles))

    def test_grid_positions_do_not_overlap(self, uid):
        def check(panels):
            cells = {}
            for p in panels:
                g = p["gridPos"]
                assert 0 <= g["x"] and g["x"] + g["w"] <= 24, p["title"]
                assert g["h"] > 0 and g["w"] > 0
                for x in range(g["x"], g["x"] + g["w"]):
                    for y in range(g["y"], g["y"] + g["h"]):
                        assert (x, y) not in cells, f"{p['title']!r} overlaps {cells[(x, y)]!r}"
                        cells[(x, y)] = p["title"]

        top = DASHBOARDS[uid]["panels"]
        check(top)
        for row in top:
            if row["type"] == "row" and row.get("collapsed"):
                check(row["panels"])

    def test_datasources_come_from_variables(self, uid):
        data = DASHBOARDS[uid]
        variables = {v["name"]: v for v in data["templating"]["list"]}
        for panel in leaf_panels(data):
            ds = panel["datasource"]
            assert (ds["type"], ds["uid"]) in ALLOWED_DATASOURCES, panel["title"]
            assert ds["uid"][2:-1] in variables
            assert panel["targets"], panel["title"]
            for t in panel["targets"]:
                assert t["datasource"] == ds, panel["title"]
        for variable in variables.values():
            if variable["type"] == "query":
                assert variable["datasource"] == {"type": "prometheus", "uid": "${datasource}"}

    def test_titles_descriptions_and_units(self, uid):
        for panel in leaf_panels(DASHBOARDS[uid]):
            assert panel["title"].strip()
            assert len(panel.get("description", "")) >= 20, panel["title"]
            assert panel["fieldConfig"]["defaults"].get("unit"), panel["title"]

    def test_every_rate_uses_rate_interval(self, uid):
        exprs = [t["expr"] for p in leaf_panels(DASHBOARDS[uid]) for t in p["targets"] if "expr" in t]
        exprs += [a["expr"] for a in DASHBOARDS[uid]["annotations"]["list"] if "expr" in a]
        assert exprs
        for expr in exprs:
            for found in rate_ranges(expr):
                assert found == "$__rate_interval", expr

    def test_links_keep_variables_and_time(self, uid):
        links = DASHBOARDS[uid]["links"]
        assert links
        for link in links:
            assert link["includeVars"] and link["keepTime"]
            assert link["tags"] == ["llmpulse"]

    def test_importable_and_provisionable(self, uid):
        data = DASHBOARDS[uid]
        assert [i["name"] for i in data["__inputs"]] == ["DS_PROMETHEUS"]
        ds_var = next(v for v in data["templating"]["list"] if v["name"] == "datasource")
        assert ds_var["type"] == "datasource" and ds_var["query"] == "prometheus"
        assert ds_var["current"]["value"] == "${DS_PROMETHEUS}"
        # Panels never reference the import-only input, so provisioning works without it.
        for panel in leaf_panels(data):
            assert "DS_PROMETHEUS" not in str(panel), panel["title"]


def test_variables_chain_from_datasource():
    variables = {v["name"]: v for v in DASHBOARDS["llmpulse-overview"]["templating"]["list"]}
    assert [v for v in variables][:7] == ["datasource", "tempo", "loki", "job", "service", "provider", "model"]
    assert variables["tempo"]["query"] == "tempo" and variables["loki"]["query"] == "loki"
    assert "gen_ai_client_operation_duration_seconds_count" in variables["job"]["query"]
    assert '$job' in variables["service"]["query"]
    assert '$service' in variables["provider"]["query"]
    assert '$provider' in variables["model"]["query"]
    for name in ("job", "service", "provider", "model"):
        assert variables[name]["multi"] and variables[name]["includeAll"]
        assert variables[name]["allValue"] == ".*"
    cost_vars = [v["name"] for v in DASHBOARDS["llmpulse-cost"]["templating"]["list"]]
    assert {"feature", "tenant"} <= set(cost_vars)


@pytest.mark.parametrize("uid", ["llmpulse-latency", "llmpulse-cost"])
def test_latency_and_cost_panels_show_exemplars(uid):
    exemplar_targets = [
        t for p in leaf_panels(DASHBOARDS[uid]) for t in p["targets"] if t.get("exemplar")
    ]
    assert len(exemplar_targets) >= 2
    for t in exemplar_targets:
        # Exemplars live on raw histogram buckets, never on recording-rule series.
        assert "_bucket{" in t["expr"], t["expr"]


def test_overview_has_alert_annotations_and_status_thresholds():
    data = DASHBOARDS["llmpulse-overview"]
    exprs = [a.get("expr", "") for a in data["annotations"]["list"]]
    assert any('ALERTS{alertstate="firing"' in e for e in exprs)
    stats = {p["title"]: p for p in leaf_panels(data) if p["type"] == "stat"}
    steps = stats["Error ratio"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in steps] == [None, 0.02, 0.05]
    assert "Firing LLM alerts" in stats


def test_recording_rules_used_where_they_exist():
    exprs = [t["expr"] for d in DASHBOARDS.values() for p in leaf_panels(d) for t in p["targets"] if "expr" in t]
    for rule in (
        "service_model:gen_ai_client_operations:rate5m",
        "service_model:gen_ai_client_operation_duration_seconds:p95_rate5m",
        "service_model:llm_cost_usd:rate5m",
        "service_model:llm_eval_score:avg_rate5m",
        "slo:sli_error:ratio_rate30d",
    ):
        assert any(rule in e for e in exprs), rule


def _exprs(uid: str) -> list[str]:
    return [t.get("expr", "") for p in leaf_panels(DASHBOARDS[uid]) for t in p.get("targets", [])]


def test_the_agents_dashboard_covers_every_aggregate_operation():
    from llmpulse.records import AGGREGATE_OPERATIONS
    exprs = " ".join(_exprs("llmpulse-agents"))
    for op in AGGREGATE_OPERATIONS:
        assert re.search(rf'gen_ai_operation_name=~"[^"]*\b{op}\b', exprs), op


@pytest.mark.parametrize("metric", ["llmpulse_aggregate_usage_total", "llm_raw_errors_total",
                                    "llmpulse_values_clamped_total"])
def test_the_exporter_dashboard_shows_the_fidelity_counters(metric):
    assert any(metric in e for e in _exprs("llmpulse-exporter")), metric
