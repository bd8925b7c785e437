"""kill -9 under load and torn writes: every acknowledged event is loaded exactly once."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from cynosure.collect.log import HEADER

from .conftest import collected, free_port, send_until_stopped, start_subprocess


def _batch(n: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC).isoformat()
    return [
        {
            "type": "track",
            "event": "song_played",
            "userId": f"u{i % 13}",
            "messageId": str(uuid.uuid4()),
            "timestamp": now,
            "properties": {"duration_s": 1},
        }
        for i in range(n)
    ]


def _batches() -> list[dict[str, Any]]:
    return _batch(20)


def _wait_loaded(url: str, expected: int) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        stats = httpx.get(url + "/health").json()
        if stats["loaded"] >= expected and stats["pending_load"] == 0:
            return
        time.sleep(0.2)


def test_kill_9_repeatedly_under_load_loses_and_doubles_nothing(
    project: Path, write_key: str
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_subprocess(project, port)
    stop = threading.Event()
    sent: list[str] = []
    senders = [
        threading.Thread(target=send_until_stopped, args=(url, write_key, stop, sent, _batches))
        for _ in range(3)
    ]
    for thread in senders:
        thread.start()
    try:
        for _ in range(3):
            time.sleep(1.0)
            process.kill()  # SIGKILL: no cleanup, no final fsync, no final load
            process.wait()
            process = start_subprocess(project, port)
        time.sleep(1.0)
        stop.set()
        for thread in senders:
            thread.join(timeout=60)
        process.kill()
        process.wait()
        process = start_subprocess(project, port)  # recovers, then loads the rest
        _wait_loaded(url, 0)
        time.sleep(1.5)
        _wait_loaded(url, 0)
    finally:
        stop.set()
        process.terminate()
        process.wait(timeout=30)
    rows = collected(project)
    assert len(sent) > 200
    assert len(rows) == len(set(rows["message_id"])), "an event was loaded twice"
    assert set(rows["message_id"]) == set(sent)


def test_torn_write_at_the_end_of_the_log(project: Path, write_key: str, serve: Any) -> None:
    first = _batch(30)
    with serve() as server:
        assert (
            httpx.post(
                server.url + "/v1/batch", json={"batch": first}, auth=(write_key, "")
            ).status_code
            == 200
        )
    segment = sorted((project.parent / ".cynosure" / "collect" / "log").glob("*.seg"))[-1]
    with open(segment, "ab") as handle:  # a half-written record, then a bad CRC
        handle.write(HEADER.pack(500, 123) + b'{"type": "tra')
    size = segment.stat().st_size
    second = _batch(30)
    with serve() as server:
        response = httpx.post(
            server.url + "/v1/batch", json={"batch": second + first[:5]}, auth=(write_key, "")
        )
        assert response.status_code == 200
        assert segment.stat().st_size < size + 30 * 400
        stats = httpx.get(server.url + "/health").json()
        assert stats["deduplicated"] == 5
    rows = collected(project)
    ids = [m["messageId"] for m in first + second]
    assert sorted(rows["message_id"]) == sorted(ids)
