"""Events into warehouse tables.

* `SqlTableSink` (DuckDB, PostgreSQL): INSERT, the re-attributing UPDATE and the mark in one
  warehouse transaction.
* `SparkTableSink`: Spark tables have no multi-statement transactions, so the mark is a row
  appended after the insert; a batch whose insert may have happened before a crash is inserted
  again without the message_ids already present (an anti-join), which needs a `message_id`
  column in the table. Plain Spark tables cannot UPDATE: merges are not re-applied there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from cynosure.collect.log import Position
from cynosure.collect.sinks import FilesSink, Sink, events_directory
from cynosure.collect.state import State
from cynosure.engine.sources import looks_like_path
from cynosure.errors import DataError
from cynosure.project.load import Spec

STATE_TABLE = "cynosure_collect_state"
READMITTED_TABLE = "cynosure_collect_readmitted"


def quote(name: str) -> str:
    """A (possibly schema-qualified) table or column name as a quoted SQL identifier."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


class SqlTableSink(Sink):
    """Rows of a table in a SQL warehouse with transactions (DuckDB, PostgreSQL): the insert,
    the re-attribution and the mark commit together or not at all."""

    kind = "table"

    def __init__(self, table: str, entity: str):
        super().__init__(entity)
        self.table_name = table

    # -- what differs between engines ------------------------------------------------------

    def open(self) -> Any:
        raise NotImplementedError

    def close(self, con: Any) -> None:
        con.close()

    def execute(self, con: Any, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        raise NotImplementedError

    def fetch(self, con: Any, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def stage(self, con: Any, name: str, table: pa.Table) -> None:
        """Make `table` readable as `name` inside the open transaction."""
        raise NotImplementedError

    def columns(self, con: Any, table: str) -> list[str]:
        raise NotImplementedError

    # -- shared SQL --------------------------------------------------------------------------

    def _transaction(self) -> _Transaction:
        return _Transaction(self)

    def _ensure_state(self, con: Any) -> None:
        self.execute(
            con,
            f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR)",
        )

    def _insert(self, con: Any, rows: pa.Table, where: str = "") -> int:
        known = set(self.columns(con, self.table_name))
        columns = ", ".join(quote(c) for c in rows.column_names if c in known)
        self.stage(con, "cynosure_incoming", rows)
        return self.execute(
            con,
            f"INSERT INTO {quote(self.table_name)} ({columns}) "
            f"SELECT {columns} FROM cynosure_incoming {where}",
        )

    def _reattribute(self, con: Any, merges: dict[str, str]) -> int:
        if not merges:
            return 0
        mapping = pa.table(
            {"old": pa.array(list(merges), pa.string()), "new": pa.array(list(merges.values()))}
        )
        self.stage(con, "cynosure_merges", mapping)
        entity = quote(self.entity)
        return self.execute(
            con,
            f"UPDATE {quote(self.table_name)} SET {entity} = m.new "
            f"FROM cynosure_merges AS m WHERE {quote(self.table_name)}.{entity} = m.old",
        )

    def write(
        self, rows: pa.Table, start: Position, end: Position, state: State, merges: dict[str, str]
    ) -> int:
        with self._transaction() as con:
            self._ensure_state(con)
            if rows.num_rows:
                self._insert(con, rows)
            changed = self._reattribute(con, merges)
            self.checkpoint("after-insert")
            self.execute(
                con,
                f"INSERT INTO {STATE_TABLE} VALUES ('hwm', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (end.text(),),
            )
        return changed

    def readmit(self, rows: pa.Table, state: State) -> int:
        """Insert the rows whose message_id is not yet in the readmitted table and record
        them there, in one transaction: a crash before the quarantine is cleared cannot
        bring them in twice."""
        with self._transaction() as con:
            self.execute(
                con,
                f"CREATE TABLE IF NOT EXISTS {READMITTED_TABLE} (message_id VARCHAR PRIMARY KEY)",
            )
            fresh = f"WHERE message_id NOT IN (SELECT message_id FROM {READMITTED_TABLE})"
            added = self._insert(con, rows, fresh)
            self.execute(
                con,
                f"INSERT INTO {READMITTED_TABLE} SELECT DISTINCT message_id "
                f"FROM cynosure_incoming {fresh}",
            )
            self.checkpoint("after-insert")
        return added

    def hwm(self, state: State) -> Position | None:
        with self._transaction() as con:
            self._ensure_state(con)
            found = self.fetch(con, f"SELECT value FROM {STATE_TABLE} WHERE key = 'hwm'")
        return Position.parse(found[0][0]) if found else None


class _Transaction:
    def __init__(self, sink: SqlTableSink):
        self.sink = sink
        self.con: Any = None

    def __enter__(self) -> Any:
        self.con = self.sink.open()
        self.sink.execute(self.con, "BEGIN TRANSACTION")
        return self.con

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        try:
            self.sink.execute(self.con, "COMMIT" if kind is None else "ROLLBACK")
        finally:
            self.sink.close(self.con)


class DuckTableSink(SqlTableSink):
    """A table of a DuckDB file, opened only for each transaction: the collector and a CLI
    reading the warehouse take turns on DuckDB's single-writer lock."""

    def __init__(self, connect: Any, table: str, entity: str):
        super().__init__(table, entity)
        self.connect = connect

    def open(self) -> Any:
        return self.connect()

    def execute(self, con: Any, sql: str, params: tuple[Any, ...] = ()) -> int:
        result = con.execute(sql, list(params)).fetchall()
        head = con.description[0][0] if con.description else ""
        return int(result[0][0]) if result and head == "Count" else 0

    def fetch(self, con: Any, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return list(con.execute(sql, list(params)).fetchall())

    def stage(self, con: Any, name: str, table: pa.Table) -> None:
        con.register(name, table)

    def columns(self, con: Any, table: str) -> list[str]:
        return [d[0] for d in con.execute(f"SELECT * FROM {quote(table)} LIMIT 0").description]


PG_TYPES = {"string": "text", "double": "double precision", "int64": "bigint", "bool": "boolean"}


class PostgresTableSink(SqlTableSink):
    """A PostgreSQL table, through the engine's own connection (psycopg); staged rows go in
    with COPY into a temporary table dropped at commit."""

    def __init__(self, url: str, base_dir: Path, table: str, entity: str):
        super().__init__(table, entity)
        self.url = url
        self.base_dir = base_dir

    def open(self) -> Any:
        from cynosure.engine.connection import connect

        return connect(self.url, self.base_dir)

    def close(self, con: Any) -> None:
        con.disconnect()

    def execute(self, con: Any, sql: str, params: tuple[Any, ...] = ()) -> int:
        with con.con.cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), params)
            return max(int(cursor.rowcount or 0), 0)

    def fetch(self, con: Any, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with con.con.cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), params)
            return list(cursor.fetchall())

    def stage(self, con: Any, name: str, table: pa.Table) -> None:
        def sql_type(kind: pa.DataType) -> str:
            if pa.types.is_timestamp(kind):
                return "timestamptz" if kind.tz else "timestamp"
            return PG_TYPES.get(str(kind), "text")

        fields = ", ".join(f"{quote(f.name)} {sql_type(f.type)}" for f in table.schema)
        self.execute(con, f"CREATE TEMPORARY TABLE {name} ({fields}) ON COMMIT DROP")
        names = ", ".join(quote(c) for c in table.column_names)
        cursor = con.con.cursor()
        with cursor, cursor.copy(f"COPY {name} ({names}) FROM STDIN") as copy:
            for batch in table.to_batches(8192):
                for row in zip(*(c.to_pylist() for c in batch.columns), strict=True):
                    copy.write_row(row)

    def columns(self, con: Any, table: str) -> list[str]:
        with con.con.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {quote(table)} LIMIT 0")
            return [d.name for d in cursor.description or []]


class SparkTableSink(Sink):
    """Appends to a Spark table, exactly once by message_id (see the module docstring)."""

    kind = "spark"

    def __init__(self, url: str, base_dir: Path, table: str, entity: str):
        super().__init__(entity)
        self.url = url
        self.base_dir = base_dir
        self.table_name = table
        self.qualified = table
        self._backend: Any = None
        self._no_hwm = False

    def session(self) -> Any:
        if self._backend is None:
            from cynosure.engine.connection import connect, data_database

            self._backend = connect(self.url, self.base_dir)
            # The events table lives where the engine reads it: an unqualified name is in the
            # database current before the project's own (which holds Cynosure's tables).
            database, _, table = self.table_name.rpartition(".")
            where = database or data_database(self._backend)
            parts = [where, table] if where else [table]
            self.qualified = ".".join("`" + p.replace("`", "``") + "`" for p in parts)
        return self._backend._session

    def _prepare(self) -> tuple[Any, list[str]]:
        session = self.session()
        session.sql(
            f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (key STRING, value STRING) USING parquet"
        )
        columns = list(session.table(self.qualified).columns)
        if "message_id" not in columns:
            raise DataError(
                f"the collector loads into the Spark table '{self.table_name}' only when it has "
                "a message_id column (Spark has no transactions: a load repeated after a crash "
                "skips the message_ids already there)",
                f"ALTER TABLE {self.table_name} ADD COLUMNS (message_id STRING), or point "
                "events.source at a Parquet glob",
            )
        return session, columns

    def _append(self, session: Any, rows: pa.Table, columns: list[str], skip_present: bool) -> None:
        names = [c for c in rows.column_names if c in columns]
        frame = session.createDataFrame(rows.select(names).to_pandas())
        frame.createOrReplaceTempView("cynosure_incoming")
        listed = ", ".join(f"`{c}`" for c in names)
        source = f"SELECT {listed} FROM cynosure_incoming"
        if skip_present:
            source += (
                f" WHERE message_id NOT IN (SELECT message_id FROM {self.qualified} "
                "WHERE message_id IS NOT NULL)"
            )
        session.sql(f"INSERT INTO {self.qualified} ({listed}) {source}")

    def write(
        self, rows: pa.Table, start: Position, end: Position, state: State, merges: dict[str, str]
    ) -> int:
        session, columns = self._prepare()
        if rows.num_rows:
            # Marked before the insert: if the mark is still here on the next run, the insert
            # may have happened, so that run skips the message_ids already present. So does a
            # run that found no high-water mark (a lost state table must not load twice).
            retry = state.get("spark_inflight") == start.text() or self._no_hwm
            state.put("spark_inflight", start.text())
            self._append(session, rows, columns, skip_present=retry)
            self.checkpoint("after-insert")
        # Overwritten, not appended (one file per load would pile up). A crash mid-overwrite
        # loses the mark; the next run then starts over the log on disk and skips the
        # message_ids already in the table, so nothing is loaded twice.
        session.sql(f"INSERT OVERWRITE TABLE {STATE_TABLE} VALUES ('hwm', '{end.text()}')")
        self._no_hwm = False
        state.drop("spark_inflight")
        return 0

    def readmit(self, rows: pa.Table, state: State) -> int:
        session, columns = self._prepare()
        self._append(session, rows, columns, skip_present=True)
        self.checkpoint("after-insert")
        return rows.num_rows

    def hwm(self, state: State) -> Position | None:
        session = self.session()
        session.sql(
            f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (key STRING, value STRING) USING parquet"
        )
        found = session.sql(f"SELECT value FROM {STATE_TABLE} WHERE key = 'hwm'").collect()
        positions = [Position.parse(r[0]) for r in found]
        self._no_hwm = not positions
        return max(positions) if positions else None


def duckdb_path(spec: Spec) -> Path:
    from cynosure.engine.connection import DEFAULT_WAREHOUSE

    url = spec.model.warehouse or DEFAULT_WAREHOUSE
    target = url.split("://", 1)[1].lstrip("/")
    return Path(target) if Path(target).is_absolute() else spec.base_dir / target


def warehouse_kind(spec: Spec) -> str:
    from cynosure.engine.connection import DEFAULT_WAREHOUSE

    scheme = (spec.model.warehouse or DEFAULT_WAREHOUSE).split("://", 1)[0]
    return {"postgresql": "postgres", "sc": "spark"}.get(scheme, scheme)


def make_sink(spec: Spec, duck: Any = None) -> Sink:
    """The sink for this project's events source."""
    source = spec.model.events.source
    entity = spec.model.events.entity
    if looks_like_path(source):
        return FilesSink(events_directory(spec), entity)
    kind = warehouse_kind(spec)
    url = spec.model.warehouse or ""
    if duck is not None or kind == "duckdb":
        if duck is None:
            path = duckdb_path(spec)

            def duck() -> Any:
                import duckdb

                return duckdb.connect(str(path))

        return DuckTableSink(duck, source, entity)
    if kind == "postgres":
        return PostgresTableSink(url, spec.base_dir, source, entity)
    if kind == "spark":
        return SparkTableSink(url, spec.base_dir, source, entity)
    raise DataError(
        f"the collector loads into DuckDB, PostgreSQL or Spark tables, or Parquet files; "
        f"not into '{url}'",
        "point events.source at a Parquet glob",
    )
