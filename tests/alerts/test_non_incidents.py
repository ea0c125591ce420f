"""Four non-incidents: nothing may page, nothing may warn (a surge may warn about spend).

Each is 8 hours of seeded, lumpy traffic from tests/alerts/traffic_sim.py, evaluated
with the shipped rules by promtool every minute; the firing alerts are checked every
5 minutes. The same four are `llmpulse demo --scenario` non-incidents (docs/demo.md).

* cold_start: a new service appears at 1h and ramps to 1 call/s within 5 minutes.
* night_lull: 1 call/s, down to 0.02 call/s over an hour, three hours of night,
  back up over an hour.
* model_migration: 1 call/s moves from gpt-4o to claude-sonnet-4-5 over 10 minutes.
* traffic_surge: 1 call/s becomes 3 calls/s at 3h, every per-call figure unchanged;
  with a 40 USD/day budget for the service, LLMDailyBudgetExceeded warns (spend) and
  nothing else fires.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .rule_cases import Case, lbl
from .test_rules_promtool import run_case
from .traffic_sim import simulate

pytestmark = pytest.mark.slow     # a simulated day through promtool: 12-20 s a case

MINUTES = 480
QUIET = 'ALERTS{alertstate="firing", alertname!="Watchdog"}'
SPEND = "LLMSpendSpike|LLMDailyBudgetExceeded"


def _ramp(m: int, points: list[tuple[int, float]]) -> float:
    """Piecewise-linear curve through (minute, value) points."""
    for (m0, v0), (m1, v1) in zip(points, points[1:]):
        if m0 <= m <= m1:
            return v0 + (v1 - v0) * (m - m0) / (m1 - m0)
    return points[-1][1] if m > points[-1][0] else points[0][1]


def _checks(quiet_expr: str) -> list[dict]:
    return [{"eval_time": f"{t}m", "expr": quiet_expr, "exp_samples": []} for t in range(0, MINUTES, 5)]


NON_INCIDENTS = {
    "cold_start": dict(rate=lambda m: _ramp(m, [(60, 0.0), (65, 1.0)]), starts_at=60),
    "night_lull": dict(rate=lambda m: _ramp(m, [(0, 1.0), (120, 1.0), (180, 0.02), (360, 0.02), (420, 1.0)])),
    "model_migration": dict(rate=lambda m: 1.0, share=lambda m: {
        "gpt-4o": 1 - _ramp(m, [(180, 0.0), (190, 1.0)]), "claude-sonnet-4-5": _ramp(m, [(180, 0.0), (190, 1.0)])}),
    "traffic_surge": dict(rate=lambda m: _ramp(m, [(0, 1.0), (180, 1.0), (185, 3.0)])),
}


def _case(name: str, seed: int) -> Case:
    spec = dict(NON_INCIDENTS[name])
    share = spec.pop("share", None)
    series = simulate(spec.pop("rate"), MINUTES, seed, share=share, **spec)
    if name == "traffic_surge":
        quiet = QUIET.replace('alertname!="Watchdog"', f'alertname!~"Watchdog|{SPEND}"')
        exprs = _checks(quiet) + [
            {"eval_time": "460m", "expr": 'ALERTS{alertname="LLMDailyBudgetExceeded", alertstate="firing"}',
             "exp_samples": [{"labels": lbl("ALERTS", {"alertname": "LLMDailyBudgetExceeded", "alertstate": "firing",
                                                       "job": "llm", "service_name": "chat-api", "severity": "warning"}),
                              "value": 1}]},
        ]
        return Case(f"{name}_{seed}", series, exprs=exprs,
                    thresholds={"LLMDailyBudgetExceededThresholdUSD": {"per_service": {"chat-api": 40}}})
    return Case(f"{name}_{seed}", series, exprs=_checks(QUIET))


@pytest.mark.parametrize("seed", [int(s) for s in os.environ.get("LLMPULSE_NON_INCIDENT_SEEDS", "1").split(",")])
@pytest.mark.parametrize("name", sorted(NON_INCIDENTS))
def test_non_incident_stays_quiet(name: str, seed: int, tmp_path: Path):
    out = run_case(_case(name, seed), tmp_path)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr
