"""Forwarding what llmpulse receives: spans to an OTLP endpoint, call logs to Loki.

So an app points at one endpoint, llmpulse passes the spans on unchanged (to
Tempo in the compose stack) and writes one structured log line per LLM call to
Loki. Both are off until configured, and neither can slow ingestion: submit
calls only append to a bounded queue; a background thread per sink batches,
sends and retries; when a queue is full the new item is dropped and counted.

>>> from prometheus_client import CollectorRegistry
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
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, Counter, Gauge

from llmpulse.call_log import (
    DYNAMIC_LABELS,
    LABEL_NAME,
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
from llmpulse.records import Call

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


# --- configuration ------------------------------------------------------------

@dataclass
class OtlpForwardConfig:
    """Spans forwarded unchanged to an OTLP/HTTP endpoint (Tempo, a Collector...)."""

    endpoint: str = ""                 # "" = off; a bare http://host:port gets /v1/traces appended
    headers: dict[str, str] = field(default_factory=dict)   # e.g. {"X-Scope-OrgID": "team-a"}
    compression: str = "gzip"          # gzip | none
    queue_max_requests: int = 1000     # OTLP requests waiting; beyond this they are dropped
    max_batch_bytes: int = 4_194_304   # protobuf requests are merged up to this size, bytes
    timeout_seconds: float = 10.0      # per HTTP attempt
    max_retries: int = 5               # retries after the first attempt (429/502/503/504, network errors)
    backoff_initial_seconds: float = 0.5
    backoff_max_seconds: float = 30.0  # also caps a Retry-After

    def __post_init__(self) -> None:
        _check_http_url("forward.otlp.endpoint", self.endpoint)
        _check_retry("forward.otlp", self.queue_max_requests, self.timeout_seconds,
                     self.max_retries, self.backoff_initial_seconds, self.backoff_max_seconds)
        if self.compression not in ("gzip", "none"):
            raise ValueError(f"forward.otlp.compression: must be gzip or none, got {self.compression!r}")
        if self.max_batch_bytes < 1:
            raise ValueError("forward.otlp.max_batch_bytes: must be >= 1")


@dataclass
class LokiContentConfig:
    """Prompt and completion text in the log lines. Off by default.

    There is deliberately no switch to turn redaction off: when text is logged it
    is always redacted (llmpulse.redact) before it leaves the process.
    """

    enabled: bool = False
    sample_rate: float = 0.01          # fraction (0..1) of ordinary calls whose text is kept, by trace id
    max_chars: int = 4000              # per prompt / completion, after redaction, characters
    always_on_error: bool = True       # keep text of failed calls
    always_on_low_score: bool = True   # keep text of calls with an eval score below the threshold (or label "fail")
    low_score_threshold: float = 0.5   # eval score, 0..1 higher is better
    always_on_guardrail: bool = True   # keep text of calls that tripped a guardrail or were refused
    extra_redact_patterns: list[str] = field(default_factory=list)  # regexes -> [REDACTED:custom]

    def __post_init__(self) -> None:
        if not 0.0 <= self.sample_rate <= 1.0:
            raise ValueError("forward.loki.content.sample_rate: must be between 0 and 1")
        if not 1 <= self.max_chars <= 1_000_000:
            raise ValueError("forward.loki.content.max_chars: must be between 1 and 1000000")
        for i, pattern in enumerate(self.extra_redact_patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"forward.loki.content.extra_redact_patterns[{i}]: {exc}") from None


@dataclass
class LokiForwardConfig:
    """One JSON log line per LLM call, pushed to Loki."""

    url: str = ""                      # "" = off; base URL, /loki/api/v1/push is appended
    headers: dict[str, str] = field(default_factory=dict)   # e.g. {"X-Scope-OrgID": "team-a"}
    labels: dict[str, str] = field(default_factory=lambda: {"job": "llmpulse"})  # static stream labels
    max_label_values: int = 200        # distinct values per dynamic label, then __overflow__
    batch_max_lines: int = 500         # lines per push
    batch_interval_seconds: float = 1.0  # longest a line waits for its batch to fill
    queue_max_lines: int = 10000       # calls waiting; beyond this they are dropped
    timeout_seconds: float = 10.0
    max_retries: int = 5
    backoff_initial_seconds: float = 0.5
    backoff_max_seconds: float = 30.0
    content: LokiContentConfig = field(default_factory=LokiContentConfig)

    def __post_init__(self) -> None:
        _check_http_url("forward.loki.url", self.url)
        _check_retry("forward.loki", self.queue_max_lines, self.timeout_seconds,
                     self.max_retries, self.backoff_initial_seconds, self.backoff_max_seconds)
        for name in self.labels:
            if not LABEL_NAME.match(name):
                raise ValueError(f"forward.loki.labels.{name}: not a valid label name")
            if name in DYNAMIC_LABELS:
                raise ValueError(f"forward.loki.labels.{name}: set by llmpulse, cannot be static")
        if self.batch_max_lines < 1 or self.batch_interval_seconds <= 0 or self.max_label_values < 1:
            raise ValueError("forward.loki: batch_max_lines, batch_interval_seconds and "
                             "max_label_values must be positive")


@dataclass
class ForwardConfig:
    otlp: OtlpForwardConfig = field(default_factory=OtlpForwardConfig)
    loki: LokiForwardConfig = field(default_factory=LokiForwardConfig)


def _check_http_url(where: str, url: str) -> None:
    if url and urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"{where}: must be an http:// or https:// URL, got {url!r}")


def _check_retry(where: str, queue_max: int, timeout: float, retries: int,
                 initial: float, maximum: float) -> None:
    if queue_max < 1:
        raise ValueError(f"{where}: queue size must be >= 1")
    if timeout <= 0 or retries < 0 or initial < 0 or maximum < initial:
        raise ValueError(f"{where}: timeout_seconds > 0, max_retries >= 0 and "
                         "0 <= backoff_initial_seconds <= backoff_max_seconds are required")


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
    def __init__(self, registry: CollectorRegistry) -> None:
        self.queue_length = Gauge("llmpulse_forward_queue_length",
                                  "Items waiting to be forwarded (OTLP requests or calls).",
                                  ["sink"], registry=registry)
        self.sent = Counter("llmpulse_forward_sent",
                            "Items forwarded: OTLP requests as received, or Loki log lines.",
                            ["sink"], registry=registry)
        self.dropped = Counter("llmpulse_forward_dropped",
                               "Items given up on, by reason.", ["sink", "reason"], registry=registry)
        self.retries = Counter("llmpulse_forward_retries",
                               "HTTP retries while forwarding.", ["sink"], registry=registry)

    def init_sink(self, sink: str) -> None:
        self.queue_length.labels(sink).set(0)
        self.sent.labels(sink)
        self.retries.labels(sink)
        for reason in (QUEUE_FULL, REJECTED, RETRIES_EXHAUSTED, SHUTDOWN):
            self.dropped.labels(sink, reason)


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
                self.metrics.dropped.labels(self.name, SHUTDOWN).inc(len(items))
                return
            room = self.queue_max - len(self.queue)
            accepted = items if room >= len(items) else items[:max(0, room)]
            self.queue.extend(accepted)
            self.metrics.queue_length.labels(self.name).set(len(self.queue))
            self.cond.notify()
        if len(accepted) < len(items):
            self.metrics.dropped.labels(self.name, QUEUE_FULL).inc(len(items) - len(accepted))

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
            self.metrics.queue_length.labels(self.name).set(0)
        if queued + in_flight:
            self.metrics.dropped.labels(self.name, SHUTDOWN).inc(queued + in_flight)
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
        self.metrics.dropped.labels(self.name, reason).inc(n)

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
            self.metrics.sent.labels(self.name).inc(n)
        else:
            self.metrics.dropped.labels(self.name, outcome).inc(n)
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
            self.metrics.queue_length.labels(self.name).set(len(self.queue))
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
            self.metrics.queue_length.labels(self.name).set(len(self.queue))
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
                                lambda: self.metrics.retries.labels(SINK_OTLP).inc())
            self._otlp = _OtlpSink(o, self.metrics, poster, self._abort)
        lk = config.loki
        if lk.url:
            self.loki_url = loki_push_url(lk.url)
            poster = HttpPoster(self.loki_url, lk.headers, _policy(lk), self._abort,
                                lambda: self.metrics.retries.labels(SINK_LOKI).inc())
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
            self.metrics.dropped.labels(SINK_OTLP, UNSUPPORTED_CONTENT_TYPE).inc()
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
