"""The official Segment SDK against a live collector: a mixed workload arrives exactly once,
with the right fields, through injected server errors and a 429."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import segment.analytics as segment

from .conftest import collected


def test_mixed_workload_arrives_exactly_once(project: Path, write_key: str, serve: Any) -> None:
    faults = {3: 500, 5: 429, 8: 503}
    with serve(faults=faults) as server:
        client = segment.Client(write_key, host=server.url, upload_size=40, max_retries=8)
        sent: dict[str, dict[str, Any]] = {}

        def keep(result: tuple[bool, dict[str, Any]]) -> None:
            ok, message = result
            assert ok
            sent[message["messageId"]] = message

        for i in range(60):
            user = f"user{i % 7}"
            keep(client.identify(user, {"plan": "pro", "n": i}, anonymous_id=f"anon{i % 7}"))
            keep(
                client.track(
                    anonymous_id=f"anon{i % 7}",
                    event="song_played",
                    properties={"duration_s": 30 + i},
                    context={"location": {"country": "FR"}, "os": {"name": "ios"}},
                )
            )
            keep(client.track(user, "payment_succeeded", {"amount": 9.99, "country": "DE"}))
            keep(client.page(user, "Docs", "Home", {"path": "/"}))
            keep(client.screen(user, "App", "Player"))
            if i % 10 == 0:
                keep(client.group(user, f"team{i}", {"name": "T"}))
                keep(client.alias(f"old-{i}", user))
        client.flush()
        client.join()
        deadline = time.time() + 30
        while time.time() < deadline:
            stats = httpx.get(server.url + "/health").json()
            stored = stats["acknowledged"] - stats["deduplicated"]
            if stored >= len(sent) and stats["pending_load"] == 0:
                break
            time.sleep(0.2)
        assert stats["deduplicated"] > 0, "the injected 5xx made the SDK resend durable events"
    rows = collected(project)
    event_ids = {k for k, m in sent.items() if m["type"] in ("track", "page", "screen")}
    assert len(rows) == len(event_ids) == 240
    assert set(rows["message_id"]) == event_ids
    db = sqlite3.connect(project.parent / ".cynosure" / "collect" / "state.sqlite")
    calls = {row[0] for row in db.execute("SELECT message_id FROM calls")}
    assert calls == {k for k, m in sent.items() if m["type"] in ("identify", "group", "alias")}
    songs = rows[rows["event"] == "song_played"]
    assert len(songs) == 60
    # identify came first in the same stream: anonymous plays resolve to the user
    assert set(songs["user_id"]) == {f"user{i}" for i in range(7)}
    assert set(songs["country"]) == {"FR"} and set(songs["platform"]) == {"ios"}
    assert sorted(songs["duration_s"]) == [30.0 + i for i in range(60)]
    pays = rows[rows["event"] == "payment_succeeded"]
    assert set(pays["amount"]) == {9.99} and set(pays["country"]) == {"DE"}
    assert set(rows[rows["event_type"] == "page"]["event"]) == {"Home"}
    assert set(rows[rows["event_type"] == "screen"]["event"]) == {"Player"}
    traits = db.execute("SELECT traits FROM entities WHERE entity = 'user3'").fetchone()[0]
    assert '"plan":"pro"' in traits
