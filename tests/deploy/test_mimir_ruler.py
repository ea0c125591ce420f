"""The generated rules and alerts run unchanged in Grafana Mimir's ruler (and Thanos Ruler, and
VictoriaMetrics' vmalert): only the rule-group fields those accept, no PromQL feature that needs
a flag there, and nothing that depends on which Prometheus or replica wrote a series.

What the mixin avoids, checked here: the `@` modifier and negative offsets (feature flags in
Prometheus 2.x), experimental PromQL functions (`-querier.promql-experimental-functions-enabled`
in Mimir), functions of native histograms (llmpulse exposes classic ones), and the labels an HA
pair or several clusters add (`replica`, `__replica__`, `prometheus`, `prometheus_replica`,
`cluster`): every rule aggregates `by (job, ...)` and keeps only the labels it names, so series
that Mimir deduplicated or that several Prometheus wrote to one tenant give the same answers.
"""

from __future__ import annotations

import re

import pytest
import yaml

from llmpulse.alerts.build import ALERTS_FILE, GENERATED_DIR, RULES_FILE

GROUP_KEYS = {"name", "interval", "rules", "limit"}
RULE_KEYS = {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
EXPERIMENTAL = {"sort_by_label", "sort_by_label_desc", "limitk", "limit_ratio", "info", "mad_over_time",
                "double_exponential_smoothing", "holt_winters", "ts_of_max_over_time", "ts_of_min_over_time",
                "ts_of_last_over_time", "first_over_time"}
NATIVE = {"histogram_count", "histogram_sum", "histogram_avg", "histogram_fraction", "histogram_stddev",
          "histogram_stdvar"}
REPLICA_LABELS = {"replica", "__replica__", "prometheus", "prometheus_replica", "cluster"}


def groups() -> list[dict]:
    return [g for f in (RULES_FILE, ALERTS_FILE) for g in yaml.safe_load((GENERATED_DIR / f).read_text())["groups"]]


RULES = [(g["name"], r) for g in groups() for r in g["rules"]]


def ids(item):
    return item[1].get("record") or item[1].get("alert")


def test_only_fields_every_ruler_accepts():
    for g in groups():
        assert set(g) <= GROUP_KEYS, g["name"]
        for r in g["rules"]:
            assert set(r) <= RULE_KEYS and ("record" in r) != ("alert" in r), r


def test_recording_rule_names_are_level_metric_operations():
    for _, r in RULES:
        if "record" in r:
            assert re.fullmatch(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", r["record"]), r["record"]


def functions(expr: str) -> set[str]:
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    return set(re.findall(r"\b([a-z_]+)\s*\(", text)) - {"by", "without", "on", "ignoring", "group_left", "group_right"}


@pytest.mark.parametrize("item", RULES, ids=ids)
def test_no_flagged_promql_and_no_replica_labels(item):
    expr = item[1]["expr"]
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    assert "@" not in text, "the @ modifier"
    assert not re.search(r"offset\s+-", text), "a negative offset"
    assert not functions(expr) & (EXPERIMENTAL | NATIVE)
    for clause in re.findall(r"\b(?:by|on|without|ignoring)\s*\(([^)]*)\)", text):
        assert not {label.strip() for label in clause.split(",")} & REPLICA_LABELS, clause


def test_the_checks_can_fail():
    assert functions('sort_by_label(sum by (job) (rate(x[5m])), "job")') & EXPERIMENTAL
    assert "replica" in {label.strip() for label in "job, replica".split(",")}
