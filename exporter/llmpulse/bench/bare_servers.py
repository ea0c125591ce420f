"""The candidate HTTP servers, each serving a bare OTLP handler: read the whole body, answer 200.

One process per server, so the comparison (`llmpulse.bench.http_servers`) measures
each on its own core, as the exporter runs:

    python -m llmpulse.bench.bare_servers uvicorn-httptools 127.0.0.1 4318

prints ``ready`` and serves until it is sent SIGTERM (or, but for granian, its stdin closes). Every server
gets the tightest deadlines it offers (2 s where it has the knob) so the probes
can see which deadlines exist; `KINDS` names them.
"""

from __future__ import annotations

import sys
import threading

KINDS = ("uvicorn-httptools", "uvicorn-h11", "hypercorn", "granian", "aiohttp", "http.server")
# llmpulse's own server (uvicorn with llmpulse.http_server.Protocol: deadlines, caps) and the bare handler
LLMPULSE_BARE = "llmpulse-protocol"
# uvicorn with httptools and a handler that does the exporter's first step only: decode the body into the
# spans the pipeline reads (llmpulse.otlp.decode_traces: the C decoder, the normaliser's attribute names)
DECODE_ONLY = "uvicorn-decode"
DEADLINE_S = 2        # the tightest header / keep-alive / read deadline given to each server that has one


async def asgi_app(scope, receive, send):
    """ASGI: read every body chunk, answer an empty 200 (an empty ExportTraceServiceResponse)."""
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    size = 0
    more = True
    while more:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            return
        size += len(msg.get("body", b""))
        more = msg.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/x-protobuf"), (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


def decode_only_app():
    """`asgi_app`, but the body is decoded as the exporter decodes it before answering 200 (400 when malformed).

    The floor of any pipeline that takes a span as a Python object: `llmpulse bench` reports its
    requests/s beside bare uvicorn's (`decode_only_vs_bare`, docs/benchmarks.md)."""
    from llmpulse import otlp
    from llmpulse.config import load_config
    from llmpulse.dialects import Normalizer

    cfg = load_config()
    keys = Normalizer(cfg).keys
    limit = cfg.server.max_spans_per_request

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await asgi_app(scope, receive, send)
        chunks = []
        more = True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            chunks.append(msg.get("body", b""))
            more = msg.get("more_body", False)
        try:
            otlp.decode_traces(b"".join(chunks), "application/x-protobuf", limit, keys)
            status = 200
        except otlp.DecodeError:
            status = 400
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/x-protobuf"), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
    return app


def _stop_on_stdin_close(stop) -> None:
    def wait():
        sys.stdin.read()
        stop()
    threading.Thread(target=wait, daemon=True).start()


def serve(kind: str, host: str, port: int) -> None:
    if kind.startswith("uvicorn"):
        import uvicorn
        app, http = (decode_only_app(), "httptools") if kind == DECODE_ONLY else (asgi_app, kind.split("-")[1])
        cfg = uvicorn.Config(app, host=host, port=port, http=http, loop="asyncio",
                             lifespan="off", access_log=False, log_level="warning",
                             timeout_keep_alive=DEADLINE_S, proxy_headers=False, server_header=False,
                             date_header=False)
        server = uvicorn.Server(cfg)
        # uvicorn <0.29's name; harmless later (and unknown to newer uvicorn's types)
        server.install_signal_handlers = lambda: None  # type: ignore[attr-defined]  # noqa: E731
        _stop_on_stdin_close(lambda: setattr(server, "should_exit", True))
        print("ready", flush=True)
        server.run()
    elif kind == LLMPULSE_BARE:
        import asyncio

        from llmpulse.http_server import Limits
        from llmpulse.serving import bare_server
        loop = asyncio.new_event_loop()
        server = bare_server(asgi_app, host, port, Limits(header_timeout=DEADLINE_S, body_timeout=DEADLINE_S,
                                                          idle_timeout=DEADLINE_S))
        _stop_on_stdin_close(lambda: loop.call_soon_threadsafe(setattr, server, "should_exit", True))
        print("ready", flush=True)
        loop.run_until_complete(server.serve())
    elif kind == "hypercorn":
        import asyncio

        from hypercorn.asyncio import serve as hserve
        from hypercorn.config import Config
        cfg = Config()
        cfg.bind = [f"{host}:{port}"]
        cfg.keep_alive_timeout = DEADLINE_S
        cfg.read_timeout = DEADLINE_S
        cfg.loglevel = "WARNING"
        done = asyncio.Event()
        loop = asyncio.new_event_loop()
        _stop_on_stdin_close(lambda: loop.call_soon_threadsafe(done.set))
        print("ready", flush=True)
        loop.run_until_complete(hserve(asgi_app, cfg, shutdown_trigger=done.wait))
    elif kind == "granian":
        import os
        import shutil
        exe = shutil.which("granian") or os.path.join(os.path.dirname(sys.executable), "granian")
        print("ready", flush=True)
        os.execv(exe, [exe, "--interface", "asgi", "--host", host, "--port", str(port), "--workers", "1",
                       "--no-log", "--http1-header-read-timeout", str(DEADLINE_S * 1000),
                       "llmpulse.bench.bare_servers:asgi_app"])
    elif kind == "aiohttp":
        from aiohttp import web

        async def handle(request):
            await request.read()
            return web.Response(body=b"", content_type="application/x-protobuf")
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/v1/traces", handle)
        import asyncio
        loop = asyncio.new_event_loop()
        runner = web.AppRunner(app, access_log=None, keepalive_timeout=DEADLINE_S)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, host, port).start())
        done = asyncio.Event()
        _stop_on_stdin_close(lambda: loop.call_soon_threadsafe(done.set))
        print("ready", flush=True)
        loop.run_until_complete(done.wait())
        loop.run_until_complete(runner.cleanup())
    elif kind == "http.server":
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True
            timeout = DEADLINE_S

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass
        srv = ThreadingHTTPServer((host, port), H)
        srv.daemon_threads = True
        _stop_on_stdin_close(srv.shutdown)
        print("ready", flush=True)
        srv.serve_forever()
    else:
        raise SystemExit(f"unknown server {kind!r}: one of {', '.join(KINDS)}")


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], int(sys.argv[3]))
