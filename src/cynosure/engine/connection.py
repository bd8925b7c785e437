"""Open the warehouse (any Ibis URL; a DuckDB file under `.cynosure/` by default).

Besides DuckDB (`duckdb:///path.duckdb`), the URLs Cynosure knows are:

- `spark://local[*]` (or `local[N]`): Spark in local mode, in this process. Its tables live
  in the project's `.cynosure/spark/` (a Hive metastore and warehouse directory), so rollups
  survive between runs. Spark settings go in the query: `spark://local[4]?spark.driver.memory=8g`.
- `sc://host:port`: a Spark cluster through Spark Connect (the URL is Spark's own, with its
  `/;token=...` parameters).

On Spark each project gets a session of its own (sharing the JVM or the cluster) whose current
database is the project's: `cynosure_<directory>_<hash of its path>` unless the URL names one
(`spark://local[2]?database=NAME`, `sc://host:15002/;database=NAME`). Cynosure's tables go
there, so two projects on one session or cluster never share them; an unqualified events or
entities table is still read from the database that was current before (see `data_database`).
- `postgres://user:password@host:port/database` (or `postgresql://`).

Any other URL is handed to `ibis.connect` (BigQuery, Snowflake, ClickHouse ...).
"""

from __future__ import annotations

import functools
import hashlib
import re
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
    except Exception as exc:  # any backend's own error: say which warehouse failed
        raise DataError(f"cannot open the warehouse '{url}': {exc}") from None


SPARK_DEFAULTS = {
    # Local mode on a few cores: the default 200 shuffle partitions cost more than they
    # give (adaptive execution then merges what is small).
    "spark.sql.shuffle.partitions": "4",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.sources.partitionOverwriteMode": "static",
    # A rollup has a directory per day (hundreds): Spark lists more than 32 paths with a job
    # of one task per path, a second or more of scheduling each time a table is written or
    # read; on a local disk the driver lists them in milliseconds.
    "spark.sql.sources.parallelPartitionDiscovery.threshold": "100000",
}


def _spark(url: str, base_dir: Path) -> BaseBackend:
    """A Spark session of the project's own: local mode in this process, or a cluster through
    Spark Connect; its current database is the project's (created if need be)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise DataError(
            "PySpark is not installed", "pip install 'cynosure[spark]' (and Java 17)"
        ) from None
    if url.startswith("sc://"):
        remote, database = _connect_url(url)
        try:
            # `create`, not `getOrCreate`: a session (catalog state, current database) of
            # this project's own, beside any other project's on the same server.
            session = SparkSession.builder.remote(remote).create()
        except ImportError as exc:
            raise DataError(
                f"Spark Connect needs more packages ({exc})", "pip install 'pyspark[connect]'"
            ) from None
        return _use_project_database(session, database or default_database(base_dir))
    master, _, query = url.split("://", 1)[1].partition("?")
    master = master.rstrip("/")
    if not master.startswith("local"):
        raise DataError(
            f"spark:// takes local mode only, not '{master}'",
            "write spark://local[*]; reach a cluster through Spark Connect: sc://host:15002",
        )
    options = dict(parse_qsl(query))
    database = options.pop("database", None)
    home = (base_dir / ".cynosure" / "spark").resolve()
    home.mkdir(parents=True, exist_ok=True)
    settings = {
        **SPARK_DEFAULTS,
        "spark.sql.warehouse.dir": str(home / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={home / 'metastore'};create=true"
        ),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={home}",
        **options,
    }
    builder = SparkSession.builder.master(master).appName("cynosure")
    for key, value in settings.items():
        builder = builder.config(key, value)
    # One JVM per process: a second project in the same process gets a new session of the
    # same Spark context (its own current database, temporary views and settings).
    session = builder.enableHiveSupport().getOrCreate().newSession()
    session.sparkContext.setLogLevel("ERROR")
    con = _use_project_database(session, database or default_database(base_dir))
    # Stopping a session stops the Spark context every session of the process shares:
    # only the last project to close stops it.
    _OPEN_SPARK.append(con)
    con.disconnect = functools.partial(_release_spark, con)
    return con


_OPEN_SPARK: list[BaseBackend] = []


def _release_spark(con: BaseBackend) -> None:
    _OPEN_SPARK[:] = [other for other in _OPEN_SPARK if other is not con]
    if not _OPEN_SPARK:
        con._session.stop()


def default_database(base_dir: Path) -> str:
    """The project's database on Spark: its directory's name and a hash of its path."""
    where = str(base_dir.resolve())
    slug = re.sub(r"[^a-z0-9]+", "_", base_dir.resolve().name.lower()).strip("_")[:40]
    return f"cynosure_{slug or 'project'}_{hashlib.sha256(where.encode()).hexdigest()[:8]}"


def _connect_url(url: str) -> tuple[str, str | None]:
    """A Spark Connect URL without Cynosure's own `;database=NAME` parameter, and that name."""
    head, sep, params = url.partition("/;")
    if not sep:
        return url, None
    kept, database = [], None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key == "database":
            database = value
        elif param:
            kept.append(param)
    return head + ("/;" + ";".join(kept) if kept else ""), database


def _use_project_database(session: Any, database: str) -> BaseBackend:
    if not re.fullmatch(r"[A-Za-z0-9_]+", database):
        raise DataError(
            f"'{database}' is not a usable Spark database name",
            "use letters, digits and underscores only",
        )
    data = session.catalog.currentDatabase()
    session.sql(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    session.catalog.setCurrentDatabase(database)
    con = ibis.pyspark.connect(session)
    con._cynosure_data_database = data
    return con


def data_database(con: BaseBackend) -> str | None:
    """Where an unqualified table of the user's data lives when Cynosure's own tables live
    elsewhere (Spark: the database current before the project's; None: the current one)."""
    return getattr(con, "_cynosure_data_database", None)


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
