"""compose/prometheus/prometheus.yml checked by promtool (and loaded by a real
Prometheus from Debian), the Alertmanager config it points at by amtool."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

RULES_MOUNT = "/etc/prometheus/rules"


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        pytest.skip(f"{name} is not installed (Debian packages prometheus / prometheus-alertmanager)")
    return exe


@pytest.fixture(scope="module")
def prom_config(stack) -> dict:
    return yaml.safe_load((stack.compose_dir / "prometheus" / "prometheus.yml").read_text())


def _copy_with_rules(prom_config: dict, tmp_path: Path, rule_files: list[str]) -> Path:
    """The config as the container sees it: compose secrets (/run/secrets/NAME) are
    the files docker-compose.yml mounts there; rule files as given."""
    cfg = json.loads(json.dumps(prom_config))
    cfg["rule_files"] = rule_files
    compose_dir = Path(__file__).resolve().parents[2] / "compose"
    secrets = yaml.safe_load((compose_dir / "docker-compose.yml").read_text())["secrets"]
    for job in cfg["scrape_configs"]:
        auth = job.get("authorization", {})
        if auth.get("credentials_file", "").startswith("/run/secrets/"):
            name = auth["credentials_file"].rsplit("/", 1)[1]
            default = secrets[name]["file"].split(":-", 1)[1].rstrip("}")
            auth["credentials_file"] = str((compose_dir / default).resolve())
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_promtool_check_config_without_rules(prom_config, tmp_path) -> None:
    path = _copy_with_rules(prom_config, tmp_path, [])
    proc = subprocess.run([_tool("promtool"), "check", "config", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_promtool_check_config_with_generated_rules(prom_config, stack, tmp_path) -> None:
    rules_dir = stack.repo / "alerts" / "generated"
    rules = sorted(rules_dir.glob("*.yaml")) if rules_dir.is_dir() else []
    if not rules:
        pytest.skip("alerts/generated/*.yaml not in this branch yet (alerts area); "
                    "the lead unskips after merging")
    path = _copy_with_rules(prom_config, tmp_path, [str(rules_dir / "*.yaml")])
    proc = subprocess.run([_tool("promtool"), "check", "config", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for rule in rules:
        assert rule.name in proc.stdout  # promtool checked each rule file


def test_rule_files_match_the_compose_mount(prom_config, resolved_compose, stack) -> None:
    assert prom_config["rule_files"] == [f"{RULES_MOUNT}/*.yaml"]
    volumes = resolved_compose["services"]["prometheus"]["volumes"]
    assert f"{stack.repo / 'alerts' / 'generated'}:{RULES_MOUNT}:ro" in volumes


def test_scrapes_llmpulse_and_alerts_to_alertmanager(prom_config) -> None:
    jobs = {j["job_name"]: j for j in prom_config["scrape_configs"]}
    assert jobs["llmpulse"]["static_configs"][0]["targets"] == ["llmpulse:9464"]
    am = prom_config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert am == ["alertmanager:9093"]
    assert prom_config["storage"]["exemplars"]["max_exemplars"] > 0


def test_amtool_check_config(stack) -> None:
    path = stack.repo / "alerts" / "alertmanager.yml"
    if not path.exists():
        pytest.skip("alerts/alertmanager.yml not in this branch yet (alerts area)")
    proc = subprocess.run([_tool("amtool"), "check-config", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _prometheus(config: Path, tmp_path: Path, flags: list[str]):
    """Debian's Prometheus with `config` and `flags` on a free port; yields its URL once ready."""
    port = _free_port()
    proc = subprocess.Popen(
        [_tool("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}", *flags],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "Prometheus never became ready"
            time.sleep(0.1)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _compose_flags(resolved_compose, *prefixes: str) -> list[str]:
    return [f for f in resolved_compose["services"]["prometheus"]["command"] if f.startswith(prefixes)]


@pytest.mark.live
def test_real_prometheus_loads_config_with_compose_flags(prom_config, resolved_compose, tmp_path) -> None:
    """Start Debian's Prometheus with the compose file's flags and this config."""
    path = _copy_with_rules(prom_config, tmp_path, [])
    flags = _compose_flags(resolved_compose, "--enable-feature=", "--storage.tsdb.retention.time=")
    with _prometheus(path, tmp_path, flags) as (base, _):
        with urllib.request.urlopen(f"{base}/api/v1/status/flags", timeout=5) as r:
            status = json.load(r)["data"]
        assert status["storage.tsdb.retention.time"] in ("35d", "5w")  # 2.42 prints 5w
        assert "exemplar-storage" in status["enable-feature"]
        with urllib.request.urlopen(f"{base}/api/v1/status/config", timeout=5) as r:
            loaded = yaml.safe_load(json.load(r)["data"]["yaml"])
        assert {j["job_name"] for j in loaded["scrape_configs"]} >= {"llmpulse", "prometheus"}


def test_prometheus_flags_enable_the_remote_write_receiver(resolved_compose) -> None:
    assert "--web.enable-remote-write-receiver" in resolved_compose["services"]["prometheus"]["command"]


@pytest.mark.live
def test_compose_scrape_sends_the_token_from_the_secret_file(prom_config, resolved_compose, tmp_path) -> None:
    """Real Prometheus, real llmpulse: the compose scrape job with auth on and off.

    `auth_on`: llmpulse requires a token (protect_metrics, the default) read from its
    token file; Prometheus reads the same file (credentials_file) and scrapes it.
    `auth_off`: the shipped empty secret: no token anywhere, the scrape still works.
    `no_authorization`: the scrape job as it was before the fix: refused (up == 0).
    Also: the compose flags turn on the remote-write receiver Tempo writes to.
    """
    from harness import make_exporter

    secret = "/run/secrets/llmpulse_token"
    token = tmp_path / "llmpulse-token"
    token.write_text("compose-test-token\n")
    empty = tmp_path / "auth-off.token"
    empty.write_text("")
    on = make_exporter(auth={"token_file": str(token)})
    off = make_exporter(auth={"token_file": str(empty), "allow_empty_token_file": True})
    try:
        template = next(j for j in prom_config["scrape_configs"] if j["job_name"] == "llmpulse")
        assert template["authorization"]["credentials_file"] == secret

        def job(name: str, exporter, credentials: Path | None) -> dict:
            j = json.loads(json.dumps(template))
            j["job_name"] = name
            j["static_configs"] = [{"targets": [exporter.metrics_url.split("//")[1].split("/")[0]]}]
            if credentials is None:
                j.pop("authorization")
            else:
                j["authorization"]["credentials_file"] = str(credentials)
            return j

        cfg = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
               "scrape_configs": [job("auth_on", on, token), job("auth_off", off, empty),
                                  job("no_authorization", on, None)]}
        path = tmp_path / "prometheus.yml"
        path.write_text(yaml.safe_dump(cfg))
        flags = _compose_flags(resolved_compose, "--enable-feature=", "--web.enable-remote-write-receiver")
        with _prometheus(path, tmp_path, flags) as (base, proc):
            deadline = time.monotonic() + 45
            up: dict[str, float] = {}
            while time.monotonic() < deadline and len(up) < 3:
                try:
                    with urllib.request.urlopen(f"{base}/api/v1/query?query=up", timeout=2) as r:
                        up = {s["metric"]["job"]: float(s["value"][1]) for s in json.load(r)["data"]["result"]}
                except OSError:
                    pass
                assert proc.poll() is None, "prometheus exited"
                time.sleep(0.5)
            assert up == {"auth_on": 1.0, "auth_off": 1.0, "no_authorization": 0.0}, up
            request = urllib.request.Request(f"{base}/api/v1/write", data=b"not snappy", method="POST",
                                             headers={"Content-Type": "application/x-protobuf"})
            try:
                urllib.request.urlopen(request, timeout=5)
                status = 200
            except urllib.error.HTTPError as exc:
                status = exc.code
            assert status == 400, f"remote write receiver not enabled (HTTP {status})"
    finally:
        on.stop()
        off.stop()
