"""`llmpulse demo`: the exporter plus a built-in generator of realistic traffic.

    llmpulse demo                                   # embedded exporter, 20 LLM calls/s
    llmpulse demo --scenario provider_outage --scenario-after 300
    llmpulse demo --target http://localhost:4318 --rate 50 --duration 600
    llmpulse demo --list-scenarios
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, TextIO

from llmpulse.cli import UsageError
from llmpulse.demo.scenarios import ALL_SCENARIOS, describe
from llmpulse.demo.sender import Sender
from llmpulse.demo.traffic import Traffic

DEFAULT_RATE = 20.0              # LLM calls per second
TICK_S = 1.0                     # seconds between batches
PROGRESS_EVERY_S = 5.0           # seconds between progress lines


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="run the exporter with built-in realistic LLM traffic",
                       description=__doc__ and __doc__.splitlines()[0])
    p.add_argument("--rate", type=float, default=DEFAULT_RATE, metavar="CALLS_PER_SECOND",
                   help=f"LLM calls per second (default {DEFAULT_RATE:g})")
    p.add_argument("--seed", type=int, default=1, metavar="N", help="random seed (default 1)")
    p.add_argument("--scenario", metavar="NAME", help="incident to simulate (see --list-scenarios)")
    p.add_argument("--scenario-after", type=float, default=0.0, metavar="SECONDS",
                   help="normal traffic for this long before the scenario starts (default 0)")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long (default: forever)")
    p.add_argument("--target", metavar="URL",
                   help="send to this OTLP/HTTP endpoint instead of an embedded exporter")
    p.add_argument("--encoding", choices=("protobuf", "json"), default="protobuf",
                   help="OTLP body encoding (default protobuf)")
    p.add_argument("--gzip", action="store_true", help="gzip request bodies")
    p.add_argument("--token-file", metavar="FILE",
                   help="with --target: send the bearer token in FILE (an empty file sends none); "
                        "the embedded exporter's own token is sent without it")
    p.add_argument("--config", metavar="FILE", help="config file for the embedded exporter")
    p.add_argument("--host", help="address the embedded exporter listens on (default from config)")
    p.add_argument("--metrics-port", type=int, metavar="N", help="embedded exporter /metrics port")
    p.add_argument("--otlp-http-port", type=int, metavar="N", help="embedded exporter OTLP/HTTP port")
    p.add_argument("--otlp-grpc-port", type=int, metavar="N", help="embedded exporter OTLP/gRPC port")
    p.add_argument("--engine-metrics-port", type=int, metavar="N",
                   help="also serve fake vLLM (port N) and SGLang (port N+1) /metrics for the Serving engines "
                        "dashboard; 0 picks free ports")
    p.add_argument("--list-scenarios", action="store_true", help="list the scenarios and exit")
    p.set_defaults(func=run)


@dataclass
class Totals:
    batches: int = 0
    llm_calls: int = 0
    errors: int = 0


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or _stdout()
    if args.list_scenarios:
        print(describe(), file=out)
        return 0
    _validate(args)
    exporter = None
    if args.target:
        url = args.target
        print(f"llmpulse demo: sending to {url}", file=out, flush=True)
    else:
        exporter = _start_embedded(args)
        from llmpulse.app import settle_gc
        settle_gc()
        url = exporter.otlp_http_url
        print(f"llmpulse demo: metrics at {exporter.metrics_url}  (OTLP/HTTP {url}, "
              f"OTLP/gRPC {exporter.otlp_grpc_target or 'off'})", file=out, flush=True)
    if args.scenario:
        sc = ALL_SCENARIOS[args.scenario]
        target = f"{sc.alert} on {sc.service}" if sc.kind == "incident" else f"non-incident, expect {sc.expect}"
        print(f"llmpulse demo: scenario {sc.name} -> {target}"
              f"{f' after {args.scenario_after:g}s' if args.scenario_after else ''}: {sc.description}",
              file=out, flush=True)
    engines = _start_engines(args, out)
    stop = threading.Event()
    restore = _on_sigterm(stop.set)
    # the embedded exporter may require a token (auth in --config, LLMPULSE_AUTH_TOKEN[_FILE]): send its own
    token = exporter.cfg.auth.resolved_token() if exporter is not None else _token(args)
    sender = Sender(url, encoding=args.encoding, gzip=args.gzip, stop=stop, token=token)
    traffic = Traffic(seed=args.seed, scenario=args.scenario, onset_s=args.scenario_after)
    totals = Totals()
    started = time.monotonic()
    deadline = None
    if args.duration is not None:   # also cuts short a retry wait at the end
        deadline = threading.Timer(args.duration, stop.set)
        deadline.daemon = True
        deadline.start()
    try:
        _loop(args, traffic, sender, totals, stop, out, started)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        restore()
        if deadline is not None:
            deadline.cancel()
        if exporter is not None:
            exporter.stop()
        if engines is not None:
            engines.stop()
    print(_progress(totals, sender, traffic, time.monotonic() - started, final=True), file=out, flush=True)
    nothing_arrived = sender.stats.spans_sent == 0 and sender.stats.spans_failed > 0
    return 1 if nothing_arrived else 0


def _loop(args: argparse.Namespace, traffic: Traffic, sender: Sender, totals: Totals,
          stop: threading.Event, out: TextIO, started: float) -> None:
    carry = 0.0
    next_tick = started
    last_progress = started
    while not stop.is_set():
        now = time.monotonic()
        if args.duration is not None and now - started >= args.duration:
            return
        carry += args.rate * TICK_S * traffic.rate_factor(time.time_ns())
        n = int(carry)
        carry -= n
        if n:
            batch = traffic.batch(n, time.time_ns())
            sender.send(batch)
            totals.batches += 1
            totals.llm_calls += batch.llm_calls
            totals.errors += sum(op.is_llm and op.error is not None for op in batch.ops)
        now = time.monotonic()
        if now - last_progress >= PROGRESS_EVERY_S:
            print(_progress(totals, sender, traffic, now - started), file=out, flush=True)
            last_progress = now
        next_tick += TICK_S
        if next_tick < now - TICK_S:   # fell behind (slow endpoint): do not burst to catch up
            next_tick = now
        wait = next_tick - now
        if args.duration is not None:
            wait = min(wait, started + args.duration - now)
        if wait > 0:
            stop.wait(wait)


def _progress(totals: Totals, sender: Sender, traffic: Traffic, elapsed: float, final: bool = False) -> str:
    s = sender.stats
    rate = totals.llm_calls / (totals.batches * TICK_S) if totals.batches else 0.0
    err = totals.errors / totals.llm_calls if totals.llm_calls else 0.0
    scenario = ""
    if traffic.scenario is not None:
        state = "active" if traffic.scenario_active(time.time_ns()) else "pending"
        scenario = f"  scenario {traffic.scenario.name} ({state})"
    failed = f", {s.spans_failed} failed" if s.spans_failed else ""
    last = f"  last error: {s.last_error}" if s.last_error and (s.spans_failed or s.scores_failed) else ""
    head = "llmpulse demo: done" if final else "llmpulse demo:"
    return (f"{head} {elapsed:.0f}s  {totals.llm_calls} LLM calls ({rate:.1f}/s, {err:.1%} errors)  "
            f"spans {s.spans_sent} sent{failed}  logs {s.logs_sent}  scores {s.scores_sent}  "
            f"http retries {s.retries}{scenario}{last}")


def _validate(args: argparse.Namespace) -> None:
    if args.scenario is not None and args.scenario not in ALL_SCENARIOS:
        raise UsageError(f"unknown scenario {args.scenario!r}; choose one of: {', '.join(ALL_SCENARIOS)}")
    if not args.rate > 0:
        raise UsageError("--rate must be > 0")
    if args.duration is not None and not args.duration > 0:
        raise UsageError("--duration must be > 0")
    if args.scenario_after < 0:
        raise UsageError("--scenario-after must be >= 0")
    if args.target and not args.target.startswith(("http://", "https://")):
        raise UsageError(f"--target must be an http(s) URL, not {args.target!r}")
    embedded_only = [f for f in ("config", "host", "metrics_port", "otlp_http_port", "otlp_grpc_port")
                     if getattr(args, f) is not None]
    if args.token_file and not args.target:
        raise UsageError("--token-file: only with --target (the embedded exporter's token, if its config "
                         "sets one, is sent without it)")
    if args.target and embedded_only:
        names = ", ".join("--" + f.replace("_", "-") for f in embedded_only)
        raise UsageError(f"{names}: only for the embedded exporter, not with --target")


def _start_engines(args: argparse.Namespace, out: TextIO) -> Any:
    """Fake vLLM and SGLang endpoints (llmpulse.demo.engines), or None."""
    if args.engine_metrics_port is None:
        return None
    from llmpulse.demo.engines import FakeEngines

    port = args.engine_metrics_port
    ports = {"vllm": port, "sglang": port + 1} if port else {}
    host = args.host or "127.0.0.1"
    try:
        served = FakeEngines(seed=args.seed).serve(addr=host, ports=ports)
    except OSError as exc:
        raise UsageError(f"--engine-metrics-port: cannot listen: {exc}") from None
    print(f"llmpulse demo: fake engines at http://{served.target('vllm')}/metrics (vLLM) and "
          f"http://{served.target('sglang')}/metrics (SGLang)", file=out, flush=True)
    return served


def _token(args: argparse.Namespace) -> str:
    if not args.token_file:
        return ""
    try:
        with open(args.token_file, encoding="utf-8") as fh:
            return fh.read().strip()
    except OSError as exc:
        raise UsageError(f"--token-file: cannot read {args.token_file}: {exc.strerror}") from None


def _start_embedded(args: argparse.Namespace) -> Any:
    try:
        from llmpulse.app import Exporter
        from llmpulse.config import ConfigError, load_config
        from llmpulse.pricing import PriceTableError
    except ImportError as exc:
        raise UsageError(f"the embedded exporter is not available ({exc}); use --target URL") from None
    server = {k: v for k, v in {"host": args.host, "metrics_port": args.metrics_port,
                                "otlp_http_port": args.otlp_http_port,
                                "otlp_grpc_port": args.otlp_grpc_port}.items() if v is not None}
    try:
        cfg = load_config(args.config, {"server": server} if server else None,
                          overrides_source="command line")
    except ConfigError as exc:
        from llmpulse.commands.serve import config_error_report
        raise UsageError(config_error_report(exc, args.config)) from None
    try:
        return Exporter(cfg).start()
    except OSError as exc:
        raise UsageError(f"cannot listen: {exc} (pass --otlp-http-port / --otlp-grpc-port / "
                         "--metrics-port, 0 picks a free port)") from None
    except PriceTableError as exc:
        raise UsageError(exc.report()) from None


def _on_sigterm(handler: Any) -> Any:
    """Stop cleanly on SIGTERM too (Ctrl-C raises KeyboardInterrupt); returns an undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, lambda *_: handler())
    return lambda: signal.signal(signal.SIGTERM, previous)


def _stdout() -> TextIO:
    import sys
    return sys.stdout
