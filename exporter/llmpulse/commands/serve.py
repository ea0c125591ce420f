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
        return load_config(args.config, {"server": server} if server else None,
                           overrides_source="command line")
    except ConfigError as exc:
        raise UsageError(config_error_report(exc, args.config)) from None


def config_error_report(exc: ConfigError, config_path: str | None) -> str:
    """`exc`'s report, followed by the problems of the price files the config names (`pricing.files`),
    so that one run reports both (they were read only once the config was valid: two runs to find them)."""
    import os

    import yaml

    from llmpulse.pricing import PriceTable, PriceTableError
    from llmpulse.typed import FilePath, relative_to

    report = exc.report()
    try:
        with open(config_path or "", encoding="utf-8") as f:
            files = yaml.safe_load(f)["pricing"]["files"]
    except Exception:       # no file, not YAML, no pricing.files: the config report says what is wrong
        return report
    if not isinstance(files, list) or not all(isinstance(p, str) and p for p in files):
        return report
    paths = relative_to(list[FilePath], files, os.path.dirname(config_path or ""))   # as load_config reads them
    try:
        PriceTable.load(paths)
    except PriceTableError as price_exc:
        return report + "\n" + price_exc.report()
    return report


def start_exporter(args: argparse.Namespace):
    from llmpulse.app import Exporter
    from llmpulse.pricing import PriceTableError

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = config_from_args(args)
    try:
        return Exporter(cfg).start()
    except PriceTableError as exc:
        raise UsageError(exc.report()) from None
    except OSError as exc:
        raise UsageError(f"cannot listen: {exc}") from None


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
RELOAD_SIGNAL = signal.SIGHUP


def block_stop_signals() -> None:
    """Block SIGINT/SIGTERM (and SIGHUP) in this (the main) thread before any other thread starts.

    Threads inherit the mask, so the kernel can deliver the signals to no thread but the
    one that waits for them in `wait_for_signal`. (A Python handler runs only in the main
    thread, and only once that thread runs again: with the signal delivered to a busy
    worker thread, a main thread asleep in `Event.wait()` never woke - issue 13, item 5.)
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS | {RELOAD_SIGNAL})


def wait_for_signal(on_reload=None) -> int:
    """Wait for SIGINT or SIGTERM (blocked by `block_stop_signals`); returns its number.

    Each SIGHUP meanwhile calls `on_reload()` on a thread of its own, so a stop is never
    kept waiting behind a reload."""
    while True:
        sig = signal.sigwait(STOP_SIGNALS | {RELOAD_SIGNAL})
        if sig != RELOAD_SIGNAL:
            return sig
        if on_reload is not None:
            threading.Thread(target=on_reload, name="llmpulse-reload", daemon=True).start()


def _hard_stop_after(seconds: float) -> None:
    """Exit at once when a second stop signal comes, or when shutdown overruns `seconds`."""
    def second_signal() -> None:
        sig = signal.sigwait(STOP_SIGNALS)
        logging.getLogger("llmpulse").warning("%s during shutdown: exiting now", signal.Signals(sig).name)
        _exit(1)

    def overrun() -> None:
        logging.getLogger("llmpulse").warning("shutdown took longer than %.1f s: exiting now", seconds)
        _exit(1)

    threading.Thread(target=second_signal, name="llmpulse-signals", daemon=True).start()
    timer = threading.Timer(seconds, overrun)
    timer.daemon = True
    timer.start()


def _exit(code: int) -> None:
    import os
    import sys
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run(args: argparse.Namespace) -> int:
    from llmpulse.app import settle_gc

    block_stop_signals()
    exporter = start_exporter(args)
    settle_gc()
    # where it listens, once, on stdout (with port 0 the only way to learn the port; Exporter.start logs it at DEBUG)
    print(f"llmpulse: OTLP/HTTP {exporter.otlp_http_url}  OTLP/gRPC {exporter.otlp_grpc_target or 'off'}  "
          f"metrics {exporter.metrics_url}", flush=True)
    sig = wait_for_signal(on_reload=exporter.reload)
    drain = exporter.cfg.server.shutdown_drain_seconds
    logging.getLogger("llmpulse").info("%s: stopping (forwarding queues drain for at most %.1f s)",
                                       signal.Signals(sig).name, drain)
    _hard_stop_after(drain + 1.5)
    exporter.stop()
    logging.getLogger("llmpulse").info("stopped")
    return 0


def register(sub) -> None:
    p = sub.add_parser("serve", help="run the exporter (OTLP in, /metrics out)")
    add_server_flags(p)
    p.set_defaults(func=run)
