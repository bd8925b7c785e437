"""Early behaviour counts for `cynosure aha`, computed in the warehouse from a rollup.

The behaviour rollup has one row per entity, local day and event name (`m0`: events; one more
count column per declared behaviour and for the outcome's filter), kept up to date like the
metric rollup. From it one query returns small histograms: for each behaviour, window and
capped count, how many eligible entities did it that often and how many of them retained,
split by activity stratum and again by signup cohort. Everything the statistics need follows
from these by cumulative sums, so no per-entity row leaves the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from cynosure.engine.connection import temporary
from cynosure.metrics.behaviours import BehaviourPlan, Outcome

# Entities are compared with others of about the same activity in the window: the same
# number of active days, and the same tenth of the total events (ties share a tenth).
EVENT_GROUPS = 10


@dataclass(frozen=True)
class Histograms:
    """What the warehouse returns for the search (all small).

    Attributes:
        did: (behaviour, declared, window, stratum, cohort, count, n, retained): eligible
            entities that did the behaviour `count` times in the window's first days (capped
            at the largest threshold), by activity stratum or signup cohort (the other key is
            -1), and how many of them retained.
        everyone: (window, stratum, cohort, n, retained): every eligible entity, split the
            same way (by stratum for each window; by cohort with window and stratum -1).
        first: The first day of data.
        last: The last day of data.
    """

    did: pd.DataFrame
    everyone: pd.DataFrame
    first: date | None
    last: date | None


def behaviour_histograms(
    con: BaseBackend,
    rollup: ir.Table,
    starts: ir.Table,
    plan: BehaviourPlan,
    name_column: str,
    *,
    windows: tuple[int, ...],
    cap: int,
) -> Histograms:
    """Run the search's one query over the behaviour rollup.

    Args:
        con: The warehouse.
        rollup: The behaviour rollup (entity, day, `name_column`, m0, ...).
        starts: One row per entity: `entity`, `start` (its first local day).
        plan: The compiled `aha:` section (declared behaviours, outcome, exclusions).
        name_column: The rollup's event-name column.
        windows: Early windows in days (each below the outcome's first day).
        cap: Counts above this are counted as `cap` (the largest threshold tried).

    Returns:
        The histograms, and the data's first and last day.
    """
    assert plan.outcome is not None  # a project with a broken outcome does not load
    outcome = plan.outcome
    span = con.execute(rollup.aggregate(first=rollup.day.min(), last=rollup.day.max()))
    first, last = span["first"].iloc[0], span["last"].iloc[0]
    if pd.isna(first):
        return Histograms(_empty_did(), _empty_everyone(), None, None)
    first, last = pd.Timestamp(first).date(), pd.Timestamp(last).date()
    # Eligible: the whole early window and the whole outcome window are in the data.
    latest = last - timedelta(days=outcome.end - 1)
    eligible = starts.filter((starts.start >= first) & (starts.start <= latest))
    eligible = eligible.mutate(
        cohort=(eligible.start.year() * 12 + eligible.start.month() - 1).cast("int64")
    )
    r = rollup.join(eligible, rollup.entity == eligible.entity).select(
        rollup, since=rollup.day.delta(eligible.start, unit="day")
    )
    # Both are read by several parts of the query: kept once as temporary tables rather than
    # recomputed for each (the per-entity counts are the costly step).
    entity = temporary(con, "cynosure_aha_entities", _entities(r, eligible, outcome, windows))
    early = r.filter((r.since >= 0) & (r.since < max(windows)))
    counts = _behaviour_counts(early, plan, name_column, windows)
    joined = temporary(
        con, "cynosure_aha_counts", counts.join(entity, counts.entity == entity.entity)
    )
    minus_one = ibis.literal(-1, "int64")
    arms: list[ir.Table] = []
    for window in windows:
        did = joined.filter(joined[f"c{window}"] > 0)
        for stratum, cohort in ((did[f"s{window}"], minus_one), (minus_one, did.cohort)):
            stratum, cohort = stratum.cast("int64"), cohort.cast("int64")
            keys = {
                "behaviour": did.behaviour,
                "declared": did.declared,
                "window": ibis.literal(window, "int64"),
                "stratum": stratum,
                "cohort": cohort,
                "count": ibis.least(did[f"c{window}"], cap).cast("int64"),
            }
            arms.append(did.group_by(**keys).aggregate(**_tally(did)))
    everyone_arms = [
        entity.group_by(
            window=ibis.literal(window, "int64"),
            stratum=entity[f"s{window}"].cast("int64"),
            cohort=minus_one,
        ).aggregate(**_tally(entity))
        for window in windows
    ]
    everyone_arms.append(
        entity.group_by(
            window=minus_one, stratum=minus_one, cohort=entity.cohort.cast("int64")
        ).aggregate(**_tally(entity))
    )
    did = con.execute(ibis.union(*arms, distinct=False))
    everyone = con.execute(ibis.union(*everyone_arms, distinct=False))
    return Histograms(did, everyone, first, last)


def _tally(table: ir.Table) -> dict[str, ir.Value]:
    return {"n": table.count(), "retained": table.retained.sum().cast("int64")}


def _entities(
    r: ir.Table, eligible: ir.Table, outcome: Outcome, windows: tuple[int, ...]
) -> ir.Table:
    """One row per eligible entity: cohort, retained (0/1), and an activity stratum per window
    (active days x 100 + tenth of the total events).

    Entities without a single event in a window (possible when the start comes from the
    entities table) have 0 active days and the lowest tenth.
    """
    later = r.filter((r.since >= outcome.after) & (r.since < outcome.end))
    column = later[outcome.column]
    value = later.day.nunique(where=column > 0) if outcome.unit == "days" else column.sum()
    reached = later.group_by(o_entity=later.entity).aggregate(value=value)
    early = r.filter(r.since >= 0)
    totals = early.group_by(t_entity=early.entity).aggregate(
        **{f"t{w}": early.m0.sum(where=early.since < w) for w in windows},
        **{f"d{w}": early.day.nunique(where=early.since < w) for w in windows},
    )
    e = eligible.left_join(reached, eligible.entity == reached.o_entity)
    e = e.left_join(totals, e.entity == totals.t_entity)
    # 1/0 through a CASE: PostgreSQL casts no boolean to a bigint.
    retained = ibis.ifelse(e.value.fill_null(0) >= outcome.at_least, 1, 0).cast("int64")
    strata = {
        f"s{w}": e[f"d{w}"].fill_null(0).cast("int64") * 100
        + (ibis.cume_dist().over(order_by=e[f"t{w}"].fill_null(0)) * EVENT_GROUPS)
        .ceil()
        .cast("int64")
        for w in windows
    }
    return e.select(entity=e.entity, cohort=e.cohort, retained=retained, **strata)


def _behaviour_counts(
    early: ir.Table, plan: BehaviourPlan, name_column: str, windows: tuple[int, ...]
) -> ir.Table:
    """(entity, behaviour, declared, c<window>...): each behaviour's count per early window."""
    names = early
    if plan.exclude:
        names = names.filter(~names[name_column].isin(list(plan.exclude)))
    parts = [
        names.select(
            entity=names.entity,
            behaviour=names[name_column].cast("string"),
            declared=ibis.literal(False),
            since=names.since,
            n=names.m0,
        )
    ]
    for behaviour, column in plan.declared.items():
        hits = early.filter(early[column] > 0)
        parts.append(
            hits.select(
                entity=hits.entity,
                behaviour=ibis.literal(behaviour),
                declared=ibis.literal(True),
                since=hits.since,
                n=hits[column],
            )
        )
    u = ibis.union(*parts, distinct=False)
    u = u.filter(u.behaviour.notnull())
    return u.group_by(["entity", "behaviour", "declared"]).aggregate(
        **{f"c{w}": u.n.sum(where=u.since < w) for w in windows}
    )


def _empty_did() -> pd.DataFrame:
    columns = ["behaviour", "declared", "window", "stratum", "cohort", "count", "n", "retained"]
    return pd.DataFrame({c: [] for c in columns})


def _empty_everyone() -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in ["window", "stratum", "cohort", "n", "retained"]})
