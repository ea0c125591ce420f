"""Real processes on loopback for live tests: free ports, start, wait, stop by PID.

>>> port = free_port()
>>> 1024 < port < 65536
True
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A child process, stopped by PID (SIGTERM, then SIGKILL)."""

    def __init__(self, argv: list[str], log: Path, env: dict | None = None):
        self.argv = argv
        self.log = log
        self._fh = open(log, "wb")
        self.p = subprocess.Popen(argv, stdout=self._fh, stderr=subprocess.STDOUT, env=env,
                                  start_new_session=True)

    @property
    def pid(self) -> int:
        return self.p.pid

    def alive(self) -> bool:
        return self.p.poll() is None

    def stop(self) -> None:
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.p.wait(timeout=5)
        self._fh.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_until(check, timeout: float, what: str, proc: Proc | None = None, interval: float = 0.2):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{what}: process exited\n{proc.output()[-3000:]}")
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(interval)
    tail = proc.output()[-3000:] if proc else ""
    raise TimeoutError(f"{what}: not ready after {timeout}s (last error: {last})\n{tail}")


def llmpulse_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "llmpulse", *args]


class Prometheus:
    """Debian's Prometheus on loopback scraping the given targets every second."""

    def __init__(self, tmp: Path, targets: dict[str, str | list[str]], rule_files: list[str] = (),
                 alertmanager: str | None = None, scrape_interval: str = "1s", evaluation_interval: str = "1s",
                 tsdb: Path | None = None):
        """`tsdb`: an existing TSDB directory to serve (a `snapshot()`), instead of a new one in `tmp`."""
        tmp.mkdir(parents=True, exist_ok=True)
        self.tsdb = tsdb or tmp / "tsdb"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = tmp / "prometheus.yml"
        self._targets, self._rule_files, self._alertmanager = targets, list(rule_files), alertmanager
        self._intervals = (scrape_interval, evaluation_interval)
        self._write_config({})
        self.proc = Proc(["prometheus", f"--config.file={self.config}",
                          f"--storage.tsdb.path={self.tsdb}", f"--web.listen-address=127.0.0.1:{self.port}",
                          "--enable-feature=exemplar-storage", "--web.enable-lifecycle", "--web.enable-admin-api"],
                         tmp / "prometheus.log")
        wait_until(lambda: requests.get(self.url + "/-/ready", timeout=1).ok, 30, "prometheus", self.proc)

    def _write_config(self, phases: dict[str, int]) -> None:
        """prometheus.yml; a target in `phases` is scraped as /metrics?phase=N (its own static_config with a
        `__param_phase` label), which moves its scrape phase (Prometheus offsets a target's scrapes by a hash
        of its labels and URL) and nothing else: `__` labels are dropped before the series get theirs."""
        scrape, evaluation = self._intervals
        cfg = ["global:", f"  scrape_interval: {scrape}", f"  evaluation_interval: {evaluation}",
               "scrape_configs:"]
        for job, target in self._targets.items():
            cfg += [f"  - job_name: {job}", "    static_configs:"]
            for t in ([target] if isinstance(target, str) else target):
                cfg += [f"      - targets: ['{t}']"]
                if t in phases:
                    cfg += [f"        labels: {{__param_phase: '{phases[t]}'}}"]
        if self._rule_files:
            cfg += ["rule_files:"] + [f"  - {f}" for f in self._rule_files]
        if self._alertmanager:
            cfg += ["alerting:", "  alertmanagers:", "    - static_configs:",
                    f"        - targets: ['{self._alertmanager}']"]
        self.config.write_text("\n".join(cfg) + "\n")

    def snapshot(self) -> Path:
        """A snapshot of the TSDB as it is now, head included (the admin API); serve it with
        `Prometheus(tmp, {}, tsdb=path)` to query a moment that later scrapes cannot change."""
        r = requests.post(self.url + "/api/v1/admin/tsdb/snapshot", timeout=30)
        r.raise_for_status()
        return self.tsdb / "snapshots" / r.json()["data"]["name"]

    def reload(self, phases: dict[str, int]) -> None:
        """Rewrite the configuration with these scrape phases (`_write_config`) and reload it."""
        self._write_config(phases)
        requests.post(self.url + "/-/reload", timeout=10).raise_for_status()

    def api(self, path: str, **params):
        r = requests.get(self.url + "/api/v1/" + path, params=params, timeout=10)
        doc = r.json()
        if doc.get("status") != "success":
            raise AssertionError(f"{path} {params}: {doc.get('errorType')}: {doc.get('error')}")
        return doc["data"]

    def query(self, expr: str, at: float | None = None) -> list:
        params = {"query": expr} if at is None else {"query": expr, "time": f"{at:.3f}"}
        return self.api("query", **params)["result"]

    def stop(self) -> None:
        self.proc.stop()
