"""`seed_events`: a new project's events source is created empty, and nothing existing is
touched."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from cynosure import Project
from cynosure.collect.seed import SEED_FILE, seed_events
from cynosure.project.load import read_spec
from tests.web.test_new_project import PROJECT


def test_a_missing_parquet_glob_is_seeded_once_and_existing_files_are_left_alone(
    tmp_path: Path,
) -> None:
    (tmp_path / "cynosure.yml").write_text(PROJECT)
    spec = read_spec(tmp_path / "cynosure.yml")
    assert "no events yet" in (seed_events(spec) or "")
    seed = tmp_path / "data" / "events" / SEED_FILE
    assert seed.exists()
    assert seed_events(spec) is None  # now something matches
    with Project.load(tmp_path / "cynosure.yml") as project:
        assert project.events_source.open(project.con).count().execute() == 0
    other = tmp_path / "elsewhere"
    other.mkdir()
    pd.DataFrame({"user_id": ["u"], "timestamp": [pd.Timestamp("2026-11-01", tz="UTC")]}).assign(
        event="purchase", platform="web", amount=1.0
    ).to_parquet(other / "mine.parquet")
    (tmp_path / "cynosure.yml").write_text(PROJECT.replace("data/events/", "elsewhere/"))
    assert seed_events(read_spec(tmp_path / "cynosure.yml")) is None
    assert [p.name for p in other.iterdir()] == ["mine.parquet"]


def test_a_missing_duckdb_table_is_created_with_the_loaders_columns(tmp_path: Path) -> None:
    text = PROJECT.replace("source: data/events/*.parquet", "source: events")
    (tmp_path / "cynosure.yml").write_text(text)
    spec = read_spec(tmp_path / "cynosure.yml")
    assert "table 'events'" in (seed_events(spec) or "")
    assert seed_events(spec) is None
    with Project.load(tmp_path / "cynosure.yml") as project:
        columns = project.events_source.open(project.con).columns
    assert columns[:5] == ("user_id", "timestamp", "event", "platform", "amount")
    assert "message_id" in columns
    con = duckdb.connect(str(tmp_path / ".cynosure" / "warehouse.duckdb"))
    assert con.execute("SELECT count(*) FROM events").fetchone() == (0,)
