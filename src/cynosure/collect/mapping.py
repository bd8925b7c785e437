"""Segment messages -> rows of the project's events table: which field fills which column."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from cynosure.collect.plan import TrackingRules
from cynosure.project.load import Spec

EVENT_TYPES = ("track", "page", "screen")
TABLE_SLICE = 8192  # rows converted to Arrow at a time
# Extra columns the loader adds to every row: what `cynosure check` measures.
EXTRA = {
    "message_id": pa.string(),
    "anonymous_id": pa.string(),
    "event_type": pa.string(),
    "received_at": pa.timestamp("us", tz="UTC"),
    "clock_skew_ms": pa.int64(),
    "write_source": pa.string(),
}
# Segment context fields that fill a dimension of the same meaning when properties lack it.
CONTEXT = {
    "country": ("location", "country"),
    "city": ("location", "city"),
    "region": ("location", "region"),
    "platform": ("os", "name"),
    "os": ("os", "name"),
    "os_version": ("os", "version"),
    "device": ("device", "type"),
    "device_type": ("device", "type"),
    "app_version": ("app", "version"),
    "locale": ("locale",),
    "timezone": ("timezone",),
    "utm_source": ("campaign", "source"),
    "acquisition_channel": ("campaign", "source"),
}


def _context_value(context: dict[str, Any], column: str) -> Any:
    path = CONTEXT.get(column)
    if path is None:
        head, _, tail = column.partition("_")  # app_build -> context.app.build
        path = (head, tail) if tail else (column,)
    value: Any = context
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def event_name(message: dict[str, Any]) -> Any:
    """A track call's event; a page or screen call's name, else its type."""
    kind = message["type"]
    return message.get("event") if kind == "track" else (message.get("name") or kind)


class Mapper:
    """Segment messages -> rows of the project's events table."""

    def __init__(self, spec: Spec, rules: TrackingRules):
        events = spec.model.events
        self.entity, self.time, self.name = events.entity, events.time, events.name
        self.dimensions = list(events.dimensions)
        self.properties = list(events.properties)
        own = set(events.columns())
        self.extra = {k: v for k, v in EXTRA.items() if k not in own}
        self.rules = rules

    def schema(self) -> pa.Schema:
        fields = [
            pa.field(self.entity, pa.string()),
            pa.field(self.time, pa.timestamp("us", tz="UTC")),
            pa.field(self.name, pa.string()),
            *(pa.field(d, pa.string()) for d in self.dimensions),
            *(pa.field(p, pa.float64()) for p in self.properties),
            *(pa.field(k, t) for k, t in self.extra.items()),
        ]
        return pa.schema(fields)

    def values(self, message: dict[str, Any]) -> dict[str, Any]:
        """The properties the plan checks: the message's own, plus context for dimensions."""
        values = dict(message.get("properties") or {})
        context = message.get("context") or {}
        for column in self.dimensions:
            if values.get(column) is None:
                values[column] = _context_value(context, column)
        return values

    def row(
        self, message: dict[str, Any], name: str | None, entity: str, values: dict[str, Any]
    ) -> dict[str, Any]:
        kind = message["type"]
        row: dict[str, Any] = {
            self.entity: entity,
            self.time: message["t"],
            self.name: name,
        }
        for column in self.dimensions:
            value = values.get(column)
            row[column] = None if value is None or isinstance(value, (dict, list)) else str(value)
        for column in self.properties:
            value = values.get(column)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            row[column] = float(value) if number and value is not None else None
        extra = {
            "message_id": message["messageId"],
            "anonymous_id": message.get("anonymousId"),
            "event_type": kind,
            "received_at": message["receivedAt"],
            "clock_skew_ms": message.get("skew_ms", 0),
            "write_source": message.get("source"),
        }
        row.update({k: v for k, v in extra.items() if k in self.extra})
        return row

    def table(self, rows: list[dict[str, Any]]) -> pa.Table:
        """The rows as one table, converted in slices: one conversion holds the GIL, and
        the collector's requests share this process (100k rows at once stall them ~50 ms).
        """
        schema = self.schema()
        parts = []
        for first in range(0, max(len(rows), 1), TABLE_SLICE):
            part = rows[first : first + TABLE_SLICE]
            columns = {f.name: [r.get(f.name) for r in part] for f in schema}
            parts.append(pa.Table.from_pydict(columns, schema=schema))
        return parts[0] if len(parts) == 1 else pa.concat_tables(parts)
