"""The demo's ``cynosure.yml`` follows the project file contract."""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
import pytest
import yaml

from cynosure.demo import DemoSummary, truths
from cynosure.demo.project_file import MARKER, nice_round, render, target_date
from cynosure.project.model import METRIC_KINDS

KINDS = set(METRIC_KINDS)


@pytest.fixture(scope="module")
def project(demo: DemoSummary) -> dict[str, Any]:
    text = (demo.directory / "cynosure.yml").read_text(encoding="utf-8")
    assert text.startswith(MARKER)
    parsed = yaml.safe_load(text)
    assert isinstance(parsed, dict)
    return parsed


def test_top_level(project: dict[str, Any]) -> None:
    assert project["project"] == "Tunewave"
    assert project["timezone"] == "UTC"
    assert project["week_start"] == "monday"
    assert "warehouse" not in project
    assert project["events"] == {
        "source": "data/events/*.parquet",
        "entity": "user_id",
        "time": "timestamp",
        "name": "event",
        "dimensions": ["country", "platform", "app_version", "plan", "acquisition_channel"],
        "properties": ["duration_s", "amount"],
    }
    assert project["entities"] == {
        "source": "data/users.parquet",
        "key": "user_id",
        "created": "signed_up_at",
    }


def test_metrics(project: dict[str, Any]) -> None:
    metrics = project["metrics"]
    for name, metric in metrics.items():
        assert len(KINDS & metric.keys()) == 1, name
        assert isinstance(metric.get("label"), str) and metric.get("description"), name
        if "where" in metric:
            assert isinstance(metric["where"], str), name
    assert metrics["listening_hours"]["sum"] == "duration_s / 3600"
    assert metrics["listening_hours"]["where"] == "event = 'song_played'"
    assert metrics["hours_per_listener"]["ratio"] == ["listening_hours", "listeners"]
    lifecycles = {m.get("lifecycle") for m in metrics.values()} - {None}
    assert lifecycles == {"new", "retained", "resurrected", "churned"}
    assert metrics["signups_total"]["cumulative"] is True
    assert metrics["week4_retention"]["retention"] == {"after": "28d"}
    assert metrics["onboarding_completion"]["conversion"] == {
        "event": "onboarding_completed",
        "within": "2d",
    }
    assert metrics["engaged_listeners"]["threshold"] == {
        "at_least": 3,
        "unit": "days",
        "where": "event = 'song_played'",
    }
    candidates = {name for name, m in metrics.items() if m.get("candidate")}
    assert {"listening_hours", "listeners", "signups_total", "song_plays", "revenue"} <= candidates
    referenced = {
        *project["tree"],
        *project["guardrails"],
        *project["outcomes"],
        *(r for m in metrics.values() for r in m.get("ratio", [])),
        *(d for drivers in project["tree"].values() if isinstance(drivers, list) for d in drivers),
    }
    assert referenced <= metrics.keys()


def test_north_star_and_tree(project: dict[str, Any]) -> None:
    assert project["north_star"] == truths.NORTH_STAR
    assert project["tree"] == {
        "listening_hours": "listeners * hours_per_listener",
        "listeners": "new_listeners + retained_listeners + resurrected_listeners",
        "hours_per_listener": ["playlist_adds", "searches_per_listener"],
    }
    assert project["guardrails"] == ["skip_rate", "cancellations"]
    assert project["outcomes"] == ["revenue", "week4_retention"]


def test_interventions(project: dict[str, Any]) -> None:
    assert project["interventions"] == [
        {
            "name": truths.INTERVENTION_NAME,
            "date": truths.INTERVENTION_DATE,
            "segment": dict(truths.INTERVENTION_SEGMENT),
        },
        {
            "name": truths.INCIDENT_NAME,
            "date": truths.INCIDENT_START,
            "end": truths.INCIDENT_END,
            "segment": dict(truths.INCIDENT_SEGMENT),
        },
    ]


def test_target_is_fifteen_percent_above_last_month(
    project: dict[str, Any], con: duckdb.DuckDBPyConnection
) -> None:
    (target,) = project["targets"]
    assert target["metric"] == "listening_hours"
    assert target["by"] == date(2027, 3, 31)
    row = con.sql("SELECT sum(duration_s) / 3600 FROM e WHERE day >= DATE '2026-10-01'").fetchone()
    assert row is not None
    assert target["value"] == pytest.approx(1.15 * row[0], rel=0.005)


def test_header_lists_the_truths(demo: DemoSummary) -> None:
    header = (demo.directory / "cynosure.yml").read_text(encoding="utf-8").split("\nproject:")[0]
    assert all(line.startswith("#") for line in header.splitlines())
    words = " ".join(line.lstrip("#").strip() for line in header.splitlines())
    for truth in truths.TRUTHS:
        assert truth.statement in words


def test_render_outside_the_planted_dates() -> None:
    text = render(seed=1, users=10, start=date(2024, 1, 1), end=date(2024, 6, 30))
    parsed = yaml.safe_load(text)
    assert "interventions" not in parsed and "targets" not in parsed


def test_helpers() -> None:
    assert nice_round(37_832.4) == 37_800
    assert nice_round(987.6) == 988
    assert nice_round(0.0) == 0
    assert target_date(date(2026, 10, 31)) == date(2027, 3, 31)
    assert target_date(date(2026, 9, 15)) == date(2027, 2, 28)
