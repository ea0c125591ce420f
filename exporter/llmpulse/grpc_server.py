"""OTLP/gRPC: TraceService, LogsService and MetricsService `Export` on port 4317.

Served by grpc.aio on llmpulse's event loop. Each Export is handled as a stream that must
deliver its one request message within `server.body_timeout_seconds` (else
DEADLINE_EXCEEDED), and a call waiting for its message holds nothing but its stream: no
worker thread and no admission slot (the `Exporter.gate` is taken only once the message is
in). So streams that open and never send cannot shut out other clients. Requests are
taken as raw bytes and decoded by `llmpulse.otlp`, exactly as on the HTTP side.

Connection settings (docs/reliability.md, "OTLP/gRPC"): at most
`server.grpc_max_streams_per_connection` streams per HTTP/2 connection, a keepalive ping
after `server.grpc_keepalive_seconds` without activity (the connection is closed when
it is not answered within 20 s), and a connection without calls closed after
`server.grpc_max_idle_seconds`.
"""

from __future__ import annotations

import asyncio
import logging
import time

import grpc

from llmpulse import otlp
from llmpulse.http_server import INLINE_BODY_BYTES, check_tokens

log = logging.getLogger("llmpulse.grpc")

TRACE_SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
LOGS_SERVICE = "opentelemetry.proto.collector.logs.v1.LogsService"
METRICS_SERVICE = "opentelemetry.proto.collector.metrics.v1.MetricsService"
KEEPALIVE_TIMEOUT_MS = 20_000


class _Abort(Exception):
    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code


def _run(app, signal: str, body: bytes) -> bytes:
    if signal == "traces":
        out = app.pipeline.traces(body, otlp.PROTOBUF)
        return otlp.trace_response(otlp.PROTOBUF, out.rejected, out.message)
    if signal == "logs":
        out = app.pipeline.logs(body, otlp.PROTOBUF)
        return otlp.logs_response(otlp.PROTOBUF, out.rejected, out.message)
    return app.ignored_metrics.accept(body, otlp.PROTOBUF)


def _handler(app, signal: str, workers):
    receive_timeout = app.cfg.server.body_timeout_seconds

    def count(status: grpc.StatusCode, started: float) -> None:
        # before the answer goes out: a client that has its answer sees it counted
        app.metrics.request_done(("grpc", signal, status.name), ("grpc",), time.perf_counter() - started)

    def ended(context: grpc.aio.ServicerContext, started: float) -> None:
        """Count a call that ended before llmpulse answered it."""
        code = grpc.StatusCode.DEADLINE_EXCEEDED if context.time_remaining() == 0 else grpc.StatusCode.CANCELLED
        count(code, started)
        log.debug("grpc: a %s export ended before llmpulse answered (%s: the client cancelled or its deadline passed, "
                  "or gRPC refused a message over server.max_body_bytes with RESOURCE_EXHAUSTED)", signal, code.name)

    async def no_message(context: grpc.aio.ServicerContext, started: float) -> bytes:
        """The request stream ended without a message: either the client sent none (INVALID_ARGUMENT),
        or the call ended before one arrived (the client cancelled, its deadline passed, or gRPC
        refused the message itself for being over `max_body_bytes`, compressed or not, and answered
        RESOURCE_EXHAUSTED). gRPC says which only by refusing a status on an ended call."""
        try:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Export requires exactly one request message")
        except grpc.aio.AbortError:  # sent
            count(grpc.StatusCode.INVALID_ARGUMENT, started)  # the answer went out a moment before
        except Exception:  # the call had ended: gRPC could not send the status (ExecuteBatchError)
            ended(context, started)
        return b""  # never sent: gRPC ends the handler with the abort recorded by context.abort

    async def export(requests, context: grpc.aio.ServicerContext) -> bytes:
        started = time.perf_counter()
        try:
            auth = [v for k, v in context.invocation_metadata() or () if k == "authorization"]
            if not check_tokens(app.token, [v if isinstance(v, str) else v.decode("latin-1") for v in auth]):
                raise _Abort(grpc.StatusCode.UNAUTHENTICATED, "unauthorized")
            try:
                body = await asyncio.wait_for(requests.__anext__(), receive_timeout)
            except asyncio.TimeoutError:
                raise _Abort(grpc.StatusCode.DEADLINE_EXCEEDED,
                             f"no request message within {receive_timeout:g} s") from None
            except StopAsyncIteration:
                return await no_message(context, started)
            if not app.gate.acquire(blocking=False):
                raise _Abort(grpc.StatusCode.UNAVAILABLE, "llmpulse is overloaded, retry later")
            try:
                if len(body) <= INLINE_BODY_BYTES:
                    out = _run(app, signal, body)
                else:
                    out = await asyncio.get_running_loop().run_in_executor(workers, _run, app, signal, body)
            except otlp.DecodeError as exc:
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from None
            finally:
                app.gate.release()
        except _Abort as exc:
            count(exc.code, started)
            await context.abort(exc.code, str(exc))
        except asyncio.CancelledError:
            ended(context, started)
            raise
        except Exception:  # never let a request take the process down
            log.exception("grpc ingest failed")
            count(grpc.StatusCode.INTERNAL, started)
            await context.abort(grpc.StatusCode.INTERNAL, "internal error")
        count(grpc.StatusCode.OK, started)
        return out

    return export


def options(cfg) -> list[tuple[str, int]]:
    """The grpc server's channel arguments for `server.*` (documented in docs/reliability.md)."""
    return [
        ("grpc.max_receive_message_length", cfg.max_body_bytes),
        ("grpc.so_reuseport", 0),
        ("grpc.max_concurrent_streams", cfg.grpc_max_streams_per_connection),
        ("grpc.keepalive_time_ms", int(cfg.grpc_keepalive_seconds * 1000)),
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
        ("grpc.max_connection_idle_ms", int(cfg.grpc_max_idle_seconds * 1000)),
        ("grpc.max_allowed_incoming_connections", cfg.grpc_max_connections),
    ]


async def start(app, host: str, port: int, workers) -> tuple[grpc.aio.Server, int]:
    """Start serving on the running loop; returns the server and the port bound."""
    server = grpc.aio.server(options=options(app.cfg.server))
    for service, signal in ((TRACE_SERVICE, "traces"), (LOGS_SERVICE, "logs"), (METRICS_SERVICE, "metrics")):
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, {
            "Export": grpc.stream_unary_rpc_method_handler(_handler(app, signal, workers)),
        }),))
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError:              # grpcio >= 1.5x raises where older releases returned 0
        bound = 0
    if bound == 0:
        raise OSError(f"OTLP/gRPC on {host}:{port}: cannot bind (the port is in use, or the host is "
                      "not an address of this machine)")
    await server.start()
    return server, bound
