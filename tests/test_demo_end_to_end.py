"""The demo product end to end: its project file, every metric against the independent
reference implementation, the tree's identities, and the planted incident seen in the tree."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from cynosure import Project
from cynosure.demo import generate, truths
from tests.metrics.helpers import assert_frames_match
from tests.metrics.reference import Reference


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("demo") / "tunewave"
    generate(directory, users=2_000, seed=11)
    return directory


@pytest.fixture(scope="module")
def project(demo: Path) -> Project:
    return Project.load(demo)


def test_every_demo_metric_matches_the_reference(demo: Path, project: Project) -> None:
    config = yaml.safe_load((demo / "cynosure.yml").read_text())
    events = pd.concat(
        pd.read_parquet(path) for path in sorted((demo / "data" / "events").glob("*.parquet"))
    )
    users = pd.read_parquet(demo / "data" / "users.parquet")
    reference = Reference(config, events, users)
    for grain in ("week", "month"):
        assert_frames_match(project.series(grain), reference.series(grain), config)


def test_the_demo_tree_formulas_hold_on_its_data(project: Project) -> None:
    assert project.validate() == []


def test_the_incident_week_shows_in_the_tree_through_hours_per_listener(project: Project) -> None:
    incident = project.tree(period="2026-W37")
    root = incident.nodes[0]
    assert root.metric == truths.NORTH_STAR
    assert root.change_relative is not None and root.change_relative < -0.10
    by_metric = {node.metric: node for node in incident.nodes}
    hours_per_listener = by_metric["hours_per_listener"].contribution_to_north_star
    listeners = by_metric["listeners"].contribution_to_north_star
    assert hours_per_listener is not None and listeners is not None
    # Listeners on 4.2.0 kept listening, but played far fewer songs: the intensity input moved.
    assert hours_per_listener < listeners < 0 or hours_per_listener < 0 < listeners
    assert abs(hours_per_listener + listeners - (root.change or 0)) < 1e-6
    recovery = project.tree(period="2026-W38")
    assert (recovery.nodes[0].change_relative or 0) > 0.10


def test_the_json_of_the_demo_round_trips(project: Project) -> None:
    for result in (project.tree(), project.metrics("month"), project.explain(period="2026-W37")):
        data = result.to_dict()
        assert type(result).model_validate(data) == result
        assert result.summary()
    assert project.explain(period="2026-W37") == project.explain(period="2026-W37")
