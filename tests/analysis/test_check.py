"""`cynosure check` finds problems planted in a generated data set, and passes a clean one."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cynosure.api import Project
from cynosure.cli import app

PROJECT = """\
project: Planted
events:
  source: data/events/*.parquet
  entity: user_id
  time: timestamp
  name: event
  dimensions: [country, note]
  properties: [duration_s]
metrics:
  listening_hours:
    sum: duration_s / 3600
    where: "event = 'song_played'"
  searchers:
    users: true
    where: "event = 'search'"
"""
START = date(2026, 9, 1)
DAYS = 60


def _day(rng: np.random.Generator, day: date, song: str = "song_played") -> pd.DataFrame:
    rows = []
    for name, volume in ((song, 200), ("search", 100)):
        n = int(rng.poisson(volume))
        seconds = rng.integers(0, 86_400, n)
        rows.append(
            pd.DataFrame(
                {
                    "user_id": [f"u{i}" for i in rng.integers(0, 300, n)],
                    "timestamp": pd.to_datetime(day) + pd.to_timedelta(seconds, unit="s"),
                    "event": name,
                    "country": "US",
                    "note": "a",
                    "duration_s": rng.uniform(10, 300, n),
                }
            )
        )
    frame = pd.concat(rows, ignore_index=True)
    frame["timestamp"] = frame["timestamp"].dt.tz_localize("UTC")
    return frame


def write_project(root: Path, *, planted: bool) -> Path:
    rng = np.random.default_rng(3)
    folder = root / "data" / "events"
    folder.mkdir(parents=True)
    for offset in range(DAYS):
        day = START + timedelta(days=offset)
        if planted and offset == 30:
            continue  # a missing day
        frame = _day(rng, day, "track_played" if planted and offset >= 45 else "song_played")
        if planted and offset == 50:
            frame = pd.concat([frame, frame], ignore_index=True)  # a duplicate burst
        if planted and offset >= 52:
            frame["note"] = 1.5  # a property changing type
        frame.to_parquet(folder / f"day-{offset:03d}.parquet")
    (root / "cynosure.yml").write_text(PROJECT)
    return root / "cynosure.yml"


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("planted"), planted=True)


def test_check_finds_every_planted_problem(planted: Path) -> None:
    with Project.load(planted) as project:
        result = project.check()
    assert not result.ok
    source = {f.check: f for f in result.source}
    assert source["gaps"].status == "fail"
    assert source["gaps"].days == [str(START + timedelta(days=30))]
    assert source["duplicates"].status == "fail"
    assert source["duplicates"].days == [str(START + timedelta(days=50))]
    drift = [f for f in result.source if f.check == "types"]
    assert len(drift) == 1 and "'note'" in drift[0].message
    hours = next(m for m in result.metrics if m.metric == "listening_hours")
    assert hours.status == "fail"
    stopped = next(f for f in hours.findings if f.check == "recent")
    assert stopped.status == "fail" and "track_played" in stopped.message
    searchers = next(m for m in result.metrics if m.metric == "searchers")
    assert next(f for f in searchers.findings if f.check == "recent").status == "ok"
    volume = next(f for f in searchers.findings if f.check == "volume")
    assert str(START + timedelta(days=50)) not in volume.days or volume.status == "warn"
    assert json.loads(json.dumps(result.to_dict()))["ok"] is False
    assert any("renamed" in line for line in result.summary())


def test_check_passes_clean_data_and_cli_exit_codes(tmp_path: Path, planted: Path) -> None:
    clean = write_project(tmp_path, planted=False)
    with Project.load(clean) as project:
        result = project.check()
    assert result.ok, result.summary()
    runner = CliRunner()
    good = runner.invoke(app, ["check", "-p", str(clean), "--json"])
    assert good.exit_code == 0, good.output
    assert json.loads(good.stdout)["ok"] is True
    bad = runner.invoke(app, ["check", "-p", str(planted)])
    assert bad.exit_code == 1
    assert "stopped arriving" in bad.stdout


def test_check_cuts_days_in_the_project_time_zone(tmp_path: Path) -> None:
    """Events every evening at 21:00 in New York (01:00 or 02:00 UTC the next day) but one:
    the missing day is the local one, and no UTC day is reported."""
    folder = tmp_path / "data" / "events"
    folder.mkdir(parents=True)
    local = pd.date_range("2026-10-20 21:00", periods=20, freq="D", tz="America/New_York")
    skipped = local[10]
    rows = [
        {"user_id": f"u{i}", "timestamp": moment.tz_convert("UTC"), "event": name}
        for moment in local
        if moment != skipped
        for i in range(5)
        for name in ("song_played", "search")
    ]
    frame = pd.DataFrame(rows).assign(country="US", note="a", duration_s=60.0)
    frame.to_parquet(folder / "events.parquet")
    text = PROJECT.replace("project: Planted", "project: Zoned\ntimezone: America/New_York")
    (tmp_path / "cynosure.yml").write_text(text)
    with Project.load(tmp_path / "cynosure.yml") as project:
        result = project.check()
    gaps = next(f for f in result.source if f.check == "gaps")
    assert gaps.days == [str(skipped.date())]
    assert (result.first_day, result.last_day) == (str(local[0].date()), str(local[-1].date()))
