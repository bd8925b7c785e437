"""Generate the Tunewave demo project: event files, a users table and ``cynosure.yml``.

Users are simulated in chunks of ``USERS_PER_FILE``, each chunk with its own random generator
(seeded from the seed and the chunk number) and written to its own Parquet file, so memory stays
bounded whatever the number of users and the result does not depend on anything but the
arguments.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cynosure.demo import project_file
from cynosure.demo import world as w
from cynosure.demo.behaviour import simulate_lives, simulate_plans
from cynosure.demo.population import Users, draw_users
from cynosure.demo.sessions import EVENTS, PLANS, SONG_PLAYED, Events, assemble, draw_durations
from cynosure.demo.world import World, build_world
from cynosure.errors import DataError

USERS_PER_FILE = 25_000
ROW_GROUP_ROWS = 1_000_000
EVENTS_DIR = Path("data") / "events"
USERS_FILE = Path("data") / "users.parquet"
PROJECT_FILE = "cynosure.yml"

_TIMESTAMP = pa.timestamp("us", tz="UTC")
COUNTRY_CODES = tuple(c[0] for c in w.COUNTRIES)
CHANNEL_NAMES = tuple(c[0] for c in w.CHANNELS)


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`generate` wrote.

    Attributes:
        directory: The project directory (holding ``cynosure.yml``).
        users: Number of users.
        events: Number of events.
        start: First day of data.
        end: Last day of data.
        seconds: Wall-clock seconds the generation took.
    """

    directory: Path
    users: int
    events: int
    start: date
    end: date
    seconds: float


def generate(
    directory: str | Path,
    *,
    users: int = 50_000,
    months: int = 18,
    seed: int = 7,
    end: date = date(2026, 10, 31),
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Write the Tunewave demo project, a music-streaming app with planted truths.

    The directory receives ``data/events/part-NNNNN.parquet`` (one file per 25,000 users, each
    sorted by time), ``data/users.parquet`` and ``cynosure.yml``. The planted truths are listed
    in :mod:`cynosure.demo.truths`. The default size is about 5 million events; the number of
    events grows linearly with ``users``.

    Args:
        directory: Where to write. Created if missing; a directory holding an earlier demo is
            regenerated, any other non-empty directory is refused.
        users: Number of users (all sign up within the data's range).
        months: Months of data, ending on ``end``.
        seed: Random seed; the same arguments always give the same data.
        end: Last day of data (inclusive).
        progress: Called with (users done, users in all) after each chunk, e.g. to drive a
            progress bar.

    Returns:
        A summary of what was written.

    Raises:
        DataError: When the arguments are invalid or ``directory`` is not empty and holds no
            earlier demo.
    """
    began = time.perf_counter()
    check_arguments(users, months, seed, "users")
    root = Path(directory)
    prepare_directory(root)
    world = build_world(end, months, seed)
    render = partial(project_file.render, seed=seed, users=users, start=world.start, end=world.end)
    # Written first, so that an interrupted run leaves a directory that can be regenerated.
    (root / PROJECT_FILE).write_text(render(), encoding="utf-8")

    month_start, month_end = last_whole_month(world)

    def chunk(rng: np.random.Generator, ids: pa.Array) -> Chunk:
        population = draw_users(rng, world, len(ids))
        chunk_events = _simulate(rng, world, population)
        day = chunk_events.timestamp // w.MICROS_PER_DAY - world.start_epoch_day
        in_month = (chunk_events.event == SONG_PLAYED) & (day >= month_start) & (day <= month_end)
        return Chunk(
            events=_event_table(chunk_events, population, ids),
            people=_user_table(world, population, ids),
            month_total=float(chunk_events.duration_s[in_month].sum()) / 3600.0,
        )

    events, month_hours = write_population(
        root, users, USERS_PER_FILE, seed, "u", 7, USERS_FILE, chunk, progress
    )
    label = (world.start + timedelta(days=month_end)).strftime("%Y-%m")
    text = render(month=label, month_hours=month_hours)
    (root / PROJECT_FILE).write_text(text, encoding="utf-8")
    return DemoSummary(root, users, events, world.start, world.end, time.perf_counter() - began)


@dataclass(frozen=True)
class Chunk:
    """One chunk of simulated people: its events, its people table, and its part of the
    number the project file quotes for the last whole month."""

    events: pa.Table
    people: pa.Table
    month_total: float


def write_population(
    root: Path,
    users: int,
    per_file: int,
    seed: int,
    id_prefix: str,
    id_width: int,
    people_file: Path,
    simulate: Callable[[np.random.Generator, pa.Array], Chunk],
    progress: Callable[[int, int], None] | None,
) -> tuple[int, float]:
    """Simulate `users` people chunk by chunk (each with its own random stream, so the data
    do not depend on memory), write one event file per chunk and the people table.

    Returns:
        The number of events written and the sum of the chunks' month totals.
    """
    events = 0
    month_total = 0.0
    people = []
    width = max(id_width, len(str(users)))
    for index, first in enumerate(range(0, users, per_file)):
        rng = np.random.default_rng([seed, index + 1])
        count = min(per_file, users - first)
        ids = pa.array([f"{id_prefix}{i:0{width}d}" for i in range(first + 1, first + count + 1)])
        part = simulate(rng, ids)
        write_parquet(part.events, root / EVENTS_DIR / f"part-{index:05d}.parquet")
        events += part.events.num_rows
        month_total += part.month_total
        people.append(part.people)
        del part
        if progress is not None:
            progress(first + count, users)
    write_parquet(pa.concat_tables(people), root / people_file)
    return events, month_total


def prepare_directory(root: Path) -> None:
    """Make ``root`` ready for a demo: create it, or clear the data of an earlier demo, or refuse.

    Args:
        root: The project directory.

    Raises:
        DataError: When ``root`` is a file, or a non-empty directory holding no earlier demo.
    """
    if root.exists() and not root.is_dir():
        raise DataError(f"cannot write the demo to {root}: it is a file, not a directory")
    if root.exists() and any(root.iterdir()):
        project = root / PROJECT_FILE
        if not (project.is_file() and _is_demo(project)):
            raise DataError(
                f"cannot write the demo to {root}: the directory is not empty and holds no "
                f"earlier demo (a {PROJECT_FILE} written by `cynosure demo`); choose a new or "
                "empty directory"
            )
        # The data folder belongs to the demo (the project file says regenerating replaces
        # it), so the tables of any demo product written there before go.
        stale = [*(root / EVENTS_DIR).glob("part-*.parquet"), *(root / "data").glob("*.parquet")]
        for old in stale:
            old.unlink()
    (root / EVENTS_DIR).mkdir(parents=True, exist_ok=True)


def _is_demo(project: Path) -> bool:
    """Whether a project file was written by the demo (its first line is the marker)."""
    with project.open(encoding="utf-8", errors="replace") as handle:
        return handle.readline().startswith(project_file.MARKER)


class Calendar(Protocol):
    """What :func:`last_whole_month` needs of a product's world."""

    @property
    def start(self) -> date: ...

    @property
    def end(self) -> date: ...

    def day_index(self, day: date) -> int: ...


def last_whole_month(world: Calendar) -> tuple[int, int]:
    """Day indexes of the first and last day of the last whole calendar month of data."""
    after = world.end + timedelta(days=1)
    last = world.end if after.day == 1 else world.end - timedelta(days=world.end.day)
    first = max(last.replace(day=1), world.start)
    return world.day_index(first), world.day_index(last)


def check_arguments(users: int, months: int, seed: int, noun: str) -> None:
    """Refuse sizes and seeds no demo can be generated with (DataError, saying which)."""
    if users < 1:
        raise DataError(f"{noun} must be at least 1, got {users}")
    if not 1 <= months <= 120:
        raise DataError(f"months must be between 1 and 120, got {months}")
    if seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed}")


def _simulate(rng: np.random.Generator, world: World, population: Users) -> Events:
    """Simulate one chunk of users, from signup to their last event."""
    lives, activity = simulate_lives(rng, world, population)
    durations = draw_durations(rng, activity.songs)
    song_cell = np.repeat(np.arange(len(activity.cell)), activity.songs)
    minutes = np.bincount(song_cell, weights=durations, minlength=len(activity.cell)) / 60.0
    plans = simulate_plans(rng, lives, activity, minutes)
    return assemble(rng, world, population, lives, activity, durations, plans)


def _event_table(events: Events, population: Users, ids: pa.Array) -> pa.Table:
    """The chunk's events as an Arrow table in the demo's schema, sorted by time.

    String columns are built as dictionary arrays (codes plus a few labels), which is lighter
    and faster than materialising millions of strings; they are written as plain strings.
    """
    order = np.argsort(events.timestamp, kind="stable")
    user = events.user[order]
    return pa.table(
        {
            "user_id": dictionary_column(ids, user),
            "timestamp": pa.array(events.timestamp[order], type=_TIMESTAMP),
            "event": dictionary_column(EVENTS, events.event[order]),
            "country": dictionary_column(COUNTRY_CODES, population.country[user]),
            "platform": dictionary_column(w.PLATFORMS, population.platform[user]),
            "app_version": dictionary_column(w.VERSIONS, events.app_version[order]),
            "plan": dictionary_column(PLANS, events.plan[order]),
            "acquisition_channel": dictionary_column(CHANNEL_NAMES, population.channel[user]),
            "duration_s": float_column(events.duration_s[order]),
            "amount": float_column(events.amount[order]),
        }
    )


def dictionary_column(names: tuple[str, ...] | pa.Array, codes: np.ndarray) -> pa.DictionaryArray:
    """A string column given as codes into ``names`` (written to Parquet as plain strings)."""
    dictionary = names if isinstance(names, pa.Array) else pa.array(names, type=pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), dictionary)


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write a table as Parquet with plain string columns (dictionary-encoded on disk)."""
    # Without the stored Arrow schema, readers see the dictionary columns as the plain
    # strings they are, rather than as categoricals.
    pq.write_table(
        table, path, row_group_size=ROW_GROUP_ROWS, compression="zstd", store_schema=False
    )


def float_column(values: np.ndarray) -> pa.Array:
    """A float64 column with NULL where the simulation left NaN."""
    return pa.array(values, type=pa.float64(), mask=np.isnan(values))


def _user_table(world: World, population: Users, ids: pa.Array) -> pa.Table:
    """The chunk's users table: one row per user, as of signup."""
    day = world.start_epoch_day + population.signup_day
    micros = day * w.MICROS_PER_DAY + np.round(population.signup_sec * 1e6).astype(np.int64)
    return pa.table(
        {
            "user_id": ids,
            "signed_up_at": pa.array(micros, type=_TIMESTAMP),
            "country": dictionary_column(COUNTRY_CODES, population.country),
            "platform": dictionary_column(w.PLATFORMS, population.platform),
            "acquisition_channel": dictionary_column(CHANNEL_NAMES, population.channel),
        }
    )
