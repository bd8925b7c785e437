"""Shared demo data for the demo tests: generated once per session, read with plain DuckDB.

The statistical truths need a decent sample to be measured within a few points, so the shared
project has 30,000 users (two event files, about 3 million events, a few seconds to generate).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from cynosure.demo import DemoSummary, generate

USERS = 30_000
SEED = 7


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    """The shared demo project."""
    return generate(tmp_path_factory.mktemp("demo") / "tunewave", users=USERS, seed=SEED)


@pytest.fixture(scope="session")
def con(demo: DemoSummary) -> Iterator[duckdb.DuckDBPyConnection]:
    """DuckDB holding the raw demo files: tables ``e`` (events, with a UTC ``day``) and ``u``.

    Loaded once into memory, because every test runs several queries over all events.
    """
    connection = duckdb.connect()
    connection.execute("SET enable_progress_bar = false")
    connection.execute("SET TimeZone = 'UTC'")
    events = Path(demo.directory) / "data" / "events" / "*.parquet"
    users = Path(demo.directory) / "data" / "users.parquet"
    connection.execute(
        f"CREATE TABLE e AS SELECT *, CAST(timestamp AS DATE) AS day FROM read_parquet('{events}')"
    )
    connection.execute(
        f"CREATE TABLE u AS SELECT *, CAST(signed_up_at AS DATE) AS start "
        f"FROM read_parquet('{users}')"
    )
    yield connection
    connection.close()
