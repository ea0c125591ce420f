"""Three replicas behind a trace-id router answer every rule, dashboard query and alert
expression as one replica that received the same load; a restart and a crash fire nothing.

Own Prometheus (not the session's `live_prometheus`): this module pauses, restarts and kills its
targets and needs a 5 s scrape interval with 250 ms rule evaluation; the session Prometheus scrapes
`llmpulse demo` every second for the other live tests. Why the timing is what it is:

Prometheus's rate()/increase() extrapolate each series from its own first and last samples, so
three series summed are not one series extrapolated unless every series has the same number of
samples and the same case at both ends. The comparison is therefore taken where that holds by
construction: load A reaches every target between two of its scrapes (every series is born with
it), load B (A again with new ids, each trace routed where its original went) between the next
two, and every target is paused after exactly three samples; the queries are evaluated more than
1.1 scrape intervals after the last sample. Then each series' extrapolated increase is
(B's part) x 3/2 on every target, and sums agree to rounding. In a running fleet the difference
is Prometheus's usual extrapolation noise (docs/scaling.md).
"""

from __future__ import annotations

import copy
import math
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import yaml

from fleet import Load, Replica, Scrapes, demo_load, replay, send_between_scrapes
from live import REPO, Prometheus
from llmpulse.dashboards.build import all_queries, live_expr
from llmpulse.demo.traffic import Traffic
from ring import HashRing

pytestmark = [pytest.mark.live, pytest.mark.slow]

SCRAPE = 4.0
PHASE_ARC = 1.2     # seconds: every target's scrape phase within this window (align_phases)
CONFIG = "tracking: {trace_idle_seconds: 0.3, conversation_idle_seconds: 0.6, aggregate_wait_seconds: 0.5}\n"
RULES = REPO / "alerts" / "generated" / "llmpulse-rules.yaml"
ALERTS = REPO / "alerts" / "generated" / "llmpulse-alerts.yaml"
RTOL = 1e-9

# Queries whose answer differs by design between N processes and one, with the reason.
BY_DESIGN = {
    r"conversation": "a conversation's traces land on different replicas; each observes its part "
                     "(llm_conversation_cost_usd: the same _sum, a larger _count)",
    r"\bllmpulse_|\bprocess_": "the exporter's own health, per process (requests, their durations, memory)",
    r"\bup\b|\bscrape_": "one target per process",
    r"timestamp\(llm_deployment_info": "when each process first saw a deployment",
    r"(avg|sum)_over_time\((slo:|service_model:|service:)|ratio_rate30d|avg_baseline7d|period_error_budget_remaining":
        "a time average of another rule's values, taken every evaluation since the series began, "
        "while each target's last sample was less than a scrape old (Prometheus extrapolates each "
        "series from its own samples); it converges once the window holds many scrapes",
}


def reason_for(expr: str) -> str | None:
    for pattern, reason in BY_DESIGN.items():
        if re.search(pattern, expr):
            return reason
    return None


def rule_docs() -> tuple[list[dict], list[dict]]:
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    alerts = [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]
    return rules, alerts


def zero_threshold_alerts(tmp) -> list[dict]:
    """The alerts rendered with every threshold near zero and no history guard, so their
    expressions return series (the defaults return nothing for ordinary traffic)."""
    return scaled_alerts(tmp, "zero", lambda v: 1e-9 if v else v, no_history=True)


def scaled_alerts(tmp, name: str, fn, no_history: bool = False) -> list[dict]:
    """The alerts rendered from alerts/thresholds.yaml with `fn` applied to every numeric
    threshold, factor, minimum and budget."""
    from llmpulse.alerts.thresholds import DEFAULT_PATH

    doc = _transform(yaml.safe_load(open(DEFAULT_PATH)), fn, no_history)
    (tmp / f"{name}.yaml").write_text(yaml.safe_dump(doc))
    out = tmp / f"{name}-rules"
    subprocess.run([sys.executable, "-m", "llmpulse", "alerts", "build", "--thresholds", str(tmp / f"{name}.yaml"),
                    "--out", str(out)], check=True, capture_output=True)
    return [r for g in yaml.safe_load((out / "llmpulse-alerts.yaml").read_text())["groups"] for r in g["rules"]]


def _transform(node, fn, no_history: bool, key: str = ""):
    if isinstance(node, dict):
        return {k: _transform(v, fn, no_history, k if k not in ("default", "per_service", "per_model") else key)
                for k, v in node.items()}
    if isinstance(node, list):
        return [_transform(v, fn, no_history, key) for v in node]
    if isinstance(node, bool) or not isinstance(node, (int, float, str)):
        return node
    if isinstance(node, str):
        return "0" if no_history and re.search(r"MinHistory$", key) else node
    if re.search(r"(Threshold|Factor|MinOperationsPerSecond|MinScores|MinFeedback|MinUSDPerHour|USD|PerMinute"
                 r"|budgetPercent)$", key):
        return fn(node)
    return node


@pytest.fixture
def fleet(tmp_path_factory):
    """Three replicas, a single one and their Prometheus, new for each test: a series one test made
    would take the other's increments as visible where they should be its first (the restart test's
    primer, below)."""
    tmp = tmp_path_factory.mktemp("fleet")
    config = tmp / "llmpulse.yaml"
    config.write_text(CONFIG)
    replicas = [Replica(f"replica{i}", tmp, config) for i in range(3)]
    single = Replica("single", tmp, config)
    prometheus = None
    try:
        for r in replicas + [single]:
            r.wait_ready()
        prometheus = Prometheus(tmp, {"fleet": [r.target for r in replicas], "single": single.target},
                                [str(RULES)], scrape_interval=f"{SCRAPE:g}s", evaluation_interval="250ms")
        scrapes = Scrapes(prometheus)
        for r in replicas + [single]:
            scrapes.wait_for_scrape_after(r.target, 0, timeout=30)
        align_phases(prometheus, [r.target for r in replicas + [single]])
        yield replicas, single, prometheus, scrapes, tmp
    finally:
        if prometheus is not None:
            prometheus.stop()
        for r in replicas + [single]:
            r.stop()


def widest_window(phases: dict[str, float], width: float) -> set[str]:
    """The most targets whose scrape phases (seconds into the SCRAPE cycle) fit in one window of `width`.

    >>> sorted(widest_window({"a": 0.2, "b": 3.9, "c": 2.0}, 1.2))
    ['a', 'b']
    """
    best: set[str] = set()
    for p in phases.values():
        inside = {t for t, q in phases.items() if (q - p) % SCRAPE <= width}
        if len(inside) > len(best):
            best = inside
    return best


def align_phases(prometheus, targets: list[str], attempts: int = 25) -> None:
    """Move the targets' scrape phases into one PHASE_ARC window (Prometheus spreads targets over the
    interval by a hash of their labels and URL, so each run's ports give other phases).

    Why: the comparison pauses every target right after its third sample and reads the moment more than
    1.1 intervals after the latest of them; a paused target's next scrape fails one interval after it
    starts, writing staleness markers over that target's series, so that moment must be kept (a TSDB
    snapshot) within 0.9 intervals of the earliest target's last sample minus the latest one's. Queried
    live with phases spread over 2 s of the 4 s interval (as likely as not with four targets), the
    queries ran into single's markers and not fleet's, and single's series vanished from some answers.
    A target outside the fullest window is given a new `?phase=N` in its scrape URL
    (live.Prometheus.reload) until all fit."""
    moved: dict[str, int] = {}
    since = time.time()
    for attempt in range(1, attempts + 1):
        phases = scrape_phases(prometheus, targets, moved, since)
        inside = widest_window(phases, PHASE_ARC)
        if len(inside) == len(targets):
            # a replaced scrape loop may still write end-of-run markers for two intervals: let them land now
            time.sleep(2.5 * SCRAPE)
            return
        for t in targets:
            if t not in inside:
                moved[t] = attempt
        since = time.time()
        prometheus.reload(moved)
    raise AssertionError(f"scrape phases did not fit in {PHASE_ARC} s after {attempts} reloads: {phases}")


def scrape_phases(prometheus, targets: list[str], moved: dict[str, int], since: float,
                  timeout: float = 30.0) -> dict[str, float]:
    """Each target's scrape phase, read from a scrape that started after `since` by the URL it
    has now (Prometheus applies new targets up to 5 s after a reload)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        phases = {}
        for t in prometheus.api("targets", state="active")["activeTargets"]:
            instance = t["labels"].get("instance")
            if instance not in targets or not t["lastScrape"].startswith("20"):
                continue
            wanted = f"phase={moved[instance]}" if instance in moved else None
            if (wanted in t["scrapeUrl"]) if wanted else "phase=" not in t["scrapeUrl"]:
                at = go_time(t["lastScrape"])
                if at > since:
                    phases[instance] = at % SCRAPE
        if len(phases) == len(targets):
            return phases
        time.sleep(0.2)
    raise TimeoutError(f"no scrape of every target after {since} (have {phases})")


def go_time(stamp: str) -> float:
    """Seconds since the epoch of an RFC 3339 time with nanoseconds, as Go writes it.

    >>> go_time("1970-01-01T00:00:01.123456789Z")
    1.123456
    """
    from datetime import datetime

    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", stamp.replace("Z", "+00:00"))).timestamp()


def by_job(result: list[dict]) -> dict[str, dict[tuple, float]]:
    """job -> {labels without job: value}; series without a job label go under both jobs."""
    out: dict[str, dict[tuple, float]] = {"fleet": {}, "single": {}}
    for series in result:
        labels = dict(series["metric"])
        job = labels.pop("job", None)
        key = tuple(sorted(labels.items()))
        value = float(series["value"][1])
        for j in ([job] if job else ["fleet", "single"]):
            if j in out:
                out[j][key] = value
    return out


def same(a: dict[tuple, float], b: dict[tuple, float]) -> str | None:
    """None when equal to rounding, else a short description of the first difference."""
    if set(a) != set(b):
        return f"label sets differ: only fleet {sorted(set(a) - set(b))[:3]}, only single {sorted(set(b) - set(a))[:3]}"
    for key in a:
        x, y = a[key], b[key]
        if math.isnan(x) and math.isnan(y):
            continue
        if not math.isclose(x, y, rel_tol=RTOL, abs_tol=1e-12):
            return f"{dict(key)}: fleet {x!r} single {y!r}"
    return None


def rules_evaluated_after(prometheus, when: float, timeout: float = 30.0) -> float:
    """A time by which every rule group has been evaluated at least once after `when` (a busy
    Prometheus skips evaluations, so the 250 ms interval alone does not promise it)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if time.time() > when:
            groups = prometheus.api("rules")["groups"]
            evaluated = [go_time(g["lastEvaluation"]) for g in groups]
            if groups and min(evaluated) > when + 0.3:  # the sample time lags the start by < 250 ms
                return max(evaluated) + 0.01
        time.sleep(0.2)
    raise TimeoutError("rule groups not evaluated after the fleet froze")


def stagger(scrapes: Scrapes, targets: list[str]) -> dict[str, float]:
    """The next scrape of each target, taken in a cycle that starts after the widest gap between
    the targets' scrape phases, so the latest and earliest are as close as they can be."""
    now = time.time()
    nxt = {}
    for t in targets:
        last = scrapes.last(t)
        k = math.floor((now + 0.8 - last) / SCRAPE) + 1
        nxt[t] = last + k * SCRAPE
    order = sorted(nxt, key=lambda t: nxt[t] % SCRAPE)
    phases = [nxt[t] % SCRAPE for t in order]
    gaps = [(phases[(i + 1) % len(order)] - phases[i]) % SCRAPE or SCRAPE for i in range(len(order))]
    first = order[(gaps.index(max(gaps)) + 1) % len(order)]
    base = nxt[first]
    return {t: base + ((nxt[t] - base) % SCRAPE) for t in targets}


def comparison_tasks(tmp) -> list[tuple[str, str, str, str | None, str]]:
    """(kind, label, expression for fleet, for single (None: one expression for both jobs), rule source)
    for every recording rule, alert (as shipped and with thresholds near zero) and dashboard query."""
    rules, alerts = rule_docs()
    zero = zero_threshold_alerts(tmp)
    tasks: list[tuple[str, str, str, str | None, str]] = []
    for r in rules:
        tasks.append(("recording rule", r["record"], f'{{__name__="{r["record"]}", job=~"fleet|single"}}', None,
                      r["expr"]))
        tasks.append(("rule expression", r["record"], r["expr"], None, ""))
    for a in alerts:
        tasks.append(("alert expression", a["alert"], a["expr"], None, ""))
    for a in zero:
        tasks.append(("alert expression (thresholds 0)", a["alert"], a["expr"], None, ""))
    for uid, title, expr in all_queries():
        as_job = {j: live_expr(expr.replace('"$job"', f'"{j}"').replace("$job", j)) for j in ("fleet", "single")}
        tasks.append(("dashboard query", f"{uid} / {title}", as_job["fleet"], as_job["single"], ""))
    return tasks


def test_fleet_answers_every_rule_dashboard_query_and_alert_like_one_replica(fleet):
    replicas, single, prometheus, scrapes, tmp = fleet
    everyone = replicas + [single]
    ring = HashRing(r.endpoint for r in replicas)
    by_endpoint = {r.endpoint: r for r in replicas}
    started = time.monotonic()
    # built now: once the targets are paused, the queries have little time (align_phases)
    tasks = comparison_tasks(tmp)

    load_a = demo_load(Traffic(seed=15), batches=8, calls=30, now_ns=time.time_ns())
    load_b = replay(load_a, ring, seed=16)

    def jobs(load: Load):
        fleet_posts = load.posts(ring)
        assert set(fleet_posts) == set(by_endpoint), "every replica gets part of the load"
        return [(by_endpoint[e], p) for e, p in fleet_posts.items()] + [(single, load.posts(None)[None])]

    # A between two scrapes of each target, B between the next two, then three samples each.
    first = stagger(scrapes, [r.target for r in everyone])
    after_a = send_between_scrapes(jobs(load_a), first.__getitem__)
    slow = {t: round(end - t0, 1) for t, (t0, end) in after_a.items() if end > t0 + SCRAPE - 2.0}
    assert not slow, f"load A took too long between two scrapes (machine too busy): {slow}"
    # B right after each target's first scrape that saw A
    after_b = send_between_scrapes(jobs(load_b), lambda t: scrapes.wait_for_scrape_after(t, after_a[t][1]))
    slow = {t: round(end - t0, 1) for t, (t0, end) in after_b.items() if end > t0 + SCRAPE - 2.0}
    assert not slow, f"load B took too long between two scrapes (machine too busy): {slow}"
    last = {}
    for r in everyone:
        s2 = scrapes.wait_for_scrape_after(r.target, after_b[r.target][1])
        last[r.target] = scrapes.wait_for_scrape_after(r.target, s2)
        r.pause()
    frozen = max(last.values()) + 1.1 * SCRAPE + 0.1  # from here on Prometheus extrapolates every target alike
    at = rules_evaluated_after(prometheus, frozen)
    # the dashboards' 1m windows must still begin before every series' first sample (A's)
    assert at - min(after_a[t][1] for t in after_a) < 60 - 1.1 * SCRAPE - SCRAPE, "machine too busy: evaluation late"
    # The moment `at`, kept: a paused target's next scrape fails one interval after it starts and marks its
    # series stale, so the answers are read from a snapshot taken before that, served by a second Prometheus
    # that scrapes nothing (align_phases).
    snapshot = prometheus.snapshot()
    late = time.time() - (min(last.values()) + 2 * SCRAPE)
    assert late < 0, (f"machine too busy: the snapshot was taken {late:.1f} s after the earliest paused target's "
                      "failed scrape could mark its series stale")
    for r in everyone:          # the moment is kept: the targets need not wait for the queries
        r.resume()
    reader = None

    try:
        reader = Prometheus(tmp / "frozen", {}, tsdb=snapshot)
        checked: dict[str, int] = defaultdict(int)
        empty: dict[str, int] = defaultdict(int)
        different: list[str] = []
        by_design: dict[str, list[str]] = defaultdict(list)

        def answers(task):
            _, _, expr_fleet, expr_single, _ = task
            if expr_single is None:
                got = by_job(reader.query(expr_fleet, at=at))
                return got["fleet"], got["single"]
            return (by_job(reader.query(expr_fleet, at=at))["fleet"],
                    by_job(reader.query(expr_single, at=at))["single"])

        queried = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            every_series = pool.submit(reader.query, '{__name__=~"(gen_ai|llm)_.+", job=~"fleet|single"}[40s]', at)
            results = list(pool.map(answers, tasks))
            series = every_series.result()
        queried = time.monotonic() - queried
        # Self-check of the construction: every LLM series has three samples f, 2f, 2f on every target.
        assert series
        for s in series:
            name = s["metric"]["__name__"]
            values = [float(v) for _, v in s["values"]]
            assert len(values) == 3, (s["metric"], values)
            if name.endswith(("_total", "_count", "_sum", "_bucket")):
                f = values[0]
                assert math.isclose(values[1], 2 * f, rel_tol=1e-9) and values[2] == values[1], (s["metric"], values)

        for (kind, label, expr_fleet, _, source), (a, b) in zip(tasks, results):
            if not a and not b:
                empty[kind] += 1
                continue
            problem = same(a, b)
            if problem is None:
                checked[kind] += 1
                continue
            reason = reason_for(source or expr_fleet)
            if reason:
                by_design[reason].append(f"{kind}: {label}")
            else:
                different.append(f"{kind} {label}: {problem}\n    {expr_fleet}")

        report = (f"equal: {dict(checked)}; empty in both: {dict(empty)}; different by design: "
                  f"{ {k: len(v) for k, v in by_design.items()} }; {len(tasks)} comparisons in {queried:.1f} s; "
                  f"runtime so far {time.monotonic() - started:.0f} s")
        print(report)
        for reason, items in by_design.items():
            print(f"  by design ({reason}): {items}")
        assert not different, "\n".join(different)
        assert checked["recording rule"] >= 30 and checked["dashboard query"] >= 60
        assert checked["alert expression (thresholds 0)"] >= 10
        # the weaker property that does hold for conversations: their total cost is the same
        totals = by_job(reader.query("sum by (job) (increase(llm_conversation_cost_usd_sum[1m]))", at=at))
        assert same(totals["fleet"], totals["single"]) is None
    finally:
        if reader is not None:
            reader.stop()
        for r in everyone:
            r.resume()


# Alerts whose near-zero-threshold form compares a value with its own history or another window:
# their presence flips on extrapolation noise, so only the default form of these is compared.
RELATIVE = {"LLMQualityDrop", "LLMCostPerRequestHigh", "LLMSpendSpike", "LLMLatencyRegression",
            "LLMConversationCostOutlier", "LLMRetrievalLatencyTrendingUp", "LLMToolLatencyTrendingUp",
            "LLMConversationCostTrendingUp"}
SPANS = 'llmpulse_spans_(received|skipped)_total'  # GenAI spans counted + others skipped: every span accepted


def alert_keys(prometheus, exprs: list[tuple[str, str]], at: float) -> dict[str, set]:
    """job -> {(alertname, labels without job/instance)} whose expression returns something."""
    out: dict[str, set] = {"fleet": set(), "single": set()}
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda e: prometheus.query(e[1], at=at), exprs))
    for (name, _), result in zip(exprs, results):
        for s in result:
            labels = dict(s["metric"])
            job = labels.pop("job", None)
            labels.pop("instance", None)
            for j in ([job] if job else ["fleet", "single"]):
                if j in out:
                    out[j].add((name, tuple(sorted(labels.items()))))
    return out


def spans_in(posts) -> int:
    return sum(len(ss.spans) for r in Load.parse(posts).traces for rs in r.resource_spans for ss in rs.scope_spans)


TICK_CALLS = 12     # LLM calls a tick of the restart test sends
PRIMED_TICKS = 150  # ticks primed; the test sends about 80 (at least 0.3 s apart over 33 s: at most 110)


def test_a_drained_restart_and_a_crash_fire_no_alert_and_lose_only_the_crash_window(fleet):
    """Replica 1 is restarted the way deploy/kubernetes stops a pod (out of the ring, one more
    scrape, SIGTERM, start, back in the ring); replica 2 is then killed with SIGKILL and the router
    re-routes its traces. Throughout, no alert expression returns anything for the fleet that it
    does not return for the single replica; afterwards every span is accounted for: the fleet's last
    scraped counts plus what the crashed replica accepted after its last scrape equal the single's."""
    replicas, single, prometheus, scrapes, tmp = fleet
    started = time.monotonic()
    everyone = replicas + [single]
    members = {r.endpoint: r for r in replicas}
    traffic = Traffic(seed=21)
    _, alerts = rule_docs()
    # An alert the fleet fires must be one the single replica fires with every threshold 25 % nearer:
    # Prometheus extrapolates each target's series from its own samples, so a value right at a
    # threshold may fall on either side for the fleet and for the single replica. Over this test's
    # minute of samples a ratio of two small rates summed over three targets differed from one
    # target's by up to 1.26x (coding-agent's slow-call ratio, max 0.078 against 0.062); with 10 %
    # the test failed 1 run of 2 on 2026-12-04. A counter reset read as a spike moves a rate by the
    # whole counter, far more.
    exprs = [(a["alert"], a["expr"]) for a in alerts]
    loose = [(a["alert"], a["expr"]) for a in scaled_alerts(tmp, "loose", lambda v: v * 0.75)]
    presence = [(a["alert"] + " (thresholds 0)", a["expr"]) for a in zero_threshold_alerts(tmp)
                if a["alert"] not in RELATIVE]
    for r in everyone:
        scrapes.wait_for_scrape_after(r.target, time.time())  # every target answers again

    # Every label set this test's traffic will make is born on every target first, invisibly: a
    # counter's first increment is invisible to rate(), and a fleet creates each label set once per
    # replica, so label sets born during the comparison make the fleet's ratios differ from the
    # single's (a fast call in a new series drops out of a latency SLO's denominator, not its
    # numerator: the fleet's LLMLatencySLOBurn fired where the single's did not, 3 runs of ~15 on
    # 2026-12-04, CI included). That is the young-series effect docs/scaling.md describes, not what a
    # restart or a crash does. The primer is the ticks below drawn in advance by a twin of the
    # traffic source (the same draws; timestamps do not move them), with new ids and conversations:
    # one copy to each replica, three to the single, each target's copy sent between two of its
    # scrapes so that the series' first samples hold all of it and no rate() ever sees it (the
    # targets are new: no series exists before it).
    primer = demo_load(copy.deepcopy(traffic), batches=PRIMED_TICKS, calls=TICK_CALLS, now_ns=time.time_ns(),
                       step_ns=0)   # all of it timed now, as the ticks will be
    copies = [replay(primer, HashRing(["any"]), seed=100 + i, conversations=True).joined(20) for i in range(6)]
    primed = send_between_scrapes(
        [(r, copies[i].posts(None)[None]) for i, r in enumerate(replicas)]
        + [(single, [post for c in copies[3:] for post in c.posts(None)[None]])],
        lambda t: scrapes.wait_for_scrape_after(t, time.time()))
    for r in everyone:
        t0, end = primed[r.target]
        next_scrape = scrapes.wait_for_scrape_after(r.target, t0)
        assert end < next_scrape, (f"machine too busy: the primer reached {r.target} {end - next_scrape:.1f} s "
                                   "after the scrape that should have seen all of it")
    ticks = 0

    sent: list[tuple[float, str, int]] = []  # (answered at, endpoint, spans) for the fleet
    false_alerts: list[str] = []
    missed: set[str] = set()  # reported, see docs/scaling.md: a fleet misses a young series' first increment N times
    checks = 0

    def send_tick() -> None:
        nonlocal ticks
        ticks += 1
        assert ticks <= PRIMED_TICKS, "more ticks than primed: raise PRIMED_TICKS"
        load = demo_load(traffic, batches=1, calls=TICK_CALLS, now_ns=time.time_ns())
        ring = HashRing(members)
        for endpoint, posts in load.posts(ring).items():
            replica = members[endpoint]
            try:
                for path, body, ctype in posts:
                    replica.post(path, body, ctype)
                sent.append((time.time(), endpoint, spans_in(posts)))
            except requests.ConnectionError:
                # what the Collector's resolver and retry do: drop the endpoint, route the batch again
                del members[endpoint]
                for e2, p2 in Load.parse(posts).posts(HashRing(members)).items():
                    for path, body, ctype in p2:
                        members[e2].post(path, body, ctype)
                    sent.append((time.time(), e2, spans_in(p2)))
        for path, body, ctype in load.posts(None)[None]:
            single.post(path, body, ctype)

    fired: dict[str, set] = {"fleet": set(), "single": set(), "fleet near": set(), "single near": set()}

    def check_alerts() -> None:
        nonlocal checks
        at = time.time()
        strict, near = alert_keys(prometheus, exprs + presence, at), alert_keys(prometheus, loose + presence, at)
        checks += 1
        for job in ("fleet", "single"):
            fired[job] |= strict[job]
            fired[job + " near"] |= near[job]

    def run(seconds: float, check: bool = True) -> None:
        end = time.time() + seconds
        while time.time() < end:
            send_tick()
            if check:
                check_alerts()
            time.sleep(0.3)

    # every series is born and scraped four times on every target before alerts are compared: a
    # young series' first increment is invisible to increase(), and a ratio of rates taken from two
    # or three samples per target swings widely (measured: the fleet's coding-agent latency error
    # ratio 0.30 against the single's 0.06 at its second sample, both ~0.03 from the fourth); the
    # comparison is about restarts and crashes, not young series
    run(4.5 * SCRAPE, check=False)
    run(5)
    # drained restart of replica 1
    restarted = replicas[1]
    del members[restarted.endpoint]
    last_post = max(t for t, e, _ in sent if e == restarted.endpoint)
    pre_scrape = scrapes.wait_for_scrape_after(restarted.target, last_post + 0.2)
    pre_restart = float(prometheus.query(
        f'sum({{__name__=~"{SPANS}", instance="{restarted.target}"}})', at=pre_scrape)[0]["value"][1])
    restarted.proc.stop()
    restarted.start()
    restarted.wait_ready()
    members[restarted.endpoint] = restarted
    run(5)
    # crash of replica 2
    crashed = replicas[2]
    crashed.signal(signal.SIGKILL)
    crashed.proc.p.wait(timeout=10)
    run(5)
    assert crashed.endpoint not in members, "the router noticed the crash and re-routed"
    # let every surviving target be scraped with its final counts
    final_post = max(t for t, _, _ in sent)
    for r in [replicas[0], restarted, single]:
        scrapes.wait_for_scrape_after(r.target, final_post + 1.0)
    check_alerts()
    # Compared over the whole run, not check by check: N targets see a series' samples at N
    # different moments, so a ratio near its threshold (the demo's coding-agent latency error ratio
    # sits near the burn thresholds, and extrapolation makes it briefly negative or zero on one side)
    # crosses at different checks for the fleet and the single replica (measured: per-check
    # comparison failed 2 runs of 3, 2026-12-04). A restart or a crash read wrongly (a counter reset
    # taken for a spike, a lost target) fires what the single replica never fires.
    false_alerts.extend(f"fleet only: {name} {dict(labels)}" for name, labels in fired["fleet"] - fired["single near"])
    missed.update(f"{name} {dict(labels)}" for name, labels in fired["single"] - fired["fleet near"])

    at = time.time()
    now_spans = {s["metric"]["instance"]: float(s["value"][1]) for s in prometheus.query(
        f'sum by (instance) ({{__name__=~"{SPANS}"}})', at=at)}
    crash_last = prometheus.query(
        f'sum(last_over_time({{__name__=~"{SPANS}", instance="{crashed.target}"}}[2m]))', at=at)
    crash_scraped = float(crash_last[0]["value"][1])
    crash_scrape_at = max(scrapes.times(crashed.target))  # the last scrape that reached it, or its failure
    up_times = prometheus.query(f'up{{instance="{crashed.target}"}}[2m]', at=at)[0]["values"]
    last_ok = max(float(t) for t, v in up_times if v == "1")
    lost = sum(n for t, e, n in sent if e == crashed.endpoint and t > last_ok)
    fleet_total = now_spans[replicas[0].target] + now_spans[restarted.target] + pre_restart + crash_scraped
    print(f"restart + crash: {checks} alert checks, {len(exprs)} expressions each; single {now_spans[single.target]:.0f} "
          f"spans, fleet scraped {fleet_total:.0f}, lost with the crash {lost} (accepted after its last scrape "
          f"{at - last_ok:.1f} s before the end); {time.monotonic() - started:.0f} s")
    # increase() over the restart and the crash, compared where Prometheus extrapolates every
    # target alike (all paused, evaluated 1.1 scrape intervals after their last samples)
    for r in [replicas[0], restarted, single]:
        r.pause()
    frozen = max(scrapes.last(r.target) for r in [replicas[0], restarted, single]) + 1.1 * SCRAPE + 0.5
    time.sleep(max(0.0, frozen - time.time()))
    window = "3m"  # the whole life of every series: the restart, the crash and both phases
    increase = {}
    for what, expr in {"spans": f"sum by (job) (increase(llmpulse_spans_received_total[{window}]))",
                       "operations": f"sum by (job) (increase(gen_ai_client_operation_duration_seconds_count[{window}]))",
                       "cost": f"sum by (job) (increase(llm_cost_usd_total[{window}]))"}.items():
        got = by_job(prometheus.query(expr, at=frozen))
        increase[what] = (got["fleet"][()], got["single"][()])
    for r in [replicas[0], restarted, single]:
        r.resume()
    diffs = {k: round((f - s1) / s1, 5) for k, (f, s1) in increase.items()}
    lost_share = lost / now_spans[single.target]
    print(f"increase() over the {window} holding the restart and the crash, (fleet - single) / single: {diffs}; "
          f"the crash lost {lost_share:.5f} of all spans")
    assert crash_scrape_at >= last_ok
    assert not false_alerts, sorted(set(false_alerts))
    assert fleet_total + lost == now_spans[single.target]
    assert lost <= sum(n for t, e, n in sent if e == crashed.endpoint and t > last_ok - SCRAPE - 1)
    # what is left is the crash's loss and Prometheus's extrapolation: the crashed replica's series
    # are extrapolated from fewer samples, by at most one scrape interval over their sampled life
    first = float(prometheus.query(f'llmpulse_spans_received_total{{instance="{crashed.target}"}}[3m]',
                                   at=frozen)[0]["values"][0][0])
    bound = SCRAPE / (last_ok - first)
    print(f"extrapolation bound {bound:.4f}; alerts the single replica had and the fleet not (even 25 % nearer "
          f"the threshold): {sorted(missed)}")
    for what, diff in diffs.items():
        assert -lost_share - bound <= diff <= bound, (what, diff, bound)
