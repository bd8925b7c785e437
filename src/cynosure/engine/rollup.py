"""The entity x local-day rollup: built once, then refreshed only where the events changed.

Every metric is computed from this table, never from raw events. One row per entity and local
day holds one column per measure of the plan (`m0` counts every event). Change detection works
per *unit* of the source (a file, or the whole table) and per UTC hour: a unit whose size and
modification time are unchanged is not read at all; for a changed unit the events per hour are
counted (a cheap scan of one column, no time-zone work) and compared, hour by hour, with what
the changed and removed units held when rolled up (so rows that only moved between files, as
in a compaction, change nothing), and only the local days overlapping an hour whose count
differs are recomputed, from the units that hold events in them. When the only change is new
files (on DuckDB, in one transaction with the refresh state), their rollup is instead added to
the rows of their days (every measure is a count or a sum), so late events cost their own file
even where older files hold the same day. Late events (for a day already rolled up) therefore
land in the right day, and appending a day of events touches one day of the rollup and reads
one file. Each hour also carries a checksum of the columns the rollup reads (the segment
columns included), so a corrected value (a renamed event, a changed amount) is found even when
the count stays the same; `refresh(full=True)` rebuilds everything regardless.
"""

from __future__ import annotations

import functools
import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from cynosure.engine.dialects import FILE_COLUMN, Dialect, dialect_of
from cynosure.engine.localtime import (
    US_PER_DAY,
    US_PER_HOUR,
    as_timestamp,
    local_day_number,
    offsets,
)
from cynosure.engine.sources import Source, Unit
from cynosure.metrics.expressions import compile_expr
from cynosure.metrics.plan import Plan
from cynosure.project.model import EventsConfig

UNITS = "cynosure_units"
UNIT_HOURS = "cynosure_source_hours"
ADDED = "cynosure_rollup_added"  # a session's temporary table
CHECKSUM_MODULUS = 2_147_483_647
Progress = Callable[[str], None]
EPOCH_DAY = date(1970, 1, 1)


@dataclass
class RefreshStats:
    """What a build or refresh did."""

    rollup: str
    full: bool
    days_recomputed: int = 0
    units_read: int = 0
    units_rescanned: int = 0  # units read again to recompute the days
    rows: int = 0
    events: int = 0
    skipped_events: int = 0
    seconds: float = 0.0


@dataclass
class Rollup:
    """The rollup table of one plan over one source, in one time zone."""

    con: BaseBackend
    source: Source
    events: EventsConfig
    plan: Plan
    timezone: str
    by: tuple[str, ...] = ()  # more grouping columns besides entity and day
    prefix: str = "cynosure_rollup"

    @functools.cached_property
    def name(self) -> str:
        key = self.plan.fingerprint(
            self.source.text, self.timezone, self.events.entity, self.events.time, *self.by
        )
        return f"{self.prefix}_{key}"

    @functools.cached_property
    def dialect(self) -> Dialect:
        return dialect_of(self.con)

    def table(self) -> ir.Table:
        return self.dialect.read_table(self.con, self.name)

    def exists(self) -> bool:
        return self.name in self.con.list_tables()

    # -- building -------------------------------------------------------------------------

    def refresh(self, *, full: bool = False, progress: Progress | None = None) -> RefreshStats:
        """Bring the rollup up to date with the source; rebuild everything if `full`."""
        started = clock.perf_counter()
        say = progress or (lambda _: None)
        tables = self._ensure_state()
        if full or self.name not in tables:
            say("Rolling up events by entity and day")
            stats = self._build()
        else:
            say("Looking for new events")
            stats = self._update(say)
        stats.seconds = clock.perf_counter() - started
        return stats

    def _events(self, files: list[str] | None = None) -> ir.Table:
        if self.source.is_table:
            return self.source.open(self.con)
        return self._open_with_file_column(files)

    def _open_with_file_column(self, files: list[str] | None) -> ir.Table:
        return self.source.open(self.con, files, file_column=True)

    def rollup_expr(self, events: ir.Table, span: tuple[int, int]) -> ir.Table:
        """The rollup of `events` whose times lie in `span` (epoch microseconds); nothing runs.

        Days are numbered by integer arithmetic on epoch microseconds (see `local_day_number`):
        converting each timestamp to a calendar date costs more than the whole aggregation.
        """
        moment = as_timestamp(events[self.events.time])
        t = events.mutate(
            cynosure_day=local_day_number(self.dialect.epoch_us(moment), self.timezone, span),
            cynosure_entity=events[self.events.entity],
        )
        t = t.filter(t.cynosure_day.notnull() & t.cynosure_entity.notnull())
        aggregates: dict[str, ir.Value] = {}
        for index, measure in enumerate(self.plan.measures):
            where = compile_expr(measure.where, t) if measure.where else None
            if measure.op == "count":
                aggregates[f"m{index}"] = t.count(where=where)
            else:
                assert measure.value is not None  # sum and nonnull always carry a value
                value = compile_expr(measure.value, t).cast("float64")
                if measure.op == "sum":
                    aggregates[f"m{index}"] = value.sum(where=where).fill_null(0.0)
                else:
                    aggregates[f"m{index}"] = value.count(where=where)
        keys = {"entity": t.cynosure_entity, "number": t.cynosure_day}
        keys |= {column: t[column] for column in self.by}
        grouped = t.group_by(**keys).aggregate(**aggregates)
        columns = [name for name in grouped.columns if name not in ("entity", "number")]
        day = self.dialect.day_from_number(grouped.number).name("day")
        return grouped.select("entity", day, *columns)

    def _hour_counts(self, events: ir.Table, files: list[str]) -> pd.DataFrame:
        """Events per (unit, UTC hour), and how many cannot be rolled up (no entity or time)."""
        moment = as_timestamp(events[self.events.time])
        hour = self.dialect.epoch_us(moment) // US_PER_HOUR
        unit = (
            events[FILE_COLUMN]
            if FILE_COLUMN in events.columns
            else ibis.literal(self._table_unit())
        )
        entity = events[self.events.entity]
        counts = events.group_by(unit=unit, hour=hour).aggregate(
            n=events.count(),
            checksum=self._row_checksum(events).sum(),
            skipped=events.count(where=entity.isnull() | hour.isnull()),
        )
        found = self.con.execute(counts)
        if FILE_COLUMN in events.columns:
            found["unit"] = self.dialect.unit_names(found["unit"], files)
        return found

    def _row_checksum(self, events: ir.Table) -> ir.IntegerValue:
        """A hash of every column the rollup depends on: a corrected value changes the sum."""
        used = {self.events.entity, self.events.time, self.events.name, *self.by}
        for measure in self.plan.measures:
            for parsed in (measure.where, measure.value):
                if parsed is not None:
                    used |= parsed.columns()
        columns = [events[c] for c in sorted(used)]
        return (self.dialect.row_hash(*columns) % CHECKSUM_MODULUS).cast("int64")

    def _table_unit(self) -> str:
        return f"table:{self.source.table_name}"

    def _build(self) -> RefreshStats:
        units = self.source.units()  # listed once: what is read is what the state records
        files = [] if self.source.is_table else [u.name for u in units]
        events = self._events(files or None)
        counts = self._hour_counts(events, files)  # first: it also gives the span of the data
        self.dialect.create_rollup(self.con, self.name, self.rollup_expr(events, _span(counts)))
        self._save_state(units, counts, replace_all=True)
        stats = RefreshStats(self.name, full=True, units_read=len(units))
        return self._count(stats, counts)

    def _update(self, say: Progress) -> RefreshStats:
        stats = RefreshStats(self.name, full=False)
        stored_units, stored_hours = self._load_state()
        current = {u.name: u for u in self.source.units()}
        changed = [
            name
            for name, unit in current.items()
            if self.source.is_table or stored_units.get(name) != (unit.size, unit.mtime_ns)
        ]
        removed = [name for name in stored_units if name not in current]
        if not changed and not removed:
            return stats
        if changed:
            counts = self._hour_counts(
                self._events(None if self.source.is_table else changed), changed
            )
        else:  # only removals: nothing to read
            counts = pd.DataFrame({"unit": [], "hour": [], "n": [], "checksum": [], "skipped": []})
        stats.units_read = len(changed)
        before = stored_hours[stored_hours.unit.isin(changed + removed)]
        affected = _local_days(_differing_hours(before, counts), self.timezone)
        # Adding is only safe while the state knows every file already rolled up (a build cut
        # short before its state was saved leaves none), and is done in one transaction with
        # the state, so that a refresh cut short cannot add the same files twice.
        only_added = bool(stored_units) and not removed and not (set(changed) & set(stored_units))
        with self.dialect.transaction(self.con):
            if affected and only_added and self.dialect.adds_to_rollup and not self.source.is_table:
                say(f"Adding new events to {len(affected)} day(s)")
                self._add(affected, changed, _span(counts))
                stats.units_rescanned = len(changed)
            elif affected:
                say(f"Recomputing {len(affected)} day(s) with new or changed events")
                kept = stored_hours[~stored_hours.unit.isin(changed + removed)]
                stats.units_rescanned = self._recompute(
                    affected, pd.concat([kept[["unit", "hour"]], counts[["unit", "hour"]]])
                )
            self._save_state([current[n] for n in changed], counts, drop=changed + removed)
        stats.days_recomputed = len(affected)
        return self._count(stats, counts)

    def _add(self, days: list[date], files: list[str], span: tuple[int, int]) -> None:
        """Add the events of new `files` to the rollup rows of `days`.

        Every measure is a count or a sum, so a day's row plus the new files' row for the same
        entity (and segment) is what recomputing the day from every file would give, without
        reading the files that were there before: late events in a new file cost that file
        alone even when the older files hold the same day.
        """
        keys = ["entity", "day", *self.by]
        old = self.table()
        # The new files alone may infer other types (a CSV's numeric-looking ids): the table's.
        fresh = self.rollup_expr(self._events(files), span).select(*old.columns).cast(old.schema())
        old = old.filter(old.day.isin([ibis.date(d) for d in days]))
        both = ibis.union(old, fresh, distinct=False)
        measures = [c for c in fresh.columns if c not in keys]
        merged = both.group_by(keys).aggregate(
            **{m: both[m].sum().cast(fresh[m].type()) for m in measures}
        )
        added = self.dialect.temporary(self.con, ADDED, merged)  # before the days go
        self._delete_days(days)
        self.dialect.insert(self.con, self.name, added.select(*fresh.columns))
        self.con.drop_table(ADDED, force=True)

    def _recompute(self, days: list[date], hours: pd.DataFrame) -> int:
        """Rebuild the rollup rows of `days` from the source units that hold events then;
        returns how many units were read.

        `hours` lists (unit, UTC hour) for every unit as it is now, so a day is read only
        from the files that have events around it: a new day in a new file reads that file.
        Every run of consecutive days is read in one query and written in one insert (on
        Spark each is a job of its own: scattered late events must not cost one each).
        """
        windows = [_utc_window(run[0], run[-1], self.timezone) for run in _runs(days)]
        self._delete_days(days)
        files = None
        if not self.source.is_table:
            inside = pd.Series(False, index=hours.index)
            start = hours.hour * US_PER_HOUR
            for low, high in windows:
                first, last = _epoch_us(low), _epoch_us(high)
                inside |= (start >= first - US_PER_HOUR) & (start < last)
            files = sorted(set(hours[inside].unit.astype(str)))
            if not files:
                return 0  # every event of these days is gone: deleting was the update
        events = self._events(files)
        span = (_epoch_us(windows[0][0]), _epoch_us(windows[-1][1]))
        fresh = self.rollup_expr(self.within(events, windows), span)
        fresh = fresh.filter(fresh.day.isin([ibis.date(d) for d in days]))
        self.dialect.insert(self.con, self.name, fresh)
        return 1 if files is None else len(files)

    def within(self, events: ir.Table, windows: list[tuple[datetime, datetime]]) -> ir.Table:
        """Events inside any of the `windows` (from, to), compared on the raw column where
        possible, so that the reader skips row groups outside them."""
        column = events[self.events.time]
        conditions = []
        for low, high in windows:
            if column.type().is_timestamp():
                zone = column.type().timezone
                bounds = [
                    pd.Timestamp(b) if zone else pd.Timestamp(b).tz_localize(None)
                    for b in (low, high)
                ]
                conditions.append(
                    (column >= ibis.literal(bounds[0], column.type()))
                    & (column < ibis.literal(bounds[1], column.type()))
                )
            else:
                moment = as_timestamp(column)
                conditions.append((moment >= low) & (moment < high))
        return events.filter(ibis.or_(*conditions))

    def _delete_days(self, days: list[date]) -> None:
        self.dialect.replace_days(self.con, self.name, days)

    def _count(self, stats: RefreshStats, counts: pd.DataFrame) -> RefreshStats:
        stats.events = int(counts.n.sum()) if len(counts) else 0
        stats.skipped_events = int(counts.skipped.sum()) if len(counts) else 0
        stats.rows = int(self.con.execute(self.table().count()))
        return stats

    # -- state ----------------------------------------------------------------------------

    def _ensure_state(self) -> set[str]:
        """Create the state tables where missing; returns the tables there were."""
        tables = set(self.con.list_tables())
        if UNITS not in tables:
            schema = ibis.schema(
                {"rollup": "string", "unit": "string", "size": "int64", "mtime_ns": "int64"}
            )
            self.dialect.create_table(self.con, UNITS, schema)
        if UNIT_HOURS not in tables:
            schema = ibis.schema(
                {
                    "rollup": "string",
                    "unit": "string",
                    "hour": "int64",
                    "n": "int64",
                    "checksum": "int64",
                }
            )
            self.dialect.create_table(self.con, UNIT_HOURS, schema)
        return tables

    def _load_state(self) -> tuple[dict[str, tuple[int, int]], pd.DataFrame]:
        units = self.con.table(UNITS)
        hours = self.con.table(UNIT_HOURS)
        unit_rows = self.con.execute(units.filter(units.rollup == self.name))
        hour_rows = self.con.execute(hours.filter(hours.rollup == self.name))
        stored = {row.unit: (int(row.size), int(row.mtime_ns)) for row in unit_rows.itertuples()}
        return stored, hour_rows

    def _save_state(
        self,
        units: list[Unit],
        counts: pd.DataFrame,
        *,
        drop: list[str] | None = None,
        replace_all: bool = False,
    ) -> None:
        where: dict[str, list[object]] = {"rollup": [self.name]}
        if not replace_all:
            where["unit"] = list(drop or [])
        for table in (UNITS, UNIT_HOURS):
            self.dialect.delete_rows(self.con, table, where)
        if units:
            frame = pd.DataFrame(
                {
                    "rollup": self.name,
                    "unit": [u.name for u in units],
                    "size": [u.size for u in units],
                    "mtime_ns": [u.mtime_ns for u in units],
                }
            )
            self.dialect.append(self.con, UNITS, frame)
        kept = counts[counts.hour.notna()]
        if len(kept):
            frame = pd.DataFrame(
                {
                    "rollup": self.name,
                    "unit": kept.unit.astype(str),
                    "hour": kept.hour.astype("int64"),
                    "n": kept.n.astype("int64"),
                    "checksum": kept.checksum.fillna(0).astype("int64"),
                }
            )
            self.dialect.append(self.con, UNIT_HOURS, frame)


def _runs(days: list[date]) -> list[list[date]]:
    """Sorted days split into runs of consecutive days."""
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and day - runs[-1][-1] == timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def _utc_window(first: date, last: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants [from, to) that hold every event of the local days `first`..`last`.

    An event falls on local day D when its epoch plus the zone's offset then lies in D
    (`local_day_number`), so the window reaches back by the largest offset of the zone around
    these days and forward by the smallest: exact in UTC, an hour wider around a daylight
    saving change. A new day in a new file is then read from that file alone, not from the
    files of the day before.
    """
    start = (first - EPOCH_DAY).days * US_PER_DAY
    end = ((last - EPOCH_DAY).days + 1) * US_PER_DAY
    shifts = [shift for _, shift in offsets(timezone, start - US_PER_DAY, end + US_PER_DAY)]
    return _moment(start - max(shifts)), _moment(end - min(shifts))


def _moment(epoch_us: int) -> datetime:
    return datetime.fromtimestamp(epoch_us // 1_000_000, tz=UTC)


def _epoch_us(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000


def _span(counts: pd.DataFrame) -> tuple[int, int]:
    """The first and last epoch microsecond that the hour counts cover."""
    hours = counts.hour.dropna()
    if hours.empty:
        return (0, 0)
    return int(hours.min()) * US_PER_HOUR, (int(hours.max()) + 1) * US_PER_HOUR - 1


def _differing_hours(before: pd.DataFrame, after: pd.DataFrame) -> list[int]:
    """UTC hours (since the epoch) whose events differ (in count or checksum) between two
    (unit, hour, n, checksum) tables of the same units, before and after.

    Each hour is summed over the units first (the checksum is a sum of row hashes): rows that
    only moved between files, as when part files are compacted into one, change nothing.
    """

    def by_hour(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame[frame.hour.notna()]
        values = frame[["n", "checksum"]].fillna(0).astype("int64")
        return values.groupby(frame.hour.astype("int64").to_numpy()).sum()

    joined = pd.concat(
        [by_hour(before).add_suffix("_old"), by_hour(after).add_suffix("_new")], axis=1
    )
    joined = joined.fillna(-1)
    differing = joined[
        (joined.n_old != joined.n_new) | (joined.checksum_old != joined.checksum_new)
    ]
    return sorted(int(hour) for hour in differing.index)


def _local_days(hours: list[int], timezone: str) -> list[date]:
    """The local days that overlap any of the UTC `hours` (a half-hour zone can split one)."""
    zone = ZoneInfo(timezone)
    days: set[date] = set()
    for hour in hours:
        for second in (hour * 3600, hour * 3600 + 3599):
            days.add(datetime.fromtimestamp(second, tz=UTC).astimezone(zone).date())
    return sorted(days)
