"""HTTP delivery with the OTLP retry rules, shared by the Tempo and Loki sinks.

Retry policy (OTLP/HTTP specification, "Failures"): 429, 502, 503 and 504 are
retryable, as are connection errors and timeouts; every other status is final.
A ``Retry-After`` header (seconds or an HTTP date) sets the wait, capped at the
maximum backoff; otherwise the wait grows exponentially with jitter.

>>> parse_retry_after("3")
3.0
>>> backoff_seconds(attempt=3, initial_seconds=0.5, max_seconds=30.0, jitter=1.0)
2.0
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import requests

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})

# Outcomes of one delivery (after all retries). The non-"sent" ones are the
# `reason` label values of llmpulse_forward_dropped_total.
SENT = "sent"
REJECTED = "rejected"                    # final (non-retryable) HTTP status
RETRIES_EXHAUSTED = "retries_exhausted"  # still failing after max_retries retries
SHUTDOWN = "shutdown"                    # stop() deadline passed


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header value, or None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def backoff_seconds(attempt: int, initial_seconds: float, max_seconds: float,
                    jitter: float | None = None) -> float:
    """Wait before retry number ``attempt`` (1-based): initial * 2**(attempt-1),
    capped at ``max_seconds``, times a jitter factor in [0.5, 1] (random if None)."""
    base = min(max_seconds, initial_seconds * (2 ** max(0, attempt - 1)))
    factor = random.uniform(0.5, 1.0) if jitter is None else jitter
    return base * factor


@dataclass
class RetryPolicy:
    timeout_seconds: float
    max_retries: int
    backoff_initial_seconds: float
    backoff_max_seconds: float


class HttpPoster:
    """POSTs bodies to one URL, retrying as the OTLP spec says.

    ``abort`` is an Event that, once set, ends waits between retries (used by
    ``Forwarder.stop`` when its deadline passes). ``on_retry`` is called once per
    retry, for the retries counter.
    """

    def __init__(self, url: str, headers: Mapping[str, str], policy: RetryPolicy,
                 abort: threading.Event, on_retry: Callable[[], None]) -> None:
        self.url = url
        self.headers = dict(headers)
        self.policy = policy
        self.abort = abort
        self.on_retry = on_retry
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies or netrc picked up from the environment
        self.last_status: int | None = None

    def post(self, body: bytes, headers: Mapping[str, str]) -> str:
        """Deliver ``body``; returns SENT, REJECTED, RETRIES_EXHAUSTED or SHUTDOWN."""
        all_headers = {**self.headers, **headers}
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                resp = self.session.post(self.url, data=body, headers=all_headers,
                                         timeout=self.policy.timeout_seconds)
                status = resp.status_code
                self.last_status = status
                resp.close()
                if 200 <= status < 300:
                    return SENT
                if status not in RETRYABLE_STATUS:
                    return REJECTED
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            except requests.RequestException:
                self.last_status = None  # connection refused, reset, timeout: retryable
            if attempt >= self.policy.max_retries:
                return RETRIES_EXHAUSTED
            attempt += 1
            if retry_after is not None:
                wait = min(retry_after, self.policy.backoff_max_seconds)
            else:
                wait = backoff_seconds(attempt, self.policy.backoff_initial_seconds,
                                       self.policy.backoff_max_seconds)
            if self.abort.wait(wait):
                return SHUTDOWN
            self.on_retry()

    def close(self) -> None:
        self.session.close()
