"""Shared test harness: in-process exporters and the live demo + Prometheus stack."""

from __future__ import annotations

import time

from llmpulse.app import Exporter
from llmpulse.config import load_config

LOOPBACK = {"host": "127.0.0.1", "otlp_http_port": 0, "otlp_grpc_port": 0, "metrics_port": 0}


def make_exporter(**overrides) -> Exporter:
    server = {**LOOPBACK, **overrides.pop("server", {})}
    return Exporter(load_config(overrides={"server": server, **overrides})).start()


class LiveStack:
    """`llmpulse demo` (exporter + traffic) scraped by a real Prometheus, for the whole session."""

    def __init__(self, tmp):
        from live import REPO, Prometheus, Proc, free_port, llmpulse_argv, wait_until

        self.metrics_port, self.http_port, self.grpc_port = free_port(), free_port(), free_port()
        config = tmp / "llmpulse.yaml"
        # short idle windows so per-trace and per-conversation histograms fill within seconds
        config.write_text("tracking: {trace_idle_seconds: 2, conversation_idle_seconds: 4}\n")
        self.exporter = Proc(llmpulse_argv("demo", "--rate", "40", "--seed", "11", "--host", "127.0.0.1",
                                           "--config", str(config),
                                           "--metrics-port", str(self.metrics_port),
                                           "--otlp-http-port", str(self.http_port),
                                           "--otlp-grpc-port", str(self.grpc_port)), tmp / "demo.log")
        self.metrics_url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        self.otlp_http_url = f"http://127.0.0.1:{self.http_port}"
        import requests
        wait_until(lambda: requests.get(self.metrics_url, timeout=1).ok, 30, "llmpulse demo", self.exporter)
        self.rule_files = sorted(str(p) for p in (REPO / "alerts" / "generated").glob("*.yaml"))
        # fake vLLM and SGLang /metrics (their own names) for the Serving engines dashboard
        from llmpulse.demo.engines import FakeEngines
        self.engines = FakeEngines(seed=11).serve(tick_s=1.0)
        self.prometheus = Prometheus(tmp, {"llmpulse": f"127.0.0.1:{self.metrics_port}",
                                           "vllm": self.engines.target("vllm"),
                                           "sglang": self.engines.target("sglang")}, self.rule_files)
        self.url = self.prometheus.url
        # first scrape takes ~5 s (service discovery throttle), then rates need two samples
        wait_until(lambda: self.query('rate(gen_ai_client_operation_duration_seconds_count[1m]) > 0')
                   and self.query('rate(llm_trace_operations_count[1m]) > 0'),
                   60, "first rate() from the demo", self.exporter, interval=0.5)
        if self.rule_files:
            # recording rules evaluate every second; give them data and two evaluations
            wait_until(lambda: self.query("service_model:llm_cost_usd:rate5m"), 30, "recording rules",
                       self.exporter, interval=0.5)
            time.sleep(2.5)

    def query(self, expr: str) -> list:
        return self.prometheus.query(expr)

    def api(self, path: str, **params):
        return self.prometheus.api(path, **params)

    def stop(self) -> None:
        self.prometheus.stop()
        self.exporter.stop()
        self.engines.stop()

