"""What every llmpulse dashboard shares: UIDs, tags, links, annotations, schema version.

>>> d = make_dashboard("llmpulse-overview", "Overview", "Is everything OK?", [])
>>> d.uid, d.schemaVersion, d.links[0].includeVars
('llmpulse-overview', 39, True)
"""

from __future__ import annotations

from typing import Any, Sequence

from grafanalib import core

from llmpulse.dashboards import variables
from llmpulse.dashboards.panels import PROMETHEUS

SCHEMA_VERSION = 39  # Grafana 10.4 / 11; grafanalib's default (12) predates panels JSON.
TAG = "llmpulse"

UIDS = {
    "overview": "llmpulse-overview",
    "latency": "llmpulse-latency",
    "cost": "llmpulse-cost",
    "quality": "llmpulse-quality",
    "agents": "llmpulse-agents",
    "slo": "llmpulse-slo",
    "exporter": "llmpulse-exporter",
    "engines": "llmpulse-engines",
}

# Grafana's own annotations (manual notes, Grafana-managed alerts); Grafana adds it
# to any dashboard that lacks it, so writing it keeps the stored JSON stable.
BUILTIN_ANNOTATION: dict[str, Any] = {
    "builtIn": 1,
    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
    "enable": True,
    "hide": True,
    "iconColor": "rgba(0, 211, 255, 1)",
    "name": "Annotations & Alerts",
    "type": "dashboard",
}


def prometheus_annotation(
    name: str, expr: str, *, title: str, text: str, tags: str = "", color: str = "red", step: str = "60s"
) -> dict[str, Any]:
    """An annotation drawn wherever `expr` (on `$datasource`) has a sample."""
    return {
        "datasource": PROMETHEUS,
        "enable": True,
        "expr": expr,
        "hide": False,
        "iconColor": color,
        "name": name,
        "step": step,
        "tagKeys": tags,
        "textFormat": text,
        "titleFormat": title,
        "useValueForTime": False,
    }


def firing_alerts(*, by_service: bool = True) -> dict[str, Any]:
    """Firing llmpulse alerts as annotations (alerts without a service always shown)."""
    expr = 'ALERTS{alertstate="firing", alertname=~"LLM.*"}'
    if by_service:
        expr = (
            'ALERTS{alertstate="firing", alertname=~"LLM.*", service_name=~"$service"} '
            'or ALERTS{alertstate="firing", alertname=~"LLM.*", service_name=""}'
        )
    return prometheus_annotation(
        "Firing LLM alerts",
        expr,
        title="{{alertname}}",
        text="{{severity}} {{service_name}}",
        tags="severity,alertname",
    )


FIRING_ALERTS_ANNOTATION = firing_alerts()

DEPLOYMENT_KEYS = "service_name, service_version, prompt_version, gen_ai_request_model"
DEPLOYMENT_ANNOTATION = prometheus_annotation(
    "Deployments",
    # grouped before `unless`: a replica (a new instance label) reporting a known version is no deployment
    f"group by ({DEPLOYMENT_KEYS}) (llm_deployment_info{{{variables.SELECTOR_SERVICE}}}) "
    f"unless group by ({DEPLOYMENT_KEYS}) (llm_deployment_info{{{variables.SELECTOR_SERVICE}}} offset 5m)",
    title="{{service_name}} {{service_version}}",
    text="prompt {{prompt_version}}, model {{gen_ai_request_model}}",
    tags="service_name",
    color="blue",
)


def links() -> list[core.DashboardLink]:
    """One dropdown to every llmpulse dashboard, keeping variables and time range."""
    return [
        core.DashboardLink(
            title="llmpulse",
            type="dashboards",
            tags=[TAG],
            asDropdown=True,
            includeVars=True,
            keepTime=True,
        )
    ]


def make_dashboard(
    uid: str,
    title: str,
    description: str,
    panels: Sequence[core.Panel],
    *,
    templates: Sequence[core.Template] | None = None,
    annotations: Sequence[dict[str, Any]] = (),
    time_from: str = "now-6h",
) -> core.Dashboard:
    """Assemble a dashboard with the shared settings and auto-numbered panel ids."""
    dashboard = core.Dashboard(
        uid=uid,
        title=f"llmpulse / {title}",
        description=description,
        tags=[TAG],
        panels=list(panels),
        templating=core.Templating(list=list(templates if templates is not None else variables.standard())),
        annotations=core.Annotations(list=[BUILTIN_ANNOTATION, *annotations]),
        links=links(),
        schemaVersion=SCHEMA_VERSION,
        timezone="browser",
        refresh="1m",
        graphTooltip=core.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        time=core.Time(time_from, "now"),
        editable=True,
    )
    return dashboard.auto_panel_ids()
