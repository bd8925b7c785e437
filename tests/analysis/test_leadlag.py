"""Lead-lag finds the planted two-week lead in the demo, recovers planted lags, and stays
quiet on independent series."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cynosure import LeadLagResult, Project
from cynosure.analysis.leadlag import lead_lag, pairs_to_test
from cynosure.analysis.prepare import prepare
from cynosure.demo import generate, truths

# 20,000 users give weekly ratios precise enough that the planted lead has r near 0.85; at
# 10,000 it is still found (r near 0.7), so this size leaves a margin.
USERS = 20_000
LEADER, FOLLOWER = "searches_per_listener", "hours_per_listener"


def _demo(tmp_path_factory: pytest.TempPathFactory, seed: int) -> Path:
    summary = generate(tmp_path_factory.mktemp(f"leadlag-{seed}"), users=USERS, seed=seed)
    return summary.directory / "cynosure.yml"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's project file (no Project is kept open: the CLI needs the warehouse too)."""
    return _demo(tmp_path_factory, seed=7)


@pytest.fixture(scope="module")
def demo_result(demo: Path) -> LeadLagResult:
    with Project.load(demo) as project:
        return project.leadlag()


def _weeks(count: int) -> list[object]:
    return list(pd.date_range("2025-05-05", periods=count, freq="7D").date)


def _planted(lag: int, seed: int, weeks: int = 80) -> tuple[pd.Series, pd.Series]:
    """Two positive weekly series (random walks on the log scale, one with a trend); the
    follower's weekly change is the leader's change of `lag` weeks before, plus noise."""
    rng = np.random.default_rng(seed)
    shocks = rng.normal(0, 1, weeks + 2 * abs(lag))
    noise = rng.normal(0, 1, weeks)
    start = abs(lag)
    lead_shocks = shocks[start : start + weeks]
    follow_shocks = 0.8 * shocks[start - lag : start - lag + weeks] + 0.6 * noise
    index = _weeks(weeks)
    leader = pd.Series(np.exp(0.05 * np.cumsum(lead_shocks) + 0.01 * np.arange(weeks)), index)
    follower = pd.Series(50 * np.exp(0.05 * np.cumsum(follow_shocks)), index)
    return leader, follower


def _is_clear_lead(leader: pd.Series, follower: pd.Series, seed: int) -> tuple[bool, int | None]:
    stats = lead_lag(prepare(leader, "week"), prepare(follower, "week"), seed=seed)
    assert stats.lag_interval is not None and stats.correlation_interval is not None
    r_lo, r_hi = stats.correlation_interval
    lag_lo, lag_hi = stats.lag_interval
    clear = not (r_lo <= 0 <= r_hi) and not (lag_lo <= 0 <= lag_hi)
    return clear, stats.lag


def _pair(result: LeadLagResult, leader: str, follower: str) -> dict[str, object]:
    return next(
        p for p in result.to_dict()["pairs"] if (p["leader"], p["follower"]) == (leader, follower)
    )


def _check_planted_lead(pair: dict[str, object]) -> None:
    lag_lo, lag_hi = pair["lag_interval"]  # type: ignore[misc]
    r_lo, _ = pair["correlation_interval"]  # type: ignore[misc]
    assert pair["lag"] == truths.LEAD_WEEKS
    assert lag_lo <= truths.LEAD_WEEKS <= lag_hi
    assert r_lo > 0
    assert pair["granger_p"] is not None and pair["granger_p"] < 0.05  # type: ignore[operator]
    assert f"leads Hours per listener by {truths.LEAD_WEEKS} weeks" in pair["verdict"]  # type: ignore[operator]


def test_demo_searches_lead_hours_per_listener_by_two_weeks(demo_result: LeadLagResult) -> None:
    _check_planted_lead(_pair(demo_result, LEADER, FOLLOWER))


def test_demo_planted_lead_found_with_another_seed(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with Project.load(_demo(tmp_path_factory, seed=11)) as project:
        _check_planted_lead(_pair(project.leadlag(), LEADER, FOLLOWER))


def test_demo_tests_every_tree_input_and_outcome(demo_result: LeadLagResult) -> None:
    tested = {(p.leader, p.follower) for p in demo_result.pairs}
    tree = {
        "listening_hours": ["listeners", "hours_per_listener"],
        "listeners": ["new_listeners", "retained_listeners", "resurrected_listeners"],
        "hours_per_listener": ["playlist_adds", "searches_per_listener"],
    }
    for parent, children in tree.items():
        assert {(child, parent) for child in children} <= tested
    assert ("listening_hours", "revenue") in tested
    assert ("signups_total", "week4_retention") in tested
    assert ("revenue", "revenue") not in tested
    strengths = [abs(p.correlation) for p in demo_result.pairs if p.correlation is not None]
    assert strengths == sorted(strengths, reverse=True)


def test_pairs_are_listed_once_and_never_with_themselves() -> None:
    pairs = pairs_to_test([("a", ["b", "c"]), ("c", ["d"])], ["a", "b", "o"], ["o", "p"])
    assert pairs == [
        ("b", "a", "tree"),
        ("c", "a", "tree"),
        ("d", "c", "tree"),
        ("a", "o", "outcome"),
        ("b", "o", "outcome"),
        ("a", "p", "outcome"),
        ("b", "p", "outcome"),
        ("o", "p", "outcome"),
    ]


def test_independent_random_walks_rarely_show_a_lead() -> None:
    index = _weeks(78)
    clear = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        a = pd.Series(np.exp(np.cumsum(rng.normal(0, 0.05, 78))), index)
        b = pd.Series(np.exp(np.cumsum(rng.normal(0, 0.05, 78))), index)
        clear += _is_clear_lead(a, b, seed)[0]
    assert clear <= 4  # at most 10% false leads


@pytest.mark.parametrize("lag", [3, -3])
def test_planted_lag_is_recovered_with_its_sign(lag: int) -> None:
    for seed in range(5):
        leader, follower = _planted(lag, seed)
        assert _is_clear_lead(leader, follower, seed) == (True, lag)


def test_lags_beyond_the_range_are_not_invented() -> None:
    leader, follower = _planted(3, seed=0)
    stats = lead_lag(prepare(leader, "week"), prepare(follower, "week"), max_lag=2)
    assert stats.lag is not None and abs(stats.lag) <= 2
    assert stats.correlation is not None and abs(stats.correlation) < 0.5


def test_too_short_series_give_no_answer_not_an_error() -> None:
    leader, follower = _planted(1, seed=0, weeks=10)
    stats = lead_lag(prepare(leader, "week"), prepare(follower, "week"))
    assert stats.lag is None and stats.correlation is None and stats.n == 9


def test_day_grain_removes_the_weekly_cycle() -> None:
    days = pd.date_range("2026-01-05", periods=70, freq="D")
    cycle = np.tile([1.0, 1.0, 1.0, 1.0, 1.2, 1.6, 1.5], 10)
    prepared = prepare(pd.Series(100 * cycle, list(days.date)), "day")
    assert np.nanmax(np.abs(prepared.to_numpy())) < 1e-9


def test_result_contract(demo: Path, demo_result: LeadLagResult) -> None:
    data = demo_result.to_dict()
    json.dumps(data, allow_nan=False)
    assert LeadLagResult.model_validate(data) == demo_result
    assert demo_result.summary() and all(demo_result.summary())
    with Project.load(demo) as project:
        assert project.leadlag(seed=0).to_dict() == data
        assert project.leadlag(seed=1).to_dict() != data


def test_cli_prints_the_json_shape(demo: Path, demo_result: LeadLagResult) -> None:
    command = Path(sys.executable).parent / "cynosure"
    run = subprocess.run(
        [str(command), "leadlag", "-p", str(demo), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["grain"] == "week"
    keys = {"leader", "follower", "lag", "lag_interval", "correlation"}
    keys |= {"correlation_interval", "granger_p", "n", "verdict"}
    for pair in data["pairs"]:
        assert keys <= set(pair)
        assert len(pair["lag_interval"]) == 2 and len(pair["correlation_interval"]) == 2
    assert data == demo_result.to_dict()


def test_cli_refuses_a_bad_max_lag(demo: Path) -> None:
    command = Path(sys.executable).parent / "cynosure"
    run = subprocess.run(
        [str(command), "leadlag", "-p", str(demo.parent), "--max-lag", "0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert "--max-lag must be at least 1" in run.stderr


def test_the_second_product_planted_lead_is_found(tmp_path: Path) -> None:
    """Teamspace: another shape (New York time, Sunday weeks) and another lag (3 weeks)."""
    from cynosure.demo.teamspace import generate as generate_teamspace
    from cynosure.demo.teamspace import truths as team

    directory = generate_teamspace(tmp_path / "teamspace").directory
    with Project.load(directory) as project:
        pair = _pair(project.leadlag(), team.LEADER_METRIC, team.FOLLOWER_METRIC)
    lag_lo, lag_hi = pair["lag_interval"]  # type: ignore[misc]
    r_lo, _ = pair["correlation_interval"]  # type: ignore[misc]
    assert pair["lag"] == team.LEAD_WEEKS
    assert lag_lo <= team.LEAD_WEEKS <= lag_hi
    assert r_lo > 0
    assert pair["clear"] is True
