"""Turn simulated days into timestamped events.

Each active day is one session: ``app_opened`` first, songs back to back, and skips, searches and
playlist adds spread over the session. A session is kept inside its UTC day (shifted earlier or,
on the signup day, compressed) so that every dated effect applies to whole days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cynosure.demo import truths
from cynosure.demo import world as w
from cynosure.demo.behaviour import Activity, Lives, Plans
from cynosure.demo.population import Users, utc_seconds, version_of
from cynosure.demo.world import World

EVENTS: tuple[str, ...] = (
    "signed_up",
    "onboarding_completed",
    "app_opened",
    "song_played",
    "song_skipped",
    "search",
    "playlist_add",
    "subscription_started",
    "payment_succeeded",
    "subscription_cancelled",
)
(
    SIGNED_UP,
    ONBOARDING,
    APP_OPENED,
    SONG_PLAYED,
    SONG_SKIPPED,
    SEARCH,
    PLAYLIST_ADD,
    SUBSCRIPTION_STARTED,
    PAYMENT,
    SUBSCRIPTION_CANCELLED,
) = range(len(EVENTS))
PLANS: tuple[str, ...] = ("free", "premium")

# Song lengths in seconds (normal, clipped to typical pop lengths); a share of plays is cut short.
SONG_MEAN_S = 215.0
SONG_SD_S = 45.0
SONG_RANGE_S = (120.0, 360.0)
PARTIAL_PLAY_SHARE = 0.2
# Seconds before the first song, and after the last one for the other events of the session.
SESSION_LEAD_S = 20.0
SESSION_TAIL_S = 30.0
LAST_SECOND = w.SECONDS_PER_DAY - 0.001
# Onboarding: most users finish it minutes after signing up, some come back a day later.
ONBOARDING_SHARE = 0.8
ONBOARDING_SLOW_SHARE = 0.15
ONBOARDING_FAST_MEAN_S = 180.0
ONBOARDING_SLOW_S = (2 * 3600.0, 44 * 3600.0)


@dataclass(frozen=True)
class Events:
    """A chunk's events, unsorted, one entry per event.

    Attributes:
        user: User index within the chunk.
        timestamp: Microseconds since the Unix epoch (UTC).
        event: Index into ``EVENTS``.
        plan: Index into ``PLANS``: the plan once the event has happened.
        app_version: Index into ``world.VERSIONS``.
        duration_s: Seconds played (``song_played`` only, else NaN).
        amount: Amount paid (``payment_succeeded`` only, else NaN).
    """

    user: np.ndarray
    timestamp: np.ndarray
    event: np.ndarray
    plan: np.ndarray
    app_version: np.ndarray
    duration_s: np.ndarray
    amount: np.ndarray


def _codes(count: int, code: int) -> np.ndarray:
    """``count`` copies of an event code, as int8 to keep big chunks light."""
    return np.full(count, code, dtype=np.int8)


def draw_durations(rng: np.random.Generator, songs: np.ndarray) -> np.ndarray:
    """Seconds played for each song, the songs of each active cell in a row.

    Args:
        rng: The chunk's random generator.
        songs: Songs per active cell.

    Returns:
        One duration per song, rounded to milliseconds.
    """
    count = int(songs.sum())
    length = np.clip(rng.normal(SONG_MEAN_S, SONG_SD_S, count), *SONG_RANGE_S)
    partial = rng.random(count) < PARTIAL_PLAY_SHARE
    played = np.where(partial, length * rng.uniform(0.05, 0.9, count), length)
    return np.round(played, 3)


# One batch of events: alive cell, seconds into the cell's day, event code.
_Part = tuple[np.ndarray, np.ndarray, np.ndarray]


def assemble(
    rng: np.random.Generator,
    world: World,
    users: Users,
    lives: Lives,
    activity: Activity,
    durations: np.ndarray,
    plans: Plans,
) -> Events:
    """Timestamp every event of a chunk and attach its plan and app version.

    Args:
        rng: The chunk's random generator.
        world: Shared conditions.
        users: The chunk's users.
        lives: Their lives.
        activity: Their active cells.
        durations: Seconds played per song (from :func:`draw_durations`).
        plans: Their subscriptions.

    Returns:
        The events.
    """
    session_parts, session_end = _sessions(rng, users, activity, durations)
    parts = [
        *session_parts,
        *_signups(rng, users, lives),
        *_subscriptions(rng, lives, plans, activity.cell, session_end),
    ]
    cell = np.concatenate([p[0] for p in parts])
    sec = np.concatenate([p[1] for p in parts])
    event = np.concatenate([p[2] for p in parts])
    del parts, session_parts
    user = np.searchsorted(lives.offset, cell, side="right") - 1
    day = users.signup_day[user] + (cell - lives.offset[user])
    plan = plans.premium[cell].astype(np.int8)
    del cell
    plan[(event == SUBSCRIPTION_STARTED) | (event == PAYMENT)] = 1
    plan[event == SUBSCRIPTION_CANCELLED] = 0
    duration = np.full(len(event), np.nan)
    duration[event == SONG_PLAYED] = durations
    timestamp = (world.start_epoch_day + day) * w.MICROS_PER_DAY
    timestamp += np.round(sec * 1e6).astype(np.int64)
    del sec
    return Events(
        user=user,
        timestamp=timestamp,
        event=event,
        plan=plan,
        app_version=version_of(world, users, user, day),
        duration_s=duration,
        amount=np.where(event == PAYMENT, truths.PREMIUM_PRICE, np.nan),
    )


def _sessions(
    rng: np.random.Generator, users: Users, activity: Activity, durations: np.ndarray
) -> tuple[list[_Part], np.ndarray]:
    """The events of each active day's session, and the second each session ends."""
    active = len(activity.cell)
    song_cell = np.repeat(np.arange(active), activity.songs)
    listened = np.bincount(song_cell, weights=durations, minlength=active)
    length = SESSION_LEAD_S + listened + SESSION_TAIL_S
    first = activity.life_day == 0
    signup_sec = users.signup_sec[activity.user]
    wanted = np.where(first, signup_sec + 1.0, utc_seconds(rng, users.utc_offset[activity.user]))
    # The signup-day session starts just after signing up; others move earlier to fit the day.
    floor = np.where(first, signup_sec + 1.0, 0.0)
    begin = np.maximum(floor, np.minimum(wanted, LAST_SECOND - length))
    scale = np.minimum(1.0, (LAST_SECOND - begin) / length)
    end = begin + length * scale
    parts = [(activity.cell, begin, _codes(active, APP_OPENED))]

    song_end = np.cumsum(durations)
    before_cell = np.concatenate([[0.0], song_end])[np.cumsum(activity.songs) - activity.songs]
    song_offset = SESSION_LEAD_S + song_end - np.repeat(before_cell, activity.songs)
    song_sec = begin[song_cell] + song_offset * scale[song_cell]
    parts.append((activity.cell[song_cell], song_sec, _codes(len(song_cell), SONG_PLAYED)))
    for counts, code in (
        (activity.skips, SONG_SKIPPED),
        (activity.searches, SEARCH),
        (activity.playlist_adds, PLAYLIST_ADD),
    ):
        rows = np.repeat(np.arange(active), counts)
        sec = begin[rows] + rng.random(len(rows)) * (end[rows] - begin[rows])
        parts.append((activity.cell[rows], sec, _codes(len(rows), code)))
    return parts, end


def _signups(rng: np.random.Generator, users: Users, lives: Lives) -> list[_Part]:
    """Signing up, and completing onboarding minutes (or for some, a day or two) later."""
    n = len(users)
    done = rng.random(n) < ONBOARDING_SHARE
    slow = rng.random(n) < ONBOARDING_SLOW_SHARE
    delay = np.where(
        slow,
        rng.uniform(*ONBOARDING_SLOW_S, n),
        SESSION_LEAD_S + rng.exponential(ONBOARDING_FAST_MEAN_S, n),
    )
    moment = users.signup_sec + delay
    late_day = (moment // w.SECONDS_PER_DAY).astype(np.int64)
    # Users gone (or data ended) before they would have finished never finish.
    done &= late_day < lives.alive_days
    return [
        (lives.offset, users.signup_sec, _codes(n, SIGNED_UP)),
        (
            lives.offset[done] + late_day[done],
            np.mod(moment[done], w.SECONDS_PER_DAY),
            _codes(int(done.sum()), ONBOARDING),
        ),
    ]


def _subscriptions(
    rng: np.random.Generator,
    lives: Lives,
    plans: Plans,
    active_cell: np.ndarray,
    active_end: np.ndarray,
) -> list[_Part]:
    """Subscriptions, payments and cancellations.

    A subscription starts after the session that convinced the user, renewals fall at the
    same time of day as the subscription, and cancellations come after any session of the day.
    """
    session_end = np.full(lives.cells, np.nan)
    session_end[active_cell] = active_end
    upgrade_sec = np.minimum(session_end[plans.upgrades] + 5.0, LAST_SECOND)
    subscribed_at = np.zeros(lives.cells)
    subscribed_at[plans.upgrades] = upgrade_sec
    cancel_sec = session_end[plans.cancels] + 10.0
    quiet = np.isnan(cancel_sec)
    cancel_sec[quiet] = rng.uniform(0.0, LAST_SECOND, int(quiet.sum()))
    paid = np.concatenate([plans.upgrades, plans.renewals])
    paid_sec = np.concatenate([upgrade_sec + 1.0, subscribed_at[plans.renewal_of]])
    return [
        (plans.upgrades, upgrade_sec, _codes(len(upgrade_sec), SUBSCRIPTION_STARTED)),
        (paid, np.minimum(paid_sec, LAST_SECOND), _codes(len(paid), PAYMENT)),
        (
            plans.cancels,
            np.minimum(cancel_sec, LAST_SECOND),
            _codes(len(cancel_sec), SUBSCRIPTION_CANCELLED),
        ),
    ]
