"""Event sources: Parquet, CSV and JSON lines files, globs, and tables already in the warehouse."""

from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from cynosure import Project, ProjectError

EVENTS = pd.DataFrame(
    {
        "user_id": ["a", "a", "b", "c", "c", "c"],
        "timestamp": pd.to_datetime(
            [
                "2026-03-02 10:00",
                "2026-03-03 10:00",
                "2026-03-03 11:00",
                "2026-03-09 09:00",
                "2026-03-10 09:00",
                "2026-03-10 23:30",
            ]
        ).tz_localize("UTC"),
        "event": ["play", "play", "play", "play", "search", "play"],
        "seconds": [60.0, 120.0, None, 30.0, None, 90.0],
    }
)
METRICS = {
    "plays": {"count": True, "where": "event = 'play'"},
    "players": {"users": True, "where": "event = 'play'"},
    "minutes": {"sum": "seconds / 60", "where": "event = 'play'"},
}
EXPECTED = {"plays": [3.0, 2.0], "players": [2.0, 1.0], "minutes": [3.0, 2.0]}


def write_project(directory: Path, source: str, **extra: object) -> Path:
    project = {
        "project": "Sources",
        "events": {"source": source, "properties": ["seconds"]},
        "metrics": METRICS,
        **extra,
    }
    path = directory / "cynosure.yml"
    path.write_text(yaml.safe_dump(project, sort_keys=False))
    return path


def weekly(path: Path) -> dict[str, list[float]]:
    frame = Project.load(path).series("week")
    return {name: frame[name].tolist() for name in METRICS}


def test_parquet_glob_over_several_files(tmp_path: Path) -> None:
    (tmp_path / "events").mkdir()
    EVENTS.iloc[:3].to_parquet(tmp_path / "events" / "one.parquet")
    EVENTS.iloc[3:].to_parquet(tmp_path / "events" / "two.parquet")
    assert weekly(write_project(tmp_path, "events/*.parquet")) == EXPECTED


def test_csv(tmp_path: Path) -> None:
    EVENTS.to_csv(tmp_path / "events.csv", index=False)
    assert weekly(write_project(tmp_path, "events.csv")) == EXPECTED


def test_json_lines(tmp_path: Path) -> None:
    frame = EVENTS.assign(timestamp=EVENTS.timestamp.dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    frame.to_json(tmp_path / "events.jsonl", orient="records", lines=True)
    assert weekly(write_project(tmp_path, "events.jsonl")) == EXPECTED


def test_a_table_in_the_warehouse(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.register("frame", EVENTS)
        con.execute("CREATE TABLE app_events AS SELECT * FROM frame")
    path = write_project(tmp_path, "app_events", warehouse=f"duckdb:///{warehouse}")
    assert weekly(path) == EXPECTED
    # New rows in the table are found by the next refresh.
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "INSERT INTO app_events VALUES ('d', TIMESTAMPTZ '2026-03-04 08:00:00+00', 'play', 60)"
        )
    project = Project.load(path)
    refreshed = project.refresh()
    assert refreshed.days_recomputed == 1
    assert project.series("week")["plays"].tolist() == [4.0, 2.0]


def test_a_source_matching_no_file_is_a_located_problem(tmp_path: Path) -> None:
    path = write_project(tmp_path, "missing/*.parquet")
    with pytest.raises(ProjectError) as caught:
        Project.load(path)
    (problem,) = caught.value.problems
    assert problem.path == "events.source"
    assert "no file matches 'missing/*.parquet'" in problem.message
    assert problem.line == 3


def test_files_of_mixed_formats_are_refused(tmp_path: Path) -> None:
    (tmp_path / "events").mkdir()
    EVENTS.to_parquet(tmp_path / "events" / "a.parquet")
    EVENTS.to_csv(tmp_path / "events" / "b.csv", index=False)
    with pytest.raises(ProjectError, match="one format"):
        Project.load(write_project(tmp_path, "events/*"))


def test_an_unopenable_warehouse_is_a_located_problem(tmp_path: Path) -> None:
    (tmp_path / "events.parquet").write_bytes(b"")
    EVENTS.to_parquet(tmp_path / "events.parquet")
    (tmp_path / "not-a-db").write_text("this is not a database")
    path = write_project(tmp_path, "events.parquet", warehouse="duckdb:///not-a-db")
    with pytest.raises(ProjectError) as caught:
        Project.load(path)
    (problem,) = caught.value.problems
    assert problem.path == "warehouse"
    assert "cannot open the warehouse 'duckdb:///not-a-db'" in problem.message


def test_event_names_are_read_again_only_from_new_or_changed_files(tmp_path: Path) -> None:
    (tmp_path / "events").mkdir()
    EVENTS.to_parquet(tmp_path / "events" / "one.parquet")
    metrics = {**METRICS, "buys": {"count": True, "where": "event = 'buy'"}}
    path = tmp_path / "cynosure.yml"
    events = {"source": "events/*.parquet", "properties": ["seconds"]}
    project = {"project": "Names", "events": events, "metrics": metrics}
    path.write_text(yaml.safe_dump(project, sort_keys=False))
    with pytest.raises(ProjectError, match="no event is named 'buy'"):
        Project.load(path)
    buy = EVENTS.iloc[:1].assign(event="buy")
    buy.to_parquet(tmp_path / "events" / "two.parquet")
    assert Project.load(path).series("week")["buys"].tolist() == [1.0, 0.0]
    EVENTS.iloc[:1].to_parquet(tmp_path / "events" / "two.parquet")  # the buy is corrected away
    with pytest.raises(ProjectError, match="no event is named 'buy'"):
        Project.load(path)


def test_an_event_declared_in_the_tracking_plan_may_not_have_arrived_yet(tmp_path: Path) -> None:
    (tmp_path / "events").mkdir()
    EVENTS.to_parquet(tmp_path / "events" / "one.parquet")
    metrics = {**METRICS, "refunds": {"count": True, "where": "event = 'refund_issued'"}}
    events = {"source": "events/*.parquet", "properties": ["seconds"]}
    project = {"project": "Expecting", "events": events, "metrics": metrics}
    path = tmp_path / "cynosure.yml"
    path.write_text(yaml.safe_dump(project, sort_keys=False))
    with pytest.raises(ProjectError) as caught:
        Project.load(path)
    (problem,) = caught.value.problems
    assert "no event is named 'refund_issued'" in problem.message
    assert "tracking_plan.events.refund_issued" in problem.hint
    project["tracking_plan"] = {"events": {"refund_issued": {}}}
    path.write_text(yaml.safe_dump(project, sort_keys=False))
    with Project.load(path) as loaded:
        assert set(loaded.series("week")["refunds"]) == {0.0}
