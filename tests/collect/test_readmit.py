"""Re-admitting quarantined events is exactly once, even with a crash between loading them and
clearing their quarantine rows."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from cynosure.collect.loader import Loader, LoadStats, SimulatedCrash, make_sink
from cynosure.collect.log import SegmentLog
from cynosure.project.load import read_spec

from .conftest import collected, warehouse_with_events_table
from .test_identity import land, load, make_project, state_of, track

REQUIRED = """\
tracking_plan:
  events:
    song_played:
      required: [{name}]
"""


def readmit(project: Path, fault: str | None = None) -> LoadStats:
    spec = read_spec(project)
    directory = project.parent / ".cynosure" / "collect"
    loader = Loader(
        spec, SegmentLog(directory / "log"), directory / "state.sqlite", make_sink(spec)
    )
    loader.fault = fault
    return loader.readmit()


def song(mid: str, **properties: str) -> dict:
    message = track(mid, 3, user=f"user-{mid}")
    message["properties"].update(properties)
    return message


def quarantined(project: Path) -> int:
    state = state_of(project)
    try:
        return state.count("quarantine")
    finally:
        state.close()


def test_readmit_into_a_table_survives_a_crash_before_the_quarantine_is_cleared(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path)
    base = project.read_text().replace("data/events/*.parquet", "events")
    project.write_text(base + REQUIRED.format(name="genre"))
    warehouse = warehouse_with_events_table(tmp_path)
    land(project, [song("s1", genre="jazz"), song("s2"), song("s3")])
    load(project)
    assert quarantined(project) == 2
    project.write_text(base)
    with pytest.raises(SimulatedCrash):
        readmit(project, "after-warehouse")  # loaded and committed; quarantine untouched
    assert quarantined(project) == 2
    assert readmit(project).readmitted == 2
    assert quarantined(project) == 0
    with duckdb.connect(str(warehouse)) as con:
        ids = [r[0] for r in con.execute("SELECT message_id FROM events ORDER BY 1").fetchall()]
    assert ids == ["s1", "s2", "s3"]


def test_readmit_into_files_skips_what_an_interrupted_readmit_wrote(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    base = project.read_text()
    project.write_text(base + REQUIRED.format(name="genre"))
    land(project, [song("s1", genre="jazz"), song("s2", mood="calm")])
    load(project)
    project.write_text(base + REQUIRED.format(name="mood"))
    with pytest.raises(SimulatedCrash):
        readmit(project, "after-warehouse")  # s2's file is written, its quarantine row kept
    land(project, [song("s4", genre="rock")])  # quarantined meanwhile: no mood
    load(project)
    assert quarantined(project) == 2
    project.write_text(base)
    readmit(project)  # passes s2 and s4: a new set of ids, so a new file name
    assert sorted(collected(project).message_id) == ["s1", "s2", "s4"]
    assert quarantined(project) == 0


def test_a_replay_that_quarantines_everything_removes_the_crashed_attempts_part_file(
    tmp_path: Path,
) -> None:
    """A load writes its part file and dies before its mark moves; the plan then changes so
    that the replay quarantines every event. The part file must go, or a readmit would load
    those events a second time."""
    project = make_project(tmp_path)
    base = project.read_text()
    land(project, [song("s1"), song("s2")])
    with pytest.raises(SimulatedCrash):
        load(project, "after-insert")  # the part file is written, the mark is not
    assert sorted(collected(project).message_id) == ["s1", "s2"]
    project.write_text(base + REQUIRED.format(name="genre"))
    load(project)  # the replay: both quarantined
    assert quarantined(project) == 2
    assert collected(project).empty
    project.write_text(base)
    readmit(project)
    assert sorted(collected(project).message_id) == ["s1", "s2"]
    assert quarantined(project) == 0
