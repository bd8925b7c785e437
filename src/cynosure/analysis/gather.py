"""Gather the evidence the candidate scorecard needs: series statistics here, entity-level
numbers from the engine (:mod:`cynosure.engine.evidence`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from cynosure.analysis.candidates import Evidence, explained_share
from cynosure.analysis.leadlag import LagStats, lead_lag
from cynosure.analysis.prepare import complete_periods, prepare
from cynosure.engine.evidence import coverage, entity_links, spammed_series
from cynosure.engine.periods import Grain
from cynosure.metrics.plan import Plan
from cynosure.project.load import Spec

# The business link and lead are measured over about the last year.
YEAR = {"day": 365, "week": 52, "month": 12}
# Entity-level value is measured over this many recent periods (each with a complete next one).
VALUE_PERIODS = 12


@dataclass(frozen=True)
class Inputs:
    """What the scorecard reads: the warehouse, the plan, the series and the data's range."""

    con: BaseBackend
    spec: Spec
    rollup: ir.Table
    starts: ir.Table
    events: ir.Table
    frame: pd.DataFrame
    grain: Grain
    first: date
    last: date


def candidate_names(spec: Spec) -> list[str]:
    """Metrics marked `candidate: true`, the North Star first; else the North Star and the
    metrics of its tree."""
    model = spec.model
    marked = [n for n, m in model.metrics.items() if m.candidate]
    star = model.north_star
    if marked:
        return ([star] if star and star not in marked else []) + marked
    in_tree = [metric for metric, _, _ in spec.tree.walk()]
    return in_tree or ([star] if star else [])


def gather(
    inputs: Inputs,
    names: list[str],
    *,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> list[Evidence]:
    """Measure every criterion's raw numbers for each candidate in `names`."""
    say = progress or (lambda _: None)
    spec, grain = inputs.spec, inputs.grain
    model = spec.model
    complete = complete_periods(inputs.frame, grain, inputs.first, inputs.last)
    recent = complete.iloc[-YEAR[grain] :]
    prepared = {n: prepare(recent[n], grain) for n in {*names, *model.outcomes}}
    full_prepared = {n: prepare(complete[n], grain) for n in complete.columns}
    say("Measuring retention by entity")
    periods = list(complete.index[:-1][-VALUE_PERIODS:])
    links = entity_links(
        inputs.con, inputs.rollup, spec.plan, names, grain, model.week_start, periods
    )
    say("Recomputing every metric as if a few entities spammed events")
    spammed = spammed_series(
        inputs.con, inputs.rollup, inputs.starts, spec.plan, grain, model.week_start
    )
    columns = sorted({c for n in names for c in _base_columns(n, spec.plan)})
    covered = coverage(inputs.con, inputs.rollup, columns)
    skipped = _skipped_share(inputs)
    days = (inputs.last - inputs.first).days + 1
    found = []
    for name in names:
        say(f"Scoring {name}")
        stats: dict[str, LagStats] = {
            outcome: lead_lag(prepared[name], prepared[outcome], seed=seed)
            for outcome in model.outcomes
            if outcome != name
        }
        edge = spec.tree.edges.get(name)
        children = list(edge.children) if edge else []
        owned = {model.metrics[m].owner for m in _below(spec, name)} - {None}
        mine = [covered[c] for c in _base_columns(name, spec.plan) if c in covered]
        last_seen = min((c.last for c in mine if c.last), default=None)
        metric = spec.plan.base.get(name)
        found.append(
            Evidence(
                metric=name,
                label=model.metrics[name].label or name,
                kind=metric.kind if metric else "derived",
                cumulative=bool(metric and metric.cumulative),
                series=complete[name],
                link=links.get(name),
                outcome_stats=stats,
                spam_rise=_rise(complete, spammed, name),
                inputs_r2=(
                    explained_share(full_prepared[name], [full_prepared[c] for c in children])
                    if children
                    else None
                ),
                inputs=len(children),
                owners=len(owned),
                days_with_data=min((c.days for c in mine), default=0),
                days_in_range=days,
                last_day_gap=(inputs.last - last_seen).days if last_seen else days,
                skipped_share=skipped,
            )
        )
    return found


def _base_columns(name: str, plan: Plan) -> list[str]:
    """The rollup columns a metric reads, through its formula for derived metrics."""
    if name in plan.base:
        return [plan.base[name].columns[0]]
    derived = plan.derived.get(name)
    return [c for n in derived.formula.names for c in _base_columns(n, plan)] if derived else []


def _below(spec: Spec, name: str) -> set[str]:
    """Every metric under `name` in the tree."""
    found: set[str] = set()
    pending = [name]
    while pending:
        edge = spec.tree.edges.get(pending.pop())
        for child in edge.children if edge else ():
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def _rise(complete: pd.DataFrame, spammed: pd.DataFrame, name: str) -> float | None:
    """Relative change of the last complete period's value when a few entities spam."""
    if complete.empty or name not in spammed.columns:
        return None
    period = complete.index[-1]
    if period not in spammed.index:
        return None
    before = float(complete[name].loc[period])
    after = float(spammed[name].loc[period])
    if math.isnan(before) or math.isnan(after) or before == 0:
        return None
    return after / before - 1.0


def _skipped_share(inputs: Inputs) -> float:
    """Share of events with no entity or no time (they count in no metric)."""
    events = inputs.events
    config = inputs.spec.model.events
    query = events.aggregate(
        n=events.count(),
        skipped=events.count(where=events[config.entity].isnull() | events[config.time].isnull()),
    )
    row = inputs.con.execute(query).iloc[0]
    return float(row["skipped"]) / float(row["n"]) if row["n"] else 0.0
