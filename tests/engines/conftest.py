"""Real engines for the parity suite: a PostgreSQL server and a Spark session, each started once
per test process, and one small demo project computed on each.

The demo is small (400 users, 6 months: about 25,000 events) so that Spark in local mode, which
pays a fixed cost per query stage, finishes within the CI budget; DuckDB and PostgreSQL run the
same data. Spark and PostgreSQL tests are grouped (`xdist_group`), so under `-n 2 --dist
loadgroup` one worker holds the JVM and the other the PostgreSQL server.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd
import pyarrow.parquet as pq
import pytest

from cynosure.api import Project
from cynosure.demo import generate

USERS = 400
MONTHS = 6
SEED = 11


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("engines") / "demo"
    generate(directory, users=USERS, months=MONTHS, seed=SEED)
    return directory


def project_on(demo: Path, target: Path, warehouse: str, *, tables: bool = False) -> Path:
    """A copy of the demo project pointed at `warehouse` (events and users as tables if
    `tables`)."""
    shutil.copytree(demo, target)
    text = (target / "cynosure.yml").read_text()
    text = re.sub(r"^warehouse:.*\n", "", text, flags=re.M)
    text = text.replace("timezone: UTC", f'timezone: UTC\nwarehouse: "{warehouse}"', 1)
    if tables:
        text = text.replace("source: data/events/*.parquet", "source: events")
        text = text.replace("source: data/users.parquet", "source: users")
    (target / "cynosure.yml").write_text(text)
    return target / "cynosure.yml"


@pytest.fixture(scope="session")
def duckdb_project(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    path = project_on(demo, tmp_path_factory.mktemp("duck") / "p", "duckdb:///.cynosure/w.duckdb")
    with Project.load(path) as project:
        yield project


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server of its own on 127.0.0.1 (trust auth, no fsync), stopped at the end."""
    binaries = _postgres_bin()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries are not installed (scripts/system-deps.sh)")
    root = tmp_path_factory.mktemp("pg")
    data = root / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: run it as the postgres user
        shutil.chown(root, "postgres")
        root.chmod(0o755)
        for parent in root.parents:  # the server must reach its directory
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o005)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    run = [*as_user, str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    subprocess.run(run, check=True, capture_output=True)
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    ctl = [*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-l", str(root / "log")]
    subprocess.run([*ctl, "-o", options, "-w", "start"], check=True, capture_output=True)
    try:
        yield f"postgres://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*ctl, "-m", "fast", "stop"], check=False, capture_output=True)


def postgres_backend(url: str) -> Any:
    """An Ibis connection to the test server's `postgres` database."""
    import ibis

    return ibis.postgres.connect(
        host="127.0.0.1", port=urlparse(url).port, user="postgres", database="postgres"
    )


@pytest.fixture(scope="session")
def postgres_project(
    demo: Path, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Project]:
    con = postgres_backend(postgres_url)
    events = pq.read_table(sorted(glob.glob(str(demo / "data" / "events" / "*.parquet"))))
    con.create_table("events", events, overwrite=True)
    con.create_table("users", pq.read_table(demo / "data" / "users.parquet"), overwrite=True)
    con.disconnect()
    path = project_on(demo, tmp_path_factory.mktemp("pgp") / "p", postgres_url, tables=True)
    with Project.load(path) as project:
        yield project


@pytest.fixture(scope="session")
def spark_project(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Java is not installed (scripts/system-deps.sh installs it)")
    path = project_on(demo, tmp_path_factory.mktemp("spark") / "p", "spark://local[2]")
    with Project.load(path) as project:
        yield project


def rollup_rows(project: Project) -> pd.DataFrame:
    """A project's rollup (entity x local day x measures), sorted, to compare engines."""
    rows = project.con.execute(project._rollup.table())
    rows["day"] = pd.to_datetime(rows["day"]).dt.date
    rows = rows[sorted(rows.columns)]  # Spark puts its partition column last
    return rows.sort_values(["entity", "day"]).reset_index(drop=True)
