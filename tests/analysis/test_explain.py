"""`cynosure explain` on the two demos' planted incidents, on a pure mix shift, and at the
command line."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from cynosure import Project
from cynosure.analysis.explain import ExplainResult, narrate
from cynosure.demo import generate, truths
from cynosure.demo.teamspace import generate as generate_teamspace
from cynosure.demo.teamspace import truths as team_truths
from cynosure.engine.periods import label

from ..metrics.helpers import build

USERS = 20_000


@pytest.fixture(scope="module")
def tunewave(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("explain") / "tunewave", users=USERS, seed=7).directory


@pytest.fixture(scope="module")
def incident(tunewave: Path) -> ExplainResult:
    with Project.load(tunewave) as project:
        return project.explain(truths.NORTH_STAR, label(truths.INCIDENT_START, "week"))


def _frontier_sum(result: ExplainResult) -> float:
    """The contributions of the exact frontier: metrics with no exact children below them."""
    exact_parents = {n.parent for n in result.tree if n.edge == "formula"}
    frontier = [
        n
        for n in result.tree[1:]
        if not n.estimated and n.metric not in exact_parents and n.contribution is not None
    ]
    return sum(n.contribution or 0.0 for n in frontier)


def test_the_planted_incident_is_the_top_segment_and_its_path_is_named(
    incident: ExplainResult,
) -> None:
    result = incident
    assert result.change is not None and result.change < 0
    top = result.segments[0]
    assert top.segment == dict(truths.INCIDENT_SEGMENT), "\n".join(result.summary())
    assert (top.share_of_change or 0) > 0.6
    assert result.path[:2] == [truths.NORTH_STAR, "hours_per_listener"]
    assert result.segments_metric == "hours_per_listener" and top.effect == "rate"
    assert math.isclose(_frontier_sum(result), result.change, rel_tol=1e-9)
    assert result.context.unusual
    assert [i.name for i in result.interventions] == [truths.INCIDENT_NAME]
    sentences = [s for s in result.narrative.split(". ") if s]
    assert 3 <= len(sentences) <= 6, result.narrative
    assert "platform=android & app_version=4.2.0" in result.narrative
    assert "Hours per listener" in result.narrative
    assert ExplainResult.model_validate_json(result.model_dump_json()) == result


def test_the_ratio_on_the_path_drops_through_its_rate_in_the_incident_segment(
    tunewave: Path,
) -> None:
    with Project.load(tunewave) as project:
        result = project.explain("hours_per_listener", label(truths.INCIDENT_START, "week"))
    assert result.segments_kind == "ratio"
    top = result.segments[0]
    assert top.segment == dict(truths.INCIDENT_SEGMENT)
    assert top.effect == "rate"
    assert top.rate_effect is not None and top.mix_effect is not None
    assert math.isclose(top.rate_effect + top.mix_effect, top.change or 0, abs_tol=1e-9)
    # The planted effect: 70% fewer songs per active day for those users.
    assert top.actual is not None and top.expected is not None
    assert 0.15 < top.actual / top.expected < 0.5


def test_the_week_after_recovers_and_a_quiet_week_is_called_ordinary(tunewave: Path) -> None:
    with Project.load(tunewave) as project:
        after = project.explain(period=label(truths.INCIDENT_END + timedelta(days=1), "week"))
        quiet = project.explain(period="2026-W31")
    assert after.change is not None and after.change > 0
    assert after.segments[0].segment == dict(truths.INCIDENT_SEGMENT)
    assert [i.when for i in after.interventions] == ["during the baseline"]
    assert not quiet.context.unusual and not quiet.interventions
    assert "within this metric's usual range" in quiet.narrative


def test_a_metric_that_does_not_split_says_why_and_a_year_ago_baseline(tunewave: Path) -> None:
    with Project.load(tunewave) as project:
        result = project.explain("new_listeners", "2026-W37", baseline="last-year")
    assert result.baseline == "2025-W37"
    assert not result.segments and result.segments_metric is None
    assert "growth accounting" in (result.segments_note or "")


def test_the_second_product_finds_its_own_planted_cause(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    directory = generate_teamspace(
        tmp_path_factory.mktemp("explain-team") / "teamspace", users=12_000
    ).directory
    with Project.load(directory) as project:
        week = label(team_truths.INCIDENT_START, "week")
        result = project.explain(period=week)
    assert result.metric == team_truths.NORTH_STAR
    assert result.segments[0].segment == dict(team_truths.INCIDENT_SEGMENT), result.narrative
    assert result.path[:2] == [team_truths.NORTH_STAR, "messages_per_member"]
    assert math.isclose(_frontier_sum(result), result.change or 0, rel_tol=1e-9)
    assert team_truths.INCIDENT_NAME in result.narrative


def _mix_events() -> pd.DataFrame:
    """Two weeks; web users play 10 songs a week, android users 2. In the second week the
    android audience triples; nobody changes how much they play."""
    rows = []
    weeks = (pd.Timestamp("2026-03-02", tz="UTC"), pd.Timestamp("2026-03-09", tz="UTC"))
    for week, android_users in zip(weeks, (100, 300), strict=True):
        for platform, users, plays in (("web", 100, 10), ("android", android_users, 2)):
            for u in range(users):
                for k in range(plays):
                    at = week + pd.Timedelta(hours=1 + (u * 7 + k * 13) % 150)
                    rows.append((f"{platform}{u}", at, "play", "DE", platform, None))
    return pd.DataFrame(
        rows, columns=["user_id", "timestamp", "event", "country", "platform", "amount"]
    ).astype({"amount": "float64"})


def test_a_pure_mix_shift_is_reported_as_mix_not_rate(tmp_path: Path) -> None:
    metrics = {
        "plays": {"count": True},
        "players": {"users": True},
        "plays_per_player": {"ratio": ["plays", "players"]},
    }
    project, _ = build(
        tmp_path,
        _mix_events(),
        metrics,
        dimensions=("country", "platform"),
        timezone="UTC",
        week_start="monday",
    )
    with project:
        result = project.explain("plays_per_player", "2026-W11", baseline="2026-W10")
    assert result.value == pytest.approx((1000 + 600) / 400)
    assert result.baseline_value == pytest.approx((1000 + 200) / 200)
    top = result.segments[0]
    assert top.segment == {"platform": "android"}
    assert top.effect == "mix"
    assert abs(top.rate_effect or 0) < 1e-9
    assert "mix" in result.narrative


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1"}
    command = [sys.executable, "-m", "cynosure", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


def test_the_command_line_prints_the_contract_json_and_clear_errors(tunewave: Path) -> None:
    done = _cli("explain", "-p", str(tunewave), "--period", "2026-W37", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    for key in ("metric", "period", "baseline", "change", "tree", "segments", "narrative"):
        assert key in data
    assert data["metric"] == truths.NORTH_STAR and data["period"] == "2026-W37"
    assert {"metric", "contribution"} <= set(data["tree"][0])
    assert {"segment", "share_of_change", "effect"} <= set(data["segments"][0])
    text = _cli("explain", "hours_per_listener", "-p", str(tunewave), "--period", "2026-W37")
    assert text.returncode == 0, text.stderr
    assert "platform=android & app_version=4.2.0" in text.stdout
    for args, words in (
        (("listening_hour",), "did you mean 'listening_hours'"),
        (("--period", "2026-W60"), "not a valid period"),
        (("--period", "2027-W10"), "no data for 2027-W10"),
        (("--period", "2026-W37", "--baseline", "2026-08"), "same form"),
    ):
        bad = _cli("explain", *args, "-p", str(tunewave))
        assert bad.returncode == 2, (args, bad.stdout, bad.stderr)
        assert words in bad.stderr and "Traceback" not in bad.stderr, bad.stderr


def test_explain_defaults_to_the_last_complete_week(tunewave: Path) -> None:
    with Project.load(tunewave) as project:
        result = project.explain()
    assert result.period_complete
    assert result.period == label(date(2026, 10, 19), "week")


def test_a_similar_move_a_year_earlier_is_mentioned_within_six_sentences(
    incident: ExplainResult,
) -> None:
    labels = {n.metric: n.label for n in incident.tree}
    seasonal = incident.context.model_copy(update={"last_year": -0.30})
    many = incident.interventions * 4
    result = incident.model_copy(update={"context": seasonal, "interventions": many})
    text = narrate(result, labels)
    assert "A year earlier the same week moved -30.0% too" in text
    assert len([s for s in text.split(". ") if s]) == 6
    opposite = incident.context.model_copy(update={"last_year": 0.30})
    assert "A year earlier" not in narrate(
        incident.model_copy(update={"context": opposite}), labels
    )
