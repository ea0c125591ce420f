"""A recording OTLP/HTTP receiver: keeps every request body exactly as sent, with its headers.

>>> rx = OtlpRecorder().start()
>>> import urllib.request
>>> urllib.request.urlopen(urllib.request.Request(rx.url + "/v1/traces", data=b"",
...     headers={"content-type": "application/x-protobuf"})).status
200
>>> rx.requests[0].signal, rx.requests[0].content_type
('traces', 'application/x-protobuf')
>>> rx.stop()
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SIGNALS = {"/v1/traces": "traces", "/v1/metrics": "metrics", "/v1/logs": "logs"}


@dataclass
class Recorded:
    signal: str
    content_type: str
    content_encoding: str
    body: bytes
    received: float


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._read_chunked()
        else:
            body = self.rfile.read(length) if length else b""
        signal = SIGNALS.get(self.path.split("?", 1)[0].rstrip("/"))
        ctype = (self.headers.get("content-type") or "").split(";")[0].strip().lower()
        if signal is None:
            self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        with self.server.lock:
            self.server.recorded.append(Recorded(signal, ctype, (self.headers.get("content-encoding") or "").lower(),
                                                 body, time.time()))
        reply = b"{}" if ctype == "application/json" else b""
        self.send_response(200)
        self.send_header("content-type", ctype or "application/x-protobuf")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def _read_chunked(self) -> bytes:
        out = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return out
            out += self.rfile.read(size)
            self.rfile.readline()


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class OtlpRecorder:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._server = _Server((host, port), _Handler)
        self._server.lock = threading.Lock()
        self._server.recorded = []
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-recorder", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[Recorded]:
        with self._server.lock:
            return list(self._server.recorded)

    def start(self) -> "OtlpRecorder":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
