"""Generate the Teamspace demo project: event files, a members table and ``cynosure.yml``.

Members are simulated in chunks of ``MEMBERS_PER_FILE``, each chunk with its own random
generator (seeded from the seed and the chunk number) and written to its own Parquet file, so
memory stays bounded whatever the number of members and the result depends on nothing but the
arguments.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa

from cynosure.demo.generator import (
    PROJECT_FILE,
    Chunk,
    DemoSummary,
    check_arguments,
    dictionary_column,
    float_column,
    last_whole_month,
    prepare_directory,
    write_population,
)
from cynosure.demo.teamspace import project_file
from cynosure.demo.teamspace import world as w
from cynosure.demo.teamspace.behaviour import simulate_lives, simulate_seats
from cynosure.demo.teamspace.events import ACTIONS, Events, assemble
from cynosure.demo.teamspace.members import Members, draw_members
from cynosure.demo.teamspace.world import World, build_world

MEMBERS_PER_FILE = 10_000
MEMBERS_FILE = Path("data") / "members.parquet"

_TIMESTAMP = pa.timestamp("us", tz="UTC")


def generate(
    directory: str | Path,
    *,
    users: int = 20_000,
    months: int = 12,
    seed: int = 11,
    end: date = date(2026, 10, 31),
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Write the Teamspace demo project, a B2B team-chat app with planted truths.

    The directory receives ``data/events/part-NNNNN.parquet`` (one file per 10,000 members,
    each sorted by time), ``data/members.parquet`` and ``cynosure.yml``. The planted truths are
    listed in :mod:`cynosure.demo.teamspace.truths`. The default size is about 3 million
    events (in a few seconds); the number of events grows linearly with ``users``.

    Args:
        directory: Where to write. Created if missing; a directory holding an earlier demo is
            regenerated, any other non-empty directory is refused.
        users: Number of members (all join within the data's range); named like
            :func:`cynosure.demo.generate`'s, so either product is called the same way.
        months: Months of data, ending on ``end``.
        seed: Random seed; the same arguments always give the same data.
        end: Last (local) day of data, inclusive.
        progress: Called with (members done, members in all) after each chunk, e.g. to drive
            a progress bar.

    Returns:
        A summary of what was written (its ``users`` are the members).

    Raises:
        DataError: When the arguments are invalid or ``directory`` is not empty and holds no
            earlier demo.
    """
    began = time.perf_counter()
    check_arguments(users, months, seed, "users (members)")
    root = Path(directory)
    prepare_directory(root)
    world = build_world(end, months, seed)
    render = partial(
        project_file.render, seed=seed, members=users, start=world.start, end=world.end
    )
    # Written first, so that an interrupted run leaves a directory that can be regenerated.
    (root / PROJECT_FILE).write_text(render(), encoding="utf-8")

    month_first, month_last = last_whole_month(world)

    def chunk(rng: np.random.Generator, ids: pa.Array) -> Chunk:
        people = draw_members(rng, world, len(ids))
        lives, activity = simulate_lives(rng, world, people)
        chunk_events = assemble(rng, world, people, activity, simulate_seats(rng, lives, activity))
        in_month = (activity.day >= month_first) & (activity.day <= month_last)
        return Chunk(
            events=_event_table(chunk_events, people, ids),
            people=_member_table(world, people, ids),
            month_total=float(activity.of("message_sent")[in_month].sum()),
        )

    events, month_messages = write_population(
        root, users, MEMBERS_PER_FILE, seed, "m", 6, MEMBERS_FILE, chunk, progress
    )
    label = (world.start + timedelta(days=month_last)).strftime("%Y-%m")
    text = render(month=label, month_messages=int(month_messages))
    (root / PROJECT_FILE).write_text(text, encoding="utf-8")
    return DemoSummary(root, users, events, world.start, world.end, time.perf_counter() - began)


def _event_table(events: Events, members: Members, ids: pa.Array) -> pa.Table:
    """The chunk's events as an Arrow table in the demo's schema, sorted by time."""
    order = np.argsort(events.timestamp, kind="stable")
    member = events.member[order]
    characters = events.characters[order]
    return pa.table(
        {
            "member_id": dictionary_column(ids, member),
            "sent_at": pa.array(events.timestamp[order], type=_TIMESTAMP),
            "action": dictionary_column(ACTIONS, events.action[order]),
            "company_size": dictionary_column(w.COMPANY_SIZES, members.company_size[member]),
            "platform": dictionary_column(w.PLATFORMS, members.platform[member]),
            "region": dictionary_column(w.REGIONS, members.region[member]),
            "characters": pa.array(characters, type=pa.int32(), mask=characters < 0),
            "amount": float_column(events.amount[order]),
        }
    )


def _member_table(world: World, members: Members, ids: pa.Array) -> pa.Table:
    """The chunk's members table: one row per member, as of joining."""
    return pa.table(
        {
            "member_id": ids,
            "joined_at": pa.array(
                world.utc_micros(members.join_day, members.join_sec), type=_TIMESTAMP
            ),
            "company_size": dictionary_column(w.COMPANY_SIZES, members.company_size),
            "platform": dictionary_column(w.PLATFORMS, members.platform),
            "region": dictionary_column(w.REGIONS, members.region),
        }
    )
