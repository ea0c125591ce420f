"""Fixtures for the alerting tests: tool paths, a webhook sink and a real Alertmanager.

The Alertmanager is session-scoped: it runs alerts/alertmanager.yml with every
receiver turned into a webhook to the sink (`webhook_variant`), so a test can
see which receiver each alert went through. It is stopped by PID.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from llmpulse.alerts.alertmanager import webhook_variant

REPO = Path(__file__).resolve().parents[2]
GENERATED = REPO / "alerts" / "generated"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: install the Debian packages prometheus and prometheus-alertmanager "
                    f"(tests/run.sh does this)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class WebhookSink:
    """Records every Alertmanager webhook POST as (receiver path, payload)."""

    url: str
    posts: list[tuple[str, dict]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def alerts(self, receiver: str | None = None) -> list[tuple[str, dict]]:
        """(receiver, alert) pairs received so far."""
        with self.lock:
            return [(r, a) for r, p in self.posts for a in p.get("alerts", []) if receiver in (None, r)]

    def wait_for(self, predicate, timeout: float = 20.0) -> list[tuple[str, dict]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = [x for x in self.alerts() if predicate(*x)]
            if got:
                return got
            time.sleep(0.1)
        return []


def start_sink() -> tuple[ThreadingHTTPServer, WebhookSink]:
    sink_ref: list[WebhookSink] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            sink = sink_ref[0]
            with sink.lock:
                sink.posts.append((self.path.strip("/"), json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink = WebhookSink(url=f"http://127.0.0.1:{server.server_address[1]}")
    sink_ref.append(sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, sink


@dataclass
class Alertmanager:
    url: str
    sink: WebhookSink
    process: subprocess.Popen

    def post(self, alerts: list[dict]) -> None:
        r = requests.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=5)
        r.raise_for_status()


def start_alertmanager(tmp: Path, sink: WebhookSink) -> Alertmanager:
    config = tmp / "alertmanager.yml"
    config.write_text(webhook_variant(sink.url, timings={"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"}))
    port = free_port()
    log = open(tmp / "alertmanager.log", "wb")
    proc = subprocess.Popen(
        [tool("prometheus-alertmanager"), f"--config.file={config}", f"--storage.path={tmp / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"alertmanager exited: {(tmp / 'alertmanager.log').read_text()}")
        try:
            if requests.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return Alertmanager(url=url, sink=sink, process=proc)
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("alertmanager not ready after 20s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def webhook_sink():
    server, sink = start_sink()
    yield sink
    server.shutdown()


@pytest.fixture(scope="session")
def alertmanager(tmp_path_factory, webhook_sink) -> Alertmanager:
    am = start_alertmanager(tmp_path_factory.mktemp("alertmanager"), webhook_sink)
    yield am
    stop(am.process)
