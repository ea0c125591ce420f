"""One loopback HTTP server that speaks the OpenAI and Anthropic APIs, with a log of every response.

>>> fake = FakeProviders().start()
>>> import json, urllib.request
>>> req = urllib.request.Request(fake.openai_base_url + "/chat/completions", method="POST",
...     data=json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi there"}]}).encode(),
...     headers={"content-type": "application/json"})
>>> json.load(urllib.request.urlopen(req))["usage"]["prompt_tokens"]
6
>>> fake.log.records()[0]["finish"]
'stop'
>>> fake.stop()

OpenAI SDKs take `openai_base_url` (…/v1); Anthropic SDKs take `anthropic_base_url`
(they add /v1/messages themselves). Streams are sent with chunked transfer encoding,
one SSE event per chunk, so HTTP/1.1 keep-alive works for both.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import anthropic_api, openai_api
from .served import Reply, ResponseLog

ROUTES = {
    "/v1/chat/completions": openai_api.chat,
    "/v1/embeddings": openai_api.embeddings,
    "/v1/responses": openai_api.responses,
    "/v1/messages": anthropic_api.messages,
}
GET_ROUTES = {"/v1/models": openai_api.models}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, *args) -> None:       # quiet: the ResponseLog is the record
        pass

    def _route(self, table) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        # some clients put the API root elsewhere (…/openai/v1, …/anthropic/v1); match the tail
        handler = next((h for p, h in table.items() if path.endswith(p)), None)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        if handler is None:
            self._send(Reply.json({"error": {"message": f"no route {path}", "type": "invalid_request_error"}}, 404))
            return
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            self._send(Reply.json({"error": {"message": "invalid JSON", "type": "invalid_request_error"}}, 400))
            return
        if handler is openai_api.models:
            self._send(handler(body, None))
            return
        served = self.server.log.new(path, raw)
        reply = handler(body, served)
        self._send(reply, request_id=f"req_fake{served.seq:04d}")

    def do_POST(self) -> None:
        self._route(ROUTES)

    def do_GET(self) -> None:
        self._route(GET_ROUTES)

    def _send(self, reply: Reply, request_id: str = "req_fake") -> None:
        self.send_response(reply.status)
        self.send_header("x-request-id", request_id)
        self.send_header("request-id", request_id)
        if reply.status in (429, 500, 529):
            self.send_header("retry-after-ms", "10")
            self.send_header("retry-after", "0")
        for k, v in reply.headers.items():
            self.send_header(k, v)
        if reply.events is None:
            data = json.dumps(reply.body).encode()
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for name, data in reply.events:
            text = data if isinstance(data, str) else json.dumps(data)
            chunk = ((f"event: {name}\n" if name else "") + f"data: {text}\n\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    log: ResponseLog


class FakeProviders:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.log = ResponseLog()
        self._server = _Server((host, port), _Handler)
        self._server.log = self.log
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-providers", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openai_base_url(self) -> str:
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    def start(self) -> "FakeProviders":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
