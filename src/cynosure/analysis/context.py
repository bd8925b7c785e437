"""Is a change unusual for this series, and what happened around it?

A 15% drop means little on its own: some metrics swing 20% every week. The change explained
is compared with the same kind of change (same distance between the two periods) over the
series' own history of complete periods, using robust statistics (median and median
absolute deviation), so that earlier incidents do not widen the yardstick. At day grain only
the same weekday is compared, because most products have a weekly cycle. Changes are
relative (log ratios) when the series is positive, else absolute.
"""

from __future__ import annotations

import datetime as dt
import math
from datetime import date

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from scipy import stats

from cynosure.engine.periods import Grain, label, next_start
from cynosure.project.model import Intervention
from cynosure.tree.compute import year_before

UNUSUAL_TAIL = 0.00135  # one-sided tail of |z| >= 3 under a normal distribution
MIN_HISTORY = 8
MAD_TO_SD = 1.4826


class Unusualness(BaseModel):
    """How the change compares with the series' own history of such changes.

    Attributes:
        z: Robust z-score of the change (0 = typical).
        threshold: |z| from which a change is unusual: 3 for a long history, more for a
            short one (as rare as 3 standard deviations, allowing for the uncertainty of
            the yardstick itself: a Student t prediction bound).
        unusual: |z| >= threshold.
        typical_low, typical_high: The range of 95% of such changes (in the same units as
            `relative`: a relative change when `relative`, else the metric's units).
        relative: Whether changes are compared as relative changes.
        history: How many past changes the comparison rests on.
        largest_since: The last period with a change at least as large in the same
            direction, or None when none in the history was.
        last_year: The same kind of change one year earlier (relative when `relative`).
    """

    model_config = ConfigDict(frozen=True)

    z: float | None = None
    threshold: float | None = None
    unusual: bool = False
    typical_low: float | None = None
    typical_high: float | None = None
    relative: bool = False
    history: int = 0
    largest_since: str | None = None
    last_year: float | None = None


class NearbyIntervention(BaseModel):
    """A declared intervention whose dates touch the period or its baseline."""

    model_config = ConfigDict(frozen=True)

    name: str
    date: dt.date
    end: dt.date | None
    segment: dict[str, str]
    when: str  # "during the period", "during the baseline", "before the period"
    description: str | None


def unusualness(series: pd.Series, current: date, before: date, grain: Grain) -> Unusualness:
    """Compare the change `before` -> `current` with the series' history of such changes.

    Args:
        series: The metric over complete periods up to and including `current`, indexed
            by period start (consecutive periods).
        current: The period explained.
        before: Its baseline.
        grain: The grain of `series`.
    """
    values = series.astype(float).dropna()
    if current not in values.index or before not in values.index:
        return Unusualness()
    index = list(values.index)
    distance = index.index(current) - index.index(before)
    relative = bool((values > 0).all())
    transformed = pd.Series(np.log(values), index=values.index) if relative else values
    changes = (transformed - transformed.shift(distance)).dropna()
    now = float(changes.loc[current]) if current in changes.index else math.nan
    past = changes[changes.index < current]
    if grain == "day":
        past = past[[d.weekday() == current.weekday() for d in past.index]]
    z = low = high = threshold = None
    if len(past) >= MIN_HISTORY and math.isfinite(now):
        n = len(past)
        threshold = float(stats.t.ppf(1 - UNUSUAL_TAIL, n - 1)) * math.sqrt(1 + 1 / n)
        centre = float(past.median())
        spread = MAD_TO_SD * float((past - centre).abs().median()) or float(past.std())
        if spread > 0:
            z = (now - centre) / spread
            low, high = centre - 1.96 * spread, centre + 1.96 * spread
    as_large = past[past <= now] if now < 0 else past[past >= now]
    since = label(as_large.index[-1], grain) if len(as_large) else None
    year_ago = year_before(current, grain)
    last_year = float(changes.loc[year_ago]) if year_ago in changes.index else None
    back = math.expm1 if relative else (lambda v: v)
    return Unusualness(
        z=round(z, 2) if z is not None else None,
        threshold=round(threshold, 2) if threshold is not None else None,
        unusual=z is not None and threshold is not None and abs(z) >= threshold,
        typical_low=back(low) if low is not None else None,
        typical_high=back(high) if high is not None else None,
        relative=relative,
        history=len(past),
        largest_since=since,
        last_year=back(last_year) if last_year is not None else None,
    )


def nearby_interventions(
    interventions: list[Intervention], period: date, baseline: date, grain: Grain
) -> list[NearbyIntervention]:
    """The interventions active during the period or the baseline, or that began in the
    period just before the explained one."""
    end = next_start(period, grain)
    baseline_end = next_start(baseline, grain)
    lead = period - (end - period)
    found = []
    for item in interventions:
        first, last = item.date, item.end or item.date
        if first < end and last >= period:
            when = "during the period"
        elif first < baseline_end and last >= baseline:
            when = "during the baseline"
        elif lead <= first < period:
            when = "before the period"
        else:
            continue
        found.append(
            NearbyIntervention(
                name=item.name,
                date=item.date,
                end=item.end,
                segment={k: str(v) for k, v in item.segment.items()},
                when=when,
                description=item.description,
            )
        )
    return found
