"""The loader: moves landed events from the log into the project's events, exactly once.

Each run reads the log from the high-water mark to the last fsynced position, maps each
Segment message onto the project's columns, checks it against the tracking plan, and writes:

* track, page and screen calls that pass the plan -> the project's events: a Parquet part
  file beside the existing ones when `events.source` is a file glob (the rollup's refresh
  picks new files up by itself), or rows inserted into the table when it is a DuckDB table;
* calls that break the plan -> the quarantine, with the reason;
* identify, group and alias calls -> the state database (identities, entity traits, calls).

Exactly once: a part file is named by the log position its records start at and is written
whole, then renamed, so a load repeated after a crash replaces it rather than adding to it;
state rows are keyed by messageId; the high-water mark moves in the same transaction as the
state rows (files) or as the inserted rows (a table). The warehouse is only opened for the
few milliseconds of an insert, so the collector and a CLI reading the warehouse take turns.
"""

from __future__ import annotations

import glob
import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from cynosure.collect.log import MAGIC, Position, SegmentLog
from cynosure.collect.plan import TrackingRules, tracking_rules
from cynosure.collect.state import State
from cynosure.engine.sources import looks_like_path
from cynosure.errors import DataError
from cynosure.project.load import Spec

EVENT_TYPES = ("track", "page", "screen")
BATCH_RECORDS = 200_000
TABLE_SLICE = 8192  # rows converted to Arrow at a time
# Extra columns the loader adds to every row: what `cynosure check` measures.
EXTRA = {
    "message_id": pa.string(),
    "anonymous_id": pa.string(),
    "event_type": pa.string(),
    "received_at": pa.timestamp("us", tz="UTC"),
    "clock_skew_ms": pa.int64(),
    "write_source": pa.string(),
}
# Segment context fields that fill a dimension of the same meaning when properties lack it.
CONTEXT = {
    "country": ("location", "country"),
    "city": ("location", "city"),
    "region": ("location", "region"),
    "platform": ("os", "name"),
    "os": ("os", "name"),
    "os_version": ("os", "version"),
    "device": ("device", "type"),
    "device_type": ("device", "type"),
    "app_version": ("app", "version"),
    "locale": ("locale",),
    "timezone": ("timezone",),
    "utm_source": ("campaign", "source"),
    "acquisition_channel": ("campaign", "source"),
}


@dataclass
class LoadStats:
    """What one run of the loader did."""

    events: int = 0
    quarantined: int = 0
    calls: int = 0
    readmitted: int = 0
    seconds: float = 0.0


def _context_value(context: dict[str, Any], column: str) -> Any:
    path = CONTEXT.get(column)
    if path is None:
        head, _, tail = column.partition("_")  # app_build -> context.app.build
        path = (head, tail) if tail else (column,)
    value: Any = context
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class Mapper:
    """Segment messages -> rows of the project's events table."""

    def __init__(self, spec: Spec, rules: TrackingRules):
        events = spec.model.events
        self.entity, self.time, self.name = events.entity, events.time, events.name
        self.dimensions = list(events.dimensions)
        self.properties = list(events.properties)
        own = set(events.columns())
        self.extra = {k: v for k, v in EXTRA.items() if k not in own}
        self.rules = rules

    def schema(self) -> pa.Schema:
        fields = [
            pa.field(self.entity, pa.string()),
            pa.field(self.time, pa.timestamp("us", tz="UTC")),
            pa.field(self.name, pa.string()),
            *(pa.field(d, pa.string()) for d in self.dimensions),
            *(pa.field(p, pa.float64()) for p in self.properties),
            *(pa.field(k, t) for k, t in self.extra.items()),
        ]
        return pa.schema(fields)

    def values(self, message: dict[str, Any]) -> dict[str, Any]:
        """The properties the plan checks: the message's own, plus context for dimensions."""
        values = dict(message.get("properties") or {})
        context = message.get("context") or {}
        for column in self.dimensions:
            if values.get(column) is None:
                values[column] = _context_value(context, column)
        return values

    def row(self, message: dict[str, Any], entity: str, values: dict[str, Any]) -> dict[str, Any]:
        kind = message["type"]
        name = message.get("event") if kind == "track" else (message.get("name") or kind)
        row: dict[str, Any] = {
            self.entity: entity,
            self.time: message["t"],
            self.name: name,
        }
        for column in self.dimensions:
            value = values.get(column)
            row[column] = None if value is None or isinstance(value, (dict, list)) else str(value)
        for column in self.properties:
            value = values.get(column)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            row[column] = float(value) if number and value is not None else None
        extra = {
            "message_id": message["messageId"],
            "anonymous_id": message.get("anonymousId"),
            "event_type": kind,
            "received_at": message["receivedAt"],
            "clock_skew_ms": message.get("skew_ms", 0),
            "write_source": message.get("source"),
        }
        row.update({k: v for k, v in extra.items() if k in self.extra})
        return row

    def table(self, rows: list[dict[str, Any]]) -> pa.Table:
        """The rows as one table, converted in slices: one conversion holds the GIL, and
        the collector's requests share this process (100k rows at once stall them ~50 ms).
        """
        schema = self.schema()
        parts = []
        for first in range(0, max(len(rows), 1), TABLE_SLICE):
            part = rows[first : first + TABLE_SLICE]
            columns = {f.name: [r.get(f.name) for r in part] for f in schema}
            parts.append(pa.Table.from_pydict(columns, schema=schema))
        return parts[0] if len(parts) == 1 else pa.concat_tables(parts)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FilesSink:
    """Parquet part files in the directory of the events glob."""

    def __init__(self, directory: Path):
        self.directory = directory

    def write(self, table: pa.Table, start: Position, end: Position, state: State) -> None:
        if table.num_rows:
            self.directory.mkdir(parents=True, exist_ok=True)
            name = f"collected-{start.segment:010d}-{start.offset:012d}.parquet"
            write_parquet(table, self.directory / name)

    def hwm(self, state: State) -> Position | None:
        text = state.get("hwm")
        return None if text is None else Position.parse(text)


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write whole, fsync, then rename into place: readers see all of it or nothing."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".collected-", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _fsync_dir(path.parent)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class TableSink:
    """Rows inserted into a DuckDB table, the high-water mark moved in the same transaction."""

    STATE_TABLE = "cynosure_collect_state"

    def __init__(self, connect: Callable[[], Any], table: str):
        self.connect = connect
        self.table_name = table

    def write(self, table: pa.Table, start: Position, end: Position, state: State) -> None:
        con = self.connect()
        try:
            con.execute("BEGIN TRANSACTION")
            self._ensure_state(con)
            if table.num_rows:
                known = {
                    r[0] for r in con.execute(f"DESCRIBE {_quote(self.table_name)}").fetchall()
                }
                columns = ", ".join(_quote(c) for c in table.column_names if c in known)
                con.register("cynosure_incoming", table)
                con.execute(
                    f"INSERT INTO {_quote(self.table_name)} ({columns}) "
                    f"SELECT {columns} FROM cynosure_incoming"
                )
                con.unregister("cynosure_incoming")
            con.execute(
                f"INSERT OR REPLACE INTO {self.STATE_TABLE} VALUES ('hwm', ?)", [end.text()]
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    def _ensure_state(self, con: Any) -> None:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {self.STATE_TABLE} "
            "(key VARCHAR PRIMARY KEY, value VARCHAR)"
        )

    def hwm(self, state: State) -> Position | None:
        con = self.connect()
        try:
            self._ensure_state(con)
            row = con.execute(f"SELECT value FROM {self.STATE_TABLE} WHERE key = 'hwm'").fetchone()
        finally:
            con.close()
        return None if row is None else Position.parse(row[0])


def events_directory(spec: Spec) -> Path:
    """Where part files go: the fixed directory part of a Parquet glob."""
    text = spec.model.events.source
    pattern = text if Path(text).is_absolute() else str(spec.base_dir / text)
    if not pattern.lower().endswith((".parquet", ".pq", "*")) or not glob.has_magic(pattern):
        raise DataError(
            f"the collector writes Parquet part files, so events.source must be a Parquet glob "
            f"or a table, not '{text}'",
            "write it like data/events/*.parquet",
        )
    parts = Path(pattern).parts
    first = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    return Path(*parts[:first])


def make_sink(spec: Spec, duck: Callable[[], Any] | None = None) -> FilesSink | TableSink:
    """The sink for this project's events source."""
    source = spec.model.events.source
    if looks_like_path(source):
        return FilesSink(events_directory(spec))
    if duck is None:
        from cynosure.engine.connection import DEFAULT_WAREHOUSE

        url = spec.model.warehouse or DEFAULT_WAREHOUSE
        if not url.startswith("duckdb://"):
            raise DataError(
                f"the collector loads into DuckDB tables or Parquet files; '{url}' is neither",
                "point events.source at a Parquet glob",
            )
        target = url.split("://", 1)[1].lstrip("/")
        path = Path(target) if Path(target).is_absolute() else spec.base_dir / target

        def duck() -> Any:
            import duckdb

            return duckdb.connect(str(path))

    return TableSink(duck, source)


class Loader:
    """Moves events from the log to the warehouse; one run at a time."""

    def __init__(self, spec: Spec, log: SegmentLog, state_path: Path, sink: FilesSink | TableSink):
        self.spec = spec
        self.log = log
        self.state_path = state_path
        self.sink = sink
        self.mapper = Mapper(spec, tracking_rules(spec))
        self.loaded = 0
        self.quarantined = 0
        self.calls = 0

    def run(self, end: Position, *, limit: int = BATCH_RECORDS) -> LoadStats:
        """Load what lies between the high-water mark and `end` (at most `limit` records per
        part; loops until caught up)."""
        began = time.perf_counter()
        stats = LoadStats()
        state = State(self.state_path)
        try:
            while True:
                start = self.sink.hwm(state) or Position(self.log.segments()[0], len(MAGIC))
                # Payloads (bytes) only: no per-record objects for the garbage collector to
                # walk while a large load is in memory (a full collection holds the GIL).
                payloads: list[bytes] = []
                last = start
                for after, payload in self.log.read(start, end):
                    payloads.append(payload)
                    last = after
                    if len(payloads) >= limit:
                        break
                if not payloads:
                    break
                self._load(payloads, start, last, state, stats)
                if last >= end:
                    break
        finally:
            state.close()
        stats.seconds = time.perf_counter() - began
        self.loaded += stats.events
        self.quarantined += stats.quarantined
        self.calls += stats.calls
        return stats

    def _load(
        self,
        payloads: list[bytes],
        start: Position,
        end: Position,
        state: State,
        stats: LoadStats,
    ) -> None:
        """One pass over the records: each message is decoded, mapped and dropped, so only
        rows (dicts of scalars, which the garbage collector does not track) accumulate.
        Anonymous events get their entity after the pass, once every identify and alias of
        this load is known."""
        links: dict[str, str] = {}
        calls = []
        entities: dict[str, tuple[dict[str, Any], int]] = {}
        anonymous: list[str] = []
        unresolved: list[tuple[dict[str, Any], str]] = []
        rows, quarantine = [], []
        loads = orjson.loads
        for payload in payloads:
            m = loads(payload)
            kind = m["type"]
            if kind in ("identify", "alias", "group"):
                user = m.get("userId")
                anon = m.get("anonymousId") if kind != "alias" else m.get("previousId")
                if user and anon and anon != user:
                    links[anon] = user
                target = m.get("groupId") if kind == "group" else m.get("previousId")
                calls.append((m["messageId"], kind, user, m.get("anonymousId"), target, m["t"]))
                if kind == "identify":
                    entity = str(user or anon)
                    traits, _ = entities.get(entity, ({}, 0))
                    entities[entity] = ({**traits, **(m.get("traits") or {})}, m["t"])
            if not m.get("userId") and m.get("anonymousId"):
                anonymous.append(m["anonymousId"])
            if kind not in EVENT_TYPES:
                continue
            values = self.mapper.values(m)
            name = m.get("event") if kind == "track" else (m.get("name") or kind)
            problems = self.mapper.rules.violations(str(name), values)
            if problems:
                quarantine.append((m["messageId"], name, problems[0], orjson.dumps(m), time.time()))
                continue
            user = m.get("userId")
            row = self.mapper.row(m, user, values)
            if not user:
                unresolved.append((row, m["anonymousId"]))
            rows.append(row)
        known = state.resolve(a for a in anonymous if a not in links)
        known.update(links)
        for row, anon in unresolved:
            row[self.mapper.entity] = known.get(anon) or anon
        self.commit_state(state, calls, links, entities, quarantine, None)
        self.sink.write(self.mapper.table(rows), start, end, state)
        if isinstance(self.sink, FilesSink):
            state.db.execute("INSERT OR REPLACE INTO loader VALUES ('hwm', ?)", (end.text(),))
        stats.events += len(rows)
        stats.quarantined += len(quarantine)
        stats.calls += len(calls)

    @staticmethod
    def commit_state(
        state: State,
        calls: list[tuple[Any, ...]],
        links: dict[str, str],
        entities: dict[str, tuple[dict[str, Any], int]],
        quarantine: list[tuple[Any, ...]],
        readmitted: list[str] | None,
    ) -> None:
        db = state.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT OR IGNORE INTO calls VALUES (?, ?, ?, ?, ?, ?)", calls)
            db.executemany(
                "INSERT OR REPLACE INTO identities VALUES (?, ?, ?)",
                [(a, u, int(time.time())) for a, u in links.items()],
            )
            for entity, (traits, at) in entities.items():
                row = db.execute(
                    "SELECT traits FROM entities WHERE entity = ?", (entity,)
                ).fetchone()
                merged = {**(orjson.loads(row[0]) if row else {}), **traits}
                db.execute(
                    "INSERT INTO entities VALUES (?, ?, ?, ?) ON CONFLICT(entity) DO UPDATE SET "
                    "traits = excluded.traits, last_seen = max(last_seen, excluded.last_seen)",
                    (entity, orjson.dumps(merged).decode(), at, at),
                )
            db.executemany("INSERT OR IGNORE INTO quarantine VALUES (?, ?, ?, ?, ?)", quarantine)
            if readmitted:
                db.executemany(
                    "DELETE FROM quarantine WHERE message_id = ?", [(i,) for i in readmitted]
                )
            db.execute("COMMIT")
        except Exception:
            db.execute("ROLLBACK")
            raise

    def readmit(self) -> LoadStats:
        """Re-check quarantined events against the plan as it is now; load those that pass."""
        stats = LoadStats()
        state = State(self.state_path)
        try:
            rows_db = state.db.execute(
                "SELECT message_id, payload FROM quarantine ORDER BY quarantined_at, message_id"
            ).fetchall()
            rows, passed = [], []
            known = state.resolve(orjson.loads(p).get("anonymousId") or "" for _, p in rows_db)
            for message_id, payload in rows_db:
                m = orjson.loads(payload)
                values = self.mapper.values(m)
                name = m.get("event") if m["type"] == "track" else (m.get("name") or m["type"])
                if self.mapper.rules.violations(str(name), values):
                    continue
                entity = m.get("userId") or known.get(m.get("anonymousId")) or m["anonymousId"]
                rows.append(self.mapper.row(m, entity, values))
                passed.append(message_id)
            if rows:
                table = self.mapper.table(rows)
                if isinstance(self.sink, FilesSink):
                    # Named by its content's first id: a re-run after a crash replaces it.
                    self.sink.directory.mkdir(parents=True, exist_ok=True)
                    digest = orjson.dumps(sorted(passed))
                    name = f"readmitted-{hashlib.sha256(digest).hexdigest()[:16]}.parquet"
                    write_parquet(table, self.sink.directory / name)
                else:
                    hwm = self.sink.hwm(state) or Position(1, len(MAGIC))
                    self.sink.write(table, hwm, hwm, state)
                self.commit_state(state, [], {}, {}, [], passed)
            stats.readmitted = len(passed)
        finally:
            state.close()
        return stats
