"""Every metric kind against the independent pandas reference (docs/metrics.md).

Timestamps in the tables are UTC; comments give the local time in the project's zone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
import yaml

from .helpers import (
    assert_frames_match,
    build,
    check_against_reference,
    events_frame,
    write_events,
)
from .reference import Reference, local_days

GRAINS = ("day", "week", "month")

PLAY = "event = 'play'"

# One metric of every kind and option, used on several tables.
ALL_KINDS = {
    "events": {"count": True},
    "plays": {"count": True, "where": PLAY},
    "active": {"users": True},
    "players": {"users": True, "where": PLAY},
    "revenue": {"sum": "amount", "where": "event = 'buy'"},
    "amount_expr": {"sum": "amount * 2 + 1"},
    "avg_amount": {"mean": "amount"},
    "avg_play_amount": {"mean": "amount / 2", "where": PLAY},
    "revenue_per_player": {"ratio": ["revenue", "players"]},
    "plays_per_user": {"formula": "plays / active"},
    "mixed": {"formula": "(plays - 2 * players) / (revenue - 10) + 1.5"},
    "heavy_players": {"threshold": {"at_least": 2, "where": PLAY}},
    "heavy_days": {"threshold": {"at_least": 2, "unit": "days", "where": PLAY}},
    "frequent": {"threshold": {"at_least": 3, "of": "users"}},
    "buyers_7d": {"conversion": {"event": "buy", "within": "7d"}},
    "big_buyers_1w": {"conversion": {"event": "buy", "within": "1w"}, "where": "amount >= 10"},
    "ret_d1": {"retention": {"after": "1d", "within": "1d"}},
    "ret_w1": {"retention": {"after": "7d"}, "where": PLAY},
    "new": {"users": True, "lifecycle": "new", "where": PLAY},
    "retained": {"users": True, "lifecycle": "retained", "where": PLAY},
    "resurrected": {"users": True, "lifecycle": "resurrected", "where": PLAY},
    "churned": {"users": True, "lifecycle": "churned", "where": PLAY},
    "plays_total": {"count": True, "where": PLAY, "cumulative": True},
    "amount_total": {"sum": "amount", "cumulative": True},
    "players_total": {"users": True, "where": PLAY, "cumulative": True},
}

# America/New_York, weeks from Sunday. 2026-03-01 is a Sunday; DST starts 2026-03-08 07:00 UTC.
EDGE_ROWS = [
    ("u1", "2026-03-01 15:00", "signup", "US", None),
    ("u1", "2026-03-01 16:00", "play", "US", 10.0),
    ("u1", "2026-03-02 04:30", "play", "US", None),  # 03-01 23:30 EST: still Sunday
    ("u1", "2026-03-03 12:00", "play", "US", 5.0),
    ("u1", "2026-03-03 12:00", "play", "US", 5.0),  # an exact duplicate: counted twice
    ("u2", "2026-03-02 05:30", "signup", "DE", None),  # 03-02 00:30 EST: Monday
    ("u2", "2026-03-04 10:00", "play", "DE", 4.0),
    ("u2", "2026-03-08 04:30", "buy", "DE", 20.0),  # 03-07 23:30 EST: Saturday, week 1
    ("u2", "2026-03-09 03:30", "play", None, 1.0),  # 03-08 23:30 EDT: Sunday, week 2
    ("u3", "2026-03-09 04:30", "signup", "FR", None),  # 03-09 00:30 EDT (would be 03-08 in EST)
    ("u3", "2026-03-10 12:00", "buy", "FR", 7.5),
    ("u3", "2026-03-10 13:00", "play", "FR", None),
    (None, "2026-03-10 13:00", "play", "FR", 100.0),  # no entity: not counted
    ("u2", None, "play", "DE", 100.0),  # no time: not counted
    # the week of 2026-03-15 has no events at all
    ("u1", "2026-03-22 14:00", "play", "US", 3.0),  # u1 resurrected
    ("u4", "2026-03-23 14:00", "signup", "US", None),
    ("u4", "2026-03-24 14:00", "buy", "US", 12.0),
    ("u4", "2026-04-01 03:30", "play", "US", 2.0),  # 03-31 23:30 EDT: still March
    ("u2", "2026-04-01 04:30", "play", "DE", 2.0),  # 04-01 00:30 EDT: April
    ("u4", "2026-04-05 16:00", "play", "US", 1.0),
]


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    events = events_frame(EDGE_ROWS)
    project, config = build(tmp_path_factory.mktemp("edge"), events, ALL_KINDS)
    reference = Reference(config, events)
    want = {grain: reference.series(grain) for grain in GRAINS}
    return project, config, want


@pytest.mark.parametrize("grain", GRAINS)
@pytest.mark.parametrize("metric", sorted(ALL_KINDS))
def test_every_kind_matches_the_reference(edge, metric, grain):
    project, config, want = edge
    assert_frames_match(project.series(grain)[[metric]], want[grain][[metric]], config)


def test_edge_table_by_hand(edge):
    """A few values worked out by hand, so the reference itself is checked too."""
    project, _, _ = edge
    week = project.series("week")
    assert list(week.index) == [date(2026, 3, 1) + timedelta(days=7 * i) for i in range(6)]
    # Sunday weeks; u1's 23:30 EST play and u2's Saturday-night buy stay in week 1.
    assert week["plays"].tolist() == [5, 2, 0, 1, 2, 1]
    assert week["events"].tolist() == [8, 4, 0, 3, 2, 1]
    assert week["revenue"].tolist() == [20, 7.5, 0, 12, 0, 0]
    assert week["new"].tolist() == [2, 1, 0, 0, 1, 0]
    assert week["retained"].tolist() == [0, 1, 0, 0, 0, 1]
    assert week["resurrected"].tolist() == [0, 0, 0, 1, 1, 0]
    assert week["churned"].tolist() == [0, 1, 2, 0, 1, 1]
    assert np.isnan(week["revenue_per_player"].iloc[2])  # 0 / 0 players
    assert np.isnan(week["avg_amount"].iloc[2])
    day = project.series("day")
    assert day.loc[date(2026, 3, 1), "plays"] == 2
    assert day.loc[date(2026, 3, 8), "plays"] == 1
    assert day.loc[date(2026, 3, 9), "events"] == 1
    assert day.loc[date(2026, 3, 31), "plays"] == 1
    assert day.loc[date(2026, 4, 1), "plays"] == 1
    month = project.series("month")
    assert month["plays"].tolist() == [9, 2]
    assert month["players_total"].tolist() == [4, 4]


def test_null_entity_and_null_time_rows_are_not_counted(tmp_path):
    events = events_frame(
        [
            ("a", "2026-05-04 12:00", "play", "US", 1.0),
            (None, "2026-05-04 13:00", "play", "US", 5.0),
            ("b", None, "play", "US", 7.0),
            ("a", "2026-05-05 12:00", "play", "US", 2.0),
        ]
    )
    metrics = {"plays": {"count": True}, "users": {"users": True}, "amount": {"sum": "amount"}}
    project, config = build(tmp_path, events, metrics)
    day = project.series("day")
    assert day["plays"].tolist() == [1, 1]
    assert day["users"].tolist() == [1, 1]
    assert day["amount"].tolist() == [1, 2]
    check_against_reference(project, config, events)


# -- time zones and calendars ---------------------------------------------------------------

DST_CASES = {
    # zone: [(UTC timestamp, expected local day)], around the 2026 transitions
    "America/New_York": [
        ("2026-03-08 04:30", date(2026, 3, 7)),  # 23:30 EST
        ("2026-03-08 05:30", date(2026, 3, 8)),  # 00:30 EST
        ("2026-03-08 06:59", date(2026, 3, 8)),  # 01:59 EST, just before 2am -> 3am
        ("2026-03-08 07:00", date(2026, 3, 8)),  # 03:00 EDT
        ("2026-03-09 03:59", date(2026, 3, 8)),  # 23:59 EDT
        ("2026-03-09 04:00", date(2026, 3, 9)),  # 00:00 EDT (04:59 would still be 03-08 in EST)
        ("2026-11-01 03:59", date(2026, 10, 31)),  # 23:59 EDT
        ("2026-11-01 04:00", date(2026, 11, 1)),  # 00:00 EDT
        ("2026-11-01 05:30", date(2026, 11, 1)),  # 01:30 EDT
        ("2026-11-01 06:30", date(2026, 11, 1)),  # 01:30 EST, the repeated hour
        ("2026-11-02 04:30", date(2026, 11, 1)),  # 23:30 EST
        ("2026-11-02 05:00", date(2026, 11, 2)),  # 00:00 EST
    ],
    "Europe/Berlin": [
        ("2026-03-28 22:59", date(2026, 3, 28)),  # 23:59 CET
        ("2026-03-28 23:00", date(2026, 3, 29)),  # 00:00 CET
        ("2026-03-29 01:30", date(2026, 3, 29)),  # 03:30 CEST
        ("2026-03-29 21:59", date(2026, 3, 29)),  # 23:59 CEST
        ("2026-03-29 22:00", date(2026, 3, 30)),  # 00:00 CEST
        ("2026-10-24 21:59", date(2026, 10, 24)),  # 23:59 CEST
        ("2026-10-24 22:00", date(2026, 10, 25)),  # 00:00 CEST
        ("2026-10-25 00:30", date(2026, 10, 25)),  # 02:30 CEST
        ("2026-10-25 01:30", date(2026, 10, 25)),  # 02:30 CET, the repeated hour
        ("2026-10-25 22:30", date(2026, 10, 25)),  # 23:30 CET
        ("2026-10-25 23:00", date(2026, 10, 26)),  # 00:00 CET
    ],
    "Pacific/Auckland": [  # DST ends 2026-04-05, starts 2026-09-27
        ("2026-04-04 10:59", date(2026, 4, 4)),  # 23:59 NZDT (+13)
        ("2026-04-04 11:00", date(2026, 4, 5)),  # 00:00 NZDT
        ("2026-04-05 11:59", date(2026, 4, 5)),  # 23:59 NZST (+12)
        ("2026-04-05 12:00", date(2026, 4, 6)),  # 00:00 NZST
        ("2026-09-26 11:59", date(2026, 9, 26)),  # 23:59 NZST
        ("2026-09-26 12:00", date(2026, 9, 27)),  # 00:00 NZST
        ("2026-09-27 10:59", date(2026, 9, 27)),  # 23:59 NZDT
        ("2026-09-27 11:00", date(2026, 9, 28)),  # 00:00 NZDT
        ("2026-09-30 10:59", date(2026, 9, 30)),  # 23:59 NZDT
        ("2026-09-30 11:00", date(2026, 10, 1)),  # 00:00 NZDT: October already
    ],
    "Asia/Kolkata": [  # +05:30 all year
        ("2026-01-31 18:29", date(2026, 1, 31)),
        ("2026-01-31 18:30", date(2026, 2, 1)),
        ("2026-02-01 18:29", date(2026, 2, 1)),
    ],
}


@pytest.mark.parametrize("zone", sorted(DST_CASES))
def test_local_days_across_dst_transitions(tmp_path, zone):
    cases = DST_CASES[zone]
    events = events_frame([(f"u{i}", ts, "play", "US", 1.0) for i, (ts, _) in enumerate(cases)])
    assert local_days(events["timestamp"], zone).tolist() == [d for _, d in cases]
    metrics = {"plays": {"count": True}, "users": {"users": True}}
    project, config = build(tmp_path, events, metrics, timezone=zone, week_start="monday")
    day = project.series("day")
    expected = pd.Series([d for _, d in cases]).value_counts()
    for d, n in expected.items():
        assert day.loc[d, "plays"] == n, d
    assert day["plays"].sum() == len(cases)
    check_against_reference(project, config, events)


def test_tz_aware_timestamps_are_converted(tmp_path):
    events = events_frame(
        [
            ("a", "2026-06-01 03:30", "play", "US", 1.0),  # 05-31 23:30 EDT
            ("b", "2026-06-01 04:30", "play", "US", 1.0),  # 06-01 00:30 EDT
        ]
    )
    events["timestamp"] = events["timestamp"].dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo")
    project, config = build(tmp_path, events, {"plays": {"count": True}})
    month = project.series("month")
    assert list(month.index) == [date(2026, 5, 1), date(2026, 6, 1)]
    assert month["plays"].tolist() == [1, 1]
    check_against_reference(project, config, events)


@pytest.mark.parametrize("week_start", ["sunday", "monday", "wednesday"])
def test_week_boundaries(tmp_path, week_start):
    # 2026-06-06 is a Saturday, 06-07 a Sunday, 06-08 a Monday, 06-10 a Wednesday.
    rows = [
        ("a", "2026-06-06 12:00", "play", "US", 1.0),
        ("a", "2026-06-07 03:59", "play", "US", 1.0),  # 06-06 23:59 EDT
        ("b", "2026-06-07 04:00", "play", "US", 1.0),  # 06-07 00:00 EDT
        ("b", "2026-06-08 03:00", "play", "US", 1.0),  # 06-07 23:00 EDT
        ("c", "2026-06-08 12:00", "play", "US", 1.0),
        ("c", "2026-06-10 04:00", "play", "US", 1.0),  # 06-10 00:00 EDT
        ("a", "2026-06-10 03:00", "play", "US", 1.0),  # 06-09 23:00 EDT
    ]
    events = events_frame(rows)
    metrics = {"plays": {"count": True}, "users": {"users": True}}
    project, config = build(tmp_path, events, metrics, week_start=week_start)
    week = project.series("week")
    expected = {
        "sunday": ([date(2026, 5, 31), date(2026, 6, 7)], [2, 5]),
        "monday": ([date(2026, 6, 1), date(2026, 6, 8)], [4, 3]),
        "wednesday": ([date(2026, 6, 3), date(2026, 6, 10)], [6, 1]),
    }[week_start]
    assert list(week.index) == expected[0]
    assert week["plays"].tolist() == expected[1]
    check_against_reference(project, config, events)


def test_month_boundaries_and_gap_months(tmp_path):
    rows = [
        ("a", "2026-01-31 12:00", "play", "US", 1.0),
        ("a", "2026-02-01 04:59", "play", "US", 1.0),  # 01-31 23:59 EST
        ("b", "2026-02-01 05:00", "play", "US", 1.0),  # 02-01 00:00 EST
        ("b", "2026-03-01 04:59", "play", "US", 1.0),  # 02-28 23:59 EST
        # nothing in March or April
        ("a", "2026-05-01 03:59", "play", "US", 1.0),  # 04-30 23:59 EDT
        ("a", "2026-05-01 04:00", "buy", "US", 9.0),  # 05-01 00:00 EDT
    ]
    events = events_frame(rows)
    metrics = {
        "plays": {"count": True, "where": PLAY},
        "users": {"users": True},
        "avg": {"mean": "amount", "where": "event = 'buy'"},
        "new": {"users": True, "lifecycle": "new"},
        "retained": {"users": True, "lifecycle": "retained"},
        "resurrected": {"users": True, "lifecycle": "resurrected"},
        "churned": {"users": True, "lifecycle": "churned"},
    }
    project, config = build(tmp_path, events, metrics)
    month = project.series("month")
    assert list(month.index) == [date(2026, m, 1) for m in range(1, 6)]
    assert month["plays"].tolist() == [2, 2, 0, 1, 0]
    assert month["avg"].isna().tolist() == [True, True, True, True, False]
    assert month["new"].tolist() == [1, 1, 0, 0, 0]
    assert month["retained"].tolist() == [0, 0, 0, 0, 1]
    assert month["resurrected"].tolist() == [0, 0, 0, 1, 0]
    assert month["churned"].tolist() == [0, 1, 1, 0, 0]
    check_against_reference(project, config, events)


# -- filters --------------------------------------------------------------------------------

FILTER_ROWS = [
    ("a", "2026-04-06 12:00", "play", "US", 1.0),
    ("a", "2026-04-06 13:00", "play", "GB", 5.0),
    ("b", "2026-04-06 14:00", "buy", "US", None),
    ("b", "2026-04-06 15:00", "Play_now", None, 10.0),
    ("c", "2026-04-07 12:00", "playlist_add", "DE", 3.0),
    ("c", "2026-04-07 13:00", "buy", "DE", 12.0),
    ("d", "2026-04-07 14:00", "play", None, None),
    ("d", "2026-04-08 12:00", "play%", "FR", 0.0),
    ("e", "2026-04-08 13:00", "it's", "GB", 4.0),
]

# filter -> an independent pandas mask (NULL never qualifies)
FILTERS = {
    "country IN ('US', 'GB')": lambda e: e.country.isin(["US", "GB"]),
    "country NOT IN ('US', 'GB')": lambda e: e.country.notna() & ~e.country.isin(["US", "GB"]),
    "amount BETWEEN 1 AND 5": lambda e: (e.amount >= 1) & (e.amount <= 5),
    "amount NOT BETWEEN 1 AND 5": lambda e: e.amount.notna() & ~e.amount.between(1, 5),
    "country IS NULL": lambda e: e.country.isna(),
    "amount IS NOT NULL AND country IS NOT NULL": lambda e: e.amount.notna() & e.country.notna(),
    "event LIKE 'play%'": lambda e: e.event.str.startswith("play"),
    "event ILIKE 'play%'": lambda e: e.event.str.lower().str.startswith("play"),
    "event LIKE '_uy'": lambda e: e.event.str.fullmatch(".uy"),
    "event = 'buy' OR event = 'play' AND country = 'US'": lambda e: (
        (e.event == "buy") | ((e.event == "play") & (e.country == "US"))
    ),
    "(event = 'buy' OR event = 'play') AND country = 'US'": lambda e: (
        e.event.isin(["buy", "play"]) & (e.country == "US")
    ),
    "NOT country = 'US'": lambda e: e.country.notna() & (e.country != "US"),
    "country != 'US'": lambda e: e.country.notna() & (e.country != "US"),
    "country <> 'US' OR amount > 4": lambda e: (
        (e.country.notna() & (e.country != "US")) | (e.amount > 4)
    ),
    "amount * 2 - 1 >= 9": lambda e: e.amount * 2 - 1 >= 9,
    "coalesce(amount, 0) < 2": lambda e: e.amount.fillna(0) < 2,
    "lower(event) = 'play_now'": lambda e: e.event.str.lower() == "play_now",
    "upper(country) = 'DE' AND length(event) = 3": lambda e: (
        (e.country == "DE") & (e.event.str.len() == 3)
    ),
    "abs(amount - 10) < 3": lambda e: (e.amount - 10).abs() < 3,
    "amount / 2 = 2.5": lambda e: e.amount / 2 == 2.5,
    "amount + 2 * 3 > 10": lambda e: e.amount > 4,
    "amount IN (1, 5)": lambda e: e.amount.isin([1, 5]),
    "NOT (amount > 3)": lambda e: e.amount.notna() & (e.amount <= 3),
    "NOT (country = 'US' OR country = 'GB')": lambda e: (
        e.country.notna() & ~e.country.isin(["US", "GB"])
    ),
    "event = 'it''s'": lambda e: e.event == "it's",
    "(amount > 2 OR country = 'DE') AND NOT event LIKE '%buy%'": lambda e: (
        ((e.amount > 2) | (e.country == "DE")) & ~e.event.str.contains("buy")
    ),
}


@pytest.fixture(scope="module")
def filtered(tmp_path_factory):
    events = events_frame(FILTER_ROWS)
    metrics = {f"f{i}": {"count": True, "where": text} for i, text in enumerate(FILTERS)}
    project, config = build(tmp_path_factory.mktemp("filters"), events, metrics)
    return project, config, events, Reference(config, events).series("day")


@pytest.mark.parametrize("index", range(len(FILTERS)), ids=list(FILTERS))
def test_filters(filtered, index):
    project, config, events, reference = filtered
    text, mask = list(FILTERS.items())[index]
    day = project.series("day")
    local = local_days(events["timestamp"], "America/New_York")
    want = (
        local[mask(events).fillna(False).astype(bool)]
        .value_counts()
        .reindex(day.index, fill_value=0)
    )
    assert day[f"f{index}"].tolist() == want.tolist(), text
    assert_frames_match(day[[f"f{index}"]], reference[[f"f{index}"]], config)


def test_where_on_a_dimension_for_every_kind(tmp_path):
    events = events_frame(EDGE_ROWS)
    us = "country = 'US'"
    metrics = {
        "plays_us": {"count": True, "where": f"{PLAY} AND {us}"},
        "users_us": {"users": True, "where": us},
        "sum_us": {"sum": "amount", "where": us},
        "mean_us": {"mean": "amount", "where": us},
        "heavy_us": {"threshold": {"at_least": 2, "where": us}},
        "conv_us": {"conversion": {"event": "play", "within": "3d"}, "where": us},
        "ret_us": {"retention": {"after": "2d", "within": "5d"}, "where": us},
        "new_us": {"users": True, "lifecycle": "new", "where": us},
        "cum_us": {"users": True, "cumulative": True, "where": us},
    }
    project, config = build(tmp_path, events, metrics)
    check_against_reference(project, config, events)


# -- cohorts --------------------------------------------------------------------------------


def cohort_rows():
    """Start days 06-01 (a, b, c), 06-03 (d), 06-05 (e); data ends 06-12 (z)."""
    return [
        ("a", "2026-06-01 12:00", "signup", "US", None),
        ("a", "2026-06-07 12:00", "buy", "US", 5.0),  # day 6 = start + 7 - 1: inside 7d
        ("b", "2026-06-01 13:00", "signup", "US", None),
        ("b", "2026-06-08 12:00", "buy", "US", 5.0),  # day 7: outside 7d, inside retention
        ("c", "2026-06-01 14:00", "signup", "US", None),
        ("c", "2026-06-01 15:00", "buy", "US", 5.0),  # day 0 counts for conversion
        ("d", "2026-06-03 12:00", "signup", "US", None),
        ("d", "2026-06-10 03:30", "buy", "US", 5.0),  # 06-09 23:30 EDT = day 6
        ("e", "2026-06-05 12:00", "signup", "US", None),  # window ends 06-11 <= 06-12
        ("e", "2026-06-12 04:30", "play", "US", None),  # 06-12 00:30: day 7
        ("f", "2026-06-07 12:00", "signup", "US", None),  # window ends 06-13 > 06-12: immature
        ("f", "2026-06-07 13:00", "buy", "US", 5.0),
        ("z", "2026-06-12 20:00", "signup", "US", None),  # the last day of data
    ]


COHORT_METRICS = {
    "buy_7d": {"conversion": {"event": "buy", "within": "7d"}},
    "buy_1d": {"conversion": {"event": "buy", "within": "1d"}},
    "buy_1w": {"conversion": {"event": "buy", "within": "1w"}},
    "ret_7_1": {"retention": {"after": "7d", "within": "1d"}},
    "ret_6_2": {"retention": {"after": "6d", "within": "2d"}},
    "ret_1_6": {"retention": {"after": "1d", "within": "6d"}, "where": "event = 'buy'"},
    "ret_default": {"retention": {"after": "1d"}},
}


def test_conversion_and_retention_windows_at_the_boundary(tmp_path):
    events = events_frame(cohort_rows())
    project, config = build(tmp_path, events, COHORT_METRICS, week_start="monday")
    day = project.series("day")
    # buy within 7 days: a (day 6) yes, b (day 7) no, c (day 0) yes; d (day 6) yes.
    assert day.loc[date(2026, 6, 1), "buy_7d"] == pytest.approx(2 / 3)
    assert day.loc[date(2026, 6, 3), "buy_7d"] == 1.0
    assert day.loc[date(2026, 6, 5), "buy_7d"] == 0.0  # e: mature, never bought
    assert np.isnan(day.loc[date(2026, 6, 7), "buy_7d"])  # f: immature, excluded
    assert np.isnan(day.loc[date(2026, 6, 2), "buy_7d"])  # nobody started on 06-02
    assert day.loc[date(2026, 6, 1), "buy_1d"] == pytest.approx(1 / 3)
    assert day.loc[date(2026, 6, 12), "buy_1d"] == 0.0  # z: window [06-12] has ended
    assert day["buy_1w"].equals(day["buy_7d"])
    # activity on day 7 exactly: b (buy) and e (play); a, c are inactive on day 7.
    assert day.loc[date(2026, 6, 1), "ret_7_1"] == pytest.approx(1 / 3)
    assert day.loc[date(2026, 6, 5), "ret_7_1"] == 1.0
    assert np.isnan(day.loc[date(2026, 6, 7), "ret_7_1"])  # 06-14 is after the data
    # week of Monday 06-01 holds a, b, c, d, e, f: f is excluded (immature), 3 of 5 bought.
    week = project.series("week")
    assert week.loc[date(2026, 6, 1), "buy_7d"] == pytest.approx(3 / 5)
    check_against_reference(project, config, events)


def test_maturity_is_measured_against_the_last_day_of_data(tmp_path):
    """Moving the last event by one day matures exactly one more cohort."""
    rows = cohort_rows()
    for last, mature in (("2026-06-12 20:00", False), ("2026-06-13 20:00", True)):
        folder = tmp_path / last[:10]
        events = events_frame([*rows[:-1], ("z", last, "signup", "US", None)])
        project, config = build(folder, events, COHORT_METRICS)
        value = project.series("day").loc[date(2026, 6, 7), "buy_7d"]
        assert (value == 1.0) if mature else np.isnan(value)
        check_against_reference(project, config, events, grains=("day",))


def test_entities_table_sets_the_start_day(tmp_path):
    rows = [
        ("y", "2026-06-01 12:00", "play", "US", None),  # not in the table: starts 06-01
        ("a", "2026-06-03 12:00", "play", "US", None),  # created 06-01 (before its events)
        ("a", "2026-06-08 12:00", "buy", "US", 5.0),  # day 7 from created: not within 7d
        ("b", "2026-06-02 12:00", "play", "US", None),  # created NULL: first event 06-02
        ("b", "2026-06-04 12:00", "buy", "US", 5.0),
        ("c", "2026-06-02 12:00", "buy", "US", 5.0),  # not in the table: first event 06-02
        ("d", "2026-06-09 12:00", "buy", "US", 5.0),  # created 06-05 23:30 local
        ("g", "2026-06-02 12:00", "buy", "US", 5.0),  # before g was created: no conversion
        ("g", "2026-06-07 12:00", "play", "US", None),
        ("z", "2026-06-20 12:00", "play", "US", None),  # not in the table
    ]
    users = pd.DataFrame(
        {
            "user_id": ["a", "b", "d", "e", "f", "g"],
            "created": pd.to_datetime(
                [
                    "2026-06-01 10:00",
                    None,
                    "2026-06-06 03:30",  # 06-05 23:30 EDT
                    "2026-06-02 10:00",  # e never has an event: still in its cohort
                    "2026-05-20 10:00",  # f: created before the first event of anyone
                    "2026-06-04 10:00",
                ]
            ),
        }
    )
    events = events_frame(rows)
    metrics = {
        "buy_7d": {"conversion": {"event": "buy", "within": "7d"}},
        "ret": {"retention": {"after": "1d", "within": "7d"}},
        "users": {"users": True},
    }
    project, config = build(tmp_path, events, metrics, users=users, week_start="monday")
    day = project.series("day")
    assert day.loc[date(2026, 6, 1), "buy_7d"] == 0.0  # a (by its created day) and y
    assert day.loc[date(2026, 6, 2), "buy_7d"] == pytest.approx(2 / 3)  # b, c yes; e no
    assert day.loc[date(2026, 6, 5), "buy_7d"] == 1.0  # d, created late in the evening
    assert np.isnan(day.loc[date(2026, 6, 3), "buy_7d"])
    assert day.loc[date(2026, 6, 4), "buy_7d"] == 0.0  # g bought before its start day only
    assert day.loc[date(2026, 6, 4), "ret"] == 1.0  # g played on day 3
    check_against_reference(project, config, events, users=users)


# -- lifecycle, threshold, cumulative --------------------------------------------------------


def test_lifecycle_with_gaps_and_churn(tmp_path):
    # Monday weeks from 2026-09-07. Activity by week index:
    #   a: 0 1 - 3 - 5    b: 0 - - - 4 5    c: - 1 2 - - -    d: only non-qualifying events
    rows = [
        ("a", "2026-09-08 12:00", "play", "US", 1.0),
        ("a", "2026-09-15 12:00", "play", "US", 1.0),
        ("a", "2026-09-29 12:00", "play", "US", 1.0),
        ("a", "2026-10-13 12:00", "play", "US", 1.0),
        ("b", "2026-09-09 12:00", "play", "US", 1.0),
        ("b", "2026-10-06 12:00", "play", "US", 1.0),
        ("b", "2026-10-14 12:00", "play", "US", 1.0),
        ("c", "2026-09-16 12:00", "play", "US", 1.0),
        ("c", "2026-09-22 12:00", "play", "US", 1.0),
        ("d", "2026-09-08 12:00", "view", "US", None),
        ("d", "2026-10-13 12:00", "view", "US", None),
    ]
    events = events_frame(rows)
    metrics = {
        state: {"users": True, "lifecycle": state, "where": PLAY}
        for state in ("new", "retained", "resurrected", "churned")
    }
    metrics["active"] = {"users": True, "where": PLAY}
    project, config = build(tmp_path, events, metrics, week_start="monday")
    week = project.series("week")
    assert week["active"].tolist() == [2, 2, 1, 1, 1, 2]
    assert week["new"].tolist() == [2, 1, 0, 0, 0, 0]
    assert week["retained"].tolist() == [0, 1, 1, 0, 0, 1]
    assert week["resurrected"].tolist() == [0, 0, 0, 1, 1, 1]
    assert week["churned"].tolist() == [0, 1, 1, 1, 1, 0]
    total = week["new"] + week["retained"] + week["resurrected"]
    assert total.tolist() == week["active"].tolist()
    check_against_reference(project, config, events)


def test_threshold_units(tmp_path):
    rows = [
        ("a", "2026-07-06 12:00", "play", "US", 1.0),
        ("a", "2026-07-06 13:00", "play", "US", 1.0),
        ("a", "2026-07-06 14:00", "play", "US", 1.0),  # 3 events on 1 day
        ("b", "2026-07-06 12:00", "play", "US", 1.0),
        ("b", "2026-07-08 03:00", "play", "US", 1.0),  # 07-07 23:00 EDT: 2 events on 2 days
        ("c", "2026-07-07 12:00", "play", "US", 1.0),
        ("c", "2026-07-07 12:00", "play", "US", 1.0),  # duplicates count as events
        ("c", "2026-07-07 13:00", "buy", "US", 1.0),
    ]
    events = events_frame(rows)
    metrics = {
        "ev2": {"threshold": {"at_least": 2, "where": PLAY}},
        "ev3": {"threshold": {"at_least": 3, "unit": "events", "where": PLAY}},
        "days2": {"threshold": {"at_least": 2, "unit": "days", "where": PLAY}},
        "days1": {"threshold": {"at_least": 1, "unit": "days", "of": "entities"}},
        "any3": {"threshold": {"at_least": 3}},
    }
    project, config = build(tmp_path, events, metrics, week_start="monday")
    week = project.series("week")
    assert week["ev2"].tolist() == [3]
    assert week["ev3"].tolist() == [1]
    assert week["days2"].tolist() == [1]
    assert week["days1"].tolist() == [3]
    assert week["any3"].tolist() == [2]
    assert project.series("day")["days2"].tolist() == [0, 0]
    check_against_reference(project, config, events)


def test_cumulative_users_counts_each_entity_once(tmp_path):
    rows = [
        ("a", "2026-07-01 12:00", "play", "US", 1.0),
        ("b", "2026-07-02 12:00", "play", "US", 2.0),
        ("a", "2026-07-03 12:00", "play", "US", 3.0),
        ("c", "2026-07-03 12:00", "view", "US", 4.0),
        ("c", "2026-07-05 12:00", "play", "US", None),
    ]
    events = events_frame(rows)
    metrics = {
        "players": {"users": True, "where": PLAY, "cumulative": True},
        "plays": {"count": True, "where": PLAY, "cumulative": True},
        "amount": {"sum": "amount", "where": PLAY, "cumulative": True},
    }
    project, config = build(tmp_path, events, metrics)
    day = project.series("day")
    assert day["players"].tolist() == [1, 2, 2, 2, 3]
    assert day["plays"].tolist() == [1, 2, 3, 3, 4]
    assert day["amount"].tolist() == [1, 3, 6, 6, 6]
    check_against_reference(project, config, events)


def test_null_properties_are_skipped(tmp_path):
    rows = [
        ("a", "2026-07-01 12:00", "play", "US", None),
        ("a", "2026-07-01 13:00", "play", "US", 4.0),
        ("b", "2026-07-02 12:00", "play", "US", None),  # only NULLs: mean NULL, sum 0
        ("b", "2026-07-03 12:00", "play", "US", 0.0),
    ]
    events = events_frame(rows)
    metrics = {
        "s": {"sum": "amount"},
        "m": {"mean": "amount"},
        "m2": {"mean": "amount * 3"},
        "r": {"ratio": ["s", "m"]},
        "f": {"formula": "1 / m + s"},
        "g": {"formula": "-s + 2 * (m - 1) / 4"},
    }
    project, config = build(tmp_path, events, metrics)
    day = project.series("day")
    assert day["s"].tolist() == [4, 0, 0]
    assert day["m"].tolist()[0] == 4 and np.isnan(day["m"].iloc[1]) and day["m"].iloc[2] == 0
    assert day["r"].isna().tolist() == [False, True, True]
    assert day["f"].isna().tolist() == [False, True, True]
    check_against_reference(project, config, events)


# -- sources ------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["events.csv", "events.jsonl", "events/*.parquet"])
def test_csv_json_lines_and_globbed_sources(tmp_path, source):
    events = events_frame([r for r in EDGE_ROWS if r[1] is not None])
    if "*" in source:
        write_events(events.iloc[:8], tmp_path / "events" / "a.parquet")
        write_events(events.iloc[8:], tmp_path / "events" / "b.parquet")
    project, config = build(tmp_path, events, ALL_KINDS, source=source)
    check_against_reference(project, config, events, grains=("week",))


def test_default_warehouse_file(tmp_path):
    events = events_frame(EDGE_ROWS)
    project, config = build(tmp_path, events, ALL_KINDS, warehouse=None)
    check_against_reference(project, config, events, grains=("week",))
    assert any((tmp_path / ".cynosure").iterdir())


# -- random ---------------------------------------------------------------------------------


def user_ids(numbers, as_int: bool) -> np.ndarray:
    return np.array(
        [i if as_int else f"u{i}" for i in numbers], dtype=object if not as_int else int
    )


def random_events(seed: int, n: int = 3000, int_ids: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    users = user_ids(range(120), int_ids)
    start = pd.Timestamp("2026-02-20")
    # users arrive over time and are active in bursts, with quiet stretches
    arrival = rng.integers(0, 200, size=len(users))
    user = rng.choice(len(users), size=n)
    offset_days = arrival[user] + rng.exponential(25, size=n).astype(int)
    seconds = rng.integers(0, 86400, size=n)
    stamps = start + pd.to_timedelta(offset_days, unit="D") + pd.to_timedelta(seconds, unit="s")
    events = pd.DataFrame(
        {
            "user_id": users[user],
            "timestamp": stamps,
            "event": rng.choice(["play", "play", "play", "buy", "signup", "view"], size=n),
            "country": rng.choice(np.array(["US", "DE", "FR", None], dtype=object), size=n),
            "amount": np.where(rng.random(n) < 0.2, np.nan, rng.gamma(2, 5, size=n).round(2)),
        }
    )
    # a quiet gap of ten days with no events at all
    gap = (events.timestamp >= "2026-04-10") & (events.timestamp < "2026-04-20")
    return events[~gap].reset_index(drop=True)


@pytest.mark.parametrize(
    ("seed", "zone", "week_start", "int_ids"),
    [(1, "America/New_York", "sunday", False), (2, "Europe/Berlin", "monday", True)],
)
def test_random_events_every_kind_every_grain(tmp_path, seed, zone, week_start, int_ids):
    events = random_events(seed, int_ids=int_ids)
    users = pd.DataFrame(
        {
            "user_id": user_ids(range(0, 140, 3), int_ids),  # some never have an event
            "created": pd.Timestamp("2026-02-01")
            + pd.to_timedelta(np.arange(0, 140, 3) * 37, unit="h"),
        }
    )
    users.loc[users.index % 5 == 0, "created"] = pd.NaT
    metrics = {
        **ALL_KINDS,
        "ret_2w": {"retention": {"after": "2w", "within": "2w"}, "where": "amount > 3"},
        "us_share": {"formula": "players / (active + 0)"},
    }
    project, config = build(
        tmp_path, events, metrics, users=users, timezone=zone, week_start=week_start
    )
    check_against_reference(project, config, events, users=users)


# -- labels ---------------------------------------------------------------------------------


def iso_label(start: date) -> str:
    """The ISO week of the period's fourth day, as docs/metrics.md labels weeks."""
    year, week, _ = (start + pd.Timedelta(days=3)).isocalendar()
    return f"{year}-W{week:02d}"


@pytest.mark.parametrize("week_start", ["saturday", "sunday", "monday", "thursday"])
def test_period_labels_across_a_year_end(tmp_path, week_start):
    rows = [
        ("a", "2026-12-24 12:00", "play", "US", 1.0),
        ("a", "2027-01-01 04:30", "play", "US", 1.0),  # 2026-12-31 23:30 EST
        ("b", "2027-01-01 05:30", "play", "US", 1.0),  # 2027-01-01 00:30 EST
        ("b", "2027-01-09 12:00", "play", "US", 1.0),
    ]
    events = events_frame(rows)
    project, config = build(tmp_path, events, {"plays": {"count": True}}, week_start=week_start)
    week = project.metrics("week").to_dict()
    assert week["grain"] == "week"
    points = week["metrics"]["plays"]
    starts = [date.fromisoformat(p["start"]) for p in points]
    assert [p["period"] for p in points] == [iso_label(s) for s in starts]
    assert [p["value"] for p in points] == project.series("week")["plays"].tolist()
    # weeks whose fourth day is 2026-12-31 or earlier belong to 2026 (which has a W53)
    assert "2026-W53" in [p["period"] for p in points]
    month = project.metrics("month").to_dict()["metrics"]["plays"]
    assert [(p["period"], p["value"]) for p in month] == [("2026-12", 2.0), ("2027-01", 2.0)]
    day = project.metrics("day", start="2026-12-31", end="2027-01-01").to_dict()
    assert [(p["period"], p["value"]) for p in day["metrics"]["plays"]] == [
        ("2026-12-31", 1.0),
        ("2027-01-01", 1.0),
    ]
    check_against_reference(project, config, events)


def test_timestamps_with_offsets_in_text_sources(tmp_path):
    """Zoned timestamp strings keep their instant; naive ones are UTC (America/New_York)."""
    (tmp_path / "a.jsonl").write_text(
        '{"user_id": "a", "timestamp": "2026-03-01T23:30:00-05:00", "event": "play"}\n'
        '{"user_id": "b", "timestamp": "2026-03-02T04:30:00Z", "event": "play"}\n'
        '{"user_id": "c", "timestamp": "2026-03-02 05:30:00", "event": "play"}\n'
    )
    (tmp_path / "b.csv").write_text(
        "user_id,timestamp,event\n"
        "a,2026-03-01T23:30:00-05:00,play\n"
        "b,2026-03-02T06:00:00+02:00,play\n"  # 04:00 UTC = 03-01 23:00 EST
        "c,2026-03-02 05:30:00,play\n"  # 00:30 EST
    )
    for source in ("a.jsonl", "b.csv"):
        project, _ = build(
            tmp_path, None, {"plays": {"count": True}}, source=source, dimensions=(), properties=()
        )
        day = project.series("day")
        assert day["plays"].to_dict() == {date(2026, 3, 1): 2.0, date(2026, 3, 2): 1.0}, source


def test_local_days_do_not_depend_on_the_machine_time_zone(tmp_path):
    """Naive timestamps are UTC even when the process runs in another zone (TZ=Asia/Tokyo)."""
    events = events_frame(EDGE_ROWS)
    aware = events.assign(timestamp=events["timestamp"].dt.tz_localize("UTC"))
    write_events(aware, tmp_path / "aware" / "events.parquet")
    metrics = {"events": {"count": True}, "active": {"users": True}}
    _, config = build(tmp_path, events, metrics, week_start="monday")
    aware_config = {**config, "events": {**config["events"], "source": "aware/events.parquet"}}
    (tmp_path / "aware.yml").write_text(yaml.safe_dump(aware_config))
    script = (
        "import sys, json\n"
        "from cynosure import Project\n"
        "out = {}\n"
        "for name in sys.argv[1:]:\n"
        "    frame = Project.load(name).series('day')\n"
        "    out[name] = {str(k): v for k, v in frame['events'].items()}\n"
        "print(json.dumps(out))\n"
    )
    files = [str(tmp_path / "cynosure.yml"), str(tmp_path / "aware.yml")]
    run = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script, *files],
        env={**os.environ, "TZ": "Asia/Tokyo"},
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(run.stdout)
    want = Reference(config, events).series("day")["events"]
    for name in files:
        assert got[name] == {str(k): v for k, v in want.items()}, name
