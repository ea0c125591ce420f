"""deploy/prometheus: every configuration passes `promtool check config` (rule files included), and
each says what an HA pair and its long-term store need."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from llmpulse import deploy

PROMETHEUS_DIR = deploy.DEPLOY_DIR / "prometheus"
FILES = sorted(p.name for p in PROMETHEUS_DIR.glob("*.yml"))
REPO = deploy.DEPLOY_DIR.parent

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian prometheus) not installed")


def load(name: str) -> dict:
    return yaml.safe_load((PROMETHEUS_DIR / name).read_text())


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", "check", "config", *args], capture_output=True, text=True, timeout=60)


def test_four_configurations():
    assert FILES == ["prometheus-ha-pair.yml", "remote-write-mimir.yml", "remote-write-thanos-receive.yml",
                     "remote-write-victoriametrics.yml"]


@pytest.mark.parametrize("name", FILES)
def test_promtool_accepts_the_file_and_its_rules(name, tmp_path):
    assert promtool("--syntax-only", str(PROMETHEUS_DIR / name)).returncode == 0
    # the full check also opens the credentials file and every rule file: give it a token file
    config = load(name)
    token = tmp_path / "token"
    token.write_text("secret\n")
    config["scrape_configs"][0]["authorization"]["credentials_file"] = str(token)
    config["rule_files"] = [str((PROMETHEUS_DIR / f).resolve()) for f in config["rule_files"]]
    (tmp_path / name).write_text(yaml.safe_dump(config))
    out = promtool(str(tmp_path / name))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 2 rule files found" in out.stdout + out.stderr


def test_promtool_check_can_fail(tmp_path):
    config = load(FILES[1])
    config["remote_write"][0]["queue_config"]["max_shardz"] = 3
    (tmp_path / "bad.yml").write_text(yaml.safe_dump(config))
    assert promtool("--syntax-only", str(tmp_path / "bad.yml")).returncode != 0


@pytest.mark.parametrize("name", FILES)
def test_ha_pair_labels_and_alert_dedupe(name):
    config = load(name)
    labels = config["global"]["external_labels"]
    replica = next(k for k in labels if k != "cluster")
    assert "cluster" in labels and replica in ("replica", "__replica__")
    drops = config["alerting"]["alert_relabel_configs"]
    assert {"action": "labeldrop", "regex": replica} in drops
    assert len(config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]) >= 2


def test_each_store_gets_its_push_path_and_dedupe():
    mimir = load("remote-write-mimir.yml")
    assert mimir["remote_write"][0]["url"].endswith("/api/v1/push")
    assert "__replica__" in mimir["global"]["external_labels"]  # Mimir's HA tracker label
    assert "X-Scope-OrgID" in mimir["remote_write"][0]["headers"]
    assert load("remote-write-thanos-receive.yml")["remote_write"][0]["url"].endswith("/api/v1/receive")
    victoria = load("remote-write-victoriametrics.yml")["remote_write"][0]
    assert victoria["url"].endswith("/api/v1/write")
    assert {"action": "labeldrop", "regex": "replica"} in victoria["write_relabel_configs"]
