"""Plotly figures (plain dicts: `{"data": [...], "layout": {...}}`) drawn from Results.

The dashboard and the report both embed these as JSON; Plotly.js draws them in the browser.
No numbers are computed here beyond choosing what to plot.
"""

from __future__ import annotations

from typing import Any

from cynosure.analysis.aha import AhaResult
from cynosure.analysis.explain import ExplainResult
from cynosure.analysis.impact import ImpactResult
from cynosure.analysis.targets import TargetsResult
from cynosure.results import MetricsResult

Figure = dict[str, Any]

ACCENT = "#2563eb"
MUTED = "#9ca3af"
GOOD = "#059669"
BAD = "#dc2626"
CONTEXT_PERIODS = {"day": 70, "week": 26, "month": 12}
PALETTE = ["#2563eb", "#d97706", "#059669", "#7c3aed", "#db2777", "#0891b2"]


def _layout(height: int = 300, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "height": height,
        "margin": {"l": 56, "r": 16, "t": 16, "b": 40},
        "font": {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 12},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.18},
        "xaxis": {"gridcolor": "#eef0f3"},
        "yaxis": {"gridcolor": "#eef0f3", "zeroline": False},
    }
    layout.update(extra)
    return layout


def _marker_lines(days: list[tuple[str, str]]) -> dict[str, list[dict[str, Any]]]:
    """Vertical dashed lines with a label at each (day, name)."""
    shapes = [
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": day,
            "x1": day,
            "y0": 0,
            "y1": 1,
            "line": {"color": MUTED, "dash": "dot", "width": 1},
        }
        for day, _ in days
    ]
    notes = [
        {
            "x": day,
            "y": 1 - 0.08 * (i % 2),
            "xref": "x",
            "yref": "paper",
            "text": name,
            "showarrow": False,
            "xanchor": "left",
            "yanchor": "top",
            "font": {"size": 10, "color": "#6b7280"},
        }
        for i, (day, name) in enumerate(days)
    ]
    return {"shapes": shapes, "annotations": notes}


def series(
    result: MetricsResult, metric: str, interventions: list[tuple[str, str]] | None = None
) -> Figure:
    """A metric over time; partial periods hollow; interventions as dated lines."""
    points = result.metrics[metric]
    x = [p.start.isoformat() for p in points]
    y = [p.value for p in points]
    symbols = ["circle" if p.complete else "circle-open" for p in points]
    trace = {
        "type": "scatter",
        "mode": "lines+markers",
        "name": result.labels.get(metric, metric),
        "x": x,
        "y": y,
        "text": [p.period for p in points],
        "line": {"color": ACCENT, "width": 2},
        "marker": {"size": 4, "symbol": symbols},
        "hovertemplate": "%{text}: %{y:,.4~g}<extra></extra>",
    }
    first, last = (x[0], x[-1]) if x else ("", "")
    inside = [(d, n) for d, n in interventions or [] if first <= d <= last]
    layout = _layout(300, **_marker_lines(inside))
    layout["xaxis"] = {"range": [first, last], "type": "date", "gridcolor": "#eef0f3"}
    return {"data": [trace], "layout": layout}


def breakdown(lines: list[Any], label: str) -> Figure:
    """One line per segment value."""
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": line.value,
            "x": line.starts,
            "text": line.periods,
            "y": line.values,
            "line": {"width": 1.5, "color": PALETTE[i % len(PALETTE)]},
        }
        for i, line in enumerate(lines)
    ]
    return {"data": data, "layout": _layout(260, yaxis={"title": {"text": label}})}


def forecast(history: MetricsResult, result: TargetsResult) -> Figure:
    """History, the forecast median with its 80% band, and each target as a diamond."""
    points = [p for p in history.metrics.get(result.metric, []) if p.complete]
    hx = [p.period for p in points]
    fx = result.forecast.periods
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "actual",
            "x": hx,
            "y": [p.value for p in points],
            "line": {"color": ACCENT, "width": 2},
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "80% band",
            "x": fx + fx[::-1],
            "y": result.forecast.high + result.forecast.low[::-1],
            "fill": "toself",
            "fillcolor": "rgba(37,99,235,0.12)",
            "line": {"width": 0},
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "forecast",
            "x": fx,
            "y": result.forecast.median,
            "line": {"color": ACCENT, "dash": "dash"},
        },
    ]
    if result.targets:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "target",
                "x": [t.period for t in result.targets],
                "y": [t.value for t in result.targets],
                "text": [f"{t.status} ({t.by})" for t in result.targets],
                "marker": {"symbol": "diamond", "size": 11, "color": "#d97706"},
            }
        )
    layout = _layout()
    layout["xaxis"] = {"type": "category", "gridcolor": "#eef0f3", "nticks": 12}
    return {"data": data, "layout": layout}


def waterfall(result: ExplainResult) -> Figure:
    """From the baseline value to the current one through the tree's exact frontier (the
    deepest exactly attributed inputs), whose contributions sum to the change."""
    exact_parents = {n.parent for n in result.tree if n.edge == "formula"}
    frontier = [
        n
        for n in result.tree[1:]
        if not n.estimated and n.metric not in exact_parents and n.contribution is not None
    ]
    labels = [f"{result.baseline}", *(n.label for n in frontier), f"{result.period}"]
    values = [result.baseline_value, *(n.contribution for n in frontier), result.value]
    measure = ["absolute", *("relative" for _ in frontier), "total"]
    trace = {
        "type": "waterfall",
        "orientation": "v",
        "x": labels,
        "y": values,
        "measure": measure,
        "connector": {"line": {"color": MUTED}},
        "increasing": {"marker": {"color": GOOD}},
        "decreasing": {"marker": {"color": BAD}},
        "totals": {"marker": {"color": ACCENT}},
        "texttemplate": "%{delta:,.3~s}",
    }
    return {"data": [trace], "layout": _layout(320, hovermode="closest", showlegend=False)}


def counterfactual(result: ImpactResult) -> Figure:
    """Actual against the predicted counterfactual and its 95% band, from the start date."""
    s = result.series
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "95% band",
            "x": s.periods + s.periods[::-1],
            "y": s.upper + s.lower[::-1],
            "fill": "toself",
            "fillcolor": "rgba(156,163,175,0.25)",
            "line": {"width": 0},
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "without it (predicted)",
            "x": s.periods,
            "y": s.predicted,
            "line": {"color": MUTED, "dash": "dash", "width": 1.5},
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "actual",
            "x": s.periods,
            "y": s.actual,
            "line": {"color": ACCENT, "width": 1.5},
        },
    ]
    layout = _layout(300, **_marker_lines([(result.start, "start")]))
    # Show the weeks around the change, not the whole history the model learnt from.
    shown = max(0, _index(s.periods, result.start) - CONTEXT_PERIODS[result.grain])
    if s.periods:
        layout["xaxis"] = {"range": [s.periods[shown], s.periods[-1]], "gridcolor": "#eef0f3"}
    return {"data": data, "layout": layout}


def _index(periods: list[str], start: str) -> int:
    return next((i for i, p in enumerate(periods) if p >= start), len(periods))


def aha(result: AhaResult, top: int = 6) -> Figure:
    """Retention of those who did each behaviour against those who did not."""
    moments = result.moments[:top][::-1]
    names = [f"{m.event} ≥{m.at_least} in {m.within_days}d" for m in moments]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": "did not",
            "y": names,
            "x": [m.retention_did_not for m in moments],
            "marker": {"color": MUTED},
        },
        {
            "type": "bar",
            "orientation": "h",
            "name": "did",
            "y": names,
            "x": [m.retention_did for m in moments],
            "marker": {"color": ACCENT},
        },
    ]
    layout = _layout(60 + 44 * max(len(moments), 1), barmode="group", hovermode="closest")
    layout["xaxis"] = {"tickformat": ".0%", "title": {"text": "retained"}, "gridcolor": "#eef0f3"}
    layout["margin"] = {"l": 200, "r": 16, "t": 16, "b": 40}
    return {"data": data, "layout": layout}


def pair(result: MetricsResult, first: str, second: str) -> Figure:
    """Two metrics on their own axes, complete periods only (the North Star and revenue)."""
    data = []
    for i, name in enumerate((first, second)):
        points = [p for p in result.metrics[name] if p.complete]
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": result.labels.get(name, name),
                "x": [p.start.isoformat() for p in points],
                "y": [p.value for p in points],
                "yaxis": "y" if i == 0 else "y2",
                "line": {"color": PALETTE[i], "width": 2},
            }
        )
    layout = _layout(300)
    layout["yaxis"]["title"] = {"text": result.labels.get(first, first)}
    layout["yaxis2"] = {
        "overlaying": "y",
        "side": "right",
        "showgrid": False,
        "title": {"text": result.labels.get(second, second)},
    }
    layout["margin"] = {"l": 56, "r": 56, "t": 16, "b": 40}
    return {"data": data, "layout": layout}
