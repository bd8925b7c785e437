"""Each entity's start day: its `created` time from the entities table, else its first event."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from cynosure.engine.dialects import dialect_of
from cynosure.engine.localtime import as_timestamp, local_day
from cynosure.engine.sources import Source
from cynosure.project.model import EntitiesConfig


def start_days(
    con: BaseBackend,
    rollup: ir.Table,
    config: EntitiesConfig | None,
    source: Source | None,
    timezone: str,
) -> ir.Table:
    """A table of (`entity`, `start`): one row per entity that has a start day."""
    first = rollup.group_by("entity").aggregate(first=rollup.day.min())
    if config is None or source is None or config.created is None:
        return first.select(entity=first.entity, start=first.first)
    table = source.open(con)
    created = local_day(as_timestamp(table[config.created]), timezone, dialect_of(con))
    declared = table.select(key=table[config.key], created=created)
    declared = declared.filter(declared.key.notnull())
    # One row per key even when the table repeats an entity: its earliest creation wins.
    declared = declared.group_by("key").aggregate(created=declared.created.min())
    if declared.key.type() != first.entity.type():
        declared = declared.mutate(key=declared.key.cast(first.entity.type()))
    joined = first.outer_join(declared, first.entity == declared.key)
    starts = joined.select(
        entity=ibis.coalesce(joined.entity, joined.key),
        start=ibis.coalesce(joined.created, joined.first),
    )
    return starts.filter(starts.start.notnull())
