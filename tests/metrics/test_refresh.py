"""Late and new events: an incremental refresh must give what a full rebuild gives.

The project reads `events/*.parquet` into the default DuckDB file warehouse, so the rollup
persists between loads and a later load refreshes it incrementally.
"""

from __future__ import annotations

import os

import pandas as pd

from cynosure import Project

from .helpers import assert_frames_match, build, events_frame, write_events
from .reference import Reference, local_days

GRAINS = ("day", "week", "month")
PLAY = "event = 'play'"
ZONE = "America/New_York"

METRICS = {
    "plays": {"count": True, "where": PLAY},
    "players": {"users": True, "where": PLAY},
    "revenue": {"sum": "amount", "where": "event = 'buy'"},
    "avg_amount": {"mean": "amount"},
    "per_player": {"ratio": ["revenue", "players"]},
    "heavy": {"threshold": {"at_least": 2, "unit": "days"}},
    "buy_3d": {"conversion": {"event": "buy", "within": "3d"}},
    "ret_2_2": {"retention": {"after": "2d", "within": "2d"}},
    "new": {"users": True, "lifecycle": "new", "where": PLAY},
    "resurrected": {"users": True, "lifecycle": "resurrected", "where": PLAY},
    "churned": {"users": True, "lifecycle": "churned", "where": PLAY},
    "players_total": {"users": True, "where": PLAY, "cumulative": True},
}

# 2026-05-01 .. 05-10 (a Friday .. a Sunday)
PART_0 = [
    ("a", "2026-05-01 12:00", "play", "US", 1.0),
    ("a", "2026-05-02 12:00", "buy", "US", 10.0),
    ("a", "2026-05-05 12:00", "play", "US", 2.0),
    ("b", "2026-05-02 15:00", "play", "DE", None),
    ("b", "2026-05-03 15:00", "play", "DE", 3.0),
    ("c", "2026-05-06 12:00", "play", "FR", 1.0),  # c starts 05-06 ...
    ("c", "2026-05-08 12:00", "buy", "FR", 4.0),
    ("d", "2026-05-09 12:00", "play", "US", 1.0),
    ("a", "2026-05-10 12:00", "play", "US", 1.0),
]

PART_1 = [
    ("c", "2026-05-03 12:00", "play", "FR", 6.0),  # ... until this late event moves it to 05-03
    ("b", "2026-05-04 03:30", "buy", "DE", 8.0),  # late: 05-03 23:30 local
    ("e", "2026-05-04 03:00", "play", "GB", 1.0),  # late: 05-03 23:00 local, a new entity
    ("a", "2026-05-12 12:00", "play", "US", 1.0),  # a new day
    ("b", "2026-05-12 13:00", "play", "DE", 1.0),
]


def local_day_count(events: pd.DataFrame) -> int:
    return local_days(events["timestamp"], ZONE).nunique()


def series(project: Project) -> dict[str, pd.DataFrame]:
    return {grain: project.series(grain) for grain in GRAINS}


def check(project: Project, config, events: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The project's series equal the reference on `events`; returns them."""
    got = series(project)
    reference = Reference(config, events)
    for grain in GRAINS:
        assert_frames_match(got[grain], reference.series(grain), config)
    return got


def start(tmp_path, *parts, zone=ZONE):
    """A project over events/part-N.parquet (PART_0 alone by default), rolled up once, closed."""
    frames = [events_frame(rows) for rows in parts or (PART_0,)]
    for n, frame in enumerate(frames):
        write_events(frame, tmp_path / "events" / f"part-{n}.parquet")
    events = pd.concat(frames, ignore_index=True)
    project, config = build(
        tmp_path, events, METRICS, source="events/*.parquet", warehouse=None, timezone=zone
    )
    check(project, config, events)
    project.close()
    return config, events


def reload(tmp_path) -> Project:
    return Project.load(tmp_path / "cynosure.yml")


def assert_same_as_full_rebuild(project: Project, incremental: dict[str, pd.DataFrame]) -> None:
    stats = project.refresh(full=True)
    assert stats.full
    for grain, frame in series(project).items():
        pd.testing.assert_frame_equal(incremental[grain], frame, check_like=True)


def test_new_day_and_late_events_match_a_full_rebuild(tmp_path):
    config, part_0 = start(tmp_path)
    part_1 = events_frame(PART_1)
    write_events(part_1, tmp_path / "events" / "part-1.parquet")
    project = reload(tmp_path)
    stats = project.refresh()
    assert not stats.full
    assert stats.files_read == 1
    assert stats.events == len(part_1)
    assert stats.days_recomputed == local_day_count(part_1) == 2  # 05-03 and 05-12
    assert stats.files_rescanned == 1  # added to those days: part-0 (05-03 too) is not read
    incremental = check(project, config, pd.concat([part_0, part_1], ignore_index=True))
    assert_same_as_full_rebuild(project, incremental)


def test_late_events_in_a_half_hour_zone(tmp_path):
    """In Asia/Kolkata (+05:30) one UTC hour spans two local days."""
    config, part_0 = start(tmp_path, zone="Asia/Kolkata")
    late = events_frame(
        [
            ("a", "2026-05-03 18:45", "play", "US", 1.0),  # 05-04 00:15 local
            ("b", "2026-05-04 18:15", "buy", "DE", 3.0),  # 05-04 23:45 local
        ]
    )
    write_events(late, tmp_path / "events" / "part-1.parquet")
    project = reload(tmp_path)
    stats = project.refresh()
    assert (stats.files_read, stats.events) == (1, 2)
    assert 1 <= stats.days_recomputed <= 3  # 05-03 and 05-05 share an hour with the events
    check(project, config, pd.concat([part_0, late], ignore_index=True))


NEW_DAY = [
    ("a", "2026-05-11 04:15", "play", "US", 1.0),  # 05-11 00:15 local
    ("b", "2026-05-12 03:30", "buy", "DE", 2.0),  # 05-11 23:30 local
]


def written_and_refreshed(tmp_path, rows, name="part-1.parquet"):
    """Write `rows` as events/`name`, then load the project and refresh it incrementally."""
    frame = events_frame(rows)
    write_events(frame, tmp_path / "events" / name)
    project = reload(tmp_path)
    return frame, project, project.refresh()


def test_a_new_day_in_a_new_file_is_read_from_that_file_alone(tmp_path):
    config, part_0 = start(tmp_path)
    new_day, project, stats = written_and_refreshed(tmp_path, NEW_DAY)
    assert (stats.files_read, stats.days_recomputed, stats.files_rescanned) == (1, 1, 1)
    assert "recomputed 1 day(s) from 1 file(s)" in stats.summary()[0]
    incremental = check(project, config, pd.concat([part_0, new_day], ignore_index=True))
    assert_same_as_full_rebuild(project, incremental)


def test_new_files_after_a_build_whose_state_was_lost_are_not_counted_twice(tmp_path):
    """A build cut short after writing the rollup but before its refresh state: the next
    refresh must not add new files on top of rows it cannot account for."""
    config, part_0 = start(tmp_path)
    project = reload(tmp_path)
    project.con.raw_sql("DELETE FROM cynosure_units")
    project.close()
    part_1, project, stats = written_and_refreshed(tmp_path, PART_1)
    assert not stats.full
    incremental = check(project, config, pd.concat([part_0, part_1], ignore_index=True))
    assert_same_as_full_rebuild(project, incremental)


def test_a_corrected_day_is_read_from_the_files_holding_it_alone(tmp_path):
    """The day's UTC window is exact: part-0, which ends the day before, is not read again."""
    config, _ = start(tmp_path, PART_0, NEW_DAY)
    corrected = [NEW_DAY[0], ("b", "2026-05-12 03:30", "buy", "DE", 20.0)]
    fixed, project, stats = written_and_refreshed(tmp_path, corrected)
    assert (stats.files_read, stats.days_recomputed, stats.files_rescanned) == (1, 1, 1)
    everything = pd.concat([events_frame(PART_0), fixed], ignore_index=True)
    incremental = check(project, config, everything)
    assert_same_as_full_rebuild(project, incremental)


# Around both daylight saving changes of 2026 in New York (-05:00 / -04:00).
DST_PART_0 = [
    ("a", "2026-03-07 17:00", "play", "US", 1.0),
    ("b", "2026-03-09 15:00", "play", "DE", 1.0),
    ("a", "2026-10-31 15:00", "play", "US", 1.0),
    ("b", "2026-11-02 17:00", "buy", "DE", 5.0),
]
DST_LATE = [
    ("c", "2026-03-08 05:30", "play", "FR", 1.0),  # 03-08 00:30 local, before the change
    ("d", "2026-03-09 03:30", "play", "US", 1.0),  # 03-08 23:30 local, after it
    ("c", "2026-11-01 04:30", "buy", "FR", 2.0),  # 11-01 00:30 local, before the change
    ("d", "2026-11-02 04:30", "play", "US", 1.0),  # 11-01 23:30 local, after it
]


def test_a_rewritten_file_at_the_edges_of_daylight_saving_days(tmp_path):
    """The rewritten file's days are recomputed from their UTC windows, which must reach
    both local midnights of a 23-hour and a 25-hour day."""
    config, _ = start(tmp_path, DST_PART_0)
    everything, project, stats = written_and_refreshed(
        tmp_path, DST_PART_0 + DST_LATE, name="part-0.parquet"
    )
    assert stats.days_recomputed == local_day_count(events_frame(DST_LATE)) == 2
    incremental = check(project, config, everything)
    assert_same_as_full_rebuild(project, incremental)


def test_nothing_changed_reads_nothing(tmp_path):
    start(tmp_path)
    project = reload(tmp_path)
    stats = project.refresh()
    assert (stats.full, stats.files_read, stats.days_recomputed, stats.events) == (False, 0, 0, 0)


def test_a_removed_file_takes_its_events_away(tmp_path):
    config, _ = start(tmp_path, PART_0, PART_1)
    os.remove(tmp_path / "events" / "part-1.parquet")
    project = reload(tmp_path)
    stats = project.refresh()
    assert stats.files_read == 0
    assert stats.days_recomputed == local_day_count(events_frame(PART_1))
    incremental = check(project, config, events_frame(PART_0))
    assert_same_as_full_rebuild(project, incremental)


def test_a_file_rewritten_with_more_events_is_picked_up(tmp_path):
    config, _ = start(tmp_path)
    more = [
        *PART_0,
        ("d", "2026-05-05 14:00", "play", "US", 2.0),  # d now starts on 05-05
        ("a", "2026-05-05 15:00", "play", "US", 2.0),
    ]
    write_events(events_frame(more), tmp_path / "events" / "part-0.parquet")
    project = reload(tmp_path)
    stats = project.refresh()
    assert stats.files_read == 1
    assert 1 <= stats.days_recomputed <= local_day_count(events_frame(PART_0))
    incremental = check(project, config, events_frame(more))
    assert_same_as_full_rebuild(project, incremental)


def test_a_file_rewritten_with_corrected_values_is_picked_up(tmp_path):
    config, _ = start(tmp_path)
    corrected = list(PART_0)
    corrected[2] = ("a", "2026-05-05 12:10", "buy", "US", 50.0)  # was a play of 2.0
    write_events(events_frame(corrected), tmp_path / "events" / "part-0.parquet")
    project = reload(tmp_path)
    stats = project.refresh()
    check(project, config, events_frame(corrected))
    assert stats.files_read == 1
    assert stats.days_recomputed == 1


def test_refresh_on_the_same_project_sees_a_new_file(tmp_path):
    events = events_frame(PART_0)
    write_events(events, tmp_path / "events" / "part-0.parquet")
    project, config = build(
        tmp_path, events, METRICS, source="events/*.parquet", warehouse=None, timezone=ZONE
    )
    project.series("week")
    part_1 = events_frame(PART_1)
    write_events(part_1, tmp_path / "events" / "part-1.parquet")
    stats = project.refresh()
    assert stats.files_read == 1
    check(project, config, pd.concat([events, part_1], ignore_index=True))


def test_refresh_on_the_same_project_after_a_file_is_removed(tmp_path):
    events = events_frame(PART_0)
    write_events(events, tmp_path / "events" / "part-0.parquet")
    write_events(events_frame(PART_1), tmp_path / "events" / "part-1.parquet")
    project, config = build(
        tmp_path, events, METRICS, source="events/*.parquet", warehouse=None, timezone=ZONE
    )
    project.series("week")
    os.remove(tmp_path / "events" / "part-1.parquet")
    project.refresh()
    check(project, config, events)


def test_a_late_event_in_the_last_second_of_a_day_lands_in_that_day(tmp_path):
    """An event at 23:59:59.9 must count in its own day, not the next, when it arrives late
    (an earlier engine rounded epoch seconds to the nearest hour and lost such events)."""
    events = events_frame(PART_0)
    write_events(events, tmp_path / "events" / "part-0.parquet")
    project, config = build(
        tmp_path, None, METRICS, source="events/*.parquet", warehouse=None, timezone="UTC"
    )
    project.series("day")
    late = events_frame([("a", "2026-05-05 23:59:59.900", "buy", "US", 7.0)])
    write_events(late, tmp_path / "events" / "part-1.parquet")
    project = Project.load(tmp_path / "cynosure.yml")
    assert project.refresh().days_recomputed == 1
    everything = pd.concat([events, late], ignore_index=True)
    assert project.series("day").loc[pd.Timestamp("2026-05-05").date(), "revenue"] == 7.0
    assert_frames_match(project.series("day"), Reference(config, everything).series("day"), config)
