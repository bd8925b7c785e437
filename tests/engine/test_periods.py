"""Period labels and parsing: ISO weeks for any week start, months, days."""

from datetime import date, timedelta

import pytest

from cynosure.engine.periods import label, parse_period, period_start, spine
from cynosure.errors import PeriodError
from cynosure.project.model import WEEKDAYS


@pytest.mark.parametrize("week_start", WEEKDAYS)
def test_every_day_belongs_to_the_week_its_label_parses_back_to(week_start: str) -> None:
    day = date(2019, 12, 20)
    for _ in range(800):  # covers 53-week years and year boundaries
        start = period_start(day, "week", week_start)
        assert start <= day < start + timedelta(days=7)
        assert start.strftime("%A").lower() == week_start
        grain, parsed = parse_period(label(start, "week"), week_start)
        assert (grain, parsed) == ("week", start)
        day += timedelta(days=1)


def test_monday_weeks_are_plain_iso_weeks() -> None:
    assert label(date(2026, 6, 1), "week") == "2026-W23"
    assert parse_period("2020-W53", "monday") == ("week", date(2020, 12, 28))
    assert parse_period("2026-W01", "monday") == ("week", date(2025, 12, 29))


def test_months_and_days() -> None:
    assert parse_period("2026-06", "monday") == ("month", date(2026, 6, 1))
    assert parse_period("2026-06-14", "monday") == ("day", date(2026, 6, 14))
    assert label(date(2026, 6, 1), "month") == "2026-06"
    months = spine(date(2025, 11, 30), date(2026, 2, 1), "month", "monday")
    assert months == [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]


@pytest.mark.parametrize("text", ["2026-W99", "2026-13", "2026-02-30", "yesterday", "W23", ""])
def test_bad_periods_say_how_to_write_one(text: str) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_period(text, "monday")
    assert text in str(caught.value) or "period" in str(caught.value)
