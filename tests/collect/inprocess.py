"""A real collector in the test's own event loop, reached over its ASGI app (no sockets), so a
test decides exactly when loads, retention and compaction run."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from cynosure.collect import Collector, create_collector_app


def songs(n: int, prefix: str | None = None) -> list[dict[str, Any]]:
    """`n` song_played events with unique messageIds, spread over a few days and users."""
    prefix = prefix or uuid.uuid4().hex[:8]
    return [
        {
            "type": "track",
            "event": "song_played" if i % 5 else "payment_succeeded",
            "userId": f"u{i % 17}",
            "messageId": f"{prefix}-{i}",
            "timestamp": datetime(2026, 11, 1 + i % 20, i % 24, tzinfo=UTC).isoformat(),
            "properties": {"duration_s": 30 + i % 200, "amount": 1.5 * (i % 3)},
            "context": {"location": {"country": ["US", "DE", "FR"][i % 3]}},
        }
        for i in range(n)
    ]


class Running:
    """`async with Running(project, key, **options) as c:` a started collector."""

    def __init__(self, project: Path, key: str, **options: Any):
        options.setdefault("load_interval", 0)
        self.collector = Collector(project.parent / ".cynosure", **options)
        self.app = create_collector_app(collector=self.collector)
        self.key = key
        self.client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Running:
        await self.collector.start()
        transport = httpx.ASGITransport(app=self.app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://collector")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.client is not None
        await self.client.aclose()
        await self.collector.stop()

    async def send(self, batch: list[dict[str, Any]]) -> dict[str, Any]:
        assert self.client is not None
        response = await self.client.post("/v1/batch", json={"batch": batch}, auth=(self.key, ""))
        assert response.status_code == 200, response.text
        return dict(response.json())


def log_bytes(project: Path) -> int:
    """Bytes the log takes on disk: segments and id indexes."""
    directory = project.parent / ".cynosure" / "collect" / "log"
    return sum(p.stat().st_size for p in directory.iterdir() if p.is_file())


def log_files(project: Path, suffix: str) -> list[str]:
    directory = project.parent / ".cynosure" / "collect" / "log"
    return sorted(p.name for p in directory.glob("*" + suffix))
