"""The exporter's listeners on one asyncio event loop in a thread of its own.

OTLP/HTTP and the metrics port are uvicorn servers (`llmpulse.http_server`), OTLP/gRPC a
grpc.aio server (`llmpulse.grpc_server`), all on the same loop; bodies over
`http_server.INLINE_BODY_BYTES` and /metrics renders run on worker threads. `close_ingest`
closes the OTLP listeners at once (requests in flight get `grace` seconds), `close` stops the
rest.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import uvicorn

from llmpulse import grpc_server, http_server

log = logging.getLogger("llmpulse")

# uvicorn tells of every start and stop at INFO; llmpulse says what matters itself
for _name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.WARNING)


def listen(host: str, port: int, backlog: int = 128, what: str = "listener") -> socket.socket:
    """A bound, listening TCP socket (port 0 picks a free one); OSError naming `what`, the host and
    the port when it cannot be had (`metrics on 0.0.0.0:9464: Address already in use`)."""
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                          flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise OSError(f"{what} on {host}:{port}: {exc.strerror or exc}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise OSError(f"{what} on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


def uvicorn_server(app, listener: http_server.Listener, **config) -> uvicorn.Server:
    """A uvicorn server for `app` with llmpulse's protocol bound to `listener`."""
    return uvicorn.Server(uvicorn.Config(
        app, http=http_server.Protocol.bound(listener), loop="none", lifespan="off", interface="asgi3",
        access_log=False, log_config=None, log_level="warning", proxy_headers=False, server_header=False,
        date_header=False, timeout_graceful_shutdown=1, backlog=128,
        # uvicorn annotates int; it hands the seconds to loop.call_later, which takes a float
        timeout_keep_alive=listener.limits.idle_timeout,  # type: ignore[arg-type]
        **config))


def bare_server(app, host: str, port: int, limits: http_server.Limits | None = None) -> uvicorn.Server:
    """llmpulse's HTTP server around any ASGI app (the benchmark's bare handler)."""
    from prometheus_client import CollectorRegistry
    listener = http_server.Listener("otlp", limits or http_server.Limits(),
                                    http_server.ConnectionMetrics(CollectorRegistry()))
    return uvicorn_server(app, listener, host=host, port=port)


class _HttpServer:
    """One uvicorn server on one socket, with llmpulse's protocol bound to a `Listener`."""

    def __init__(self, app, sock: socket.socket, listener: http_server.Listener):
        self.sock = sock
        self.listener = listener
        self.server = uvicorn_server(app, listener)
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.server.serve(sockets=[self.sock]))
        while not self.server.started:
            if self.task.done():
                self.task.result()
                raise OSError("the HTTP server stopped while starting")
            await asyncio.sleep(0.005)

    async def stop(self, grace: float) -> None:
        self.server.config.timeout_graceful_shutdown = max(0.01, grace)  # type: ignore[assignment]  # as above
        self.server.should_exit = True
        if self.task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self.task), grace + 1.0)
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - closed below in any case
                pass
        self.listener.close_all()


class Serving:
    """Starts and stops the exporter's listeners (see the module docstring)."""

    def __init__(self, exporter):
        self.exp = exporter
        cfg = exporter.cfg.server
        self.workers = ThreadPoolExecutor(max_workers=max(2, cfg.max_concurrent_requests),
                                          thread_name_prefix="llmpulse-worker")
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="llmpulse-io", daemon=True)
        self.http: dict[str, _HttpServer] = {}
        self.grpc = None
        self.otlp_http_port = self.metrics_port = self.otlp_grpc_port = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def _call(self, coro, timeout: float | None = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> None:
        exp = self.exp
        cfg = exp.cfg.server
        limits = http_server.Limits(max_connections=cfg.max_connections,
                                    header_timeout=cfg.header_timeout_seconds, body_timeout=cfg.body_timeout_seconds,
                                    idle_timeout=cfg.idle_timeout_seconds, send_timeout=cfg.send_timeout_seconds,
                                    max_header_bytes=cfg.max_header_bytes)
        otlp_sock = listen(cfg.host, cfg.otlp_http_port, what="OTLP/HTTP")
        try:
            metrics_sock = listen(cfg.host, cfg.metrics_port, what="metrics")
        except OSError:
            otlp_sock.close()
            raise
        self.otlp_http_port = otlp_sock.getsockname()[1]
        self.metrics_port = metrics_sock.getsockname()[1]
        otlp_app = http_server.OtlpApp(exp, self.workers)
        self.http["otlp"] = _HttpServer(otlp_app, otlp_sock, http_server.Listener(
            "otlp", limits, exp.connection_metrics, on_refused=otlp_app.refused))
        self.http["metrics"] = _HttpServer(http_server.MetricsApp(exp, self.workers), metrics_sock,
                                           http_server.Listener("metrics", limits, exp.connection_metrics))
        self.thread.start()
        for srv in self.http.values():
            self._call(srv.start())
        if cfg.grpc_enabled:
            try:
                self.grpc, self.otlp_grpc_port = self._call(grpc_server.start(exp, cfg.host, cfg.otlp_grpc_port,
                                                                              self.workers))
            except BaseException:
                self.close()          # the HTTP listeners already run: release their ports and threads
                raise

    def connections(self, listener: str) -> int:
        srv = self.http.get(listener)
        return len(srv.listener) if srv is not None else 0

    def close_ingest(self, grace: float) -> None:
        """Close the OTLP listeners (HTTP and gRPC) now; requests in flight get `grace` seconds."""
        if not self.thread.is_alive():
            return
        waits = []
        if "otlp" in self.http:
            waits.append(self.http.pop("otlp").stop(grace))
        if self.grpc is not None:
            waits.append(self.grpc.stop(grace))
            self.grpc = None
        if waits:
            try:
                self._call(_all(waits, grace + 2.0), grace + 3.0)
            except Exception as exc:  # noqa: BLE001 - the loop is stopped in close() whatever happened
                log.warning("ingest listeners did not stop within %.1f s: %r", grace + 2.0, exc)

    def close(self) -> None:
        """Stop everything (after `close_ingest`, or alone)."""
        self.close_ingest(grace=0.5)
        if self.thread.is_alive():
            try:
                if self.http:
                    self._call(_all([s.stop(0.5) for s in self.http.values()], 4.0), 5.0)
            except Exception:  # noqa: BLE001
                pass
            self.http.clear()
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)
        else:
            for srv in self.http.values():
                srv.sock.close()
            self.http.clear()
        self.workers.shutdown(wait=False, cancel_futures=True)


async def _all(coros: list, timeout: float) -> None:
    await asyncio.wait_for(asyncio.gather(*coros, return_exceptions=True), timeout)
