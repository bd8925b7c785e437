"""How Teamspace members behave day by day: when they are active, what they do, when they
churn, and when their seat is paid for.

The unit of simulation is the *cell*: one member on one local day of their life (day ``k``
after joining, ``k = 0`` being the day they join), laid out member by member so that the cell of
member ``m`` on life day ``k`` is ``offset[m] + k``. Everything is vectorised over cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cynosure.demo.behaviour import grid
from cynosure.demo.teamspace import truths
from cynosure.demo.teamspace.members import Members
from cynosure.demo.teamspace.world import World

# Chance to be active on a day: logistic in the engagement trait after the first days; in the
# first days everyone is onboarding, whatever their trait (so that page views, which follow
# active days only, stay unrelated to engagement).
ACTIVE_LOGIT = -0.1
ACTIVE_TRAIT = 0.8
EARLY_ACTIVE = 0.85
MAX_ACTIVE = 0.97
# Daily churn hazard: low while a new member is onboarding, then falling with engagement.
HAZARD_EARLY = 0.01
HAZARD_LATE = 0.028
HAZARD_TRAIT = 0.3
# Per active day. Messages are gamma-Poisson (overdispersed): some days are busy.
MESSAGES_BASE = 3.0
MESSAGES_TRAIT = 0.3
MESSAGES_SHAPE = 2.0
MESSAGES_BY_SIZE = np.array([0.85, 1.0, 1.2])
REACTIONS_PER_MESSAGE = 0.3
FILES_BASE = 0.35
FILES_TRAIT = 0.2
# Channel joins: about 2 in the aha window (Poisson, more with engagement) spread over its
# active days, whatever their number; rare afterwards.
CHANNELS_EARLY = 1.7
CHANNELS_TRAIT = 0.5
CHANNELS_LATE = 0.03
HUDDLES_BASE = 0.08
HUDDLES_TRAIT = 0.3
SEARCHES_BASE = 0.4
SEARCHES_TRAIT = 0.2
PAGE_VIEWS = 1.0
NOTIFICATIONS_BY_PLATFORM = np.array([0.35, 0.2, 0.9])
INVITES_EARLY = 0.3
INVITES_LATE = 0.02
INTEGRATIONS = 0.008

# The actions simulated per active day, in the order of ``Activity.counts``.
DAILY_ACTIONS: tuple[str, ...] = (
    "message_sent",
    "reaction_added",
    "channel_joined",
    "file_shared",
    "huddle_started",
    "integration_added",
    "invite_sent",
    "search",
    "page_viewed",
    "notification_opened",
)


@dataclass(frozen=True)
class Lives:
    """Each member's life within the data.

    Attributes:
        alive_days: Days from joining the member is alive within the data (>= 1); the member
            churns at the end of their last alive day when ``churned``.
        offset: Index of the member's first cell (``offset[m] + k`` is life day ``k``).
        aha: Whether the member reached the aha moment (the causal part of truth 1).
        churned: Whether the member churned before the end of the data.
    """

    alive_days: np.ndarray
    offset: np.ndarray
    aha: np.ndarray
    churned: np.ndarray


@dataclass(frozen=True)
class Activity:
    """The active cells (days with any activity), ordered by cell, and what happened in each.

    Attributes:
        cell: Alive-cell index (see :class:`Lives`).
        member: Member index.
        life_day: Days since joining.
        day: Day index from ``World.start``.
        counts: Events of each of ``DAILY_ACTIONS`` per active cell (one row per action).
    """

    cell: np.ndarray
    member: np.ndarray
    life_day: np.ndarray
    day: np.ndarray
    counts: np.ndarray

    def of(self, action: str) -> np.ndarray:
        """Counts of one of ``DAILY_ACTIONS`` per active cell."""
        return self.counts[DAILY_ACTIONS.index(action)]


@dataclass(frozen=True)
class Seats:
    """Paid seats: when each member upgraded, and the invoices.

    Attributes:
        invoice_member: Member index per invoice.
        invoice_life_day: Life day per invoice (the upgrade day, then every billing period).
    """

    invoice_member: np.ndarray
    invoice_life_day: np.ndarray


def simulate_lives(
    rng: np.random.Generator, world: World, members: Members
) -> tuple[Lives, Activity]:
    """Simulate when each member is alive and active, and the events of each active day.

    The aha window is simulated before the rest of the life, because whether the member reaches
    the aha moment in it sets their churn hazard afterwards (truth 1).

    Args:
        rng: The chunk's random generator.
        world: Shared conditions.
        members: The chunk's members.

    Returns:
        The lives and the active cells.
    """
    n = len(members)
    remaining = world.days - members.join_day
    window = truths.AHA_WITHIN_DAYS
    first_life = rng.geometric(np.full(n, HAZARD_EARLY))
    early_days = np.minimum(np.minimum(first_life, window), remaining)
    early = _active_cells(rng, world, members, *grid(early_days))
    joins = rng.poisson(CHANNELS_EARLY * np.exp(CHANNELS_TRAIT * members.trait))
    _spread(rng, early, joins, DAILY_ACTIONS.index(truths.AHA_EVENT))
    aha = joins >= truths.AHA_AT_LEAST
    late_hazard = HAZARD_LATE * np.exp(-HAZARD_TRAIT * members.trait)
    late_hazard = np.where(aha, late_hazard * truths.AHA_HAZARD_MULTIPLIER, late_hazard)
    # Geometric lifetimes are memoryless: a member still alive after the window (who did not
    # churn at the end of any of its days) draws a fresh lifetime with the later hazard.
    life = np.where(
        first_life > window, window + rng.geometric(np.minimum(late_hazard, 1.0)), first_life
    )
    alive_days = np.minimum(life, remaining)
    late = _active_cells(rng, world, members, *grid(np.maximum(alive_days - window, 0), window))
    offset = np.cumsum(alive_days) - alive_days
    lives = Lives(alive_days=alive_days, offset=offset, aha=aha, churned=life < remaining)

    member = np.concatenate([early.member, late.member])
    life_day = np.concatenate([early.life_day, late.life_day])
    cell = offset[member] + life_day
    order = np.argsort(cell, kind="stable")
    return lives, Activity(
        cell=cell[order],
        member=member[order],
        life_day=life_day[order],
        day=np.concatenate([early.day, late.day])[order],
        counts=np.concatenate([early.counts, late.counts], axis=1)[:, order],
    )


def _active_cells(
    rng: np.random.Generator,
    world: World,
    members: Members,
    member: np.ndarray,
    life_day: np.ndarray,
) -> Activity:
    """Draw which of the given alive cells are active, and the event counts of those.

    The returned ``cell`` is left empty: cells are numbered once the lives are known.
    """
    trait = members.trait[member]
    day = members.join_day[member] + life_day
    early = life_day < truths.AHA_WITHIN_DAYS
    engaged = 1.0 / (1.0 + np.exp(-(ACTIVE_LOGIT + ACTIVE_TRAIT * trait)))
    chance = np.where(early, EARLY_ACTIVE, engaged) * world.activity_mult[day]
    # Everyone is active on the day they join.
    active = (rng.random(len(member)) < np.minimum(chance, MAX_ACTIVE)) | (life_day == 0)
    member, life_day, day, trait, early = (x[active] for x in (member, life_day, day, trait, early))

    platform = members.platform[member]
    messages_mean = (
        MESSAGES_BASE
        * np.exp(MESSAGES_TRAIT * trait)
        * MESSAGES_BY_SIZE[members.company_size[member]]
        * world.messages_mult[day]
        * world.platform_mult[platform, day]
    )
    messages = rng.poisson(rng.gamma(MESSAGES_SHAPE, messages_mean / MESSAGES_SHAPE))
    means = {
        "reaction_added": REACTIONS_PER_MESSAGE * messages,
        # Early channel joins are added by _spread, per member.
        "channel_joined": np.where(early, 0.0, CHANNELS_LATE),
        "file_shared": FILES_BASE * np.exp(FILES_TRAIT * trait) * world.files_mult[day],
        "huddle_started": HUDDLES_BASE * np.exp(HUDDLES_TRAIT * trait),
        "integration_added": np.full(len(member), INTEGRATIONS),
        "invite_sent": np.where(early, INVITES_EARLY, INVITES_LATE),
        "search": SEARCHES_BASE * np.exp(SEARCHES_TRAIT * trait),
        "page_viewed": np.full(len(member), PAGE_VIEWS),
        "notification_opened": NOTIFICATIONS_BY_PLATFORM[platform],
    }
    counts = np.stack([messages, *(rng.poisson(means[name]) for name in DAILY_ACTIONS[1:])]).astype(
        np.int32
    )
    return Activity(
        cell=np.empty(0, dtype=np.int64),
        member=member,
        life_day=life_day,
        day=day,
        counts=counts,
    )


def _spread(rng: np.random.Generator, early: Activity, totals: np.ndarray, row: int) -> None:
    """Add ``totals[m]`` events to row ``row`` of the counts, over member ``m``'s active cells.

    Every member has at least one active cell in the window (the day they join), and the cells
    of a member are contiguous because they come member by member from ``grid``.
    """
    cells = np.bincount(early.member, minlength=len(totals))
    first = np.cumsum(cells) - cells
    pick = np.repeat(first, totals) + (rng.random(int(totals.sum())) * np.repeat(cells, totals))
    early.counts[row] += np.bincount(pick.astype(np.int64), minlength=len(early.member)).astype(
        early.counts.dtype
    )


def simulate_seats(rng: np.random.Generator, lives: Lives, activity: Activity) -> Seats:
    """Simulate upgrades to a paid seat and the invoices of each paid seat (truth 4).

    Args:
        rng: The chunk's random generator.
        lives: The members' lives.
        activity: The active cells, ordered by cell.

    Returns:
        The invoices.
    """
    chance = truths.UPGRADE_MAX_DAILY * (
        1.0 - np.exp(-activity.of("message_sent") / truths.UPGRADE_MESSAGES_SCALE)
    )
    upgrade = np.flatnonzero(rng.random(len(chance)) < chance)
    # Cells are ordered member by member, then by day: the first success is the upgrade.
    paying, first = np.unique(activity.member[upgrade], return_index=True)
    since = activity.life_day[upgrade[first]]
    invoices = (lives.alive_days[paying] - since - 1) // truths.BILLING_PERIOD_DAYS + 1
    index, period = grid(invoices)
    return Seats(
        invoice_member=paying[index],
        invoice_life_day=since[index] + period * truths.BILLING_PERIOD_DAYS,
    )
