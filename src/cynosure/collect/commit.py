"""Group commit: many requests, one fsync. A request is answered only after the fsync that
covers its events, and the fsync of one group overlaps the arrival of the next.

Deduplication happens here too: a messageId already in the log (or waiting to be written) is
not written again. A request whose events are all duplicates still waits for the next fsync,
so that its 200 never comes before the first copy is durable. The set holds the ids of the
segments on disk and of the id indexes in the dedup window; retention (`retention.py`)
removes ids with `forget` once their index is deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Iterable, Sequence

import orjson

from cynosure.collect.log import SegmentLog, frame
from cynosure.errors import OverloadedError


class Committer:
    """The single writer of a SegmentLog, driven by an asyncio task."""

    def __init__(self, log: SegmentLog, *, max_pending: int = 50_000):
        self.log = log
        self.max_pending = max_pending
        self.seen: set[str] = set()
        self._buffer = bytearray()
        self._waiters: list[asyncio.Future[None]] = []
        self._pending_events = 0
        self._pending_ids: list[str] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.acknowledged = 0
        self.deduplicated = 0
        self.last_event_at: float | None = None
        self.minutes: deque[tuple[int, int]] = deque(maxlen=60)

    def remember(self, payloads: Iterable[bytes]) -> int:
        """Rebuild the dedup set from recovered records; returns how many."""
        count = 0
        for payload in payloads:
            self.seen.add(orjson.loads(payload)["messageId"])
            count += 1
        return count

    def remember_ids(self, ids: Iterable[str]) -> int:
        """Add ids kept in id indexes (their segments are gone); returns how many."""
        before = len(self.seen)
        self.seen.update(ids)
        return len(self.seen) - before

    async def forget(self, ids: Sequence[str], chunk: int = 20_000) -> None:
        """Drop ids that left the dedup window, a chunk at a time so that requests waiting
        on the event loop are not held up by one long operation."""
        for first in range(0, len(ids), chunk):
            self.seen.difference_update(ids[first : first + chunk])
            await asyncio.sleep(0)

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="cynosure-collect-commit")

    async def stop(self) -> None:
        if self._task is not None:
            await self._drain()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _drain(self) -> None:
        while self._waiters:
            await asyncio.sleep(0.005)

    def overloaded(self, incoming: int) -> bool:
        return self._pending_events + incoming > self.max_pending

    async def submit(self, events: list[tuple[str, bytes]]) -> tuple[int, int]:
        """Write `events` (messageId, payload) durably; returns (written, duplicates)."""
        if self._wake is None:
            raise RuntimeError("the collector is not started")
        if self.overloaded(len(events)):
            raise OverloadedError(
                f"more than {self.max_pending:,} events are waiting to be written; retry shortly"
            )
        fresh: list[str] = []
        for message_id, payload in events:
            if message_id in self.seen:
                continue
            self.seen.add(message_id)
            fresh.append(message_id)
            self._buffer += frame(payload)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._pending_events += len(fresh)
        self._pending_ids.extend(fresh)
        self._wake.set()
        await waiter
        duplicates = len(events) - len(fresh)
        self.acknowledged += len(events)
        self.deduplicated += duplicates
        if events:
            now = time.time()
            self.last_event_at = now
            minute = int(now // 60)
            if self.minutes and self.minutes[-1][0] == minute:
                self.minutes[-1] = (minute, self.minutes[-1][1] + len(events))
            else:
                self.minutes.append((minute, len(events)))
        return len(fresh), duplicates

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            data, waiters, ids = bytes(self._buffer), self._waiters, self._pending_ids
            self._buffer, self._waiters, self._pending_ids = bytearray(), [], []
            self._pending_events = 0
            if not waiters:
                continue
            try:
                await asyncio.to_thread(self.log.write_durable, data)
            except Exception as exc:  # a disk error: nothing of this group is acknowledged
                self.seen.difference_update(ids)
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(exc)
                continue
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
