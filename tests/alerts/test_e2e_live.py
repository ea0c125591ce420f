"""Live end to end: `llmpulse demo --scenario ...` (every scenario) -> real Prometheus
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

# about 120 s on a loaded 2-core machine: more than the suite-wide timeout allows
pytestmark = [pytest.mark.live, pytest.mark.slow, pytest.mark.timeout(900)]


def start_demo(tmp: Path, scenario: str, extra: list[str] = (), rate: float = 10) -> tuple[subprocess.Popen, str]:
    """`llmpulse demo` with its embedded exporter on free ports; returns (process, metrics URL).
    10 LLM calls/s each keeps eight of them at once light enough for a 2-core runner."""
    log = tmp / "demo.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmpulse", "demo", "--scenario", scenario, "--rate", str(rate), "--duration", "400",
         "--host", "127.0.0.1", "--metrics-port", "0", "--otlp-http-port", "0", "--otlp-grpc-port", "0", *extra],
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


def start_prometheus(tmp: Path, metrics_urls: str | dict[str, str], alertmanager_url: str,
                     rules_dir: Path = GENERATED) -> tuple[subprocess.Popen, str]:
    """Prometheus scraping each URL every second (job `llmpulse`, or one job per dict key)."""
    if isinstance(metrics_urls, str):
        metrics_urls = {"llmpulse": metrics_urls}
    jobs = [{"job_name": job, "static_configs": [{"targets": [re.match(r"http://([^/]+)/", url).group(1)]}]}
            for job, url in metrics_urls.items()]
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules_dir / "llmpulse-rules.yaml"), str(rules_dir / "llmpulse-alerts.yaml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager_url.removeprefix("http://")]}]}]},
        "scrape_configs": jobs,
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
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if requests.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return proc, url
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"prometheus not ready: {(tmp / 'prometheus.log').read_text()[-2000:]}")


# Thresholds that let each scenario's alert fire within seconds of a fresh
# start: no `for:`, a 1m history guard and 30s current windows for the
# baseline comparisons (their scenarios start after some normal traffic).
FAST = {
    "LLMErrorRatioHighCriticalFor": "0", "LLMErrorRatioHighWarningFor": "0",
    "LLMTimeToFirstTokenHighCriticalFor": "0", "LLMTimeToFirstTokenHighWarningFor": "0",
    "LLMRunawayAgentFor": "0", "LLMTruncationHighFor": "0", "LLMUnpricedModelFor": "0",
    "LLMCostPerRequestHighFor": "0", "LLMCostPerRequestHighWindow": "30s", "LLMCostPerRequestHighMinHistory": "1m",
    "LLMQualityDropCriticalFor": "0", "LLMQualityDropWarningFor": "0", "LLMQualityDropWindow": "30s",
    "LLMQualityDropMinHistory": "1m",
    # a 30s mean over a handful of scores is noise: ask for 10 scores and a 20 % drop
    # (the scenario drops scores by about 40 %)
    "LLMQualityDropMinScores": 10, "LLMQualityDropWarningThreshold": 0.2,
    "LLMQualityDropCriticalWindow": "30s", "LLMQualityDropCriticalMinScores": 10,
}
# Seconds of normal traffic before the baseline scenarios, so their baselines
# (and the 1m history guard) hold enough calls not to fire on sampling noise.
ONSET = {"cost_spike": 100, "quality_drop": 100}
RECEIVER = {"critical": "pager", "warning": "chat", "info": "digest"}


def test_every_demo_scenario_fires_its_alert_through_the_right_receiver(tmp_path: Path, alertmanager):
    """All demo scenarios at once (one demo process each, one Prometheus job
    each): the contract alert of every scenario fires on the real exporter's
    metrics and reaches the receiver of its severity."""
    from llmpulse.alerts.build import render
    from llmpulse.alerts.thresholds import load_thresholds
    from llmpulse.demo.scenarios import SCENARIOS

    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    for name, text in render(load_thresholds(overrides=FAST)).items():
        (rules_dir / name).write_text(text)
    config = tmp_path / "llmpulse.yaml"
    config.write_text("tracking: {trace_idle_seconds: 1, conversation_idle_seconds: 2}\n")
    demos: dict[str, tuple[subprocess.Popen, str]] = {}
    prom = None
    try:
        for name in SCENARIOS:
            (tmp_path / name).mkdir()
            demos[name] = start_demo(tmp_path / name, name, ["--config", str(config),
                                                              "--scenario-after", str(ONSET.get(name, 0))])
        prom, prom_url = start_prometheus(tmp_path, {n: url for n, (_, url) in demos.items()}, alertmanager.url, rules_dir)
        pending = dict(SCENARIOS)
        started = time.monotonic()
        deadline = started + 240
        fired: dict[str, set[str]] = {}
        while pending and time.monotonic() < deadline:
            alerts = requests.get(f"{prom_url}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
            for name, sc in list(pending.items()):
                sev = {a["labels"]["severity"] for a in alerts if a["state"] == "firing" and a["labels"].get("job") == name
                       and a["labels"]["alertname"] == sc.alert and a["labels"].get("service_name") == sc.service}
                if sev:
                    fired[name] = sev
                    del pending[name]
                    after = time.monotonic() - started
                    print(f"{name}: {sc.alert} {sorted(sev)} firing after {after:.0f}s")
                    # baseline alerts must not fire on the normal traffic before the onset
                    # (the demos started before Prometheus, hence the 5s slack)
                    assert after >= ONSET.get(name, 0) - 5, f"{name}: {sc.alert} fired {after:.0f}s in, before its onset"
            time.sleep(1)
        assert not pending, f"scenarios whose alert never fired: {sorted(pending)}; fired: {fired}"
        # Each scenario's alert reaches the receiver of the severity it was delivered at.
        # Not "the top severity seen when it first fired": provider_outage's warning fires a
        # second or two before its critical, and Alertmanager then inhibits the warning
        # during its 10s group_wait, so only the critical is ever delivered (checked below).
        for name, sc in SCENARIOS.items():
            got = alertmanager.sink.wait_for(lambda r, a, name=name, alert=sc.alert:
                                             a["labels"].get("job") == name
                                             and a["labels"].get("alertname") == alert, timeout=30)
            assert got, f"{name}: {sc.alert} ({sorted(fired[name])}) never reached a receiver"
            for receiver, alert in got:
                assert receiver == RECEIVER[alert["labels"]["severity"]], (name, got)
        check_safety_page(alertmanager)
        check_outage_warning_inhibited(alertmanager)
    finally:
        if prom is not None:
            stop(prom)
        for proc, _ in demos.values():
            stop(proc)


def check_safety_page(alertmanager) -> None:
    """The safety page as delivered: labels, templated description, links."""
    got = alertmanager.sink.wait_for(lambda r, a: a["labels"].get("job") == "safety_failure"
                                     and a["labels"].get("alertname") == "LLMSafetyEvaluationFailed")
    receiver, alert = got[0]
    assert receiver == "pager"
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["service_name"] == "support-bot"
    assert alert["labels"]["gen_ai_evaluation_name"] == "safety"
    assert alert["annotations"]["runbook_url"].endswith("#llmsafetyevaluationfailed")
    assert alert["annotations"]["dashboard_url"].startswith("http://localhost:3000/d/llmpulse-quality?var-service=support-bot&var-model=")
    assert re.match(r"support-bot \S+: \d+ safety evaluations failed over the last 5m \(threshold 0\)\.",
                    alert["annotations"]["description"]), alert["annotations"]["description"]


def check_outage_warning_inhibited(alertmanager) -> None:
    """provider_outage fires LLMErrorRatioHigh at both severities (`for: 0`):
    Alertmanager holds the warning as inhibited and only the critical is delivered."""
    am_alerts = requests.get(f"{alertmanager.url}/api/v2/alerts", timeout=5).json()
    outage = [a for a in am_alerts if a["labels"].get("job") == "provider_outage"
              and a["labels"]["alertname"] == "LLMErrorRatioHigh" and a["labels"].get("service_name") == "support-bot"]
    assert {a["labels"]["severity"] for a in outage} == {"critical", "warning"}
    for a in outage:
        if a["labels"]["severity"] == "warning":
            assert a["status"]["state"] == "suppressed" and a["status"]["inhibitedBy"], a
    delivered = {(r, a["labels"]["severity"]) for r, a in alertmanager.sink.alerts()
                 if a["labels"].get("job") == "provider_outage" and a["labels"].get("alertname") == "LLMErrorRatioHigh"
                 and a["labels"].get("service_name") == "support-bot"}
    assert delivered == {("pager", "critical")}
