"""The demo's files: layout, schema, invariants, determinism and directory safety."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from cynosure.demo import DemoSummary, generate
from cynosure.errors import CynosureError, DataError

EVENT_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("event", pa.string()),
        ("country", pa.string()),
        ("platform", pa.string()),
        ("app_version", pa.string()),
        ("plan", pa.string()),
        ("acquisition_channel", pa.string()),
        ("duration_s", pa.float64()),
        ("amount", pa.float64()),
    ]
)
USER_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("signed_up_at", pa.timestamp("us", tz="UTC")),
        ("country", pa.string()),
        ("platform", pa.string()),
        ("acquisition_channel", pa.string()),
    ]
)
EVENTS = {
    "signed_up",
    "onboarding_completed",
    "app_opened",
    "song_played",
    "song_skipped",
    "search",
    "playlist_add",
    "payment_succeeded",
    "subscription_started",
    "subscription_cancelled",
}


def _parts(directory: Path) -> list[Path]:
    return sorted((directory / "data" / "events").glob("part-*.parquet"))


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.sql(sql).fetchone()
    assert row is not None
    return row[0]


def test_summary(demo: DemoSummary) -> None:
    assert (demo.start, demo.end) == (date(2025, 5, 1), date(2026, 10, 31))
    # About 100 events per user: 5 million at the default 50,000 users.
    assert 80 * demo.users < demo.events < 125 * demo.users
    assert demo.seconds > 0
    with pytest.raises(FrozenInstanceError):
        demo.users = 1


def test_layout_and_schema(demo: DemoSummary) -> None:
    parts = _parts(demo.directory)
    assert [p.name for p in parts] == ["part-00000.parquet", "part-00001.parquet"]
    assert (demo.directory / "cynosure.yml").is_file()
    rows = 0
    for part in parts:
        meta = pq.ParquetFile(part).metadata
        assert pq.read_schema(part).equals(EVENT_SCHEMA)
        assert all(meta.row_group(i).num_rows <= 1_000_000 for i in range(meta.num_row_groups))
        rows += meta.num_rows
    assert rows == demo.events
    users = pq.read_table(demo.directory / "data" / "users.parquet")
    assert users.schema.equals(USER_SCHEMA)
    assert users.num_rows == demo.users
    assert users["user_id"][0].as_py() == "u0000001"


def test_each_file_is_sorted_and_covers_all_dates(demo: DemoSummary) -> None:
    for part in _parts(demo.directory):
        stamps = pq.read_table(part, columns=["timestamp"])["timestamp"]
        ordered = pc.all(pc.greater_equal(stamps[1:], stamps[:-1])).as_py()
        assert ordered, part
        first, last = pc.min_max(stamps).values()
        assert first.as_py().date() <= date(2025, 5, 7)
        assert last.as_py().date() == date(2026, 10, 31)


def test_events_within_range_and_after_signup(con: duckdb.DuckDBPyConnection) -> None:
    assert _scalar(con, "SELECT min(day) FROM e") == date(2025, 5, 1)
    assert _scalar(con, "SELECT max(day) FROM e") == date(2026, 10, 31)
    early = """SELECT count(*) FROM e JOIN u USING (user_id)
               WHERE e.timestamp < u.signed_up_at
                  OR (e.event <> 'signed_up' AND e.timestamp = u.signed_up_at)"""
    assert _scalar(con, early) == 0
    assert _scalar(con, "SELECT count(*) FROM e WHERE user_id NOT IN (SELECT user_id FROM u)") == 0


def test_one_signup_per_user_matching_users_table(
    demo: DemoSummary, con: duckdb.DuckDBPyConnection
) -> None:
    counts = con.sql(
        "SELECT count(*), count(DISTINCT user_id) FROM e WHERE event = 'signed_up'"
    ).fetchone()
    assert counts == (demo.users, demo.users)
    mismatched = """SELECT count(*) FROM e JOIN u USING (user_id) WHERE e.event = 'signed_up'
        AND (e.timestamp <> u.signed_up_at OR e.country <> u.country OR e.platform <> u.platform)"""
    assert _scalar(con, mismatched) == 0
    # A user's country and platform never change.
    moved = """SELECT count(*) FROM (SELECT user_id FROM e GROUP BY user_id
               HAVING count(DISTINCT country) > 1 OR count(DISTINCT platform) > 1)"""
    assert _scalar(con, moved) == 0


def test_values_of_each_column(con: duckdb.DuckDBPyConnection) -> None:
    names = {row[0] for row in con.sql("SELECT DISTINCT event FROM e").fetchall()}
    assert names == EVENTS
    platforms = {row[0] for row in con.sql("SELECT DISTINCT platform FROM e").fetchall()}
    assert platforms == {"ios", "android", "web"}
    assert {row[0] for row in con.sql("SELECT DISTINCT plan FROM e").fetchall()} == {
        "free",
        "premium",
    }
    web = con.sql("SELECT DISTINCT app_version FROM e WHERE platform = 'web'").fetchall()
    assert web == [("web",)]
    apps = con.sql("SELECT DISTINCT app_version FROM e WHERE platform <> 'web'").fetchall()
    assert all(v[0].count(".") == 2 for v in apps) and len(apps) >= 5
    top = con.sql("SELECT country FROM u GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()
    assert top == ("US",)
    assert _scalar(con, "SELECT count(DISTINCT country) FROM u") >= 10
    assert _scalar(con, "SELECT count(DISTINCT acquisition_channel) FROM u") >= 4


def test_properties_only_where_they_belong(con: duckdb.DuckDBPyConnection) -> None:
    misplaced = """SELECT count(*) FROM e
        WHERE (duration_s IS NULL) = (event = 'song_played')
           OR (amount IS NULL) = (event = 'payment_succeeded')"""
    assert _scalar(con, misplaced) == 0
    low, high, mean = con.sql(
        "SELECT min(duration_s), max(duration_s), avg(duration_s) FROM e"
    ).fetchone() or (0, 0, 0)
    assert 0 < low < 60 and high <= 360 and 150 < mean < 240  # whole songs and partial plays
    assert con.sql("SELECT DISTINCT amount FROM e WHERE amount IS NOT NULL").fetchall() == [(9.99,)]
    plans = con.sql(
        """SELECT event, plan FROM e WHERE event IN
           ('subscription_started', 'payment_succeeded', 'subscription_cancelled')
           GROUP BY ALL ORDER BY ALL"""
    ).fetchall()
    assert plans == [
        ("payment_succeeded", "premium"),
        ("subscription_cancelled", "free"),
        ("subscription_started", "premium"),
    ]


def test_one_session_per_active_day(con: duckdb.DuckDBPyConnection) -> None:
    twice = """SELECT count(*) FROM (SELECT user_id, day FROM e WHERE event = 'app_opened'
               GROUP BY ALL HAVING count(*) > 1)"""
    assert _scalar(con, twice) == 0
    orphan = """SELECT count(*) FROM (SELECT DISTINCT user_id, day FROM e
                WHERE event IN ('song_played', 'song_skipped', 'search', 'playlist_add')) AS x
                ANTI JOIN (SELECT user_id, day FROM e WHERE event = 'app_opened') AS y
                USING (user_id, day)"""
    assert _scalar(con, orphan) == 0


def test_growth_seasonality_and_churn(con: duckdb.DuckDBPyConnection) -> None:
    signups = dict(
        con.sql(
            "SELECT quarter(day) + 4 * year(day), count(*) FROM e "
            "WHERE event = 'signed_up' GROUP BY 1"
        ).fetchall()
    )
    assert signups[4 * 2026 + 3] > 1.5 * signups[4 * 2025 + 3]
    weekend = dict(
        con.sql(
            """SELECT dayofweek(day) IN (0, 6),
               count(*) FILTER (WHERE event = 'song_played')
               / count(*) FILTER (WHERE event = 'app_opened') FROM e GROUP BY 1"""
        ).fetchall()
    )
    assert weekend[True] > 1.15 * weekend[False]
    gone = """SELECT avg((last < DATE '2026-09-01')::INT) FROM (
        SELECT u.user_id, max(e.day) AS last FROM u JOIN e USING (user_id)
        WHERE u.start < DATE '2026-03-01' GROUP BY 1)"""
    assert _scalar(con, gone) > 0.5


def test_same_seed_same_data(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", users=1500, seed=3)
    second = generate(tmp_path / "b", users=1500, seed=3)
    other = generate(tmp_path / "c", users=1500, seed=4)
    assert first.events == second.events
    for name in ("data/events/part-00000.parquet", "data/users.parquet"):
        assert pq.read_table(tmp_path / "a" / name).equals(pq.read_table(tmp_path / "b" / name))
        assert not pq.read_table(tmp_path / "a" / name).equals(pq.read_table(tmp_path / "c" / name))
    assert other.events != first.events
    yml = "cynosure.yml"
    assert (tmp_path / "a" / yml).read_text() == (tmp_path / "b" / yml).read_text()


def test_regenerates_over_an_earlier_demo(tmp_path: Path) -> None:
    generate(tmp_path, users=600, seed=1)
    (tmp_path / "data" / "events" / "part-00007.parquet").write_bytes(b"stale")
    summary = generate(tmp_path, users=400, seed=2)
    assert summary.users == 400
    assert [p.name for p in _parts(tmp_path)] == ["part-00000.parquet"]
    assert pq.read_table(tmp_path / "data" / "users.parquet").num_rows == 400


def test_refuses_a_directory_that_is_not_a_demo(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="not empty"):
        generate(tmp_path, users=10)
    (tmp_path / "cynosure.yml").write_text("project: Mine\n")
    with pytest.raises(DataError, match="not empty"):
        generate(tmp_path, users=10)
    assert (tmp_path / "cynosure.yml").read_text() == "project: Mine\n"
    assert not (tmp_path / "data").exists()
    with pytest.raises(DataError, match="not a directory"):
        generate(tmp_path / "notes.txt", users=10)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [({"users": 0}, "users"), ({"months": 0}, "months"), ({"seed": -1}, "seed")],
)
def test_rejects_bad_arguments(tmp_path: Path, arguments: dict[str, int], message: str) -> None:
    with pytest.raises(CynosureError, match=message):
        generate(tmp_path, **arguments)


def test_progress_and_other_ranges(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    summary = generate(
        tmp_path, users=200, months=3, end=date(2026, 2, 15), progress=lambda *a: calls.append(a)
    )
    assert calls == [(200, 200)]
    assert (summary.start, summary.end) == (date(2025, 11, 16), date(2026, 2, 15))
    table = pq.read_table(_parts(tmp_path)[0], columns=["timestamp"])
    first, last = pc.min_max(table["timestamp"]).values()
    assert first.as_py().date() >= summary.start and last.as_py().date() <= summary.end
