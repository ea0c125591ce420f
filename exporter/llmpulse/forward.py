"""Forwarding what llmpulse receives: spans to an OTLP endpoint, call logs to Loki.

So an app points at one endpoint, llmpulse passes the spans on unchanged (to
Tempo in the compose stack) and writes one structured log line per LLM call to
Loki. Both are off until configured, and neither can slow ingestion: submit
calls only append to a bounded queue; a background thread per sink batches,
sends and retries; when a queue is full the new item is dropped and counted.

>>> from prometheus_client import CollectorRegistry
>>> from llmpulse.config import ForwardConfig, OtlpForwardConfig
>>> cfg = ForwardConfig(otlp=OtlpForwardConfig(endpoint="http://tempo:4318"))
>>> fwd = Forwarder(cfg, CollectorRegistry())
>>> fwd.otlp_url
'http://tempo:4318/v1/traces'
>>> fwd.loki_url is None
True

Self-metrics (on the registry passed in; ``sink`` is ``otlp`` or ``loki``):
- ``llmpulse_forward_queue_length{sink}``: items waiting (OTLP requests / calls)
- ``llmpulse_forward_sent_total{sink}``: items delivered (OTLP requests as
  received / log lines)
- ``llmpulse_forward_dropped_total{sink,reason}``: items given up, reason one of
  queue_full, rejected, retries_exhausted, shutdown, unsupported_content_type,
  encode_error
- ``llmpulse_forward_retries_total{sink}``: HTTP retries
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Sequence
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry

from llmpulse.call_log import (
    ContentPolicy,
    LabelCap,
    call_line,
    encode_line,
    push_body,
    stream_labels,
    timestamp_ns,
)
from llmpulse.forward_http import (
    REJECTED,
    RETRIES_EXHAUSTED,
    SENT,
    SHUTDOWN,
    HttpPoster,
    RetryPolicy,
)
from llmpulse.config import ForwardConfig, LokiForwardConfig, OtlpForwardConfig
from llmpulse.records import Call
from llmpulse.series import Counter, Gauge

log = logging.getLogger(__name__)

SINK_OTLP = "otlp"
SINK_LOKI = "loki"

# Drop reasons besides the delivery outcomes of forward_http.
QUEUE_FULL = "queue_full"
UNSUPPORTED_CONTENT_TYPE = "unsupported_content_type"
ENCODE_ERROR = "encode_error"

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
LOKI_PUSH_PATH = "/loki/api/v1/push"
OTLP_TRACES_PATH = "/v1/traces"


# --- configuration: in llmpulse.config (loading the config must not import requests) ---

def otlp_traces_url(endpoint: str) -> str:
    """``http://tempo:4318`` -> ``http://tempo:4318/v1/traces``; a URL with a path is kept."""
    parts = urlsplit(endpoint)
    if parts.path in ("", "/"):
        return endpoint.rstrip("/") + OTLP_TRACES_PATH
    return endpoint


def loki_push_url(url: str) -> str:
    return url if url.rstrip("/").endswith(LOKI_PUSH_PATH) else url.rstrip("/") + LOKI_PUSH_PATH


# --- metrics --------------------------------------------------------------------

class ForwardMetrics:
    """The forwarding self-metrics: `llmpulse.series` families (as every other family), updated
    from the sink threads and the ingest path, so each update and each collection takes `lock`.

    >>> reg = CollectorRegistry()
    >>> m = ForwardMetrics(reg)
    >>> m.init_sink("loki"); m.drop("loki", "queue_full", 3); m.queue("loki", 5)
    >>> reg.get_sample_value("llmpulse_forward_dropped_total", {"sink": "loki", "reason": "queue_full"})
    3.0
    >>> reg.get_sample_value("llmpulse_forward_queue_length", {"sink": "loki"})
    5.0
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.lock = threading.Lock()
        self.queue_length = Gauge("llmpulse_forward_queue_length",
                                  "Items waiting to be forwarded (OTLP requests or calls).", ("sink",))
        self.sent = Counter("llmpulse_forward_sent",
                            "Items forwarded: OTLP requests as received, or Loki log lines.", ("sink",))
        self.dropped = Counter("llmpulse_forward_dropped", "Items given up on, by reason.", ("sink", "reason"))
        self.retries = Counter("llmpulse_forward_retries", "HTTP retries while forwarding.", ("sink",))
        registry.register(self)

    def collect(self):
        with self.lock:
            return [f.collect() for f in (self.queue_length, self.sent, self.dropped, self.retries)]

    def init_sink(self, sink: str) -> None:
        with self.lock:
            self.queue_length.set((sink,), 0)
            self.sent.inc((sink,), 0)
            self.retries.inc((sink,), 0)
            for reason in (QUEUE_FULL, REJECTED, RETRIES_EXHAUSTED, SHUTDOWN):
                self.dropped.inc((sink, reason), 0)

    def queue(self, sink: str, length: int) -> None:
        with self.lock:
            self.queue_length.set((sink,), length)

    def send(self, sink: str, n: int) -> None:
        with self.lock:
            self.sent.inc((sink,), n)

    def drop(self, sink: str, reason: str, n: int = 1) -> None:
        with self.lock:
            self.dropped.inc((sink, reason), n)

    def retry(self, sink: str) -> None:
        with self.lock:
            self.retries.inc((sink,))


# --- the sinks --------------------------------------------------------------------

class _Sink:
    """A bounded queue drained by one daemon thread."""

    name = ""

    def __init__(self, metrics: ForwardMetrics, queue_max: int, poster: HttpPoster,
                 abort: threading.Event) -> None:
        self.metrics = metrics
        self.queue_max = queue_max
        self.poster = poster
        self.abort = abort
        self.queue: deque = deque()
        self.cond = threading.Condition()
        self.stopping = False
        self.abandoned = False             # stop()'s deadline passed: nothing more is counted by the thread
        self.in_flight = 0                 # items of the batch being delivered
        self.thread: threading.Thread | None = None
        metrics.init_sink(self.name)

    # Caller side: never blocks beyond a short lock.
    def put_many(self, items: Sequence) -> None:
        if not items:
            return
        with self.cond:
            if self.stopping:
                self.metrics.drop(self.name, SHUTDOWN, len(items))
                return
            room = self.queue_max - len(self.queue)
            accepted = items if room >= len(items) else items[:max(0, room)]
            self.queue.extend(accepted)
            self.metrics.queue(self.name, len(self.queue))
            self.cond.notify()
        if len(accepted) < len(items):
            self.metrics.drop(self.name, QUEUE_FULL, len(items) - len(accepted))

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name=f"llmpulse-forward-{self.name}",
                                       daemon=True)
        self.thread.start()

    def begin_stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify_all()

    def abandon(self) -> tuple[int, int]:
        """At stop()'s deadline: count what is still queued, and the batch still being delivered,
        as dropped (shutdown); the thread counts nothing after this. Returns (queued, in flight)."""
        with self.cond:
            self.abandoned = True
            queued = len(self.queue)
            self.queue.clear()
            in_flight = self.in_flight if self.thread is not None and self.thread.is_alive() else 0
            self.in_flight = 0
            self.metrics.queue(self.name, 0)
        if queued + in_flight:
            self.metrics.drop(self.name, SHUTDOWN, queued + in_flight)
        return queued, in_flight

    def join(self, timeout: float) -> None:
        if self.thread is not None:
            self.thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self.cond:
                if self.abandoned:
                    break
            batch = self._next_batch()
            if batch is None:
                break
            if self.abort.is_set():
                self._drop(SHUTDOWN, len(batch))
                continue
            try:
                self._deliver(batch)
            except Exception:  # never let the thread die; count the batch as dropped
                log.exception("forwarding to %s failed", self.name)
                self._drop(ENCODE_ERROR, len(batch))
            finally:
                with self.cond:
                    self.in_flight = 0
        self.poster.close()

    def _drop(self, reason: str, n: int) -> None:
        with self.cond:
            if self.abandoned:
                return
        self.metrics.drop(self.name, reason, n)

    def _next_batch(self) -> list | None:
        raise NotImplementedError

    def _deliver(self, batch: list) -> None:
        raise NotImplementedError

    def _count(self, outcome: str, n: int) -> None:
        with self.cond:
            if self.abandoned:          # already counted as dropped at stop()'s deadline
                return
            self.in_flight = 0
        if outcome == SENT:
            self.metrics.send(self.name, n)
        else:
            self.metrics.drop(self.name, outcome, n)
            if outcome == REJECTED:
                log.warning("%s sink rejected %d item(s) with HTTP %s", self.name, n,
                            self.poster.last_status)


class _OtlpSink(_Sink):
    name = SINK_OTLP

    def __init__(self, config: OtlpForwardConfig, metrics: ForwardMetrics,
                 poster: HttpPoster, abort: threading.Event) -> None:
        super().__init__(metrics, config.queue_max_requests, poster, abort)
        self.config = config

    def _next_batch(self) -> list | None:
        with self.cond:
            while not self.queue and not self.stopping:
                self.cond.wait()
            if not self.queue:
                return None
            first = self.queue.popleft()
            batch = [first]
            if first[1] == PROTOBUF:
                size = len(first[0])
                while (self.queue and self.queue[0][1] == PROTOBUF
                       and size + len(self.queue[0][0]) <= self.config.max_batch_bytes):
                    item = self.queue.popleft()
                    size += len(item[0])
                    batch.append(item)
            self.metrics.queue(self.name, len(self.queue))
            self.in_flight = len(batch)
            return batch

    def _deliver(self, batch: list) -> None:
        # Serialized ExportTraceServiceRequest messages concatenate into one valid
        # message: repeated fields (resource_spans) merge.
        body = b"".join(item[0] for item in batch)
        headers = {"Content-Type": batch[0][1]}
        if self.config.compression == "gzip":
            body = gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        self._count(self.poster.post(body, headers), len(batch))


class _LokiSink(_Sink):
    name = SINK_LOKI

    def __init__(self, config: LokiForwardConfig, metrics: ForwardMetrics,
                 poster: HttpPoster, abort: threading.Event) -> None:
        super().__init__(metrics, config.queue_max_lines, poster, abort)
        self.config = config
        self.cap = LabelCap(config.max_label_values)
        c = config.content
        self.content = ContentPolicy(
            sample_rate=c.sample_rate, max_chars=c.max_chars,
            always_on_error=c.always_on_error, always_on_low_score=c.always_on_low_score,
            low_score_threshold=c.low_score_threshold, always_on_guardrail=c.always_on_guardrail,
            extra_patterns=[re.compile(p) for p in c.extra_redact_patterns],
        ) if c.enabled else None

    def _next_batch(self) -> list | None:
        with self.cond:
            while not self.queue and not self.stopping:
                self.cond.wait()
            # Wait for the batch to fill, at most batch_interval_seconds.
            deadline = time.monotonic() + self.config.batch_interval_seconds
            while len(self.queue) < self.config.batch_max_lines and not self.stopping:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            if not self.queue:
                return None
            n = min(len(self.queue), self.config.batch_max_lines)
            batch = [self.queue.popleft() for _ in range(n)]
            self.metrics.queue(self.name, len(self.queue))
            self.in_flight = n
            return batch

    def _deliver(self, batch: list[Call]) -> None:
        threshold = self.config.content.low_score_threshold
        entries = []
        bad = 0
        for call in batch:
            try:
                line = encode_line(call_line(call, self.content, threshold))
            except (TypeError, ValueError):
                bad += 1
                continue
            labels = stream_labels(call, self.config.labels, self.cap, threshold)
            entries.append((labels, timestamp_ns(call), line))
        if bad:
            self._drop(ENCODE_ERROR, bad)
        if not entries:
            return
        body = json.dumps(push_body(entries), separators=(",", ":")).encode()
        outcome = self.poster.post(body, {"Content-Type": JSON})
        self._count(outcome, len(entries))


# --- the facade -------------------------------------------------------------------

class Forwarder:
    """Forwards spans (OTLP) and call log lines (Loki) in the background.

    ``submit_traces`` and ``submit_calls`` never block on the network; call them
    from the ingest path. ``start()`` once, ``stop(timeout)`` at shutdown (it
    flushes what it can within ``timeout`` seconds and counts the rest as
    dropped with reason ``shutdown``).
    """

    def __init__(self, config: ForwardConfig, registry: CollectorRegistry) -> None:
        self.config = config
        self.metrics = ForwardMetrics(registry)
        self._abort = threading.Event()
        self.otlp_url: str | None = None
        self.loki_url: str | None = None
        self._otlp: _OtlpSink | None = None
        self._loki: _LokiSink | None = None
        o = config.otlp
        if o.endpoint:
            self.otlp_url = otlp_traces_url(o.endpoint)
            poster = HttpPoster(self.otlp_url, o.headers, _policy(o), self._abort,
                                lambda: self.metrics.retry(SINK_OTLP))
            self._otlp = _OtlpSink(o, self.metrics, poster, self._abort)
        lk = config.loki
        if lk.url:
            self.loki_url = loki_push_url(lk.url)
            poster = HttpPoster(self.loki_url, lk.headers, _policy(lk), self._abort,
                                lambda: self.metrics.retry(SINK_LOKI))
            self._loki = _LokiSink(lk, self.metrics, poster, self._abort)
        self._started = False

    @property
    def enabled(self) -> bool:
        return self._otlp is not None or self._loki is not None

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        for sink in self._sinks():
            sink.start()

    def stop(self, timeout: float = 5.0) -> dict[str, int]:
        """Deliver what is queued for at most ``timeout`` seconds, then give up and return.

        Returns within ``timeout`` + about 0.5 s, whatever the sinks do (an HTTP attempt in
        flight at the deadline is not waited for). What was not delivered, queued or in
        flight, is counted in ``llmpulse_forward_dropped_total{reason="shutdown"}`` and logged
        at WARNING with its count per sink; the return value has those counts.
        """
        sinks = self._sinks()
        for sink in sinks:
            sink.begin_stop()
        deadline = time.monotonic() + max(0.0, timeout)
        for sink in sinks:
            sink.join(max(0.0, deadline - time.monotonic()))
        self._abort.set()  # ends retry waits
        for sink in sinks:
            sink.join(0.05)
        lost = {}
        for sink in sinks:
            queued, in_flight = sink.abandon()
            lost[sink.name] = queued + in_flight
            if queued + in_flight:
                log.warning("forwarding to %s stopped after %.1f s with %d %s not delivered (%d queued, %d in flight)",
                            sink.name, timeout, queued + in_flight,
                            "requests" if sink.name == SINK_OTLP else "log lines", queued, in_flight)
        return lost

    def submit_traces(self, body: bytes, content_type: str) -> None:
        """Queue one OTLP/HTTP trace request, exactly as received (decompressed).

        ``content_type``: application/x-protobuf or application/json (parameters
        such as ``; charset=utf-8`` are ignored). Protobuf requests are merged into
        batches; JSON requests are sent one by one.
        """
        sink = self._otlp
        if sink is None:
            return
        media = content_type.split(";", 1)[0].strip().lower()
        if media not in (PROTOBUF, JSON):
            self.metrics.drop(SINK_OTLP, UNSUPPORTED_CONTENT_TYPE)
            return
        sink.put_many([(bytes(body), media)])

    def submit_calls(self, calls: Sequence[Call]) -> None:
        """Queue calls for one Loki log line each (formatted and redacted off-thread)."""
        if self._loki is not None:
            self._loki.put_many(list(calls))

    def _sinks(self) -> list[_Sink]:
        return [s for s in (self._otlp, self._loki) if s is not None]


def _policy(cfg: OtlpForwardConfig | LokiForwardConfig) -> RetryPolicy:
    return RetryPolicy(cfg.timeout_seconds, cfg.max_retries,
                       cfg.backoff_initial_seconds, cfg.backoff_max_seconds)
