"""Two Prometheus of an HA pair send every alert; Alertmanager must notify once.

Starts two real Prometheus (the pair is the subject of the test, so it cannot share the session's
one) with deploy/prometheus/prometheus-ha-pair.yml's external labels and alerting section, no
targets, and the generated alerts, of which Watchdog (`vector(1)`) fires at once. The alert reaches
Alertmanager from both without the replica label, so Alertmanager holds one alert and the webhook
receives it once. The control: the same pair without `alert_relabel_configs` leaves two alerts.
"""

from __future__ import annotations

import time

import pytest
import requests
import yaml

from alerts.conftest import start_alertmanager, start_sink, stop
from live import REPO, Proc, free_port, wait_until
from llmpulse import deploy

pytestmark = pytest.mark.live

HA = deploy.DEPLOY_DIR / "prometheus" / "prometheus-ha-pair.yml"


def start_pair(tmp, am_url: str, relabel: bool) -> list[Proc]:
    example = yaml.safe_load(HA.read_text())
    procs = []
    for replica in ("prometheus-a", "prometheus-b"):
        config = {
            "global": {"evaluation_interval": "1s", "external_labels": {
                **example["global"]["external_labels"], "replica": replica}},
            "rule_files": [str(REPO / "alerts" / "generated" / "llmpulse-alerts.yaml")],
            "alerting": {**example["alerting"],
                         "alertmanagers": [{"static_configs": [{"targets": [am_url.removeprefix("http://")]}]}]},
        }
        if not relabel:
            del config["alerting"]["alert_relabel_configs"]
        d = tmp / f"{replica}-{relabel}"
        d.mkdir()
        (d / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        proc = Proc(["prometheus", f"--config.file={d / 'prometheus.yml'}", f"--storage.tsdb.path={d / 'tsdb'}",
                     f"--web.listen-address=127.0.0.1:{port}", "--rules.alert.resend-delay=1s"], d / "prometheus.log")
        proc.url = f"http://127.0.0.1:{port}"
        procs.append(proc)
    return procs


def sent(proc: Proc) -> float:
    text = requests.get(proc.url + "/metrics", timeout=5).text
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.startswith("prometheus_notifications_sent_total"))


@pytest.mark.parametrize("relabel", [True, False], ids=["replica label dropped", "control: kept"])
def test_alertmanager_notifies_once_for_the_pair(tmp_path, relabel):
    server, sink = start_sink()
    am = start_alertmanager(tmp_path, sink)
    pair = []
    try:
        pair = start_pair(tmp_path, am.url, relabel)
        # both replicas have sent Watchdog several times (resent every second)
        wait_until(lambda: all(sent(p) >= 2 for p in pair), 30, "both Prometheus sending", interval=0.3)
        watchdogs = [a for a in requests.get(f"{am.url}/api/v2/alerts", timeout=5).json()
                     if a["labels"]["alertname"] == "Watchdog"]
        if relabel:
            assert len(watchdogs) == 1, watchdogs
            assert "replica" not in watchdogs[0]["labels"] and watchdogs[0]["labels"]["cluster"] == "prod"
            assert sink.wait_for(lambda r, a: a["labels"]["alertname"] == "Watchdog", timeout=20)
            time.sleep(2.5)  # group_interval 1s: a second copy would have been notified by now
            per_post = [sum(a["labels"]["alertname"] == "Watchdog" for a in p.get("alerts", [])) for _, p in sink.posts]
            assert max(per_post) == 1, per_post
            assert {a["labels"].get("replica") for _, a in sink.alerts()} == {None}
        else:
            assert sorted(a["labels"]["replica"] for a in watchdogs) == ["prometheus-a", "prometheus-b"]
            assert sink.wait_for(lambda r, a: a["labels"].get("replica") == "prometheus-b", timeout=20)
    finally:
        for p in pair:
            p.stop()
        stop(am.process)
        server.shutdown()
