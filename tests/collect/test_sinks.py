"""Loading into warehouse tables: DuckDB and PostgreSQL (rows, re-attribution and mark in one
transaction), Spark (appends made exactly once by message_id)."""

from __future__ import annotations

import multiprocessing
import shutil
import uuid
from pathlib import Path
from urllib.parse import urlparse

import duckdb
import pytest

from cynosure.api import Project
from cynosure.collect.loader import SimulatedCrash
from cynosure.collect.tables import SparkTableSink
from cynosure.errors import DataError
from tests.engines.conftest import postgres_url  # noqa: F401  (the shared server fixture)

from .test_identity import WEEK, identify, land, load, make_project, track

EVENTS_COLUMNS = (
    "user_id {text}, timestamp {time}, event {text}, country {text}, platform {text}, "
    "duration_s DOUBLE PRECISION, amount DOUBLE PRECISION, message_id {text}"
)
FIRST = [track("e1", 3, anon="a1"), track("e2", 4, anon="a1"), track("x1", 4, anon="b1")]
SECOND = [identify("i1", 5, "u1", "a1", plan="pro"), track("e3", 5, user="u1")]


def _table_project(tmp_path: Path, source: str, warehouse: str | None = None) -> Path:
    project = make_project(tmp_path)
    text = project.read_text().replace("data/events/*.parquet", source)
    if warehouse:
        text = text.replace("project: Collected", f'project: Collected\nwarehouse: "{warehouse}"')
    project.write_text(text)
    return project


def test_duckdb_table_reattributes_in_the_loading_transaction(tmp_path: Path) -> None:
    project = _table_project(tmp_path, "events")
    warehouse = tmp_path / ".cynosure" / "warehouse.duckdb"
    warehouse.parent.mkdir(exist_ok=True)
    columns = EVENTS_COLUMNS.format(text="VARCHAR", time="TIMESTAMPTZ")
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"CREATE TABLE events ({columns.replace(' PRECISION', '')})")
    land(project, FIRST)
    load(project)
    land(project, SECOND)
    with pytest.raises(SimulatedCrash):
        load(project, "after-insert")  # inside the transaction: nothing of it commits

    def rows() -> dict[str, str]:
        with duckdb.connect(str(warehouse)) as con:
            return dict(con.execute("SELECT message_id, user_id FROM events").fetchall())

    assert rows() == {"e1": "a1", "e2": "a1", "x1": "b1"}
    with pytest.raises(SimulatedCrash):
        load(project, "after-warehouse")  # committed, the pending list not yet cleared
    assert load(project).reattributed == 0  # applied again: nothing left to move
    assert rows() == {"e1": "u1", "e2": "u1", "x1": "b1", "e3": "u1"}
    with Project.load(project) as live:
        assert live.series("week")["listeners"].loc[WEEK] == 2


def test_postgres_table_loads_exactly_once(tmp_path: Path, postgres_url: str) -> None:  # noqa: F811
    import psycopg

    database = f"collect_{uuid.uuid4().hex[:8]}"
    port = urlparse(postgres_url).port
    with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres", autocommit=True) as con:
        con.execute(f"CREATE DATABASE {database}")
    url = postgres_url.rsplit("/", 1)[0] + f"/{database}"
    info = f"host=127.0.0.1 port={port} user=postgres dbname={database}"
    with psycopg.connect(info, autocommit=True) as con:
        con.execute(
            "CREATE TABLE events (" + EVENTS_COLUMNS.format(text="text", time="timestamptz") + ")"
        )
        con.execute("CREATE TABLE users (user_id text, signed_up_at timestamptz, plan text)")
    project = _table_project(tmp_path, "events", url)
    project.write_text(
        project.read_text()
        + "entities:\n  source: users\n  key: user_id\n  created: signed_up_at\n"
    )

    def rows() -> list[tuple[str, str]]:
        with psycopg.connect(info) as con:
            return con.execute("SELECT message_id, user_id FROM events ORDER BY 1").fetchall()

    def mark() -> list[tuple[str]]:
        with psycopg.connect(info) as con:
            return con.execute("SELECT value FROM cynosure_collect_state").fetchall()

    land(project, FIRST)
    load(project)
    assert rows() == [("e1", "a1"), ("e2", "a1"), ("x1", "b1")]
    first_mark = mark()
    land(project, SECOND)
    with pytest.raises(SimulatedCrash):
        load(project, "after-insert")
    assert rows() == [("e1", "a1"), ("e2", "a1"), ("x1", "b1")] and mark() == first_mark
    stats = load(project)
    assert (stats.events, stats.reattributed, stats.entities) == (1, 2, 1)
    assert load(project).events == 0
    assert rows() == [("e1", "u1"), ("e2", "u1"), ("e3", "u1"), ("x1", "b1")]
    assert mark() != first_mark and len(mark()) == 1
    with psycopg.connect(info) as con:
        assert con.execute("SELECT user_id, plan FROM users").fetchall() == [("u1", "pro")]
    with Project.load(project) as live:
        assert live.series("week")["listeners"].loc[WEEK] == 2


def _spark_scenario(root: str) -> None:
    """Runs in a process of its own: one Spark session per process (see tests/engines)."""
    from cynosure.api import Project
    from cynosure.engine.connection import connect, data_database

    tmp_path = Path(root)
    project = _table_project(tmp_path, "events", "spark://local[1]")
    backend = connect("spark://local[1]", tmp_path)
    session = backend._session
    columns = EVENTS_COLUMNS.format(text="STRING", time="TIMESTAMP").replace(" PRECISION", "")
    # The team's table, in the database the engine reads unqualified names from (not the
    # project's own database, which holds Cynosure's tables).
    data = data_database(backend)
    session.sql(f"CREATE TABLE {data}.events ({columns}) USING parquet")
    land(project, FIRST)
    try:
        load(project, "after-insert")  # the rows are in, the mark is not
        raise AssertionError("no crash")
    except SimulatedCrash:
        pass
    land(project, SECOND)
    # Retried with more landed since: the message_ids already there are skipped; a1's events
    # in the table cannot be moved to u1 (no UPDATE on a plain Spark table), which is counted.
    assert load(project).merges_not_applied == 1
    found = session.sql(f"SELECT message_id, user_id FROM {data}.events ORDER BY 1").collect()
    assert [tuple(r) for r in found] == [("e1", "a1"), ("e2", "a1"), ("e3", "u1"), ("x1", "b1")]
    marks = session.sql("SELECT value FROM cynosure_collect_state").collect()
    assert len(marks) == 1
    with Project.load(project) as opened:  # the engine reads what the collector wrote
        assert opened.events_source.open(opened.con).count().execute() == 4
    session.sql(
        f"CREATE TABLE {data}.bare (user_id STRING, timestamp TIMESTAMP, event STRING) "
        "USING parquet"
    )
    sink = SparkTableSink("spark://local[1]", tmp_path, "bare", "user_id")
    try:
        sink._prepare()
        raise AssertionError("a table without message_id was accepted")
    except DataError as exc:
        assert "message_id" in exc.message and "ALTER TABLE bare" in (exc.hint or "")


def test_spark_table_appends_exactly_once(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Java is not installed (scripts/system-deps.sh installs it)")
    process = multiprocessing.get_context("spawn").Process(
        target=_spark_scenario, args=(str(tmp_path),)
    )
    process.start()
    process.join(timeout=300)
    assert process.exitcode == 0, "the Spark scenario failed (its traceback is above)"
