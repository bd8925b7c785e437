"""Compaction of the collector's part files: the metrics do not move, the rollup's refresh
stays right, nothing but the collector's own loaded part files is touched, and a crash at any
point of a merge (in this process or a SIGKILLed one) loses and doubles no row."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cynosure.api import Project
from cynosure.cli import app
from cynosure.collect.compact import JOURNAL, TEMP_PREFIX, Merge, compactor_for, list_parts
from cynosure.project.load import read_spec

from .conftest import PROJECT, collected
from .inprocess import Running, songs


def _fill(project: Path, key: str, events: int, per_part: int, prefix: str) -> list[str]:
    """Send `events` through a real collector, loaded `per_part` records per part file."""
    batch = songs(events, prefix)

    async def run() -> None:
        async with Running(project, key) as c:
            await c.send(batch)
            assert c.collector.loader is not None
            c.collector.loader.run(c.collector.log.durable, limit=per_part)

    asyncio.run(run())
    return [m["messageId"] for m in batch]


def _parts(project: Path) -> list[str]:
    return sorted(p.name for p in (project.parent / "data" / "events").glob("collected-*"))


def _series(project: Path, *, full: bool = False) -> dict[str, pd.DataFrame]:
    with Project.load(project) as p:
        if full:
            p.refresh(full=True)
        return {grain: p.series(grain) for grain in ("day", "week")}


def _same(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]) -> None:
    for grain in left:
        pd.testing.assert_frame_equal(left[grain], right[grain], check_exact=False, rtol=1e-12)


def test_metrics_and_refresh_are_unchanged_by_compaction(project: Path, write_key: str) -> None:
    sent = _fill(project, write_key, 400, 10, "a")
    assert len(_parts(project)) == 40
    with Project.load(project) as p:
        before = {grain: p.series(grain) for grain in ("day", "week")}
        result = CliRunner().invoke(app, ["collect", "--compact", "-p", str(project)])
        assert result.exit_code == 0, result.output
        assert "Merged 40 part files into 1" in " ".join(result.output.split())
        assert len(_parts(project)) == 1
        refreshed = p.refresh()
        assert refreshed.files_read == 1  # the merged file; the inputs count as removed
        assert refreshed.days_recomputed == 0  # the same rows, only moved between files
        _same(before, {grain: p.series(grain) for grain in ("day", "week")})
    _same(before, _series(project, full=True))
    assert sorted(collected(project)["message_id"]) == sorted(sent)

    # New events, some for days already rolled up, then a second compaction merges the
    # merged file with the new parts; an incremental refresh stays equal to a rebuild.
    with Project.load(project) as p:
        p.series("day")
        sent += _fill(project, write_key, 120, 20, "b")
        p.refresh()
        grown = {grain: p.series(grain) for grain in ("day", "week")}
        assert not grown["week"].equals(before["week"])
        compactor_for(read_spec(project), project.parent / ".cynosure" / "collect").run()
        assert len(_parts(project)) == 1
        assert p.refresh().days_recomputed == 0
        _same(grown, {grain: p.series(grain) for grain in ("day", "week")})
    _same(grown, _series(project, full=True))
    assert sorted(collected(project)["message_id"]) == sorted(sent)


def test_only_loaded_collected_parts_are_touched(project: Path, write_key: str) -> None:
    sent = _fill(project, write_key, 60, 10, "c")
    events = project.parent / "data" / "events"
    parts = _parts(project)
    # A crash after the last part file was renamed into place but before the mark moved:
    # the mark still points at that file's start, and the next load will rewrite it.
    last = list_parts(events)[-1]
    state = sqlite3.connect(project.parent / ".cynosure" / "collect" / "state.sqlite")
    with state:
        state.execute("UPDATE loader SET value = ? WHERE key = 'hwm'", (last.first.text(),))
    state.close()
    readmitted = events / "readmitted-0123456789abcdef.parquet"
    readmitted.write_bytes((events / parts[0]).read_bytes())
    seed = (events / "seed.parquet").stat()

    stats = compactor_for(read_spec(project), project.parent / ".cynosure" / "collect").run()
    assert stats.inputs == 5
    assert last.path.name in _parts(project)  # not loaded yet: left for the loader
    assert readmitted.exists() and (events / "seed.parquet").stat() == seed
    readmitted.unlink()

    async def restart() -> None:  # the load is replayed and rewrites the same file
        async with Running(project, "unused") as c:
            await c.collector.load()

    asyncio.run(restart())
    rows = collected(project)
    assert sorted(rows["message_id"]) == sorted(sent)


STEPS = ["write", "journal", "publish", "remove_inputs"]


@pytest.mark.parametrize("crash_after", STEPS)
def test_a_crash_between_steps_loses_and_doubles_nothing(
    project: Path, write_key: str, crash_after: str
) -> None:
    sent = _fill(project, write_key, 50, 10, "d")
    work = project.parent / ".cynosure" / "collect"
    compactor = compactor_for(read_spec(project), work)
    inputs = compactor.plan(compactor.hwm())[0]
    merge = Merge(compactor.directory, work, inputs)
    for step in STEPS[: STEPS.index(crash_after) + 1]:
        getattr(merge, step)()  # ... and the process dies here

    again = compactor_for(read_spec(project), work)
    with again.locked(wait=True):
        assert again.recover() == (0 if crash_after == "write" else 1)
    published = STEPS.index(crash_after) >= STEPS.index("publish")
    names = _parts(project)
    assert (merge.output.name in names) == published
    assert all((p.path.name in names) != published for p in inputs)
    assert not (work / JOURNAL).exists()
    assert not list(compactor.directory.glob(TEMP_PREFIX + "*"))
    assert sorted(collected(project)["message_id"]) == sorted(sent)
    again.run()
    assert len(_parts(project)) == 1
    assert sorted(collected(project)["message_id"]) == sorted(sent)


def test_sigkill_mid_compaction(project: Path, write_key: str) -> None:
    sent = _fill(project, write_key, 600, 4, "e")
    work = project.parent / ".cynosure" / "collect"
    size = max(p.size for p in list_parts(project.parent / "data" / "events"))
    script = (
        "import sys; from pathlib import Path\n"
        "from cynosure.collect.compact import compactor_for\n"
        "from cynosure.project.load import read_spec\n"
        "c = compactor_for(read_spec(Path(sys.argv[1])), Path(sys.argv[2]),"
        " target_bytes=int(sys.argv[3]))\n"
        "c.run()\n"
    )
    command = [sys.executable, "-c", script, str(project), str(work), str(3 * size)]
    process = subprocess.Popen(command)
    events = project.parent / "data" / "events"
    deadline = time.time() + 60
    while process.poll() is None and time.time() < deadline:
        if sum(p.first != p.last for p in list_parts(events)) >= 3:
            break  # a few merges done, many to go
        time.sleep(0.001)
    os.kill(process.pid, signal.SIGKILL)  # somewhere in a merge, or between two
    assert process.wait() == -signal.SIGKILL  # killed, not finished
    assert len(_parts(project)) > 10

    result = CliRunner().invoke(app, ["collect", "--compact", "-p", str(project)])
    assert result.exit_code == 0, result.output
    assert len(_parts(project)) == 1
    assert not (work / JOURNAL).exists()
    rows = collected(project)
    assert len(rows) == len(set(rows["message_id"]))
    assert sorted(rows["message_id"]) == sorted(sent)


def test_parts_of_different_schemas_are_merged_apart(project: Path, write_key: str) -> None:
    sent = _fill(project, write_key, 40, 10, "f")
    project.write_text(PROJECT.replace("[country, platform]", "[country, platform, plan]"))
    sent += _fill(project, write_key, 40, 10, "g")
    compactor_for(read_spec(project), project.parent / ".cynosure" / "collect").run()
    assert len(_parts(project)) == 2
    assert sorted(collected(project)["message_id"]) == sorted(sent)


def test_compact_refuses_a_table_source(tmp_path: Path) -> None:
    (tmp_path / "cynosure.yml").write_text(PROJECT.replace("data/events/*.parquet", "events"))
    result = CliRunner().invoke(app, ["collect", "--compact", "-p", str(tmp_path)])
    assert result.exit_code == 2
    assert "nothing to compact" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_a_running_collector_settles_a_merge_killed_beside_it(
    project: Path, write_key: str
) -> None:
    """`cynosure collect --compact` dies between publishing a merge and removing its inputs
    while a collector (which never compacts by itself here) keeps running: its background
    loop settles the merge, so the rows are not read twice until the next restart."""
    sent = _fill(project, write_key, 50, 10, "k")
    work = project.parent / ".cynosure" / "collect"
    compactor = compactor_for(read_spec(project), work)

    async def run() -> None:
        async with Running(project, write_key, load_interval=0.05, compact_files=0):
            merge = Merge(compactor.directory, work, compactor.plan(compactor.hwm())[0])
            for step in STEPS[: STEPS.index("publish") + 1]:
                getattr(merge, step)()  # ... and that process dies here
            assert len(collected(project)) > len(sent)  # read twice for now
            deadline = time.time() + 30
            while (work / JOURNAL).exists() and time.time() < deadline:
                await asyncio.sleep(0.05)
            assert not (work / JOURNAL).exists()

    asyncio.run(run())
    rows = collected(project)
    assert sorted(rows["message_id"]) == sorted(sent)
