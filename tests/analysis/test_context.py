"""How unusual a change is for its series, and which interventions touch the period."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from cynosure.analysis.context import nearby_interventions, unusualness
from cynosure.project.model import Intervention

START = date(2025, 1, 6)  # a Monday


def _weekly(values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=[START + timedelta(days=7 * i) for i in range(len(values))])


def test_a_planted_shock_is_unusual_and_ordinary_weeks_are_not() -> None:
    rng = np.random.default_rng(3)
    values = 1000 * np.exp(np.cumsum(rng.normal(0.002, 0.03, 80)))
    values[70] *= 0.75  # a 25% drop in one week, against 3% weekly noise
    series = _weekly(values)
    shock = unusualness(series.iloc[:71], series.index[70], series.index[69], "week")
    assert shock.unusual and shock.z is not None and shock.z < -5
    assert shock.largest_since is None  # no earlier drop was as large
    assert shock.relative and shock.typical_low is not None and shock.typical_high is not None
    assert -0.10 < shock.typical_low < -0.03 < 0.03 < shock.typical_high < 0.10


def test_ordinary_weeks_are_rarely_called_unusual() -> None:
    """Random walks with no shock: about 0.3% of changes should be flagged (3 sigma)."""
    flagged = tested = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        series = _weekly(1000 * np.exp(np.cumsum(rng.normal(0.002, 0.03, 80))))
        for i in range(10, 80):
            now, before = series.index[i], series.index[i - 1]
            flagged += unusualness(series.iloc[: i + 1], now, before, "week").unusual
            tested += 1
    assert flagged / tested < 0.01


def test_a_rebound_after_the_shock_is_measured_against_the_history_without_it() -> None:
    rng = np.random.default_rng(4)
    values = 500 + rng.normal(0, 5, 60)
    values[50] = 300
    series = _weekly(values)
    rebound = unusualness(series.iloc[:52], series.index[51], series.index[50], "week")
    assert rebound.unusual and (rebound.z or 0) > 5
    later = unusualness(series.iloc[:58], series.index[57], series.index[56], "week")
    assert not later.unusual


def test_daily_changes_are_compared_with_the_same_weekday() -> None:
    """A product used twice as much on Mondays: every Monday jumps, and that is normal."""
    rng = np.random.default_rng(5)
    days = pd.date_range("2025-01-06", periods=140, freq="D")
    values = np.where(days.day_of_week == 0, 2000.0, 1000.0) * np.exp(rng.normal(0, 0.02, 140))
    series = pd.Series(values, index=[d.date() for d in days])
    monday = series.index[133]
    assert monday.weekday() == 0
    result = unusualness(series.iloc[:134], monday, series.index[132], "day")
    assert not result.unusual
    assert result.history == 18  # the earlier Mondays only


def test_a_series_with_zeros_is_compared_in_its_own_units() -> None:
    values = np.array([0.0, 2, 1, 3, 2, 1, 2, 3, 2, 1, 2, 40])
    result = unusualness(
        _weekly(values), _weekly(values).index[-1], _weekly(values).index[-2], "week"
    )
    assert not result.relative and result.unusual


def test_too_short_a_history_says_nothing() -> None:
    series = _weekly(np.array([10.0, 11, 9, 30]))
    result = unusualness(series, series.index[-1], series.index[-2], "week")
    assert result.z is None and not result.unusual


def test_interventions_near_the_period() -> None:
    week, baseline = date(2026, 9, 7), date(2026, 8, 31)
    items = [
        Intervention(name="during", date=date(2026, 9, 9)),
        Intervention(name="spanning", date=date(2026, 9, 1), end=date(2026, 9, 20)),
        Intervention(name="in baseline", date=date(2026, 9, 2), end=date(2026, 9, 3)),
        Intervention(name="long before", date=date(2026, 6, 1)),
        Intervention(name="after", date=date(2026, 9, 14)),
    ]
    found = {i.name: i.when for i in nearby_interventions(items, week, baseline, "week")}
    assert found == {
        "during": "during the period",
        "spanning": "during the period",
        "in baseline": "during the baseline",
    }
    last_year = nearby_interventions(items, week, date(2025, 9, 8), "week")
    assert {i.name: i.when for i in last_year}["in baseline"] == "before the period"
