"""`llmpulse serve`: run the exporter until interrupted.

    llmpulse serve --config llmpulse.yaml --metrics-port 9464
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from llmpulse.cli import UsageError
from llmpulse.config import ConfigError, load_config


def add_server_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="YAML config file (default: built-in defaults)")
    p.add_argument("--host", help="address to listen on (default 0.0.0.0)")
    p.add_argument("--otlp-http-port", type=int, metavar="N", help="OTLP/HTTP port (default 4318)")
    p.add_argument("--otlp-grpc-port", type=int, metavar="N", help="OTLP/gRPC port (default 4317)")
    p.add_argument("--metrics-port", type=int, metavar="N", help="Prometheus /metrics port (default 9464)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def config_from_args(args: argparse.Namespace):
    server = {k: v for k, v in {
        "host": args.host, "otlp_http_port": args.otlp_http_port,
        "otlp_grpc_port": args.otlp_grpc_port, "metrics_port": args.metrics_port,
    }.items() if v is not None}
    try:
        return load_config(args.config, {"server": server} if server else None)
    except ConfigError as exc:
        raise UsageError("invalid configuration:\n  " + "\n  ".join(exc.problems)) from None


def start_exporter(args: argparse.Namespace):
    from llmpulse.app import Exporter
    from llmpulse.pricing import PriceTableError

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = config_from_args(args)
    try:
        return Exporter(cfg).start()
    except PriceTableError as exc:
        raise UsageError(f"invalid price table:\n  {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot listen: {exc}") from None


def wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def run(args: argparse.Namespace) -> int:
    from llmpulse.app import settle_gc

    exporter = start_exporter(args)
    settle_gc()
    print(f"llmpulse: OTLP/HTTP {exporter.otlp_http_url}  OTLP/gRPC {exporter.otlp_grpc_target or 'off'}  "
          f"metrics {exporter.metrics_url}", flush=True)
    wait_for_signal()
    exporter.stop()
    return 0


def register(sub) -> None:
    p = sub.add_parser("serve", help="run the exporter (OTLP in, /metrics out)")
    add_server_flags(p)
    p.set_defaults(func=run)
