"""The durable event log: append-only segment files of length + CRC framed records.

Every accepted event is one record: `<u32 length><u32 crc32(payload)><payload>`, the payload
being the event as JSON. Records are appended by one writer and fsynced in groups (see
`commit.py`); a reader (the loader) reads up to the last fsynced position only. Segment files
are named by a sequence number and rolled at `segment_bytes`.

Recovery: on opening, every segment is scanned. A record whose header is cut short, whose
length is absurd or whose CRC does not match ends the valid part of a segment; in the last
segment that is a torn write (the process died mid-append) and the tail is truncated away.
Nothing before it is touched, so every acknowledged (fsynced) record survives.

Id indexes: before a loaded segment is deleted (see `retention.py`), the messageIds it holds
are kept in `<number>.ids` beside it (written whole, fsynced, renamed), with the time of its
last record, so that deduplication outlives the segment for the dedup window.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

HEADER = struct.Struct("<II")
MAGIC = b"CYNLOG1\n"
MAX_RECORD = 1 << 20  # far above the 32 KB event limit: a longer length means a torn header
SUFFIX = ".seg"
IDS_SUFFIX = ".ids"
IDS_MAGIC = b"CYNIDS1\n"
IDS_HEADER = struct.Struct("<dII")  # last record's time (unix s), id count, crc32 of the body

logger = logging.getLogger("cynosure.collect")


@dataclass(frozen=True, order=True)
class Position:
    """A place in the log: a segment number and a byte offset in it."""

    segment: int
    offset: int

    def text(self) -> str:
        return f"{self.segment}:{self.offset}"

    @classmethod
    def parse(cls, text: str) -> Position:
        segment, offset = text.split(":")
        return cls(int(segment), int(offset))


def frame(payload: bytes) -> bytes:
    """One record, ready to append."""
    return HEADER.pack(len(payload), zlib.crc32(payload)) + payload


@dataclass
class Recovery:
    """What opening the log found."""

    segments: int = 0
    records: int = 0
    truncated_bytes: int = 0


@dataclass(frozen=True)
class IdIndex:
    """The messageIds of one segment and the time of its last record (unix seconds)."""

    segment: int
    last_write: float
    ids: list[str]


def _segment_name(number: int) -> str:
    return f"{number:010d}{SUFFIX}"


def fsync_directory(directory: Path) -> None:
    """Make renames and deletions in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes, *, sync_directory: bool = True) -> None:
    """Write `data` to a temporary file beside `path`, fsync it and rename it into place:
    a reader sees the old file or all of the new one. `sync_directory` also makes the rename
    durable (a caller writing many files fsyncs the directory once instead)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    if sync_directory:
        fsync_directory(path.parent)


def _read_records(data: bytes, start: int) -> Iterator[tuple[int, bytes]]:
    """(offset after the record, payload) for each valid record from `start`; stops at the
    first invalid one."""
    offset, end = start, len(data)
    while offset + HEADER.size <= end:
        length, crc = HEADER.unpack_from(data, offset)
        body_start = offset + HEADER.size
        if length > MAX_RECORD or body_start + length > end:
            return
        payload = data[body_start : body_start + length]
        if zlib.crc32(payload) != crc:
            return
        offset = body_start + length
        yield offset, payload


class SegmentLog:
    """The log in one directory: recovery, appends (one writer) and reads (any thread)."""

    def __init__(self, directory: Path, segment_bytes: int = 64 << 20):
        self.directory = directory
        self.segment_bytes = segment_bytes
        self._handle: int | None = None
        self._current = 0
        self._size = 0
        self.durable = Position(1, len(MAGIC))

    def segments(self) -> list[int]:
        """The segment numbers on disk, in order."""
        return self._numbers(SUFFIX)

    def _numbers(self, suffix: str) -> list[int]:
        if not self.directory.exists():
            return []
        found = (p.stem for p in self.directory.iterdir() if p.suffix == suffix)
        return sorted(int(stem) for stem in found if stem.isdigit())

    def path(self, number: int) -> Path:
        return self.directory / _segment_name(number)

    @property
    def current(self) -> int:
        """The segment being appended to; every earlier one is sealed and fsynced whole."""
        return self._current

    def recover(self) -> tuple[Recovery, Iterator[bytes]]:
        """Open for appending after scanning every segment; truncate a torn tail.

        Returns what was found and the payloads of every valid record, in order (consumed by
        the caller to rebuild its indexes; the truncation happens before it is returned).
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        for stale in self.directory.glob(f".*{IDS_SUFFIX}-*.tmp"):  # an index write cut short
            stale.unlink(missing_ok=True)
        numbers = self.segments()
        found = Recovery(segments=len(numbers))
        payloads: list[bytes] = []
        for index, number in enumerate(numbers):
            path = self.path(number)
            data = path.read_bytes()
            if not data.startswith(MAGIC):
                # A segment created but never given its header: empty by construction.
                valid_end, records = len(MAGIC), []
                data = MAGIC if len(data) < len(MAGIC) else data
            else:
                records = list(_read_records(data, len(MAGIC)))
                valid_end = records[-1][0] if records else len(MAGIC)
            payloads.extend(p for _, p in records)
            found.records += len(records)
            if valid_end < len(data) or not data.startswith(MAGIC):
                found.truncated_bytes += max(0, len(data) - valid_end)
                last = index == len(numbers) - 1
                logger.warning(
                    "log segment %s: %d invalid bytes after offset %d %s",
                    path.name,
                    len(data) - valid_end,
                    valid_end,
                    "(a torn write: truncated)" if last else "(corruption: truncated)",
                )
                with open(path, "r+b") as handle:
                    if not data.startswith(MAGIC):
                        handle.write(MAGIC)
                    handle.truncate(valid_end)
                    handle.flush()
                    os.fsync(handle.fileno())
        if numbers:
            self._open(numbers[-1])
        else:
            self._create(1)
        return found, iter(payloads)

    def _create(self, number: int) -> None:
        path = self.path(number)
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.write(handle, MAGIC)
        os.fsync(handle)
        self.sync_directory()
        self._switch(handle, number, len(MAGIC))

    def _open(self, number: int) -> None:
        handle = os.open(self.path(number), os.O_WRONLY | os.O_APPEND)
        self._switch(handle, number, os.fstat(handle).st_size)

    def _switch(self, handle: int, number: int, size: int) -> None:
        if self._handle is not None:
            os.close(self._handle)
        self._handle, self._current, self._size = handle, number, size
        self.durable = Position(number, size)

    def sync_directory(self) -> None:
        """Make the index writes and deletions so far durable (one fsync for many)."""
        fsync_directory(self.directory)

    def write_durable(self, data: bytes) -> Position:
        """Append whole records and fsync; returns the new durable end. One writer only."""
        assert self._handle is not None, "recover() opens the log"
        if data:
            try:
                view = memoryview(data)
                while view:
                    written = os.write(self._handle, view)
                    view = view[written:]
                os.fsync(self._handle)
            except OSError:
                # Cut what was half written, or later records would sit behind garbage.
                os.ftruncate(self._handle, self._size)
                raise
            self._size += len(data)
        self.durable = Position(self._current, self._size)
        if self._size >= self.segment_bytes:
            self._create(self._current + 1)
        return self.durable

    def read(self, start: Position, end: Position) -> Iterator[tuple[Position, bytes]]:
        """Records from `start` up to `end` (a durable position), with the position after
        each."""
        for number in self.segments():
            if number < start.segment or number > end.segment:
                continue
            first = max(start.offset if number == start.segment else 0, len(MAGIC))
            with open(self.path(number), "rb") as handle:
                # Only the part asked for: the loader reads a growing segment many times.
                handle.seek(first)
                if number != end.segment:
                    data = handle.read()
                else:
                    data = handle.read(max(0, end.offset - first))
            for after, payload in _read_records(data, 0):
                yield Position(number, first + after), payload

    # -- id indexes and deletion (driven by retention.py) ------------------------------------

    def ids_path(self, number: int) -> Path:
        return self.directory / f"{number:010d}{IDS_SUFFIX}"

    def indexes(self) -> list[int]:
        """The segment numbers that have an id index, in order."""
        return self._numbers(IDS_SUFFIX)

    def write_index(self, number: int) -> IdIndex:
        """Keep the messageIds of sealed segment `number` in its id index (whole, fsynced,
        renamed into place); returns it. An index already written is read, not rewritten.
        The rename is durable only after `sync_directory()` (one fsync for many)."""
        if number >= self._current:
            raise ValueError(f"segment {number} is still being written")
        existing = self.read_index(number)
        if existing is not None:
            return existing
        ids: list[str] = []
        last_us = 0
        for _, payload in self.read(Position(number, 0), Position(number + 1, 0)):
            message = orjson.loads(payload)
            ids.append(message["messageId"])
            last_us = max(last_us, int(message.get("receivedAt") or 0))
        last = last_us / 1e6 if last_us else self.path(number).stat().st_mtime
        body = zlib.compress(orjson.dumps(ids), 6)
        data = IDS_MAGIC + IDS_HEADER.pack(last, len(ids), zlib.crc32(body)) + body
        write_durably(self.ids_path(number), data, sync_directory=False)
        return IdIndex(number, last, ids)

    def index_time(self, number: int) -> float | None:
        """The time of the last record of segment `number`, from its id index (the header
        only); None when it has no readable index."""
        try:
            with open(self.ids_path(number), "rb") as handle:
                head = handle.read(len(IDS_MAGIC) + IDS_HEADER.size)
        except FileNotFoundError:
            return None
        if len(head) != len(IDS_MAGIC) + IDS_HEADER.size or not head.startswith(IDS_MAGIC):
            return None
        return float(IDS_HEADER.unpack_from(head, len(IDS_MAGIC))[0])

    def read_index(self, number: int) -> IdIndex | None:
        """The id index of segment `number`; None when there is none or it is damaged (a
        damaged one is reported: its ids can no longer be deduplicated against)."""
        try:
            data = self.ids_path(number).read_bytes()
        except FileNotFoundError:
            return None
        start = len(IDS_MAGIC) + IDS_HEADER.size
        if data.startswith(IDS_MAGIC) and len(data) >= start:
            last, count, crc = IDS_HEADER.unpack_from(data, len(IDS_MAGIC))
            body = data[start:]
            if zlib.crc32(body) == crc:
                ids = orjson.loads(zlib.decompress(body))
                if isinstance(ids, list) and len(ids) == count:
                    return IdIndex(number, float(last), [str(i) for i in ids])
        logger.warning("id index %s is damaged: ignored", self.ids_path(number).name)
        return None

    def delete_segment(self, number: int) -> None:
        """Delete a sealed segment. Its records must be loaded and its ids indexed durably:
        the caller (retention) sees to both, and to `sync_directory()` after."""
        if number >= self._current:
            raise ValueError(f"segment {number} is still being written")
        self.path(number).unlink(missing_ok=True)

    def delete_index(self, number: int) -> None:
        """Delete the id index of a segment (its ids are out of the dedup window); durable
        after `sync_directory()`."""
        self.ids_path(number).unlink(missing_ok=True)

    def close(self) -> None:
        if self._handle is not None:
            os.close(self._handle)
            self._handle = None
