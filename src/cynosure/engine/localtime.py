"""Local days: the calendar date of a timestamp in the project's time zone."""

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

_UTC = dt.Timestamp(timezone="UTC")
_WALL = dt.Timestamp()


@ibis.udf.scalar.builtin(name="timezone")
def _in_zone(zone: str, moment: _UTC) -> _WALL:  # type: ignore[valid-type]
    """DuckDB's `timezone(zone, timestamptz)`: the wall-clock time in `zone`."""


def as_timestamp(column: ir.Value) -> ir.TimestampValue:
    """The column as a timestamp (strings from CSV/JSON are parsed; naive means UTC)."""
    if column.type().is_timestamp():
        return column
    if column.type().is_date():
        return column.cast("timestamp")
    return column.cast("timestamp")


def local_day(moment: ir.TimestampValue, zone: str) -> ir.DateValue:
    """The local calendar day of `moment` in `zone`; naive timestamps are read as UTC."""
    if zone == "UTC":
        if moment.type().timezone is not None:
            # The session zone is UTC (Ibis sets it), so the cast takes the UTC date.
            return moment.cast(dt.Timestamp()).date()
        return moment.date()
    aware = moment.cast(dt.Timestamp(timezone="UTC"))
    return _in_zone(zone, aware).date()
