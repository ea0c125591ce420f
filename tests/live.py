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
                 alertmanager: str | None = None, scrape_interval: str = "1s", evaluation_interval: str = "1s"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = ["global:", f"  scrape_interval: {scrape_interval}", f"  evaluation_interval: {evaluation_interval}",
               "scrape_configs:"]
        for job, target in targets.items():
            listed = ", ".join(f"'{t}'" for t in ([target] if isinstance(target, str) else target))
            cfg += [f"  - job_name: {job}", "    static_configs:", f"      - targets: [{listed}]"]
        if rule_files:
            cfg += ["rule_files:"] + [f"  - {f}" for f in rule_files]
        if alertmanager:
            cfg += ["alerting:", "  alertmanagers:", "    - static_configs:", f"        - targets: ['{alertmanager}']"]
        (tmp / "prometheus.yml").write_text("\n".join(cfg) + "\n")
        self.proc = Proc(["prometheus", f"--config.file={tmp / 'prometheus.yml'}",
                          f"--storage.tsdb.path={tmp / 'tsdb'}", f"--web.listen-address=127.0.0.1:{self.port}",
                          "--enable-feature=exemplar-storage"], tmp / "prometheus.log")
        wait_until(lambda: requests.get(self.url + "/-/ready", timeout=1).ok, 30, "prometheus", self.proc)

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
