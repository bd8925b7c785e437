"""A small project with a Parquet events glob, write keys, and a live collector on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
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


def start_subprocess(project: Path, port: int, env: dict[str, str] | None = None) -> Any:
    command = [
        sys.executable,
        "-m",
        "cynosure",
        "collect",
        "-p",
        str(project),
        "--port",
        str(port),
        "--load-interval",
        "0.5",
    ]
    process = subprocess.Popen(
        command,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return process
        except httpx.HTTPError:
            if process.poll() is not None:
                raise RuntimeError(
                    process.stderr.read().decode() if process.stderr else ""
                ) from None
            time.sleep(0.1)
    raise RuntimeError("the collector did not start")
