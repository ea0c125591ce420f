"""Send demo batches to an OTLP/HTTP endpoint: traces, eval logs, scores.

Protobuf (default) or OTLP/JSON bodies, optionally gzip. Retries follow the
OTLP spec: only 429, 502, 503 and 504 (and connection failures) are retried,
honouring `Retry-After`, a bounded number of times.

>>> s = Sender("http://127.0.0.1:4318/")
>>> s.base_url, s.stats.spans_sent
('http://127.0.0.1:4318', 0)
"""

from __future__ import annotations

import email.utils
import gzip as gzip_lib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from llmpulse.demo import otlp_json
from llmpulse.demo.traffic import Batch

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
DEFAULT_MAX_RETRIES = 3           # retries after the first attempt
DEFAULT_MAX_BACKOFF_S = 10.0      # cap on one wait, seconds (Retry-After included)
DEFAULT_TIMEOUT_S = 10.0          # per HTTP request, seconds
FIRST_BACKOFF_S = 0.5             # exponential backoff start when no Retry-After, seconds


@dataclass
class SendStats:
    """Running counts; `*_failed` are items the endpoint never accepted."""

    requests: int = 0
    retries: int = 0
    spans_sent: int = 0
    spans_rejected: int = 0       # partial success: received but rejected
    spans_failed: int = 0
    logs_sent: int = 0
    logs_rejected: int = 0
    logs_failed: int = 0
    scores_sent: int = 0
    scores_rejected: int = 0
    scores_failed: int = 0
    waits_s: list[float] = field(default_factory=list)   # every backoff wait, seconds
    last_error: str = ""


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date).

    >>> retry_after_seconds("3"), retry_after_seconds(None), retry_after_seconds("soon")
    (3.0, None, None)
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class Sender:
    def __init__(self, base_url: str, *, encoding: str = "protobuf", gzip: bool = False,
                 timeout_s: float = DEFAULT_TIMEOUT_S, max_retries: int = DEFAULT_MAX_RETRIES,
                 max_backoff_s: float = DEFAULT_MAX_BACKOFF_S, session: requests.Session | None = None,
                 stop: threading.Event | None = None, sleep: Callable[[float], None] | None = None,
                 token: str = "") -> None:
        if encoding not in ("protobuf", "json"):
            raise ValueError(f"encoding must be protobuf or json, not {encoding!r}")
        base = base_url.rstrip("/")
        for suffix in ("/v1/traces", "/v1/logs", "/v1/scores"):
            base = base.removesuffix(suffix)
        self.base_url = base
        self.encoding = encoding
        self.gzip = gzip
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.max_backoff_s = max_backoff_s
        self.session = session or requests.Session()
        self.stop = stop or threading.Event()
        self._sleep = sleep or (lambda s: self.stop.wait(s))
        self.stats = SendStats()
        self.token = token   # bearer token of the target; "" sends no Authorization header

    # ---- public --------------------------------------------------------

    def send(self, batch: Batch) -> None:
        """Post the batch's traces, logs and scores; update `stats`."""
        spans = batch.span_count
        resp = self._post_otlp("/v1/traces", batch.traces)
        if resp is not None and resp.ok:
            rejected = _rejected(resp, ExportTraceServiceResponse, "rejectedSpans")
            self.stats.spans_sent += spans - rejected
            self.stats.spans_rejected += rejected
        else:
            self.stats.spans_failed += spans
        if batch.logs is not None:
            n = batch.log_count
            resp = self._post_otlp("/v1/logs", batch.logs)
            if resp is not None and resp.ok:
                rejected = _rejected(resp, ExportLogsServiceResponse, "rejectedLogRecords")
                self.stats.logs_sent += n - rejected
                self.stats.logs_rejected += rejected
            else:
                self.stats.logs_failed += n
        if batch.scores:
            self.send_scores(batch.scores)

    def send_scores(self, scores: list[dict]) -> None:
        body = json.dumps({"scores": scores}, separators=(",", ":")).encode("utf-8")
        resp = self.post("/v1/scores", body, "application/json")
        if resp is None or (not resp.ok and resp.status_code != 400):  # 400: answered, all rejected
            self.stats.scores_failed += len(scores)
            return
        try:
            answer = resp.json()
            accepted, rejected = int(answer.get("accepted", 0)), int(answer.get("rejected", 0))
        except (ValueError, AttributeError):
            accepted, rejected = (len(scores), 0) if resp.ok else (0, len(scores))
        self.stats.scores_sent += accepted
        self.stats.scores_rejected += rejected

    def post(self, path: str, body: bytes, content_type: str) -> requests.Response | None:
        """POST with bounded retries; None when every attempt failed to connect."""
        headers = {"Content-Type": content_type}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.gzip:
            body = gzip_lib.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
        url = self.base_url + path
        resp: requests.Response | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.stats.retries += 1
            self.stats.requests += 1
            try:
                resp = self.session.post(url, data=body, headers=headers, timeout=self.timeout_s)
            except requests.RequestException as exc:
                resp = None
                self.stats.last_error = f"{path}: {type(exc).__name__}: {exc}"
                wait = FIRST_BACKOFF_S * 2 ** attempt
            else:
                if resp.status_code not in RETRYABLE_STATUS:
                    if not resp.ok:
                        self.stats.last_error = f"{path}: HTTP {resp.status_code}: {resp.text[:200]}"
                    return resp
                self.stats.last_error = f"{path}: HTTP {resp.status_code}"
                wait = retry_after_seconds(resp.headers.get("Retry-After"))
                if wait is None:
                    wait = FIRST_BACKOFF_S * 2 ** attempt
            if attempt == self.max_retries or self.stop.is_set():
                break
            wait = min(wait, self.max_backoff_s)
            self.stats.waits_s.append(wait)
            self._sleep(wait)
            if self.stop.is_set():
                break
        return resp

    # ---- internals -----------------------------------------------------

    def _post_otlp(self, path: str, message: Message) -> requests.Response | None:
        if self.encoding == "json":
            return self.post(path, otlp_json.dumps(message), "application/json")
        return self.post(path, message.SerializeToString(deterministic=True), "application/x-protobuf")


def _rejected(resp: requests.Response, response_cls: type[Message], json_key: str) -> int:
    """Rejected items from an OTLP partial-success answer (0 if none or unreadable)."""
    body = resp.content
    if not body:
        return 0
    if resp.headers.get("Content-Type", "").startswith("application/json"):
        try:
            value: Any = json.loads(body).get("partialSuccess", {}).get(json_key, 0)
            return int(value or 0)
        except (ValueError, AttributeError, TypeError):
            return 0
    msg = response_cls()
    try:
        msg.ParseFromString(body)
    except DecodeError:
        return 0
    field_name = "rejected_spans" if json_key == "rejectedSpans" else "rejected_log_records"
    # either response class has partial_success; `response_cls` is typed as protobuf's Message
    return int(getattr(msg.partial_success, field_name))  # type: ignore[attr-defined]
