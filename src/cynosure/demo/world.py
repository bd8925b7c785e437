"""The world Tunewave lives in: calendar, markets, app releases and the weekly discovery factor.

Everything here is per day, per week or per category, never per user or per event, so it is
computed once per generation and shared by every chunk of users.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from cynosure.demo import truths

EPOCH = date(1970, 1, 1)
SECONDS_PER_DAY = 86_400
MICROS_PER_DAY = SECONDS_PER_DAY * 1_000_000

# (country, share of signups, UTC offset in hours, share on ios, share on android); the rest is
# web. Shares follow a typical streaming app's footprint: US-heavy, Android-heavy in BR/IN/MX.
COUNTRIES: tuple[tuple[str, float, float, float, float], ...] = (
    ("US", 0.28, -5.0, 0.55, 0.30),
    ("IN", 0.13, 5.5, 0.10, 0.80),
    ("BR", 0.11, -3.0, 0.20, 0.70),
    ("GB", 0.08, 0.0, 0.50, 0.32),
    ("DE", 0.08, 1.0, 0.38, 0.45),
    ("MX", 0.06, -6.0, 0.22, 0.66),
    ("FR", 0.06, 1.0, 0.40, 0.42),
    ("JP", 0.05, 9.0, 0.62, 0.25),
    ("CA", 0.05, -5.0, 0.52, 0.33),
    ("ES", 0.05, 1.0, 0.32, 0.52),
    ("AU", 0.05, 10.0, 0.55, 0.32),
)
PLATFORMS: tuple[str, ...] = ("ios", "android", "web")
IOS, ANDROID, WEB = 0, 1, 2

# (channel, share, shift of the engagement trait): referred friends stay, paid clicks less so.
CHANNELS: tuple[tuple[str, float, float], ...] = (
    ("organic", 0.38, 0.0),
    ("paid_social", 0.22, -0.30),
    ("search_ads", 0.15, -0.10),
    ("referral", 0.15, 0.35),
    ("podcast", 0.10, 0.15),
)

# (version, iOS release, Android release). Users move to a release after a personal lag; new
# installs get the newest one. 4.2.0 is the buggy Android build of the incident truth.
RELEASES: tuple[tuple[str, date, date], ...] = (
    ("3.9.0", date(2025, 1, 20), date(2025, 1, 22)),
    ("4.0.0", date(2025, 6, 9), date(2025, 6, 11)),
    ("4.0.1", date(2025, 7, 7), date(2025, 7, 9)),
    ("4.1.0", date(2025, 10, 13), date(2025, 10, 15)),
    ("4.1.1", date(2025, 12, 1), date(2025, 12, 3)),
    ("4.1.2", date(2026, 2, 16), date(2026, 2, 18)),
    ("4.1.3", date(2026, 5, 4), date(2026, 5, 6)),
    ("4.2.0", date(2026, 8, 17), truths.INCIDENT_VERSION_RELEASED),
    ("4.2.1", date(2026, 10, 19), date(2026, 10, 26)),
)
VERSIONS: tuple[str, ...] = (*(r[0] for r in RELEASES), "web")
WEB_VERSION = len(VERSIONS) - 1

# Multipliers by weekday (Monday first): people open the app a little more at weekends and
# listen much longer; signups peak at weekends too.
ACTIVITY_BY_WEEKDAY = np.array([1.0, 0.98, 0.98, 1.0, 1.04, 1.12, 1.10])
SONGS_BY_WEEKDAY = np.array([1.0, 0.97, 0.97, 1.0, 1.08, 1.35, 1.30])
SIGNUPS_BY_WEEKDAY = np.array([1.0, 0.95, 0.95, 0.98, 1.05, 1.20, 1.18])

# Signups grow exponentially to SIGNUP_GROWTH times their launch rate, after a launch burst.
SIGNUP_GROWTH = 3.0
LAUNCH_BURST = 2.0
LAUNCH_BURST_DAYS = 10.0


def add_months(day: date, months: int) -> date:
    """The same day of the month ``months`` later (earlier if negative), clamped to month end."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, eq=False)
class World:
    """Per-day and per-week conditions shared by every simulated user.

    Attributes:
        start: First day of data.
        end: Last day of data (inclusive).
        days: Number of days from ``start`` to ``end`` inclusive.
        weekday: Weekday of each day, Monday = 0.
        week: Index of each day's Monday-based week; week 0 holds ``start``.
        discovery: The discovery factor ``x_w`` per week, with ``truths.LEAD_WEEKS`` weeks
            before week 0 first (so ``discovery[w + LEAD_WEEKS]`` is week ``w``).
        signup_weight: Relative signup rate per day.
        activity_mult: Multiplier of the chance to be active, per day.
        songs_mult: Multiplier of songs per active day, per day (weekday and discovery lag).
        search_mult: Multiplier of searches per active day, per day (discovery, no lag).
        ios_mult: Multiplier of iOS songs per active day (the intervention), per day.
        incident: Whether the incident is under way, per day.
        releases: Release day index per platform (ios, android), as day offsets from start.
    """

    start: date
    end: date
    days: int
    weekday: np.ndarray
    week: np.ndarray
    discovery: np.ndarray
    signup_weight: np.ndarray
    activity_mult: np.ndarray
    songs_mult: np.ndarray
    search_mult: np.ndarray
    ios_mult: np.ndarray
    incident: np.ndarray
    releases: tuple[np.ndarray, np.ndarray]

    @property
    def start_epoch_day(self) -> int:
        """Days from 1970-01-01 to ``start``."""
        return (self.start - EPOCH).days

    def day_index(self, day: date) -> int:
        """Offset of ``day`` from ``start`` (may lie outside ``0 .. days - 1``)."""
        return (day - self.start).days


def build_world(end: date, months: int, seed: int) -> World:
    """Build the shared conditions for data covering ``months`` months up to ``end``.

    Args:
        end: Last day of data (inclusive).
        months: Number of whole months of data; the first day is ``end + 1 day - months``.
        seed: Seed of the random parts (the discovery factor).

    Returns:
        The world.
    """
    start = add_months(end + timedelta(days=1), -months)
    days = (end - start).days + 1
    day = np.arange(days)
    weekday = (start.weekday() + day) % 7
    week = (start.weekday() + day) // 7
    rng = np.random.default_rng([seed, 0])

    discovery = _discovery(rng, int(week[-1]) + 1, start)
    lead = truths.LEAD_WEEKS
    # Songs respond to the discovery of LEAD_WEEKS weeks before; searches to this week's.
    songs_mult = SONGS_BY_WEEKDAY[weekday] * np.exp(truths.DISCOVERY_ELASTICITY * discovery[week])
    search_mult = np.exp(discovery[week + lead])

    growth = np.exp(np.log(SIGNUP_GROWTH) * day / max(days - 1, 1))
    burst = 1.0 + LAUNCH_BURST * np.exp(-day / LAUNCH_BURST_DAYS)
    signup_weight = growth * burst * SIGNUPS_BY_WEEKDAY[weekday]

    intervention = (truths.INTERVENTION_DATE - start).days
    ios_mult = np.where(day >= intervention, 1.0 + truths.INTERVENTION_EFFECT, 1.0)
    incident = (day >= (truths.INCIDENT_START - start).days) & (
        day <= (truths.INCIDENT_END - start).days
    )
    releases = (
        np.array([(r[1] - start).days for r in RELEASES]),
        np.array([(r[2] - start).days for r in RELEASES]),
    )
    return World(
        start=start,
        end=end,
        days=days,
        weekday=weekday,
        week=week,
        discovery=discovery,
        signup_weight=signup_weight,
        activity_mult=ACTIVITY_BY_WEEKDAY[weekday],
        songs_mult=songs_mult,
        search_mult=search_mult,
        ios_mult=ios_mult,
        incident=incident,
        releases=releases,
    )


def _discovery(rng: np.random.Generator, weeks: int, start: date) -> np.ndarray:
    """The AR(1) discovery factor for ``LEAD_WEEKS`` weeks before week 0 and ``weeks`` after."""
    lead = truths.LEAD_WEEKS
    total = weeks + lead
    shocks = rng.normal(0.0, truths.DISCOVERY_SIGMA, total)
    first_monday = start - timedelta(days=start.weekday())
    for push in truths.MARKETING_PUSHES:
        index = (push - first_monday).days // 7 + lead
        if 0 <= index < total:
            shocks[index] += truths.MARKETING_PUSH_SIZE
    ar = truths.DISCOVERY_AR
    # Start from the stationary distribution so the first weeks are not special.
    level = rng.normal(0.0, truths.DISCOVERY_SIGMA / np.sqrt(1.0 - ar * ar))
    out = np.empty(total)
    # A loop over weeks (about 80), not events: an AR recursion has no vectorised form in numpy.
    for w in range(total):
        level = ar * level + shocks[w]
        out[w] = level
    return out
