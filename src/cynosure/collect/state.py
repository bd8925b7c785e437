"""The collector's own small database (SQLite, `<state>/collect/state.sqlite`): the loader's
high-water mark, the quarantine, identities (which id merged into which, see `identity.py`),
the merges still to apply to loaded events, entity traits (and the entities still to write to
the project's entities source), and the identify/group/alias calls received.

SQLite locks per transaction, so the server, `cynosure check` and `cynosure collect
--readmit` can all use it at once. Every write the loader makes is `INSERT OR IGNORE` keyed
by messageId (or an upsert), so replaying a load after a crash changes nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from cynosure.collect.identity import IdentityGraph

SCHEMA = """
CREATE TABLE IF NOT EXISTS loader (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS quarantine (
    message_id TEXT PRIMARY KEY, event TEXT, reason TEXT NOT NULL, payload BLOB NOT NULL,
    quarantined_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS identities (
    anonymous_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS entities (
    entity TEXT PRIMARY KEY, traits TEXT NOT NULL, first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS merges_pending (id TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS identity_conflicts (
    message_id TEXT PRIMARY KEY, id TEXT NOT NULL, kept TEXT NOT NULL, refused TEXT NOT NULL,
    at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS entities_pending (entity TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS trait_problems (
    entity TEXT NOT NULL, trait TEXT NOT NULL, value TEXT, expected TEXT NOT NULL,
    PRIMARY KEY (entity, trait));
CREATE TABLE IF NOT EXISTS calls (
    message_id TEXT PRIMARY KEY, type TEXT NOT NULL, user_id TEXT, anonymous_id TEXT,
    target TEXT, at INTEGER NOT NULL);
"""


STATE_FILE = "state.sqlite"


def state_path(collect_dir: Path) -> Path:
    """The state database in the collector's directory (`.cynosure/collect/`)."""
    return collect_dir / STATE_FILE


class State:
    """A connection to the state database (one per thread)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM loader WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @property
    def identities(self) -> IdentityGraph:
        return IdentityGraph(self.db)

    def resolve(self, ids: Iterable[str]) -> dict[str, str]:
        """The person (root id) each merged id resolves to; ids never merged are left out."""
        return self.identities.roots(ids)

    def put(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO loader VALUES (?, ?)", (key, value))

    def drop(self, key: str) -> None:
        self.db.execute("DELETE FROM loader WHERE key = ?", (key,))

    def quarantine_counts(self) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT reason, count(*) FROM quarantine GROUP BY reason ORDER BY 2 DESC"
        ).fetchall()
        return {str(reason): int(count) for reason, count in rows}

    def count(self, table: str) -> int:
        known = ("quarantine", "identities", "entities", "calls", "identity_conflicts")
        if table not in (*known, "merges_pending", "trait_problems"):
            raise ValueError(table)
        return int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def close(self) -> None:
        self.db.close()
