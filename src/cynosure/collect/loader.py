"""The loader: moves landed events from the log into the project's events, exactly once.

Each run reads the log from the high-water mark to the last fsynced position, maps each
Segment message onto the project's columns (`mapping.py`), checks it against the tracking
plan, and writes:

* track, page and screen calls that pass the plan -> the project's events, through the sink
  of its events source (Parquet part files, `sinks.py`; a DuckDB, PostgreSQL or Spark table,
  `tables.py`), each event attributed to the person its id resolves to (`identity.py`);
* calls that break the plan -> the quarantine, with the reason;
* identify, group and alias calls -> the state database (calls, merges of ids, traits); the
  events of ids merged since they were loaded are re-attributed by the sink, and identified
  entities go to the project's `entities:` source when it has one (`entities.py`).

Order, and why a crash anywhere is harmless: (1) one SQLite transaction records the calls,
merges (with the merged ids put on a pending list), traits (entities put on a pending list)
and quarantine, all keyed by messageId or idempotent; (2) the sink appends the rows,
re-attributes the pending merges and moves the mark (one transaction for a table); (3) the
pending lists are cleared (and, for files, the mark moved) in one SQLite transaction; (4) the
entities are written and their pending list cleared. Replaying any step after a crash either
finds its work done or redoes it to the same result.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from cynosure.collect.entities import EntitiesTarget, make_entities_target
from cynosure.collect.log import MAGIC, Position, SegmentLog
from cynosure.collect.mapping import EVENT_TYPES, Mapper, event_name
from cynosure.collect.plan import tracking_rules
from cynosure.collect.sinks import FilesSink, SimulatedCrash, Sink, events_directory, write_parquet
from cynosure.collect.state import State
from cynosure.collect.tables import SparkTableSink, SqlTableSink, make_sink
from cynosure.project.load import Spec

__all__ = [
    "FilesSink",
    "LoadStats",
    "Loader",
    "Mapper",
    "SimulatedCrash",
    "SqlTableSink",
    "events_directory",
    "make_sink",
    "write_parquet",
]

logger = logging.getLogger("cynosure.collect")
BATCH_RECORDS = 200_000
COMPACTION_LOCK = "compact.lock"  # compact.py's lock file, in the same directory
_DEFAULT: Any = object()


@dataclass
class LoadStats:
    """What one run of the loader did."""

    events: int = 0
    quarantined: int = 0
    calls: int = 0
    readmitted: int = 0
    reattributed: int = 0  # loaded events moved to the person their id was merged into
    conflicts: int = 0  # merges refused because the id already belonged to someone else
    entities: int = 0  # entities written to the project's entities source
    trait_problems: int = 0  # trait values that did not fit their column's type
    merges_not_applied: int = 0  # merges a sink cannot re-apply (Spark tables)
    seconds: float = 0.0


class Loader:
    """Moves events from the log to the warehouse; one run at a time.

    `fault` is a test hook: the name of a point at which a run stops with SimulatedCrash
    ("after-state", "after-insert", "mid-rewrite", "after-warehouse"), as a crash would.
    """

    def __init__(
        self,
        spec: Spec,
        log: SegmentLog,
        state_path: Path,
        sink: Sink,
        *,
        entities: EntitiesTarget | None = _DEFAULT,
    ):
        self.spec = spec
        self.log = log
        self.state_path = state_path
        self.sink = sink
        if isinstance(sink, FilesSink):
            sink.lock_path = state_path.parent / COMPACTION_LOCK
        self.entities = make_entities_target(spec) if entities is _DEFAULT else entities
        self.mapper = Mapper(spec, tracking_rules(spec))
        self.loaded = 0
        self.quarantined = 0
        self.calls = 0
        self._fault: str | None = None

    @property
    def fault(self) -> str | None:
        return self._fault

    @fault.setter
    def fault(self, point: str | None) -> None:
        self._fault = point
        self.sink.fault = point

    def _checkpoint(self, point: str) -> None:
        if self._fault == point:
            raise SimulatedCrash(point)

    def run(self, end: Position, *, limit: int = BATCH_RECORDS) -> LoadStats:
        """Load what lies between the high-water mark and `end` (at most `limit` records per
        part; loops until caught up), then finish any pending re-attribution."""
        began = time.perf_counter()
        stats = LoadStats()
        state = State(self.state_path)
        try:
            # Read once: each load below moves the mark to where it ended.
            start = self.sink.hwm(state) or Position(self.log.segments()[0], len(MAGIC))
            while True:
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
                    if self._has_pending(state):  # left by a crash: finish it
                        self._write(state, self.mapper.table([]), start, start, stats)
                    break
                self._load(payloads, start, last, state, stats)
                start = last
                if last >= end:
                    break
        finally:
            state.close()
        stats.seconds = time.perf_counter() - began
        self.loaded += stats.events
        self.quarantined += stats.quarantined
        self.calls += stats.calls
        return stats

    @staticmethod
    def _has_pending(state: State) -> bool:
        return bool(state.count("merges_pending")) or bool(
            state.db.execute("SELECT 1 FROM entities_pending LIMIT 1").fetchone()
        )

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
        Entities are resolved after the pass, once every identify and alias of this load is
        recorded."""
        merges: list[tuple[str, str, str]] = []
        calls = []
        traits: dict[str, tuple[dict[str, Any], int]] = {}
        identified: set[str] = set()
        rows, quarantine = [], []
        loads = orjson.loads
        for payload in payloads:
            m = loads(payload)
            kind = m["type"]
            if kind in ("identify", "alias", "group"):
                user = m.get("userId")
                other = m.get("previousId") if kind == "alias" else m.get("anonymousId")
                if user and other and other != user:
                    merges.append((str(other), str(user), m["messageId"]))
                target = m.get("groupId") if kind == "group" else m.get("previousId")
                calls.append((m["messageId"], kind, user, m.get("anonymousId"), target, m["t"]))
                if kind == "identify":
                    entity = str(user or m.get("anonymousId"))
                    if user:
                        identified.add(entity)
                    known, _ = traits.get(entity, ({}, 0))
                    traits[entity] = ({**known, **(m.get("traits") or {})}, m["t"])
                continue
            if kind not in EVENT_TYPES:
                continue
            values = self.mapper.values(m)
            name = event_name(m)
            problems = self.mapper.rules.violations(str(name), values)
            if problems:
                quarantine.append((m["messageId"], name, problems[0], orjson.dumps(m), time.time()))
                continue
            rows.append(self.mapper.row(m, name, m.get("userId") or m["anonymousId"], values))
        stats.conflicts += self.commit_state(
            state, calls, merges, traits, identified, quarantine, None
        )
        self._checkpoint("after-state")
        self._attribute(state, rows)
        self._write(state, self.mapper.table(rows), start, end, stats)
        stats.events += len(rows)
        stats.quarantined += len(quarantine)
        stats.calls += len(calls)

    def _attribute(self, state: State, rows: list[dict[str, Any]]) -> None:
        """Each row's entity as the person it belongs to now (merged ids followed)."""
        column = self.mapper.entity
        people = state.resolve({row[column] for row in rows})
        if people:
            for row in rows:
                row[column] = people.get(row[column], row[column])

    def _write(
        self, state: State, table: pa.Table, start: Position, end: Position, stats: LoadStats
    ) -> None:
        """Rows, pending merges and the mark through the sink; then the pending lists."""
        graph = state.identities
        merges = graph.pending()
        stats.reattributed += self.sink.write(table, start, end, state, merges)
        if merges and isinstance(self.sink, SparkTableSink):
            stats.merges_not_applied += len(merges)
            logger.warning(
                "%d merged ids were not re-attributed in the Spark table: it cannot UPDATE",
                len(merges),
            )
        self._checkpoint("after-warehouse")
        db = state.db
        db.execute("BEGIN IMMEDIATE")
        try:
            graph.applied(list(merges))
            if isinstance(self.sink, FilesSink):
                state.put("hwm", end.text())
            db.execute("COMMIT")
        except Exception:
            db.execute("ROLLBACK")
            raise
        self._write_entities(state, set(merges.values()), stats)

    def _write_entities(self, state: State, merged_into: set[str], stats: LoadStats) -> None:
        pending = {str(r[0]) for r in state.db.execute("SELECT entity FROM entities_pending")}
        if self.entities is None or not (pending or merged_into):
            if pending and self.entities is None:
                state.db.execute("DELETE FROM entities_pending")
            return
        changed = set(state.resolve(pending).values()) | pending | merged_into
        problems = self.entities.write(state, changed)
        db = state.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("DELETE FROM entities_pending WHERE entity = ?", [(e,) for e in pending])
            db.executemany(
                "DELETE FROM trait_problems WHERE entity = ?", [(e,) for e in sorted(changed)]
            )
            db.executemany("INSERT OR REPLACE INTO trait_problems VALUES (?, ?, ?, ?)", problems)
            db.execute("COMMIT")
        except Exception:
            db.execute("ROLLBACK")
            raise
        stats.entities += len(changed)
        stats.trait_problems += len(problems)
        for entity, trait, value, expected in problems[:5]:
            logger.warning(
                "entity %s: trait %s = %s does not fit the column's type %s; left empty",
                entity,
                trait,
                value,
                expected,
            )

    @staticmethod
    def commit_state(
        state: State,
        calls: list[tuple[Any, ...]],
        merges: list[tuple[str, str, str]],
        traits: dict[str, tuple[dict[str, Any], int]],
        identified: set[str],
        quarantine: list[tuple[Any, ...]],
        readmitted: list[str] | None,
    ) -> int:
        """Record one load's calls, merges, traits and quarantine in one transaction; the
        number of merges refused (conflicts)."""
        db = state.db
        graph = state.identities
        conflicts = 0
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT OR IGNORE INTO calls VALUES (?, ?, ?, ?, ?, ?)", calls)
            for child, parent, message_id in merges:  # in log order: the first merge wins
                conflicts += not graph.merge(child, parent, message_id)
            for entity, (found, at) in traits.items():
                row = db.execute(
                    "SELECT traits FROM entities WHERE entity = ?", (entity,)
                ).fetchone()
                merged = {**(orjson.loads(row[0]) if row else {}), **found}
                db.execute(
                    "INSERT INTO entities VALUES (?, ?, ?, ?) ON CONFLICT(entity) DO UPDATE SET "
                    "traits = excluded.traits, first_seen = min(first_seen, excluded.first_seen), "
                    "last_seen = max(last_seen, excluded.last_seen)",
                    (entity, orjson.dumps(merged).decode(), at, at),
                )
            db.executemany(
                "INSERT OR IGNORE INTO entities_pending VALUES (?)", [(e,) for e in identified]
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
        return conflicts

    def readmit(self) -> LoadStats:
        """Re-check quarantined events against the plan as it is now; load those that pass.

        Exactly once: the sink appends only message_ids it has not re-admitted before (a
        table records them in the same transaction; files are checked against the
        collector's readmitted part files), so a crash before the quarantine rows are
        cleared cannot bring an event in twice.
        """
        stats = LoadStats()
        state = State(self.state_path)
        try:
            found = state.db.execute(
                "SELECT message_id, payload FROM quarantine ORDER BY quarantined_at, message_id"
            ).fetchall()
            messages = [(message_id, orjson.loads(payload)) for message_id, payload in found]
            rows, passed = [], []
            for message_id, m in messages:
                values = self.mapper.values(m)
                name = event_name(m)
                if self.mapper.rules.violations(str(name), values):
                    continue
                rows.append(self.mapper.row(m, name, m.get("userId") or m["anonymousId"], values))
                passed.append(message_id)
            if rows:
                self._attribute(state, rows)
                self.sink.readmit(self.mapper.table(rows), state)
                self._checkpoint("after-warehouse")
                self.commit_state(state, [], [], {}, set(), [], passed)
            stats.readmitted = len(passed)
        finally:
            state.close()
        return stats
