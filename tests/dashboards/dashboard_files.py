"""Shared helpers for the dashboard tests: the committed JSON and its panels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

REPO = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = REPO / "dashboards"

EXPECTED_UIDS = {
    "llmpulse-overview",
    "llmpulse-latency",
    "llmpulse-cost",
    "llmpulse-quality",
    "llmpulse-agents",
    "llmpulse-slo",
    "llmpulse-exporter",
    "llmpulse-engines",
}


def committed() -> dict[str, dict[str, Any]]:
    """uid -> dashboard JSON of every committed dashboards/*.json."""
    out = {}
    for path in sorted(DASHBOARD_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        out[data["uid"]] = data
    return out


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def leaf_panels(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Every non-row panel of a dashboard."""
    return [p for p in all_panels(data["panels"]) if p["type"] != "row"]
