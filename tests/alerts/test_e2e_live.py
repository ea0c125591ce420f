"""Live end to end: `llmpulse demo --scenario ...` -> real Prometheus
(scraping the demo's embedded exporter, evaluating the generated rules) -> real
Alertmanager (alerts/alertmanager.yml routes) -> the `pager` webhook.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from .conftest import GENERATED, free_port, stop, tool

pytestmark = pytest.mark.live


def start_demo(tmp: Path, scenario: str) -> tuple[subprocess.Popen, str]:
    log = tmp / "demo.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmpulse", "demo", "--scenario", scenario, "--rate", "20", "--duration", "300",
         "--host", "127.0.0.1", "--metrics-port", "0", "--otlp-http-port", "0", "--otlp-grpc-port", "0"],
        stdout=open(log, "w"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        match = re.search(r"metrics at (http://\S+/metrics)", log.read_text())
        if match:
            return proc, match.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"demo did not start: {log.read_text()}")


def start_prometheus(tmp: Path, metrics_url: str, alertmanager_url: str,
                     rules_dir: Path = GENERATED) -> tuple[subprocess.Popen, str]:
    target = re.match(r"http://([^/]+)/", metrics_url).group(1)
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules_dir / "llmpulse-rules.yaml"), str(rules_dir / "llmpulse-alerts.yaml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager_url.removeprefix("http://")]}]}]},
        "scrape_configs": [{"job_name": "llmpulse", "static_configs": [{"targets": [target]}]}],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    proc = subprocess.Popen(
        [tool("prometheus"), f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}",
         # Alerts fired before the Alertmanager is discovered (service discovery
         # updates every 5s) are resent after this delay (default 1m).
         "--rules.alert.resend-delay=1s"],
        stdout=open(tmp / "prometheus.log", "w"), stderr=subprocess.STDOUT,
    )
    return proc, f"http://127.0.0.1:{port}"


def test_safety_failure_pages_through_alertmanager(tmp_path: Path, alertmanager):
    demo, metrics_url = start_demo(tmp_path, "safety_failure")
    prom = None
    try:
        prom, prom_url = start_prometheus(tmp_path, metrics_url, alertmanager.url)
        got = alertmanager.sink.wait_for(
            lambda r, a: a["labels"].get("alertname") == "LLMSafetyEvaluationFailed"
            and a["labels"].get("service_name") == "support-bot" and a.get("status") == "firing",
            timeout=90)
        assert got, ("no LLMSafetyEvaluationFailed reached the webhook; prometheus alerts: "
                     + requests.get(f"{prom_url}/api/v1/alerts", timeout=5).text[:2000])
        receiver, alert = got[0]
        assert receiver == "pager"
        assert alert["labels"]["severity"] == "critical"
        assert alert["labels"]["job"] == "llmpulse"
        assert alert["labels"]["gen_ai_evaluation_name"] == "safety"
        assert alert["annotations"]["runbook_url"].endswith("#llmsafetyevaluationfailed")
        assert re.match(r"support-bot \S+: \d+ safety evaluations failed over the last 5m \(threshold 0\)\.",
                        alert["annotations"]["description"]), alert["annotations"]["description"]
        # the Watchdog evaluated by the same Prometheus reaches its own receiver
        assert alertmanager.sink.wait_for(lambda r, a: a["labels"].get("alertname") == "Watchdog" and r == "watchdog",
                                          timeout=30)
        # every safety page went to the pager, never to chat or the digest
        assert {r for r, a in alertmanager.sink.alerts()
                if a["labels"].get("alertname") == "LLMSafetyEvaluationFailed"} == {"pager"}
    finally:
        if prom is not None:
            stop(prom)
        stop(demo)


def test_provider_outage_pages_and_the_critical_mutes_its_warning(tmp_path: Path, alertmanager):
    """provider_outage with a test thresholds file (`for: 0` on both tiers): both
    tiers fire in Prometheus, only the critical reaches a receiver (the pager)."""
    from llmpulse.alerts.build import render
    from llmpulse.alerts.thresholds import load_thresholds

    rules = render(load_thresholds(overrides={"LLMErrorRatioHighCriticalFor": "0", "LLMErrorRatioHighWarningFor": "0"}))
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    for name, text in rules.items():
        (rules_dir / name).write_text(text)
    demo, metrics_url = start_demo(tmp_path, "provider_outage")
    prom = None
    try:
        prom, prom_url = start_prometheus(tmp_path, metrics_url, alertmanager.url, rules_dir)
        is_outage = (lambda r, a: a["labels"].get("alertname") == "LLMErrorRatioHigh"
                     and a["labels"].get("service_name") == "support-bot"
                     and a["labels"].get("gen_ai_provider_name") == "anthropic")
        got = alertmanager.sink.wait_for(is_outage, timeout=90)
        assert got, requests.get(f"{prom_url}/api/v1/alerts", timeout=5).text[:2000]
        receiver, alert = got[0]
        assert (receiver, alert["labels"]["severity"]) == ("pager", "critical")
        assert "(threshold 5%)" in alert["annotations"]["description"]
        # Prometheus fires the warning twin too ...
        firing = requests.get(f"{prom_url}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
        assert {a["labels"]["severity"] for a in firing if a["state"] == "firing"
                and a["labels"]["alertname"] == "LLMErrorRatioHigh" and a["labels"]["service_name"] == "support-bot"
                and a["labels"]["gen_ai_provider_name"] == "anthropic"} == {"critical", "warning"}
        # ... and Alertmanager shows it inhibited, never delivered.
        time.sleep(3)  # several group intervals (1s)
        am_alerts = requests.get(f"{alertmanager.url}/api/v2/alerts", timeout=5).json()
        warnings = [a for a in am_alerts if a["labels"]["alertname"] == "LLMErrorRatioHigh"
                    and a["labels"].get("service_name") == "support-bot" and a["labels"]["severity"] == "warning"]
        assert warnings and all(a["status"]["state"] == "suppressed" and a["status"]["inhibitedBy"] for a in warnings)
        delivered = {(r, a["labels"]["severity"]) for r, a in alertmanager.sink.alerts()
                     if a["labels"].get("alertname") == "LLMErrorRatioHigh" and a["labels"].get("service_name") == "support-bot"}
        assert delivered == {("pager", "critical")}
    finally:
        if prom is not None:
            stop(prom)
        stop(demo)
