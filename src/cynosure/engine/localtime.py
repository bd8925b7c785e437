"""Local days: the calendar date of a timestamp in the project's time zone."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from cynosure.engine.dialects import Dialect


def as_timestamp(column: ir.Value) -> ir.TimestampValue:
    """The column as a timestamp (strings from CSV/JSON are parsed; naive means UTC)."""
    if column.type().is_timestamp():
        return column
    return column.cast("timestamp")


def local_day(moment: ir.TimestampValue, zone: str, dialect: Dialect) -> ir.DateValue:
    """The local calendar day of `moment` in `zone`; naive timestamps are read as UTC."""
    if zone == "UTC":
        if moment.type().timezone is not None:
            # The session zone is UTC (Ibis sets it), so the cast takes the UTC date.
            return moment.cast(dt.Timestamp()).date()
        return moment.date()
    aware = moment.cast(dt.Timestamp(timezone="UTC"))
    return dialect.wall_clock(zone, aware).date()


US_PER_DAY = 86_400_000_000
US_PER_HOUR = 3_600_000_000
_STEP = timedelta(minutes=15)  # every time zone offset in use is a multiple of 15 minutes


def offsets(zone: str, first_us: int, last_us: int) -> list[tuple[int, int]]:
    """The UTC offsets (microseconds) of `zone` over [first_us, last_us], as a list of
    (starting at epoch microsecond, offset), first entry starting at `first_us`."""
    tz = ZoneInfo(zone)
    start = datetime.fromtimestamp(first_us / 1e6, tz=UTC).replace(second=0, microsecond=0)
    start -= timedelta(minutes=start.minute % 15)
    end = datetime.fromtimestamp(last_us / 1e6, tz=UTC) + _STEP

    def offset(moment: datetime) -> int:
        delta = moment.astimezone(tz).utcoffset() or timedelta(0)
        return int(delta.total_seconds()) * 1_000_000

    spans = [(first_us, offset(start))]
    moment = start + _STEP
    while moment <= end:
        current = offset(moment)
        if current != spans[-1][1]:
            spans.append((int(moment.timestamp()) * 1_000_000, current))
        moment += _STEP
    return spans


def local_day_number(epoch: ir.IntegerValue, zone: str, span: tuple[int, int]) -> ir.IntegerValue:
    """Days since 1970-01-01 of the local date of `epoch` (microseconds) in `zone`.

    Exact for events within `span` (first and last epoch microsecond of the data): the zone's
    offset changes in that span (daylight saving) are spelled out as a CASE, so no calendar
    work is done per row; the arithmetic is a handful of integer comparisons.
    """
    changes = offsets(zone, *span) if zone != "UTC" else [(span[0], 0)]
    shift: ir.IntegerValue = ibis.literal(changes[-1][1], "int64")
    if len(changes) > 1:
        branches = [
            (epoch < start, off)
            for (start, _), (_, off) in zip(changes[1:], changes[:-1], strict=True)
        ]
        shift = ibis.cases(*branches, else_=changes[-1][1])
    local = epoch + shift if changes != [(span[0], 0)] else epoch
    return local // US_PER_DAY
