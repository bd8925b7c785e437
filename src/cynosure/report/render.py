"""What the dashboard and the report share to draw Results: the Jinja environment, its
filters and the static assets (style sheet, chart script, the vendored Plotly.js)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import plotly

from cynosure.analysis.explain import segment_name
from cynosure.results import fmt, pct

HERE = Path(__file__).parent
ASSETS = HERE / "assets"
TEMPLATES = HERE / "templates"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def environment(*directories: Path) -> jinja2.Environment:
    """A Jinja environment over `directories` then the report's own templates (macros)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*map(str, directories), str(TEMPLATES)]),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        fmt=fmt,
        pct=pct,
        share=share,
        spark=spark_points,
        segment=segment_name,
        direction=direction,
    )
    env.globals.update(nest=nest, edge_share=edge_share)
    return env


def share(value: float | None) -> str:
    """0.62 -> '62%'."""
    return "n/a" if value is None else f"{value * 100:.0f}%"


def direction(change: float | None, better: str | None = None) -> str:
    """'good', 'bad' or 'flat': the colour of a change, given which way is better."""
    if not change:
        return "flat"
    up_is_good = better != "lower"
    return "good" if (change > 0) == up_is_good else "bad"


def spark_points(values: list[float | None], width: int = 96, height: int = 24) -> str:
    """The `points` of an SVG polyline drawing `values` (gaps skipped)."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(known) < 2:
        return ""
    low = min(v for _, v in known)
    high = max(v for _, v in known)
    span = (high - low) or 1.0
    step = width / max(len(values) - 1, 1)
    return " ".join(
        f"{i * step:.1f},{height - 2 - (v - low) / span * (height - 4):.1f}" for i, v in known
    )


@cache
def asset(name: str) -> str:
    """The text of a file in report/assets (style.css, plots.js)."""
    return (ASSETS / name).read_text(encoding="utf-8")


@cache
def plotly_js() -> str:
    return PLOTLY_JS.read_text(encoding="utf-8")


def nest(nodes: list[Any]) -> list[dict[str, Any]]:
    """Tree nodes (each with `metric` and `parent`, root first) as nested dicts:
    `{"node": node, "parent": parent node or None, "children": [...]}`."""
    by_name: dict[str, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []
    for node in nodes:
        item = {"node": node, "parent": None, "children": []}
        by_name[node.metric] = item
        parent = by_name.get(node.parent or "")
        if parent is None:
            roots.append(item)
        else:
            item["parent"] = parent["node"]
            parent["children"].append(item)
    return roots


def edge_share(node: Any, parent: Any) -> float | None:
    """The share of the parent's change that `node` carried (formula edges only)."""
    if parent is None or node.contribution is None or not parent.change:
        return None
    return float(node.contribution / parent.change)
