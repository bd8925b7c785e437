"""A metric by segment for two periods, against plain pandas written from the definition in
`cynosure.engine.segments`: each entity belongs, in each period, to the combination of
dimension values under which it sent most events (ties: the first combination in sort
order), and all of its contribution counts there."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cynosure import Project
from cynosure.engine.rollup import Rollup
from cynosure.engine.segments import (
    NONE_VALUE,
    Split,
    segment_leaves,
    split_for_segments,
)

from ..metrics.helpers import build

ZONE = "America/New_York"
WEEK, BASELINE = date(2026, 3, 8), date(2026, 3, 1)  # Sunday weeks
DIMS = ("country", "platform")
METRICS = {
    "plays": {"count": True, "where": "event = 'play'"},
    "searches": {"count": True, "where": "event = 'search'"},
    "players": {"users": True, "where": "event = 'play'"},
    "revenue": {"sum": "amount", "where": "event = 'buy'"},
    "engaged": {"threshold": {"at_least": 2, "unit": "days", "where": "event = 'play'"}},
    "avg_amount": {"mean": "amount", "where": "event = 'buy'"},
    "plays_per_player": {"ratio": ["plays", "players"]},
    "net": {"formula": "plays - 2 * searches"},
    "net_per_player": {"formula": "(plays - searches) / players"},
    "product": {"formula": "plays * players"},
    "new_players": {"users": True, "where": "event = 'play'", "lifecycle": "new"},
    "all_plays": {"count": True, "where": "event = 'play'", "cumulative": True},
}


def _events(seed: int = 5, users: int = 60) -> pd.DataFrame:
    """Three weeks of events; users mostly on one platform, some switching, a few with no
    platform; a few events land near local midnight on the weeks' edges."""
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2026-02-28 00:00", tz=ZONE)
    for index in range(users):
        user = f"u{index:02d}"
        country = ("DE", "FR", "US")[index % 3]
        home = ("ios", "android", None)[int(rng.integers(0, 3))] if index % 7 else None
        for _ in range(int(rng.integers(4, 30))):
            at = start + pd.Timedelta(minutes=int(rng.integers(0, 60 * 24 * 18)))
            platform = home if rng.random() < 0.7 else str(rng.choice(["ios", "android"]))
            event = str(rng.choice(["play", "play", "search", "buy"]))
            amount = float(rng.integers(1, 20)) if event == "buy" else None
            rows.append((user, at.tz_convert("UTC"), event, country, platform, amount))
    frame = pd.DataFrame(
        rows, columns=["user_id", "timestamp", "event", "country", "platform", "amount"]
    )
    return frame.astype({"amount": "float64"})


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, pd.DataFrame]:
    events = _events()
    directory: Path = tmp_path_factory.mktemp("segments")
    loaded, _ = build(directory, events, METRICS, dimensions=DIMS, timezone=ZONE)
    return loaded, events


def _leaves(project: Project, name: str) -> pd.DataFrame:
    split = split_for_segments(name, project.spec.plan)
    assert isinstance(split, Split), split
    model = project.spec.model
    rollup = Rollup(
        project.con, project.events_source, model.events, project.spec.plan, model.timezone, by=DIMS
    )
    return segment_leaves(project.con, rollup, split, "week", "sunday", WEEK, BASELINE).frame


def _reference(
    events: pd.DataFrame, value: pd.Series, week: date, per_user: str = "sum"
) -> pd.Series:
    """`value` (one number per event row) totalled per user ("sum"; "any": 1 if any is
    non-zero; "days2": 1 if non-zero on 2+ local days), then summed by each user's main
    segment in `week`."""
    local = events.timestamp.dt.tz_convert(ZONE).dt.date
    inside = events[(local >= week) & (local < week + timedelta(days=7))].copy()
    inside["platform"] = inside.platform.fillna(NONE_VALUE)
    counts = inside.groupby(["user_id", *DIMS]).size().rename("n").reset_index()
    counts = counts.sort_values(["user_id", "n", *DIMS], ascending=[True, False, True, True])
    main = counts.drop_duplicates("user_id").set_index("user_id")[list(DIMS)]
    rows = value.loc[inside.index]
    if per_user == "sum":
        totals = rows.groupby(inside.user_id).sum()
    elif per_user == "any":
        totals = (rows.groupby(inside.user_id).sum() > 0).astype(float)
    else:
        days = local.loc[inside.index][rows > 0]
        totals = (days.groupby(inside.user_id[rows > 0]).nunique() >= 2).astype(float)
    totals = totals.reindex(main.index, fill_value=0.0)
    return totals.groupby([main.country, main.platform]).sum()


def _compare(got: pd.DataFrame, column: str, want: pd.Series) -> None:
    series = got.set_index(list(DIMS))[column]
    want = want.reindex(series.index, fill_value=0.0)
    assert np.allclose(series.to_numpy(), want.to_numpy()), pd.concat([series, want], axis=1)


@pytest.mark.parametrize("week,side", [(WEEK, "actual"), (BASELINE, "expected")])
def test_counts_and_sums_match_pandas(
    project: tuple[Project, pd.DataFrame], week: date, side: str
) -> None:
    loaded, events = project
    plays = (events.event == "play").astype(float)
    _compare(_leaves(loaded, "plays"), f"num_{side}", _reference(events, plays, week))
    revenue = events.amount.where(events.event == "buy", 0.0).fillna(0.0)
    _compare(_leaves(loaded, "revenue"), f"num_{side}", _reference(events, revenue, week))
    net = plays - 2 * (events.event == "search").astype(float)
    _compare(_leaves(loaded, "net"), f"num_{side}", _reference(events, net, week))


@pytest.mark.parametrize("week,side", [(WEEK, "actual"), (BASELINE, "expected")])
def test_users_and_thresholds_count_each_entity_once_in_its_main_segment(
    project: tuple[Project, pd.DataFrame], week: date, side: str
) -> None:
    loaded, events = project
    plays = (events.event == "play").astype(float)
    players = _reference(events, plays, week, per_user="any")
    _compare(_leaves(loaded, "players"), f"num_{side}", players)
    engaged = _reference(events, plays, week, per_user="days2")
    _compare(_leaves(loaded, "engaged"), f"num_{side}", engaged)
    assert 0 < engaged.sum() < players.sum()


def test_segments_add_up_to_every_splittable_metric(
    project: tuple[Project, pd.DataFrame],
) -> None:
    loaded, _ = project
    series = loaded.series("week")
    for name in METRICS:
        split = split_for_segments(name, loaded.spec.plan)
        if not isinstance(split, Split):
            continue
        leaves = _leaves(loaded, name)
        for period, side in ((WEEK, "actual"), (BASELINE, "expected")):
            num = leaves[f"num_{side}"].sum()
            value = num / leaves[f"den_{side}"].sum() if split.is_ratio else num
            assert np.isclose(value, series.at[period, name]), (name, period)


def test_which_metrics_split_and_why_the_others_do_not(
    project: tuple[Project, pd.DataFrame],
) -> None:
    plan = project[0].spec.plan
    assert split_for_segments("plays_per_player", plan) == Split("plays", "players")
    assert split_for_segments("avg_amount", plan) == Split("avg_amount:sum", "avg_amount:count")
    assert split_for_segments("net_per_player", plan) == Split("plays - searches", "players")
    assert split_for_segments("net", plan) == Split("net")
    for name, words in (
        ("product", "neither a sum"),
        ("new_players", "growth accounting"),
        ("all_plays", "cumulative"),
    ):
        reason = split_for_segments(name, plan)
        assert isinstance(reason, str) and words in reason, reason
