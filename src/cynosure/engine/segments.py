"""A metric by segment for two periods: the leaves that `explain` localizes a change in.

A *segment* here is one full combination of the declared dimensions (platform x app_version x
country ...). Each entity belongs, in each period, to exactly one segment: the combination
under which it sent most of its events that period (ties go to the first combination in
sort order). Its whole contribution to the metric counts there. So the segments of a period
add up exactly to the metric, users are never counted twice, and a ratio (hours per
listener) divides numbers about the same people; the price is that an entity seen on two
platforms counts for its main one only.

Only the events of the two periods are read (the raw events, filtered on time, so the
reader skips what lies outside), grouped by entity, local day and dimensions in the engine;
one small row per (period, segment) comes back.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from cynosure.engine.compute import per_entity
from cynosure.engine.evidence import entity_value
from cynosure.engine.periods import Grain, next_start, period_start_expr
from cynosure.engine.rollup import Rollup
from cynosure.metrics.formula import parse_formula
from cynosure.metrics.plan import BaseMetric, Plan

ADDITIVE_KINDS = ("count", "sum", "users", "threshold")
NONE_VALUE = "(none)"
EXACT = dt.Decimal(38, 9)


@dataclass(frozen=True)
class Split:
    """How a metric is summed over segments: additive (`denominator` None) or a ratio."""

    numerator: str  # a formula over metric names, each additive over entities
    denominator: str | None = None

    @property
    def is_ratio(self) -> bool:
        return self.denominator is not None


def split_for_segments(name: str, plan: Plan) -> Split | str:
    """The split of metric `name` over segments, or a sentence saying why there is none.

    Additive metrics (count, sum, users, threshold, and sums and differences of them) add up
    over segments; a mean, a ratio of two additive metrics, or a formula whose last step is a
    division is a ratio whose numerator and denominator add up. Cohort and lifecycle
    metrics (retention, conversion, new/churned ...) and cumulative totals describe groups
    over time, not one period's segments.
    """
    base = plan.base.get(name)
    if base is not None:
        if base.kind == "mean":
            return Split(f"{name}:sum", f"{name}:count")
        if _additive(name, plan):
            return Split(name)
        return f"{name} is a {_kind_words(base)} metric, which does not split by segment"
    derived = plan.derived[name]
    tree = derived.formula.tree
    if _linear(tree, plan):
        return Split(name)
    ratio = isinstance(tree, ast.BinOp) and isinstance(tree.op, ast.Div)
    if ratio and _linear(tree.left, plan) and _linear(tree.right, plan):  # type: ignore[attr-defined]
        return Split(ast.unparse(tree.left), ast.unparse(tree.right))  # type: ignore[attr-defined]
    return (
        f"{name} = {derived.formula.text} is neither a sum of additive metrics nor a ratio of "
        "two such sums, so it does not split by segment"
    )


def _kind_words(base: BaseMetric) -> str:
    if base.cumulative:
        return "cumulative"
    if base.lifecycle:
        return f"{base.lifecycle} (growth accounting)"
    return base.kind


def _additive(name: str, plan: Plan) -> bool:
    base = plan.base.get(name)
    if base is not None:
        return base.kind in ADDITIVE_KINDS and base.lifecycle is None and not base.cumulative
    derived = plan.derived.get(name)
    return derived is not None and _linear(derived.formula.tree, plan)


def _linear(node: ast.expr, plan: Plan) -> bool:
    """Whether `node` is a sum/difference of additive metrics, possibly scaled by numbers."""
    if isinstance(node, ast.Name):
        return _additive(node.id, plan)
    if isinstance(node, ast.UnaryOp):
        return _linear(node.operand, plan)
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Add | ast.Sub):
            return _linear(node.left, plan) and _linear(node.right, plan)
        if isinstance(node.op, ast.Mult):
            return (_constant(node.left) and _linear(node.right, plan)) or (
                _constant(node.right) and _linear(node.left, plan)
            )
        if isinstance(node.op, ast.Div):
            return _constant(node.right) and _linear(node.left, plan)
    return False


def _constant(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant)


@dataclass(frozen=True)
class Leaves:
    """The metric's parts per segment in the period and its baseline.

    `frame` has one row per segment seen in either period: the dimension columns (strings,
    NONE_VALUE for a missing value), then `num_actual`, `num_expected` and, for a ratio,
    `den_actual`, `den_expected`.
    """

    frame: pd.DataFrame
    dimensions: tuple[str, ...]
    split: Split


def segment_leaves(
    con: BaseBackend,
    rollup: Rollup,
    split: Split,
    grain: Grain,
    week_start: str,
    period: date,
    baseline: date,
) -> Leaves:
    """The parts of a metric by segment (full combination of `rollup.by`) in two periods.

    `rollup` describes the events, the plan and the time zone, and groups by the dimensions;
    it is not built: only the events of the two periods are read.
    """
    dims = rollup.by
    days = [(p, next_start(p, grain)) for p in (period, baseline)]
    low = datetime.combine(min(s for s, _ in days) - timedelta(days=1), time.min, tzinfo=UTC)
    high = datetime.combine(max(e for _, e in days) + timedelta(days=1), time.min, tzinfo=UTC)
    span = (int(low.timestamp()) * 1_000_000, int(high.timestamp()) * 1_000_000)
    events = rollup.source.open(con)
    r = rollup.rollup_expr(rollup.within(events, [(low, high)]), span)
    r = r.filter(ibis.or_(*[(r.day >= s) & (r.day < e) for s, e in days]))
    r = r.mutate(
        period=period_start_expr(r.day, grain, week_start),
        **{d: r[d].cast("string").fill_null(NONE_VALUE) for d in dims},
    )
    ep = per_entity(r, rollup.plan, rows_per_day=True)
    main = _main_segment(r, dims)
    joined = ep.join(main, ["entity", "period"])
    parts = {"num": _formula_value(split.numerator, rollup.plan, joined)}
    if split.denominator is not None:
        parts["den"] = _formula_value(split.denominator, rollup.plan, joined)
    # Summed as exact decimals: a parallel float sum differs in its last bits from run to
    # run, and the same question must give the same answer.
    summed = joined.group_by(["period", *dims]).aggregate(
        **{k: v.cast(EXACT).sum().cast("float64") for k, v in parts.items()}
    )
    long = con.execute(summed)
    long["period"] = pd.to_datetime(long["period"]).dt.date
    return Leaves(_wide(long, list(dims), list(parts), period, baseline), dims, split)


def _main_segment(r: ir.Table, dims: tuple[str, ...]) -> ir.Table:
    """Each entity's main segment in each period: where it sent most events (rollup `m0`)."""
    by_segment = r.group_by(["entity", "period", *dims]).aggregate(weight=r.m0.sum())
    order = ibis.window(
        group_by=[by_segment.entity, by_segment.period],
        order_by=[ibis.desc(by_segment.weight), *[by_segment[d] for d in dims]],
    )
    ranked = by_segment.mutate(rank=ibis.row_number().over(order))
    ranked = ranked.filter(ranked["rank"] == 0)
    return ranked.select("entity", "period", *dims)


def _formula_value(text: str, plan: Plan, ep: ir.Table) -> ir.FloatingValue:
    """One entity's value of `text` (a metric name, `metric:sum`/`metric:count` of a mean, or
    a linear formula of additive metrics)."""
    if text.endswith((":sum", ":count")):
        name, part = text.rsplit(":", 1)
        column = plan.base[name].columns[0 if part == "sum" else 1]
        return ep[column].cast("float64")
    if text in plan.base or text in plan.derived:
        value = entity_value(text, plan, ep)
    else:
        formula = parse_formula(text)
        value = formula.evaluate({n: entity_value(n, plan, ep) for n in formula.names})
    assert value is not None  # split_for_segments only admits metrics with entity values
    return value


def _wide(
    long: pd.DataFrame, dims: list[str], parts: list[str], period: date, baseline: date
) -> pd.DataFrame:
    now = long[long.period == period].set_index(dims)[parts]
    then = long[long.period == baseline].set_index(dims)[parts]
    frame = now.add_suffix("_actual").join(then.add_suffix("_expected"), how="outer")
    frame = frame.fillna(0.0).reset_index()
    if frame.empty:
        frame = pd.DataFrame(
            columns=[*dims, *[f"{p}_{s}" for p in parts for s in ("actual", "expected")]]
        )
    return frame.sort_values(dims, kind="stable").reset_index(drop=True)
