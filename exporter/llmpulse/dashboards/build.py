"""Render every dashboard to deterministic JSON, check committed files, list queries.

JSON is written with sorted keys, indent 2 and a trailing newline, one file per
dashboard named after its UID (`dashboards/llmpulse-overview.json`).

>>> names = sorted(render_all(load_thresholds(None)))
>>> names[0], len(names)
('llmpulse-agents.json', 8)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from grafanalib import core
from grafanalib._gen import DashboardEncoder

from llmpulse.dashboards import agents, cost, engines, exporter, latency, overview, quality, slo
from llmpulse.dashboards.thresholds import Thresholds, load_thresholds
from llmpulse.paths import DASHBOARDS_DIR

DASHBOARD_DIR = DASHBOARDS_DIR

BUILDERS: dict[str, Callable[[Thresholds], core.Dashboard]] = {
    "overview": overview.build,
    "latency": latency.build,
    "cost": cost.build,
    "quality": quality.build,
    "agents": agents.build,
    "slo": slo.build,
    "exporter": exporter.build,
    "engines": engines.build,
}

# Grafana's import screen asks for a Prometheus datasource for this input and
# replaces "${DS_PROMETHEUS}" with its uid; panels never use it directly (they use
# the `$datasource` variable), so provisioning and the HTTP API work without it.
DS_INPUT = "DS_PROMETHEUS"
INPUTS = [
    {
        "description": "Prometheus that scrapes llmpulse (with llmpulse recording rules loaded)",
        "label": "Prometheus",
        "name": DS_INPUT,
        "pluginId": "prometheus",
        "pluginName": "Prometheus",
        "type": "datasource",
    }
]
REQUIRES = [
    {"id": "grafana", "name": "Grafana", "type": "grafana", "version": "10.4.0"},
    {"id": "prometheus", "name": "Prometheus", "type": "datasource", "version": "1.0.0"},
    {"id": "tempo", "name": "Tempo", "type": "datasource", "version": "1.0.0"},
    {"id": "loki", "name": "Loki", "type": "datasource", "version": "1.0.0"},
    {"id": "heatmap", "name": "Heatmap", "type": "panel", "version": ""},
    {"id": "logs", "name": "Logs", "type": "panel", "version": ""},
    {"id": "stat", "name": "Stat", "type": "panel", "version": ""},
    {"id": "table", "name": "Table", "type": "panel", "version": ""},
    {"id": "timeseries", "name": "Time series", "type": "panel", "version": ""},
]

# Top-level keys grafanalib emits for Grafana 6-era dashboards; dropped from the output.
_LEGACY_DASHBOARD_KEYS = ("rows", "style", "hideControls", "sharedCrosshair", "gnetId")
_ROW_KEYS = ("collapsed", "gridPos", "id", "panels", "title", "type")


def _clean_panel(panel: dict[str, Any]) -> dict[str, Any]:
    if panel.get("type") == "row":
        row = {key: panel[key] for key in _ROW_KEYS if key in panel}
        row["panels"] = [_clean_panel(p) for p in row.get("panels", [])]
        return row
    cleaned = {key: value for key, value in panel.items() if value is not None}
    cleaned.pop("error", None)
    return cleaned


def to_dict(dashboard: core.Dashboard) -> dict[str, Any]:
    """The dashboard as plain JSON data, cleaned of legacy keys, with `__inputs`."""
    data: dict[str, Any] = json.loads(json.dumps(dashboard.to_json_data(), cls=DashboardEncoder))
    for key in _LEGACY_DASHBOARD_KEYS:
        data.pop(key, None)
    data["panels"] = [_clean_panel(p) for p in data["panels"]]
    data["__inputs"] = INPUTS
    data["__requires"] = REQUIRES
    for variable in data["templating"]["list"]:
        if variable["name"] == "datasource":
            variable["current"] = {"selected": False, "text": "${%s}" % DS_INPUT, "value": "${%s}" % DS_INPUT}
    return data


def to_json(data: dict[str, Any]) -> str:
    """Deterministic JSON text: sorted keys, indent 2, trailing newline."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def render_all(thresholds: Thresholds) -> dict[str, str]:
    """Map of file name -> JSON text for every dashboard."""
    out = {}
    for builder in BUILDERS.values():
        data = to_dict(builder(thresholds))
        out[f"{data['uid']}.json"] = to_json(data)
    return out


def write_all(out_dir: Path, thresholds: Thresholds) -> list[Path]:
    """Write every dashboard that is missing or differs into `out_dir`; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in sorted(render_all(thresholds).items()):
        path = out_dir / name
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale_files(out_dir: Path, thresholds: Thresholds) -> list[str]:
    """Names of dashboard files in `out_dir` that are missing or differ from a fresh render."""
    stale = []
    for name, text in sorted(render_all(thresholds).items()):
        path = out_dir / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
    return stale


# ---------------------------------------------------------------------------
# Queries, for tests that run every panel against a real Prometheus.


@dataclass(frozen=True)
class Query:
    """One PromQL expression of a dashboard (a panel target or an annotation)."""

    uid: str
    panel: str
    expr: str
    instant: bool = False


def iter_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, including those inside collapsed rows."""
    for panel in panels:
        yield panel
        yield from iter_panels(panel.get("panels", []))


def dashboard_queries(data: dict[str, Any]) -> list[Query]:
    """Prometheus queries of one rendered dashboard (panels first, then annotations)."""
    out = []
    for panel in iter_panels(data["panels"]):
        for t in panel.get("targets", []):
            if (t.get("datasource") or {}).get("type") == "prometheus":
                out.append(Query(data["uid"], panel["title"], t["expr"], bool(t.get("instant"))))
    for annotation in data["annotations"]["list"]:
        if (annotation.get("datasource") or {}).get("type") == "prometheus":
            out.append(Query(data["uid"], f"annotation: {annotation['name']}", annotation["expr"]))
    return out


def all_queries(thresholds: Thresholds | None = None) -> list[tuple[str, str, str]]:
    """Every (dashboard uid, panel title, expr) across all dashboards.

    >>> uid, title, expr = all_queries()[0]
    >>> uid, title
    ('llmpulse-overview', 'Requests / s')
    """
    t = thresholds if thresholds is not None else load_thresholds(None)
    out = []
    for builder in BUILDERS.values():
        for q in dashboard_queries(to_dict(builder(t))):
            out.append((q.uid, q.panel, q.expr))
    return out


LIVE_SUBSTITUTIONS = {"$__rate_interval": "1m", "$__interval": "10s", "$__range": "1h"}
_VARIABLE = re.compile(r'"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?"')


def live_expr(expr: str) -> str:
    """`expr` runnable outside Grafana: intervals fixed, `"$var"` matchers become `".*"`.

    >>> live_expr('sum(rate(x{job=~"$job"}[$__rate_interval]))')
    'sum(rate(x{job=~".*"}[1m]))'
    """
    for name, value in LIVE_SUBSTITUTIONS.items():
        expr = expr.replace(name, value)
    return _VARIABLE.sub('".*"', expr)
