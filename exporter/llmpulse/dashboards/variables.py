"""Dashboard variables: datasources, then job -> service -> provider -> model, chained.

Every query variable reads `$datasource` and filters by the variables before it,
so picking a service narrows the model list. Multi-value variables use `.*` for
"All", so selectors are always written `label=~"$var"`.

>>> [v.name for v in standard()]
['datasource', 'tempo', 'loki', 'job', 'service', 'provider', 'model']
>>> SELECTOR
'job=~"$job", service_name=~"$service", gen_ai_provider_name=~"$provider", gen_ai_request_model=~"$model"'
"""

from __future__ import annotations

from typing import Any

from grafanalib import core

from llmpulse.dashboards.panels import PROMETHEUS

SOURCE_METRIC = "gen_ai_client_operation_duration_seconds_count"

# Label selectors for the three metric shapes of the contract.
SELECTOR_SERVICE = 'job=~"$job", service_name=~"$service"'
SELECTOR_SERVICE_MODEL = 'job=~"$job", service_name=~"$service", gen_ai_request_model=~"$model"'
SELECTOR = (
    'job=~"$job", service_name=~"$service", gen_ai_provider_name=~"$provider", '
    'gen_ai_request_model=~"$model"'
)
# Opt-in dimensions (absent unless the exporter is configured with them).
SELECTOR_DIMENSIONS = 'feature=~"$feature", tenant=~"$tenant"'


class QueryTemplate(core.Template):
    """A query variable whose JSON also carries `definition` (what Grafana's editor shows)."""

    def to_json_data(self) -> dict[str, Any]:
        data = super().to_json_data()
        data["definition"] = self.query
        if self.default == "$__all":
            data["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
        return data


def datasource(name: str, plugin: str, label: str, *, optional: bool = False) -> core.Template:
    """A datasource picker for `plugin` (prometheus, tempo, loki)."""
    return core.Template(
        name=name,
        label=label,
        query=plugin,
        type="datasource",
        regex="",
        hide=core.SHOW,
        includeAll=False,
        multi=False,
        default="" if optional else None,
    )


def label_values(
    name: str, label: str, metric: str, *, matchers: str = "", title: str | None = None
) -> core.Template:
    """A multi-select `label_values(metric{matchers}, label)` variable with an All option."""
    selector = f"{metric}{{{matchers}}}" if matchers else metric
    return QueryTemplate(
        name=name,
        label=title or name.capitalize(),
        query=f"label_values({selector}, {label})",
        dataSource=PROMETHEUS,
        includeAll=True,
        multi=True,
        allValue=".*",
        default="$__all",
        refresh=core.REFRESH_ON_TIME_RANGE_CHANGE,
        sort=core.SORT_ALPHA_ASC,
        regex="",
    )


def job(metric: str = SOURCE_METRIC) -> core.Template:
    """Prometheus scrape job(s) of the llmpulse exporter."""
    return label_values("job", "job", metric, title="Job")


def standard() -> list[core.Template]:
    """The chain used by every LLM dashboard."""
    return [
        datasource("datasource", "prometheus", "Prometheus"),
        datasource("tempo", "tempo", "Tempo (optional)", optional=True),
        datasource("loki", "loki", "Loki (optional)", optional=True),
        job(),
        label_values("service", "service_name", SOURCE_METRIC, matchers='job=~"$job"', title="Service"),
        label_values(
            "provider",
            "gen_ai_provider_name",
            SOURCE_METRIC,
            matchers='job=~"$job", service_name=~"$service"',
            title="Provider",
        ),
        label_values(
            "model",
            "gen_ai_request_model",
            SOURCE_METRIC,
            matchers='job=~"$job", service_name=~"$service", gen_ai_provider_name=~"$provider"',
            title="Model",
        ),
    ]


def dimensions() -> list[core.Template]:
    """Opt-in dimensions (feature, tenant); empty lists (All = `.*`) when not configured."""
    matchers = 'job=~"$job", service_name=~"$service"'
    return [
        label_values("feature", "feature", "llm_cost_usd_total", matchers=matchers, title="Feature"),
        label_values("tenant", "tenant", "llm_cost_usd_total", matchers=matchers, title="Tenant"),
    ]
