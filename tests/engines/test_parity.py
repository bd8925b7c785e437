"""The same project on DuckDB, PostgreSQL and Spark (local mode) gives the same answers.

Every metric at every grain, every metric of a segment's series, the tree, `explain` (tree and
segments) and `aha` must agree to 1e-9 (relative); `candidates` too, except its spam test,
which picks its 1% of entities with each engine's own hash function.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from cynosure.api import Project

ENGINES = [
    pytest.param("postgres_project", marks=pytest.mark.xdist_group("postgres"), id="postgres"),
    pytest.param("spark_project", marks=pytest.mark.xdist_group("spark"), id="spark"),
]
SEGMENT = {"platform": "ios"}


@pytest.fixture(params=ENGINES)
def other(request: pytest.FixtureRequest) -> Project:
    project: Project = request.getfixturevalue(request.param)
    return project


def same(left: Any, right: Any, path: str = "") -> list[str]:
    """Where two JSON-like values differ (floats to 1e-9 relative)."""
    if isinstance(left, dict) and isinstance(right, dict):
        return [
            d
            for k in sorted(set(left) | set(right))
            for d in same(left.get(k), right.get(k), f"{path}.{k}")
        ]
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return [f"{path}: {len(left)} != {len(right)} items"]
        return [
            d
            for i, (a, b) in enumerate(zip(left, right, strict=True))
            for d in same(a, b, f"{path}[{i}]")
        ]
    if isinstance(left, float) and isinstance(right, float):
        if math.isnan(left) and math.isnan(right):
            return []
        return (
            []
            if math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12)
            else [f"{path}: {left} != {right}"]
        )
    return [] if left == right else [f"{path}: {left!r} != {right!r}"]


def assert_frames_equal(expected: pd.DataFrame, actual: pd.DataFrame) -> None:
    actual = actual.copy()
    actual.index = [pd.Timestamp(i).date() for i in actual.index]
    assert list(actual.index) == list(expected.index)
    assert sorted(actual.columns) == sorted(expected.columns)
    pd.testing.assert_frame_equal(
        actual[expected.columns],
        expected,
        check_names=False,
        check_index_type=False,
        check_dtype=False,
        rtol=1e-9,
        atol=1e-12,
    )


@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_every_metric_at_every_grain(duckdb_project: Project, other: Project, grain: str) -> None:
    assert_frames_equal(duckdb_project.series(grain), other.series(grain))


def test_segment_series(duckdb_project: Project, other: Project) -> None:
    expected = duckdb_project.complete_series("week", SEGMENT)
    assert len(expected) > 10
    assert_frames_equal(expected, other.complete_series("week", SEGMENT))
    assert other.dimension_values("platform") == duckdb_project.dimension_values("platform")


def test_tree(duckdb_project: Project, other: Project) -> None:
    assert same(duckdb_project.tree().to_dict(), other.tree().to_dict()) == []


def test_explain(duckdb_project: Project, other: Project) -> None:
    expected = duckdb_project.explain().to_dict()
    assert expected["segments"], "the demo's explanation names segments"
    assert same(expected, other.explain().to_dict()) == []


def test_aha(duckdb_project: Project, other: Project) -> None:
    expected = duckdb_project.aha().to_dict()
    assert expected["moments"]
    assert same(expected, other.aha().to_dict()) == []


def test_candidates_apart_from_the_spam_test(duckdb_project: Project, other: Project) -> None:
    def cards(project: Project) -> dict[str, dict[str, Any]]:
        found = {}
        for card in project.candidates().to_dict()["candidates"]:
            criteria = {k: v for k, v in card["criteria"].items() if k != "robustness"}
            found[card["metric"]] = criteria
        return found

    assert same(cards(duckdb_project), cards(other)) == []


def test_check(duckdb_project: Project, other: Project) -> None:
    expected, actual = duckdb_project.check().to_dict(), other.check().to_dict()
    assert same(expected, actual) == []
