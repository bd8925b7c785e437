"""The tracking plan quarantines what breaks it, with the reason, and re-admits after a fix;
a DuckDB table source gets rows inserted instead of part files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import httpx
from typer.testing import CliRunner

from cynosure.cli import app
from cynosure.collect import create_collector_app, key_store
from cynosure.collect.facts import quarantine_counts

from .conftest import PROJECT, Server, collected, warehouse_with_events_table

PLAN = """\
tracking_plan:
  events:
    song_played:
      required: [genre]
      properties: {genre: string}
"""


def _send(url: str, key: str, batch: list[dict[str, Any]]) -> None:
    response = httpx.post(url + "/v1/batch", json={"batch": batch}, auth=(key, ""))
    assert response.status_code == 200, response.text


def _song(i: int, **properties: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "song_played",
        "userId": f"u{i}",
        "messageId": f"s{i}",
        "properties": {"duration_s": 10, **properties},
    }


def test_quarantine_and_readmit(project: Path, write_key: str, serve: Any) -> None:
    project.write_text(PROJECT + PLAN)
    with serve() as server:
        _send(
            server.url,
            write_key,
            [
                _song(1, genre="jazz"),
                _song(2),  # no genre
                _song(3, genre="rock", duration_s="long"),  # wrong type
                {
                    "type": "track",
                    "event": "payment_succeeded",
                    "userId": "u1",
                    "messageId": "p1",
                    "properties": {"amount": 5},
                },
            ],
        )
    reasons = quarantine_counts(project.parent / ".cynosure")
    assert reasons == {
        "song_played: required property 'genre' is missing": 1,
        "song_played: property 'duration_s' must be a number, not a string": 1,
    }
    assert sorted(collected(project)["message_id"]) == ["p1", "s1"]
    project.write_text(PROJECT)  # the plan no longer requires genre
    result = CliRunner().invoke(app, ["collect", "--readmit", "-p", str(project)])
    assert result.exit_code == 0, result.output
    assert sorted(collected(project)["message_id"]) == ["p1", "s1", "s2"]
    assert sum(quarantine_counts(project.parent / ".cynosure").values()) == 1
    check = CliRunner().invoke(app, ["check", "-p", str(project), "--json"])
    assert json.loads(check.stdout)["quarantine"] == {
        "song_played: property 'duration_s' must be a number, not a string": 1
    }


def test_table_source_gets_rows_inserted(tmp_path: Path) -> None:
    warehouse = warehouse_with_events_table(tmp_path)
    (tmp_path / "cynosure.yml").write_text(PROJECT.replace("data/events/*.parquet", "events"))
    key = key_store(tmp_path / ".cynosure").create("t")
    with Server(create_collector_app(tmp_path / ".cynosure", load_interval=0.2)) as server:
        _send(server.url, key, [_song(i) for i in range(5)])
    with duckdb.connect(str(warehouse)) as con:
        rows = con.execute("SELECT message_id FROM events ORDER BY 1").fetchall()
        hwm = con.execute("SELECT value FROM cynosure_collect_state").fetchall()
    assert [r[0] for r in rows] == [f"s{i}" for i in range(5)]
    assert hwm
