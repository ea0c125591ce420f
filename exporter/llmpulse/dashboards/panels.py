"""Panel helpers: every panel gets a title, a description, a unit and the `$datasource`.

The helpers refuse a panel without a description or unit, and a query whose
`rate()` does not use `$__rate_interval`, so the dashboards cannot drift from the
house rules.

>>> p = timeseries("Requests", "Calls per second.", "reqps",
...                [target('sum(rate(llm_retries_total[$__rate_interval]))')])
>>> p.dataSource["uid"], p.unit
('${datasource}', 'reqps')
>>> target("rate(x[5m])")
Traceback (most recent call last):
...
ValueError: rate() must use [$__rate_interval]: rate(x[5m])
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Sequence

import attr
from grafanalib import core

PROMETHEUS: dict[str, str] = {"type": "prometheus", "uid": "${datasource}"}
TEMPO: dict[str, str] = {"type": "tempo", "uid": "${tempo}"}
LOKI: dict[str, str] = {"type": "loki", "uid": "${loki}"}

GREEN, AMBER, RED, BLUE = "green", "#EAB839", "red", "blue"

# Units in use (Grafana unit ids); anything else must be a `suffix:` custom unit.
UNITS = frozenset(
    {
        "s",
        "reqps",
        "reqpm",
        "ops",
        "percentunit",
        "short",
        "none",
        "currencyUSD",
        "bytes",
        "dateTimeAsIso",
        "dateTimeFromNow",
    }
)

_RATE_CALL = re.compile(r"(?<![A-Za-z0-9_:])(rate|irate)\s*\(")
_RANGE = re.compile(r"\[([^\]]*)\]")


def _call_body(expr: str, open_paren: int) -> str:
    depth = 0
    for i in range(open_paren, len(expr)):
        if expr[i] == "(":
            depth += 1
        elif expr[i] == ")":
            depth -= 1
            if depth == 0:
                return expr[open_paren + 1 : i]
    raise ValueError(f"unbalanced parentheses: {expr}")


def check_expr(expr: str) -> str:
    """Return `expr` if every rate()/irate() in it ranges over `[$__rate_interval]`."""
    for match in _RATE_CALL.finditer(expr):
        body = _call_body(expr, match.end() - 1)
        ranges = _RANGE.findall(body)
        if not ranges or any(r != "$__rate_interval" for r in ranges):
            raise ValueError(f"{match.group(1)}() must use [$__rate_interval]: {expr}")
    return expr


@attr.s
class PromTarget(core.Target):
    """A Prometheus query with the modern fields (`exemplar`, `range`, `editorMode`)."""

    exemplar: bool = attr.ib(default=False)

    def to_json_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "datasource": self.datasource,
            "editorMode": "code",
            "exemplar": self.exemplar,
            "expr": self.expr,
            "format": self.format,
            "instant": self.instant,
            "legendFormat": self.legendFormat,
            "range": not self.instant,
            "refId": self.refId,
        }
        if self.interval:
            data["interval"] = self.interval
        return data


def target(
    expr: str,
    legend: str = "__auto",
    *,
    exemplar: bool = False,
    instant: bool = False,
    fmt: str = "time_series",
) -> PromTarget:
    """A Prometheus target on `$datasource`; refIds are assigned by the panel helper."""
    return PromTarget(  # type: ignore[call-arg]  # fields inherited from grafanalib (untyped): mypy's attrs plugin sees only ours
        expr=check_expr(expr),
        legendFormat=legend,
        exemplar=exemplar,
        instant=instant,
        format=fmt,
        datasource=PROMETHEUS,
    )


def steps(*pairs: tuple[str, float | None]) -> list[dict[str, Any]]:
    """Threshold steps, base first: `steps((GREEN, None), (RED, 0.05))`."""
    return [{"color": color, "value": value} for color, value in pairs]


def _require(title: str, description: str, unit: str) -> None:
    if not title.strip():
        raise ValueError("panel needs a title")
    if not description.strip():
        raise ValueError(f"panel {title!r} needs a description that says how to read it")
    if unit not in UNITS and not unit.startswith("suffix:"):
        raise ValueError(f"panel {title!r}: unknown unit {unit!r}")


def _with_ref_ids(targets: Sequence[core.Target]) -> list[core.Target]:
    if not targets:
        raise ValueError("panel needs at least one query")
    return [attr.evolve(t, refId=chr(ord("A") + i)) for i, t in enumerate(targets)]


def timeseries(
    title: str,
    description: str,
    unit: str,
    targets: Sequence[core.Target],
    *,
    stack: bool = False,
    thresholds: list[dict[str, Any]] | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
    bars: bool = False,
    legend_calcs: Iterable[str] = ("mean", "max", "lastNotNull"),
) -> core.TimeSeries:
    """A time series panel; `thresholds` draws them as dashed lines."""
    _require(title, description, unit)
    return core.TimeSeries(
        title=title,
        description=description,
        unit=unit,
        dataSource=PROMETHEUS,
        targets=_with_ref_ids(targets),
        stacking={"mode": "normal", "group": "A"} if stack else {"mode": "none", "group": "A"},
        fillOpacity=30 if stack or bars else 10,
        drawStyle="bars" if bars else "line",
        showPoints="never",
        lineWidth=1,
        legendDisplayMode="table",
        legendPlacement="bottom",
        legendCalcs=list(legend_calcs),
        tooltipMode="multi",
        tooltipSort="desc",
        thresholds=thresholds or steps((GREEN, None)),
        thresholdsStyleMode="dashed" if thresholds else "off",
        valueMin=minimum,
        valueMax=maximum,
        maxDataPoints=None,
    )


def stat(
    title: str,
    description: str,
    unit: str,
    targets: Sequence[core.Target],
    *,
    thresholds: list[dict[str, Any]] | None = None,
    decimals: int | None = None,
    graph: bool = True,
    reduce: str = "lastNotNull",
    no_value: str = "no data",
) -> core.Stat:
    """A single-value panel coloured by `thresholds` (default: always green)."""
    _require(title, description, unit)
    return core.Stat(
        title=title,
        description=description,
        format=unit,
        dataSource=PROMETHEUS,
        targets=_with_ref_ids(targets),
        thresholds=thresholds or steps((GREEN, None)),
        color={"mode": "thresholds"},
        colorMode="background",
        graphMode="area" if graph else "none",
        reduceCalc=reduce,
        decimals=decimals,
        noValue=no_value,
        textMode="value",
        maxDataPoints=None,
    )


def table(
    title: str,
    description: str,
    unit: str,
    targets: Sequence[core.Target],
    *,
    transformations: list[dict[str, Any]] | None = None,
) -> core.Table:
    """A table of instant results (labels become columns)."""
    _require(title, description, unit)
    return core.Table(
        title=title,
        description=description,
        unit=unit,
        dataSource=PROMETHEUS,
        targets=_with_ref_ids(targets),
        transformations=transformations or [],
        filterable=True,
        maxDataPoints=None,
    )


@attr.s
class HeatmapPanel(core.Panel):
    """Grafana's (v9+) heatmap over pre-bucketed Prometheus histograms, with exemplars."""

    unit: str = attr.ib(default="s")

    def to_json_data(self) -> dict[str, Any]:
        return self.panel_json(
            {
                "type": "heatmap",
                "fieldConfig": {"defaults": {"unit": self.unit}, "overrides": []},
                "options": {
                    "calculate": False,
                    "cellGap": 1,
                    "color": {
                        "mode": "scheme",
                        "scheme": "Spectral",
                        "scale": "exponential",
                        "exponent": 0.5,
                        "steps": 64,
                        "reverse": False,
                    },
                    "exemplars": {"color": "rgba(255,0,255,0.7)"},
                    "filterValues": {"le": 1e-9},
                    "legend": {"show": True},
                    "rowsFrame": {"layout": "auto"},
                    "tooltip": {"mode": "single", "yHistogram": False, "showColorScale": False},
                    "yAxis": {"axisPlacement": "left", "unit": self.unit, "reverse": False},
                },
            }
        )


def heatmap(title: str, description: str, unit: str, bucket_expr: str) -> HeatmapPanel:
    """A heatmap of `sum by (le) (rate(<histogram>_bucket[...]))` with exemplars on."""
    _require(title, description, unit)
    query = target(bucket_expr, "{{le}}", exemplar=True, fmt="heatmap")
    return HeatmapPanel(  # type: ignore[call-arg]  # fields inherited from grafanalib (untyped): mypy's attrs plugin sees only ours
        title=title,
        description=description,
        unit=unit,
        dataSource=PROMETHEUS,
        targets=_with_ref_ids([query]),
        maxDataPoints=None,
    )


@attr.s
class TracesPanel(core.Panel):
    """A Tempo TraceQL search shown as a table (datasource `$tempo`)."""

    query: str = attr.ib(default="")
    limit: int = attr.ib(default=20)

    def to_json_data(self) -> dict[str, Any]:
        return self.panel_json(
            {
                "type": "table",
                "fieldConfig": {"defaults": {"unit": "none"}, "overrides": []},
                "targets": [
                    {
                        "datasource": TEMPO,
                        "limit": self.limit,
                        "query": self.query,
                        "queryType": "traceql",
                        "refId": "A",
                        "tableType": "traces",
                    }
                ],
            }
        )


def traces(title: str, description: str, traceql: str) -> TracesPanel:
    """Recent traces matching `traceql`, from the optional Tempo datasource."""
    _require(title, description, "none")
    return TracesPanel(  # type: ignore[call-arg]  # fields inherited from grafanalib (untyped): mypy's attrs plugin sees only ours
        title=title, description=description, dataSource=TEMPO, query=traceql, maxDataPoints=None
    )


@attr.s
class LogsPanel(core.Panel):
    """Log lines from the optional Loki datasource (`$loki`)."""

    query: str = attr.ib(default="")

    def to_json_data(self) -> dict[str, Any]:
        return self.panel_json(
            {
                "type": "logs",
                "fieldConfig": {"defaults": {"unit": "none"}, "overrides": []},
                "options": {"showTime": True, "sortOrder": "Descending", "wrapLogMessage": True},
                "targets": [
                    {"datasource": LOKI, "expr": self.query, "queryType": "range", "refId": "A"}
                ],
            }
        )


def logs(title: str, description: str, logql: str) -> LogsPanel:
    """Recent log lines matching `logql`, from the optional Loki datasource."""
    _require(title, description, "none")
    return LogsPanel(  # type: ignore[call-arg]  # fields inherited from grafanalib (untyped), as above
        title=title, description=description, dataSource=LOKI, query=logql, maxDataPoints=None)


PANEL_KINDS: dict[str, Callable[..., core.Panel]] = {"timeseries": timeseries, "stat": stat, "table": table}


def panel(kind: str, title: str, description: str, unit: str, targets: Sequence[core.Target], **options: Any) -> core.Panel:
    """Generic entry point: `panel("stat", title, description, unit, targets, ...)`."""
    return PANEL_KINDS[kind](title, description, unit, targets, **options)


class Grid:
    """Lays panels out left to right on Grafana's 24-column grid, wrapping as needed.

    >>> g = Grid()
    >>> g.row("Status")
    >>> g.add(stat("A", "d", "none", [target("vector(1)")]), w=12, h=4)
    >>> g.add(stat("B", "d", "none", [target("vector(1)")]), w=12, h=4)
    >>> [p.gridPos.to_json_data() for p in g.panels][2]
    {'h': 4, 'w': 12, 'x': 12, 'y': 1}
    """

    WIDTH = 24

    def __init__(self) -> None:
        self.panels: list[core.Panel] = []
        self._x = 0
        self._y = 0
        self._line_height = 0

    def _newline(self) -> None:
        self._y += self._line_height
        self._x = 0
        self._line_height = 0

    def add(self, item: core.Panel, w: int, h: int) -> None:
        """Place `item` at the cursor with width `w` (of 24) and height `h`."""
        if self._x + w > self.WIDTH:
            self._newline()
        self.panels.append(attr.evolve(item, gridPos=core.GridPos(h=h, w=w, x=self._x, y=self._y)))
        self._x += w
        self._line_height = max(self._line_height, h)

    def row(self, title: str) -> None:
        """Start a new (open) row titled `title`."""
        self._newline()
        self.panels.append(core.RowPanel(title=title, gridPos=core.GridPos(h=1, w=24, x=0, y=self._y)))
        self._y += 1

    def collapsed_row(self, title: str, items: Sequence[tuple[core.Panel, int, int]]) -> None:
        """A collapsed row holding `items` ((panel, w, h) each), laid out below it when opened."""
        self._newline()
        row_y = self._y
        inner = Grid()
        inner._y = row_y + 1
        for item, w, h in items:
            inner.add(item, w, h)
        self.panels.append(
            core.RowPanel(
                title=title,
                collapsed=True,
                panels=inner.panels,
                gridPos=core.GridPos(h=1, w=24, x=0, y=row_y),
            )
        )
        self._y = row_y + 1
