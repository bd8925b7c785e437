"""Identified entities into the project's `entities:` source, with their traits.

One row per person (the root of an identified userId, see `identity.py`): the key is the user
id; `created` comes from the trait named like the `created` column, else `createdAt`,
`created_at` or `created`, else the time of the first identify of any of the person's ids;
every other trait fills the column of the same name (or its snake_case form: `firstName` ->
`first_name`) when the entities source already has that column, converted to its type. A
value of the wrong type is not dropped silently: the column stays empty for that row and the
value is recorded in the state database's `trait_problems` and counted in the load's
statistics.

* A Parquet glob source gets one collector-owned file, `collected-entities.parquet`, in the
  glob's directory, rewritten whole from the state database (atomically) when an entity
  changes. A single-file source cannot take a file of ours: nothing is written (logged once).
* A DuckDB or PostgreSQL table gets an upsert, in one transaction: traits overwrite the
  columns they fill, `created` is set only where the row has none, missing rows are inserted.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from cynosure.collect.sinks import ENTITIES_FILE, source_directory, write_parquet
from cynosure.collect.state import State
from cynosure.collect.tables import (
    DuckTableSink,
    PostgresTableSink,
    SqlTableSink,
    duckdb_path,
    quote,
    warehouse_kind,
)
from cynosure.engine.sources import looks_like_path
from cynosure.errors import DataError
from cynosure.project.load import Spec
from cynosure.project.model import EntitiesConfig

logger = logging.getLogger("cynosure.collect")
CREATED_TRAITS = ("createdAt", "created_at", "created")
_WRONG = object()


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def convert(value: Any, kind: pa.DataType) -> Any:
    """`value` as a Python value of Arrow type `kind`, or `_WRONG`."""
    if value is None:
        return None
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return value if isinstance(value, str) else str(value) if number else _WRONG
    if pa.types.is_integer(kind):
        if number and float(value).is_integer():
            return int(value)
        return _WRONG
    if pa.types.is_floating(kind):
        return float(value) if number else _WRONG
    if pa.types.is_boolean(kind):
        return value if isinstance(value, bool) else _WRONG
    if pa.types.is_timestamp(kind):
        moment = _time(value)
        if moment is None:
            return _WRONG
        return moment if kind.tz else moment.astimezone(UTC).replace(tzinfo=None)
    if pa.types.is_date(kind):
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip()[:10])
            except ValueError:
                return _WRONG
        return _WRONG
    try:
        pa.array([value], kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):
        return _WRONG
    return value


class EntityRows:
    """Builds the rows of identified entities from the state database."""

    def __init__(self, config: EntitiesConfig, schema: pa.Schema):
        self.config = config
        self.schema = schema

    def build(
        self, state: State, only: set[str] | None = None
    ) -> tuple[pa.Table, list[tuple[str, str, str, str]]]:
        """(rows, problems): one row per identified person (those in `only` if given), and
        each trait value that did not fit its column: (entity, trait, value, expected)."""
        people = self._people(state, only)
        key, created = self.config.key, self.config.created
        columns: dict[str, list[Any]] = {f.name: [] for f in self.schema}
        problems: list[tuple[str, str, str, str]] = []
        for person, (traits, first_seen) in sorted(people.items()):
            row: dict[str, Any] = {}
            value = convert(person, self.schema.field(key).type)
            if value is _WRONG:
                problems.append((person, key, person, str(self.schema.field(key).type)))
                continue
            row[key] = value
            if created is not None:
                row[created] = self._created(created, person, traits, first_seen, problems)
            for trait, raw in traits.items():
                column = trait if trait in columns else snake(trait)
                if column in (key, created) or column not in columns or trait in CREATED_TRAITS:
                    continue
                kind = self.schema.field(column).type
                value = convert(raw, kind)
                if value is _WRONG:
                    problems.append((person, trait, orjson.dumps(raw).decode(), str(kind)))
                    value = None
                row[column] = value
            for name in columns:
                columns[name].append(row.get(name))
        arrays = [pa.array(columns[f.name], f.type) for f in self.schema]
        return pa.Table.from_arrays(arrays, schema=self.schema), problems

    def _created(
        self,
        column: str,
        person: str,
        traits: dict[str, Any],
        first_seen: int,
        problems: list[tuple[str, str, str, str]],
    ) -> Any:
        kind = self.schema.field(column).type
        for trait in (column, *CREATED_TRAITS):
            if traits.get(trait) is not None:
                value = convert(traits[trait], kind)
                if value is not _WRONG:
                    return value
                problems.append((person, trait, orjson.dumps(traits[trait]).decode(), str(kind)))
                break
        seen = datetime.fromtimestamp(first_seen / 1e6, tz=UTC)
        value = convert(seen.isoformat(), kind)
        return None if value is _WRONG else value

    @staticmethod
    def _people(state: State, only: set[str] | None) -> dict[str, tuple[dict[str, Any], int]]:
        """Person -> (traits merged oldest first, first identify time in microseconds).

        A person is an identified userId at the end of its merge chain; the traits of ids
        merged into it (an identify that carried only an anonymousId) are merged in too.
        """
        identified = "SELECT user_id FROM calls WHERE type = 'identify' AND user_id IS NOT NULL"
        rows = state.db.execute(
            f"SELECT entity, traits, first_seen, last_seen FROM entities WHERE entity IN "
            f"({identified}) OR entity IN (SELECT anonymous_id FROM identities) "
            "ORDER BY last_seen, entity"
        ).fetchall()
        roots = state.resolve(str(r[0]) for r in rows)
        persons = sorted({roots.get(str(r[0]), str(r[0])) for r in rows})
        known: set[str] = set()
        for first in range(0, len(persons), 500):
            chunk = persons[first : first + 500]
            found = state.db.execute(
                f"{identified} AND user_id IN ({','.join('?' * len(chunk))})", chunk
            )
            known.update(str(r[0]) for r in found)
        people: dict[str, tuple[dict[str, Any], int]] = {}
        for entity, traits, first_seen, _ in rows:
            person = roots.get(entity, entity)
            if person not in known or (only is not None and person not in only):
                continue
            merged, seen = people.get(person, ({}, int(first_seen)))
            people[person] = ({**merged, **orjson.loads(traits)}, min(seen, int(first_seen)))
        return people


class EntitiesTarget:
    """Writes identified entities into the project's entities source."""

    def __init__(self, config: EntitiesConfig):
        self.config = config

    def schema(self) -> pa.Schema:
        raise NotImplementedError

    def write(self, state: State, changed: set[str]) -> list[tuple[str, str, str, str]]:
        raise NotImplementedError


class ParquetEntities(EntitiesTarget):
    def __init__(self, config: EntitiesConfig, pattern: str, directory: Path):
        super().__init__(config)
        self.pattern = pattern
        self.path = directory / ENTITIES_FILE

    def schema(self) -> pa.Schema:
        import glob

        files = sorted(glob.glob(self.pattern, recursive=True))
        theirs = [f for f in files if Path(f).name != ENTITIES_FILE]
        for name in theirs or files:
            return pq.read_schema(name).remove_metadata()
        raise DataError(f"no file matches the entities source '{self.config.source}'")

    def write(self, state: State, changed: set[str]) -> list[tuple[str, str, str, str]]:
        rows, problems = EntityRows(self.config, self.schema()).build(state)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        before = self.path.stat().st_mtime_ns if self.path.exists() else None
        write_parquet(rows, self.path, later_than_ns=before)
        return problems


class TableEntities(EntitiesTarget):
    def __init__(self, config: EntitiesConfig, sink: SqlTableSink):
        super().__init__(config)
        self.sink = sink
        self.table = config.source

    def schema(self) -> pa.Schema:
        con = self.sink.open()
        try:
            if isinstance(self.sink, DuckTableSink):
                found = con.execute(f"SELECT * FROM {quote(self.table)} LIMIT 0")
                return found.to_arrow_table().schema.remove_metadata()
            database, _, name = self.table.rpartition(".")  # schema.table is fine too
            return con.get_schema(name, database=database or None).to_pyarrow()
        finally:
            self.sink.close(con)

    def write(self, state: State, changed: set[str]) -> list[tuple[str, str, str, str]]:
        if not changed:
            return []
        rows, problems = EntityRows(self.config, self.schema()).build(state, changed)
        if not rows.num_rows:
            return problems
        key, created = quote(self.config.key), self.config.created
        table = quote(self.table)
        filled = [c for c in rows.column_names if c != self.config.key]
        sets = [
            f"{quote(c)} = COALESCE({table}.{quote(c)}, i.{quote(c)})"
            if c == created
            else f"{quote(c)} = COALESCE(i.{quote(c)}, {table}.{quote(c)})"
            for c in filled
        ]
        names = ", ".join(quote(c) for c in rows.column_names)
        with self.sink._transaction() as con:
            self.sink.stage(con, "cynosure_entities", rows)
            if sets:
                self.sink.execute(
                    con,
                    f"UPDATE {table} SET {', '.join(sets)} FROM cynosure_entities AS i "
                    f"WHERE {table}.{key} = i.{key}",
                )
            self.sink.execute(
                con,
                f"INSERT INTO {table} ({names}) SELECT {names} FROM cynosure_entities "
                f"WHERE {key} NOT IN (SELECT {key} FROM {table} WHERE {key} IS NOT NULL)",
            )
        return problems


def make_entities_target(spec: Spec) -> EntitiesTarget | None:
    """Where identified entities go, or None (no `entities:`, or a source that cannot take
    them: a single file, or a Spark table)."""
    config = spec.model.entities
    if config is None:
        return None
    if looks_like_path(config.source):
        try:
            directory = source_directory(spec, config.source, "entities")
        except DataError as exc:
            logger.warning("identified entities are not written: %s (%s)", exc, exc.hint)
            return None
        pattern = (
            config.source
            if Path(config.source).is_absolute()
            else str(spec.base_dir / config.source)
        )
        return ParquetEntities(config, pattern, directory)
    kind = warehouse_kind(spec)
    entity = spec.model.events.entity
    if kind == "duckdb":
        path = duckdb_path(spec)

        def duck() -> Any:
            import duckdb

            return duckdb.connect(str(path))

        return TableEntities(config, DuckTableSink(duck, config.source, entity))
    if kind == "postgres":
        sink = PostgresTableSink(spec.model.warehouse or "", spec.base_dir, config.source, entity)
        return TableEntities(config, sink)
    logger.warning("identified entities are not written to %s tables", kind)
    return None
