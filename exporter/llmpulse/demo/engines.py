"""Fake serving-engine `/metrics` endpoints: vLLM 0.11.0 and SGLang 0.5.3, by their own names.

A self-hosted engine exposes its own Prometheus metrics; llmpulse's Serving engines
dashboard and the LLMEngine* alerts read them. These fakes serve the same names,
label sets, bucket bounds and metric types as the engines' source at those versions,
with values a busy engine would show, so the dashboard and rules can be checked
against a real Prometheus without a GPU:

* vLLM 0.11.0, `vllm/v1/metrics/loggers.py` (PrometheusStatLogger; labels
  `model_name`, `engine`; `vllm:request_success` adds `finished_reason` in
  stop/length/abort from `vllm/v1/engine/__init__.py`).
* SGLang 0.5.3, `sglang/srt/metrics/collector.py` (SchedulerMetricsCollector with
  labels `model_name`, `engine_type`, `tp_rank`, `pp_rank` from
  `scheduler_metrics_mixin.py`; TokenizerMetricsCollector with `model_name`).

>>> e = FakeEngines(seed=3)
>>> e.step(10.0)
>>> text = e.exposition().decode()
>>> 'vllm:kv_cache_usage_perc{engine="0",model_name="llama-3.1-8b-instruct"}' in text
True
>>> 'sglang:token_usage{engine_type="unified",model_name="qwen2.5-7b-instruct",pp_rank="0",tp_rank="0"}' in text
True
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass, field

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# the fakes expose the metric names of vLLM 0.11.0 and SGLang 0.5.3
VLLM_MODEL = "llama-3.1-8b-instruct"     # the demo's vllm-llama service serves this model
SGLANG_MODEL = "qwen2.5-7b-instruct"

# Bucket bounds as the engines define them (see the module docstring for the files).
VLLM_TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
                     10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0]
VLLM_ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
                    20.0, 40.0, 80.0]
VLLM_REQUEST_LATENCY_BUCKETS = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0,
                                60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0]
SGLANG_TTFT_BUCKETS = [0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400]
SGLANG_ITL_BUCKETS = [0.002, 0.004, 0.006, 0.008, 0.010, 0.015, 0.020, 0.025, 0.030, 0.035, 0.040, 0.060,
                      0.080, 0.100, 0.200, 0.400, 0.600, 0.800, 1.000, 2.000, 4.000, 6.000, 8.000]
SGLANG_E2E_BUCKETS = [0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400, 600, 1200,
                      1800, 2400]


@dataclass
class Load:
    """How busy the fake engines are; change it to drive the LLMEngine* alerts."""

    requests_per_s: float = 4.0
    ttft_median_s: float = 0.25
    itl_median_s: float = 0.03
    kv_cache_usage: float = 0.45     # ratio of KV-cache blocks in use
    waiting: float = 1.0             # mean requests waiting
    waiting_growth_per_s: float = 0.0


@dataclass
class _Engine:
    name: str
    load: Load = field(default_factory=Load)
    waiting: float = 0.0


class FakeEngines:
    """One registry holding a fake vLLM and a fake SGLang; `step(dt)` advances them."""

    def __init__(self, seed: int = 1, vllm: Load | None = None, sglang: Load | None = None) -> None:
        self.rng = random.Random(seed)
        # One registry per engine: each is its own scrape target, as real engines are.
        self.registries = {"vllm": CollectorRegistry(), "sglang": CollectorRegistry()}
        self.vllm = _Engine("vllm", vllm or Load())
        self.sglang = _Engine("sglang", sglang or Load(requests_per_s=3.0, ttft_median_s=0.3, kv_cache_usage=0.55))
        self._lock = threading.Lock()
        self._carry = {"vllm": 0.0, "sglang": 0.0}
        r = self.registries["vllm"]
        v = ["model_name", "engine"]
        self.v_running = Gauge("vllm:num_requests_running", "Number of requests in model execution batches.", v, registry=r)
        self.v_waiting = Gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", v, registry=r)
        self.v_kv = Gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", v, registry=r)
        self.v_prefix_q = Counter("vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.", v, registry=r)
        self.v_prefix_h = Counter("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", v, registry=r)
        self.v_preempt = Counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.", v, registry=r)
        self.v_prompt = Counter("vllm:prompt_tokens", "Number of prefill tokens processed.", v, registry=r)
        self.v_gen = Counter("vllm:generation_tokens", "Number of generation tokens processed.", v, registry=r)
        self.v_success = Counter("vllm:request_success", "Count of successfully processed requests.", v + ["finished_reason"], registry=r)
        self.v_ttft = Histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", v,
                                buckets=VLLM_TTFT_BUCKETS, registry=r)
        self.v_itl = Histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", v,
                               buckets=VLLM_ITL_BUCKETS, registry=r)
        self.v_e2e = Histogram("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", v,
                               buckets=VLLM_REQUEST_LATENCY_BUCKETS, registry=r)
        self.v_queue = Histogram("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", v,
                                 buckets=VLLM_REQUEST_LATENCY_BUCKETS, registry=r)
        r = self.registries["sglang"]
        s = ["model_name", "engine_type", "tp_rank", "pp_rank"]
        t = ["model_name"]
        self.s_running = Gauge("sglang:num_running_reqs", "The number of running requests.", s, registry=r)
        self.s_used = Gauge("sglang:num_used_tokens", "The number of used tokens.", s, registry=r)
        self.s_usage = Gauge("sglang:token_usage", "The token usage.", s, registry=r)
        self.s_throughput = Gauge("sglang:gen_throughput", "The generation throughput (token/s).", s, registry=r)
        self.s_queue = Gauge("sglang:num_queue_reqs", "The number of requests in the waiting queue.", s, registry=r)
        self.s_hit = Gauge("sglang:cache_hit_rate", "The prefix cache hit rate.", s, registry=r)
        self.s_retracted = Gauge("sglang:num_retracted_reqs", "The number of retracted requests.", s, registry=r)
        self.s_prompt = Counter("sglang:prompt_tokens_total", "Number of prefill tokens processed.", t, registry=r)
        self.s_gen = Counter("sglang:generation_tokens_total", "Number of generation tokens processed.", t, registry=r)
        self.s_cached = Counter("sglang:cached_tokens_total", "Number of cached prompt tokens.", t, registry=r)
        self.s_requests = Counter("sglang:num_requests_total", "Number of requests processed.", t, registry=r)
        self.s_aborted = Counter("sglang:num_aborted_requests_total", "Number of requests aborted.", t, registry=r)
        self.s_ttft = Histogram("sglang:time_to_first_token_seconds", "Histogram of time to first token in seconds.", t,
                                buckets=SGLANG_TTFT_BUCKETS, registry=r)
        self.s_itl = Histogram("sglang:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", t,
                               buckets=SGLANG_ITL_BUCKETS, registry=r)
        self.s_e2e = Histogram("sglang:e2e_request_latency_seconds", "Histogram of End-to-end request latency in seconds", t,
                               buckets=SGLANG_E2E_BUCKETS, registry=r)
        self._init_children()
        self.step(0.0)

    def _init_children(self) -> None:
        """Every labelled series exists from the start, at 0, as in the engines."""
        lv, ls, lt = (VLLM_MODEL, "0"), (SGLANG_MODEL, "unified", "0", "0"), (SGLANG_MODEL,)
        for metric in (self.v_prefix_q, self.v_prefix_h, self.v_preempt, self.v_prompt, self.v_gen, self.v_ttft,
                       self.v_itl, self.v_e2e, self.v_queue):
            metric.labels(*lv)
        for reason in ("stop", "length", "abort"):
            self.v_success.labels(*lv, reason)
        for metric in (self.s_prompt, self.s_gen, self.s_cached, self.s_requests, self.s_aborted, self.s_ttft,
                       self.s_itl, self.s_e2e):
            metric.labels(*lt)
        del ls

    # ---- simulation ------------------------------------------------------

    def _lognormal(self, median: float, sigma: float) -> float:
        return self.rng.lognormvariate(math.log(median), sigma)

    def _requests(self, engine: str, load: Load, dt: float) -> int:
        self._carry[engine] += load.requests_per_s * dt
        n = int(self._carry[engine])
        self._carry[engine] -= n
        return n

    def step(self, dt: float) -> None:
        """Advance both engines by `dt` seconds of traffic."""
        with self._lock:
            self._step_vllm(dt)
            self._step_sglang(dt)

    def _step_vllm(self, dt: float) -> None:
        e, load, rng = self.vllm, self.vllm.load, self.rng
        lv = (VLLM_MODEL, "0")
        e.waiting = max(0.0, e.waiting + load.waiting_growth_per_s * dt) if load.waiting_growth_per_s else load.waiting
        self.v_waiting.labels(*lv).set(round(e.waiting * (0.8 + 0.4 * rng.random()) if not load.waiting_growth_per_s else e.waiting))
        self.v_running.labels(*lv).set(max(1, round(load.requests_per_s * 4 * (0.8 + 0.4 * rng.random()))))
        self.v_kv.labels(*lv).set(min(1.0, max(0.0, load.kv_cache_usage + rng.uniform(-0.03, 0.03))))
        for _ in range(self._requests("vllm", load, dt)):
            prompt = max(16, round(self._lognormal(800, 0.6)))
            output = max(1, round(self._lognormal(200, 0.5)))
            ttft = self._lognormal(load.ttft_median_s, 0.35)
            itl = self._lognormal(load.itl_median_s, 0.2)
            queue = self._lognormal(0.02 + 0.05 * e.waiting, 0.5)
            self.v_prompt.labels(*lv).inc(prompt)
            self.v_gen.labels(*lv).inc(output)
            self.v_prefix_q.labels(*lv).inc(prompt)
            self.v_prefix_h.labels(*lv).inc(prompt * 3 // 10)
            self.v_ttft.labels(*lv).observe(ttft)
            for _ in range(min(output - 1, 8)):          # a sample of the request's inter-token gaps
                self.v_itl.labels(*lv).observe(self._lognormal(itl, 0.15))
            self.v_e2e.labels(*lv).observe(queue + ttft + itl * (output - 1))
            self.v_queue.labels(*lv).observe(queue)
            reason = "length" if rng.random() < 0.04 else "abort" if rng.random() < 0.005 else "stop"
            self.v_success.labels(*lv, reason).inc()
            if load.kv_cache_usage > 0.9 and rng.random() < 0.2:
                self.v_preempt.labels(*lv).inc()

    def _step_sglang(self, dt: float) -> None:
        e, load, rng = self.sglang, self.sglang.load, self.rng
        ls = (SGLANG_MODEL, "unified", "0", "0")
        lt = (SGLANG_MODEL,)
        e.waiting = max(0.0, e.waiting + load.waiting_growth_per_s * dt) if load.waiting_growth_per_s else load.waiting
        running = max(1, round(load.requests_per_s * 4 * (0.8 + 0.4 * rng.random())))
        usage = min(1.0, max(0.0, load.kv_cache_usage + rng.uniform(-0.03, 0.03)))
        self.s_running.labels(*ls).set(running)
        self.s_queue.labels(*ls).set(round(e.waiting * (0.8 + 0.4 * rng.random()) if not load.waiting_growth_per_s else e.waiting))
        self.s_usage.labels(*ls).set(usage)
        self.s_used.labels(*ls).set(round(usage * 200_000))
        self.s_hit.labels(*ls).set(round(rng.uniform(0.25, 0.35), 3))
        self.s_retracted.labels(*ls).set(1 if load.kv_cache_usage > 0.9 and rng.random() < 0.3 else 0)
        self.s_throughput.labels(*ls).set(round(running / max(load.itl_median_s, 1e-3), 1))
        for _ in range(self._requests("sglang", load, dt)):
            prompt = max(16, round(self._lognormal(900, 0.6)))
            output = max(1, round(self._lognormal(180, 0.5)))
            ttft = self._lognormal(load.ttft_median_s, 0.35)
            itl = self._lognormal(load.itl_median_s, 0.2)
            self.s_prompt.labels(*lt).inc(prompt)
            self.s_gen.labels(*lt).inc(output)
            self.s_cached.labels(*lt).inc(prompt * 3 // 10)
            self.s_requests.labels(*lt).inc()
            if rng.random() < 0.005:
                self.s_aborted.labels(*lt).inc()
            self.s_ttft.labels(*lt).observe(ttft)
            for _ in range(min(output - 1, 8)):
                self.s_itl.labels(*lt).observe(self._lognormal(itl, 0.15))
            self.s_e2e.labels(*lt).observe(ttft + itl * (output - 1))

    # ---- serving ---------------------------------------------------------

    def exposition(self, engine: str | None = None) -> bytes:
        """The text exposition of one engine, or of both."""
        with self._lock:
            names = [engine] if engine else sorted(self.registries)
            return b"".join(generate_latest(self.registries[n]) for n in names)

    def serve(self, addr: str = "127.0.0.1", ports: dict[str, int] | None = None, tick_s: float = 1.0) -> "Served":
        """Serve each engine's `/metrics` on its own port (0 = free) and advance them every `tick_s`."""
        ports = ports or {}
        servers = {name: _serve(self, name, addr, ports.get(name, 0)) for name in self.registries}
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(tick_s):
                self.step(tick_s)

        ticker = threading.Thread(target=run, name="fake-engines", daemon=True)
        ticker.start()
        return Served(self, servers, ticker, stop)


def _serve(engines: FakeEngines, name: str, addr: str, port: int) -> ThreadingHTTPServer:
    """The text format (0.0.4) only: names keep their colons whatever the scraper's Accept
    header asks (prometheus_client 0.26's OpenMetrics output would escape them to `_`)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            body = engines.exposition(name)
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_LATEST)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((addr, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=f"fake-{name}", daemon=True).start()
    return server


@dataclass
class Served:
    engines: FakeEngines
    servers: dict
    ticker: threading.Thread
    stop_event: threading.Event

    def target(self, engine: str) -> str:
        """host:port of one engine's /metrics."""
        host, port = self.servers[engine].server_address[:2]
        return f"{host}:{port}"

    def stop(self) -> None:
        self.stop_event.set()
        for server in self.servers.values():
            server.shutdown()
            server.server_close()
