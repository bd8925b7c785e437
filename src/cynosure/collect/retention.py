"""Log retention: which segments and id indexes the collector may delete, and when.

Two rules bound the log's disk use and the dedup set's memory:

1. A *sealed* segment (not the one being appended to, so fsynced whole) whose every record
   lies below the loader's high-water mark is loaded: its messageIds are first kept in an id
   index (`<number>.ids`, fsynced), then the segment is deleted.
2. An id index whose segment is gone and whose last record is older than the dedup window
   is deleted, and its ids leave the dedup set.

So the dedup set holds the ids of the segments on disk (loaded or not) and of the indexes in
the window, and a restart rebuilds exactly that. Every step is durable before the next, so a
kill at any moment leaves the ids of each record in its segment, in its index, or in both;
an unloaded or unfsynced record is never deleted.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from cynosure.collect.log import Position, SegmentLog
from cynosure.errors import OptionError

logger = logging.getLogger("cynosure.collect")
DEFAULT_WINDOW_S = 24 * 3600.0  # Segment deduplicates messageIds within about a day
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_window(text: str) -> float | None:
    """`"24h"` -> 86400.0; `"90m"`, `"3600s"`, `"3600"`, `"7d"`; `"forever"` -> None (keep
    every segment and id: no retention)."""
    if text.strip().lower() == "forever":
        return None
    match = _DURATION.match(text)
    if match is None:
        raise OptionError(
            f"the dedup window must be a duration like 24h, 90m, 3600s or 7d, or 'forever'; "
            f"got '{text}'"
        )
    seconds = float(match[1]) * UNITS[match[2] or "s"]
    if not math.isfinite(seconds):
        raise OptionError(f"the dedup window '{text}' is too long; use 'forever'")
    return seconds


@dataclass
class RetentionStats:
    """What one retention pass did."""

    segments_deleted: int = 0
    indexes_deleted: int = 0
    forgotten: list[str] = field(default_factory=list)  # ids now out of the dedup window


class Retention:
    """The retention policy of one log; driven by the collector, the log's only writer.

    Args:
        log: The log (opened by `recover()` in this process).
        window: The dedup window in seconds; None keeps everything.
    """

    def __init__(self, log: SegmentLog, window: float | None = DEFAULT_WINDOW_S):
        self.log = log
        self.window = window
        self._times: dict[int, float] = {}  # index -> its last record's time, read once

    def _time(self, number: int) -> float | None:
        if number not in self._times:
            found = self.log.index_time(number)
            if found is None:
                return None
            self._times[number] = found
        return self._times[number]

    def sealed(self) -> list[int]:
        """Segments that no longer grow (candidates for deletion once loaded)."""
        return [n for n in self.log.segments() if n < self.log.current]

    def remembered_ids(self, now: float) -> Iterator[str]:
        """The ids of the indexes still in the window whose segments are gone: with the
        records of the segments on disk, the dedup set after a restart."""
        on_disk = set(self.log.segments())
        for number in self.log.indexes():
            if number in on_disk or self._expired(number, now):
                continue
            index = self.log.read_index(number)
            if index is not None:
                yield from index.ids

    def _expired(self, number: int, now: float) -> bool:
        last = self._time(number)
        return self.window is not None and last is not None and last < now - self.window

    def run(self, hwm: Position | None, now: float) -> RetentionStats:
        """One pass: index and delete loaded sealed segments, delete indexes out of the window.

        Args:
            hwm: The loader's high-water mark as committed (None: nothing loaded yet).
            now: The current time (unix seconds).
        """
        stats = RetentionStats()
        if self.window is None:
            return stats
        loaded = []
        if hwm is not None:
            for number in self.sealed():
                if Position(number, self.log.path(number).stat().st_size) > hwm:
                    break  # not loaded yet, nor anything after it
                loaded.append(number)
        if loaded:
            for number in loaded:
                self._times[number] = self.log.write_index(number).last_write
            self.log.sync_directory()  # every index durable before any segment goes
            for number in loaded:
                self.log.delete_segment(number)
            self.log.sync_directory()
            stats.segments_deleted = len(loaded)
        on_disk = set(self.log.segments())
        expired = [n for n in self.log.indexes() if n not in on_disk and self._expired(n, now)]
        for number in expired:
            index = self.log.read_index(number)
            if index is not None:
                stats.forgotten.extend(index.ids)
            self.log.delete_index(number)
            self._times.pop(number, None)
        if expired:
            self.log.sync_directory()  # gone from disk before the ids leave the set
            stats.indexes_deleted = len(expired)
        if stats.segments_deleted or stats.indexes_deleted:
            logger.info(
                "retention: %d loaded segments deleted, %d id indexes out of the window",
                stats.segments_deleted,
                stats.indexes_deleted,
            )
        return stats

    def needs_hwm(self) -> bool:
        """Whether a pass could delete a segment (so the high-water mark is worth reading:
        for a table sink it is in the warehouse)."""
        return self.window is not None and bool(self.sealed())
