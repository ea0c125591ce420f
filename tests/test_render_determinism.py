"""Generated files do not depend on the process that renders them (hash seed, import order).

Rendering twice in one process would miss set/dict-order bugs that follow PYTHONHASHSEED:
each render here runs in a fresh interpreter with its own seed.
"""

from __future__ import annotations

import pytest

import hashlib
import json
import os
import subprocess
import sys

RENDER = """
import hashlib, json
from llmpulse.alerts.build import render as alerts
from llmpulse.alerts.thresholds import load_thresholds as alert_thresholds
from llmpulse.dashboards.build import render_all as dashboards
from llmpulse.dashboards.thresholds import load_thresholds as dashboard_thresholds
out = {**alerts(alert_thresholds()), **dashboards(dashboard_thresholds(None))}
print(json.dumps({k: hashlib.sha256(v.encode()).hexdigest() for k, v in sorted(out.items())}))
"""


def _render(seed: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    out = subprocess.run([sys.executable, "-c", RENDER], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.slow
def test_alerts_and_dashboards_render_the_same_under_different_hash_seeds():
    from llmpulse.alerts.build import render
    from llmpulse.alerts.thresholds import load_thresholds

    first, second = _render("1"), _render("2")
    assert first == second
    here = render(load_thresholds())
    assert {k: hashlib.sha256(v.encode()).hexdigest() for k, v in here.items()}.items() <= first.items()
    assert any(k.endswith(".json") for k in first) and any(k.endswith((".yaml", ".yml")) for k in first)
