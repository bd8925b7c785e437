"""Open the warehouse (any Ibis URL; a DuckDB file under `.cynosure/` by default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from cynosure.errors import DataError

DEFAULT_WAREHOUSE = "duckdb:///.cynosure/warehouse.duckdb"


def connect(url: str | None, base_dir: Path, *, memory_limit: str | None = None) -> BaseBackend:
    """Connect to `url`; relative DuckDB paths are taken from the project directory."""
    url = url or DEFAULT_WAREHOUSE
    scheme = url.split("://", 1)[0] if "://" in url else ""
    try:
        if scheme == "duckdb":
            target = url.split("://", 1)[1]
            if target.startswith("/"):
                target = target[1:]
            if target in ("", ":memory:"):
                con = ibis.duckdb.connect()
            else:
                path = Path(target)
                path = path if path.is_absolute() else base_dir / path
                path.parent.mkdir(parents=True, exist_ok=True)
                con = ibis.duckdb.connect(str(path))
            _tune_duckdb(con, memory_limit)
            return con
        return ibis.connect(url)
    except Exception as exc:  # any backend's own error: say which warehouse failed
        raise DataError(f"cannot open the warehouse '{url}': {exc}") from None


def _tune_duckdb(con: Any, memory_limit: str | None) -> None:
    # DuckDB draws progress bars on stderr even without a terminal: ours is the one to show.
    con.raw_sql("SET enable_progress_bar = false")
    # Rollups are keyed by (entity, day), never read in insertion order: let DuckDB stream.
    con.raw_sql("SET preserve_insertion_order = false")
    if memory_limit:
        con.raw_sql(f"SET memory_limit = '{memory_limit.replace(chr(39), '')}'")


def temporary(con: BaseBackend, name: str, expr: ir.Table) -> ir.Table:
    """Compute `expr` once into a temporary table of the session (read by several queries
    or several parts of one, instead of recomputed for each)."""
    return con.create_table(name, expr, temp=True, overwrite=True)
