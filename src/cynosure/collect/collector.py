"""The collector: HTTP intake, durable log, background loader, and intake statistics."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from cynosure.collect.commit import Committer
from cynosure.collect.compact import MIN_FILES, Compactor, CompactStats
from cynosure.collect.facts import quarantine_counts
from cynosure.collect.keys import KeyStore
from cynosure.collect.loader import FilesSink, Loader, LoadStats, make_sink
from cynosure.collect.log import Position, SegmentLog
from cynosure.collect.retention import DEFAULT_WINDOW_S, Retention, RetentionStats
from cynosure.collect.state import State, state_path
from cynosure.project.load import Spec, read_spec

if TYPE_CHECKING:
    from fastapi import APIRouter

    from cynosure.api import Project

logger = logging.getLogger("cynosure.collect")
SWITCH_INTERVAL_S = 0.001


class IntakeStats(BaseModel):
    """What the collector has received, for the dashboard's Health page."""

    model_config = ConfigDict(frozen=True)

    received: int
    acknowledged: int
    deduplicated: int
    rejected: int
    quarantined: int
    loaded: int
    pending_load: int
    last_event_at: float | None
    per_minute: list[tuple[int, int]]  # (unix minute, events) for the last hour
    quarantine_reasons: dict[str, int]
    dedup_ids: int = 0  # messageIds deduplicated against (the log's and the window's)
    log_segments: int = 0  # segment files on disk


def state_dir_for(project_file: Path) -> Path:
    """The state directory of a project: `.cynosure/` beside its cynosure.yml."""
    path = Path(project_file)
    return (path if path.is_dir() else path.parent) / ".cynosure"


def collect_dir(state_dir: Path) -> Path:
    return state_dir / "collect"


def key_store(state_dir: Path) -> KeyStore:
    """The write keys of the project whose state directory is `state_dir`."""
    return KeyStore(collect_dir(state_dir) / "keys.json")


def parse_faults(text: str | None) -> dict[int, int]:
    """`"3:500,7:429"` -> {3: 500, 7: 429}: the test hook CYNOSURE_COLLECT_FAULTS."""
    faults: dict[int, int] = {}
    for item in (text or "").split(","):
        if item.strip():
            number, status = item.split(":")
            faults[int(number)] = int(status)
    return faults


class Collector:
    """A Segment-compatible collector for one project.

    Args:
        state_dir: The project's state directory (`.cynosure/` beside cynosure.yml); the
            collector keeps its keys, log and state database under `collect/` in it.
        project: The loaded project, when running inside `cynosure serve`; else the project
            file beside `state_dir` is read (its data need not exist yet).
        spec: The project definitions, when no project is given.
        load_interval: Seconds between loader runs (0: never load in the background); each
            run is followed by a retention pass and, when due, a compaction.
        max_pending: Events waiting for an fsync beyond which requests get 429.
        segment_bytes: Size at which a log segment is sealed and a new one begun.
        dedup_window: Seconds for which messageIds are deduplicated (default 24 h): loaded
            segments are deleted (their ids kept in an id index) and indexes older than
            this go. None keeps every segment and id (no retention).
        compact_files: How many small part files the background loop lets accumulate
            before it compacts them (None: never on its own; `compact()` still works).
        faults: Test hook: request number -> status to answer (5xx after the events are
            durable, 429 before anything is written). Also read from the environment
            variable CYNOSURE_COLLECT_FAULTS ("3:500,7:429").

    Example:
        >>> collector = Collector(Path(".cynosure"))
        >>> app.include_router(collector.router)  # and await start()/stop() in the lifespan
    """

    def __init__(
        self,
        state_dir: Path,
        project: Project | None = None,
        *,
        spec: Spec | None = None,
        load_interval: float = 2.0,
        max_pending: int = 50_000,
        segment_bytes: int = 64 << 20,
        dedup_window: float | None = DEFAULT_WINDOW_S,
        compact_files: int | None = MIN_FILES,
        faults: Mapping[int, int] | None = None,
    ):
        self.state_dir = Path(state_dir)
        self.directory = collect_dir(self.state_dir)
        self.keys = key_store(self.state_dir)
        self.log = SegmentLog(self.directory / "log", segment_bytes)
        self.committer = Committer(self.log, max_pending=max_pending)
        self.retention = Retention(self.log, dedup_window)
        self.load_interval = load_interval
        self.faults = dict(faults or parse_faults(os.environ.get("CYNOSURE_COLLECT_FAULTS")))
        self.requests = 0
        self.received = 0
        self.rejected = 0
        if spec is None and project is not None:
            spec = project.spec
        if spec is None:
            spec_file = self.state_dir.parent / "cynosure.yml"
            spec = read_spec(spec_file) if spec_file.exists() else None
        self.spec = spec
        self.loader: Loader | None = None
        self.compactor: Compactor | None = None
        self.compact_files = compact_files
        if spec is not None:
            sink = make_sink(spec)
            self.loader = Loader(spec, self.log, state_path(self.directory), sink)
            if isinstance(sink, FilesSink):
                self.compactor = Compactor(
                    sink.directory, self.directory, self._hwm, min_files=compact_files or 2
                )
        self._task: asyncio.Task[None] | None = None
        self._stopping: asyncio.Event | None = None
        self._load_lock = asyncio.Lock()
        self._last_load = LoadStats()
        from cynosure.collect.routes import build_router

        self.router: APIRouter = build_router(self)

    async def start(self) -> None:
        """Recover the log (truncating a torn tail), rebuild the dedup set, start the
        flusher and the loader."""
        found, payloads = await asyncio.to_thread(self.log.recover)
        known = await asyncio.to_thread(self.committer.remember, payloads)
        # Indexes already out of the window go before any id is remembered or accepted: were
        # one deleted later, its ids would be forgotten even where a new send of them (beyond
        # the window, so written again) must still count once.
        await asyncio.to_thread(self.retention.run, None, time.time())
        indexed = await asyncio.to_thread(
            self.committer.remember_ids, self.retention.remembered_ids(time.time())
        )
        if self.compactor is not None:
            await asyncio.to_thread(self._compact_recover)
        logger.info(
            "collector log: %d segments, %d events, %d more ids in the dedup window, "
            "%d bytes of torn tail removed",
            found.segments,
            known,
            indexed,
            found.truncated_bytes,
        )
        # Everything alive now (imports, the dedup set's container) lives as long as the
        # process: keep it out of the garbage collector's full passes, which hold the GIL
        # for as long as they take (~200 ms on a busy 2-core machine) and so stall requests.
        gc.collect()  # garbage now is not frozen with the rest
        gc.freeze()
        # The loader's thread shares the GIL with the event loop; hand it over every 1 ms
        # rather than 5 ms (the default) so that a load in progress delays requests less.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        self.committer.start()
        if self.compactor is not None:
            self.compactor.halt.clear()
        if self.loader is not None and self.load_interval > 0:
            self._stopping = asyncio.Event()
            self._task = asyncio.create_task(self._load_forever(), name="cynosure-collect-load")

    async def stop(self) -> None:
        """Finish pending writes, run the loader and retention once more, close the log."""
        await self.committer.stop()
        if self._task is not None and self._stopping is not None:
            # Let a load, retention pass or merge in progress finish: its thread cannot be
            # cancelled, and a second load beside it could move the mark backwards.
            self._stopping.set()
            if self.compactor is not None:
                self.compactor.halt.set()  # no further merge after the current one
            await self._task
            self._task = None
        if self.loader is not None:
            with contextlib.suppress(Exception):
                await self.load()
                await self.retain()
        self.log.close()

    async def load(self) -> LoadStats:
        """Run the loader now, up to the last durable record."""
        if self.loader is None:
            return LoadStats()
        async with self._load_lock:
            self._last_load = await asyncio.to_thread(self.loader.run, self.log.durable)
            return self._last_load

    def _hwm(self) -> Position | None:
        """The loader's committed high-water mark, read where the loader keeps it."""
        assert self.loader is not None
        state = State(self.loader.state_path)
        try:
            return self.loader.sink.hwm(state)
        finally:
            state.close()

    async def retain(self) -> RetentionStats:
        """Delete loaded segments and id indexes out of the dedup window (see
        `retention.py`); the ids of deleted indexes leave the dedup set."""
        if self.loader is None or self.retention.window is None:
            return RetentionStats()
        async with self._load_lock:  # the mark cannot move while segments are judged

            def one_pass() -> RetentionStats:
                hwm = self._hwm() if self.retention.needs_hwm() else None
                return self.retention.run(hwm, time.time())

            stats = await asyncio.to_thread(one_pass)
        await self.committer.forget(stats.forgotten)
        return stats

    async def compact(self, *, wait: bool = True) -> CompactStats:
        """Merge the small part files the loader has written (see `compact.py`)."""
        if self.compactor is None:
            return CompactStats()
        return await asyncio.to_thread(self.compactor.run, wait=wait)

    def _compact_recover(self) -> None:
        assert self.compactor is not None
        with self.compactor.locked(wait=False) as held:
            if held:
                self.compactor.recover()

    async def _load_forever(self) -> None:
        assert self._stopping is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.load_interval)
            if self._stopping.is_set():
                return
            try:
                await self.load()
            except Exception:  # the warehouse is busy or broken: events wait in the log
                logger.exception("loading collected events failed; retrying")
                continue
            try:
                await self.retain()
                if self.compactor is not None and self.compactor.interrupted():
                    # A `cynosure collect --compact` killed mid-merge: until settled, the
                    # merged file and its inputs would both be read.
                    await asyncio.to_thread(self._compact_recover)
                if (
                    self.compactor is not None
                    and self.compact_files
                    and not self._stopping.is_set()
                    and await asyncio.to_thread(self.compactor.due)
                ):
                    await self.compact(wait=False)
            except Exception:  # disk trouble: retried on the next round, nothing is lost
                logger.exception("log retention or compaction failed; retrying")

    def intake(self) -> IntakeStats:
        """What the collector has received, loaded and quarantined."""
        reasons = quarantine_counts(self.state_dir)
        quarantined = sum(reasons.values())
        loaded = self.loader.loaded if self.loader else 0
        calls = self.loader.calls if self.loader else 0
        c = self.committer
        cutoff = int(time.time() // 60) - 60
        return IntakeStats(
            received=self.received,
            acknowledged=c.acknowledged,
            deduplicated=c.deduplicated,
            rejected=self.rejected,
            quarantined=quarantined,
            loaded=loaded,
            pending_load=max(0, c.acknowledged - c.deduplicated - loaded - calls - quarantined),
            last_event_at=c.last_event_at,
            per_minute=[m for m in c.minutes if m[0] > cutoff],
            quarantine_reasons=reasons,
            dedup_ids=len(c.seen),
            log_segments=len(self.log.segments()),
        )

    def fault(self) -> int | None:
        self.requests += 1
        return self.faults.get(self.requests)

    def describe(self) -> dict[str, Any]:
        return {"state_dir": str(self.state_dir), "keys": len(self.keys.list())}
