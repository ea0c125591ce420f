"""OTLP/gRPC: TraceService/Export and LogsService/Export on port 4317.

Requests are taken as raw bytes and decoded by `llmpulse.otlp`, exactly as on
the HTTP side, so both transports share one pipeline.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import grpc

from llmpulse import otlp
from llmpulse.http_server import check_token

log = logging.getLogger("llmpulse.grpc")

TRACE_SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
LOGS_SERVICE = "opentelemetry.proto.collector.logs.v1.LogsService"


def _handler(app, signal: str):
    def run(body: bytes) -> bytes:
        if signal == "traces":
            out = app.pipeline.traces(body, otlp.PROTOBUF)
            return otlp.trace_response(otlp.PROTOBUF, out.rejected, out.message)
        out = app.pipeline.logs(body, otlp.PROTOBUF)
        return otlp.logs_response(otlp.PROTOBUF, out.rejected, out.message)

    def export(body: bytes, context: grpc.ServicerContext) -> bytes:
        started = time.perf_counter()
        status, message = grpc.StatusCode.OK, ""
        try:
            if not check_token(app.token, dict(context.invocation_metadata()).get("authorization")):
                status, message = grpc.StatusCode.UNAUTHENTICATED, "unauthorized"
            elif not app.gate.acquire(blocking=False):
                status, message = grpc.StatusCode.UNAVAILABLE, "llmpulse is overloaded, retry later"
            else:
                try:
                    return run(body)
                except otlp.DecodeError as exc:
                    status, message = grpc.StatusCode.INVALID_ARGUMENT, str(exc)
                except Exception:  # never let a request take the process down
                    log.exception("grpc ingest failed")
                    status, message = grpc.StatusCode.INTERNAL, "internal error"
                finally:
                    app.gate.release()
        finally:
            app.metrics.count(app.metrics.requests, ("grpc", signal, status.name))
            app.metrics.observe(app.metrics.ingest, ("grpc",), time.perf_counter() - started)
        context.abort(status, message)

    return export


def serve(app, host: str, port: int) -> tuple[grpc.Server, int]:
    cfg = app.cfg.server
    server = grpc.server(
        ThreadPoolExecutor(max_workers=max(2, cfg.max_concurrent_requests), thread_name_prefix="llmpulse-grpc"),
        maximum_concurrent_rpcs=cfg.max_concurrent_requests * 4,
        options=[("grpc.max_receive_message_length", cfg.max_body_bytes),
                 ("grpc.so_reuseport", 0)],
    )
    for service, signal in ((TRACE_SERVICE, "traces"), (LOGS_SERVICE, "logs")):
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, {
            "Export": grpc.unary_unary_rpc_method_handler(_handler(app, signal)),
        }),))
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind OTLP/gRPC on {host}:{port}")
    server.start()
    return server, bound
