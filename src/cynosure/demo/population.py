"""Who the Tunewave users are: signup time, market, platform, channel and latent traits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cynosure.demo import world as w
from cynosure.demo.world import World

# Local hour of app sessions and signups: a morning commute, lunch and a big evening peak.
_DIURNAL = ((0.20, 8.0, 1.5), (0.25, 13.0, 2.5), (0.55, 20.0, 2.5))

# Days users wait before installing an app update: most within days, a long tail never soon.
_UPDATE_LAG = ((0.60, 4.0), (0.30, 15.0), (0.10, 60.0))

LAST_SIGNUP_SECOND = 86_000.0


@dataclass(frozen=True)
class Users:
    """One chunk of users, one entry per user.

    Attributes:
        signup_day: Day index (from ``World.start``) of signing up.
        signup_sec: Seconds into that (UTC) day of signing up.
        country: Index into ``world.COUNTRIES``.
        platform: Index into ``world.PLATFORMS``.
        channel: Index into ``world.CHANNELS``.
        trait: Latent engagement (standard normal, shifted by channel): more activity, more
            songs and playlist adds, lower churn. The confounder of the aha moment.
        utc_offset: Hours from UTC of the user's market, to place sessions in local time.
        update_lag: Days the user waits before installing a new app release.
    """

    signup_day: np.ndarray
    signup_sec: np.ndarray
    country: np.ndarray
    platform: np.ndarray
    channel: np.ndarray
    trait: np.ndarray
    utc_offset: np.ndarray
    update_lag: np.ndarray

    def __len__(self) -> int:
        return len(self.signup_day)


def draw_users(rng: np.random.Generator, world: World, n: int) -> Users:
    """Draw ``n`` users who sign up between ``world.start`` and ``world.end``.

    Args:
        rng: The chunk's random generator.
        world: Shared conditions (the signup rate per day).
        n: Number of users.

    Returns:
        The users, in no particular order of signup.
    """
    signup_day = rng.choice(world.days, size=n, p=world.signup_weight / world.signup_weight.sum())
    shares = np.array([c[1] for c in w.COUNTRIES])
    country = rng.choice(len(w.COUNTRIES), size=n, p=shares / shares.sum())
    ios = np.array([c[3] for c in w.COUNTRIES])[country]
    android = np.array([c[4] for c in w.COUNTRIES])[country]
    u = rng.random(n)
    platform = np.where(u < ios, w.IOS, np.where(u < ios + android, w.ANDROID, w.WEB))
    channel_shares = np.array([c[1] for c in w.CHANNELS])
    channel = rng.choice(len(w.CHANNELS), size=n, p=channel_shares / channel_shares.sum())
    trait = rng.normal(0.0, 1.0, n) + np.array([c[2] for c in w.CHANNELS])[channel]
    utc_offset = np.array([c[2] for c in w.COUNTRIES])[country]
    # Nobody signs up in the last minutes of a day, so the first session fits in that day.
    signup_sec = np.minimum(utc_seconds(rng, utc_offset), LAST_SIGNUP_SECOND)
    weights, means = zip(*_UPDATE_LAG, strict=True)
    component = rng.choice(len(weights), size=n, p=np.array(weights))
    update_lag = np.floor(rng.exponential(np.array(means)[component])).astype(np.int64)
    return Users(
        signup_day=signup_day.astype(np.int64),
        signup_sec=signup_sec,
        country=country.astype(np.int8),
        platform=platform.astype(np.int8),
        channel=channel.astype(np.int8),
        trait=trait,
        utc_offset=utc_offset,
        update_lag=update_lag,
    )


def utc_seconds(rng: np.random.Generator, utc_offset: np.ndarray) -> np.ndarray:
    """Seconds into the UTC day of moments drawn from the local diurnal pattern.

    The local time is wrapped into the same UTC day rather than moved to the next one, so a
    simulated day keeps all its events (and its weekday and dated effects).

    Args:
        rng: Random generator.
        utc_offset: Hours from UTC, one per moment to draw.

    Returns:
        Seconds in ``[0, 86400)``.
    """
    n = len(utc_offset)
    weights, means, sds = (np.array(x) for x in zip(*_DIURNAL, strict=True))
    component = rng.choice(len(weights), size=n, p=weights)
    local_hour = rng.normal(means[component], sds[component])
    return np.mod((local_hour - utc_offset) * 3600.0, w.SECONDS_PER_DAY)


def version_of(world: World, users: Users, user: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The app version (index into ``world.VERSIONS``) a user runs on a day.

    A user moves to a release ``update_lag`` days after it ships, and a new install starts on
    the newest release; web users always run ``"web"``.

    Args:
        world: Shared conditions (release days).
        users: The chunk's users.
        user: User index per row.
        day: Day index per row.

    Returns:
        Version index per row (int8).
    """
    platform = users.platform[user]
    seen = day - users.update_lag[user]
    installed = users.signup_day[user]
    out = np.full(len(user), w.WEB_VERSION, dtype=np.int8)
    for code, releases in ((w.IOS, world.releases[0]), (w.ANDROID, world.releases[1])):
        rows = platform == code
        updated = np.searchsorted(releases, seen[rows], side="right") - 1
        at_install = np.searchsorted(releases, installed[rows], side="right") - 1
        # The first release predates any data, so the index is never below 0 in practice.
        out[rows] = np.maximum(np.maximum(updated, at_install), 0)
    return out
