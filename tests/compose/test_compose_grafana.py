"""Grafana provisioning files checked against the keys Grafana's documentation
defines (no Grafana server can run here), and the links between the data sources
checked against what llmpulse actually emits."""

from __future__ import annotations

import re

import pytest
import yaml

from llmpulse.call_log import DYNAMIC_LABELS, call_line, encode_line
from llmpulse.records import Call

# https://grafana.com/docs/grafana/latest/administration/provisioning/#data-sources
# (fields of the example data source config file)
DATASOURCE_FIELDS = {
    "name", "type", "access", "orgId", "uid", "url", "user", "database", "basicAuth",
    "basicAuthUser", "withCredentials", "isDefault", "jsonData", "secureJsonData", "version",
    "editable",
}
# https://grafana.com/docs/grafana/latest/datasources/prometheus/configure/
# ("Provision the Prometheus data source" example and the jsonData table of the provisioning page)
PROMETHEUS_JSONDATA = {
    "httpMethod": None, "manageAlerts": None, "allowAsRecordingRulesTarget": None,
    "prometheusType": None, "prometheusVersion": None, "cacheLevel": None,
    "disableRecordingRules": None, "timeInterval": None, "queryTimeout": None,
    "incrementalQuerying": None, "incrementalQueryOverlapWindow": None,
    "customQueryParameters": None,
    "exemplarTraceIdDestinations": [{"name": None, "datasourceUid": None, "url": None,
                                     "urlDisplayLabel": None}],
}
# https://grafana.com/docs/grafana/latest/datasources/tempo/configure-tempo-data-source/provision/
_TAGS = [{"key": None, "value": None}]
TEMPO_JSONDATA = {
    "tracesToLogsV2": {"datasourceUid": None, "spanStartTimeShift": None, "spanEndTimeShift": None,
                       "tags": _TAGS, "filterByTraceID": None, "filterBySpanID": None,
                       "customQuery": None, "query": None},
    "tracesToMetrics": {"datasourceUid": None, "spanStartTimeShift": None, "spanEndTimeShift": None,
                        "tags": _TAGS, "queries": [{"name": None, "query": None}]},
    "tracesToProfiles": {"datasourceUid": None, "tags": _TAGS, "profileTypeId": None,
                         "customQuery": None, "query": None},
    "serviceMap": {"datasourceUid": None},
    "nodeGraph": {"enabled": None},
    "search": {"hide": None},
    "traceQuery": {"timeShiftEnabled": None, "spanStartTimeShift": None, "spanEndTimeShift": None},
    "spanBar": {"type": None, "tag": None},
    "streamingEnabled": {"search": None, "metrics": None},
}
# https://grafana.com/docs/grafana/latest/datasources/loki/ ("Provision the data source")
LOKI_JSONDATA = {
    "timeout": None, "maxLines": None,
    "derivedFields": [{"name": None, "matcherRegex": None, "matcherType": None, "url": None,
                       "urlDisplayLabel": None, "datasourceUid": None}],
}
JSONDATA = {"prometheus": PROMETHEUS_JSONDATA, "tempo": TEMPO_JSONDATA, "loki": LOKI_JSONDATA}

# https://grafana.com/docs/grafana/latest/administration/provisioning/#dashboards
PROVIDER_FIELDS = {
    "name": None, "orgId": None, "folder": None, "folderUid": None, "type": None,
    "disableDeletion": None, "updateIntervalSeconds": None, "allowUiUpdates": None,
    "options": {"path": None, "foldersFromFilesStructure": None},
}


@pytest.fixture(scope="module")
def datasources(stack) -> dict:
    path = stack.compose_dir / "grafana" / "provisioning" / "datasources" / "datasources.yaml"
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def by_uid(datasources) -> dict:
    return {ds["uid"]: ds for ds in datasources["datasources"]}


@pytest.fixture(scope="module")
def providers(stack) -> dict:
    path = stack.compose_dir / "grafana" / "provisioning" / "dashboards" / "dashboards.yaml"
    return yaml.safe_load(path.read_text())


def test_datasource_keys_are_documented(datasources, check_keys) -> None:
    assert check_keys(datasources, {"apiVersion": None, "datasources": None,
                                    "deleteDatasources": None, "prune": None}) == []
    assert datasources["apiVersion"] == 1
    for ds in datasources["datasources"]:
        schema = {k: None for k in DATASOURCE_FIELDS}
        schema["jsonData"] = JSONDATA[ds["type"]]
        assert check_keys(ds, schema, ds["name"]) == []


def test_check_keys_would_catch_a_typo(datasources, check_keys) -> None:
    ds = yaml.safe_load(yaml.safe_dump(datasources["datasources"][1]))
    ds["jsonData"]["tracesToLogsV2"]["datasourceUID"] = "loki"
    schema = {k: None for k in DATASOURCE_FIELDS} | {"jsonData": TEMPO_JSONDATA}
    assert check_keys(ds, schema) == ["jsonData.tracesToLogsV2.datasourceUID"]


def test_fixed_uids_and_one_default(by_uid, datasources) -> None:
    assert set(by_uid) == {"prometheus", "tempo", "loki"}
    assert {by_uid[u]["type"] for u in by_uid} == {"prometheus", "tempo", "loki"}
    assert [ds["uid"] for ds in datasources["datasources"] if ds.get("isDefault")] == ["prometheus"]
    assert by_uid["prometheus"]["url"] == "http://prometheus:9090"
    assert by_uid["tempo"]["url"] == "http://tempo:3200"
    assert by_uid["loki"]["url"] == "http://loki:3100"


def test_exemplars_link_to_tempo(by_uid) -> None:
    dest = by_uid["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]
    # The exporter's exemplars carry trace_id (contract: "exemplars trace_id/span_id").
    assert [(d["name"], d["datasourceUid"]) for d in dest] == [("trace_id", "tempo")]


def test_tempo_links_to_logs_and_metrics(by_uid) -> None:
    jd = by_uid["tempo"]["jsonData"]
    logs = jd["tracesToLogsV2"]
    assert logs["datasourceUid"] == "loki"
    mapped = {t["value"] for t in logs["tags"]}
    assert mapped <= set(DYNAMIC_LABELS)  # only labels llmpulse puts on its Loki streams
    assert "$${__trace.traceId}" in logs["query"] and "trace_id=" in logs["query"]
    metrics = jd["tracesToMetrics"]
    assert metrics["datasourceUid"] == "prometheus"
    contract_metrics = {"gen_ai_client_operation_duration_seconds_bucket",
                        "gen_ai_client_operation_duration_seconds_count", "llm_cost_usd_total"}
    used = set()
    for q in metrics["queries"]:
        used |= set(re.findall(r"([a-z_:]+)\{", q["query"]))
    assert used <= contract_metrics and used
    assert jd["serviceMap"]["datasourceUid"] == "prometheus"


def test_loki_derived_field_matches_a_real_call_line(by_uid) -> None:
    (field,) = by_uid["loki"]["jsonData"]["derivedFields"]
    assert field["datasourceUid"] == "tempo"
    assert field["url"] == "$${__value.raw}"
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    line = encode_line(call_line(Call(trace_id=trace_id, span_id="b7ad6b7169203331"), None))
    m = re.search(field["matcherRegex"], line)
    assert m is not None and m.group(1) == trace_id


def test_grafana_macros_are_escaped(stack) -> None:
    # Grafana expands $VAR / ${VAR} from the environment in provisioning files;
    # its own macros must be written $${__...} / $$__tags.
    text = (stack.compose_dir / "grafana" / "provisioning" / "datasources" / "datasources.yaml").read_text()
    unescaped = re.findall(r"(?<!\$)\$\{?__", text)
    assert unescaped == []


def test_dashboard_provider(providers, check_keys, resolved_compose, stack) -> None:
    assert check_keys(providers, {"apiVersion": None, "providers": [PROVIDER_FIELDS]}) == []
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    path = provider["options"]["path"]
    volumes = resolved_compose["services"]["grafana"]["volumes"]
    assert f"{stack.repo / 'dashboards'}:{path}:ro" in volumes


def test_repository_dashboards_are_loadable_json(stack) -> None:
    import json
    files = sorted((stack.repo / "dashboards").glob("*.json"))
    if not files:
        pytest.skip("dashboards/*.json not in this branch yet (dashboards area)")
    for f in files:
        dash = json.loads(f.read_text())
        assert dash.get("uid") and dash.get("title"), f.name


def test_provisioning_is_mounted_read_only(resolved_compose, stack) -> None:
    volumes = resolved_compose["services"]["grafana"]["volumes"]
    assert f"{stack.compose_dir / 'grafana' / 'provisioning'}:/etc/grafana/provisioning:ro" in volumes
