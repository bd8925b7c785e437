"""Where the loader puts events, and what every sink shares; Parquet part files.

Every sink does three things exactly once per log position: append the new rows, re-attribute
the events of ids merged into someone since (see `identity.py`), and move the high-water mark.

`FilesSink` writes a part file `collected-<segment>-<offset>.parquet` beside the events glob,
named by the log position its records start at and written whole then renamed, so a repeated
load replaces it. Re-attribution rewrites, whole and atomically, only the collector's own part
files (`collected-*`, `readmitted-*`) that hold a merged id; the user's files are never
touched. The mark lives in the state database, moved after the files. Warehouse tables are in
`tables.py`.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cynosure.collect.log import Position, fsync_directory
from cynosure.collect.state import State
from cynosure.errors import DataError
from cynosure.project.load import Spec

OWNED_PREFIXES = ("collected-", "readmitted-")  # part files the collector wrote and may rewrite
ENTITIES_FILE = "collected-entities.parquet"  # written by entities.py, never re-attributed


class SimulatedCrash(RuntimeError):
    """Raised at a named point when a test asks the loader to stop there (`Loader.fault`)."""


class Sink:
    """What every sink shares: the entity column and the crash hook for tests."""

    kind = ""

    def __init__(self, entity: str):
        self.entity = entity
        self.fault: str | None = None

    def checkpoint(self, point: str) -> None:
        if self.fault == point:
            raise SimulatedCrash(point)

    def hwm(self, state: State) -> Position | None:
        raise NotImplementedError

    def write(
        self, rows: pa.Table, start: Position, end: Position, state: State, merges: dict[str, str]
    ) -> int:
        """Append `rows`, re-attribute `merges` (old id -> person), move the mark to `end`;
        returns the number of events re-attributed."""
        raise NotImplementedError

    def readmit(self, rows: pa.Table, state: State) -> int:
        """Append re-admitted rows whose message_id was not re-admitted before; returns how
        many were appended."""
        raise NotImplementedError


def write_parquet(table: pa.Table, path: Path, *, later_than_ns: int | None = None) -> None:
    """Write whole, fsync, then rename into place: readers see all of it or nothing.

    `later_than_ns`: the modification time of the file being replaced; the new one is made
    later, so a refresh that compares (size, mtime) sees the rewrite even within one tick of
    the file system's clock.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".collected-", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        if later_than_ns is not None:
            mtime = max(os.stat(tmp).st_mtime_ns, later_than_ns + 1_000)
            os.utime(tmp, ns=(mtime, mtime))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    fsync_directory(path.parent)


def replace_entities(table: pa.Table, column: str, merges: dict[str, str]) -> pa.Table:
    """`table` with each merged id in `column` replaced by its person."""
    index = table.schema.get_field_index(column)
    values = table.column(index).to_pylist()
    mapped = pa.array([merges.get(v, v) if v is not None else None for v in values], pa.string())
    if table.schema.field(index).type != pa.string():
        mapped = mapped.cast(table.schema.field(index).type)
    return table.set_column(index, table.schema.field(index), mapped)


class FilesSink(Sink):
    """Parquet part files in the directory of the events glob."""

    kind = "files"

    def __init__(self, directory: Path, entity: str = "user_id"):
        super().__init__(entity)
        self.directory = directory
        self.lock_path: Path | None = None  # the compaction lock, set by the loader

    def hwm(self, state: State) -> Position | None:
        text = state.get("hwm")
        return None if text is None else Position.parse(text)

    def owned(self, prefixes: tuple[str, ...] = OWNED_PREFIXES) -> list[Path]:
        """The collector's own part files, oldest name first."""
        if not self.directory.is_dir():
            return []
        found = [
            p
            for p in self.directory.iterdir()
            if p.name.startswith(prefixes)
            and p.suffix == ".parquet"
            and p.name != ENTITIES_FILE
            and p.is_file()
        ]
        return sorted(found)

    def write(
        self, rows: pa.Table, start: Position, end: Position, state: State, merges: dict[str, str]
    ) -> int:
        path = self.directory / f"collected-{start.segment:010d}-{start.offset:012d}.parquet"
        if rows.num_rows:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_parquet(rows, path)
        elif path.exists():
            # Left by an attempt that crashed before its mark moved, when the plan then
            # changed so that this replay quarantines every row: the rows must not stay.
            path.unlink()
            fsync_directory(self.directory)
        self.checkpoint("after-insert")
        return self.reattribute(merges)

    def reattribute(self, merges: dict[str, str]) -> int:
        """Rewrite each owned part file holding a merged id (whole, atomically); files that
        hold none are not touched, so a repeat after a crash finishes what was left."""
        if not merges:
            return 0
        with self._compaction_lock():
            return self._reattribute(merges)

    @contextlib.contextmanager
    def _compaction_lock(self) -> Iterator[None]:
        """Compaction (`compact.py`) merges part files below the mark and takes turns on this
        lock; re-attribution rewrites files below the mark, so it holds the lock too."""
        if self.lock_path is None:
            yield
            return
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _reattribute(self, merges: dict[str, str]) -> int:
        wanted = pa.array(list(merges), pa.string())
        changed = 0
        for path in self.owned():
            try:
                ids = pq.read_table(path, columns=[self.entity]).column(0)
            except (OSError, KeyError, pa.ArrowInvalid):
                continue  # vanished (compacted) or without the column: nothing of ours to fix
            hits = int(pc.sum(pc.is_in(ids.cast(pa.string()), value_set=wanted)).as_py() or 0)
            if not hits:
                continue
            before = path.stat().st_mtime_ns
            table = replace_entities(pq.read_table(path), self.entity, merges)
            write_parquet(table, path, later_than_ns=before)
            changed += hits
            self.checkpoint("mid-rewrite")
        return changed

    def readmit(self, rows: pa.Table, state: State) -> int:
        done = set()
        for path in self.owned(("readmitted-",)):
            with contextlib.suppress(OSError, KeyError, pa.ArrowInvalid):
                done.update(pq.read_table(path, columns=["message_id"]).column(0).to_pylist())
        if done:
            keep = pc.invert(pc.is_in(rows.column("message_id"), pa.array(list(done))))
            rows = rows.filter(keep)
        if not rows.num_rows:
            return 0
        self.directory.mkdir(parents=True, exist_ok=True)
        # Named by its content: a re-run after a crash replaces it rather than adding a copy.
        digest = orjson.dumps(sorted(rows.column("message_id").to_pylist()))
        name = f"readmitted-{hashlib.sha256(digest).hexdigest()[:16]}.parquet"
        write_parquet(rows, self.directory / name)
        self.checkpoint("after-insert")
        return rows.num_rows


def source_directory(spec: Spec, text: str, what: str) -> Path:
    """Where part files go: the fixed directory part of a Parquet glob."""
    pattern = text if Path(text).is_absolute() else str(spec.base_dir / text)
    if not pattern.lower().endswith((".parquet", ".pq", "*")) or not glob.has_magic(pattern):
        raise DataError(
            f"the collector writes Parquet part files, so {what}.source must be a Parquet glob "
            f"or a table, not '{text}'",
            f"write it like data/{'events' if what == 'events' else 'users'}/*.parquet",
        )
    parts = Path(pattern).parts
    first = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    return Path(*parts[:first])


def events_directory(spec: Spec) -> Path:
    return source_directory(spec, spec.model.events.source, "events")
