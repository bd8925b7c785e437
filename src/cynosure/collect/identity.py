"""Who is who: anonymousIds and userIds merged into one person, and the merges still to apply
to events already loaded.

The rule (Segment's and Amplitude's conventions, made deterministic):

* `identify(userId=U, anonymousId=A)` merges A into U; `alias(previousId=P, userId=U)` merges
  P into U; a `group` call carrying both ids links them like an identify.
* Merges form a forest: each id is merged into at most one other id, and an event's entity is
  the root of its id (`A -> U1 -> U2` puts A's and U1's events on U2). So chains work: an
  anonymous id identified as U1, then `alias(previousId=U1, userId=U2)`, lands on U2.
* **The first merge of an id wins.** An id already merged into someone is not moved by a later,
  conflicting call (a second person signing in on a shared browser, or an alias that would
  re-home an id): the call is kept in `identity_conflicts` with both candidates, never applied
  silently, and the loader counts it. A merge that would make a cycle (the two ids already
  resolve to the same person) changes nothing and is no conflict, so replaying a load after a
  crash finds nothing new.
* Every loaded event carries the root of its id as it was at load time. When a root is merged
  into someone, it is put on the `merges_pending` list in the same SQLite transaction; the
  sink then rewrites the events whose entity is that id to its root as it is *then* (an
  idempotent UPDATE or file rewrite), and only after that is the id taken off the list. A
  crash in between leaves it on the list and the next load applies it again, harmlessly.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable

MAX_DEPTH = 64  # a chain longer than this is a corrupt state; stop following it


class IdentityGraph:
    """The merges recorded in the state database (`identities`: id -> the id it merged into)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def parent(self, identity: str) -> str | None:
        row = self.db.execute(
            "SELECT user_id FROM identities WHERE anonymous_id = ?", (identity,)
        ).fetchone()
        return None if row is None else str(row[0])

    def root(self, identity: str) -> str:
        """The id `identity` resolves to (itself when it was never merged)."""
        seen = identity
        for _ in range(MAX_DEPTH):
            parent = self.parent(seen)
            if parent is None or parent == seen:
                return seen
            seen = parent
        return seen

    def roots(self, identities: Iterable[str]) -> dict[str, str]:
        """The root of each id that was merged into someone (ids never merged are left out)."""
        current = {i: i for i in set(identities) if i}
        resolved: dict[str, str] = {}
        for _ in range(MAX_DEPTH):
            parents = self._parents(set(current.values()))
            if not parents:
                break
            moved = {}
            for origin, at in current.items():
                if at in parents:
                    moved[origin] = parents[at]
                    resolved[origin] = parents[at]
            current = moved
            if not current:
                break
        return resolved

    def _parents(self, ids: set[str]) -> dict[str, str]:
        wanted = list(ids)
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT anonymous_id, user_id FROM identities WHERE anonymous_id IN ({marks})"
            found.update(self.db.execute(query, chunk).fetchall())
        return found

    def merge(self, child: str, parent: str, message_id: str) -> bool:
        """Merge `child` into `parent` inside the caller's transaction; False for a conflict
        (recorded). Merging ids that are already one person changes nothing."""
        if self.root(child) == self.root(parent):
            return True
        existing = self.parent(child)
        if existing is not None:
            self.db.execute(
                "INSERT OR IGNORE INTO identity_conflicts VALUES (?, ?, ?, ?, ?)",
                (message_id, child, existing, parent, time.time()),
            )
            return False
        self.db.execute(
            "INSERT INTO identities VALUES (?, ?, ?)", (child, parent, int(time.time()))
        )
        self.db.execute("INSERT OR IGNORE INTO merges_pending VALUES (?, ?)", (child, time.time()))
        return True

    def pending(self) -> dict[str, str]:
        """Ids merged since the events were last re-attributed -> their root now."""
        ids = [str(r[0]) for r in self.db.execute("SELECT id FROM merges_pending").fetchall()]
        roots = self.roots(ids)
        return {i: roots[i] for i in ids if i in roots and roots[i] != i}

    def applied(self, ids: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM merges_pending WHERE id = ?", [(i,) for i in ids])
