"""Each planted truth is measurably present in the raw data, at about its documented size.

Measured with plain DuckDB on the event files, independently of Cynosure's engine. Sizes are
printed (run with ``-s``) so they can be quoted.
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from cynosure.demo import truths


@pytest.fixture(scope="module")
def weekly(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Whole Monday weeks after the launch burst, with the series the truths are about."""
    frame = con.sql(
        """SELECT date_trunc('week', day) AS week,
              sum(duration_s) / 3600 AS listening_hours,
              count(*) FILTER (WHERE event = 'song_played') AS song_plays,
              count(*) FILTER (WHERE event = 'search') AS searches,
              count(*) FILTER (WHERE event = 'signed_up') AS signups,
              coalesce(sum(amount), 0) AS revenue
           FROM e GROUP BY 1 ORDER BY 1"""
    ).df()
    # The first weeks are the launch (tiny, exploding numbers), the last one may be partial.
    return frame.iloc[9:-1].set_index("week")


def _value(frame: pd.DataFrame, day: date, column: str) -> float:
    return float(frame[column].to_numpy()[frame.index == pd.Timestamp(day)][0])


def test_aha_moment(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.sql(
        f"""WITH first AS (
              SELECT u.user_id,
                count(*) FILTER (WHERE e.event = '{truths.AHA_EVENT}'
                                 AND e.day < u.start + {truths.AHA_WITHIN_DAYS}) AS adds,
                bool_or(e.day >= u.start + 28 AND e.day < u.start + 35) AS retained
              FROM u JOIN e USING (user_id)
              WHERE u.start + 34 <= DATE '2026-10-31' GROUP BY 1)
            SELECT adds >= {truths.AHA_AT_LEAST}, count(*), avg(retained::INT)
            FROM first GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    (_, others, kept_others), (_, aha, kept_aha) = rows
    reach = aha / (aha + others)
    print(f"aha: reach {reach:.1%}, week-4 retention {kept_aha:.1%} vs {kept_others:.1%}")
    assert 0.25 <= reach <= 0.35
    assert kept_aha > kept_others + 0.25


def test_searches_lead_listening_by_two_weeks(weekly: pd.DataFrame) -> None:
    leader = np.diff(np.log(weekly["searches"].to_numpy(dtype=float)))
    follower = np.diff(np.log(weekly["listening_hours"].to_numpy(dtype=float)))
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


def test_recommendations_v2_lifts_ios_only(con: duckdb.DuckDBPyConnection) -> None:
    # Plays per active day before and after the launch, up to the incident week.
    rates = con.sql(
        f"""SELECT platform, day >= DATE '{truths.INTERVENTION_DATE}' AS after,
              count(*) FILTER (WHERE event = 'song_played')
              / count(*) FILTER (WHERE event = 'app_opened')
           FROM e WHERE day >= DATE '2026-03-02' AND day < DATE '{truths.INCIDENT_START}'
           GROUP BY ALL"""
    ).fetchall()
    change = {}
    for platform in ("ios", "android", "web"):
        rate = {after: value for p, after, value in rates if p == platform}
        change[platform] = rate[True] / rate[False]
    did = {p: change["ios"] / change[p] - 1 for p in ("android", "web")}
    print(f"recommendations v2: difference-in-differences {did}")
    for effect in did.values():
        assert abs(effect - truths.INTERVENTION_EFFECT) < 0.04
    assert abs(change["android"] / change["web"] - 1) < 0.03


def test_android_420_incident(con: duckdb.DuckDBPyConnection, weekly: pd.DataFrame) -> None:
    before, during, after = date(2026, 8, 31), truths.INCIDENT_START, date(2026, 9, 14)
    hours = [_value(weekly, day, "listening_hours") for day in (before, during, after)]
    print(f"incident: weekly hours {[round(h) for h in hours]}")
    assert hours[1] < 0.9 * hours[0]
    assert hours[2] > 1.1 * hours[1]

    segment = dict(
        con.sql(
            """SELECT date_trunc('week', day)::DATE,
                  count(*) FILTER (WHERE event = 'song_played')
                  / count(*) FILTER (WHERE event = 'app_opened')
               FROM e WHERE platform = 'android' AND app_version = '4.2.0'
               AND day BETWEEN DATE '2026-08-31' AND DATE '2026-09-20' GROUP BY 1"""
        ).fetchall()
    )
    drop = segment[during] / segment[before] - 1
    print(f"incident: android 4.2.0 plays per active day {drop:+.0%}")
    assert segment[during] < 0.45 * segment[before]
    assert segment[after] > 0.7 * segment[before]

    versions = dict(
        con.sql(
            f"""SELECT app_version, count(DISTINCT user_id) FROM e
               WHERE platform = 'android' AND event = 'app_opened'
               AND day BETWEEN DATE '{truths.INCIDENT_START}' AND DATE '{truths.INCIDENT_END}'
               GROUP BY 1"""
        ).fetchall()
    )
    assert max(versions, key=lambda v: tuple(map(int, v.split(".")))) == "4.2.0"
    assert versions["4.2.0"] > 0.5 * sum(versions.values())
    # Other platforms are untouched.
    others = con.sql(
        """SELECT date_trunc('week', day)::DATE, count(*) FILTER (WHERE event = 'song_played')
              / count(*) FILTER (WHERE event = 'app_opened')
           FROM e WHERE platform = 'ios' AND day BETWEEN DATE '2026-08-31' AND DATE '2026-09-13'
           GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    assert others[1][1] > 0.75 * others[0][1]


def test_signups_total_only_rises(weekly: pd.DataFrame) -> None:
    total = weekly["signups"].cumsum().to_numpy()
    assert (np.diff(total) > 0).all()
    # ... even through the incident week, when listening fell.
    assert _value(weekly, truths.INCIDENT_START, "signups") > 0


def test_revenue_follows_listening(con: duckdb.DuckDBPyConnection, weekly: pd.DataFrame) -> None:
    correlation = float(np.corrcoef(weekly["revenue"], weekly["listening_hours"])[0, 1])
    upgrades = dict(
        con.sql(
            """WITH days AS (
                 SELECT user_id, day, coalesce(sum(duration_s), 0) / 60 AS minutes,
                   bool_or(event = 'subscription_started') AS upgraded,
                   any_value(plan) FILTER (WHERE event = 'app_opened') AS plan
                 FROM e GROUP BY ALL)
               SELECT minutes >= 30, avg(upgraded::INT) FROM days
               WHERE plan = 'free' GROUP BY 1"""
        ).fetchall()
    )
    print(f"revenue: correlation with hours {correlation:.2f}, daily upgrade rate {upgrades}")
    assert correlation > 0.8
    assert upgrades[True] > 2 * upgrades[False]
    gaps = con.sql(
        """SELECT avg((gap = 30)::INT) FROM (
             SELECT day - lag(day) OVER (PARTITION BY user_id ORDER BY timestamp) AS gap
             FROM e WHERE event = 'payment_succeeded') WHERE gap IS NOT NULL"""
    ).fetchone()
    assert gaps is not None and gaps[0] > 0.9
