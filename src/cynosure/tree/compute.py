"""The tree at one period against a baseline: values, changes and exact contributions."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from cynosure.engine.compute import period_is_complete
from cynosure.engine.periods import Grain, label, parse_period, period_start
from cynosure.errors import NoEventsError, PeriodError, Problem
from cynosure.project.load import Spec
from cynosure.results import Result, clean, fmt, pct
from cynosure.tree.breakdown import breakdown

if TYPE_CHECKING:
    from cynosure.api import Project

SPARK_PERIODS = 12
IDENTITY_TOLERANCE = 1e-6


class TreeNode(BaseModel):
    model_config = ConfigDict(frozen=True)

    metric: str
    label: str
    parent: str | None
    depth: int
    edge: str | None  # "formula" (exact) or "driver" (statistical) for the edge to the parent
    value: float | None
    baseline_value: float | None
    change: float | None
    change_relative: float | None
    contribution: float | None  # to the parent's change (formula edges only)
    contribution_to_north_star: float | None
    owner: str | None
    history: list[float | None]


class TreeResult(Result):
    """Where the North Star stands at a period, and which inputs moved it."""

    north_star: str | None
    grain: str
    period: str
    baseline: str
    period_complete: bool
    nodes: list[TreeNode]
    warnings: list[str] = Field(default_factory=list)

    def summary(self) -> list[str]:
        if not self.nodes:
            return ["The project declares no tree."]
        root = self.nodes[0]
        direction = "flat"
        if root.change:
            direction = "up" if root.change > 0 else "down"
        size = f"{abs(root.change_relative) * 100:.1f}% " if root.change_relative else ""
        lines = [
            f"{root.label} was {fmt(root.value)} in {self.period}, {direction} "
            f"{size}({fmt(root.change)}) from {self.baseline}."
        ]
        if not self.period_complete:
            lines.append(f"{self.period} is not over yet: its numbers are partial.")
        lines.extend(f"Warning: {warning}" for warning in self.warnings)
        movers = [
            n
            for n in self.nodes[1:]
            if n.contribution_to_north_star is not None and n.parent == root.metric
        ]
        movers.sort(key=lambda n: -abs(n.contribution_to_north_star or 0))
        if movers and root.change:
            parts = [
                f"{m.label} {fmt(m.contribution_to_north_star)} ({pct(m.change_relative)} itself)"
                for m in movers
            ]
            lines.append("Contributions to the change: " + "; ".join(parts) + ".")
        return lines


def build_tree_result(
    project: Project,
    frame: pd.DataFrame,
    grain: Grain,
    first: date,
    last: date,
    period: str | None,
    baseline: str | None,
) -> TreeResult:
    """Assemble the tree for `period` (default: the last complete one) against `baseline`."""
    spec = project.spec
    current, before = choose_periods(
        frame, grain, spec.model.week_start, first, last, period, baseline
    )
    nodes = _nodes(spec, frame, current, before)
    return TreeResult(
        north_star=spec.model.north_star,
        grain=grain,
        period=label(current, grain),
        baseline=label(before, grain),
        period_complete=period_is_complete(current, grain, first, last),
        nodes=nodes,
        warnings=[
            f"{p.message}; its children's contributions do not add up to its change"
            for p in check_identities(spec, frame.loc[[before, current]], grain)
        ],
    )


def choose_periods(
    frame: pd.DataFrame,
    grain: Grain,
    week_start: str,
    first: date,
    last: date,
    period: str | None,
    baseline: str | None,
) -> tuple[date, date]:
    """The period compared (default: the last complete one) and its baseline: a period,
    "previous" (the default) or "last-year" (52 weeks earlier for days and weeks, so the
    weekday matches; 12 months earlier for months)."""
    periods = list(frame.index)
    if not periods:
        raise NoEventsError()
    current = pick_period(
        period, grain, week_start, periods, default=last_complete(periods, grain, first, last)
    )
    if baseline in (None, "previous"):
        position = periods.index(current)
        if position == 0:
            raise PeriodError(f"{label(current, grain)} is the first period: there is no baseline")
        return current, periods[position - 1]
    if baseline == "last-year":
        before = year_before(current, grain)
        if before not in periods:
            raise PeriodError(
                f"there is no data for {label(before, grain)}, a year before "
                f"{label(current, grain)}; the data starts in {label(periods[0], grain)}"
            )
        return current, before
    return current, pick_period(baseline, grain, week_start, periods, default=None)


def year_before(start: date, grain: Grain) -> date:
    """The same period a year earlier (52 weeks earlier for days and weeks: same weekday)."""
    if grain == "month":
        return start.replace(year=start.year - 1)
    return start - timedelta(days=364)


def last_complete(periods: list[date], grain: Grain, first: date, last: date) -> date:
    complete = [p for p in periods if period_is_complete(p, grain, first, last)]
    return complete[-1] if complete else periods[-1]


def pick_period(
    text: str | None, grain: Grain, week_start: str, periods: list[date], default: date | None
) -> date:
    if text is None:
        assert default is not None
        return default
    kind, start = parse_period(text, week_start)
    if kind != grain:
        raise PeriodError(
            f"'{text}' is a {kind}, but the periods are compared by {grain}; "
            f"give both periods in the same form"
        )
    start = period_start(start, grain, week_start)
    if start not in periods:
        span = f"{label(periods[0], grain)} to {label(periods[-1], grain)}"
        raise PeriodError(f"there is no data for {text}; the data covers {span}")
    return start


def _nodes(spec: Spec, frame: pd.DataFrame, current: date, before: date) -> list[TreeNode]:
    tree = spec.tree
    roots = [metric for metric, parent, _ in tree.walk() if parent is None]
    if not roots and spec.model.north_star:
        roots = [spec.model.north_star]
    history_index = list(frame.index).index(current)
    nodes = []
    for root in roots:
        for part in breakdown(tree, root, frame, current, before):
            history = frame[part.metric].iloc[
                max(0, history_index - SPARK_PERIODS + 1) : history_index + 1
            ]
            definition = spec.model.metrics[part.metric]
            base = part.baseline_value
            nodes.append(
                TreeNode(
                    metric=part.metric,
                    label=definition.label or part.metric,
                    parent=part.parent,
                    depth=part.depth,
                    edge=part.edge,
                    value=clean(part.value),
                    baseline_value=clean(base),
                    change=clean(part.change),
                    change_relative=clean(part.change / abs(base)) if base else None,
                    contribution=clean(part.to_parent) if part.edge == "formula" else None,
                    contribution_to_north_star=clean(part.contribution),
                    owner=definition.owner,
                    history=[clean(v) for v in history],
                )
            )
    return nodes


def check_identities(spec: Spec, frame: pd.DataFrame, grain: Grain = "week") -> list[Problem]:
    """Each formula edge must hold on the data: parent == formula(children) in every period."""
    problems = []
    for edge in spec.tree.edges.values():
        if edge.formula is None:
            continue
        expected = pd.Series(
            edge.formula.evaluate({c: frame[c] for c in edge.children}),
            index=frame.index,
            dtype="float64",
        )
        actual = frame[edge.parent]
        both = actual.notna() & expected.notna() & np.isfinite(expected)
        scale = pd.concat([actual.abs(), expected.abs()], axis=1).max(axis=1).clip(lower=1e-12)
        gap = ((actual - expected).abs() / scale)[both]
        bad = gap[gap > IDENTITY_TOLERANCE]
        if len(bad):
            worst: date = bad.idxmax()  # type: ignore[assignment]
            problems.append(
                spec.problem(
                    ("tree", edge.parent),
                    f"{edge.parent} does not equal {edge.formula.text} on the data: in "
                    f"{len(bad)} of {int(both.sum())} {grain}s, worst {label(worst, grain)} with "
                    f"{fmt(actual.loc[worst])} vs {fmt(expected.loc[worst])}",
                    "make it a list of drivers if it is not an exact identity",
                )
            )
    return problems
