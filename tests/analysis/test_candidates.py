"""The North Star scorecard: the planted vanity metrics are flagged and rank below the North
Star in both generated products, and its entity-level numbers match plain DuckDB and pandas."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from cynosure import Project
from cynosure.analysis.candidates import Candidate, CandidatesResult
from cynosure.demo import generate, truths
from cynosure.engine.evidence import SPAM_BUCKETS, SPAM_FACTOR

USERS = 12_000


@pytest.fixture(scope="module")
def tunewave(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("cand") / "tw", users=USERS, seed=7).directory


@pytest.fixture(scope="module")
def scorecard(tunewave: Path) -> CandidatesResult:
    with Project.load(tunewave) as project:
        return project.candidates()


def _card(result: CandidatesResult, metric: str) -> Candidate:
    return next(c for c in result.candidates if c.metric == metric)


def test_the_north_star_ranks_above_the_planted_vanity_metric(scorecard: CandidatesResult) -> None:
    star = _card(scorecard, truths.NORTH_STAR)
    vanity = _card(scorecard, truths.VANITY_METRIC)
    assert star.rank < vanity.rank
    assert vanity.vanity and any("running total" in r for r in vanity.vanity_reasons)
    assert not star.vanity
    assert scorecard.winner == truths.NORTH_STAR
    assert [c.rank for c in scorecard.candidates] == list(range(1, len(scorecard.candidates) + 1))
    scores = [c.score for c in scorecard.candidates]
    assert scores == sorted(scores, reverse=True)


def test_the_second_product_passes_the_same_check(tmp_path: Path) -> None:
    from cynosure.demo.teamspace import generate as generate_teamspace
    from cynosure.demo.teamspace import truths as team_truths

    directory = generate_teamspace(tmp_path / "ts", users=8_000).directory
    with Project.load(directory) as project:
        result = project.candidates()
    star = _card(result, team_truths.NORTH_STAR)
    vanity = _card(result, team_truths.VANITY_METRIC)
    assert vanity.vanity and star.rank < vanity.rank and not star.vanity


def _events(directory: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    files = directory / "data" / "events" / "*.parquet"
    con.execute(
        "CREATE TABLE e AS SELECT user_id, event, CAST(timestamp AS DATE) AS day, "
        f"date_trunc('week', CAST(timestamp AS DATE)) AS week FROM read_parquet('{files}')"
    )
    return con


def test_spam_sensitivity_matches_a_plain_duckdb_count(
    tunewave: Path, scorecard: CandidatesResult
) -> None:
    con = _events(tunewave)
    # The last complete week: the one before the week of the last day (weeks start Monday).
    last = con.execute("SELECT max(day) FROM e").fetchone()[0]  # type: ignore[index]
    week = last - timedelta(days=last.weekday()) - timedelta(days=7 if last.weekday() < 6 else 0)
    plays, spammed = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE hash(user_id) % ? = 0) FROM e "
        "WHERE event = 'song_played' AND week = ?",
        [SPAM_BUCKETS, week],
    ).fetchone()  # type: ignore[misc]
    expected = (SPAM_FACTOR - 1) * spammed / plays
    plays_card = _card(scorecard, "song_plays").criteria["robustness"].evidence
    assert plays_card["spam_rise"] == pytest.approx(expected, abs=1e-4)
    listeners = _card(scorecard, "listeners").criteria["robustness"].evidence
    assert listeners["spam_rise"] == 0.0  # distinct entities do not grow with repeats


def test_entity_value_link_matches_pandas(tunewave: Path, scorecard: CandidatesResult) -> None:
    con = _events(tunewave)
    frame = con.execute(
        "SELECT user_id, week, count(*) FILTER (WHERE event = 'song_played') AS plays "
        "FROM e GROUP BY ALL"
    ).df()
    weeks = sorted(frame.week.unique())
    # Complete weeks: the first and last are partial; a week is judged by the next one.
    judged = weeks[1:-2][-12:]
    active = set(zip(frame.user_id, frame.week, strict=True))
    rows = frame[frame.week.isin(judged)].copy()
    pairs = zip(rows.user_id, rows.week + pd.Timedelta(days=7), strict=True)
    rows["next"] = [pair in active for pair in pairs]
    rows["rank"] = rows.groupby("week").plays.rank(method="max", pct=True)
    expected = np.corrcoef(rows["rank"], rows["next"].astype(float))[0, 1]
    value = _card(scorecard, "song_plays").criteria["value"].evidence
    assert value["entity_periods"] == len(rows)
    assert value["correlation"] == pytest.approx(expected, abs=1e-4)


def test_cli_json_follows_the_contract(tunewave: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cynosure", "candidates", "-p", str(tunewave), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    first = data["candidates"][0]
    assert {"metric", "rank", "score", "vanity", "criteria", "verdict"} <= set(first)
    assert set(first["criteria"]) == {
        "value",
        "business_link",
        "leading",
        "robustness",
        "actionability",
        "measurability",
    }
    wrong = subprocess.run(
        [sys.executable, "-m", "cynosure", "candidates", "-p", str(tunewave), "--grain", "yr"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert wrong.returncode == 2 and "error:" in wrong.stderr and "Traceback" not in wrong.stderr
