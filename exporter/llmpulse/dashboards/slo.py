"""SLOs: objective, SLI, error budget left and burn rate per window, per SLO.

Reads the `slo:sli_error:ratio_rate<window>` recording rules (labels `slo`,
`service_name`, `job`) and the objectives from thresholds.yaml.

>>> build(load_thresholds(None)).uid
'llmpulse-slo'
"""

from __future__ import annotations

from grafanalib import core

from llmpulse.dashboards import base, promql, variables
from llmpulse.dashboards.metric_names import SLO_WINDOWS
from llmpulse.dashboards.panels import AMBER, GREEN, RED, Grid, stat, steps, target, timeseries
from llmpulse.dashboards.thresholds import SLO, Thresholds, load_thresholds
from llmpulse.dashboards.variables import SELECTOR_SERVICE

# Burn-rate colours come from the critical SLO alert tiers in thresholds.yaml
# (slo.windows; 14.4x and 6x for a 30 d period): red from the fastest, amber from the slowest.
ERROR_BUDGET_LOW_RATIO = 0.25  # share of the 30 d budget left below which the tile is amber
PERIOD = "30d"


def sli_error(slo: SLO, window: str) -> str:
    return f'slo:sli_error:ratio_rate{window}{{slo="{slo.name}", {SELECTOR_SERVICE}}}'


def burn_steps(t: Thresholds) -> list[dict[str, object]]:
    return steps((GREEN, None), (AMBER, min(t.slo_burn_factors)), (RED, max(t.slo_burn_factors)))


def slo_panels(slo: SLO, t: Thresholds) -> list[tuple[core.Panel, int, int]]:
    budget = promql.number(round(1 - slo.objective, 10))
    objective = f"{slo.objective * 100:g} %"
    extra = (
        f" A call is good when it finishes within {promql.number(t.latency_slo_threshold_seconds)} s."
        if slo.name == "latency"
        else ""
    )
    return [
        (
            stat(
                f"{slo.name.capitalize()} SLI (30 d)",
                f"{slo.description}{extra} Measured over {PERIOD}; objective {objective}. Red below "
                "the objective (the worst selected service).",
                "percentunit",
                [target(f"1 - max({sli_error(slo, PERIOD)})", "SLI", instant=True)],
                thresholds=steps((RED, None), (GREEN, slo.objective)),
                decimals=3,
                graph=False,
            ),
            4,
            6,
        ),
        (
            stat(
                f"{slo.name.capitalize()} error budget left (30 d)",
                f"Share of the {PERIOD} error budget ({budget} of calls may fail the objective) not "
                f"yet spent. Amber under {int(ERROR_BUDGET_LOW_RATIO * 100)} %, red when spent.",
                "percentunit",
                [target(f"1 - max({sli_error(slo, PERIOD)}) / {budget}", "budget left", instant=True)],
                thresholds=steps((RED, None), (AMBER, 0.0), (GREEN, ERROR_BUDGET_LOW_RATIO)),
                decimals=1,
                graph=False,
            ),
            4,
            6,
        ),
        (
            stat(
                f"{slo.name.capitalize()} burn rate (1 h)",
                "How fast the error budget burns now: 1 = exactly on budget for the period. "
                f"Amber from {promql.number(min(t.slo_burn_factors))}x, red from "
                f"{promql.number(max(t.slo_burn_factors))}x (the paging SLO burn alert tiers).",
                "suffix:x",
                [target(f"max({sli_error(slo, '1h')}) / {budget}", "burn rate")],
                thresholds=burn_steps(t),
                decimals=2,
            ),
            4,
            6,
        ),
        (
            timeseries(
                f"{slo.name.capitalize()} burn rate per window",
                "Error ratio over each window divided by the budget ratio (1 - objective). Short "
                "windows react fast, long ones confirm; the burn alerts fire when a short and a "
                "long window are both above a tier (dashed lines).",
                "suffix:x",
                [target(f"max({sli_error(slo, w)}) / {budget}", w) for w in SLO_WINDOWS],
                thresholds=burn_steps(t),
                minimum=0,
            ),
            12,
            6,
        ),
        (
            timeseries(
                f"{slo.name.capitalize()} error budget left by service",
                f"Share of the {PERIOD} error budget left per service over time; a line reaching 0 "
                "means the objective is missed for the period.",
                "percentunit",
                [
                    target(
                        f'1 - max by (service_name) (slo:sli_error:ratio_rate{PERIOD}{{slo="{slo.name}", '
                        f"{SELECTOR_SERVICE}}}) / {budget}",
                        "{{service_name}}",
                    )
                ],
                thresholds=steps((RED, None), (GREEN, 0.0)),
            ),
            24,
            7,
        ),
    ]


def build(t: Thresholds) -> core.Dashboard:
    grid = Grid()
    for slo in t.slos:
        grid.row(f"{slo.name.capitalize()} SLO: objective {slo.objective * 100:g} % over {PERIOD}")
        for item, w, h in slo_panels(slo, t):
            grid.add(item, w, h)
    return base.make_dashboard(
        base.UIDS["slo"],
        "SLOs",
        "Are we within our objectives? SLI, error budget left and burn rate per window, from the SLO recording rules.",
        grid.panels,
        templates=[
            variables.datasource("datasource", "prometheus", "Prometheus"),
            variables.job(),
            variables.label_values(
                "service", "service_name", variables.SOURCE_METRIC, matchers='job=~"$job"', title="Service"
            ),
        ],
        annotations=[base.FIRING_ALERTS_ANNOTATION],
        time_from="now-7d",
    )


__all__ = ["build", "load_thresholds"]
