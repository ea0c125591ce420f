"""What the fakes served: one `Served` record per response, kept in a `ResponseLog`.

Expected figures (tests/fakes/expected.py) are derived from this log only.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import asdict, dataclass, field

# HTTP status -> the cause a failed call is counted under (the documented set)
CAUSES = {429: "rate_limited", 500: "server_error", 502: "server_error", 503: "server_error",
          504: "timeout", 529: "server_error", 400: "bad_request", 401: "auth", 403: "auth"}

# provider finish reason -> the exporter's normalised finish reason (docs/dialects.md)
FINISH = {"stop": "stop", "end_turn": "stop", "stop_sequence": "stop", "length": "length",
          "max_tokens": "length", "tool_calls": "tool_calls", "tool_use": "tool_calls",
          "content_filter": "content_filter", "refusal": "content_filter"}


@dataclass
class Served:
    seq: int = 0
    provider: str = ""
    api: str = ""                   # openai.chat | openai.responses | openai.embeddings | anthropic.messages
    operation: str = ""             # chat | embeddings
    model: str = ""
    stream: bool = False
    status: int = 200
    error_type: str = ""            # the provider's error type in the body, e.g. server_error, api_error
    cause: str = ""                 # rate_limited, server_error, ... (from the status)
    response_id: str = ""
    input: int = 0                  # total prompt tokens, cached ones included
    output: int = 0                 # generated tokens, reasoning included
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0
    finish_reason: str = ""         # as the provider spelled it
    finish: str = ""                # normalised
    tool_calls: int = 0
    request_sha256: str = ""        # the same body twice (a retry) is one call
    path: str = ""
    extra: dict = field(default_factory=dict)

    def start(self, provider, api, model, stream, operation) -> None:
        self.provider, self.api, self.model, self.stream, self.operation = provider, api, model, stream, operation

    def fail(self, status: int, error_type: str) -> None:
        self.status, self.error_type, self.cause = status, error_type, CAUSES.get(status, "_OTHER")

    def tokens(self, input=0, cache_read=0, cache_write=0, reasoning=0) -> None:
        self.input, self.cache_read, self.cache_write, self.reasoning = input, cache_read, cache_write, reasoning

    def done(self, reason: str | None, output: int) -> None:
        self.output = output
        if reason:
            self.finish_reason, self.finish = reason, FINISH.get(reason, "other")

    def make_id(self, prefix: str) -> str:
        self.response_id = f"{prefix}{self.seq:04d}"
        return self.response_id

    @property
    def billed(self) -> bool:
        return self.status == 200 and self.api != "openai.models"

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Reply:
    """A JSON body with a status, or a list of server-sent events (event name or None, data)."""
    status: int = 200
    body: object = None
    events: list | None = None
    headers: dict = field(default_factory=dict)

    @classmethod
    def json(cls, body, status: int = 200) -> "Reply":
        return cls(status=status, body=body)

    @classmethod
    def sse(cls, events: list) -> "Reply":
        return cls(events=events)


class ResponseLog:
    """Thread-safe list of `Served` records, in the order the responses were made."""

    def __init__(self):
        self._lock = threading.Lock()
        self._items: list[Served] = []

    def new(self, path: str, raw_body: bytes) -> Served:
        with self._lock:
            s = Served(seq=len(self._items) + 1, path=path, request_sha256=hashlib.sha256(raw_body).hexdigest())
            self._items.append(s)
            return s

    def records(self) -> list[dict]:
        with self._lock:
            return [s.as_dict() for s in self._items]

    def dump(self, path) -> None:
        with open(path, "w") as f:
            json.dump(self.records(), f, indent=1)
