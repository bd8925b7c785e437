"""The world Teamspace lives in: a local calendar, working weeks and the weekly sharing factor.

Days are local days in ``truths.TIMEZONE``, counted from the first day of data; weeks start on
Sunday, as in the project file. Everything here is per day, per week or per category, never per
member or per event, so it is computed once per generation and shared by every chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from scipy.signal import lfilter

from cynosure.demo.teamspace import truths
from cynosure.demo.world import EPOCH, SECONDS_PER_DAY, add_months

COMPANY_SIZES: tuple[str, ...] = tuple(truths.SEAT_PRICES)
SMALL, MID, LARGE = range(len(COMPANY_SIZES))
PLATFORMS: tuple[str, ...] = ("desktop", "web", "mobile")
DESKTOP, WEB, MOBILE = range(len(PLATFORMS))
REGIONS: tuple[str, ...] = ("us_east", "us_west", "europe", "latam", "apac")

# Multipliers by weekday (Monday first) of the chance to be active, of messages per active day
# and of joins: a B2B product is busy on working days and quiet at weekends.
ACTIVITY_BY_WEEKDAY = np.array([1.0, 1.02, 1.02, 1.0, 0.92, 0.14, 0.10])
MESSAGES_BY_WEEKDAY = np.array([1.0, 1.03, 1.03, 1.0, 0.90, 0.60, 0.55])
JOINS_BY_WEEKDAY = np.array([1.15, 1.1, 1.05, 1.0, 0.85, 0.12, 0.10])

# Joins grow exponentially to JOIN_GROWTH times their rate at the start of the data.
JOIN_GROWTH = 2.5


@dataclass(frozen=True, eq=False)
class World:
    """Per-day and per-week conditions shared by every simulated member.

    Attributes:
        start: First (local) day of data.
        end: Last (local) day of data, inclusive.
        days: Number of days from ``start`` to ``end`` inclusive.
        weekday: Weekday of each day, Monday = 0.
        week: Index of each day's Sunday-based week; week 0 holds ``start``.
        utc_offset_s: Seconds from UTC of local noon of each day (DST aware).
        sharing: The sharing factor ``x_w`` per week, with ``truths.LEAD_WEEKS`` weeks before
            week 0 first (so ``sharing[w + LEAD_WEEKS]`` is week ``w``).
        join_weight: Relative join rate per day.
        activity_mult: Multiplier of the chance to be active, per day.
        messages_mult: Multiplier of messages per active day (weekday and the sharing factor
            ``LEAD_WEEKS`` weeks before), per day.
        files_mult: Multiplier of files shared per active day (this week's sharing factor).
        platform_mult: Multiplier of messages per active day, per platform (rows) and day:
            the intervention on desktop and the incident on mobile.
    """

    start: date
    end: date
    days: int
    weekday: np.ndarray
    week: np.ndarray
    utc_offset_s: np.ndarray
    sharing: np.ndarray
    join_weight: np.ndarray
    activity_mult: np.ndarray
    messages_mult: np.ndarray
    files_mult: np.ndarray
    platform_mult: np.ndarray

    @property
    def start_epoch_day(self) -> int:
        """Days from 1970-01-01 to ``start``."""
        return (self.start - EPOCH).days

    def day_index(self, day: date) -> int:
        """Offset of ``day`` from ``start`` (may lie outside ``0 .. days - 1``)."""
        return (day - self.start).days

    def utc_micros(self, day: np.ndarray, local_sec: np.ndarray) -> np.ndarray:
        """Microseconds since the epoch (UTC) of local moments.

        Args:
            day: Day index per moment.
            local_sec: Seconds into the local day per moment, between 03:00 and 23:59 so that
                the offset of local noon is the offset of the moment, also on DST days.

        Returns:
            The moments as int64 microseconds.
        """
        seconds = (self.start_epoch_day + day) * SECONDS_PER_DAY - self.utc_offset_s[day]
        return seconds * 1_000_000 + np.round(local_sec * 1e6).astype(np.int64)


def build_world(end: date, months: int, seed: int) -> World:
    """Build the shared conditions for data covering ``months`` months up to ``end``.

    Args:
        end: Last day of data (inclusive).
        months: Number of whole months of data; the first day is ``end + 1 day - months``.
        seed: Seed of the random parts (the sharing factor).

    Returns:
        The world.
    """
    start = add_months(end + timedelta(days=1), -months)
    days = (end - start).days + 1
    day = np.arange(days)
    weekday = (start.weekday() + day) % 7
    week = ((start.weekday() + 1) % 7 + day) // 7
    rng = np.random.default_rng([seed, 0])

    sharing = _sharing(rng, int(week[-1]) + 1, start)
    lead = truths.LEAD_WEEKS
    # Messages respond to the sharing of LEAD_WEEKS weeks before; files to this week's.
    messages_mult = MESSAGES_BY_WEEKDAY[weekday] * np.exp(truths.SHARING_ELASTICITY * sharing[week])
    files_mult = np.exp(sharing[week + lead])

    platform_mult = np.ones((len(PLATFORMS), days))
    launched = day >= (truths.INTERVENTION_DATE - start).days
    platform_mult[DESKTOP, launched] = 1.0 + truths.INTERVENTION_EFFECT
    outage = (day >= (truths.INCIDENT_START - start).days) & (
        day <= (truths.INCIDENT_END - start).days
    )
    platform_mult[MOBILE, outage] = 1.0 + truths.INCIDENT_EFFECT

    growth = np.exp(np.log(JOIN_GROWTH) * day / max(days - 1, 1))
    return World(
        start=start,
        end=end,
        days=days,
        weekday=weekday,
        week=week,
        utc_offset_s=_noon_offsets(start, days),
        sharing=sharing,
        join_weight=growth * JOINS_BY_WEEKDAY[weekday],
        activity_mult=ACTIVITY_BY_WEEKDAY[weekday],
        messages_mult=messages_mult,
        files_mult=files_mult,
        platform_mult=platform_mult,
    )


def _noon_offsets(start: date, days: int) -> np.ndarray:
    """Seconds from UTC of local noon on each day, in the product's time zone."""
    zone = ZoneInfo(truths.TIMEZONE)
    offsets = []
    for index in range(days):  # one per day (about 365): zoneinfo has no vectorised form
        noon = datetime.combine(start + timedelta(days=index), time(12), tzinfo=zone)
        offset = noon.utcoffset()
        offsets.append(0 if offset is None else int(offset.total_seconds()))
    return np.array(offsets, dtype=np.int64)


def _sharing(rng: np.random.Generator, weeks: int, start: date) -> np.ndarray:
    """The AR(1) sharing factor for ``LEAD_WEEKS`` weeks before week 0 and ``weeks`` after."""
    lead = truths.LEAD_WEEKS
    total = weeks + lead
    shocks = rng.normal(0.0, truths.SHARING_SIGMA, total)
    first_sunday = start - timedelta(days=(start.weekday() + 1) % 7)
    for push in truths.SHARING_PUSHES:
        index = (push - first_sunday).days // 7 + lead
        if 0 <= index < total:
            shocks[index] += truths.SHARING_PUSH_SIZE
    ar = truths.SHARING_AR
    # Start from the stationary distribution so the first weeks are not special; lfilter runs
    # the recursion level[w] = ar * level[w - 1] + shocks[w].
    level = rng.normal(0.0, truths.SHARING_SIGMA / np.sqrt(1.0 - ar * ar))
    out, _ = lfilter([1.0], [1.0, -ar], shocks, zi=[ar * level])
    return np.asarray(out, dtype=np.float64)
