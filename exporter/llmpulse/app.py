"""The exporter as one object: servers, pipeline, metrics, background sweeps.

>>> from llmpulse.config import load_config
>>> cfg = load_config(overrides={"server": {"host": "127.0.0.1", "otlp_http_port": 0,
...                                         "otlp_grpc_port": 0, "metrics_port": 0}})
>>> exp = Exporter(cfg).start()
>>> exp.metrics_url.startswith("http://127.0.0.1:")
True
>>> exp.stop()
"""

from __future__ import annotations

import gc
import hmac
import logging
import threading
import time

from prometheus_client import CollectorRegistry

from llmpulse import http_server, serving
from llmpulse.config import Config
from llmpulse.costing import PriceMetrics
from llmpulse.forward import Forwarder
from llmpulse.metrics import Metrics
from llmpulse.otlp_metrics import IgnoredMetrics
from llmpulse.pipeline import Pipeline
from llmpulse.price_sources import PriceSources
from llmpulse.pricing import PriceTableError

log = logging.getLogger("llmpulse")


def load_prices(cfg: Config, metrics: Metrics, sources=None):
    """The prices in use (the built-in table, `pricing.files`, `pricing.sources`), shown in the metrics."""
    prices = (sources or PriceSources(cfg.pricing)).build()
    show_prices(metrics, prices)
    return prices


def show_prices(metrics: Metrics, prices) -> None:
    with metrics.lock:
        metrics.price_info.cells.clear()          # one version at a time
        metrics.price_info.set((prices.version,), 1)
        metrics.price_checked.set((), prices.checked_timestamp_seconds)


GC_YOUNG_THRESHOLD = 20_000     # tracked allocations (net of frees) between young collections; CPython's is 700


def settle_gc() -> None:
    """Tune the cyclic garbage collector for a long-running exporter process.

    Everything alive once the exporter has started (modules, config, price table,
    metric families) is frozen out of the collector's reach, so a full collection
    walks only what traffic created since: a few ms instead of 20 or more, which
    a request waiting behind it feels. The young generation's threshold is raised
    above what one 512-span request holds at once (about 5 objects a span), so the
    objects of a request in flight are freed before a collection promotes them,
    and full collections stay rare. For a process's entry point (`llmpulse serve`,
    `llmpulse demo`, the benchmark's exporter), not for library use.
    """
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


class Gate:
    """Admission: at most `n` requests decoded at once; `acquire` never waits (False: refuse the request).

    threading.BoundedSemaphore's non-blocking use at a tenth of its cost: a list of tokens, whose
    pop and append are each one atomic step.

    >>> g = Gate(1)
    >>> g.acquire(), g.acquire(), g.release(), g.acquire()
    (True, False, None, True)
    """

    def __init__(self, n: int):
        self.n = n
        self._tokens = [None] * n

    def acquire(self, blocking: bool = False) -> bool:
        if blocking:
            raise ValueError("Gate.acquire never waits")
        try:
            self._tokens.pop()
        except IndexError:
            return False
        return True

    def release(self) -> None:
        if len(self._tokens) >= self.n:
            raise ValueError("Gate released more often than acquired")
        self._tokens.append(None)


class Exporter:
    """The exporter: OTLP/HTTP and OTLP/gRPC in, /metrics out, forwarding in the background.

    Network I/O runs on one asyncio event loop in its own thread (`llmpulse.serving`); decoding
    of small requests runs on that loop, larger ones on `max_concurrent_requests` worker threads.
    """

    def __init__(self, cfg: Config, registry: CollectorRegistry | None = None):
        self.cfg = cfg
        self.registry = registry if registry is not None else CollectorRegistry()
        self.metrics = Metrics(cfg, self.registry)
        self.connection_metrics = http_server.ConnectionMetrics(self.registry)
        self.ignored_metrics = IgnoredMetrics(self.registry)
        self.token = cfg.auth.resolved_token()
        if cfg.auth.token_file and not self.token:
            log.warning("auth off: auth.token_file %s is empty (auth.allow_empty_token_file)", cfg.auth.token_file)
        self.price_metrics = PriceMetrics(self.registry, cfg.metrics.caps(), cfg.metrics.max_label_length)
        self.price_sources = PriceSources(cfg.pricing, self.price_metrics, on_change=self._prices_changed)
        self.prices = load_prices(cfg, self.metrics, self.price_sources)
        fwd = cfg.forward
        self.forwarder = Forwarder(fwd, self.registry) if (fwd.otlp.endpoint or fwd.loki.url) else None
        capture = bool(cfg.forward.loki.url) and cfg.forward.loki.content.enabled
        self.pipeline = Pipeline(cfg, self.metrics, self.prices, self.forwarder, capture_content=capture,
                                 price_metrics=self.price_metrics)
        self.price_metrics.attach(self.metrics, lambda: self.pipeline.prices)
        self.gate = Gate(cfg.server.max_concurrent_requests)
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._stopped = False
        self._serving: serving.Serving | None = None
        self._sweeper: threading.Thread | None = None
        self.otlp_http_port = self.metrics_port = self.otlp_grpc_port = 0

    def start(self) -> "Exporter":
        self._serving = serving.Serving(self)
        try:
            self._serving.start()
        except BaseException:
            self._serving.close()
            raise
        self.otlp_http_port = self._serving.otlp_http_port
        self.metrics_port = self._serving.metrics_port
        self.otlp_grpc_port = self._serving.otlp_grpc_port
        if self.forwarder is not None:
            self.forwarder.start()
        self._sweeper = threading.Thread(target=self._sweep_loop, name="llmpulse-sweep", daemon=True)
        self._sweeper.start()
        self.price_sources.start()
        self.ready.set()
        log.debug("llmpulse listening: OTLP/HTTP %s, OTLP/gRPC %s, metrics %s",   # the commands print it
                 self.otlp_http_url, self.otlp_grpc_target or "off", self.metrics_url)
        return self

    def http_connections(self, listener: str = "otlp") -> int:
        """Open HTTP connections on one listener ("otlp" or "metrics")."""
        return self._serving.connections(listener) if self._serving is not None else 0

    def reload(self) -> bool:
        """Read the auth token file and the price files again (`llmpulse serve` on SIGHUP).

        What cannot be read keeps its running value: the problem is logged at ERROR and counted
        (`llmpulse_reloads_total{outcome="failed"}`). Other settings need a restart.
        """
        problems = []
        auth = self.cfg.auth
        if auth.token_file:
            try:
                token = auth.resolved_token()
            except OSError as exc:
                problems.append(f"auth.token_file: {exc.strerror or exc}: {auth.token_file} (the token in use stays)")
            else:
                if not token and not auth.allow_empty_token_file:
                    problems.append(f"auth.token_file: {auth.token_file} is empty; auth stays on with the token "
                                    "in use (auth.allow_empty_token_file turns auth off instead)")
                else:
                    if not hmac.compare_digest(token.encode(), self.token.encode()):
                        log.info("reload: auth token changed (auth.token_file)")
                    self.token = token
        try:
            prices, failed = self.price_sources.reload_files()
        except PriceTableError as exc:
            problems.append(f"price files: {'; '.join(exc.problems)} (the prices in use stay)")
        else:
            problems += [f"pricing.sources {name}: could not be read; its last good copy stays" for name in failed]
            if prices.version != self.prices.version:
                log.info("reload: price table %s -> %s", self.prices.version, prices.version)
            self._prices_changed(prices)
        for p in problems:
            log.error("reload: %s", p)
        self.metrics.count(self.metrics.reloads, ("failed" if problems else "ok",))
        return not problems

    def _prices_changed(self, prices) -> None:
        """A price source refreshed: new calls are priced with ``prices`` (a whole-object swap)."""
        self.prices = prices
        self.pipeline.prices = prices
        show_prices(self.metrics, prices)

    def _sweep_loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.metrics.sweep()
            except Exception:  # keep sweeping whatever happens
                log.exception("sweep failed")

    def stop(self, drain_seconds: float | None = None) -> None:
        """Stop serving; return within `drain_seconds` (default `server.shutdown_drain_seconds`) + 1 s.

        In order: /readyz answers 503; the OTLP listeners close (requests in flight get up to a
        second to finish); pending aggregates are decided and open traces and conversations are
        observed (`Metrics.sweep(flush=True)`); forwarding queues drain until the deadline and what is left is counted
        and logged at WARNING per sink; the metrics port, which kept answering meanwhile (so the
        drain and its losses can be scraped), closes last.
        """
        if self._stopped:
            return
        self._stopped = True
        drain = self.cfg.server.shutdown_drain_seconds if drain_seconds is None else max(0.0, drain_seconds)
        deadline = time.monotonic() + drain
        self.ready.clear()
        self._stop.set()
        # the price refresher may be mid-download: it stops beside the drain, not after it
        prices = threading.Thread(target=self.price_sources.stop, name="llmpulse-prices-stop", daemon=True)
        prices.start()
        if self._serving is not None:
            self._serving.close_ingest(grace=min(1.0, drain))
        # Nothing more arrives: decide the aggregates still waiting for a call of their trace (counted
        # if none came) and observe the open traces and conversations, so a scrape during the drain
        # sees them instead of the process taking them along (docs/reliability.md, section 2).
        if self._sweeper is not None:
            self._sweeper.join(timeout=2)
        try:
            self.metrics.sweep(flush=True)
        except Exception:  # stopping goes on whatever happens
            log.exception("final sweep failed")
        if self.forwarder is not None:
            self.forwarder.stop(max(0.0, deadline - time.monotonic()))
        prices.join(timeout=max(0.1, deadline - time.monotonic()))
        if self._serving is not None:
            self._serving.close()

    def _host(self) -> str:
        h = self.cfg.server.host
        return "127.0.0.1" if h in ("0.0.0.0", "", "::") else h

    @property
    def otlp_http_url(self) -> str:
        return f"http://{self._host()}:{self.otlp_http_port}"

    @property
    def otlp_grpc_target(self) -> str:
        return f"{self._host()}:{self.otlp_grpc_port}" if self.otlp_grpc_port else ""

    @property
    def metrics_url(self) -> str:
        return f"http://{self._host()}:{self.metrics_port}/metrics"
