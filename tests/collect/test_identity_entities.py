"""Identify traits reach the project's entities source: a collector-owned Parquet file beside
the user's, or an upsert into a table; values of the wrong type are counted, not dropped
silently."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from cynosure.api import Project

from .conftest import warehouse_with_events_table
from .test_identity import WEEK, digest, identify, land, load, make_project, state_of, track

ENTITIES = """\
entities:
  source: data/users/*.parquet
  key: user_id
  created: signed_up_at
"""
ONBOARDING = """\
  onboarding:
    conversion: {event: song_played, within: 2d}
"""
USERS = pa.schema(
    [
        ("user_id", pa.string()),
        ("signed_up_at", pa.timestamp("us", tz="UTC")),
        ("plan", pa.string()),
        ("age", pa.int64()),
        ("first_name", pa.string()),
    ]
)


def utc(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def _project(tmp_path: Path) -> Path:
    project = make_project(tmp_path)
    project.write_text(project.read_text().replace("north_star:", ONBOARDING + "north_star:"))
    project.write_text(project.read_text() + ENTITIES)
    users = tmp_path / "data" / "users"
    users.mkdir()
    seed = {
        "user_id": ["seed"],
        "signed_up_at": [datetime(2026, 10, 31, tzinfo=UTC)],
        "plan": ["free"],
        "age": [30],
        "first_name": ["Sid"],
    }
    pq.write_table(pa.table(seed, schema=USERS), users / "users.parquet")
    return project


def _traffic() -> list[dict]:
    return [
        identify("i1", 3, "u1", "a1", createdAt="2026-11-03T10:00:00Z", plan="pro", age="old"),
        track("e1", 4, user="u1"),
        identify("i2", 3, "u2", "a2", createdAt="2026-11-02T09:00:00Z", firstName="Ada", age=41),
        track("e2", 6, user="u2"),  # four days after signing up: not onboarded within 2d
        identify("i0", 2, "", "a3", plan="trial"),  # anonymous: its traits follow a3
        identify("i3", 5, "u3", "a3"),  # no createdAt
    ]


def test_identified_entities_reach_a_parquet_entities_source(tmp_path: Path) -> None:
    project = _project(tmp_path)
    theirs = tmp_path / "data" / "users" / "users.parquet"
    before = digest(theirs)
    land(project, _traffic())
    stats = load(project)
    assert stats.entities == 3 and stats.trait_problems == 1
    ours = pq.read_table(tmp_path / "data" / "users" / "collected-entities.parquet")
    assert ours.schema == USERS
    rows = {r.pop("user_id"): r for r in ours.to_pylist()}
    assert rows == {
        # "old" is no int64: left empty, and reported below.
        "u1": {"signed_up_at": utc(3, 10), "plan": "pro", "age": None, "first_name": None},
        "u2": {"signed_up_at": utc(2, 9), "plan": None, "age": 41, "first_name": "Ada"},
        # No createdAt: first seen, at the anonymous identify of a3.
        "u3": {"signed_up_at": utc(2, 12), "plan": "trial", "age": None, "first_name": None},
    }
    state = state_of(project)
    problems = state.db.execute("SELECT entity, trait, value, expected FROM trait_problems")
    assert problems.fetchall() == [("u1", "age", '"old"', "int64")]
    state.close()
    assert digest(theirs) == before
    with Project.load(project) as live:
        onboarding = live.series("week")["onboarding"]
    # Started that week: u1 (played the next day), u2 (played four days later) and u3 (never
    # played). From first events alone, u1 and u2 would both look onboarded: 2 of 2.
    assert onboarding.loc[WEEK] == 1 / 3
    with Project.load(project) as live:
        found = [f.message for f in live.check().source if f.check == "identities"]
    assert found == [
        "1 trait value(s) of the wrong type left out of the entities (e.g. 'age' should be int64)"
    ]


def test_identified_entities_are_upserted_into_a_table(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    warehouse = warehouse_with_events_table(tmp_path)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "CREATE TABLE users (user_id VARCHAR, signed_up_at TIMESTAMPTZ, plan VARCHAR, "
            "age BIGINT, first_name VARCHAR)"
        )
        con.execute("INSERT INTO users VALUES ('u2', '2026-11-01 08:00:00+00', 'free', 40, 'A')")
    text = project.read_text().replace("data/events/*.parquet", "events")
    project.write_text(text + ENTITIES.replace("data/users/*.parquet", "users"))
    land(project, _traffic())
    stats = load(project)
    assert stats.trait_problems == 1
    land(project, [identify("i4", 7, "u3", "a3", plan="team")])  # a later identify: one row
    load(project)
    with duckdb.connect(str(warehouse)) as con:
        found = con.execute(
            "SELECT user_id, signed_up_at AT TIME ZONE 'UTC', plan, age, first_name "
            "FROM users ORDER BY user_id"
        ).fetchall()
    assert found == [
        ("u1", datetime(2026, 11, 3, 10), "pro", None, None),
        # The row already there keeps its creation time; traits overwrite what they fill.
        ("u2", datetime(2026, 11, 1, 8), "free", 41, "Ada"),
        ("u3", datetime(2026, 11, 2, 12), "team", None, None),
    ]
