"""SIGHUP: `llmpulse serve` reads its token file and price files again, keeping its counts.

A real `llmpulse serve` process with `pricing.files` and `auth.token_file`: the price of a model
and the token are changed on disk and the process is sent SIGHUP; new calls are priced at the
new price, the old token is refused and the new one taken, and the counts from before stay. A
broken price file or an emptied token file changes nothing and is counted as a failed reload.
A SIGTERM after all that still stops the process. (The runbooks said "reload the exporter" when
nothing reloaded it but a restart.)
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import requests

from live import Proc, free_port, llmpulse_argv, wait_until
from otlpdata import span, traces_request

from .helpers import family_total, scrape

pytestmark = pytest.mark.slow          # one process start, about 5 s

PRICES = """checked: 2026-12-01
currency: USD
unit: per_million_tokens
models:
  - name: acme-1
    input: {price}
    output: 0
"""


def _call(url: str, token: str) -> int:
    """One call of acme-1 with a million input tokens: costs the input price, in USD."""
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "acme", "gen_ai.request.model": "acme-1",
             "gen_ai.response.model": "acme-1", "gen_ai.usage.input_tokens": 1_000_000,
             "gen_ai.usage.output_tokens": 0}
    body = traces_request([span(attrs, name="chat acme-1")]).SerializeToString()
    return requests.post(url + "/v1/traces", data=body, timeout=5, headers={
        "Content-Type": "application/x-protobuf", "Authorization": f"Bearer {token}"}).status_code


def test_sighup_reads_the_token_and_price_files_again_and_keeps_the_counts(tmp_path):
    prices, token_file = tmp_path / "prices.yaml", tmp_path / "token"
    prices.write_text(PRICES.format(price=1))
    token_file.write_text("first-token\n")
    config = tmp_path / "llmpulse.yaml"
    config.write_text(f"pricing: {{files: ['{prices}']}}\nauth: {{token_file: '{token_file}'}}\n"
                      "server: {grpc_enabled: false}\n")
    http_port, metrics_port = free_port(), free_port()
    proc = Proc(llmpulse_argv("serve", "--config", str(config), "--host", "127.0.0.1",
                              "--otlp-http-port", str(http_port), "--metrics-port", str(metrics_port)),
                tmp_path / "serve.log")
    url, metrics = f"http://127.0.0.1:{http_port}", f"http://127.0.0.1:{metrics_port}/metrics"

    def cost() -> float:
        return family_total(scrape(metrics, "second-token" if reloaded else "first-token"), "llm_cost_usd_total",
                            gen_ai_request_model="acme-1")

    def reloads(outcome: str) -> float:
        return family_total(scrape(metrics, "second-token"), "llmpulse_reloads_total", outcome=outcome)

    reloaded = False
    try:
        wait_until(lambda: requests.get(metrics.replace("/metrics", "/readyz"), timeout=1).status_code == 200,
                   30, "llmpulse serve ready", proc)
        assert _call(url, "first-token") == 200
        assert cost() == pytest.approx(1.0)

        prices.write_text(PRICES.format(price=3))
        token_file.write_text("second-token\n")
        os.kill(proc.pid, signal.SIGHUP)
        reloaded = True
        wait_until(lambda: reloads("ok") == 1, 10, "the reload counted", proc)
        assert _call(url, "first-token") == 401
        assert _call(url, "second-token") == 200
        assert cost() == pytest.approx(1.0 + 3.0)                # the count from before stays

        prices.write_text("models: [{name: acme-1, input: -1}]\n")   # broken: nothing changes
        token_file.write_text("")
        os.kill(proc.pid, signal.SIGHUP)
        wait_until(lambda: reloads("failed") == 1, 10, "the failed reload counted", proc)
        assert _call(url, "second-token") == 200
        assert _call(url, "") == 401                              # an empty token file did not turn auth off
        assert cost() == pytest.approx(1.0 + 3.0 + 3.0)
        log = proc.output()
        assert "reload: price files:" in log and "models[0].input" in log, log[-2000:]
        assert "auth stays on" in log and "price table" in log and "->" in log, log[-2000:]
        # where it listens is said once (it was printed and logged: two lines)
        assert sum(metrics in line for line in log.splitlines()) == 1, log[:2000]

        t0 = time.monotonic()
        os.kill(proc.pid, signal.SIGTERM)
        proc.p.wait(timeout=15)
        assert time.monotonic() - t0 < 12 and proc.p.returncode == 0, proc.output()[-2000:]
    finally:
        proc.stop()
