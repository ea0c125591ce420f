"""An exporter in its own process for the benchmark, so client and server do not share a GIL.

    python -m llmpulse.bench.server '{"metrics": {"exemplars": true}}'

prints one JSON line with its URLs, then serves until its stdin closes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

LOOPBACK = {"host": "127.0.0.1", "otlp_http_port": 0, "otlp_grpc_port": 0, "metrics_port": 0,
            "grpc_enabled": False}


def main() -> None:
    from llmpulse.app import Exporter, settle_gc
    from llmpulse.config import load_config

    overrides = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    overrides["server"] = {**LOOPBACK, **overrides.get("server", {})}
    exp = Exporter(load_config(overrides=overrides)).start()
    settle_gc()
    print(json.dumps({"otlp": exp.otlp_http_url, "metrics": exp.metrics_url, "pid": os.getpid()}), flush=True)
    sys.stdin.read()           # the parent closes our stdin to stop us
    exp.stop()


class ServerProcess:
    """Start `main` in a child process; `.stop()` ends it (by its own pid)."""

    def __init__(self, overrides: dict | None = None):
        self.proc = subprocess.Popen([sys.executable, "-m", "llmpulse.bench.server", json.dumps(overrides or {})],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdin is not None       # both PIPE
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            raise RuntimeError("benchmark exporter did not start")
        info = json.loads(line)
        self.otlp_url, self.metrics_url = info["otlp"], info["metrics"]
        self.pid = self.proc.pid

    def rss_bytes(self) -> int:
        return rss_bytes(self.pid)

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size from /proc (Linux)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


if __name__ == "__main__":
    main()
