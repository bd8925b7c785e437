"""A project in a time zone with daylight saving, weeks starting on Sunday, gives the same
days, weeks and months on DuckDB, PostgreSQL and Spark; Spark reads CSV and JSON-lines events
as DuckDB does; PostgreSQL, which cannot read files, says so and names the workaround.

The events sit where engines go wrong: either side of local midnight, of a month's end in local
time, and across both daylight-saving switches of America/New_York (2026-03-08, when 02:00 is
skipped, and 2026-11-01, when 01:00-02:00 happens twice). Entities start near local midnight
too (a conversion rate's cohorts are cut by the local start day).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cynosure.api import Project
from cynosure.errors import ProjectError

from .conftest import postgres_backend, rollup_rows
from .test_parity import assert_frames_equal

ZONE = "America/New_York"
GRAINS = ("day", "week", "month")
PROJECT = """
project: Zones
timezone: {zone}
week_start: sunday
warehouse: "{warehouse}"
events:
  source: {events}
  entity: user_id
  time: timestamp
  name: event
  dimensions: [platform]
  properties: [duration_s]
entities:
  source: {users}
  key: user_id
  created: signed_up_at
metrics:
  plays: {{count: true, where: "event = 'play'"}}
  listeners: {{users: true, where: "event = 'play'"}}
  hours: {{sum: duration_s / 3600, where: "event = 'play'"}}
  new_listeners: {{users: true, where: "event = 'play'", lifecycle: new}}
  churned_listeners: {{users: true, where: "event = 'play'", lifecycle: churned}}
  activation: {{conversion: {{event: play, within: 2d}}}}
north_star: plays
"""
# UTC moments either side of local midnight (EST is UTC-5, EDT UTC-4), of a local month's end,
# and of both daylight-saving switches.
EDGES = [
    "2026-02-28 04:59:59",  # Feb 27, 23:59:59 EST
    "2026-02-28 05:00:00",  # Feb 28, 00:00 EST
    "2026-03-01 04:59:00",  # still February locally
    "2026-03-01 05:00:00",  # March 1
    "2026-03-08 04:59:00",  # Mar 7, 23:59 EST: the night of the spring switch
    "2026-03-08 06:59:00",  # 01:59 EST
    "2026-03-08 07:00:00",  # 03:00 EDT
    "2026-03-09 03:59:00",  # Mar 8, 23:59 EDT
    "2026-03-09 04:00:00",  # Mar 9, 00:00 EDT
    "2026-04-01 03:59:00",  # March 31 locally
    "2026-04-01 04:00:00",  # April 1
    "2026-10-31 03:59:00",  # Oct 30, 23:59 EDT
    "2026-11-01 04:00:00",  # Nov 1, 00:00 EDT
    "2026-11-01 05:30:00",  # 01:30 EDT
    "2026-11-01 06:30:00",  # 01:30 EST, the second time
    "2026-11-02 04:59:00",  # Nov 1, 23:59 EST
    "2026-11-02 05:00:00",  # Nov 2
]


def make_data(directory: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """About 30 users' events around the edges above, and the users with their start."""
    rng = np.random.default_rng(7)
    rows = []
    users = []
    for number in range(30):
        user = f"u{number:02d}"
        moments = [pd.Timestamp(e, tz="UTC") for e in rng.choice(EDGES, size=6)]
        moments += [
            pd.Timestamp("2026-02-25", tz="UTC") + pd.Timedelta(minutes=int(m))
            for m in rng.integers(0, 60 * 24 * 45, size=8)
        ]
        moments += [
            pd.Timestamp("2026-10-25", tz="UTC") + pd.Timedelta(minutes=int(m))
            for m in rng.integers(0, 60 * 24 * 14, size=4)
        ]
        for moment in sorted(moments):
            event = "play" if rng.random() < 0.7 else "search"
            duration = float(rng.integers(30, 300)) if event == "play" else None
            platform = "ios" if number % 3 else "android"
            rows.append((user, moment, event, platform, duration))
        start = min(moments).floor("h") - pd.Timedelta(minutes=1)
        users.append((user, start))
    events = pd.DataFrame(rows, columns=["user_id", "timestamp", "event", "platform", "duration_s"])
    entities = pd.DataFrame(users, columns=["user_id", "signed_up_at"])
    data = directory / "data"
    data.mkdir(parents=True, exist_ok=True)
    events.to_parquet(data / "events.parquet")
    entities.to_parquet(data / "users.parquet")
    written = events.assign(timestamp=events.timestamp.dt.strftime("%Y-%m-%d %H:%M:%S"))
    written.to_csv(data / "events.csv", index=False)
    written.to_json(data / "events.jsonl", orient="records", lines=True)
    return events, entities


@pytest.fixture(scope="module")
def zone_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("zones")
    make_data(directory)
    return directory


def write_project(
    data: Path, target: Path, warehouse: str, events: str, users: str = "data/users.parquet"
) -> Path:
    target.mkdir(parents=True)
    (target / "data").symlink_to(data / "data")
    path = target / "cynosure.yml"
    path.write_text(PROJECT.format(zone=ZONE, warehouse=warehouse, events=events, users=users))
    return path


@pytest.fixture(scope="module")
def zone_expected(
    zone_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, pd.DataFrame]:
    target = tmp_path_factory.mktemp("zones-duck") / "p"
    path = write_project(zone_data, target, "duckdb:///w.duckdb", "data/events.parquet")
    with Project.load(path) as project:
        found = {grain: project.series(grain) for grain in GRAINS}
        found["rollup"] = rollup_rows(project)
        return found


def test_duckdb_cuts_local_days_as_pandas_does(
    zone_data: Path, zone_expected: dict[str, pd.DataFrame]
) -> None:
    events = pd.read_parquet(zone_data / "data" / "events.parquet")
    plays = events[events.event == "play"]
    by_day = plays.groupby(plays.timestamp.dt.tz_convert(ZONE).dt.date).size()
    found = zone_expected["day"]["plays"]
    assert found[found > 0].to_dict() == by_day.to_dict()
    local = plays.timestamp.dt.tz_convert(ZONE).dt.tz_localize(None).dt.normalize()
    sundays = (local - pd.to_timedelta((local.dt.day_of_week + 1) % 7, unit="D")).dt.date
    weekly = zone_expected["week"]["plays"]
    assert weekly[weekly > 0].to_dict() == plays.groupby(sundays).size().to_dict()
    assert all(start.weekday() == 6 for start in weekly.index)


@pytest.fixture(scope="module")
def zone_postgres(
    zone_data: Path, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Project]:
    con = postgres_backend(postgres_url)
    con.create_table(
        "zone_events", pd.read_parquet(zone_data / "data" / "events.parquet"), overwrite=True
    )
    con.create_table(
        "zone_users", pd.read_parquet(zone_data / "data" / "users.parquet"), overwrite=True
    )
    con.disconnect()
    target = tmp_path_factory.mktemp("zones-pg") / "p"
    path = write_project(zone_data, target, postgres_url, "zone_events", "zone_users")
    with Project.load(path) as project:
        yield project


@pytest.mark.xdist_group("postgres")
@pytest.mark.parametrize("grain", GRAINS)
def test_postgres_cuts_the_same_periods(
    zone_postgres: Project, zone_expected: dict[str, pd.DataFrame], grain: str
) -> None:
    assert_frames_equal(zone_expected[grain], zone_postgres.series(grain))


@pytest.mark.xdist_group("postgres")
def test_postgres_names_the_workaround_for_files(
    zone_data: Path, postgres_url: str, tmp_path: Path
) -> None:
    path = write_project(zone_data, tmp_path / "p", postgres_url, "data/events.csv")
    with pytest.raises(ProjectError) as raised:
        Project.load(path)
    message = str(raised.value)
    assert "PostgreSQL cannot read csv files" in message
    assert "load the events into a table" in message


@pytest.mark.xdist_group("spark")
def test_spark_cuts_the_same_days_and_sunday_weeks(
    zone_data: Path,
    zone_expected: dict[str, pd.DataFrame],
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    request.getfixturevalue("spark_project")  # the process's Spark session, or a skip
    path = write_project(zone_data, tmp_path / "p", "spark://local[2]", "data/events.parquet")
    with Project.load(path) as project:
        # Months are cut from the same local days (the parity suite checks that on Spark).
        for grain in ("day", "week"):
            assert_frames_equal(zone_expected[grain], project.series(grain))


FORMATS = pytest.mark.parametrize(
    "events", ["data/events.csv", "data/events.jsonl"], ids=["csv", "json"]
)


@pytest.mark.xdist_group("spark")
@FORMATS
def test_spark_reads_csv_and_json_lines_events(
    zone_data: Path,
    zone_expected: dict[str, pd.DataFrame],
    request: pytest.FixtureRequest,
    tmp_path: Path,
    events: str,
) -> None:
    request.getfixturevalue("spark_project")
    path = write_project(zone_data, tmp_path / "p", "spark://local[2]", events)
    with Project.load(path) as project:
        project.refresh()
        # Every metric is computed from the rollup: the same rollup, the same metrics.
        pd.testing.assert_frame_equal(
            zone_expected["rollup"], rollup_rows(project), check_dtype=False
        )


@FORMATS
def test_duckdb_reads_csv_and_json_lines_events(
    zone_data: Path, zone_expected: dict[str, pd.DataFrame], tmp_path: Path, events: str
) -> None:
    path = write_project(zone_data, tmp_path / "p", "duckdb:///w.duckdb", events)
    with Project.load(path) as project:
        assert_frames_equal(zone_expected["day"], project.series("day"))
