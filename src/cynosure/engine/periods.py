"""Periods: cutting local days into day/week/month periods, labelling and parsing them."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Literal

import ibis
import ibis.expr.types as ir

from cynosure.errors import PeriodError
from cynosure.project.model import WEEKDAYS

Grain = Literal["day", "week", "month"]
GRAINS: tuple[Grain, ...] = ("day", "week", "month")


def check_grain(grain: str) -> Grain:
    if grain not in GRAINS:
        match = next((g for g in GRAINS if grain.lower().startswith(g[:3])), None)
        hint = f"; did you mean '{match}'?" if match else ""
        raise PeriodError(f"the grain must be day, week or month, not '{grain}'{hint}")
    return grain


def period_start_expr(day: ir.DateValue, grain: Grain, week_start: str) -> ir.DateValue:
    """The first local day of the period holding `day` (an Ibis date expression)."""
    if grain == "day":
        return day
    if grain == "month":
        return day.truncate("M")
    shift = (7 - WEEKDAYS.index(week_start)) % 7
    if shift == 0:
        return day.truncate("W")
    return (day + ibis.interval(days=shift)).truncate("W") - ibis.interval(days=shift)


def period_start(day: date, grain: Grain, week_start: str) -> date:
    """The same as period_start_expr, for a Python date."""
    if grain == "day":
        return day
    if grain == "month":
        return day.replace(day=1)
    return day - timedelta(days=(day.weekday() - WEEKDAYS.index(week_start)) % 7)


def next_start(start: date, grain: Grain) -> date:
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def label(start: date, grain: Grain) -> str:
    """`2026-06-14`, `2026-W23` (ISO week of the period's fourth day) or `2026-06`."""
    if grain == "day":
        return start.isoformat()
    if grain == "month":
        return f"{start.year:04d}-{start.month:02d}"
    year, week, _ = (start + timedelta(days=3)).isocalendar()
    return f"{year:04d}-W{week:02d}"


def spine(first: date, last: date, grain: Grain, week_start: str) -> list[date]:
    """Every period start from the period holding `first` to the one holding `last`."""
    start, end = period_start(first, grain, week_start), period_start(last, grain, week_start)
    out = []
    while start <= end:
        out.append(start)
        start = next_start(start, grain)
    return out


_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(text: str, week_start: str) -> tuple[Grain, date]:
    """`2026-W23` / `2026-06` / `2026-06-14` -> (grain, first local day)."""
    text = text.strip()
    try:
        if match := _DAY.match(text):
            return "day", date(*map(int, match.groups()))
        if match := _WEEK.match(text):
            thursday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 4)
            return "week", _week_labelled(thursday, week_start)
        if match := _MONTH.match(text):
            return "month", date(int(match.group(1)), int(match.group(2)), 1)
    except ValueError as exc:
        detail = "weeks run from W01 to W52 or W53" if "W" in text else str(exc)
        raise PeriodError(f"'{text}' is not a valid period: {detail}") from None
    raise PeriodError(
        f"'{text}' is not a period; write 2026-W23 (ISO week), 2026-06 (month) or 2026-06-14 (day)"
    )


def _week_labelled(thursday: date, week_start: str) -> date:
    """The start of the week whose fourth day lies in the ISO week of `thursday`."""
    iso = thursday.isocalendar()[:2]
    for offset in range(-3, 4):
        start = period_start(thursday + timedelta(days=offset), "week", week_start)
        if (start + timedelta(days=3)).isocalendar()[:2] == iso:
            return start
    raise PeriodError("no week matches")  # unreachable: every ISO week has a Thursday
