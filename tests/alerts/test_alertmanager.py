"""alerts/alertmanager.yml: valid, each tier reaches its receiver, inhibitions hold.

Routing is checked offline with `amtool config routes test`; inhibition, which
amtool cannot evaluate offline, against a real Alertmanager (session fixture)
that delivers to a local webhook.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml

from llmpulse.alerts.alertmanager import ALERTMANAGER_PATH, RECEIVERS, load
from llmpulse.cli import main

from .conftest import REPO, tool

EXAMPLES = sorted((REPO / "alerts" / "examples").glob("*.yml"))


def amtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([tool("amtool"), *args], capture_output=True, text=True)


@pytest.mark.parametrize("path", [ALERTMANAGER_PATH, *EXAMPLES], ids=lambda p: p.name)
def test_check_config(path: Path):
    out = amtool("check-config", str(path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_webhook_variant_is_valid(tmp_path: Path):
    f = tmp_path / "am.yml"
    assert main(["alerts", "alertmanager", "--webhook-url", "http://sink:9095", "--out", str(f)]) == 0
    out = amtool("check-config", str(f))
    assert out.returncode == 0, out.stdout + out.stderr
    variant, shipped = yaml.safe_load(f.read_text()), load()
    assert variant["route"] == shipped["route"]
    assert variant["inhibit_rules"] == shipped["inhibit_rules"]
    assert [r["webhook_configs"][0]["url"] for r in variant["receivers"]] == [f"http://sink:9095/{n}" for n in RECEIVERS]


@pytest.mark.parametrize(("labels", "receiver"), [
    (["severity=critical", "alertname=LLMErrorRatioHigh", "service_name=a"], "pager"),
    (["severity=warning", "alertname=LLMErrorRatioHigh", "service_name=a"], "chat"),
    (["severity=info", "alertname=LLMPriceTableStale"], "digest"),
    (["severity=info", "alertname=Watchdog"], "watchdog"),
    (["alertname=SomethingWithoutSeverity"], "chat"),
])
def test_routes(labels: list[str], receiver: str):
    out = amtool("config", "routes", "test", f"--config.file={ALERTMANAGER_PATH}", f"--verify.receivers={receiver}", *labels)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == receiver


def test_route_test_detects_a_wrong_receiver():
    out = amtool("config", "routes", "test", f"--config.file={ALERTMANAGER_PATH}", "--verify.receivers=digest",
                 "severity=critical", "alertname=X")
    assert out.returncode != 0


def test_grouping_and_digest_timing():
    route = load()["route"]
    assert route["group_by"] == ["alertname", "service_name", "gen_ai_request_model", "model_name", "instance"]
    digest = next(r for r in route["routes"] if r["receiver"] == "digest")
    assert digest["group_interval"] == "24h" and digest["repeat_interval"] == "24h"
    assert route["routes"][0]["matchers"] == ['alertname="Watchdog"']


def test_no_secret_inline():
    text = ALERTMANAGER_PATH.read_text()
    for key in ("routing_key:", "service_key:", "api_url:", "auth_password:", "credentials:"):
        assert key not in text, key
    for key in ("routing_key_file", "api_url_file", "auth_password_file", "credentials_file"):
        assert key in text, key


def _alert(name: str, severity: str, service: str, run: str) -> dict:
    return {"labels": {"alertname": name, "severity": severity, "service_name": service, "test_run": run},
            "annotations": {"summary": f"{name} {severity}."}}


@pytest.mark.live            # a real Alertmanager (session fixture)
def test_critical_inhibits_its_warning_and_info_twins(alertmanager):
    run = uuid.uuid4().hex
    sink = alertmanager.sink
    alertmanager.post([_alert("LLMErrorRatioHigh", "critical", "svc-a", run)])
    got = sink.wait_for(lambda r, a: a["labels"].get("test_run") == run)
    assert [(r, a["labels"]["severity"]) for r, a in got] == [("pager", "critical")]
    # the warning and info twins for the same alertname and service arrive while the critical fires
    alertmanager.post([_alert("LLMErrorRatioHigh", "critical", "svc-a", run),
                       _alert("LLMErrorRatioHigh", "warning", "svc-a", run),
                       _alert("LLMErrorRatioHigh", "info", "svc-a", run),
                       # a control: the same warning for another service is not muted
                       _alert("LLMErrorRatioHigh", "warning", "svc-b", run)])
    control = sink.wait_for(lambda r, a: a["labels"].get("test_run") == run and a["labels"]["service_name"] == "svc-b")
    assert [(r, a["labels"]["severity"]) for r, a in control] == [("chat", "warning")]
    time.sleep(2.5)  # two more group intervals (1s) for a muted alert to show up if inhibition failed
    muted = [(r, a["labels"]) for r, a in sink.alerts() if a["labels"].get("test_run") == run
             and a["labels"]["service_name"] == "svc-a" and a["labels"]["severity"] != "critical"]
    assert muted == []


@pytest.mark.live            # a real Alertmanager (session fixture)
def test_each_tier_reaches_its_receiver_live(alertmanager):
    run = uuid.uuid4().hex
    alertmanager.post([_alert("LLMTruncationHigh", "warning", "svc-c", run),
                       _alert("LLMPriceTableStale", "info", "svc-c", run),
                       {"labels": {"alertname": "Watchdog", "severity": "info", "test_run": run}}])
    got = alertmanager.sink.wait_for(lambda r, a: a["labels"].get("test_run") == run and r == "watchdog")
    assert got
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        seen = {(a["labels"]["alertname"], r) for r, a in alertmanager.sink.alerts() if a["labels"].get("test_run") == run}
        if {("LLMTruncationHigh", "chat"), ("LLMPriceTableStale", "digest")} <= seen:
            break
        time.sleep(0.1)
    assert seen == {("LLMTruncationHigh", "chat"), ("LLMPriceTableStale", "digest"), ("Watchdog", "watchdog")}


@pytest.mark.live            # a real Alertmanager (session fixture)
def test_engine_critical_inhibits_only_its_own_engine(alertmanager):
    run = uuid.uuid4().hex

    def engine(severity, instance):
        return {"labels": {"alertname": "LLMEngineTimeToFirstTokenBurn", "severity": severity, "test_run": run,
                           "model_name": "llama", "instance": instance, "serving_engine": "vllm"},
                "annotations": {"summary": "x."}}

    alertmanager.post([engine("critical", "gpu-1:8000")])
    assert alertmanager.sink.wait_for(lambda r, a: a["labels"].get("test_run") == run)
    alertmanager.post([engine("critical", "gpu-1:8000"), engine("warning", "gpu-1:8000"), engine("warning", "gpu-2:8000")])
    other = alertmanager.sink.wait_for(lambda r, a: a["labels"].get("test_run") == run and a["labels"]["instance"] == "gpu-2:8000")
    assert [(r, a["labels"]["severity"]) for r, a in other] == [("chat", "warning")]
    time.sleep(2.5)
    muted = [a["labels"] for r, a in alertmanager.sink.alerts() if a["labels"].get("test_run") == run
             and a["labels"]["instance"] == "gpu-1:8000" and a["labels"]["severity"] == "warning"]
    assert muted == []


def test_the_tier_table_in_the_docs_routes_as_documented():
    """Each row of docs/alerts.md's tier table (severity, receiver) is routed there by amtool, and Watchdog's
    row names the severity the generated rule gives it (the table said `Watchdog` where a severity goes)."""
    import re

    doc = (REPO / "docs" / "alerts.md").read_text()
    rows = re.findall(r"^\| (?:\d|-) \| `(\w+)`(?:, `alertname=\"(\w+)\"`)? \| `(\w+)` \|", doc, flags=re.M)
    assert len(rows) == 4, rows
    rules = yaml.safe_load((REPO / "alerts" / "generated" / "llmpulse-alerts.yaml").read_text())
    watchdog = [r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "Watchdog"]
    for severity, alertname, receiver in rows:
        labels = [f"severity={severity}"] + ([f"alertname={alertname}"] if alertname else [])
        out = amtool("config", "routes", "test", f"--config.file={ALERTMANAGER_PATH}", *labels)
        assert out.stdout.strip() == receiver, (labels, out.stdout)
        if alertname == "Watchdog":
            assert watchdog and watchdog[0]["labels"]["severity"] == severity
