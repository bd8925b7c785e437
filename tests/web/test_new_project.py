"""A new project starts before its first event: `cynosure serve` on a project with no event data
yet opens (pages and API say there is no data yet), collects what the Segment SDK sends, and
shows the metrics after a refresh."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from segment.analytics import Client

from cynosure.collect import key_store
from cynosure.web import UserStore
from tests.collect.conftest import free_port

PROJECT = """\
project: Fresh shop
events:
  source: data/events/*.parquet
  entity: user_id
  time: timestamp
  name: event
  dimensions: [platform]
  properties: [amount]
metrics:
  revenue:
    sum: amount
    where: event = 'purchase'
  buyers:
    users: true
    where: event = 'purchase'
  basket:
    formula: revenue / buyers
north_star: revenue
tree:
  revenue: [buyers, basket]
tracking_plan:
  events:
    purchase:
      required: [amount]
"""


def test_serve_opens_a_project_with_no_events_and_fills_as_they_arrive(tmp_path: Path) -> None:
    (tmp_path / "cynosure.yml").write_text(PROJECT)
    state = tmp_path / ".cynosure"
    write_key = key_store(state).create("shop")
    users = UserStore.in_directory(state)
    users.add("ada", role="admin", password="ada-password-1")
    token = users.create_token("ada")
    port = free_port()
    command = ["serve", "-p", str(tmp_path / "cynosure.yml"), "--port", str(port)]
    server = subprocess.Popen(
        [sys.executable, "-m", "cynosure", *command, "--refresh-every", "0"],
        env={**os.environ, "NO_COLOR": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    try:
        _wait_until_up(api, server)
        tree = api.get("/api/tree")
        assert tree.status_code == 409 and tree.json()["error"]["type"] == "no_events"
        assert "no event data yet" in tree.json()["error"]["message"]
        home = api.get("/")  # not an error page: how to send the first events
        assert home.status_code == 200 and "No events yet" in home.text
        assert f"{url}/v1/batch" in home.text and "cynosure keys create" in home.text
        health = api.get("/api/health").json()["check"]
        assert health["ok"] is False and "no events yet" in health["source"][0]["message"]

        client = Client(write_key, host=url, sync_mode=True, max_retries=3)
        for i in range(12):
            day = datetime(2026, 11, 2 + i % 3, 12, tzinfo=UTC)
            client.track(f"u{i % 4}", "purchase", {"amount": 10 + i}, timestamp=day)
        client.identify("u1", {"plan": "pro"}, timestamp=day)
        client.flush()
        deadline = time.time() + 60
        while time.time() < deadline:
            intake = api.get("/api/health").json()["intake"]
            if intake["loaded"] >= 12:
                break
            time.sleep(0.2)
        assert intake["loaded"] == 12, intake

        assert api.post("/api/refresh").status_code == 200
        metrics = api.get("/api/metrics", params={"grain": "day"}).json()["metrics"]
        values = {name: {p["period"]: p["value"] for p in rows} for name, rows in metrics.items()}
        assert values["revenue"]["2026-11-02"] == sum(10 + i for i in range(0, 12, 3))
        assert values["buyers"]["2026-11-02"] == 4  # i = 0, 3, 6, 9: u0, u3, u2, u1
        tree = api.get("/api/tree", params={"grain": "day"})
        assert tree.status_code == 200, tree.text
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert b"Traceback" not in stderr, stderr.decode()
    assert b"No events yet" in stderr


def _wait_until_up(api: httpx.Client, server: subprocess.Popen[bytes]) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if api.get("/login").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if server.poll() is not None:
            raise AssertionError(server.stderr.read().decode() if server.stderr else "exited")
        time.sleep(0.2)
    raise AssertionError("the server did not start")
