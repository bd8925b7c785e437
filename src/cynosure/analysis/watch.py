"""Is anything moving abnormally right now, and why? The checks behind `cynosure watch`.

Each watched metric (the North Star, its tree, the guardrails) is checked at its latest
complete day and week against a seasonality-aware forecast: the median of the same weekday
over the four weeks before (at day grain) or of the four weeks before (at week grain). A
median of four ignores one odd period, so the day after an incident is judged against
normal days, not against the incident. The forecast interval comes from the series' own
history of forecast errors (log ratios over the last 26 periods, robust centre and spread),
wide enough for a false alarm as rare as 3.5 standard deviations would be, allowing for the
uncertainty of the yardstick itself (a Student t prediction bound).

A guardrail that worsens beyond its usual range while the North Star rises is an alert of
its own: a North Star bought with worse experience is not value.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from cynosure.engine.periods import Grain, label
from cynosure.results import Result, clean, fmt, pct

NEIGHBOURS = 4  # periods the forecast takes the median of
HISTORY = 26  # forecast errors the interval rests on
MIN_HISTORY = 8
ALARM_TAIL = 0.000233  # one-sided tail of 3.5 standard deviations
GUARDRAIL_Z = 1.96
MAD_TO_SD = 1.4826


class Check(BaseModel):
    """One metric at one grain: its latest complete period against the forecast."""

    model_config = ConfigDict(frozen=True)

    metric: str
    label: str
    grain: str
    period: str
    value: float | None
    expected: float | None
    low: float | None
    high: float | None
    z: float | None
    abnormal: bool


class Alert(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str  # "abnormal" or "guardrail"
    metric: str
    label: str
    grain: str
    period: str
    value: float | None
    expected: float | None
    relative: float | None  # value against expected
    message: str
    explanation: str | None = None
    segment: dict[str, str] | None = None


class WatchResult(Result):
    """What `cynosure watch` found: every check, and the alerts with their explanations."""

    project: str
    as_of: str
    checks: list[Check]
    alerts: list[Alert]
    delivery: dict[str, object] | None = None
    warnings: list[str] = Field(default_factory=list)

    def summary(self) -> list[str]:
        if not self.alerts:
            return [
                f"{self.project}: nothing abnormal as of {self.as_of} ({len(self.checks)} checks)."
            ]
        lines = [f"{self.project}: {len(self.alerts)} alert(s) as of {self.as_of}."]
        for alert in self.alerts:
            lines.append(alert.message)
            if alert.explanation:
                lines.append(f"  Why: {alert.explanation}")
        return lines + [f"Warning: {w}" for w in self.warnings]


def _forecast(values: np.ndarray, position: int, grain: Grain) -> float | None:
    """The median of the NEIGHBOURS same-weekday days (or weeks) before `position`."""
    step = 7 if grain == "day" else 1
    chosen = [values[position - step * k] for k in range(1, NEIGHBOURS + 1)]
    chosen = [v for v in chosen if np.isfinite(v)] if position - step * NEIGHBOURS >= 0 else []
    return float(np.median(chosen)) if len(chosen) == NEIGHBOURS else None


def check(series: pd.Series, grain: Grain, metric: str, name: str) -> Check | None:
    """The last period of `series` (complete periods, consecutive) against its forecast."""
    values = series.astype(float).to_numpy()
    if len(values) == 0:
        return None
    last = len(values) - 1
    period = label(series.index[last], grain)
    expected = _forecast(values, last, grain)
    value = float(values[last])
    relative_scale = bool(np.all(values[np.isfinite(values)] > 0))
    errors = []
    for position in range(max(0, last - HISTORY), last):
        guess = _forecast(values, position, grain)
        if guess is None or not np.isfinite(values[position]):
            continue
        errors.append(_error(values[position], guess, relative_scale))
    empty = Check(
        metric=metric,
        label=name,
        grain=grain,
        period=period,
        value=clean(value),
        expected=clean(expected),
        low=None,
        high=None,
        z=None,
        abnormal=False,
    )
    if expected is None or len(errors) < MIN_HISTORY or not np.isfinite(value):
        return empty
    past = np.asarray(errors)
    centre = float(np.median(past))
    spread = MAD_TO_SD * float(np.median(np.abs(past - centre))) or float(np.std(past))
    if not spread > 0:
        return empty
    n = len(past)
    threshold = float(stats.t.ppf(1 - ALARM_TAIL, n - 1)) * math.sqrt(1 + 1 / n)
    z = (_error(value, expected, relative_scale) - centre) / spread
    low, high = (centre - threshold * spread, centre + threshold * spread)
    if relative_scale:
        bounds = (expected * math.exp(low), expected * math.exp(high))
    else:
        bounds = (expected + low, expected + high)
    return Check(
        metric=metric,
        label=name,
        grain=grain,
        period=period,
        value=clean(value),
        expected=clean(expected),
        low=clean(bounds[0]),
        high=clean(bounds[1]),
        z=clean(z),
        abnormal=abs(z) >= threshold,
    )


def _error(value: float, guess: float, relative: bool) -> float:
    return math.log(value / guess) if relative and guess > 0 and value > 0 else value - guess


def _relative(c: Check) -> float | None:
    return None if not c.expected else clean((c.value or 0.0) / c.expected - 1)


def _alert(kind: str, c: Check, message: str) -> Alert:
    return Alert(
        kind=kind,
        metric=c.metric,
        label=c.label,
        grain=c.grain,
        period=c.period,
        value=c.value,
        expected=c.expected,
        relative=_relative(c),
        message=message,
    )


def alert_for(c: Check) -> Alert:
    word = "rose" if (c.value or 0) > (c.expected or 0) else "fell"
    return _alert(
        "abnormal",
        c,
        f"{c.label} {word} abnormally on {c.period}: {fmt(c.value)} against "
        f"{fmt(c.expected)} expected ({pct(_relative(c))}; usual range {fmt(c.low)} to "
        f"{fmt(c.high)}).",
    )


def guardrail_alert(guard: Check, north_star: Check, worse_when_up: bool) -> Alert | None:
    """An alert when the guardrail worsened beyond its usual range while the NSM rose."""
    if guard.z is None or north_star.value is None or north_star.expected is None:
        return None
    worse = guard.z >= GUARDRAIL_Z if worse_when_up else guard.z <= -GUARDRAIL_Z
    if not (worse and north_star.value > north_star.expected):
        return None
    return _alert(
        "guardrail",
        guard,
        f"Guardrail {guard.label} worsened on {guard.period} ({pct(_relative(guard))} against "
        f"expected) while {north_star.label} rose: the North Star may be bought at its expense.",
    )


def baseline_for(period_start: date) -> date:
    """The period an alert is explained against: the same weekday a week before, or the
    week before."""
    return period_start - timedelta(days=7)
