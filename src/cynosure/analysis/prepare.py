"""Series preparation for time-series analyses: complete periods, stationary, deseasonalised.

Correlating raw metric levels finds spurious leads: two metrics that both grow over a year
correlate at every lag. Analyses that compare how series *move* (lead-lag, anomaly detection)
therefore work on period-to-period changes with the trend and the weekly cycle removed.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from cynosure.engine.compute import period_is_complete
from cynosure.engine.periods import Grain


def complete_periods(frame: pd.DataFrame, grain: Grain, first: date, last: date) -> pd.DataFrame:
    """The rows of `frame` (indexed by period start) whose period the data covers fully.

    The first and last periods are usually partial; their values are low for no reason and
    would show up as a spurious shock in every metric at once.

    Args:
        frame: Metric series indexed by period start date.
        grain: The grain of `frame`.
        first: The first day of data.
        last: The last day of data.

    Returns:
        `frame` without its partial periods.
    """
    keep = [period_is_complete(start, grain, first, last) for start in frame.index]
    return frame.loc[keep]


def prepare(series: pd.Series, grain: Grain) -> pd.Series:
    """Make one metric series stationary: changes, detrended, deseasonalised at day grain.

    Steps: log-differences when every value is positive (so a change reads as a relative
    change, comparable across metrics of any size), else plain differences; then at day grain
    the mean of each day of the week is removed, because most products have a weekly cycle
    that every daily metric shares; last, a least squares linear trend is removed.

    Args:
        series: Values indexed by period start date, one row per consecutive period.
            Missing values (periods not yet observable, such as a recent retention) stay
            missing and never join two periods that are not neighbours.
        grain: The grain of `series`.

    Returns:
        The prepared series on the same index (the first period, which has no change, and
        periods next to a missing value are NaN).
    """
    values = series.astype(float)
    known = values.dropna()
    positive = len(known) > 0 and bool((known > 0).all())
    changes = (values.apply(np.log) if positive else values).diff()
    changes = changes.replace([np.inf, -np.inf], np.nan)
    if grain == "day":
        # Before detrending: a line fitted to a weekly cycle over a part-week tail would
        # leave a trend the day-of-week means cannot take out.
        weekday = pd.Index([d.weekday() for d in changes.index])
        changes = changes - changes.groupby(weekday).transform("mean")
    return _detrend(changes)


def _detrend(values: pd.Series) -> pd.Series:
    """Subtract a least squares line in the period position (missing values are kept)."""
    position = np.arange(len(values), dtype=float)
    known = values.notna().to_numpy()
    if known.sum() < 3:
        return values
    slope, intercept = np.polyfit(position[known], values.to_numpy()[known], 1)
    return values - (intercept + slope * position)
