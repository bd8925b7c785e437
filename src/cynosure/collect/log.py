"""The durable event log: append-only segment files of length + CRC framed records.

Every accepted event is one record: `<u32 length><u32 crc32(payload)><payload>`, the payload
being the event as JSON. Records are appended by one writer and fsynced in groups (see
`commit.py`); a reader (the loader) reads up to the last fsynced position only. Segment files
are named by a sequence number and rolled at `segment_bytes`.

Recovery: on opening, every segment is scanned. A record whose header is cut short, whose
length is absurd or whose CRC does not match ends the valid part of a segment; in the last
segment that is a torn write (the process died mid-append) and the tail is truncated away.
Nothing before it is touched, so every acknowledged (fsynced) record survives.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HEADER = struct.Struct("<II")
MAGIC = b"CYNLOG1\n"
MAX_RECORD = 1 << 20  # far above the 32 KB event limit: a longer length means a torn header
SUFFIX = ".seg"

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


def _segment_name(number: int) -> str:
    return f"{number:010d}{SUFFIX}"


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
        if not self.directory.exists():
            return []
        numbers = []
        for path in self.directory.iterdir():
            if path.suffix == SUFFIX and path.stem.isdigit():
                numbers.append(int(path.stem))
        return sorted(numbers)

    def path(self, number: int) -> Path:
        return self.directory / _segment_name(number)

    def recover(self) -> tuple[Recovery, Iterator[bytes]]:
        """Open for appending after scanning every segment; truncate a torn tail.

        Returns what was found and the payloads of every valid record, in order (consumed by
        the caller to rebuild its indexes; the truncation happens before it is returned).
        """
        self.directory.mkdir(parents=True, exist_ok=True)
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
        self._fsync_directory()
        self._switch(handle, number, len(MAGIC))

    def _open(self, number: int) -> None:
        handle = os.open(self.path(number), os.O_WRONLY | os.O_APPEND)
        self._switch(handle, number, os.fstat(handle).st_size)

    def _switch(self, handle: int, number: int, size: int) -> None:
        if self._handle is not None:
            os.close(self._handle)
        self._handle, self._current, self._size = handle, number, size
        self.durable = Position(number, size)

    def _fsync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

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

    def drop_before(self, position: Position) -> int:
        """Delete whole segments that end before `position` (loaded and out of the dedup
        window); returns how many."""
        dropped = 0
        for number in self.segments():
            if number < position.segment and number != self._current:
                self.path(number).unlink(missing_ok=True)
                dropped += 1
        return dropped

    def close(self) -> None:
        if self._handle is not None:
            os.close(self._handle)
            self._handle = None
