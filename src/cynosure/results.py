"""Typed results: every analysis returns one, JSON-able, with a plain-language summary."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict


def clean(value: float | None) -> float | None:
    """NaN and infinities become None (JSON null); numpy scalars become floats."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def fmt(value: float | None, unit: str | None = None) -> str:
    """A number for a sentence: 12,345, 1.23M, 4.5%, or 'n/a'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if unit == "%":
        return f"{value * 100:.1f}%"
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:,.2f}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:,.1f}k"
    if magnitude >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:,.1f}"
    return f"{value:,.3g}"


def pct(change: float | None) -> str:
    if change is None:
        return "n/a"
    return f"{change * 100:+.1f}%"


class Result(BaseModel):
    """Base of every result: `to_dict()` for JSON, `summary()` for people."""

    model_config = ConfigDict(frozen=True)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def summary(self) -> list[str]:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError


class Point(BaseModel):
    model_config = ConfigDict(frozen=True)

    period: str
    start: date
    value: float | None
    complete: bool = True


class MetricsResult(Result):
    """Every requested metric over time at one grain."""

    project: str
    grain: str
    north_star: str | None
    labels: dict[str, str]
    metrics: dict[str, list[Point]]

    def summary(self) -> list[str]:
        if not self.metrics:
            return ["No metrics to show."]
        any_series = next(iter(self.metrics.values()))
        if not any_series:
            return ["There is no event data in the selected range."]
        lines = [
            f"{len(self.metrics)} metrics by {self.grain} over {len(any_series)} periods "
            f"({any_series[0].period} to {any_series[-1].period})."
        ]
        star = self.north_star
        if star in self.metrics:
            complete = [p for p in self.metrics[star] if p.complete and p.value is not None]
            if len(complete) >= 2:
                last, before = complete[-1], complete[-2]
                change = (
                    (last.value - before.value) / abs(before.value)  # type: ignore[operator]
                    if before.value
                    else None
                )
                lines.append(
                    f"North Star {self.labels.get(star, star)}: {fmt(last.value)} in "
                    f"{last.period}, {pct(change)} from {before.period}."
                )
        partial = [p.period for p in any_series if not p.complete]
        if partial:
            lines.append(f"Partial periods (data does not cover them fully): {', '.join(partial)}.")
        return lines


class RefreshResult(Result):
    """What bringing the rollup up to date did."""

    rollup: str
    full: bool
    events: int
    skipped_events: int
    days_recomputed: int
    files_read: int
    files_rescanned: int
    rows: int
    seconds: float

    def summary(self) -> list[str]:
        if self.full:
            text = (
                f"Rolled up {self.events:,} events into {self.rows:,} entity-day rows "
                f"in {self.seconds:.1f} s."
            )
        elif self.files_read == 0 and self.days_recomputed == 0:
            text = "The rollup is up to date; no new events."
        else:
            text = (
                f"Read {self.files_read} new or changed source file(s) and recomputed "
                f"{self.days_recomputed} day(s) from {self.files_rescanned} file(s) "
                f"in {self.seconds:.2f} s."
            )
        lines = [text]
        if self.skipped_events:
            lines.append(
                f"{self.skipped_events:,} events have no entity or no time and are not counted "
                "in any metric."
            )
        return lines
