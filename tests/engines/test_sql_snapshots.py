"""The queries Cynosure sends, compiled for engines that cannot run here (BigQuery, Snowflake,
ClickHouse), compared with stored snapshots under tests/engines/snapshots/.

The demo project uses every metric kind (count, sum, users, growth accounting, threshold over
active days, conversion, retention, cumulative, mean, ratio, formula), so its two queries (the
entity x day rollup of raw events, and every metric at one grain from it) cover each of them.
A change to the SQL shows as a snapshot diff; regenerate with

    CYNOSURE_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/engines/test_sql_snapshots.py
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pytest

from cynosure.demo.project_file import render
from cynosure.engine.compute import per_entity, series_query
from cynosure.engine.dialects import Dialect
from cynosure.engine.periods import period_start_expr
from cynosure.engine.rollup import Rollup
from cynosure.engine.sources import Source
from cynosure.project.load import parse_spec

SNAPSHOTS = Path(__file__).parent / "snapshots"
DIALECTS = ["bigquery", "snowflake", "clickhouse"]
UPDATE = os.environ.get("CYNOSURE_UPDATE_SNAPSHOTS") == "1"
SPAN = (1_746_057_600_000_000, 1_793_404_800_000_000)  # 2025-05-01 .. 2026-10-31, UTC


def _queries() -> dict[str, ir.Table]:
    text = render(seed=7, users=1000, start=date(2025, 5, 1), end=date(2026, 10, 31))
    spec = parse_spec(text, Path("cynosure.yml"))
    model = spec.model
    events = ibis.table(
        {
            "user_id": "string",
            "timestamp": "timestamp('UTC')",
            "event": "string",
            **{d: "string" for d in model.events.dimensions},
            "duration_s": "float64",
            "amount": "float64",
        },
        name="events",
    )
    rollup = Rollup(
        None,  # type: ignore[arg-type]  # nothing runs: only the expression is built
        Source(model.events.source, table_name="events"),
        model.events,
        spec.plan,
        model.timezone,
    )
    rollup.__dict__["dialect"] = Dialect()  # what an engine Cynosure knows nothing about gets
    built = ibis.table(rollup.rollup_expr(events, SPAN).schema(), name="cynosure_rollup")
    starts = ibis.table({"entity": "string", "start": "date"}, name="starts")
    r = built.mutate(period=period_start_expr(built.day, "week", model.week_start))
    ep = per_entity(r, spec.plan, rows_per_day=True)
    return {
        "rollup": rollup.rollup_expr(events, SPAN),
        "series_week": series_query(built, starts, spec.plan, "week", model.week_start),
        "active_days": ep.aggregate(entities=ep.entity.nunique(), rows=ep.count()),
    }


QUERIES = _queries()


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", sorted(QUERIES))
def test_compiled_sql_matches_snapshot(name: str, dialect: str) -> None:
    sql = ibis.to_sql(QUERIES[name], dialect=dialect).strip() + "\n"
    path = SNAPSHOTS / dialect / f"{name}.sql"
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql)
        if not UPDATE:
            pytest.fail(f"wrote the missing snapshot {path}; check it in")
    assert sql == path.read_text(), f"{path} differs: CYNOSURE_UPDATE_SNAPSHOTS=1 regenerates it"


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_clickhouse_counts_distinct_exactly(name: str) -> None:
    sql = ibis.to_sql(QUERIES[name], dialect="clickhouse")
    assert not re.search(r"\buniq(If)?\(|uniqHLL|uniqCombined|uniqTheta", sql)
    if name == "active_days":
        assert "uniqExact" in sql


@pytest.mark.parametrize("dialect", DIALECTS)
def test_no_approximate_function_anywhere(dialect: str) -> None:
    for query in QUERIES.values():
        sql = ibis.to_sql(query, dialect=dialect).lower()
        assert "approx" not in sql and "hll" not in sql
