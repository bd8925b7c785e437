"""How Tunewave users behave day by day: when they are active, what they do, when they churn,
and when they pay.

The unit of simulation is the *cell*: one user on one day of their life (day ``k`` after
signing up, ``k = 0`` being the signup day). Cells are laid out user by user, so the cell of
user ``u`` on life day ``k`` is ``offset[u] + k``. Everything is vectorised over cells; the only
Python loop is over life days in :func:`simulate_plans`, because a subscription is a state that
carries from one day to the next.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cynosure.demo import truths
from cynosure.demo import world as w
from cynosure.demo.population import Users, version_of
from cynosure.demo.world import World

# Chance to open the app on a day: logistic in the engagement trait, boosted in the first week.
ACTIVE_LOGIT = -1.6
ACTIVE_TRAIT = 0.9
EARLY_ACTIVE_BOOST = 1.9
MAX_ACTIVE = 0.97
# Daily churn hazard: high while trying the app, then lower and falling with engagement.
HAZARD_EARLY = 0.06
HAZARD_LATE = 0.022
HAZARD_TRAIT = 0.35
# Per active day. Songs are gamma-Poisson (overdispersed): some days are long sessions.
SONGS_BASE = 2.7
SONGS_TRAIT = 0.3
SONGS_SHAPE = 2.0
SKIPS_PER_SONG = 0.25
SEARCH_BASE = 0.45
SEARCH_TRAIT = 0.2
PLAYLIST_BASE = 0.18
PLAYLIST_TRAIT = 0.6
EARLY_PLAYLIST_BOOST = 5.0


@dataclass(frozen=True)
class Lives:
    """Each user's life within the data.

    Attributes:
        alive_days: Days from signup the user is alive within the data (>= 1).
        offset: Index of the user's first cell (``offset[u] + k`` is life day ``k``).
        aha: Whether the user reached the aha moment (the causal part of truth 1).
        churned: Whether the user churned before the end of the data.
    """

    alive_days: np.ndarray
    offset: np.ndarray
    aha: np.ndarray
    churned: np.ndarray

    @property
    def cells(self) -> int:
        """Number of alive cells."""
        return int(self.alive_days.sum())


@dataclass(frozen=True)
class Activity:
    """The active cells (days with a session) and what happened in each.

    Attributes:
        cell: Alive-cell index (see :class:`Lives`).
        user: User index.
        life_day: Days since signup.
        day: Day index from ``World.start``.
        songs, skips, searches, playlist_adds: Event counts in the session.
    """

    cell: np.ndarray
    user: np.ndarray
    life_day: np.ndarray
    day: np.ndarray
    songs: np.ndarray
    skips: np.ndarray
    searches: np.ndarray
    playlist_adds: np.ndarray


@dataclass(frozen=True)
class Plans:
    """Subscriptions over the alive cells.

    Attributes:
        premium: Per alive cell, whether the user starts that day on the premium plan.
        upgrades: Alive cells in which the user subscribed (after their session).
        renewals: Alive cells with a renewal payment.
        renewal_of: For each renewal, the cell of the subscription it renews.
        cancels: Alive cells in which the user cancelled (voluntarily or by churning).
    """

    premium: np.ndarray
    upgrades: np.ndarray
    renewals: np.ndarray
    renewal_of: np.ndarray
    cancels: np.ndarray


def grid(lengths: np.ndarray, first: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """All pairs ``(u, k)`` with ``first <= k < first + lengths[u]``, user by user."""
    user = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.cumsum(lengths) - lengths
    k = np.arange(len(user)) - np.repeat(starts, lengths) + first
    return user, k


def simulate_lives(rng: np.random.Generator, world: World, users: Users) -> tuple[Lives, Activity]:
    """Simulate when each user is alive and active, and the events of each active day.

    The first week is simulated before the rest of the life, because whether the user reaches
    the aha moment in it sets their churn hazard afterwards (truth 1).

    Args:
        rng: The chunk's random generator.
        world: Shared conditions.
        users: The chunk's users.

    Returns:
        The lives and the active cells.
    """
    n = len(users)
    remaining = world.days - users.signup_day
    early_hazard = np.full(n, HAZARD_EARLY)
    first_life = rng.geometric(early_hazard)
    window = truths.AHA_WITHIN_DAYS
    early_days = np.minimum(np.minimum(first_life, window), remaining)
    early = _active_cells(rng, world, users, *grid(early_days))

    adds = np.bincount(early["user"], weights=early["playlist_adds"], minlength=n)
    aha = adds >= truths.AHA_AT_LEAST
    late_hazard = HAZARD_LATE * np.exp(-HAZARD_TRAIT * users.trait)
    late_hazard = np.where(aha, late_hazard * truths.AHA_HAZARD_MULTIPLIER, late_hazard)
    # Geometric lifetimes are memoryless, so surviving the first week and then drawing a fresh
    # lifetime with the later hazard is exactly a two-phase hazard.
    life = np.where(
        first_life >= window, window - 1 + rng.geometric(np.minimum(late_hazard, 1.0)), first_life
    )
    alive_days = np.minimum(life, remaining)
    late = _active_cells(rng, world, users, *grid(np.maximum(alive_days - window, 0), window))
    offset = np.cumsum(alive_days) - alive_days
    lives = Lives(alive_days=alive_days, offset=offset, aha=aha, churned=life < remaining)

    merged = {name: np.concatenate([early[name], late[name]]) for name in early}
    cell = offset[merged["user"]] + merged["life_day"]
    return lives, Activity(cell=cell, **merged)


def _active_cells(
    rng: np.random.Generator, world: World, users: Users, user: np.ndarray, life_day: np.ndarray
) -> dict[str, np.ndarray]:
    """Draw which of the given alive cells are active, and the event counts of those."""
    trait = users.trait[user]
    day = users.signup_day[user] + life_day
    early = life_day < truths.AHA_WITHIN_DAYS
    chance = 1.0 / (1.0 + np.exp(-(ACTIVE_LOGIT + ACTIVE_TRAIT * trait)))
    chance = chance * world.activity_mult[day] * np.where(early, EARLY_ACTIVE_BOOST, 1.0)
    # Everyone uses the app on the day they sign up.
    active = (rng.random(len(user)) < np.minimum(chance, MAX_ACTIVE)) | (life_day == 0)
    user, life_day, day, trait, early = (x[active] for x in (user, life_day, day, trait, early))

    platform = users.platform[user]
    songs_mean = SONGS_BASE * np.exp(SONGS_TRAIT * trait) * world.songs_mult[day]
    songs_mean *= np.where(platform == w.IOS, world.ios_mult[day], 1.0)
    hit = world.incident[day] & (platform == w.ANDROID)
    if hit.any():
        buggy = w.VERSIONS.index("4.2.0")
        hit[hit] = version_of(world, users, user[hit], day[hit]) == buggy
        songs_mean *= np.where(hit, 1.0 + truths.INCIDENT_EFFECT, 1.0)
    songs = rng.poisson(rng.gamma(SONGS_SHAPE, songs_mean / SONGS_SHAPE))
    skips = rng.poisson(SKIPS_PER_SONG * songs)
    searches = rng.poisson(SEARCH_BASE * np.exp(SEARCH_TRAIT * trait) * world.search_mult[day])
    playlist_mean = PLAYLIST_BASE * np.exp(PLAYLIST_TRAIT * trait)
    playlist_adds = rng.poisson(playlist_mean * np.where(early, EARLY_PLAYLIST_BOOST, 1.0))
    return {
        "user": user,
        "life_day": life_day,
        "day": day,
        "songs": songs,
        "skips": skips,
        "searches": searches,
        "playlist_adds": playlist_adds,
    }


def simulate_plans(
    rng: np.random.Generator, lives: Lives, activity: Activity, minutes: np.ndarray
) -> Plans:
    """Simulate free/premium plans, payments and cancellations over each user's life.

    Args:
        rng: The chunk's random generator.
        lives: The users' lives.
        activity: The active cells.
        minutes: Minutes listened per active cell (aligned with ``activity``).

    Returns:
        The plans.
    """
    cells = lives.cells
    listened = np.zeros(cells)
    listened[activity.cell] = minutes
    upgrade_u = rng.random(cells)
    cancel_u = rng.random(cells)
    chance = truths.UPGRADE_MAX_DAILY * (1.0 - np.exp(-listened / truths.UPGRADE_MINUTES_SCALE))

    # Users sorted by life length, longest first: those alive on life day k are a prefix.
    order = np.argsort(-lives.alive_days, kind="stable")
    longest = -lives.alive_days[order]
    alive_on = np.searchsorted(longest, -np.arange(lives.alive_days.max()), side="left")
    n = len(lives.alive_days)
    premium = np.zeros(n, dtype=bool)
    since = np.zeros(n, dtype=np.int64)
    sub_cell = np.zeros(n, dtype=np.int64)
    premium_cell = np.zeros(cells, dtype=bool)
    upgrades, renewals, renewal_of, cancels = [], [], [], []
    for k, count in enumerate(alive_on):
        user = order[:count]
        cell = lives.offset[user] + k
        on = premium[user]
        premium_cell[cell] = on
        # No renewal on the day a premium user churns (they cancel instead), and no voluntary
        # cancellation on a renewal day, so a day never holds a payment after a cancellation.
        last = lives.churned[user] & (k == lives.alive_days[user] - 1)
        due = on & ~last & (k > since[user])
        due &= (k - since[user]) % truths.BILLING_PERIOD_DAYS == 0
        renewals.append(cell[due])
        renewal_of.append(sub_cell[user[due]])
        cancel = on & ~due & (cancel_u[cell] < truths.CANCEL_DAILY_PROBABILITY)
        cancels.append(cell[cancel])
        upgrade = ~on & (upgrade_u[cell] < chance[cell])
        upgrades.append(cell[upgrade])
        premium[user[cancel]] = False
        premium[user[upgrade]] = True
        since[user[upgrade]] = k
        sub_cell[user[upgrade]] = cell[upgrade]

    # Premium users who churn cancel on their last day.
    leaving = premium & lives.churned
    cancels.append(lives.offset[leaving] + lives.alive_days[leaving] - 1)
    return Plans(
        premium=premium_cell,
        upgrades=np.concatenate(upgrades),
        renewals=np.concatenate(renewals),
        renewal_of=np.concatenate(renewal_of),
        cancels=np.concatenate(cancels),
    )
