"""Open the warehouse (any Ibis URL; a DuckDB file under `.cynosure/` by default).

Besides DuckDB (`duckdb:///path.duckdb`), the URLs Cynosure knows are:

- `spark://local[*]` (or `local[N]`): Spark in local mode, in this process. Its tables live
  in the project's `.cynosure/spark/` (a Hive metastore and warehouse directory), so rollups
  survive between runs. Spark settings go in the query: `spark://local[4]?spark.driver.memory=8g`.
- `sc://host:port`: a Spark cluster through Spark Connect (the URL is Spark's own, with its
  `/;token=...` parameters); tables go to the session's current database.
- `postgres://user:password@host:port/database` (or `postgresql://`).

Any other URL is handed to `ibis.connect` (BigQuery, Snowflake, ClickHouse ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from cynosure.engine.dialects import dialect_of
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
        if scheme in ("spark", "sc"):
            return _spark(url, base_dir)
        if scheme == "postgresql":
            url = "postgres" + url[len(scheme) :]
        return ibis.connect(url)
    except (DataError, ImportError) as exc:
        raise DataError(f"cannot open the warehouse '{url}': {exc}") from None
    except Exception as exc:  # any backend's own error: say which warehouse failed
        raise DataError(f"cannot open the warehouse '{url}': {exc}") from None


SPARK_DEFAULTS = {
    # Local mode on a few cores: the default 200 shuffle partitions cost more than they
    # give (adaptive execution then merges what is small).
    "spark.sql.shuffle.partitions": "4",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.sources.partitionOverwriteMode": "static",
}


def _spark(url: str, base_dir: Path) -> BaseBackend:
    """A Spark session: local mode in this process, or a cluster through Spark Connect."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise DataError(
            "PySpark is not installed", "pip install 'cynosure[spark]' (and Java 17)"
        ) from None
    if url.startswith("sc://"):
        try:
            session = SparkSession.builder.remote(url).getOrCreate()
        except ImportError as exc:
            raise DataError(
                f"Spark Connect needs more packages ({exc})", "pip install 'pyspark[connect]'"
            ) from None
        return ibis.pyspark.connect(session)
    master, _, query = url.split("://", 1)[1].partition("?")
    master = master.rstrip("/")
    if not master.startswith("local"):
        raise DataError(
            f"spark:// takes local mode only, not '{master}'",
            "write spark://local[*]; reach a cluster through Spark Connect: sc://host:15002",
        )
    home = (base_dir / ".cynosure" / "spark").resolve()
    home.mkdir(parents=True, exist_ok=True)
    settings = {
        **SPARK_DEFAULTS,
        "spark.sql.warehouse.dir": str(home / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={home / 'metastore'};create=true"
        ),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={home}",
        **dict(parse_qsl(query)),
    }
    builder = SparkSession.builder.master(master).appName("cynosure")
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.enableHiveSupport().getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return ibis.pyspark.connect(session)


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
    return dialect_of(con).temporary(con, name, expr)
