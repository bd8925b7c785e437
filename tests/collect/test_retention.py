"""Log retention: loaded segments go, their ids stay for the dedup window (also across a
restart), nothing unloaded is ever deleted, and kill -9 with retention and compaction running
loses and doubles nothing."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from typer.testing import CliRunner

from cynosure.cli import app
from cynosure.collect import key_store
from cynosure.collect.log import Position
from cynosure.collect.retention import parse_window

from .conftest import (
    PROJECT,
    collected,
    free_port,
    make_project,
    send_until_stopped,
    start_subprocess,
    warehouse_with_events_table,
)
from .inprocess import Running, log_bytes, log_files, songs

SEGMENT = 1024  # a few events: each batch of 5 below rolls a segment


def _ids(rows: Any) -> list[str]:
    return sorted(rows["message_id"])


async def _send_all(c: Running, batch: list[dict[str, Any]], size: int = 5) -> None:
    for first in range(0, len(batch), size):
        await c.send(batch[first : first + size])


def test_a_long_run_keeps_disk_and_the_dedup_set_bounded(tmp_path: Path) -> None:
    rounds, per_round, window = 12, 30, 0.1

    async def run(project: Path, dedup_window: float | None) -> tuple[list[int], list[int]]:
        disk, seen = [], []
        key = key_store(project.parent / ".cynosure").create("t")
        async with Running(project, key, segment_bytes=SEGMENT, dedup_window=dedup_window) as c:
            for _ in range(rounds):
                await _send_all(c, songs(per_round))
                await c.collector.load()
                await c.collector.retain()
                disk.append(log_bytes(project))
                seen.append(len(c.collector.committer.seen))
                if dedup_window:
                    await asyncio.sleep(window * 1.2)  # this round's ids leave the window
        return disk, seen

    bounded = make_project(tmp_path / "bounded")
    disk, seen = asyncio.run(run(bounded, window))
    assert len(collected(bounded)) == rounds * per_round  # retention lost nothing
    # Bounded: the current segment, one round's id indexes and one round's ids (plus the
    # few of the round before that share the segment sealed first) at most.
    assert max(disk) <= 4 * SEGMENT, disk
    assert max(seen) <= per_round + 10, seen
    assert len(log_files(bounded, ".seg")) == 1

    kept = make_project(tmp_path / "kept")
    kept_disk, kept_seen = asyncio.run(run(kept, None))  # no retention: both grow
    assert kept_seen[-1] == rounds * per_round
    assert kept_disk[-1] > 10 * max(disk)
    assert len(collected(kept)) == rounds * per_round


def test_a_retried_batch_is_deduplicated_after_a_restart_once_its_segment_is_gone(
    project: Path, write_key: str
) -> None:
    first, later = songs(30, "first"), songs(30, "later")

    async def before() -> None:
        async with Running(project, write_key, segment_bytes=SEGMENT) as c:
            await _send_all(c, first)
            await _send_all(c, later)
            await c.collector.load()
            stats = await c.collector.retain()
            assert stats.segments_deleted >= 4
            assert not stats.forgotten  # the default window is a day

    async def after() -> dict[str, Any]:
        async with Running(project, write_key, segment_bytes=SEGMENT) as c:
            assert {m["messageId"] for m in first} <= c.collector.committer.seen
            answer = await c.send(first)  # the SDK retries the same batch
            await c.collector.load()
            return {"answer": answer, "intake": c.collector.intake()}

    asyncio.run(before())
    segments = log_files(project, ".seg")
    # The segments holding `first` are gone; their id indexes stay.
    assert segments and segments[0] > "0000000001.seg"
    assert "0000000001.ids" in log_files(project, ".ids")
    result = asyncio.run(after())
    assert result["intake"].deduplicated == 30
    assert result["intake"].dedup_ids >= 30
    rows = collected(project)
    assert _ids(rows) == sorted(m["messageId"] for m in first + later)


def test_ids_leave_the_window_after_a_restart_too(project: Path, write_key: str) -> None:
    batch = songs(30, "old")

    async def send() -> None:  # with the default window of a day
        async with Running(project, write_key, segment_bytes=SEGMENT) as c:
            await _send_all(c, batch)
            await _send_all(c, songs(10))  # rolls past the old batch's segments
            await c.collector.load()
            assert (await c.collector.retain()).segments_deleted >= 6
            assert {m["messageId"] for m in batch} <= c.collector.committer.seen

    async def restart() -> set[str]:  # with a window the old batch is now out of
        async with Running(project, write_key, segment_bytes=SEGMENT, dedup_window=0.2) as c:
            # Indexes out of the window are deleted at start, before any id is remembered.
            assert log_files(project, ".ids") == []
            return set(c.collector.committer.seen)

    asyncio.run(send())
    time.sleep(0.3)
    remembered = asyncio.run(restart())
    assert not {m["messageId"] for m in batch} & remembered
    assert log_files(project, ".ids") == []


def test_nothing_unloaded_is_ever_deleted(project: Path, write_key: str) -> None:
    batch = songs(60, "u")

    async def run() -> None:
        async with Running(project, write_key, segment_bytes=SEGMENT, dedup_window=0) as c:
            await _send_all(c, batch)
            on_disk = log_files(project, ".seg")
            assert len(on_disk) >= 5
            stats = await c.collector.retain()  # nothing loaded yet: nothing goes
            assert stats.segments_deleted == 0
            assert log_files(project, ".seg") == on_disk
            # Load the first two segments only (as a loader that fell behind would).
            log = c.collector.log
            third = log.segments()[2]
            assert c.collector.loader is not None
            c.collector.loader.run(Position(third, 0))
            stats = await c.collector.retain()
            assert stats.segments_deleted == 2
            assert log_files(project, ".seg") == on_disk[2:]
            # A window of 0 forgets the loaded ones' ids at once, never the unloaded ones'.
            seen = c.collector.committer.seen
            assert not seen & set(stats.forgotten)
            unloaded = [m["messageId"] for m in batch if m["messageId"] not in stats.forgotten]
            assert set(unloaded) <= seen
            await c.send(batch[-5:])
            await c.collector.load()
            assert c.collector.intake().deduplicated == 5

    asyncio.run(run())
    assert _ids(collected(project)) == sorted(m["messageId"] for m in batch)


def test_a_table_sink_s_mark_in_the_warehouse_drives_retention(
    tmp_path: Path,
) -> None:
    warehouse = warehouse_with_events_table(tmp_path)
    project = tmp_path / "cynosure.yml"
    project.write_text(PROJECT.replace("data/events/*.parquet", "events"))
    key = key_store(tmp_path / ".cynosure").create("t")
    batch = songs(40)

    async def run() -> None:
        async with Running(project, key, segment_bytes=SEGMENT) as c:
            await _send_all(c, batch)
            assert (await c.collector.retain()).segments_deleted == 0  # not in the warehouse yet
            await c.collector.load()
            assert (await c.collector.retain()).segments_deleted >= 3
            assert c.collector.compactor is None  # a table has no part files

    asyncio.run(run())
    with duckdb.connect(str(warehouse)) as con:
        rows = con.execute("SELECT message_id FROM events ORDER BY 1").fetchall()
    assert sorted(r[0] for r in rows) == sorted(m["messageId"] for m in batch)


def test_window_option_values() -> None:
    assert parse_window("24h") == 86400
    assert parse_window("90m") == 5400
    assert parse_window("3600") == parse_window("3600s") == 3600
    assert parse_window("7d") == 7 * 86400
    assert parse_window("forever") is None


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--dedup-window", "a day"], ["must be a duration like 24h", "got 'a day'"]),
        (["--segment-bytes", "10"], ["--segment-bytes", "4096"]),
        (["--compact-files", "-1"], ["--compact-files", "0"]),
        (["--compact", "--readmit"], ["not both"]),
    ],
)
def test_bad_options_get_a_clear_error(project: Path, args: list[str], words: list[str]) -> None:
    result = CliRunner().invoke(app, ["collect", "-p", str(project), *args])
    assert result.exit_code == 2
    for word in words:
        assert word in " ".join(result.output.split())
    assert "Traceback" not in result.output


# Small segments and an eager compaction: both run many times within a few seconds.
SMALL = ("--load-interval", "0.3", "--segment-bytes", "8192", "--compact-files", "4")


def _wait_until_loaded(url: str) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        if httpx.get(url + "/health", timeout=5).json()["pending_load"] == 0:
            return
        time.sleep(0.2)


def test_kill_9_while_retention_and_compaction_run(project: Path, write_key: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_subprocess(project, port, options=SMALL)
    stop = threading.Event()
    sent: list[str] = []
    senders = [
        threading.Thread(
            target=send_until_stopped, args=(url, write_key, stop, sent, lambda: songs(15))
        )
        for _ in "ab"
    ]
    for thread in senders:
        thread.start()
    try:
        for pause in (1.0, 1.5):
            time.sleep(pause)
            process.kill()  # SIGKILL: mid-append, mid-retention or mid-merge
            process.wait()
            process = start_subprocess(project, port, options=SMALL)
        time.sleep(0.5)
        stop.set()
        for thread in senders:
            thread.join(timeout=60)
        _wait_until_loaded(url)  # on a busy machine a last load may outlast a clean stop
    finally:
        stop.set()
        process.terminate()  # a clean stop: one last load
        process.wait(timeout=30)
    rows = collected(project)
    assert len(sent) > 300
    assert len(rows) == len(set(rows["message_id"])), "an event was loaded twice"
    assert set(rows["message_id"]) == set(sent)
    events = project.parent / "data" / "events"
    assert len(list(events.glob("collected-*.parquet"))) < 15  # compaction ran
    assert not list(events.glob(".compacting-*"))
    directory = project.parent / ".cynosure" / "collect"
    assert len(log_files(project, ".seg")) <= 3  # loaded segments went
    assert not (directory / "compact.journal").exists()
