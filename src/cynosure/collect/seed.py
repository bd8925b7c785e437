"""An empty events source for a new project that the collector is about to feed.

A project starts before its first event: `cynosure serve` on a project whose events glob
matches no file yet (or whose DuckDB events table does not exist yet) creates the source
empty, with the columns the loader writes, so the dashboard opens ("no events yet") and fills
as events arrive. Nothing existing is ever touched: a glob that matches any file, or a table
that exists, is left alone.
"""

from __future__ import annotations

import glob
from pathlib import Path

import ibis

from cynosure.collect.loader import Mapper, events_directory, write_parquet
from cynosure.collect.plan import tracking_rules
from cynosure.engine.connection import connect, data_database
from cynosure.engine.sources import looks_like_path, resolve
from cynosure.errors import DataError
from cynosure.project.load import Spec

# Sorts before every part file the loader names by log position (segment numbers start at 1).
SEED_FILE = "collected-0000000000-000000000000.parquet"


def seed_events(spec: Spec) -> str | None:
    """Create the project's events source empty if it does not exist yet; say what was made."""
    source = spec.model.events.source
    schema = Mapper(spec, tracking_rules(spec)).schema()
    if looks_like_path(source):
        pattern = source if Path(source).is_absolute() else str(spec.base_dir / source)
        if glob.glob(pattern, recursive=True):
            return None
        directory = events_directory(spec)
        directory.mkdir(parents=True, exist_ok=True)
        write_parquet(schema.empty_table(), directory / SEED_FILE)
        return f"no events yet: the collector writes them under {directory}"
    con = connect(spec.model.warehouse, spec.base_dir)
    try:
        resolve(source, spec.base_dir, con)
        return None  # the table exists
    except DataError:
        database, _, table = source.rpartition(".")
        where = database or data_database(con)
        con.create_table(table, schema=ibis.Schema.from_pyarrow(schema), database=where)
    finally:
        con.disconnect()
    return f"no events yet: the collector inserts them into the table '{source}'"
