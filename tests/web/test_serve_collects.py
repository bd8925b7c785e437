"""`cynosure serve` end to end: the Segment SDK posts to the dashboard's server, the events are
loaded into the project, and the dashboard's own API shows them after a refresh."""

from __future__ import annotations

import time
from datetime import UTC
from pathlib import Path

import httpx
from segment.analytics import Client

from cynosure import Project
from cynosure.collect import key_store
from cynosure.web import UserStore, create_app
from tests.collect.conftest import Server, make_project

SENT = 25


def test_events_sent_to_serve_reach_the_metrics_on_the_dashboard(tmp_path: Path) -> None:
    project_file = make_project(tmp_path)
    text = project_file.read_text()  # no payments yet: drop the metric that needs them
    payers = text.index("  payers:")
    project_file.write_text(text[:payers] + text[text.index("north_star:") :])
    state = tmp_path / ".cynosure"
    write_key = key_store(state).create("web")
    users = UserStore.in_directory(state)
    users.add("ada", role="admin", password="ada-password-1")
    token = users.create_token("ada")
    app = create_app(Project.load(project_file), warm=False)
    with Server(app) as server:
        api = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        before = api.get("/api/metrics", params={"grain": "day"}).json()["metrics"]
        assert [p["value"] for p in before["listeners"]] == [1.0]  # the seed row only

        client = Client(write_key, host=server.url, sync_mode=True, max_retries=3)
        for i in range(SENT):
            client.track(
                f"user-{i % 5}",
                "song_played",
                {"duration_s": 360, "platform": "web"},
                timestamp=_day("2026-11-01"),
            )
        client.flush()

        deadline = time.time() + 60
        while time.time() < deadline:
            intake = api.get("/api/health").json()["intake"]
            if intake["loaded"] >= SENT:
                break
            time.sleep(0.2)
        assert intake["acknowledged"] == SENT and intake["loaded"] == SENT, intake

        assert api.post("/api/refresh").status_code == 200
        after = api.get("/api/metrics", params={"grain": "day"}).json()["metrics"]
        day = {p["period"]: p for p in after["listening_hours"]}["2026-11-01"]
        assert day["value"] == 1 / 60 + SENT * 0.1  # the seed minute + 25 songs of 6 minutes
        assert {p["period"]: p["value"] for p in after["listeners"]}["2026-11-01"] == 6
        # A write key is not a way into the dashboard.
        stranger = httpx.get(
            f"{server.url}/api/metrics", headers={"Authorization": f"Bearer {write_key}"}
        )
        assert stranger.status_code == 401


def _day(text: str) -> object:
    from datetime import datetime

    return datetime.fromisoformat(text).replace(hour=12, tzinfo=UTC)
