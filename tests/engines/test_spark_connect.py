"""A cluster through Spark Connect (`warehouse: sc://host:port`): a real Spark Connect server,
started here from the jar that ships with pyspark, gives the same numbers as DuckDB."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cynosure import Project

from .conftest import project_on
from .test_parity import same

pytestmark = pytest.mark.xdist_group("spark")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def connect_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pyspark = pytest.importorskip("pyspark")
    pytest.importorskip("grpc", reason="Spark Connect needs pyspark[connect]")
    if shutil.which("java") is None:
        pytest.skip("Java is not installed (scripts/system-deps.sh installs it)")
    home = Path(pyspark.__file__).parent
    jars = sorted((home / "jars").glob("spark-connect_*.jar"))
    if not jars:
        pytest.skip("this pyspark ships no Spark Connect server jar")
    port = _free_port()
    scratch = tmp_path_factory.mktemp("connect")  # the server's catalog and warehouse
    log = scratch / "server.log"
    server = subprocess.Popen(
        [
            str(home / "bin" / "spark-submit"),
            "--master",
            "local[2]",
            "--class",
            "org.apache.spark.sql.connect.service.SparkConnectServer",
            "--conf",
            f"spark.connect.grpc.binding.port={port}",
            "--conf",
            "spark.ui.enabled=false",
            "--conf",
            f"spark.sql.warehouse.dir={scratch / 'warehouse'}",
            str(jars[0]),
        ],
        cwd=scratch,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "SPARK_HOME": str(home)},
    )
    try:
        deadline = time.time() + 180
        while "Spark Connect server started" not in log.read_text(errors="replace"):
            if server.poll() is not None or time.time() > deadline:
                pytest.fail(f"the Spark Connect server did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=60)


# A process holds one Spark session, local or remote, and this worker may hold the local one of
# the parity suite: the remote project is read in a process of its own.
REMOTE = """
import json, sys
from cynosure import Project
with Project.load(sys.argv[1]) as project:
    found = {"metrics": project.metrics("week").to_dict(), "tree": project.tree().to_dict()}
    found["database"] = project.con._session.catalog.currentDatabase()
    found["tables"] = project.con.list_tables()
    print(json.dumps(found))
"""


def test_a_cluster_through_spark_connect_gives_the_same_numbers(
    demo: Path,
    duckdb_project: Project,
    connect_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # Cynosure's own `;database=` parameter: the project's tables go to that database.
    path = project_on(
        demo, tmp_path_factory.mktemp("sc") / "p", f"{connect_url}/;database=tunewave"
    )
    done = subprocess.run(
        [sys.executable, "-c", REMOTE, str(path)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    remote = json.loads(done.stdout)
    assert same(duckdb_project.metrics("week").to_dict(), remote["metrics"]) == []
    assert same(duckdb_project.tree().to_dict(), remote["tree"]) == []
    assert remote["database"] == "tunewave"
    assert any(name.startswith("cynosure_rollup_") for name in remote["tables"])
