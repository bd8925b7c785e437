"""Targets: where a metric stands, where it is heading, and whether a target is in reach.

The forecast is the structural time-series model of :mod:`cynosure.analysis.bsts` (a local
level with a constant drift, on the log scale for a positive metric so that growth
compounds), fitted on complete periods and run forward; its draws give the forecast
interval and the probability of reaching a target. Suggested targets read the
distribution of the metric's own past growth over the same horizon: its 25th percentile
(conservative), median (base) and 90th percentile (stretch).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from cynosure.analysis.bsts import Components, sample
from cynosure.analysis.counterfactual import standardize
from cynosure.engine.periods import Grain, label, next_start, period_start
from cynosure.errors import PeriodError
from cynosure.results import Result, clean, fmt, pct

MIN_HISTORY = 8
VAGUE = 0.01  # the level's prior is worth 0.01 observations: the data decide how it wanders
ITERATIONS = 1000
ON_TRACK, AT_RISK = 0.7, 0.3
FORECAST_LEVEL = 0.8


class Forecast(BaseModel):
    model_config = ConfigDict(frozen=True)

    periods: list[str]
    median: list[float | None]
    low: list[float | None]  # 80% interval
    high: list[float | None]


class Suggested(BaseModel):
    model_config = ConfigDict(frozen=True)

    horizon: str
    conservative: float | None
    base: float | None
    stretch: float | None


class TargetStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: float
    by: str
    period: str
    forecast: float | None
    low: float | None
    high: float | None
    probability: float | None
    status: str  # on track, at risk, off track, passed


class TargetsResult(Result):
    project: str
    metric: str
    label: str
    grain: str
    current_period: str
    current: float | None
    growth: dict[str, float | None]  # trailing growth per period over 3, 6 and 12 periods
    forecast: Forecast
    suggested: Suggested
    targets: list[TargetStatus]
    warnings: list[str] = Field(default_factory=list)

    def summary(self) -> list[str]:
        lines = [
            f"{self.label} was {fmt(self.current)} in {self.current_period} (by {self.grain}); "
            f"trailing growth per {self.grain}: "
            + ", ".join(f"{pct(v)} over {k}" for k, v in self.growth.items())
            + "."
        ]
        if self.forecast.periods:
            lines.append(
                f"Forecast for {self.forecast.periods[-1]}: {fmt(self.forecast.median[-1])} "
                f"(80% interval {fmt(self.forecast.low[-1])} to {fmt(self.forecast.high[-1])})."
            )
        s = self.suggested
        lines.append(
            f"Suggested targets for {s.horizon}: conservative {fmt(s.conservative)}, base "
            f"{fmt(s.base)}, stretch {fmt(s.stretch)}."
        )
        for t in self.targets:
            chance = "n/a" if t.probability is None else f"{t.probability:.0%}"
            lines.append(
                f"Target {fmt(t.value)} by {t.by} ({t.period}): {t.status}, forecast "
                f"{fmt(t.forecast)}, {chance} chance of reaching it."
            )
        return lines + [f"Warning: {w}" for w in self.warnings]


def seasons_for(grain: Grain, length: int) -> int | None:
    """The seasonal cycle the history can teach: weekdays, or a year of weeks or months
    once two years are there."""
    if grain == "day":
        return 7 if length >= 21 else None
    cycle = 52 if grain == "week" else 12
    return cycle if length >= 2 * cycle else None


def forecast_draws(
    values: np.ndarray, horizon: int, *, seasons: int | None = None, seed: int = 0
) -> np.ndarray:
    """(draws, horizon) draws of the next `horizon` values of a series."""
    positive = bool(np.all(values > 0))
    series = np.log(values) if positive else values.astype(float)
    scaled, centre, spread = standardize(series, len(series))
    y = np.concatenate([scaled, np.full(horizon, np.nan)])
    posterior = sample(
        y,
        None,
        Components(seasons, drift=True, level_prior_size=VAGUE),
        iterations=ITERATIONS,
        seed=seed,
    )
    draws = posterior.predictive(np.random.default_rng(seed + 1))[:, len(values) :]
    draws = draws * spread + centre
    return np.exp(draws) if positive else draws


def growth_quantiles(values: np.ndarray, horizon: int) -> tuple[float, float, float] | None:
    """25th, 50th and 90th percentiles of past growth ratios over `horizon` periods."""
    if len(values) <= horizon + 2 or not np.all(values > 0):
        return None
    ratios = values[horizon:] / values[:-horizon]
    low, mid, high = np.percentile(ratios, [25, 50, 90])
    return float(low), float(mid), float(high)


def targets_result(
    project: str,
    metric: str,
    name: str,
    series: pd.Series,
    grain: Grain,
    week_start: str,
    declared: list[tuple[float, date]],
    *,
    higher_is_better: bool = True,
    seed: int = 0,
) -> TargetsResult:
    """Baseline, forecast, suggested targets and the status of each declared target."""
    values = series.dropna().astype(float)
    if len(values) < MIN_HISTORY:
        raise PeriodError(
            f"{metric} has {len(values)} complete {grain}s; a forecast needs at least {MIN_HISTORY}"
        )
    last = values.index[-1]
    array = values.to_numpy()
    ends = [period_start(by, grain, week_start) for _, by in declared]
    furthest = max([*ends, next_start(last, grain)])
    periods: list[date] = []
    cursor = next_start(last, grain)
    while cursor <= furthest or len(periods) < 3:
        periods.append(cursor)
        cursor = next_start(cursor, grain)
    draws = forecast_draws(array, len(periods), seasons=seasons_for(grain, len(array)), seed=seed)
    low_q, high_q = 50 * (1 - FORECAST_LEVEL), 50 * (1 + FORECAST_LEVEL)
    forecast = Forecast(
        periods=[label(p, grain) for p in periods],
        median=[clean(v) for v in np.median(draws, axis=0)],
        low=[clean(v) for v in np.percentile(draws, low_q, axis=0)],
        high=[clean(v) for v in np.percentile(draws, high_q, axis=0)],
    )
    horizon = len(periods)
    quantiles = growth_quantiles(array, min(horizon, len(array) // 2))
    current = float(array[-1])
    suggested = Suggested(
        horizon=forecast.periods[-1],
        conservative=clean(current * quantiles[0]) if quantiles else None,
        base=clean(current * quantiles[1]) if quantiles else None,
        stretch=clean(current * quantiles[2]) if quantiles else None,
    )
    statuses = []
    for (value, by), end in zip(declared, ends, strict=True):
        if end <= last:
            reached = float(values.get(end, np.nan))
            ok = reached >= value if higher_is_better else reached <= value
            statuses.append(
                TargetStatus(
                    value=value,
                    by=by.isoformat(),
                    period=label(end, grain),
                    forecast=clean(reached),
                    low=None,
                    high=None,
                    probability=1.0 if ok else 0.0,
                    status="reached" if ok else "missed",
                )
            )
            continue
        column = draws[:, periods.index(end)]
        hits = column >= value if higher_is_better else column <= value
        probability = float(hits.mean())
        status = (
            "on track"
            if probability >= ON_TRACK
            else "at risk"
            if probability >= AT_RISK
            else "off track"
        )
        statuses.append(
            TargetStatus(
                value=value,
                by=by.isoformat(),
                period=label(end, grain),
                forecast=clean(float(np.median(column))),
                low=clean(float(np.percentile(column, low_q))),
                high=clean(float(np.percentile(column, high_q))),
                probability=probability,
                status=status,
            )
        )

    def trailing(n: int) -> float | None:
        if len(array) <= n or array[-1 - n] <= 0 or array[-1] <= 0:
            return None
        return clean((array[-1] / array[-1 - n]) ** (1 / n) - 1)

    return TargetsResult(
        project=project,
        metric=metric,
        label=name,
        grain=grain,
        current_period=label(last, grain),
        current=clean(current),
        growth={f"{n} {grain}s": trailing(n) for n in (3, 6, 12)},
        forecast=forecast,
        suggested=suggested,
        targets=statuses,
    )
