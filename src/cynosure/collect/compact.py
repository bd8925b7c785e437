"""Compaction: the loader's small Parquet part files merged into larger ones.

The loader writes one part file per load (`collected-<segment>-<offset>.parquet`, named by the
log position its records start at), so a collector running for weeks leaves thousands of
small files and every scan pays for opening them. Compaction merges runs of consecutive small
part files into one file named by the first and last position it holds
(`collected-<segment>-<offset>-<segment>-<offset>.parquet`). Only the collector's own
`collected-*` files are touched; the user's files and `readmitted-*` files never are.

Not racing the loader: only part files whose records lie below the loader's committed
high-water mark are merged. The loader never writes below the mark (a load replayed after a
crash rewrites the file that starts *at* the mark), so inputs are never rewritten under the
compactor. Two compactions (the collector's background loop and `cynosure collect
--compact`) take turns on a lock file.

Crash safety: each merge is

1. write the merged rows to a hidden temporary file in the events directory, fsync;
2. write a journal (`collect/compact.journal`: output, temporary file, inputs), fsync;
3. rename the temporary file to its final name, fsync the directory;
4. delete the inputs, fsync the directory;
5. delete the journal.

Recovery (before every compaction, under the lock): with a journal whose output exists, the
merge happened: delete the inputs still there. With a journal whose output does not exist,
it did not: delete the temporary file, keep the inputs. Either way delete the journal, and
any temporary file left without one. A kill at any point therefore leaves every row in
exactly one file once recovery has run. A reader that lists the files between steps 3 and
4 sees both copies (milliseconds); the rollup's next refresh finds the inputs gone and
recomputes those days, so it heals by itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from cynosure.collect.loader import FilesSink, make_sink
from cynosure.collect.log import Position, fsync_directory, write_durably
from cynosure.collect.state import State, state_path
from cynosure.errors import OptionError
from cynosure.project.load import Spec

logger = logging.getLogger("cynosure.collect")
PART = re.compile(r"^collected-(\d{10})-(\d{12})(?:-(\d{10})-(\d{12}))?\.parquet$")
TEMP_PREFIX = ".compacting-"
JOURNAL = "compact.journal"
LOCK = "compact.lock"
SMALL_BYTES = 32 << 20  # a part file smaller than this is merged with its neighbours
TARGET_BYTES = 128 << 20  # a merged file takes inputs up to this much
MIN_FILES = 64  # the background loop compacts once this many small files wait
ROW_GROUP_ROWS = 262_144


@dataclass(frozen=True)
class Part:
    """One collected part file: the log positions of the first and last load it holds."""

    path: Path
    first: Position
    last: Position
    size: int


@dataclass
class CompactStats:
    """What one compaction did."""

    files_before: int = 0
    files_after: int = 0
    inputs: int = 0  # part files merged
    outputs: int = 0  # merged files written
    rows: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    recovered: int = 0  # interrupted merges finished or undone first
    seconds: float = 0.0
    skipped: bool = False  # another compaction held the lock


def merged_name(first: Position, last: Position) -> str:
    return (
        f"collected-{first.segment:010d}-{first.offset:012d}-"
        f"{last.segment:010d}-{last.offset:012d}.parquet"
    )


def list_parts(directory: Path) -> list[Part]:
    """The collected part files in `directory`, in log order."""
    found = []
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return []
    for entry in entries:
        match = PART.match(entry.name)
        if match is None or not entry.is_file():
            continue
        first = Position(int(match[1]), int(match[2]))
        last = Position(int(match[3]), int(match[4])) if match[3] else first
        try:
            size = entry.stat().st_size
        except FileNotFoundError:
            continue  # merged away since it was listed
        found.append(Part(Path(entry.path), first, last, size))
    return sorted(found, key=lambda p: (p.first, p.last))


class Merge:
    """One merge of consecutive part files, step by step (see the module docstring)."""

    def __init__(self, directory: Path, work_dir: Path, inputs: list[Part]):
        if len(inputs) < 2:
            raise ValueError("a merge takes at least two part files")
        self.directory = directory
        self.work_dir = work_dir
        self.inputs = inputs
        self.output = directory / merged_name(inputs[0].first, inputs[-1].last)
        self.temp: Path | None = None
        self.rows = 0

    def write(self) -> None:
        """Step 1: the inputs' rows, in log order, in a temporary file, fsynced."""
        fd, name = tempfile.mkstemp(dir=self.directory, prefix=TEMP_PREFIX, suffix=".tmp")
        os.close(fd)
        self.temp = Path(name)
        schema = pq.read_schema(self.inputs[0].path)
        pending: list[pa.Table] = []
        buffered = 0
        with pq.ParquetWriter(name, schema, compression="zstd") as writer:
            for part in self.inputs:
                table = pq.read_table(part.path, schema=schema)
                pending.append(table)
                buffered += table.num_rows
                self.rows += table.num_rows
                if buffered >= ROW_GROUP_ROWS:
                    writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)
                    pending, buffered = [], 0
            if pending:
                writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)
        with open(name, "rb") as handle:
            os.fsync(handle.fileno())

    def journal(self) -> None:
        """Step 2: record the merge, so that recovery can finish or undo it."""
        assert self.temp is not None, "write() comes first"
        record = {
            "output": self.output.name,
            "temp": self.temp.name,
            "inputs": [p.path.name for p in self.inputs],
        }
        write_durably(self.work_dir / JOURNAL, orjson.dumps(record))

    def publish(self) -> None:
        """Step 3: the merged file under its final name (the merge has happened)."""
        assert self.temp is not None, "write() comes first"
        os.replace(self.temp, self.output)
        fsync_directory(self.directory)

    def remove_inputs(self) -> None:
        """Step 4: the inputs go."""
        for part in self.inputs:
            part.path.unlink(missing_ok=True)
        fsync_directory(self.directory)

    def finish(self) -> None:
        """Step 5: the journal goes."""
        (self.work_dir / JOURNAL).unlink(missing_ok=True)
        fsync_directory(self.work_dir)

    def run(self) -> None:
        self.write()
        self.journal()
        self.publish()
        self.remove_inputs()
        self.finish()


class Compactor:
    """Compaction of the part files in one events directory.

    Args:
        directory: Where the loader writes its part files (the events glob's directory).
        work_dir: The collector's directory (`.cynosure/collect/`): the journal and the lock.
        hwm: Reads the loader's committed high-water mark (None: nothing loaded yet).
        small_bytes: Part files under this size are merged.
        target_bytes: A merged file takes inputs up to this total size.
        min_files: How many small part files make `due()` true.
    """

    def __init__(
        self,
        directory: Path,
        work_dir: Path,
        hwm: Callable[[], Position | None],
        *,
        small_bytes: int = SMALL_BYTES,
        target_bytes: int = TARGET_BYTES,
        min_files: int = MIN_FILES,
    ):
        self.directory = directory
        self.work_dir = work_dir
        self.hwm = hwm
        self.small_bytes = small_bytes
        self.target_bytes = target_bytes
        self.min_files = min_files
        self.halt = threading.Event()  # set: stop after the merge in progress

    def due(self) -> bool:
        """Whether `min_files` small, loaded part files wait (a directory listing)."""
        parts = list_parts(self.directory)
        if len(parts) < self.min_files:
            return False
        hwm = self.hwm()
        small = [p for p in parts if hwm is not None and p.last < hwm and p.size < self.small_bytes]
        return len(small) >= self.min_files

    def plan(self, hwm: Position | None) -> list[list[Part]]:
        """Runs of consecutive small, loaded part files of one schema to merge (two or more
        each, up to `target_bytes`)."""
        runs: list[list[Part]] = []
        run: list[Part] = []
        size = 0
        schema: pa.Schema | None = None
        if hwm is None:
            return []  # nothing loaded yet
        for part in list_parts(self.directory):
            if not part.last < hwm:
                break  # this load may be replayed: it and everything after stay
            if part.size >= self.small_bytes:
                runs.append(run)
                run, size, schema = [], 0, None
                continue
            this = pq.read_schema(part.path)
            fits = size + part.size <= self.target_bytes
            if run and (not fits or schema is None or not this.equals(schema)):
                runs.append(run)
                run, size = [], 0
            run.append(part)
            size += part.size
            schema = this
        runs.append(run)
        return [r for r in runs if len(r) >= 2]

    @contextlib.contextmanager
    def locked(self, *, wait: bool) -> Iterator[bool]:
        """Hold the compaction lock (yields False when `wait` is off and it is taken)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with open(self.work_dir / LOCK, "a+b") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def interrupted(self) -> bool:
        """Whether a merge was left unfinished (its journal is still there)."""
        return (self.work_dir / JOURNAL).exists()

    def recover(self) -> int:
        """Finish or undo a merge a crash interrupted; delete stray temporary files. Call
        with the lock held. Returns how many merges it settled."""
        settled = 0
        journal = self.work_dir / JOURNAL
        if journal.exists():
            record = orjson.loads(journal.read_bytes())
            output = record["output"]
            if (self.directory / output).exists():
                for name in record["inputs"]:
                    (self.directory / name).unlink(missing_ok=True)
                logger.warning("compaction: finished an interrupted merge into %s", output)
            else:
                logger.warning("compaction: undid an interrupted merge into %s", output)
            fsync_directory(self.directory)
            journal.unlink()
            fsync_directory(self.work_dir)
            settled += 1
        if self.directory.exists():
            for stray in self.directory.glob(TEMP_PREFIX + "*.tmp"):
                stray.unlink(missing_ok=True)
        return settled

    def run(self, *, wait: bool = True) -> CompactStats:
        """Recover, then merge every run of small loaded part files."""
        began = time.perf_counter()
        stats = CompactStats()
        with self.locked(wait=wait) as held:
            if not held:
                stats.skipped = True
                return stats
            stats.recovered = self.recover()
            before = list_parts(self.directory)
            stats.files_before = len(before)
            stats.bytes_before = sum(p.size for p in before)
            for inputs in self.plan(self.hwm()):
                if self.halt.is_set():
                    break
                merge = Merge(self.directory, self.work_dir, inputs)
                merge.run()
                stats.inputs += len(inputs)
                stats.outputs += 1
                stats.rows += merge.rows
            after = list_parts(self.directory)
            stats.files_after = len(after)
            stats.bytes_after = sum(p.size for p in after)
        stats.seconds = time.perf_counter() - began
        if stats.inputs:
            logger.info(
                "compaction: %d part files merged into %d (%d rows) in %.1f s",
                stats.inputs,
                stats.outputs,
                stats.rows,
                stats.seconds,
            )
        return stats


def compactor_for(spec: Spec, collect_dir: Path, **options: int) -> Compactor:
    """The compactor of a project whose events are Parquet files; reads the loader's
    high-water mark the way the loader does (the state database)."""
    sink = make_sink(spec)
    if not isinstance(sink, FilesSink):
        raise OptionError(
            f"events.source '{spec.model.events.source}' is a table: the collector inserts rows "
            "there and writes no part files, so there is nothing to compact"
        )

    def hwm() -> Position | None:
        state = State(state_path(collect_dir))
        try:
            return sink.hwm(state)
        finally:
            state.close()

    return Compactor(sink.directory, collect_dir, hwm, **options)
