"""Every metric's series at one grain, from the rollup, in one query.

The query groups the rollup by entity and period once, then derives each base metric's parts
(sums, counts of active entities, growth-accounting states, cohort numerators and
denominators) as rows of (period, key, value) united into one result. The few resulting rows
are then finished in pandas: filling empty periods, dividing, running totals, and the ratio and
formula metrics, which only combine series.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from ibis.backends import BaseBackend

from cynosure.engine.dialects import dialect_of
from cynosure.engine.periods import Grain, next_start, period_start_expr, spine
from cynosure.metrics.plan import BaseMetric, Plan

ADDITIVE = ("count", "sum", "users", "threshold")
FIRST, LAST = "cynosure:first_day", "cynosure:last_day"


def compute_series(
    con: BaseBackend,
    rollup: ir.Table,
    starts: ir.Table,
    plan: Plan,
    grain: Grain,
    week_start: str,
) -> tuple[pd.DataFrame, date, date]:
    """All metrics of `plan` at `grain`: a frame indexed by period start, one column a metric.

    `starts` has one row per entity (`entity`, `start`: its start day). Returns the frame and
    the first and last local day that hold events.
    """
    shared = dialect_of(con).shared
    query = series_query(
        rollup, starts, plan, grain, week_start, lambda ep: shared(con, "cynosure_per_entity", ep)
    )
    return _finish(con.execute(query), plan, grain, week_start)


def series_query(
    rollup: ir.Table,
    starts: ir.Table,
    plan: Plan,
    grain: Grain,
    week_start: str,
    shared: Callable[[ir.Table], ir.Table] = lambda ep: ep,
) -> ir.Table:
    """The one query behind `compute_series` (nothing runs): rows of (period, key, value).

    `shared` receives the per-entity table that several parts read (an engine that would
    recompute it for each part computes it once instead).
    """
    r = rollup.mutate(period=period_start_expr(rollup.day, grain, week_start))
    arms = [
        rollup.aggregate(period=rollup.day.min(), key=ibis.literal(FIRST), value=ibis.literal(0.0)),
        rollup.aggregate(period=rollup.day.max(), key=ibis.literal(LAST), value=ibis.literal(0.0)),
    ]
    ep = shared(per_entity(r, plan))
    arms += _main(ep, plan)
    for column in _lifecycle_columns(plan):
        arms += _lifecycle(ep, column, grain)
    last_day = rollup.day.max()
    for metric in plan.base.values():
        if metric.kind in ("conversion", "retention"):
            arms += _cohort(rollup, starts, metric, last_day, grain, week_start)
    return ibis.union(*arms, distinct=False)


def _as_rows(table: ir.Table, values: dict[str, ir.Value]) -> list[ir.Table]:
    return (
        [
            table.select(period=table.period, key=ibis.literal(key), value=value.cast("float64"))
            for key, value in values.items()
        ]
        if values
        else []
    )


def per_entity(r: ir.Table, plan: Plan, *, rows_per_day: bool = False) -> ir.Table:
    """The rollup summed per entity and period: what every additive and lifecycle part reads.

    Built once per grain and shared (a common subexpression of the one query), since grouping
    the entity x day rollup again for each part would cost as much as the parts themselves.
    `rows_per_day`: the rollup has several rows per entity and day (one per segment), so
    active days are counted as distinct days rather than as rows.
    """
    needed = sorted({c for m in plan.base.values() for c in m.columns})
    sums: dict[str, ir.Value] = {c: r[c].sum() for c in needed}
    for metric in plan.base.values():
        if metric.kind == "threshold" and metric.unit == "days":
            column = metric.columns[0]
            active = r[column] > 0
            days = r.day.nunique(where=active) if rows_per_day else r.count(where=active)
            sums[f"{column}_days"] = days
    return r.group_by(["entity", "period"]).aggregate(**sums)


def _main(ep: ir.Table, plan: Plan) -> list[ir.Table]:
    parts: dict[str, ir.Value] = {}
    for metric in plan.base.values():
        first = metric.columns[0]
        if metric.kind in ("count", "sum"):
            parts[metric.name] = ep[first].sum()
        elif metric.kind == "mean":
            parts[f"{metric.name}:num"] = ep[first].sum()
            parts[f"{metric.name}:den"] = ep[metric.columns[1]].sum()
        elif metric.kind == "users" and metric.lifecycle is None:
            parts[metric.name] = ep.count(where=ep[first] > 0)
        elif metric.kind == "threshold":
            column = f"{first}_days" if metric.unit == "days" else first
            parts[metric.name] = ep.count(where=ep[column] >= metric.at_least)
    if not parts:
        return []
    summary = ep.group_by("period").aggregate(**{_safe(k): v for k, v in parts.items()})
    return [
        summary.select(
            period=summary.period, key=ibis.literal(k), value=summary[_safe(k)].cast("float64")
        )
        for k in parts
    ]


def _safe(key: str) -> str:
    return "k_" + key.replace(":", "__")


def _lifecycle_columns(plan: Plan) -> list[str]:
    return sorted(
        {
            m.columns[0]
            for m in plan.base.values()
            if m.kind == "users" and (m.lifecycle is not None or m.cumulative)
        }
    )


def step(grain: Grain) -> ir.IntervalScalar:
    return (
        ibis.interval(months=1)
        if grain == "month"
        else ibis.interval(days=7 if grain == "week" else 1)
    )


def _lifecycle(ep: ir.Table, column: str, grain: Grain) -> list[ir.Table]:
    """Growth accounting for entities active on `column`, as (period, key, value) rows."""
    active = ep.filter(ep[column] > 0).select("entity", "period")
    order = ibis.window(group_by=active.entity, order_by=active.period)
    a = active.mutate(
        previous=active.period.lag().over(order), following=active.period.lead().over(order)
    )
    one = step(grain)
    expected_previous = a.period - one
    states = a.group_by("period").aggregate(
        new=a.count(where=a.previous.isnull()),
        retained=a.count(where=a.previous == expected_previous),
        resurrected=a.count(where=a.previous.notnull() & (a.previous != expected_previous)),
    )
    churn = a.filter(a.following.isnull() | (a.following != a.period + one))
    churn = churn.mutate(period=(churn.period + one).cast("date"))
    churned = churn.group_by("period").aggregate(churned=churn.count())
    rows = _as_rows(
        states, {f"{column}:{s}": states[s] for s in ("new", "retained", "resurrected")}
    )
    return rows + _as_rows(churned, {f"{column}:churned": churned.churned})


def _cohort(
    rollup: ir.Table,
    starts: ir.Table,
    metric: BaseMetric,
    last_day: ir.Value,
    grain: Grain,
    week_start: str,
) -> list[ir.Table]:
    """Numerator and denominator of a conversion or retention metric per cohort period."""
    after, within = metric.window
    low = starts.start + ibis.interval(days=after)
    high = starts.start + ibis.interval(days=after + within - 1)
    cohort = starts.mutate(low=low.cast("date"), high=high.cast("date"))
    cohort = cohort.filter(cohort.high <= last_day)
    cohort = cohort.mutate(period=period_start_expr(cohort.start, grain, week_start))
    column = metric.columns[0]
    acts = rollup.filter(rollup[column] > 0).select(act_entity=rollup.entity, act_day=rollup.day)
    hits = cohort.join(
        acts,
        [
            cohort.entity == acts.act_entity,
            acts.act_day >= cohort.low,
            acts.act_day <= cohort.high,
        ],
    )
    hits = hits.select("entity", "period").distinct()
    numerator = hits.group_by("period").aggregate(value=hits.count())
    denominator = cohort.group_by("period").aggregate(value=cohort.count())
    return _as_rows(numerator, {f"{metric.name}:num": numerator.value}) + _as_rows(
        denominator, {f"{metric.name}:den": denominator.value}
    )


def _finish(
    long: pd.DataFrame, plan: Plan, grain: Grain, week_start: str
) -> tuple[pd.DataFrame, date, date]:
    long["period"] = pd.to_datetime(long["period"]).dt.date
    bounds = long[long.key.isin([FIRST, LAST])].set_index("key")["period"]
    if bounds.isna().any() or len(bounds) < 2:
        empty = pd.DataFrame(columns=[*plan.base, *plan.derived], dtype="float64")
        return empty, date.min, date.min
    first, last = bounds[FIRST], bounds[LAST]
    periods = spine(first, last, grain, week_start)
    parts = long[~long.key.isin([FIRST, LAST])]
    wide = parts.pivot_table(index="period", columns="key", values="value", aggfunc="sum")
    wide = wide.reindex(periods)

    def part(key: str, fill: float | None = 0.0) -> pd.Series:
        values = wide[key] if key in wide.columns else pd.Series(np.nan, index=wide.index)
        return values.fillna(fill) if fill is not None else values

    out = pd.DataFrame(index=pd.Index(periods, name="period"))
    for metric in plan.base.values():
        column = metric.columns[0]
        if metric.kind in ("conversion", "retention", "mean"):
            num, den = part(f"{metric.name}:num"), part(f"{metric.name}:den")
            out[metric.name] = num / den.where(den > 0)
        elif metric.lifecycle:
            out[metric.name] = part(f"{column}:{metric.lifecycle}")
        elif metric.kind == "users" and metric.cumulative:
            out[metric.name] = part(f"{column}:new").cumsum()
        else:
            out[metric.name] = part(metric.name)
            if metric.cumulative:
                out[metric.name] = out[metric.name].cumsum()
    for name in plan.order():
        derived = plan.derived[name]
        values = derived.formula.evaluate({n: out[n] for n in derived.formula.names})
        out[name] = pd.Series(values, index=out.index, dtype="float64").replace(
            [np.inf, -np.inf], np.nan
        )
    return out.astype("float64"), first, last


def period_is_complete(start: date, grain: Grain, first: date, last: date) -> bool:
    """Whether the data covers the whole period (the first and last are often partial)."""
    return start >= first and next_start(start, grain) <= last + timedelta(days=1)
