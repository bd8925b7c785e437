"""Turn simulated days into timestamped Teamspace events.

Events of an active day are spread over the local working day (after the moment of joining,
on the day a member joins); every moment is converted to UTC through the day's offset, so the
local day, and with it every dated effect and the aha window, is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cynosure.demo.teamspace import truths
from cynosure.demo.teamspace import world as w
from cynosure.demo.teamspace.behaviour import DAILY_ACTIONS, Activity, Seats
from cynosure.demo.teamspace.members import LAST_SECOND, Members, work_seconds
from cynosure.demo.teamspace.world import World

ACTIONS: tuple[str, ...] = ("joined", *DAILY_ACTIONS, "invoice_paid")
JOINED = ACTIONS.index("joined")
MESSAGE_SENT = ACTIONS.index("message_sent")
INVOICE_PAID = ACTIONS.index("invoice_paid")
# Message length in characters: log-normal (median about 40), capped like a chat client.
CHARACTERS_LOG_MEAN = 3.7
CHARACTERS_LOG_SD = 0.9
MAX_CHARACTERS = 4000
SEAT_PRICES = np.array([truths.SEAT_PRICES[size] for size in w.COMPANY_SIZES])


@dataclass(frozen=True)
class Events:
    """A chunk's events, unsorted, one entry per event.

    Attributes:
        member: Member index within the chunk.
        timestamp: Microseconds since the Unix epoch (UTC).
        action: Index into ``ACTIONS``.
        characters: Message length (``message_sent`` only, else -1).
        amount: Amount invoiced (``invoice_paid`` only, else NaN).
    """

    member: np.ndarray
    timestamp: np.ndarray
    action: np.ndarray
    characters: np.ndarray
    amount: np.ndarray


def assemble(
    rng: np.random.Generator, world: World, members: Members, activity: Activity, seats: Seats
) -> Events:
    """Timestamp every event of a chunk and attach its properties.

    Args:
        rng: The chunk's random generator.
        world: Shared conditions.
        members: The chunk's members.
        activity: Their active cells.
        seats: Their invoices.

    Returns:
        The events.
    """
    n = len(members)
    actions, active = activity.counts.shape
    counts = activity.counts.ravel()
    row = np.repeat(np.tile(np.arange(active), actions), counts)
    daily_action = np.repeat(np.repeat(np.arange(1, actions + 1), active), counts)
    invoice_day = members.join_day[seats.invoice_member] + seats.invoice_life_day

    member = np.concatenate([np.arange(n), activity.member[row], seats.invoice_member])
    day = np.concatenate([members.join_day, activity.day[row], invoice_day])
    first_day = np.concatenate(
        [np.zeros(n, bool), activity.life_day[row] == 0, seats.invoice_life_day == 0]
    )
    action = np.concatenate(
        [
            np.full(n, JOINED, np.int8),
            daily_action.astype(np.int8),
            np.full(len(invoice_day), INVOICE_PAID, np.int8),
        ]
    )
    del row, daily_action
    sec = work_seconds(rng, len(member))
    sec[:n] = members.join_sec
    # On the day they join, members act only after joining.
    joined = members.join_sec[member[first_day]]
    sec[first_day] = joined + 1.0 + rng.random(len(joined)) * (LAST_SECOND - joined - 1.0)

    messages = action == MESSAGE_SENT
    characters = np.full(len(action), -1, dtype=np.int32)
    length = rng.lognormal(CHARACTERS_LOG_MEAN, CHARACTERS_LOG_SD, int(messages.sum()))
    characters[messages] = np.clip(np.round(length), 1, MAX_CHARACTERS)
    invoiced = action == INVOICE_PAID
    amount = np.full(len(action), np.nan)
    amount[invoiced] = SEAT_PRICES[members.company_size[member[invoiced]]]
    return Events(
        member=member,
        timestamp=world.utc_micros(day, sec),
        action=action,
        characters=characters,
        amount=amount,
    )
