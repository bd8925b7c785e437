"""What differs between warehouse engines: a handful of functions, file reads and table writes.

Everything else Cynosure runs is one portable Ibis expression per question. The differences
kept here are: microseconds since the epoch (DuckDB `epoch_us`, Spark `unix_micros`, an exact
`EXTRACT(epoch ...)` on PostgreSQL), the wall-clock time in a zone, a row hash (for change
detection and the spam test), reading files (DuckDB natively, Spark through its readers,
PostgreSQL not at all), deleting rows (Spark tables take no DELETE: a rollup is partitioned by
day and its days are replaced partition by partition), and session-temporary tables.

No function here ever counts distinct values approximately; ClickHouse's compiler, whose
`nunique()` is the approximate `uniq`, is made to use `uniqExact` (see `exact_clickhouse`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import re
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote, urlparse

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend
from sqlglot import exp

from cynosure.errors import EngineError

_UTC = dt.Timestamp(timezone="UTC")
_WALL = dt.Timestamp()
FILE_COLUMN = "cynosure_file"


def _builtin(name: str, inputs: tuple[dt.DataType, ...], output: dt.DataType) -> Any:
    """An Ibis call of the engine's own function `name` (its Python body never runs)."""

    def call(*args: Any) -> Any:
        raise NotImplementedError

    call.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(f"v{i}", inspect.Parameter.POSITIONAL_ONLY) for i in range(len(inputs))]
    )
    return ibis.udf.scalar.builtin(call, name=name, signature=(inputs, output))


class Dialect:
    """An engine reached through Ibis with nothing special known about it (BigQuery,
    Snowflake, ClickHouse ...): portable expressions, standard SQL for deletes."""

    name = "generic"
    label = "this engine"
    sql_dialect = ""

    # -- functions --------------------------------------------------------------------------

    def epoch_us(self, moment: ir.TimestampValue) -> ir.IntegerValue:
        """Microseconds since 1970-01-01 UTC (naive timestamps read as UTC)."""
        seconds = moment.epoch_seconds().cast("float64").floor().cast("int64")
        return seconds * 1_000_000 + moment.microsecond().cast("int64")

    def wall_clock(self, zone: str, moment: ir.TimestampValue) -> ir.TimestampValue:
        """The wall-clock time in `zone` of an instant (a UTC timestamp)."""
        raise EngineError(
            self.label,
            f"convert timestamps to the time zone {zone} (for entities.created)",
            "use timezone: UTC, or give entities.created as a local date column",
        )

    def row_hash(self, *values: ir.Value) -> ir.IntegerValue:
        """A deterministic 64-bit hash of several values (nulls included)."""
        return _joined(values).hash().cast("int64")

    def day_from_number(self, number: ir.IntegerValue) -> ir.DateValue:
        """The date `number` days after 1970-01-01."""
        return (ibis.date(1970, 1, 1) + number.as_interval("D")).cast("date")

    # -- files ------------------------------------------------------------------------------

    def read_files(
        self, con: BaseBackend, paths: list[str], fmt: str, *, file_column: bool, **options: Any
    ) -> ir.Table:
        """An Ibis table over `paths` (one format), with FILE_COLUMN naming each row's file if
        `file_column`."""
        reader: Any = getattr(con, f"read_{fmt}", None)
        if reader is None:
            raise self._no_files(fmt)
        if file_column:
            raise EngineError(
                self.label,
                "tell which file each event came from (needed to refresh rollups from files)",
                "load the events into a table of the warehouse and set events.source to its name",
            )
        return reader(paths, **options)

    def _no_files(self, fmt: str) -> EngineError:
        return EngineError(
            self.label,
            f"read {fmt} files",
            "load the events into a table of the warehouse and set events.source to its "
            "name (docs/scale.md shows how)",
        )

    # A refresh may add the rollup of new files to the rows of their days, through a
    # temporary table of the merged rows (computed before the days are deleted), where the
    # rollup and its state are written in one transaction (see `transaction`).
    adds_to_rollup = False

    def transaction(self, con: BaseBackend) -> contextlib.AbstractContextManager[None]:
        """Make the statements inside one transaction, where the engine allows it."""
        return contextlib.nullcontext()

    def unit_names(self, found: pd.Series, files: Sequence[str]) -> pd.Series:
        """FILE_COLUMN values as the file names Cynosure listed (an engine may give URIs)."""
        return found

    # -- tables -----------------------------------------------------------------------------

    def delete_rows(
        self, con: BaseBackend, table: str, where: Mapping[str, Sequence[object]]
    ) -> None:
        """Delete the rows whose every column of `where` takes one of the listed values."""
        if any(not values for values in where.values()):
            return
        condition = exp.and_(
            *[exp.column(c).isin(*[_sql_literal(v) for v in vs]) for c, vs in where.items()]
        )
        statement = exp.delete(exp.to_table(table), where=condition)
        con.raw_sql(statement.sql(dialect=self.sql_dialect or None))

    def create_rollup(self, con: BaseBackend, name: str, expr: ir.Table) -> None:
        """Write a rollup (entity x day [x ...]) as a table of the warehouse."""
        con.create_table(name, expr, overwrite=True)

    def create_table(self, con: BaseBackend, name: str, schema: ibis.Schema) -> None:
        """Create an empty table of Cynosure's own (the refresh state)."""
        con.create_table(name, schema=schema)

    def replace_days(self, con: BaseBackend, name: str, days: list[date]) -> None:
        """Remove the rows of `days` from rollup `name` (they are then inserted again)."""
        self.delete_rows(con, name, {"day": days})

    def insert(self, con: BaseBackend, name: str, rows: ir.Table) -> None:
        """Append `rows` to table `name`."""
        con.insert(name, rows)

    def append(self, con: BaseBackend, name: str, frame: pd.DataFrame) -> None:
        """Append the rows of a small DataFrame (Cynosure's state) to table `name`."""
        self.insert(con, name, ibis.memtable(frame))

    def temporary(self, con: BaseBackend, name: str, expr: ir.Table) -> ir.Table:
        """Compute `expr` once into a temporary table of the session."""
        return con.create_table(name, expr, temp=True, overwrite=True)

    def shared(self, con: BaseBackend, name: str, expr: ir.Table) -> ir.Table:
        """`expr`, read by several parts of one query: kept as it is where the engine
        computes a common subexpression once, computed once into a temporary table where
        it would recompute it for each part (Spark)."""
        return expr

    def read_table(self, con: BaseBackend, name: str) -> ir.Table:
        """A table Cynosure wrote (a rollup), to be read by several queries."""
        return con.table(name)


class DuckDB(Dialect):
    """DuckDB: its own fast functions (epoch_us, hash, timezone) and file readers."""

    name = "duckdb"
    label = "DuckDB"
    sql_dialect = "duckdb"

    def epoch_us(self, moment: ir.TimestampValue) -> ir.IntegerValue:
        return _duckdb_epoch_us(_aware(moment))

    def wall_clock(self, zone: str, moment: ir.TimestampValue) -> ir.TimestampValue:
        return _in_zone(zone, moment)

    def row_hash(self, *values: ir.Value) -> ir.IntegerValue:
        # DuckDB's `hash(a, b, ...)` called directly: Ibis's own `.hash()` casts through BIT,
        # and one call over all columns costs a third of one per column.
        kinds = tuple(value.type() for value in values)
        return _function("hash", kinds, dt.uint64)(*values)

    adds_to_rollup = True

    @contextlib.contextmanager
    def transaction(self, con: BaseBackend) -> Iterator[None]:
        raw = cast(Any, con).con
        raw.begin()
        try:
            yield
        except BaseException:
            raw.rollback()
            raise
        raw.commit()

    def append(self, con: BaseBackend, name: str, frame: pd.DataFrame) -> None:
        # DuckDB's own appender, matched by column name: a tenth of Ibis's memtable insert,
        # which registers, inspects and compiles for a few rows (a refresh writes three times).
        cast(Any, con).con.append(name, frame, by_name=True)

    def read_files(
        self, con: BaseBackend, paths: list[str], fmt: str, *, file_column: bool, **options: Any
    ) -> ir.Table:
        reader: Any = getattr(con, f"read_{fmt}")
        if fmt == "parquet":
            options.setdefault("union_by_name", True)
        if file_column:
            options["filename"] = FILE_COLUMN
        return reader(paths, **options)


class Postgres(Dialect):
    """PostgreSQL: events must be a table; `timezone()` as on DuckDB; a text hash."""

    name = "postgres"
    label = "PostgreSQL"
    sql_dialect = "postgres"

    def epoch_us(self, moment: ir.TimestampValue) -> ir.IntegerValue:
        # EXTRACT(epoch ...) is an exact numeric with the microseconds as its fraction.
        return (_aware(moment).epoch_seconds() * 1_000_000).cast("int64")

    def wall_clock(self, zone: str, moment: ir.TimestampValue) -> ir.TimestampValue:
        return _in_zone(zone, moment)

    def row_hash(self, *values: ir.Value) -> ir.IntegerValue:
        text = _joined(values)
        return _function("hashtextextended", (dt.string, dt.int64), dt.int64)(
            text, ibis.literal(0, "int64")
        )

    def read_files(
        self, con: BaseBackend, paths: list[str], fmt: str, *, file_column: bool, **options: Any
    ) -> ir.Table:
        raise self._no_files(fmt)


class Spark(Dialect):
    """Spark (local mode or Spark Connect): rollups partitioned by day, replaced by partition."""

    name = "pyspark"
    label = "Spark"
    sql_dialect = "spark"

    def epoch_us(self, moment: ir.TimestampValue) -> ir.IntegerValue:
        return _function("unix_micros", (_UTC,), dt.int64)(_aware(moment))

    def wall_clock(self, zone: str, moment: ir.TimestampValue) -> ir.TimestampValue:
        return _function("from_utc_timestamp", (_UTC, dt.string), _WALL)(moment, zone)

    def row_hash(self, *values: ir.Value) -> ir.IntegerValue:
        kinds = tuple(value.type() for value in values)
        return _function("xxhash64", kinds, dt.int64)(*values)

    def day_from_number(self, number: ir.IntegerValue) -> ir.DateValue:
        return _function("date_from_unix_date", (dt.int32,), dt.date)(number.cast("int32"))

    def read_files(
        self, con: BaseBackend, paths: list[str], fmt: str, *, file_column: bool, **options: Any
    ) -> ir.Table:
        from pyspark.sql import functions

        session = _session(con)
        reader = session.read
        if fmt == "parquet":
            frame = reader.option("mergeSchema", "true").parquet(*paths)
        elif fmt == "csv":
            frame = reader.options(header=True, inferSchema=True).csv(paths)
        else:
            frame = reader.json(paths)
        if file_column:
            frame = frame.withColumn(FILE_COLUMN, functions.input_file_name())
        digest = hashlib.sha256("\n".join([fmt, str(file_column), *paths]).encode()).hexdigest()
        name = f"cynosure_files_{digest[:16]}"
        frame.createOrReplaceTempView(name)
        return con.table(name)

    def unit_names(self, found: pd.Series, files: Sequence[str]) -> pd.Series:
        known = {str(Path(f).resolve()): f for f in files}

        def listed(value: object) -> object:
            if not isinstance(value, str):
                return value
            path = unquote(urlparse(value).path) if value.startswith("file:") else value
            return known.get(str(Path(path).resolve()), value)

        return found.map(listed)

    def delete_rows(
        self, con: BaseBackend, table: str, where: Mapping[str, Sequence[object]]
    ) -> None:
        # Spark's own tables take no DELETE: the small state tables are rewritten without the
        # rows (read into memory first: a table cannot be overwritten by a query reading it).
        if any(not values for values in where.values()):
            return
        t = con.table(table)
        doomed = ibis.and_(*[t[c].isin([ibis.literal(v) for v in vs]) for c, vs in where.items()])
        kept = con.to_pyarrow(t.filter(~doomed))
        con.create_table(table, ibis.memtable(kept, schema=t.schema()), overwrite=True)

    def create_rollup(self, con: BaseBackend, name: str, expr: ir.Table) -> None:
        frame = _frame(con, expr).repartition("day")
        _uncache(con, name)
        _recovering_location(
            con,
            name,
            lambda: frame.write.saveAsTable(
                name, format="parquet", mode="overwrite", partitionBy="day"
            ),
        )

    def create_table(self, con: BaseBackend, name: str, schema: ibis.Schema) -> None:
        _recovering_location(con, name, lambda: con.create_table(name, schema=schema))

    def replace_days(self, con: BaseBackend, name: str, days: list[date]) -> None:
        if not days:
            return
        _uncache(con, name)
        spec = ", ".join(f"PARTITION (day = DATE '{d.isoformat()}')" for d in days)
        _session(con).sql(f"ALTER TABLE `{name}` DROP IF EXISTS {spec}")

    def insert(self, con: BaseBackend, name: str, rows: ir.Table) -> None:
        columns = con.table(name).columns  # insertInto is positional: the table's order
        frame = _frame(con, rows.select(*columns))
        if "day" in columns and frame.columns[-1] == "day":
            frame = frame.repartition("day")
        _uncache(con, name)
        frame.write.insertInto(name)

    def temporary(self, con: BaseBackend, name: str, expr: ir.Table) -> ir.Table:
        session = _session(con)
        if session.catalog.tableExists(name):
            session.catalog.uncacheTable(name)
        _frame(con, expr).createOrReplaceTempView(name)
        session.catalog.cacheTable(name)
        return con.table(name)

    def shared(self, con: BaseBackend, name: str, expr: ir.Table) -> ir.Table:
        return self.temporary(con, name, expr)

    def read_table(self, con: BaseBackend, name: str) -> ir.Table:
        # A rollup partitioned by day is many small files: read them once per session.
        session = _session(con)
        if not session.catalog.isCached(name):
            session.catalog.cacheTable(name)
        return con.table(name)


DIALECTS: dict[str, Dialect] = {d.name: d for d in (DuckDB(), Postgres(), Spark())}


def dialect_of(con: BaseBackend) -> Dialect:
    """The dialect of a connected backend (the generic one for engines not listed)."""
    return DIALECTS.get(getattr(con, "name", ""), Dialect())


# -- helpers ---------------------------------------------------------------------------------


@functools.cache
def _function(name: str, inputs: tuple[dt.DataType, ...], output: dt.DataType) -> Any:
    return _builtin(name, inputs, output)


def _aware(moment: ir.TimestampValue) -> ir.TimestampValue:
    """A naive timestamp read as UTC (the session zone is UTC: Ibis sets it)."""
    return moment.cast(_UTC) if moment.type().timezone is None else moment


@ibis.udf.scalar.builtin(name="timezone")
def _in_zone(zone: str, moment: _UTC) -> _WALL:  # type: ignore[valid-type]
    """`timezone(zone, timestamptz)` (DuckDB and PostgreSQL): the wall-clock time in `zone`."""


@ibis.udf.scalar.builtin(name="epoch_us")
def _duckdb_epoch_us(moment: _UTC) -> dt.int64:  # type: ignore[valid-type]
    """DuckDB's `epoch_us`: no calendar work per row."""


def _joined(values: Sequence[ir.Value]) -> ir.StringValue:
    """The values as one string (a null written as \\N), for engines that hash text only."""
    parts = [v.cast("string").fill_null("\\N") for v in values]
    return ibis.literal("\x1f").join(parts) if len(parts) > 1 else parts[0]


def _sql_literal(value: object) -> exp.Expression:
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("date"))
    if isinstance(value, bool | int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def _session(con: BaseBackend) -> Any:
    return con._session  # Ibis keeps the SparkSession here


def _uncache(con: BaseBackend, name: str) -> None:
    session = _session(con)
    if session.catalog.tableExists(name) and session.catalog.isCached(name):
        session.catalog.uncacheTable(name)


_LEFTOVER = re.compile(r"LOCATION_ALREADY_EXISTS.*?location '([^']+)'", re.S)


def _recovering_location(con: BaseBackend, name: str, create: Callable[[], object]) -> None:
    """Run `create` (which makes the managed table `name`); if a directory left behind by an
    earlier table of that name is in the way (its catalog entry gone: a deleted metastore, a
    crash), remove it and create again. Only a directory of this machine is removed (a local
    session's): on a cluster's file system, or behind Spark Connect, the error says which
    location to delete."""
    try:
        create()
        return
    except Exception as exc:
        found = _LEFTOVER.search(str(exc))
        if found is None:
            raise
        location = found.group(1)
    session = _session(con)
    remote = type(session).__module__.startswith("pyspark.sql.connect")  # the server's files
    if remote or not location.startswith("file:") or session.catalog.tableExists(name):
        raise EngineError(
            "Spark",
            f"create the table {name}: its location {location} is left over from an earlier one",
            f"delete {location} (nothing in the catalog uses it) and run again",
        )
    shutil.rmtree(unquote(urlparse(location).path), ignore_errors=True)
    create()


def _frame(con: BaseBackend, expr: ir.Table) -> Any:
    """A Spark DataFrame of `expr` (its in-memory tables registered first), each column of
    the type Ibis gives it (Spark's `date_trunc` of a date, say, is a timestamp)."""
    from ibis.backends.pyspark.datatypes import PySparkType

    con._run_pre_execute_hooks(expr)
    frame = _session(con).sql(con.compile(expr))
    return frame.select(
        *[
            frame[column].cast(PySparkType.from_ibis(kind)).alias(column)
            for column, kind in expr.schema().items()
        ]
    )


def exact_clickhouse() -> None:
    """Make Ibis compile `nunique()` on ClickHouse to the exact `uniqExact` (its default,
    `uniq`, is approximate: counts came out off by one). Idempotent."""
    try:
        from ibis.backends.sql.compilers.clickhouse import ClickHouseCompiler
    except ImportError:  # pragma: no cover - Ibis always ships its compilers
        return

    def visit_count_distinct(self: Any, op: Any, *, arg: Any, where: Any) -> Any:
        return self.agg.uniqExact(arg, where=where)

    ClickHouseCompiler.visit_CountDistinct = visit_count_distinct


exact_clickhouse()
