"""The HTTP side: OTLP/HTTP ingest (+ /v1/scores) on one port, /metrics and health on another.

Statuses follow the OTLP/HTTP specification: 200 (with partial_success when
some spans were rejected), 400 malformed, 401 unauthorised, 413 too large
(also after decompression), 415 unsupported type or encoding, 503 with
Retry-After when busy.
"""

from __future__ import annotations

import gzip
import hmac
import json
import logging
import socket
import socketserver
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client.exposition import choose_encoder

from llmpulse import exposition, otlp

log = logging.getLogger("llmpulse.http")

GRPC_INVALID_ARGUMENT = 3
GRPC_UNAVAILABLE = 14
GRPC_UNAUTHENTICATED = 16
GRPC_RESOURCE_EXHAUSTED = 8


class HttpError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def check_token(expected: str, header: str | None) -> bool:
    """Constant-time bearer token check; an empty expected token means auth is off."""
    if not expected:
        return True
    if not header or header[:7].lower() != "bearer ":     # the scheme is case-insensitive (RFC 7235)
        return False
    return hmac.compare_digest(header[7:].strip().encode(), expected.encode())


def gunzip(body: bytes, limit: int) -> bytes:
    d = zlib.decompressobj(wbits=31)
    try:
        out = d.decompress(body, limit + 1)
        if len(out) > limit or d.unconsumed_tail:
            raise HttpError(413, f"decompressed body exceeds the limit of {limit} bytes")
        out += d.flush()
        if not d.eof:
            raise HttpError(400, "gzip body is truncated")
    except zlib.error as exc:
        raise HttpError(400, f"body is not valid gzip: {exc}") from None
    if len(out) > limit:
        raise HttpError(413, f"decompressed body exceeds the limit of {limit} bytes")
    return out


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, app, max_connections: int):
        self.app = app
        self.max_connections = max_connections
        self.active = 0
        self.active_lock = threading.Lock()
        super().__init__(addr, handler)

    def process_request(self, request, client_address):
        with self.active_lock:
            if self.active >= self.max_connections:
                self.shutdown_request(request)      # bounded: no thread for this one
                return
            self.active += 1
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.active_lock:
                self.active -= 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True      # headers and a small body go out at once (no delayed-ACK stalls)
    server_version = "llmpulse"
    sys_version = ""
    timeout = 30

    def setup(self):
        super().setup()
        # headers and body go out in separate writes: without this, Nagle's algorithm
        # and delayed ACKs add ~40 ms to every keep-alive request
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:      # the client is already gone; the request read will end it
            pass

    def log_message(self, format, *args):  # noqa: A002 - signature from the base class
        log.debug("%s %s", self.address_string(), format % args)

    def send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self, limit: int) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            return self._read_chunked(limit)
        length = self.headers.get("Content-Length")
        if length is None:
            raise HttpError(411, "Content-Length is required")
        try:
            n = int(length)
        except ValueError:
            raise HttpError(400, "Content-Length is not a number") from None
        if n < 0:
            raise HttpError(400, "Content-Length is negative")
        if n > limit:
            self.close_connection = True
            raise HttpError(413, f"body of {n} bytes exceeds the limit of {limit} bytes")
        body = self.rfile.read(n)
        if len(body) != n:
            self.close_connection = True
            raise HttpError(400, "body is shorter than Content-Length")
        return body

    def discard_body(self, limit: int, chunk: int = 65536) -> None:
        """Read and drop the body without holding it (used when a request is refused)."""
        length = self.headers.get("Content-Length")
        if length is None or "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True      # not worth parsing: close instead
            return
        try:
            left = int(length)
        except ValueError:
            left = -1
        if not 0 <= left <= limit:
            self.close_connection = True
            return
        while left > 0:
            got = self.rfile.read(min(chunk, left))
            if not got:
                self.close_connection = True
                return
            left -= len(got)

    def _read_chunked(self, limit: int) -> bytes:
        parts, total = [], 0
        while True:
            line = self.rfile.readline(64)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise HttpError(400, "malformed chunked encoding") from None
            if size == 0:
                self.rfile.readline(64)
                return b"".join(parts)
            total += size
            if total > limit:
                self.close_connection = True
                raise HttpError(413, f"body exceeds the limit of {limit} bytes")
            parts.append(self.rfile.read(size))
            self.rfile.readline(8)


class OtlpHandler(_Handler):
    """POST /v1/traces, /v1/logs (OTLP) and /v1/scores (JSON)."""

    def do_GET(self):
        if self.path in ("/healthz", "/readyz"):
            self.send(200, b"ok\n", "text/plain")
        else:
            self.send(404, b"not found: POST /v1/traces, /v1/logs or /v1/scores\n", "text/plain")

    def do_POST(self):
        app = self.server.app
        path = self.path.split("?", 1)[0]
        signal = {"/v1/traces": "traces", "/v1/logs": "logs", "/v1/scores": "scores"}.get(path)
        ctype = self.headers.get("Content-Type", "")
        mtype = otlp.media_type(ctype)
        started = time.perf_counter()
        status = 500
        try:
            if signal is None:
                self.close_connection = True
                raise HttpError(404, f"unknown path {path}: POST /v1/traces, /v1/logs or /v1/scores")
            if not check_token(app.token, self.headers.get("Authorization")):
                self.close_connection = True
                raise HttpError(401, "unauthorized", {"WWW-Authenticate": "Bearer"})
            allowed = (otlp.JSON,) if signal == "scores" else (otlp.PROTOBUF, otlp.JSON)
            if mtype not in allowed:
                self.close_connection = True
                raise HttpError(415, f"unsupported content type {mtype or '(none)'!r}: use "
                                     + " or ".join(allowed))
            encoding = (self.headers.get("Content-Encoding") or "identity").strip().lower()
            if encoding not in ("gzip", "identity"):
                self.close_connection = True
                raise HttpError(415, f"unsupported content encoding {encoding!r}: use gzip or none")
            limit = app.cfg.server.max_body_bytes
            # Admission before the body is kept: at most max_concurrent_requests bodies are
            # in memory at once; a refused body is read in small chunks and thrown away, so
            # the client still gets its 503 and the connection stays usable.
            if not app.gate.acquire(blocking=False):
                self.discard_body(limit)
                raise HttpError(503, "llmpulse is overloaded, retry later",
                                {"Retry-After": str(app.cfg.server.retry_after_seconds)})
            try:
                body = self.read_body(limit)
                if encoding == "gzip":
                    body = gunzip(body, limit)
                status, payload, out_type = self._ingest(app, signal, body, mtype)
            finally:
                app.gate.release()
            self.send(status, payload, out_type)
        except HttpError as exc:
            status = exc.status
            self._send_error(exc, signal, mtype)
        except otlp.DecodeError as exc:
            status = 413 if isinstance(exc, otlp.TooManyItems) else 400
            self._send_error(HttpError(status, str(exc)), signal, mtype)
        except Exception:  # never let a request take the process down
            log.exception("ingest failed")
            status = 500
            self._send_error(HttpError(500, "internal error"), signal, mtype)
        finally:
            app.metrics.count(app.metrics.requests, ("http", signal or "other", str(status)))
            app.metrics.observe(app.metrics.ingest, ("http",), time.perf_counter() - started)

    def _ingest(self, app, signal: str, body: bytes, mtype: str) -> tuple[int, bytes, str]:
        if signal == "traces":
            out = app.pipeline.traces(body, mtype)
            return 200, otlp.trace_response(mtype, out.rejected, out.message), mtype
        if signal == "logs":
            out = app.pipeline.logs(body, mtype)
            return 200, otlp.logs_response(mtype, out.rejected, out.message), mtype
        out = app.pipeline.scores(body)
        doc = {"accepted": out.accepted, "rejected": out.rejected, "errors": out.errors}
        status = 400 if out.rejected and not out.accepted else 200
        return status, json.dumps(doc).encode(), otlp.JSON

    def _send_error(self, exc: HttpError, signal: str | None, mtype: str) -> None:
        grpc_code = {401: GRPC_UNAUTHENTICATED, 503: GRPC_UNAVAILABLE, 429: GRPC_RESOURCE_EXHAUSTED}.get(
            exc.status, GRPC_INVALID_ARGUMENT)
        if signal == "scores" or mtype not in (otlp.PROTOBUF, otlp.JSON):
            body, ctype = json.dumps({"code": grpc_code, "message": str(exc)}).encode(), otlp.JSON
        else:
            body, ctype = otlp.status_body(mtype, grpc_code, str(exc))
        if exc.status == 401:
            body = json.dumps({"code": grpc_code, "message": "unauthorized"}).encode()
            ctype = otlp.JSON
        try:
            self.send(exc.status, body, ctype, exc.headers)
        except OSError:
            pass


class MetricsHandler(_Handler):
    """GET /metrics (text or OpenMetrics, negotiated), /healthz, /readyz."""

    def do_GET(self):
        app = self.server.app
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            return self.send(200, b"ok\n", "text/plain")
        if path == "/readyz":
            ok = app.ready.is_set()
            return self.send(200 if ok else 503, b"ready\n" if ok else b"starting\n", "text/plain")
        if path != "/metrics":
            return self.send(404, b"not found: /metrics, /healthz, /readyz\n", "text/plain")
        if app.cfg.auth.protect_metrics and not check_token(app.token, self.headers.get("Authorization")):
            return self.send(401, b"unauthorized\n", "text/plain", {"WWW-Authenticate": "Bearer"})
        body, ctype = metrics_body(app, self.headers.get("Accept", ""))
        headers = {}
        if "gzip" in (self.headers.get("Accept-Encoding") or ""):
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        self.send(200, body, ctype, headers)

    do_HEAD = do_GET


def metrics_body(app, accept: str) -> tuple[bytes, str]:
    """The /metrics body and its content type for an Accept header (what the scrape handler serves)."""
    _encoder, ctype = choose_encoder(accept)
    return exposition.render(app.metrics, app.registry, ctype.startswith("application/openmetrics-text")), ctype


def serve(host: str, port: int, handler, app, max_connections: int) -> tuple[socketserver.BaseServer, threading.Thread]:
    server = _Server((host, port), handler, app, max_connections)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              name=f"llmpulse-{handler.__name__}", daemon=True)
    thread.start()
    return server, thread
