"""Every alert and recording rule is covered by a promtool case, and every
alert carries the annotations and labels the routing and the docs rely on."""

from __future__ import annotations

import json
import re

import yaml

from .conftest import GENERATED, REPO
from .rule_cases import CASES

ALERTS = [r for g in yaml.safe_load((GENERATED / "llmpulse-alerts.yaml").read_text())["groups"] for r in g["rules"]]
RECORDS = {r["record"] for g in yaml.safe_load((GENERATED / "llmpulse-rules.yaml").read_text())["groups"] for r in g["rules"]}
CONTRACT_ALERTS = {
    "critical": ["LLMErrorRatioHigh", "LLMTimeToFirstTokenHigh", "LLMSafetyEvaluationFailed", "LLMQualityDrop",
                 "LLMAvailabilitySLOBurn", "LLMLatencySLOBurn", "LLMTelemetryAbsent", "LLMEngineTimeToFirstTokenBurn"],
    "warning": ["LLMErrorRatioHigh", "LLMQualityDrop", "LLMAvailabilitySLOBurn", "LLMLatencySLOBurn",
                "LLMCostPerRequestHigh", "LLMSpendSpike", "LLMDailyBudgetExceeded", "LLMNegativeFeedbackHigh",
                "LLMTruncationHigh", "LLMLatencyRegression", "LLMTokenQuotaNearlyExhausted", "LLMUnpricedModel",
                "LLMRunawayAgent", "LLMConversationCostOutlier", "LLMEngineKVCacheNearlyFull",
                "LLMEngineQueueGrowing", "LLMEngineTimeToFirstTokenBurn"],
    "info": ["LLMRetrievalLatencyTrendingUp", "LLMToolLatencyTrendingUp", "LLMConversationCostTrendingUp",
             "LLMExporterLabelOverflow", "LLMExporterRejectingSpans", "LLMPriceTableStale", "Watchdog"],
}
CONTRACT_RECORDS = [
    "service_model:gen_ai_client_calls:rate5m", "service_model:gen_ai_client_call_errors:rate5m",
    "service_model:gen_ai_client_call_errors_per_calls:ratio_rate5m",
    "service:gen_ai_client_calls:rate5m", "service:gen_ai_client_call_errors_per_calls:ratio_rate5m",
    "service_model:gen_ai_client_operations:rate5m",
    *[f"service_model:gen_ai_client_operation_duration_seconds:{q}_rate5m" for q in ("p50", "p95", "p99")],
    *[f"service_model:gen_ai_client_operation_time_to_first_chunk_seconds:{q}_rate5m" for q in ("p95", "p99")],
    "service_model:llm_cost_usd:rate5m", "service:llm_cost_usd:rate5m", "service_model:llm_tokens:rate5m",
    "service_model:llm_eval_score:avg_rate5m",
    *[f"slo:sli_error:ratio_rate{w}" for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")],
]
DASHBOARD_UIDS = {"llmpulse-overview", "llmpulse-latency", "llmpulse-cost", "llmpulse-quality", "llmpulse-agents",
                  "llmpulse-slo", "llmpulse-exporter", "llmpulse-engines"}
DASHBOARD_VARIABLES = {d["uid"]: {v["name"] for v in d["templating"]["list"]}
                       for d in (json.loads(p.read_text()) for p in (REPO / "dashboards").glob("*.json"))}


def _tested_alerts() -> tuple[set[tuple[str, str]], set[str]]:
    fired, quiet = set(), set()
    for case in CASES:
        for test in case.alerts:
            if test["exp_alerts"]:
                fired |= {(test["alertname"], a["exp_labels"]["severity"]) for a in test["exp_alerts"]}
            else:
                quiet.add(test["alertname"])
    return fired, quiet


def test_contract_alerts_exist_at_their_severities():
    present = {(a["alert"], a["labels"]["severity"]) for a in ALERTS}
    for severity, names in CONTRACT_ALERTS.items():
        for name in names:
            assert (name, severity) in present, f"{name} has no {severity} rule"


def test_contract_records_exist():
    assert set(CONTRACT_RECORDS) <= RECORDS, set(CONTRACT_RECORDS) - RECORDS


def test_every_alert_severity_fires_in_a_case_and_stays_quiet_before():
    fired, quiet = _tested_alerts()
    present = {(a["alert"], a["labels"]["severity"]) for a in ALERTS}
    assert present <= fired, f"never seen firing: {sorted(present - fired)}"
    names = {a["alert"] for a in ALERTS} - {"Watchdog"}
    assert names <= quiet, f"never checked quiet before its for: {sorted(names - quiet)}"


def test_every_recording_rule_has_an_expression_test():
    queried = " ".join(e["expr"] for case in CASES for e in case.exprs)
    missing = [r for r in sorted(RECORDS) if not re.search(re.escape(r) + r"(?![\w:])", queried)]
    assert not missing, f"recording rules without a promql_expr_test: {missing}"


def test_annotations_and_labels():
    runbooks = (REPO / "docs" / "runbooks.md").read_text()
    anchors = set(re.findall(r'<a id="([a-z0-9-]+)"></a>', runbooks)) | {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in re.findall(r"^#+ (.+)$", runbooks, re.M)}
    for a in ALERTS:
        ann, labels = a["annotations"], a["labels"]
        assert labels["severity"] in ("critical", "warning", "info"), a["alert"]
        assert ann["summary"].endswith(".") and "{{" not in ann["summary"], a["alert"]
        assert ann["summary"].count(". ") == 0, f"{a['alert']}: summary must be one sentence"
        assert "{{ $value" in ann["description"] or a["alert"] == "Watchdog", f"{a['alert']}: description lacks the value"
        assert ann["runbook_url"].endswith("#" + a["alert"].lower()), a["alert"]
        assert a["alert"].lower() in anchors, f"docs/runbooks.md has no section for {a['alert']}"
        uid = re.search(r"/d/([a-z-]+)", ann["dashboard_url"]).group(1)
        assert uid in DASHBOARD_UIDS, a["alert"]
        if "service_name" in a["expr"] or "service:" in a["expr"] or "service_model:" in a["expr"]:
            assert "var-service={{ $labels.service_name }}" in ann["dashboard_url"], a["alert"]
        # and every variable the link sets is one the dashboard has (LLMTelemetryAbsent once set
        # var-service on the exporter dashboard, which has no such variable)
        variables = DASHBOARD_VARIABLES[uid]
        for var in re.findall(r"var-([a-z_]+)=", ann["dashboard_url"]):
            assert var in variables, f"{a['alert']}: {uid} has no variable {var!r}"


def test_every_demo_scenario_targets_an_existing_alert():
    from llmpulse.demo.scenarios import SCENARIOS

    names = {a["alert"] for a in ALERTS}
    assert {sc.alert for sc in SCENARIOS.values()} <= names
