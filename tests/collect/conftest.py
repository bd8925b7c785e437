"""A small project with a Parquet events glob, write keys, and a live collector on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pandas as pd
import pytest
import uvicorn

from cynosure.collect import create_collector_app, key_store

PROJECT = """\
project: Collected
events:
  source: data/events/*.parquet
  entity: user_id
  time: timestamp
  name: event
  dimensions: [country, platform]
  properties: [duration_s, amount]
metrics:
  listening_hours:
    sum: duration_s / 3600
    where: "event = 'song_played'"
  listeners:
    users: true
    where: "event = 'song_played'"
  payers:
    users: true
    where: "event = 'payment_succeeded'"
north_star: listening_hours
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_project(root: Path, extra: str = "") -> Path:
    (root / "data" / "events").mkdir(parents=True)
    seed = pd.DataFrame(
        {
            "user_id": ["seed"],
            "timestamp": pd.to_datetime(["2026-11-01T00:00:00Z"]),
            "event": ["song_played"],
            "country": ["US"],
            "platform": ["ios"],
            "duration_s": [60.0],
            "amount": [None],
        }
    ).astype({"amount": "float64"})
    seed.to_parquet(root / "data" / "events" / "seed.parquet")
    (root / "cynosure.yml").write_text(PROJECT + extra)
    return root / "cynosure.yml"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


@pytest.fixture
def write_key(project: Path) -> str:
    return key_store(project.parent / ".cynosure").create("tests")


class Server:
    """uvicorn in a thread, serving a collector app."""

    def __init__(self, app: Any):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.app = app

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("the collector did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def serve(project: Path) -> Any:
    def start(**options: Any) -> Server:
        options.setdefault("load_interval", 0.2)
        return Server(create_collector_app(project.parent / ".cynosure", **options))

    return start


def collected(project: Path) -> pd.DataFrame:
    """Every row the loader wrote (the collected part files only)."""
    files = sorted((project.parent / "data" / "events").glob("collected-*.parquet"))
    files += sorted((project.parent / "data" / "events").glob("readmitted-*.parquet"))
    if not files:
        return pd.DataFrame(columns=["message_id"])
    paths = [str(f) for f in files]
    return (
        duckdb.sql(f"SELECT * FROM read_parquet({paths!r}, union_by_name=true)")
        .to_arrow_table()
        .to_pandas()
    )


EVENTS_TABLE = (
    "CREATE TABLE events (user_id VARCHAR, timestamp TIMESTAMPTZ, event VARCHAR, "
    "country VARCHAR, platform VARCHAR, duration_s DOUBLE, amount DOUBLE, message_id VARCHAR)"
)


def warehouse_with_events_table(root: Path) -> Path:
    """The project's default DuckDB warehouse, holding an empty events table."""
    warehouse = root / ".cynosure" / "warehouse.duckdb"
    warehouse.parent.mkdir(exist_ok=True)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(EVENTS_TABLE)
    return warehouse


def start_subprocess(
    project: Path, port: int, env: dict[str, str] | None = None, options: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    """`cynosure collect` in a process of its own, once it answers on `port`."""
    command = [
        *(sys.executable, "-m", "cynosure", "collect", "-p", str(project)),
        *("--port", str(port), "--load-interval", "0.5", *options),
    ]
    errors = project.parent / f"collector-{port}-{time.monotonic_ns()}.log"
    with open(errors, "wb") as sink:  # a file, not a pipe nobody reads (it would fill)
        process = subprocess.Popen(
            command, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=sink
        )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return process
        except httpx.HTTPError:
            if process.poll() is not None:
                raise RuntimeError(errors.read_text()) from None
            time.sleep(0.1)
    raise RuntimeError("the collector did not start")


def send_until_stopped(
    url: str,
    key: str,
    stop: threading.Event,
    sent: list[str],
    batch: Callable[[], list[dict[str, Any]]],
) -> None:
    """Posts batches until `stop`; retries each until a 200 with the same messageIds, like an
    SDK, and records the acknowledged ids in `sent`. Only 429 and 5xx may answer a retry."""
    with httpx.Client(timeout=5, auth=(key, "")) as client:
        while not stop.is_set():
            messages = batch()
            while True:
                try:
                    response = client.post(url + "/v1/batch", json={"batch": messages})
                    if response.status_code == 200:
                        sent.extend(m["messageId"] for m in messages)
                        break
                    assert response.status_code in (429, 500, 503), response.text
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
