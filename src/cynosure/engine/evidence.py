"""Entity-level evidence about metrics, computed in the warehouse from the rollup.

`cynosure candidates` asks of each candidate metric things no series can answer: do entities
with more of it retain better, how concentrated is it in a few entities, would it rise if a
few entities spammed events, and how complete is its data. Each question is one query over
the entity x day rollup; only a handful of numbers come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from cynosure.engine.compute import compute_series, per_entity, step
from cynosure.engine.connection import temporary
from cynosure.engine.dialects import dialect_of
from cynosure.engine.periods import Grain, period_start_expr
from cynosure.metrics.plan import BaseMetric, Plan

# Spam test: entities whose hash falls in one bucket of SPAM_BUCKETS (1%) send every event
# SPAM_FACTOR times.
SPAM_BUCKETS = 100
SPAM_FACTOR = 10
TOP_SHARE = 0.01


@dataclass(frozen=True)
class EntityLink:
    """How an entity's value of a metric in a period relates to its activity in the next.

    Attributes:
        rows: Entity-periods compared (active entities with a value, over the chosen periods).
        correlation: Pearson correlation of the value's within-period percentile rank with
            being active the next period (a rank-biserial style effect size).
        retained_top: Share active the next period among the top quarter by value.
        retained_bottom: The same for the bottom quarter (with every entity tied at the
            period's lowest value, so that a yes/no metric compares yes with no).
        top_share: Share of the metric's total over the periods held by the top 1% of
            entities (None for metrics that are not sums over entities).
    """

    rows: int
    correlation: float | None
    retained_top: float | None
    retained_bottom: float | None
    top_share: float | None


def entity_value(name: str, plan: Plan, ep: ir.Table) -> ir.FloatingValue | None:
    """A metric's value for one entity in one period, from the per-entity table `ep`.

    Defined for sums over entities (count, sum, users, threshold, mean) and for formulas of
    them (a ratio of two sums is the entity's own ratio); None for cohort and lifecycle
    metrics, which describe groups rather than entities.
    """
    if name in plan.base:
        return _base_value(plan.base[name], ep)
    derived = plan.derived.get(name)
    if derived is None:
        return None
    values = {n: entity_value(n, plan, ep) for n in derived.formula.names}
    if any(v is None for v in values.values()):
        return None
    result = derived.formula.evaluate(values)
    return ibis.literal(float(result)) if isinstance(result, int | float) else result


def _base_value(metric: BaseMetric, ep: ir.Table) -> ir.FloatingValue | None:
    column = ep[metric.columns[0]]
    if metric.kind in ("count", "sum"):
        return column.cast("float64")
    if metric.kind == "users" and metric.lifecycle is None:
        return _indicator(column > 0)
    if metric.kind == "threshold":
        counted = ep[f"{metric.columns[0]}_days"] if metric.unit == "days" else column
        return _indicator(counted >= metric.at_least)
    if metric.kind == "mean":
        count = ep[metric.columns[1]]
        return ibis.ifelse(count > 0, column / count, ibis.null("float64"))
    return None


def _indicator(condition: ir.BooleanValue) -> ir.FloatingValue:
    """1.0 where `condition` holds, else 0.0 (PostgreSQL casts no boolean to a float)."""
    return ibis.ifelse(condition, 1.0, 0.0).cast("float64")


def is_additive(name: str, plan: Plan) -> bool:
    """Whether the metric is a sum over entities (so 'the top 1% hold X%' makes sense)."""
    metric = plan.base.get(name)
    return metric is not None and metric.kind in ("count", "sum", "users", "threshold")


def entity_links(
    con: BaseBackend,
    rollup: ir.Table,
    plan: Plan,
    names: list[str],
    grain: Grain,
    week_start: str,
    periods: list[date],
) -> dict[str, EntityLink]:
    """For each metric of `names` with an entity-level value: the link between its value in a
    period and the entity's activity the next period, over `periods` (starts of periods whose
    next period is complete)."""
    r = rollup.mutate(period=period_start_expr(rollup.day, grain, week_start))
    every = per_entity(r, plan)
    ep = every.filter(every.period.isin([ibis.date(p) for p in periods]))
    following = every.select(n_entity="entity", n_period="period")
    joined = ep.left_join(
        following,
        (ep.entity == following.n_entity) & (ep.period + step(grain) == following.n_period),
    )
    # Read once per candidate: computed once.
    joined = temporary(
        con,
        "cynosure_entity_links",
        joined.mutate(active_next=_indicator(joined.n_entity.notnull())),
    )
    links: dict[str, EntityLink] = {}
    for name in names:
        value = entity_value(name, plan, joined)
        if value is None:
            continue
        t = joined.mutate(value=value)
        t = t.filter(t.value.notnull() & ~t.value.isnan())
        window = ibis.window(group_by=t.period, order_by=t.value)
        lowest = t.value.min().over(ibis.window(group_by=t.period))
        t = t.mutate(rank=ibis.cume_dist().over(window), lowest=t.value == lowest)
        share = ibis.null("float64")
        if is_additive(name, plan):
            totals = t.group_by("entity").aggregate(total=t.value.sum())
            ranked = totals.mutate(
                top=ibis.cume_dist().over(ibis.window(order_by=totals.total.desc()))
            )
            share = ranked.total.sum(where=ranked.top <= TOP_SHARE) / ranked.total.sum()
            share = share.as_scalar()
        stats = t.aggregate(
            rows=t.count(),
            correlation=t.rank.corr(t.active_next, how="pop"),
            # Ties at the lowest value (often 0) all count as the bottom quarter.
            top=t.active_next.mean(where=(t.rank > 0.75) & ~t.lowest),
            bottom=t.active_next.mean(where=(t.rank <= 0.25) | t.lowest),
            share=share,
        )
        row = con.execute(stats).iloc[0]
        links[name] = EntityLink(
            rows=int(row["rows"]),
            correlation=_number(row["correlation"]),
            retained_top=_number(row["top"]),
            retained_bottom=_number(row["bottom"]),
            top_share=_number(row["share"]),
        )
    return links


def spammed_series(
    con: BaseBackend,
    rollup: ir.Table,
    starts: ir.Table,
    plan: Plan,
    grain: Grain,
    week_start: str,
) -> pd.DataFrame:
    """Every metric as if 1% of entities (chosen by a hash) sent each event SPAM_FACTOR times."""
    spammer = (dialect_of(con).row_hash(rollup.entity) % SPAM_BUCKETS) == 0
    measures = [c for c in rollup.columns if c.startswith("m") and c[1:].isdigit()]
    spammed = rollup.mutate(
        **{c: ibis.ifelse(spammer, rollup[c] * SPAM_FACTOR, rollup[c]) for c in measures}
    )
    return compute_series(con, spammed, starts, plan, grain, week_start)[0]


@dataclass(frozen=True)
class Coverage:
    """How completely a rollup column is observed: days with qualifying events, the last one."""

    days: int
    last: date | None


def coverage(con: BaseBackend, rollup: ir.Table, columns: list[str]) -> dict[str, Coverage]:
    """Days with at least one qualifying event and the last such day, for each column."""
    if not columns:
        return {}
    query = rollup.aggregate(
        **{f"days_{c}": rollup.day.nunique(where=rollup[c] > 0) for c in columns},
        **{f"last_{c}": rollup.day.max(where=rollup[c] > 0) for c in columns},
    )
    row = con.execute(query).iloc[0]
    return {
        c: Coverage(
            days=int(row[f"days_{c}"]),
            last=None if pd.isna(row[f"last_{c}"]) else pd.Timestamp(row[f"last_{c}"]).date(),
        )
        for c in columns
    }


def _number(value: Any) -> float | None:
    if value is None or pd.isna(value):
        return None
    return float(value)
