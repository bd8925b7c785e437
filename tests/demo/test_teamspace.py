"""Teamspace, the second demo product: files, determinism, the project, and its planted truths.

The truths are measured with plain DuckDB on the raw files (local days in the product's time
zone, Sunday weeks), independently of Cynosure's engine. Sizes are printed (run with ``-s``) so
they can be quoted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml

from cynosure import Project
from cynosure.demo import DemoSummary
from cynosure.demo.project_file import MARKER
from cynosure.demo.teamspace import generate as generate_teamspace
from cynosure.demo.teamspace import truths
from cynosure.demo.teamspace.behaviour import simulate_lives
from cynosure.demo.teamspace.members import draw_members
from cynosure.demo.teamspace.world import build_world
from cynosure.errors import DataError

MEMBERS = 12_000
SEED = 11
END = date(2026, 10, 31)
EVENT_SCHEMA = pa.schema(
    [
        ("member_id", pa.string()),
        ("sent_at", pa.timestamp("us", tz="UTC")),
        ("action", pa.string()),
        ("company_size", pa.string()),
        ("platform", pa.string()),
        ("region", pa.string()),
        ("characters", pa.int32()),
        ("amount", pa.float64()),
    ]
)
ACTIONS = {
    "joined",
    "message_sent",
    "reaction_added",
    "channel_joined",
    "file_shared",
    "huddle_started",
    "integration_added",
    "invite_sent",
    "search",
    "page_viewed",
    "invoice_paid",
    "notification_opened",
}


@pytest.fixture(scope="module")
def teamspace(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    return generate_teamspace(tmp_path_factory.mktemp("ts") / "teamspace", users=MEMBERS)


@pytest.fixture(scope="module")
def db(teamspace: DemoSummary) -> Iterator[duckdb.DuckDBPyConnection]:
    """Tables ``e`` (events with their local ``day``) and ``m`` (members with a local
    ``start``), in memory; the session time zone is the product's, so dates are local."""
    connection = duckdb.connect()
    connection.execute("SET enable_progress_bar = false")
    connection.execute(f"SET TimeZone = '{truths.TIMEZONE}'")
    data = Path(teamspace.directory) / "data"
    connection.execute(
        "CREATE TABLE e AS SELECT *, CAST(sent_at AS DATE) AS day "
        f"FROM read_parquet('{data / 'events' / '*.parquet'}')"
    )
    connection.execute(
        "CREATE TABLE m AS SELECT *, CAST(joined_at AS DATE) AS start "
        f"FROM read_parquet('{data / 'members.parquet'}')"
    )
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def early(db: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per member with eight weeks of data after joining: early event counts and retention
    (any activity in life days 28 to 55)."""
    counts = ", ".join(
        f"count(*) FILTER (WHERE e.action = '{a}' AND e.day < m.start + "
        f"{truths.AHA_WITHIN_DAYS}) AS {a}"
        for a in ("channel_joined", "page_viewed", "message_sent", "reaction_added")
    )
    return db.sql(
        f"""SELECT m.member_id, {counts},
              coalesce(bool_or(e.day >= m.start + 28 AND e.day < m.start + 56
                               AND e.action <> 'invoice_paid'), false)::INT AS retained
           FROM m JOIN e USING (member_id)
           WHERE m.start + 55 <= DATE '{END}' GROUP BY 1"""
    ).df()


@pytest.fixture(scope="module")
def weekly(db: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Whole Sunday weeks after the first month (small numbers), the last partial one dropped."""
    frame = db.sql(
        """SELECT day - CAST(dayofweek(day) AS INTEGER) AS week,
              count(*) FILTER (WHERE action = 'message_sent') AS messages,
              count(*) FILTER (WHERE action = 'file_shared') AS files,
              count(*) FILTER (WHERE action = 'page_viewed') AS page_views,
              coalesce(sum(amount), 0) AS revenue
           FROM e GROUP BY 1 ORDER BY 1"""
    ).df()
    return frame.iloc[5:-1].set_index("week")


def _phi(flag: pd.Series, outcome: pd.Series) -> float:
    return float(np.corrcoef(flag.to_numpy(float), outcome.to_numpy(float))[0, 1])


def _scalar(db: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = db.sql(sql).fetchone()
    assert row is not None
    return row[0]


# -- files and determinism ------------------------------------------------------------------


def test_summary_layout_and_schema(teamspace: DemoSummary) -> None:
    assert (teamspace.start, teamspace.end, teamspace.users) == (date(2025, 11, 1), END, MEMBERS)
    assert 100 * MEMBERS < teamspace.events < 160 * MEMBERS
    parts = sorted((teamspace.directory / "data" / "events").glob("*.parquet"))
    assert [p.name for p in parts] == ["part-00000.parquet", "part-00001.parquet"]
    rows = 0
    for part in parts:
        assert pq.read_schema(part).equals(EVENT_SCHEMA)
        stamps = pq.read_table(part, columns=["sent_at"])["sent_at"]
        assert pc.all(pc.greater_equal(stamps[1:], stamps[:-1])).as_py(), part
        rows += pq.ParquetFile(part).metadata.num_rows
    assert rows == teamspace.events
    members = pq.read_table(teamspace.directory / "data" / "members.parquet")
    assert members.column_names == ["member_id", "joined_at", "company_size", "platform", "region"]
    assert members.num_rows == MEMBERS
    assert members["member_id"][0].as_py() == "m000001"
    text = (teamspace.directory / "cynosure.yml").read_text(encoding="utf-8")
    assert text.startswith(MARKER)


def test_values_and_invariants(db: duckdb.DuckDBPyConnection) -> None:
    assert {r[0] for r in db.sql("SELECT DISTINCT action FROM e").fetchall()} == ACTIONS
    assert _scalar(db, "SELECT min(day) FROM e") == date(2025, 11, 1)
    assert _scalar(db, "SELECT max(day) FROM e") == END
    joined = """SELECT count(*) FROM e JOIN m USING (member_id) WHERE e.action = 'joined'
                AND (e.sent_at <> m.joined_at OR e.platform <> m.platform)"""
    assert _scalar(db, joined) == 0
    assert _scalar(db, "SELECT count(*) FROM e WHERE action = 'joined'") == MEMBERS
    before = """SELECT count(*) FROM e JOIN m USING (member_id) WHERE e.action <> 'joined'
                AND e.sent_at <= m.joined_at"""
    assert _scalar(db, before) == 0
    misplaced = """SELECT count(*) FROM e WHERE (characters IS NULL) = (action = 'message_sent')
                   OR (amount IS NULL) = (action = 'invoice_paid')"""
    assert _scalar(db, misplaced) == 0
    prices = {r[0] for r in db.sql("SELECT DISTINCT amount FROM e WHERE amount > 0").fetchall()}
    assert prices == set(truths.SEAT_PRICES.values())
    # Working hours, local time.
    hours = db.sql("SELECT min(hour(sent_at)), max(hour(sent_at)) FROM e").fetchone()
    assert hours is not None and hours[0] >= 6 and hours[1] <= 23


def test_b2b_week_and_growth(db: duckdb.DuckDBPyConnection) -> None:
    active = dict(
        db.sql(
            """SELECT dayofweek(day) IN (0, 6), count(DISTINCT (member_id, day))
                  / count(DISTINCT day) FROM e GROUP BY 1"""
        ).fetchall()
    )
    print(f"active members per day: weekend {active[True]:.0f}, working day {active[False]:.0f}")
    assert active[True] < 0.3 * active[False]
    joins = dict(db.sql("SELECT start < DATE '2026-05-01', count(*) FROM m GROUP BY 1").fetchall())
    assert joins[False] > 1.4 * joins[True]


def test_same_seed_same_data_other_seed_other_data(tmp_path: Path) -> None:
    def tables(seed: int, name: str) -> list[pa.Table]:
        summary = generate_teamspace(tmp_path / name, users=600, months=3, seed=seed)
        files = sorted(summary.directory.glob("data/**/*.parquet"))
        return [pq.read_table(f) for f in files]

    first, again, other = tables(5, "a"), tables(5, "b"), tables(6, "c")
    assert len(first) == 2 and all(x.equals(y) for x, y in zip(first, again, strict=True))
    assert not first[0].equals(other[0])
    assert (tmp_path / "a" / "cynosure.yml").read_text() == (
        tmp_path / "b" / "cynosure.yml"
    ).read_text()


def test_arguments_and_directories(tmp_path: Path) -> None:
    for bad in ({"users": 0}, {"months": 0}, {"seed": -1}):
        with pytest.raises(DataError):
            generate_teamspace(tmp_path / "x", **bad)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="not empty"):
        generate_teamspace(mine, users=200, months=2)
    # A directory holding an earlier demo (of either product) is regenerated, stale tables gone.
    earlier = tmp_path / "earlier"
    (earlier / "data" / "events").mkdir(parents=True)
    (earlier / "cynosure.yml").write_text(f"{MARKER} (seed 7)\n")
    (earlier / "data" / "users.parquet").write_bytes(b"stale")
    (earlier / "data" / "events" / "part-00009.parquet").write_bytes(b"stale")
    generate_teamspace(earlier, users=200, months=2)
    assert sorted(p.name for p in (earlier / "data").rglob("*.parquet")) == [
        "members.parquet",
        "part-00000.parquet",
    ]


# -- the project file ---------------------------------------------------------------------


def test_project_file_declares_the_contract(teamspace: DemoSummary) -> None:
    spec = yaml.safe_load((teamspace.directory / "cynosure.yml").read_text(encoding="utf-8"))
    assert (spec["project"], spec["timezone"], spec["week_start"]) == (
        "Teamspace",
        "America/New_York",
        "sunday",
    )
    assert spec["events"]["entity"] == "member_id"
    assert (spec["events"]["time"], spec["events"]["name"]) == ("sent_at", "action")
    assert spec["entities"] == {
        "source": "data/members.parquet",
        "key": "member_id",
        "created": "joined_at",
    }
    metrics = spec["metrics"]
    for name, metric in metrics.items():
        assert metric.get("owner") and metric.get("label") and metric.get("description"), name
    assert spec["north_star"] == truths.NORTH_STAR
    assert metrics[truths.NORTH_STAR]["candidate"] is True
    assert metrics[truths.VANITY_METRIC]["cumulative"] is True
    assert metrics[truths.VANITY_METRIC]["candidate"] is True
    assert metrics["engaged_members"]["threshold"]["unit"] == "days"
    assert spec["tree"]["messages_per_member"] == [truths.LEADER_METRIC, "channel_joins"]
    assert spec["outcomes"] == ["revenue", "week4_retention"]
    assert [i["name"] for i in spec["interventions"]] == [
        truths.INTERVENTION_NAME,
        truths.INCIDENT_NAME,
    ]
    assert spec["interventions"][1]["end"] == truths.INCIDENT_END
    assert spec["targets"][0]["metric"] == truths.NORTH_STAR


def test_project_loads_validates_and_has_a_tree(teamspace: DemoSummary) -> None:
    with Project.load(teamspace.directory / "cynosure.yml") as project:
        assert project.north_star == "messages_sent"
        assert isinstance(project.validate(), list)
        tree = project.tree()
        assert tree.to_dict()["north_star"] == "messages_sent"
        assert tree.summary()


# -- the planted truths -------------------------------------------------------------------


def test_aha_moment(early: pd.DataFrame) -> None:
    joins = early["channel_joined"]
    aha = joins >= truths.AHA_AT_LEAST
    reach = float(aha.mean())
    kept = early.groupby(aha)["retained"].mean()
    phi = {t: _phi(joins >= t, early["retained"]) for t in range(1, 6)}
    print(
        f"aha: reach {reach:.1%}, retention days 28-55 {kept[True]:.1%} vs {kept[False]:.1%}; "
        f"phi by threshold { ({t: round(v, 3) for t, v in phi.items()}) }"
    )
    assert 0.22 <= reach <= 0.38
    assert kept[True] > kept[False] + 0.2
    for threshold in range(1, 6):
        share = float((joins >= threshold).mean())
        assert 0.02 < share < 0.98, threshold
    assert max(phi, key=lambda t: phi[t]) == truths.AHA_AT_LEAST
    # The causal step: a jump at 3 channel joins, far larger than between 1 and 2 or 3 and 4.
    rate = early.groupby(joins.clip(upper=5))["retained"].mean()
    assert rate[3] - rate[2] > 2 * max(rate[2] - rate[1], rate[4] - rate[3])
    # Other early behaviours predict retention only through engagement: far weaker.
    for action in ("message_sent", "reaction_added"):
        best = max(_phi(early[action] >= t, early["retained"]) for t in range(1, 9))
        assert best < 0.6 * phi[3], action


def test_files_lead_messages_by_three_weeks(weekly: pd.DataFrame) -> None:
    leader = np.diff(np.log(weekly["files"].to_numpy(dtype=float)))
    follower = np.diff(np.log(weekly["messages"].to_numpy(dtype=float)))
    correlation = {
        lag: float(np.corrcoef(leader[: len(leader) - lag], follower[lag:])[0, 1])
        if lag >= 0
        else float(np.corrcoef(leader[-lag:], follower[: len(follower) + lag])[0, 1])
        for lag in range(-4, 7)
    }
    print("lead-lag correlations:", {k: round(v, 2) for k, v in correlation.items()})
    assert max(correlation, key=lambda lag: correlation[lag]) == truths.LEAD_WEEKS
    assert correlation[truths.LEAD_WEEKS] > 0.6
    assert abs(correlation[0]) < 0.3


def test_page_views_are_unrelated_to_retention(early: pd.DataFrame, weekly: pd.DataFrame) -> None:
    phi = {t: _phi(early["page_viewed"] >= t, early["retained"]) for t in range(1, 6)}
    aha = _phi(early["channel_joined"] >= truths.AHA_AT_LEAST, early["retained"])
    print(f"page views: phi by threshold { ({t: round(v, 3) for t, v in phi.items()}) }")
    # Only the few members who leave in their first days (and so view fewer pages) link the two.
    assert all(abs(v) < 0.05 for v in phi.values())
    assert max(phi.values()) < aha / 5
    # ... while their running total only rises.
    assert (np.diff(weekly["page_views"].cumsum().to_numpy()) > 0).all()


def test_no_events_after_churn(db: duckdb.DuckDBPyConnection) -> None:
    # Re-simulate the lives of the first file's members: the generator draws them first.
    world = build_world(END, 12, SEED)
    rng = np.random.default_rng([SEED, 1])
    members = draw_members(rng, world, 10_000)
    lives, _ = simulate_lives(rng, world, members)
    last_day = np.datetime64(world.start) + (members.join_day + lives.alive_days - 1)
    lived = pd.DataFrame(
        {
            "member_id": [f"m{i:06d}" for i in range(1, 10_001)],
            "last_day": last_day.astype("datetime64[D]").astype(str),
            "churned": lives.churned,
        }
    )
    db.register("lives", lived)
    late, churned, last_seen_on_last_day = db.sql(
        """SELECT count(*) FILTER (WHERE e.day > CAST(lives.last_day AS DATE)),
              count(DISTINCT member_id) FILTER (WHERE lives.churned),
              count(DISTINCT member_id) FILTER (WHERE lives.churned
                                                AND e.day = CAST(lives.last_day AS DATE))
           FROM e JOIN lives USING (member_id)"""
    ).fetchone() or (None, None, None)
    print(
        f"churn: {churned} of 10,000 members churned ({last_seen_on_last_day} active on their "
        f"churn day); events after a churn day: {late}"
    )
    assert late == 0
    assert churned > 3000 and last_seen_on_last_day > 0


def test_revenue_follows_messages(db: duckdb.DuckDBPyConnection, weekly: pd.DataFrame) -> None:
    correlation = float(np.corrcoef(weekly["revenue"], weekly["messages"])[0, 1])
    # Daily upgrade rate of free members (up to their first invoice) by messages sent that day.
    upgrades = dict(
        db.sql(
            """WITH first AS (SELECT member_id, min(day) AS paid FROM e
                              WHERE action = 'invoice_paid' GROUP BY 1),
               days AS (SELECT member_id, day,
                          count(*) FILTER (WHERE action = 'message_sent') AS n
                        FROM e WHERE action <> 'invoice_paid' GROUP BY ALL)
               SELECT CASE WHEN n = 0 THEN 'none' WHEN n <= 2 THEN 'few' WHEN n >= 8
                      THEN 'many' END AS messages,
                 avg(coalesce(days.day = first.paid, false)::INT)
               FROM days LEFT JOIN first USING (member_id)
               WHERE first.paid IS NULL OR days.day <= first.paid GROUP BY 1"""
        ).fetchall()
    )
    print(f"revenue: correlation with messages {correlation:.2f}, daily upgrade rate {upgrades}")
    assert correlation > 0.8
    assert upgrades["none"] == 0
    assert upgrades["many"] > 2 * upgrades["few"]
    gaps = db.sql(
        """SELECT min(gap), max(gap) FROM (
             SELECT day - lag(day) OVER (PARTITION BY member_id ORDER BY sent_at) AS gap
             FROM e WHERE action = 'invoice_paid') WHERE gap IS NOT NULL"""
    ).fetchone()
    assert gaps == (truths.BILLING_PERIOD_DAYS, truths.BILLING_PERIOD_DAYS)


def _messages_per_active_day(db: duckdb.DuckDBPyConnection, first: date, last: date) -> dict:
    return dict(
        db.sql(
            f"""SELECT platform, count(*) FILTER (WHERE action = 'message_sent')
                  / count(DISTINCT (member_id, day))
               FROM e WHERE day BETWEEN DATE '{first}' AND DATE '{last}' GROUP BY 1"""
        ).fetchall()
    )


def test_mobile_incident(db: duckdb.DuckDBPyConnection) -> None:
    week = timedelta(days=7)
    during = _messages_per_active_day(db, truths.INCIDENT_START, truths.INCIDENT_END)
    before = _messages_per_active_day(db, truths.INCIDENT_START - week, truths.INCIDENT_END - week)
    change = {p: during[p] / before[p] for p in during}
    effect = change["mobile"] / np.mean([change["desktop"], change["web"]]) - 1
    print(f"incident: mobile messages per active day {effect:+.0%} against other platforms")
    assert abs(effect - truths.INCIDENT_EFFECT) < 0.1
    assert abs(change["desktop"] / change["web"] - 1) < 0.1


def test_threads_lifts_desktop_only(db: duckdb.DuckDBPyConnection) -> None:
    launch = truths.INTERVENTION_DATE
    weeks = timedelta(days=56)
    before = _messages_per_active_day(db, launch - weeks, launch - timedelta(days=1))
    after = _messages_per_active_day(db, launch, launch + weeks - timedelta(days=1))
    change = {p: after[p] / before[p] for p in after}
    did = {p: change["desktop"] / change[p] - 1 for p in ("web", "mobile")}
    print(f"threads: difference-in-differences { ({p: round(v, 3) for p, v in did.items()}) }")
    for effect in did.values():
        assert abs(effect - truths.INTERVENTION_EFFECT) < 0.05
    assert abs(change["web"] / change["mobile"] - 1) < 0.05
