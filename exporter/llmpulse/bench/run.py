"""The whole benchmark: every figure a ratio or a per-unit cost measured side by side in this run.

>>> sorted(TARGETS)[:3]
['attack_rss_growth_mb', 'cpu_per_call_vs_otel_sdk', 'ingest_vs_floor']
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import platform
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace

from prometheus_client import CollectorRegistry

from llmpulse import otlp
from llmpulse.bench import growth, ingest, scrape
from llmpulse.bench.otel_sdk import OtelRecorder
from llmpulse.bench.payloads import FORMATS, SpanPool
from llmpulse.bench.server import ServerProcess
from llmpulse.bench.stores import steady_state
from llmpulse.config import load_config
from llmpulse.metrics import Metrics
from llmpulse.pipeline import Pipeline
from llmpulse.pricing import PriceTable

# issue 6 targets: (comparison, bound); "<=" means the figure must not exceed the bound
TARGETS = {
    "ingest_vs_floor": (">=", 0.5),
    "cpu_per_call_vs_otel_sdk": ("<=", 1 / 3),
    "scrape_vs_generate_latest": ("<=", 0.5),
    "throughput_10k_vs_10": (">=", 0.8),
    "attack_rss_growth_mb": ("<", 50.0),
    "p99_ingest_ms_512": ("<", 50.0),
    "small_requests_vs_bare": (">=", 0.7),      # issue 13
}


@dataclass(frozen=True)
class Plan:
    """How much work each part does; `quick` keeps the whole run under a minute on 2 cores."""

    pool_calls: int
    ingest_rounds: int            # alternating (HTTP, floor) rounds per point; the median ratio is kept
    spans_per_point: int          # spans sent per (format, batch) throughput point
    batch1_requests: int
    floor_seconds: float
    cpu_calls: int                # per round
    cpu_rounds: int               # alternating (llmpulse, OTel SDK) rounds; the median ratio is kept
    scrape_sizes: tuple[int, ...]
    scrape_repeats: int
    growth_spans: int
    growth_rounds: int            # alternating (10, 10,000 label sets) rounds; the median ratio is kept
    attack_models: int
    attack_warmup: int
    latency_seconds: float
    small_rounds: int             # alternating (llmpulse, bare uvicorn) rounds per small batch size; median kept
    small_seconds: float          # longest a round sends (it ends sooner when its fresh requests run out)
    store_scale: float            # the exporter's bounded stores (tracking.*) at this fraction of their defaults


QUICK = Plan(pool_calls=600, ingest_rounds=1, spans_per_point=6_000, batch1_requests=600, floor_seconds=0.3,
             cpu_calls=3_000, cpu_rounds=3, scrape_sizes=(100, 1_000), scrape_repeats=1, growth_spans=6_000,
             growth_rounds=1, attack_models=30_000, attack_warmup=30_000, latency_seconds=4.0, small_rounds=3, small_seconds=1.0,
             store_scale=0.1)
FULL = Plan(pool_calls=3_000, ingest_rounds=7, spans_per_point=60_000, batch1_requests=3_000, floor_seconds=2.0,
            cpu_calls=20_000, cpu_rounds=5, scrape_sizes=(100, 1_000, 10_000), scrape_repeats=3,
            growth_spans=11 * 8_192, growth_rounds=11, attack_models=1_000_000, attack_warmup=250_000,
            latency_seconds=20.0, small_rounds=7, small_seconds=3.0, store_scale=1.0)
BATCHES = (1, 64, 512)
SMALL_BATCHES = (1, 10)
SMALL_SENDERS = 4


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("llmpulse", "prometheus-client", "protobuf", "opentelemetry-sdk"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    try:
        from google.protobuf.internal import api_implementation
        out["protobuf_backend"] = api_implementation.Type()
    except ImportError:
        pass
    return out


def machine() -> str:
    model = platform.processor() or "unknown cpu"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), {platform.system()} " \
           f"{platform.release()}"


def run(quick: bool = False, log: Callable[[str], None] = lambda s: None, attack_models: int | None = None) -> dict:
    plan = QUICK if quick else FULL
    if attack_models:
        plan = replace(plan, attack_models=attack_models)
    started = time.perf_counter()
    res: dict = {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "machine": machine(),
                 "versions": _versions(), "mode": "quick" if quick else "full",
                 "load_average_start": os.getloadavg()[0]}
    pool = SpanPool(seed=7, calls=plan.pool_calls)

    # 1. ingest over OTLP/HTTP vs the floor
    overrides, fill = steady_state(plan.store_scale)
    res["steady_state"] = {**overrides["tracking"], "spans_sent_first": fill}
    log(f"filling the exporter's bounded stores ({fill:,} spans first)")
    server = ServerProcess(overrides)
    try:
        ingest.send_all(server.otlp_url, pool.bodies(512, fill // 512 + 1, "protobuf"), "protobuf")
        log("ingest over OTLP/HTTP vs the floor")
        points = {}
        for fmt in FORMATS:
            for batch in BATCHES:
                points[f"{fmt}_{batch}"] = p = ingest_point(server, pool, fmt, batch, plan)
                log(f"  {fmt:8} batch {batch:3}: {p['spans_per_s']:9.0f} spans/s, floor {p['floor_spans_per_s']:9.0f}, "
                    f"ratio {p['vs_floor']:.2f} (rounds {', '.join(f'{r:.2f}' for r in p['round_ratios'])}; "
                    f"{p['vs_best_floor']:.2f} of the floor's best pass)")
        res["ingest"] = points

        # 1b. small requests over keep-alive vs the chosen HTTP server's bare handler
        log("small requests vs uvicorn's bare handler (reads the body, answers 200)")
        res["small_requests"] = small = small_requests(server, pool, plan)
        for name, p in small.items():
            log(f"  {name}: {p['requests_per_s']:9.0f} requests/s, bare {p['bare_requests_per_s']:9.0f}, "
                f"ratio {p['vs_bare']:.2f} (rounds {', '.join(f'{r:.2f}' for r in p['round_ratios'])}); "
                f"llmpulse's HTTP layer alone {p['http_layer_vs_bare']:.2f} of bare, "
                f"uvicorn decoding only {p['decode_only_vs_bare']:.2f}")
        res["small_requests_vs_bare"] = min(p["vs_bare"] for p in small.values())
        head = points["protobuf_512"]
        res["ingest_spans_per_s"] = head["spans_per_s"]
        res["floor_spans_per_s"] = head["floor_spans_per_s"]
        res["ingest_vs_floor"] = head["vs_floor"]

        # 5. latency at half the measured maximum rate, scraped every second
        log("latency of 512-span requests at half load")
        rate = head["spans_per_s"] / 2 / 512
        n = int(rate * plan.latency_seconds) + 2
        lat = ingest.latency_run(server.otlp_url, server.metrics_url, pool.bodies(512, n, "protobuf"), rate,
                                 plan.latency_seconds)
        lat["rate_requests_per_s"] = rate
        res["latency"] = lat
        res["p50_ingest_ms_512"] = lat["p50_ms"]
        res["p99_ingest_ms_512"] = lat["p99_ms"]
    finally:
        server.stop()

    # 2. CPU per LLM call vs the OpenTelemetry SDK in-process
    log("CPU per call vs the OpenTelemetry SDK")
    res["cpu"] = cpu_per_call(pool, plan.cpu_calls, plan.cpu_rounds)
    res["cpu_per_call_vs_otel_sdk"] = res["cpu"]["ratio"]

    # 3. scrape cost per line vs generate_latest
    log("scrape cost per line vs generate_latest")
    res["scrape"] = {}
    for n in plan.scrape_sizes:
        m, reg = scrape.loaded_metrics(n)
        ours, theirs = scrape.scrape_costs(m, reg, plan.scrape_repeats)
        per_ours, per_theirs = ours["seconds"] / ours["lines"], theirs["seconds"] / theirs["lines"]
        res["scrape"][str(n)] = {"lines": ours["lines"], "ours_us_per_line": per_ours * 1e6,
                                 "openmetrics_us_per_line": ours["openmetrics_seconds"] / ours["lines"] * 1e6,
                                 "generate_latest_us_per_line": per_theirs * 1e6, "ratio": per_ours / per_theirs}
        log(f"  {n:6} label sets, {ours['lines']} lines: ratio {per_ours / per_theirs:.3f}")
        del m, reg
    res["scrape_vs_generate_latest"] = max(v["ratio"] for v in res["scrape"].values())

    # 4. growth
    log("growth: label sets, memory, cardinality attack")
    res["growth"] = growth.growth_ratio(plan.growth_spans, plan.growth_rounds, store_scale=plan.store_scale)
    res["throughput_10k_vs_10"] = res["growth"]["ratio"]
    res["bytes_per_label_set"] = scrape.bytes_per_label_set(10, 2_000 if quick else 10_000)
    attack = growth.cardinality_attack(plan.attack_models, warmup_spans=plan.attack_warmup)
    res["attack"] = attack
    res["attack_rss_growth_mb"] = attack["growth_mb"]

    res["targets"] = {k: {"target": f"{op} {bound:.3g}", "met": _met(res[k], op, bound)}
                      for k, (op, bound) in TARGETS.items()}
    res["seconds"] = time.perf_counter() - started
    res["load_average_end"] = os.getloadavg()[0]
    return res


def ingest_point(server: ServerProcess, pool: SpanPool, fmt: str, batch: int, plan: Plan) -> dict:
    """Throughput over HTTP and the floor on the same bodies, in rounds; the median-ratio round.

    Each round's floor is measured on its bodies just before and just after they are sent
    (`ingest.floor_now`, best of three passes; the harmonic mean of the two), so both sides of a
    ratio see the same moment of a shared machine. The floor's best pass over the last round's
    bodies in `floor_seconds` is reported beside it (`best_floor_spans_per_s`, `vs_best_floor`).
    """
    rounds = []
    for _ in range(plan.ingest_rounds):
        count = plan.batch1_requests if batch == 1 else max(4, plan.spans_per_point // batch)
        count = max(4, count // plan.ingest_rounds)
        bodies = pool.bodies(batch, count + 1, fmt)
        spans = batch * count
        before = ingest.floor_now(bodies[1:], fmt)
        cpu0 = server.cpu_seconds()
        took = ingest.send_all(server.otlp_url, bodies, fmt)
        server_cpu = server.cpu_seconds() - cpu0
        after = ingest.floor_now(bodies[1:], fmt)
        ours = spans / took
        floor = 2 / (1 / before + 1 / after)
        rounds.append({"spans_per_s": ours, "floor_spans_per_s": floor, "vs_floor": ours / floor,
                       "server_cpu_us_per_span": server_cpu / spans * 1e6})
    ratios = [r["vs_floor"] for r in rounds]
    mid = sorted(rounds, key=lambda r: r["vs_floor"])[len(rounds) // 2]
    best = ingest.floor_rate(bodies[1:], fmt, plan.floor_seconds)
    return {**mid, "round_ratios": ratios, "best_floor_spans_per_s": best, "vs_best_floor": mid["spans_per_s"] / best}


def small_requests(server: ServerProcess, pool: SpanPool, plan: Plan) -> dict:
    """1- and 10-span protobuf requests/s over keep-alive from SMALL_SENDERS connections: the exporter
    (in its steady state) against uvicorn with httptools serving a bare ASGI handler that reads the body
    and answers 200 (`llmpulse.bench.bare_servers`), in alternating rounds on the same request bytes;
    the median-ratio round per batch size. Every request carries fresh ids (none is a resend)."""
    from urllib.parse import urlsplit

    from llmpulse.bench.http_servers import Candidate, rate, request_bytes

    port = urlsplit(server.otlp_url).port
    bare = Candidate("uvicorn-httptools")
    # llmpulse's HTTP layer alone (its uvicorn protocol: deadlines, caps) around the same bare handler
    layer = Candidate("llmpulse-protocol")
    # uvicorn whose handler only decodes the body into the spans the pipeline reads: the exporter's first step
    decode = Candidate("uvicorn-decode")
    out = {}
    try:
        for batch in SMALL_BATCHES:
            count = int(plan.small_seconds * (12_000 if batch == 1 else 6_000))
            rounds = []
            for _ in range(plan.small_rounds):
                reqs = [request_bytes(b) for b in pool.bodies(batch, count, "protobuf")]
                for c in (bare, layer, decode):
                    rate(c.port, reqs[:200], SMALL_SENDERS, 0.2)               # warm
                ours = rate(port, reqs, SMALL_SENDERS, plan.small_seconds, cycle=False)
                theirs = rate(bare.port, reqs, SMALL_SENDERS, plan.small_seconds, cycle=False)
                http_only = rate(layer.port, reqs, SMALL_SENDERS, plan.small_seconds, cycle=False)
                decoded = rate(decode.port, reqs, SMALL_SENDERS, plan.small_seconds, cycle=False)
                rounds.append({"requests_per_s": ours, "bare_requests_per_s": theirs, "vs_bare": ours / theirs,
                               "http_layer_requests_per_s": http_only, "http_layer_vs_bare": http_only / theirs,
                               "decode_only_requests_per_s": decoded, "decode_only_vs_bare": decoded / theirs})
            mid = sorted(rounds, key=lambda r: r["vs_bare"])[len(rounds) // 2]
            out[f"protobuf_{batch}"] = {**mid, "round_ratios": [r["vs_bare"] for r in rounds],
                                        "http_layer_round_ratios": [r["http_layer_vs_bare"] for r in rounds],
                                        "decode_only_round_ratios": [r["decode_only_vs_bare"] for r in rounds],
                                        "senders": SMALL_SENDERS}
    finally:
        bare.stop()
        layer.stop()
        decode.stop()
    return out


def _met(value: float, op: str, bound: float) -> bool:
    return {">=": value >= bound, "<=": value <= bound, "<": value < bound}[op]


@contextmanager
def _own_garbage():
    """Collect, then freeze what exists (the benchmark's spans, the other side's state), for the block.

    The default thresholds stay; a full collection in the block then walks only what the block
    allocated. Without this, whichever side happened to trigger a full collection paid for
    walking every object of the benchmark process (about 10 us a call in every other round).
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def cpu_per_call(pool: SpanPool, calls: int, rounds: int = 3) -> dict:
    """Process CPU per accepted call: llmpulse's span -> metrics path vs the OTel SDK recording the same.

    Both sides are warmed first (label sets admitted, SDK attribute sets created), then
    measured in alternating rounds on fresh spans; the median round ratio is reported. Each
    side's slice starts with the collector settled (`_own_garbage`), so each pays for the
    collections of what it allocates, not for walking the benchmark's own objects.
    """
    cfg = load_config()
    pipe = Pipeline(cfg, Metrics(cfg, CollectorRegistry()), PriceTable.load(cfg.pricing.files))

    def spans_for_round() -> list:
        batches, n = [], 0
        while n < calls:
            spans = otlp.decode_traces(pool.bodies(512, 1, "protobuf")[0], otlp.PROTOBUF, keep=pipe.normalizer.keys)
            batches.append(spans)
            n += len(spans)
        return batches

    sdk = OtelRecorder()
    warm = [c for b in spans_for_round() for c in pipe.spans(b).calls]
    sdk.record(warm)
    ratios, ours_us, theirs_us, counted = [], [], [], 0
    for _ in range(rounds):
        batches = spans_for_round()
        with _own_garbage():
            t = time.process_time()
            outs = [pipe.spans(b) for b in batches]
            ours = time.process_time() - t
        recorded = [c for o in outs for c in o.calls]
        with _own_garbage():
            t = time.process_time()
            sdk.record(recorded)
            theirs = time.process_time() - t
        k = len(recorded)
        counted += k
        ours_us.append(ours / k * 1e6)
        theirs_us.append(theirs / k * 1e6)
        ratios.append(ours / theirs)
    mid = sorted(range(rounds), key=lambda i: ratios[i])[rounds // 2]
    return {"calls": counted, "ours_us_per_call": ours_us[mid], "otel_sdk_us_per_call": theirs_us[mid],
            "ratio": ratios[mid], "round_ratios": ratios}


KEYS = ("ingest_spans_per_s", "floor_spans_per_s", "ingest_vs_floor", "cpu_per_call_vs_otel_sdk",
        "scrape_vs_generate_latest", "throughput_10k_vs_10", "bytes_per_label_set", "attack_rss_growth_mb",
        "p99_ingest_ms_512", "small_requests_vs_bare")


def table(res: dict) -> str:
    """A plain-text summary of a result dict (markdown table rows)."""
    rows = [("figure", "value", "target", "met")]
    for k in KEYS:
        v = res[k]
        t = res["targets"].get(k)
        rows.append((k, f"{v:,.3f}" if abs(v) < 100 else f"{v:,.0f}", t["target"] if t else "",
                     ("yes" if t["met"] else "NO") if t else ""))
    rows.append(("p50_ingest_ms_512", f"{res['p50_ingest_ms_512']:.2f}", "", ""))
    for name, p in res["ingest"].items():
        rows.append((f"ingest {name} (spans/s, floor, ratio; floor's best pass, ratio)",
                     f"{p['spans_per_s']:,.0f} / {p['floor_spans_per_s']:,.0f} / {p['vs_floor']:.2f}; "
                     f"{p['best_floor_spans_per_s']:,.0f} / {p['vs_best_floor']:.2f}", "", ""))
    for name, p in res["small_requests"].items():
        rows.append((f"small {name} (requests/s, bare uvicorn, ratio; HTTP layer alone, ratio; decoding only, ratio)",
                     f"{p['requests_per_s']:,.0f} / {p['bare_requests_per_s']:,.0f} / {p['vs_bare']:.2f}; "
                     f"{p['http_layer_requests_per_s']:,.0f} / {p['http_layer_vs_bare']:.2f}; "
                     f"{p['decode_only_requests_per_s']:,.0f} / {p['decode_only_vs_bare']:.2f}", "", ""))
    c = res["cpu"]
    rows.append(("cpu per call us (llmpulse / OTel SDK)",
                 f"{c['ours_us_per_call']:.1f} / {c['otel_sdk_us_per_call']:.1f}", "", ""))
    for n, s in res["scrape"].items():
        rows.append((f"scrape {n} label sets, {s['lines']} lines (us/line ours / generate_latest)",
                     f"{s['ours_us_per_line']:.3f} / {s['generate_latest_us_per_line']:.3f}", "", ""))
    a = res["attack"]
    rows.append(("attack distinct models / seconds / RSS before->after MB",
                 f"{a['distinct_models']:,} / {a['seconds']:.1f} / {a['rss_before_mb']:.0f}->{a['rss_after_mb']:.0f}",
                 "", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
