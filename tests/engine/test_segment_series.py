"""Every metric's series restricted to a segment, against plain pandas.

The definition checked (see `cynosure.engine.segment_series`): a segment's series is the
project's metrics computed over the events matching the segment only, on the periods of the
whole data; conversion and retention cohorts are the entities whose first active day has
events in the segment, each with its real start day.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cynosure import Project
from cynosure.engine.entities import start_days
from cynosure.engine.segment_series import SegmentSeries
from cynosure.engine.segments import NONE_VALUE
from cynosure.errors import CynosureError, SegmentError

from ..metrics.helpers import assert_frames_match, build, write_events
from ..metrics.reference import Reference, local_days

ZONE = "America/New_York"
DIMS = ("country", "platform", "app_version")
GRAINS = ("day", "week", "month")
PLAY = "event = 'play'"
METRICS: dict[str, dict[str, Any]] = {
    "plays": {"count": True, "where": PLAY},
    "searches": {"count": True, "where": "event = 'search'"},
    "players": {"users": True, "where": PLAY},
    "revenue": {"sum": "amount", "where": "event = 'buy'"},
    "engaged_days": {"threshold": {"at_least": 2, "unit": "days", "where": PLAY}},
    "engaged_events": {"threshold": {"at_least": 3, "where": PLAY}},
    "avg_amount": {"mean": "amount", "where": "event = 'buy'"},
    "plays_per_player": {"ratio": ["plays", "players"]},
    "net": {"formula": "plays - 2 * searches"},
    "new_players": {"users": True, "where": PLAY, "lifecycle": "new"},
    "retained_players": {"users": True, "where": PLAY, "lifecycle": "retained"},
    "churned_players": {"users": True, "where": PLAY, "lifecycle": "churned"},
    "all_plays": {"count": True, "where": PLAY, "cumulative": True},
    "all_players": {"users": True, "where": PLAY, "cumulative": True},
    "buy_3d": {"conversion": {"event": "buy", "within": "3d"}},
    "ret_7_7": {"retention": {"after": "7d", "within": "7d"}},
}
ADDITIVE = ("plays", "searches", "revenue", "net", "all_plays")  # over any dimension
PER_ENTITY = ("players", "engaged_days", "engaged_events")  # when each entity has one value


def _events(seed: int = 11, users: int = 48) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Five weeks of events and a users table.

    Country is fixed per user; platform is fixed for most users, a few switch and a few have
    none; app_version changes from event to event (so one entity-day often spans several
    rows of one platform), and version 5.0 appears only in the last week. Some users signed
    up before their first event, one never sent any.
    """
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-03-01 00:00", tz=ZONE)
    rows, created = [], {}
    for index in range(users):
        user = f"u{index:02d}"
        country = ("DE", "FR", "US")[index % 3]
        home = (None, "ios", "android", "web")[index % 4] if index % 5 else "ios"
        switcher = index % 7 == 3
        first = start + pd.Timedelta(hours=int(rng.integers(0, 24 * 20)))
        created[user] = first - pd.Timedelta(days=int(rng.integers(0, 3)))
        for _ in range(int(rng.integers(5, 40))):
            at = first + pd.Timedelta(minutes=int(rng.integers(0, 60 * 24 * 15)))
            platform = str(rng.choice(["ios", "android"])) if switcher else home
            version = str(rng.choice(["4.1", "4.2"])) if platform in ("ios", "android") else None
            if version and at >= start + pd.Timedelta(days=28):
                version = "5.0"
            event = str(rng.choice(["play", "play", "play", "search", "buy"]))
            amount = float(rng.integers(1, 20)) if event == "buy" else None
            rows.append((user, at.tz_convert("UTC"), event, country, platform, version, amount))
    created["u99"] = start + pd.Timedelta(days=3)  # signed up, never active
    # Near local midnight: the local day, not the UTC day, decides.
    late_night = pd.Timestamp("2026-03-10 23:50", tz=ZONE).tz_convert("UTC")
    rows.append(("u01", late_night, "play", "FR", "ios", "4.2", None))
    columns = ["user_id", "timestamp", "event", "country", "platform", "app_version", "amount"]
    events = pd.DataFrame(rows, columns=columns).astype({"amount": "float64"})
    people = pd.DataFrame({"user_id": list(created), "created": list(created.values())})
    return events.sort_values("timestamp", ignore_index=True), people


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    events, people = _events()
    directory: Path = tmp_path_factory.mktemp("segment_series")
    project, config = build(
        directory, events, METRICS, users=people, dimensions=DIMS, timezone=ZONE
    )
    segments = _segments(project)
    segments.refresh()
    return {
        "project": project,
        "config": config,
        "events": events,
        "people": people,
        "segments": segments,
        "starts": _starts(project, segments),
    }


def _segments(project: Project) -> SegmentSeries:
    model = project.spec.model
    return SegmentSeries(
        project.con, project.events_source, model.events, project.spec.plan, model.timezone
    )


def _starts(project: Project, segments: SegmentSeries) -> Any:
    model = project.spec.model
    return start_days(
        project.con, segments.table(), model.entities, project.entities_source, model.timezone
    )


def _series(data: dict[str, Any], segment: dict[str, Any], grain: str) -> pd.DataFrame:
    frame, _, _ = data["segments"].series(segment, grain, "sunday", data["starts"])
    return frame


def _as_text(column: pd.Series) -> pd.Series:
    return column.astype(object).where(column.notna(), NONE_VALUE).astype(str)


def _mask(events: pd.DataFrame, segment: dict[str, str]) -> pd.Series:
    mask = pd.Series(True, index=events.index)
    for dimension, value in segment.items():
        mask &= _as_text(events[dimension]) == value
    return mask


def _reference(data: dict[str, Any], segment: dict[str, str], grain: str) -> pd.DataFrame:
    """The metrics of the segment's events, written from the definition: the whole data's
    periods, and cohorts of the entities whose first active day had segment events."""
    events, people = data["events"], data["people"]
    whole = Reference(data["config"], events, people)
    mask = _mask(events, segment)
    reference = Reference(data["config"], events[mask], people)
    reference.first_day, reference.last_day = whole.first_day, whole.last_day
    day = local_days(events.timestamp, ZONE)
    first_day = day.groupby(events.user_id).transform("min")
    entered = set(events.user_id[mask & (day == first_day)])
    reference.starts = {e: s for e, s in whole.starts.items() if e in entered}
    return reference.series(grain)


SEGMENTS = [
    {"platform": "ios"},
    {"platform": "android"},
    {"platform": NONE_VALUE},
    {"country": "DE"},
    {"app_version": "5.0"},
    {"platform": "android", "app_version": "4.2"},
    {"country": "US", "platform": "ios", "app_version": "4.1"},  # every dimension
]


@pytest.mark.parametrize(
    "segment", SEGMENTS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items())
)
@pytest.mark.parametrize("grain", GRAINS)
def test_every_metric_of_a_segment_matches_pandas(
    data: dict[str, Any], segment: dict[str, str], grain: str
) -> None:
    assert_frames_match(
        _series(data, segment, grain), _reference(data, segment, grain), data["config"]
    )


def test_a_ratio_is_the_segments_numerator_over_its_denominator(data: dict[str, Any]) -> None:
    """Plays per player on iOS, by hand: iOS plays / entities with iOS plays, per week."""
    events = data["events"]
    ios = events[(events.platform == "ios") & (events.event == "play")]
    day = local_days(ios.timestamp, ZONE)
    week = day.map(lambda d: d - timedelta(days=(d.weekday() + 1) % 7))  # Sunday weeks
    want = ios.groupby(week).size() / ios.user_id.groupby(week).nunique()
    got = _series(data, {"platform": "ios"}, "week")["plays_per_player"]
    assert np.allclose(got.loc[list(want.index)].to_numpy(), want.to_numpy())
    assert got.drop(list(want.index)).isna().all()  # weeks without iOS plays: no ratio
    overall = data["project"].series("week")["plays_per_player"]
    assert not np.allclose(got.loc[list(want.index)], overall.loc[list(want.index)])


@pytest.mark.parametrize("grain", GRAINS)
@pytest.mark.parametrize("dimension", DIMS)
def test_segments_of_a_dimension_add_up_to_the_whole(
    data: dict[str, Any], dimension: str, grain: str
) -> None:
    whole = data["project"].series(grain)
    values = data["segments"].values(dimension).value
    parts = [_series(data, {dimension: v}, grain) for v in values]
    for part in parts:
        assert list(part.index) == list(whole.index)  # every segment on the same periods
    total = sum(parts[1:], parts[0])
    for name in ADDITIVE:
        assert np.allclose(total[name], whole[name]), name
    if dimension == "country":  # one country per entity: each entity counted once
        for name in PER_ENTITY:
            assert np.array_equal(total[name], whole[name]), name
    else:  # switchers and upgraders are players in each segment they played in
        assert (total["players"] >= whole["players"]).all()
        assert (total["players"] > whole["players"]).any()


def test_the_whole_data_is_the_empty_segment(data: dict[str, Any]) -> None:
    got, first, last = data["segments"].series({}, "week", "sunday", data["starts"])
    pd.testing.assert_frame_equal(got, data["project"].series("week"))
    assert first < last


def test_a_segment_seen_late_reads_zero_before(data: dict[str, Any]) -> None:
    frame, first, last = data["segments"].series(
        {"app_version": "5.0"}, "day", "sunday", data["starts"]
    )
    assert frame.index[0] == first and frame.index[-1] == last
    released = date(2026, 3, 29)  # 5.0 is seen from four weeks after the first day
    assert frame.plays[frame.index < released].eq(0).all()
    assert frame.plays[frame.index >= released].sum() > 0


def test_values_are_ordered_by_events_with_missing_shown_as_none(data: dict[str, Any]) -> None:
    events = data["events"]
    for dimension in DIMS:
        got = data["segments"].values(dimension)
        assert list(got.columns) == ["value", "events", "entities"]
        text = _as_text(events[dimension])
        want = pd.DataFrame(
            {
                "value": text.value_counts().index,
                "events": text.value_counts().to_numpy(),
            }
        )
        want["entities"] = [events.user_id[text == v].nunique() for v in want.value]
        want = want.sort_values(["events", "value"], ascending=[False, True], ignore_index=True)
        assert got.value.tolist() == want.value.tolist()
        assert got.events.tolist() == want.events.tolist()
        assert got.entities.tolist() == want.entities.tolist()
    assert NONE_VALUE in data["segments"].values("platform").value.tolist()


def test_values_break_ties_by_value(tmp_path: Path) -> None:
    stamps = pd.to_datetime(["2026-05-01 12:00"] * 4 + ["2026-05-02 12:00"], utc=True)
    events = pd.DataFrame(
        {
            "user_id": ["a", "b", "c", "d", "e"],
            "timestamp": stamps,
            "event": "play",
            "platform": ["web", "ios", None, "ios", "android"],
            "amount": np.nan,
        }
    )
    project, _ = build(tmp_path, events, {"plays": {"count": True}}, dimensions=("platform",))
    segments = _segments(project)
    got = segments.values("platform")
    assert got.value.tolist() == ["ios", NONE_VALUE, "android", "web"]
    assert got.events.tolist() == [2, 1, 1, 1]


def test_unknown_dimension_suggests_the_declared_ones(data: dict[str, Any]) -> None:
    segments = data["segments"]
    with pytest.raises(SegmentError, match="did you mean 'platform'") as caught:
        segments.series({"platfrom": "ios"}, "week", "sunday", data["starts"])
    assert "country, platform, app_version" in str(caught.value)
    assert isinstance(caught.value, CynosureError) and isinstance(caught.value, ValueError)
    with pytest.raises(SegmentError, match="'plan' is not a dimension"):
        segments.values("plan")


def test_unknown_value_lists_the_values_seen(data: dict[str, Any]) -> None:
    segments = data["segments"]
    with pytest.raises(SegmentError, match="did you mean 'ios'") as caught:
        segments.series({"platform": "iso"}, "week", "sunday", data["starts"])
    seen = ", ".join(segments.values("platform").value)
    assert str(caught.value).endswith(f"values seen: {seen}")
    assert NONE_VALUE in seen
    with pytest.raises(SegmentError, match=re.escape("no event has app_version = '9.9'")):
        segments.series({"platform": "ios", "app_version": "9.9"}, "week", "sunday", data["starts"])


def test_a_bad_grain_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(CynosureError, match="did you mean 'week'"):
        data["segments"].series({"platform": "ios"}, "weekly", "sunday", data["starts"])


# -- refresh ----------------------------------------------------------------------------------


def _files_project(root: Path, events: pd.DataFrame, people: pd.DataFrame) -> tuple[Any, Any]:
    """A project over the Parquet files under `root/events` (written by the caller)."""
    return build(
        root,
        events,
        METRICS,
        users=people,
        source="events/*.parquet",
        warehouse=None,
        dimensions=DIMS,
        timezone=ZONE,
    )


def test_late_events_are_rolled_into_the_segments(tmp_path: Path) -> None:
    """A file of late events (days already rolled up) and a new day: an incremental refresh
    recomputes those days only, and every segment's series matches pandas again."""
    events, people = _events(seed=4, users=24)
    cut = events.timestamp.quantile(0.8)
    early, late = events[events.timestamp < cut], events[events.timestamp >= cut]
    late_days = late.iloc[::3].copy()
    late_days["timestamp"] = late_days.timestamp - pd.Timedelta(days=9)  # back-filled
    write_events(early, tmp_path / "events" / "part-0.parquet")
    project, config = _files_project(tmp_path, events, people)
    segments = _segments(project)
    assert segments.refresh().full
    segments.series({"platform": "ios"}, "week", "sunday", _starts(project, segments))
    assert segments.values("platform").events.sum() == len(early)

    write_events(pd.concat([late, late_days]), tmp_path / "events" / "part-1.parquet")
    stats = segments.refresh()
    assert not stats.full and stats.units_read == 1
    everything = pd.concat([early, late, late_days], ignore_index=True)
    days = local_days(pd.concat([late, late_days]).timestamp, ZONE).nunique()
    assert 0 < stats.days_recomputed <= days + 2
    assert segments.values("platform").events.sum() == len(everything)  # values refreshed
    fresh = {
        "config": config,
        "events": everything,
        "people": people,
        "segments": segments,
        "starts": _starts(project, segments),
    }
    for segment in ({"platform": "ios"}, {"country": "FR", "app_version": "4.1"}):
        for grain in ("day", "week"):
            assert_frames_match(
                _series(fresh, segment, grain), _reference(fresh, segment, grain), config
            )
    project.close()


def test_a_dimension_corrected_in_place_is_refreshed(tmp_path: Path) -> None:
    """A file rewritten with the same rows but one platform corrected (same count per hour):
    the segment series follow the correction."""
    events, people = _events(seed=5, users=12)
    write_events(events, tmp_path / "events" / "part-0.parquet")
    project, config = _files_project(tmp_path, events, people)
    segments = _segments(project)
    segments.refresh()
    fixed = events.copy()
    fixed.loc[fixed.platform == "ios", "platform"] = "iOS"
    write_events(fixed, tmp_path / "events" / "part-0.parquet")
    stats = segments.refresh()
    assert not stats.full and stats.days_recomputed > 0
    assert "ios" not in set(segments.values("platform").value)
    fresh = {"config": config, "events": fixed, "people": people, "segments": segments}
    fresh["starts"] = _starts(project, segments)
    assert_frames_match(
        _series(fresh, {"platform": "iOS"}, "week"),
        _reference(fresh, {"platform": "iOS"}, "week"),
        config,
    )
    project.close()


def test_the_rollup_is_built_once(data: dict[str, Any]) -> None:
    segments = data["segments"]
    stats = segments.refresh()
    assert (stats.full, stats.units_read, stats.days_recomputed) == (False, 0, 0)
    again = _segments(data["project"])
    assert again.rollup.name == segments.rollup.name and again.rollup.exists()


def test_cohort_rates_are_about_the_entities_that_began_in_the_segment(
    data: dict[str, Any],
) -> None:
    ios = _series(data, {"platform": "ios"}, "week")
    whole = data["project"].series("week")
    for name in ("buy_3d", "ret_7_7"):
        rates = ios[name].dropna()
        assert len(rates) >= 2 and rates.between(0, 1).all() and rates.gt(0).any(), name
        assert not np.allclose(rates, whole[name].loc[rates.index]), name


def test_none_stands_for_a_missing_value(data: dict[str, Any]) -> None:
    pd.testing.assert_frame_equal(
        _series(data, {"platform": None}, "week"),
        _series(data, {"platform": NONE_VALUE}, "week"),
    )
