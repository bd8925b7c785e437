"""A metric's change split through its subtree, recursively down to the leaves.

Along formula edges the split is exact (Shapley values, see `attribution`): a parent's
children add up to its change. Going down a level, a child's part of the top metric's change
is its part of its parent's change times the parent's part of the top metric's change per
unit of the parent's own change, so at every level of formula edges the parts still add up
exactly to the top metric's change. Along driver edges the parts are estimated (`drivers`)
and marked so, with intervals; everything below an estimated node is estimated too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import pandas as pd

from cynosure.tree.attribution import shapley
from cynosure.tree.drivers import DriverFit, estimate_drivers
from cynosure.tree.structure import Tree


@dataclass(frozen=True)
class Part:
    """One metric of the subtree and its part in the top metric's change."""

    metric: str
    parent: str | None
    depth: int
    edge: str | None  # "formula" or "driver" (to the parent); None at the top
    value: float
    baseline_value: float
    change: float
    to_parent: float | None  # contribution to the parent's change
    contribution: float | None  # contribution to the top metric's change
    interval: tuple[float, float] | None  # 95% interval of `contribution` when estimated
    estimated: bool
    unexplained: float | None = None  # part of the top change its drivers leave unexplained
    fit: DriverFit | None = None  # of this metric's driver edge


def breakdown(
    tree: Tree,
    top: str,
    frame: pd.DataFrame,
    current: date,
    before: date,
    history: pd.DataFrame | None = None,
) -> list[Part]:
    """Split the change of `top` between `before` and `current` through its subtree.

    Args:
        tree: The metric tree.
        top: The metric explained (any node of the tree, or a metric outside it).
        frame: Every metric's series at the grain, indexed by period start.
        current: The period explained.
        before: Its baseline.
        history: Complete periods before `current`, to estimate driver edges (None: no
            estimates).

    Returns:
        The parts from `top` down, depth first in declaration order.
    """

    def at(period: date, metric: str) -> float:
        return float(frame[metric].loc[period])

    change = {m: at(current, m) - at(before, m) for m in frame.columns}
    parts: list[Part] = []

    def visit(metric: str, parent: str | None, depth: int, own: Part | None) -> None:
        edge = tree.edges.get(metric)
        fit = None
        to_parent_of_children: dict[str, float | None] = {}
        intervals: dict[str, tuple[float, float]] = {}
        if edge is not None and edge.formula is not None:
            then = {c: at(before, c) for c in edge.children}
            now = {c: at(current, c) for c in edge.children}
            to_parent_of_children = dict(shapley(edge.formula, then, now))
        elif edge is not None and history is not None:
            fit = estimate_drivers(history, metric, list(edge.children), change)
            for child in edge.children:
                estimate = fit.estimates.get(child)
                to_parent_of_children[child] = estimate.contribution if estimate else None
                if estimate:
                    intervals[child] = (estimate.low, estimate.high)
        node = own or Part(
            metric=metric,
            parent=None,
            depth=0,
            edge=None,
            value=at(current, metric),
            baseline_value=at(before, metric),
            change=change[metric],
            to_parent=None,
            contribution=change[metric],
            interval=None,
            estimated=False,
        )
        if fit is not None:
            node = _with_fit(node, fit)
        parts.append(node)
        if edge is None:
            return
        scale = _scale(node.contribution, node.change)
        for child in edge.children:
            to_parent = to_parent_of_children.get(child)
            estimated = node.estimated or not edge.exact
            contribution = None
            interval = None
            if to_parent is not None and scale is not None:
                contribution = to_parent * scale
                if child in intervals:
                    low, high = (v * scale for v in intervals[child])
                    interval = (min(low, high), max(low, high))
            visit(
                child,
                metric,
                depth + 1,
                Part(
                    metric=child,
                    parent=metric,
                    depth=depth + 1,
                    edge="formula" if edge.exact else "driver",
                    value=at(current, child),
                    baseline_value=at(before, child),
                    change=change[child],
                    to_parent=to_parent,
                    contribution=contribution,
                    interval=interval,
                    estimated=estimated,
                ),
            )

    visit(top, None, 0, None)
    return parts


def _scale(contribution: float | None, change: float) -> float | None:
    """The top metric's change per unit of this metric's change (0 when it did not move:
    then its children's parts of its change add up to 0 as well)."""
    if contribution is None or math.isnan(contribution) or math.isnan(change):
        return None
    return contribution / change if change else 0.0


def _with_fit(node: Part, fit: DriverFit) -> Part:
    scale = _scale(node.contribution, node.change)
    unexplained = fit.unexplained * scale if fit.unexplained is not None and scale else None
    return Part(**{**node.__dict__, "fit": fit, "unexplained": unexplained})
