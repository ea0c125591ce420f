"""The HTTP side: OTLP/HTTP ingest (+ /v1/scores) on one port, /metrics and health on another.

Served by uvicorn with its httptools protocol (llhttp: strict RFC 9112 framing), chosen by
measurement (docs/benchmarks.md, "The HTTP server"). `Protocol` extends uvicorn's protocol
with what a receiver on the open network needs and uvicorn lacks: a deadline for a request's
headers and another for its whole body (not per read), a cap on header bytes, a connection cap
that closes the least useful connection rather than refusing a newcomer, only `chunked` as a
transfer coding, and a lingering close, so a client refused early still reads its answer.

Statuses follow the OTLP/HTTP specification: 200 (with partial_success when some spans were
rejected), 400 malformed, 401 unauthorised, 408 too slow, 413 too large (also after
decompression), 415 unsupported type or encoding, 503 with Retry-After when busy. Error
bodies are a google.rpc.Status in the request's encoding.

>>> gunzip(gzip.compress(b"abc"), 10), gunzip(gzip.compress(b"ab") + gzip.compress(b"c"), 10)
(b'abc', b'abc')
>>> check_token("s3cret", "bearer s3cret"), check_token("s3cret", "Bearer nope")
(True, False)
"""

from __future__ import annotations

import asyncio
import gzip
import hmac
import json
import logging
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httptools
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.exposition import choose_encoder
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from llmpulse import exposition, otlp
from llmpulse.series import PlainCounter

log = logging.getLogger("llmpulse.http")

GRPC_INVALID_ARGUMENT = 3
GRPC_DEADLINE_EXCEEDED = 4
GRPC_NOT_FOUND = 5
GRPC_RESOURCE_EXHAUSTED = 8
GRPC_INTERNAL = 13
GRPC_UNAVAILABLE = 14
GRPC_UNAUTHENTICATED = 16

SIGNALS = {"/v1/traces": "traces", "/v1/logs": "logs", "/v1/scores": "scores", "/v1/metrics": "metrics"}
PATHS_HINT = "POST /v1/traces, /v1/logs, /v1/metrics or /v1/scores"
INLINE_BODY_BYTES = 1024 * 1024     # decoded on the event loop; larger bodies on a worker thread

# why a connection was closed by llmpulse (llmpulse_http_connections_closed_total{reason})
CLOSE_REASONS = ("header_timeout", "body_timeout", "idle_timeout", "send_timeout", "pipelined", "evicted",
                 "bad_request", "refused")
MAX_PIPELINED = 32        # requests a connection may send ahead of its answers; beyond: closed ("pipelined")


class HttpError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None, close: bool = False):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}
        self.close = close


class ClientGone(Exception):
    """The client closed its connection before its request was complete."""


def check_token(expected: str, header: str | None) -> bool:
    """Constant-time bearer token check; an empty expected token means auth is off."""
    if not expected:
        return True
    if not header or header[:7].lower() != "bearer ":     # the scheme is case-insensitive (RFC 7235)
        return False
    return hmac.compare_digest(header[7:].strip().encode(), expected.encode())


def check_tokens(expected: str, headers: list[str]) -> bool:
    """`check_token` over every Authorization value sent: more than one is never authorised
    (HTTP and gRPC refuse alike, instead of each picking a different one)."""
    if not expected:
        return True
    return len(headers) == 1 and check_token(expected, headers[0])


GZIP_PIECE = 256 * 1024       # compressed bytes fed to zlib at a time (bounds the copy of what follows a member)
MAX_GZIP_MEMBERS = 1024       # concatenated gzip members in one body (RFC 1952 2.2); beyond: 400


def gunzip(body: bytes, limit: int) -> bytes:
    """The decompressed body: every member of a multi-member gzip stream in turn (as `gzip -d`
    and Go's gzip reader do), refused (413) as soon as the output passes `limit` bytes; 400 when
    truncated, followed by bytes that are not gzip, or not gzip at all."""
    out: list[bytes] = []
    size = pos = members = 0
    view = memoryview(body)
    try:
        while True:
            members += 1
            if members > MAX_GZIP_MEMBERS:
                raise HttpError(400, f"gzip body has more than {MAX_GZIP_MEMBERS} members")
            d = zlib.decompressobj(wbits=31)
            while not d.eof:
                if pos >= len(body):
                    raise HttpError(400, "gzip body is truncated")
                piece = view[pos:pos + GZIP_PIECE]
                pos += len(piece)
                chunk = d.decompress(piece, limit - size + 1)
                size += len(chunk)
                if size > limit or d.unconsumed_tail:
                    raise HttpError(413, f"decompressed body exceeds the limit of {limit} bytes", close=True)
                out.append(chunk)
            pos -= len(d.unused_data)            # the next member's first bytes, read with this one's end
            if pos >= len(body):
                break
    except zlib.error as exc:
        where = f" (member {members}, at byte {pos})" if members > 1 else ""
        raise HttpError(400, f"body is not valid gzip{where}: {exc}") from None
    return out[0] if len(out) == 1 else b"".join(out)


def error_body(signal: str | None, mtype: str, status: int, message: str) -> tuple[bytes, str]:
    """A google.rpc.Status for an HTTP error, in the request's encoding (JSON when unknown)."""
    code = {401: GRPC_UNAUTHENTICATED, 503: GRPC_UNAVAILABLE, 429: GRPC_RESOURCE_EXHAUSTED,
            408: GRPC_DEADLINE_EXCEEDED, 404: GRPC_NOT_FOUND, 500: GRPC_INTERNAL}.get(status, GRPC_INVALID_ARGUMENT)
    if status == 401:
        message = "unauthorized"
    if status == 401 or signal == "scores" or mtype not in (otlp.PROTOBUF, otlp.JSON):
        return json.dumps({"code": code, "message": message}).encode(), otlp.JSON
    return otlp.status_body(mtype, code, message)


# ----------------------------------------------------------------- connections

@dataclass(frozen=True)
class Limits:
    """What one listener allows a connection (from `server.*`, docs/reliability.md)."""

    max_connections: int = 256
    header_timeout: float = 10.0     # seconds from a request's first byte to the end of its headers
    body_timeout: float = 30.0       # seconds from the end of the headers to the end of the body
    idle_timeout: float = 30.0       # seconds a connection may wait, idle, for its next request
    send_timeout: float = 30.0       # seconds an answer may wait for the client to read any of it
    max_header_bytes: int = 65536    # request line + headers
    linger_seconds: float = 2.0      # after an early answer, input is read and dropped this long before closing


class ConnectionMetrics:
    """Self-metrics of the HTTP listeners, on the registry passed in."""

    def __init__(self, registry: CollectorRegistry):
        self.open = Gauge("llmpulse_http_connections", "Open HTTP connections.", ["listener"], registry=registry)
        self.closed = PlainCounter("llmpulse_http_connections_closed",
                                   "HTTP connections closed by llmpulse, by reason.", ["listener", "reason"],
                                   registry=registry)
        for listener in ("otlp", "metrics"):
            self.open.labels(listener).set(0)
            for reason in CLOSE_REASONS:
                self.closed.labels(listener, reason)


# a connection's phase
IDLE, HEADERS, BODY, WAITING, LINGER = range(5)
SWEEP_SECONDS = 0.25      # how often deadlines are checked: each fires within this much of its time


class Listener:
    """One port's open connections, its limits, and what happens at the cap.

    At `max_connections`, a new connection closes the one that has gone longest without
    progress: idle since its last answer (or its start), still sending the headers or the
    body of a request begun longest ago, or not reading the answer it was sent. Connections
    whose request is being processed are never closed. So slow or idle clients cannot keep a
    normal one out: a normal client's connection was answered moments ago, a slow one's
    request began long ago.
    """

    def __init__(self, name: str, limits: Limits, metrics: ConnectionMetrics, on_refused=None):
        self.name = name
        self.limits = limits
        self.metrics = metrics
        self.conns: dict[Protocol, None] = {}
        self.on_refused = on_refused      # (status, signal) -> None, for requests answered by the protocol
        self._ticking = False
        self._open = metrics.open.labels(name)
        self._closed = {r: metrics.closed.labels(name, r) for r in CLOSE_REASONS}

    def __len__(self) -> int:
        return len(self.conns)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Every `SWEEP_SECONDS` while connections are open: expire those past their deadline.

        One timer per listener instead of one per request phase (a request would otherwise
        arm and cancel three)."""
        now = loop.time()
        unread = now - self.limits.send_timeout     # answers waiting since before this: not being read
        for c in [c for c in self.conns if (c.due and c.due <= now) or (c.stalled and c.stalled <= unread)]:
            if c.stalled and c.stalled <= unread:
                c.unread()
            else:
                c.expired()
        self._ticking = bool(self.conns)
        if self._ticking:
            loop.call_later(SWEEP_SECONDS, self._sweep, loop)

    def add(self, proto: "Protocol") -> bool:
        if not self._ticking:
            self._ticking = True
            proto.loop.call_later(SWEEP_SECONDS, self._sweep, proto.loop)
        if len(self.conns) >= self.limits.max_connections:
            victim = self._victim()
            if victim is None:
                self.closed("refused")
                return False
            self.closed("evicted")
            self.conns.pop(victim, None)        # gone now: its connection_lost comes a loop turn later
            victim.abort()
        self.conns[proto] = None
        self._open.set(len(self.conns))
        return True

    def _victim(self) -> "Protocol | None":
        best, best_since = None, 0.0
        for c in self.conns:
            if c.stalled:             # its answer waits for the client to read: no progress since then
                since = c.stalled
            elif c.phase != WAITING:
                since = c.since
            else:
                continue
            if best is None or since < best_since:
                best, best_since = c, since
        return best

    def remove(self, proto: "Protocol") -> None:
        if self.conns.pop(proto, 0) is None:
            self._open.set(len(self.conns))

    def closed(self, reason: str) -> None:
        self._closed[reason].inc()

    def close_all(self) -> None:
        for c in list(self.conns):
            c.abort()


class _Reject(Exception):
    def __init__(self, status: int, message: str, reason: str = "bad_request"):
        super().__init__(message)
        self.status = status
        self.reason = reason


class _LingeringTransport:
    """The transport uvicorn's request cycle writes to: `close()` while the request body is
    still arriving reads and drops the rest for a moment first, so the client reads its answer
    instead of a reset (RFC 9112 section 9.6)."""

    __slots__ = ("_t", "_p", "write", "is_closing")

    def __init__(self, transport, proto: "Protocol"):
        self._t = transport
        self._p = proto
        # what every request calls, bound once (not through __getattr__ per call)
        self.write = transport.write
        self.is_closing = transport.is_closing

    def close(self) -> None:
        self._p.linger()

    def __getattr__(self, name):
        return getattr(self._t, name)


class Protocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with llmpulse's deadlines, caps and strict transfer codings.

    Bound to a `Listener` by `Protocol.bound(listener)`.
    """

    listener: Listener

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self.raw_transport = transport
        # a proxy of the transport (its close lingers); uvicorn only calls Transport methods on it
        self.transport = _LingeringTransport(transport, self)  # type: ignore[assignment]
        self.header_bytes = 0
        self.chunked = False
        self.url = b""
        self.stalled = 0.0        # loop time the transport's buffer went over its high-water mark, 0 below it
        self._set(IDLE, self.listener.limits.idle_timeout)     # idle from its start, as after each answer
        if not self.listener.add(self):
            transport.abort()

    def connection_lost(self, exc) -> None:
        self.listener.remove(self)
        self.due = 0.0
        if self.phase in (HEADERS, BODY):       # the one line a reset or early close logs (issue 12 item 7)
            log.debug("http: client %s closed its connection before its %srequest was complete", _peer(self),
                      (self.url.split(b"?", 1)[0].decode("latin-1") + " ") if self.phase == BODY else "")
        super().connection_lost(exc)

    def abort(self) -> None:
        """Close now, without an answer (the connection cap)."""
        self._closing()
        self.raw_transport.abort()

    def _closing(self) -> None:
        self.phase = LINGER          # llmpulse closes it: not the client's doing (connection_lost)
        self.due = 0.0

    # --- deadlines (checked by Listener._sweep)
    def _set(self, phase: int, seconds: float) -> None:
        self.phase = phase
        self.since = now = self.loop.time()
        self.due = now + seconds if seconds else 0.0

    def expired(self) -> None:
        self.due = 0.0
        phase = self.phase
        if phase == IDLE:
            if not self.raw_transport.is_closing():
                self.listener.closed("idle_timeout")
                if self.raw_transport.get_write_buffer_size():
                    self.abort()                     # close() would wait for an unread answer
                else:
                    self.raw_transport.close()
        elif phase == LINGER:
            self.raw_transport.close()
        elif phase == HEADERS:
            self.reject(408, f"request headers not received within {self.listener.limits.header_timeout:g} s",
                        "header_timeout")
        elif phase == BODY:
            self.reject(408, f"request body not received within {self.listener.limits.body_timeout:g} s",
                        "body_timeout")

    def unread(self) -> None:
        """The client has read nothing of its answer for `send_timeout`: close, dropping the answer."""
        self.stalled = 0.0
        self.listener.closed("send_timeout")
        log.debug("http: client %s read none of its answer in %g s; connection closed", _peer(self),
                  self.listener.limits.send_timeout)
        self.abort()

    # --- output (uvicorn's flow control, timed)
    def pause_writing(self) -> None:
        super().pause_writing()
        self.stalled = self.loop.time()

    def resume_writing(self) -> None:
        super().resume_writing()
        self.stalled = 0.0

    # --- input
    def data_received(self, data: bytes) -> None:
        if self.phase == LINGER:
            return                                     # an answer has gone out: drop the rest
        if self.phase in (IDLE, WAITING):              # a new request begins (pipelined, when WAITING)
            self._set(HEADERS, self.listener.limits.header_timeout)
            self.header_bytes = 0
            self.chunked = False
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            err = exc.__context__
            if isinstance(err, _Reject):
                self.reject(err.status, str(err), err.reason)
            else:
                log.error("http: request handling failed: %r", err)
                self.reject(500, "internal error", "bad_request")
        except httptools.HttpParserUpgrade:
            self.reject(400, "protocol upgrades are not supported", "bad_request")
        except httptools.HttpParserError as exc:
            what = "chunked encoding" if self.chunked else "HTTP request"
            self.reject(400, f"malformed {what}: {exc}", "bad_request")

    # asyncio.Protocol.eof_received may return True (keep the half-closed transport open to answer);
    # uvicorn annotates its own as returning None
    def eof_received(self) -> bool | None:  # type: ignore[override]
        if self.phase == HEADERS:
            self.reject(400, "connection closed before the request headers were complete", "bad_request")
        elif self.phase == BODY:
            self.reject(400, "body is shorter than Content-Length (connection closed)", "bad_request")
        elif self.phase == WAITING and self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False       # half-closed: answer, then close
            return True
        return None

    def on_message_begin(self) -> None:
        # each request's headers are counted alone: several pipelined in one read are not summed
        self.header_bytes = 0
        self.chunked = False
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count_header(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value) + 4
        if self.header_bytes > self.listener.limits.max_header_bytes:
            self._count_header(0)           # raises
        if len(name) == 17 and name.lower() == b"transfer-encoding":
            self.chunked = True
        super().on_header(name, value)

    def _count_header(self, n: int) -> None:
        self.header_bytes += n
        if self.header_bytes > self.listener.limits.max_header_bytes:
            raise _Reject(431, f"request headers exceed {self.listener.limits.max_header_bytes} bytes")

    def on_headers_complete(self) -> None:
        if len(self.pipeline) >= MAX_PIPELINED:      # its answers are not being read: bound what waits
            raise _Reject(503, f"more than {MAX_PIPELINED} requests sent ahead of their answers", "pipelined")
        codings = [v for n, v in self.headers if n == b"transfer-encoding"] if self.chunked else ()
        if codings and (len(codings) > 1 or codings[0].strip().lower() != b"chunked"):
            raise _Reject(400, "unsupported transfer coding "
                               f"{b', '.join(codings).decode('latin-1')!r}: only chunked is accepted")
        self._set(BODY, self.listener.limits.body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        if self.phase == LINGER:
            self.raw_transport.close()
            return
        self._set(WAITING, 0)
        super().on_message_complete()

    def on_response_complete(self) -> None:
        # uvicorn's, less its keep-alive timer: the idle deadline is llmpulse's (Listener._sweep)
        self.server_state.total_requests += 1
        if self.raw_transport.is_closing():
            return
        if self.pipeline:                     # the next pipelined request, already read
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            if not self.pipeline:             # read on only once no request waits (uvicorn reads on at once)
                self.flow.resume_reading()
            return
        self.flow.resume_reading()
        if self.phase == WAITING:
            self._set(IDLE, self.listener.limits.idle_timeout)

    # --- answers the protocol gives itself
    def reject(self, status: int, message: str, reason: str) -> None:
        """Answer `status` (unless an answer has started), close, and count why."""
        self.due = 0.0
        self.listener.closed(reason)
        cycle = self.cycle
        if self.phase == BODY:       # the cycle is this request's: an answer may have started
            busy = cycle is not None and cycle.response_started
        else:                        # a pipelined request's headers: an earlier answer may be pending
            busy = cycle is not None and not cycle.response_complete
        if self.phase == BODY and cycle is not None and not cycle.response_complete:
            cycle.disconnected = True              # the app stops waiting for the body
            cycle.message_event.set()
        path = self.url.split(b"?", 1)[0].decode("latin-1")
        signal = SIGNALS.get(path)
        if self.listener.on_refused is not None and self.phase in (HEADERS, BODY) and not busy:
            self.listener.on_refused(status, signal)
        if busy or self.raw_transport.is_closing():
            self._closing()
            self.raw_transport.close()
            return
        body, ctype = error_body(signal, "", status, message)        # JSON: the encoding may be unknown yet
        head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\ncontent-type: {ctype}\r\n"
                f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode()
        self.raw_transport.write(head + body)
        self.linger()

    def linger(self) -> None:
        """Close once the answer is out; while the request body is still arriving, drop it for
        at most `linger_seconds` first (not for headers: a slow sender gains nothing)."""
        if self.phase == BODY and not self.raw_transport.is_closing():
            self._set(LINGER, self.listener.limits.linger_seconds)
            self.flow.resume_reading()
        else:
            self._closing()
            self.raw_transport.close()

    @classmethod
    def bound(cls, listener: Listener) -> type["Protocol"]:
        return type(f"{cls.__name__}_{listener.name}", (cls,), {"listener": listener})


_REASONS = {400: "Bad Request", 408: "Request Timeout", 413: "Payload Too Large",
            431: "Request Header Fields Too Large", 500: "Internal Server Error"}


def _peer(proto: HttpToolsProtocol) -> str:
    return "%s:%d" % proto.client if proto.client else "?"


# ----------------------------------------------------------------- the applications

_HTTP = ("http",)
# the requests counter's key of the usual answers, built once
_REQUEST_KEYS: dict[tuple[str | None, int], tuple[str, str, str]] = {
    (signal, status): ("http", signal, str(status)) for signal in SIGNALS.values() for status in (200, 400)}
_CTYPES = {t: t.encode() for t in (otlp.PROTOBUF, otlp.JSON, "text/plain")}
_EMPTY_LENGTH = (b"content-length", b"0")


async def _respond(send, status: int, body: bytes, ctype: str, headers: dict | None = None,
                   close: bool = False) -> None:
    h = [(b"content-type", _CTYPES.get(ctype) or ctype.encode()),
         (b"content-length", str(len(body)).encode()) if body else _EMPTY_LENGTH]
    for k, v in (headers or {}).items():
        h.append((k.lower().encode(), str(v).encode()))
    if close:
        h.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": h})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive, limit: int) -> bytes:
    """The whole request body, refused (413) as soon as it passes `limit` bytes however it is framed."""
    chunks, size = [], 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            raise ClientGone
        chunk = msg.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise HttpError(413, f"body exceeds the limit of {limit} bytes", close=True)
        if chunk:
            chunks.append(chunk)
        if not msg.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class OtlpApp:
    """The ASGI application of the OTLP/HTTP port."""

    def __init__(self, exporter, workers: ThreadPoolExecutor):
        self.exp = exporter
        self.workers = workers
        self.limit = exporter.cfg.server.max_body_bytes
        self.retry_after = str(exporter.cfg.server.retry_after_seconds)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if method != "POST":
            if method in ("GET", "HEAD") and path in ("/healthz", "/readyz"):
                return await _respond(send, 200, b"ok\n", "text/plain")
            if path in SIGNALS:         # the path exists; the method does not (RFC 9110 15.5.6)
                self.refused(405, SIGNALS[path])
                return await _respond(send, 405, f"{method} {path}: use POST ({PATHS_HINT})\n".encode(),
                                      "text/plain", {"Allow": "POST"})
            return await _respond(send, 404, f"not found: {PATHS_HINT}\n".encode(), "text/plain")
        exp = self.exp
        signal = SIGNALS.get(path)
        started = time.perf_counter()
        headers: dict | None = None
        close = False
        ctype = encoding = length = None
        auth: list[str] = []
        chunked = False
        for k, v in scope["headers"]:
            if k == b"content-type":
                ctype = v
            elif k == b"content-encoding":
                encoding = v
            elif k == b"authorization":
                auth.append(v.decode("latin-1"))
            elif k == b"content-length":
                length = v
            elif k == b"transfer-encoding":
                chunked = True
        mtype = otlp.media_type(ctype.decode("latin-1")) if ctype is not None else ""
        try:
            if signal is None:
                raise HttpError(404, f"unknown path {path}: {PATHS_HINT}", close=True)
            if not check_tokens(exp.token, auth):
                raise HttpError(401, "unauthorized", {"WWW-Authenticate": "Bearer"}, close=True)
            allowed = (otlp.JSON,) if signal == "scores" else (otlp.PROTOBUF, otlp.JSON)
            if mtype not in allowed:
                raise HttpError(415, f"unsupported content type {mtype or '(none)'!r}: use " + " or ".join(allowed),
                                close=True)
            enc = encoding.decode("latin-1").strip().lower() if encoding is not None else "identity"
            if enc not in ("gzip", "identity"):
                raise HttpError(415, f"unsupported content encoding {enc!r}: use gzip or none", close=True)
            if length is None and not chunked:
                raise HttpError(411, "Content-Length is required", close=True)
            if length is not None and int(length) > self.limit:       # digits only: llhttp checked it
                raise HttpError(413, f"body of {int(length)} bytes exceeds the limit of {self.limit} bytes",
                                close=True)
            # The body is read before admission: a slow sender holds no decoding slot.
            body = await _read_body(receive, self.limit)
            if enc == "gzip":
                body = gunzip(body, self.limit)
            # Admission: at most max_concurrent_requests decoded at once; beyond, 503 at once.
            if not exp.gate.acquire(blocking=False):
                raise HttpError(503, "llmpulse is overloaded, retry later", {"Retry-After": self.retry_after})
            try:
                if len(body) <= INLINE_BODY_BYTES:
                    status, payload, out_type = self.ingest(signal, body, mtype)
                else:
                    status, payload, out_type = await asyncio.get_running_loop().run_in_executor(
                        self.workers, self.ingest, signal, body, mtype)
            finally:
                exp.gate.release()
        except HttpError as exc:
            status, headers, close = exc.status, exc.headers, exc.close
            payload, out_type = error_body(signal, mtype, exc.status, str(exc))
        except otlp.DecodeError as exc:
            status = 413 if isinstance(exc, otlp.TooManyItems) else 400
            payload, out_type = error_body(signal, mtype, status, str(exc))
        except ClientGone:          # logged once, by Protocol.connection_lost
            return
        except Exception:  # never let a request take the process down
            log.exception("ingest failed")
            status = 500
            payload, out_type = error_body(signal, mtype, 500, "internal error")
        # counted before the answer goes out: a client that has its answer sees it counted
        key = _REQUEST_KEYS.get((signal, status))
        if key is None:
            key = ("http", signal or "other", str(status))
        exp.metrics.request_done(key, _HTTP, time.perf_counter() - started)
        await _respond(send, status, payload, out_type, headers, close)

    def ingest(self, signal: str, body: bytes, mtype: str) -> tuple[int, bytes, str]:
        pipeline = self.exp.pipeline
        if signal == "traces":
            out = pipeline.traces(body, mtype)
            return 200, otlp.trace_response(mtype, out.rejected, out.message), mtype
        if signal == "logs":
            out = pipeline.logs(body, mtype)
            return 200, otlp.logs_response(mtype, out.rejected, out.message), mtype
        if signal == "metrics":
            return 200, self.exp.ignored_metrics.accept(body, mtype), mtype
        out = pipeline.scores(body)
        doc = {"accepted": out.accepted, "rejected": out.rejected, "errors": out.errors}
        status = 400 if out.rejected and not out.accepted else 200
        return status, json.dumps(doc).encode(), otlp.JSON

    def refused(self, status: int, signal: str | None) -> None:
        """Count a request the protocol answered itself (framing, deadlines, header size)."""
        self.exp.metrics.count(self.exp.metrics.requests, ("http", signal or "other", str(status)))


class MetricsApp:
    """The ASGI application of the metrics port: GET /metrics (text or OpenMetrics), /healthz, /readyz."""

    def __init__(self, exporter, workers: ThreadPoolExecutor):
        self.exp = exporter
        self.workers = workers

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        exp = self.exp
        path = scope["path"]
        if path == "/healthz":
            return await _respond(send, 200, b"ok\n", "text/plain")
        if path == "/readyz":
            ok = exp.ready.is_set()
            return await _respond(send, 200 if ok else 503, b"ready\n" if ok else b"not ready\n", "text/plain")
        if path != "/metrics" or scope["method"] not in ("GET", "HEAD"):
            return await _respond(send, 404, b"not found: /metrics, /healthz, /readyz\n", "text/plain")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if exp.cfg.auth.protect_metrics and not check_tokens(
                exp.token, [v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"]):
            return await _respond(send, 401, b"unauthorized\n", "text/plain", {"WWW-Authenticate": "Bearer"})
        gz = "gzip" in headers.get("accept-encoding", "")
        body, ctype = await asyncio.get_running_loop().run_in_executor(
            self.workers, _render, exp, headers.get("accept", ""), gz)
        await _respond(send, 200, body, ctype, {"Content-Encoding": "gzip"} if gz else None)


def _render(exp, accept: str, gz: bool) -> tuple[bytes, str]:
    body, ctype = metrics_body(exp, accept)
    return (gzip.compress(body, compresslevel=1) if gz else body), ctype


def metrics_body(app, accept: str) -> tuple[bytes, str]:
    """The /metrics body and its content type for an Accept header (what the scrape handler serves)."""
    _encoder, ctype = choose_encoder(accept)
    return exposition.render(app.metrics, app.registry, ctype.startswith("application/openmetrics-text")), ctype
