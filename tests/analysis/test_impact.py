"""`cynosure impact` and `cynosure watch` on the demo's planted intervention and incident."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from cynosure import Project
from cynosure.demo import generate, truths

USERS = 50_000  # the default demo: watch is judged on its daily noise


@pytest.fixture(scope="module")
def tunewave(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("impact") / "tunewave", users=USERS, seed=7).directory


def test_the_planted_launch_is_recovered_on_its_segment_against_untouched_ones(
    tunewave: Path,
) -> None:
    with Project.load(tunewave) as project:
        result = project.impact("song_plays", intervention=truths.INTERVENTION_NAME)
    assert result.segment == dict(truths.INTERVENTION_SEGMENT)
    assert result.significant
    effect = result.average.relative
    assert effect is not None
    assert abs(effect - truths.INTERVENTION_EFFECT) <= 0.2 * truths.INTERVENTION_EFFECT
    low, high = result.average.relative_interval
    assert low is not None and high is not None and low <= truths.INTERVENTION_EFFECT <= high
    assert {c.segment["platform"] for c in result.controls} <= {"android", "web"}
    assert result.controls, "the untouched platforms track iOS and serve as controls"
    assert len(result.series.periods) == len(result.series.predicted)


def test_a_placebo_launch_on_an_untouched_segment_has_no_effect(tunewave: Path) -> None:
    with Project.load(tunewave) as project:
        result = project.impact(
            "song_plays", at=truths.INTERVENTION_DATE, segment={"platform": "web"}
        )
    assert not result.significant, result.text
    low, high = result.average.relative_interval
    assert low is not None and high is not None and low <= 0 <= high


def test_watch_flags_the_incident_on_its_first_day_and_stays_quiet_around_it(
    tunewave: Path,
) -> None:
    with Project.load(tunewave) as project:
        first = project.watch(as_of=truths.INCIDENT_START)
        star = [a for a in first.alerts if a.metric == truths.NORTH_STAR]
        assert star and star[0].period == truths.INCIDENT_START.isoformat()
        assert star[0].segment == dict(truths.INCIDENT_SEGMENT)
        assert truths.INCIDENT_NAME in (star[0].explanation or "")
        quiet = [truths.INCIDENT_START - timedelta(days=d) for d in range(1, 15)]
        quiet += [truths.INCIDENT_END + timedelta(days=d) for d in range(7, 15)]
        for day in quiet:
            found = project.watch(as_of=day, explain=False)
            assert not [a for a in found.alerts if a.metric == truths.NORTH_STAR], (day, found)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1"}
    command = [sys.executable, "-m", "cynosure", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


def test_the_command_line_contract_exit_codes_and_errors(tunewave: Path) -> None:
    done = _cli(
        "impact",
        "-p",
        str(tunewave),
        "--intervention",
        truths.INTERVENTION_NAME,
        "--no-placebo",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    for key in (
        "metric",
        "intervention",
        "average",
        "cumulative",
        "p_value",
        "probability_of_effect",
        "text",
    ):
        assert key in data
    assert {"actual", "predicted", "effect", "interval", "relative", "relative_interval"} <= set(
        data["average"]
    )
    alarm = _cli("watch", "-p", str(tunewave), "--as-of", truths.INCIDENT_START.isoformat())
    assert alarm.returncode == 1 and "fell abnormally" in alarm.stdout, alarm.stderr
    calm = _cli("watch", "-p", str(tunewave), "--as-of", "2026-08-26", "--json")
    assert calm.returncode in (0, 1) and json.loads(calm.stdout)["as_of"] == "2026-08-26"
    for args, words in (
        (("impact", "--intervention", "Recomendations v2"), "did you mean 'Recommendations v2'"),
        (("impact", "--at", "2026-13-01"), "not a day"),
        (("impact", "--at", "2026-06-15", "--segment", "platfrm=ios"), "did you mean 'platform'"),
        (("impact", "--at", "2026-06-15", "--segment", "ios"), "dimension=value"),
        (("impact",), "--at DATE or --intervention NAME"),
        (("impact", "--at", "2026-06-15", "--prior", "flat"), "causalimpact or vague"),
        (("watch", "--webhook", "ftp://example"), "http://"),
    ):
        bad = _cli(*args, "-p", str(tunewave))
        assert bad.returncode == 2, (args, bad.stdout, bad.stderr)
        assert words in bad.stderr and "Traceback" not in bad.stderr, (args, bad.stderr)


def test_targets_forecast_and_say_whether_the_declared_target_is_in_reach(tunewave: Path) -> None:
    with Project.load(tunewave) as project:
        result = project.targets()
    assert result.metric == truths.NORTH_STAR and result.grain == "month"
    assert len(result.targets) == 1
    status = result.targets[0]
    assert status.status in ("on track", "at risk", "off track")
    assert status.probability is not None and 0 <= status.probability <= 1
    s = result.suggested
    assert s.conservative is not None and s.base is not None and s.stretch is not None
    assert s.conservative <= s.base <= s.stretch
    assert all(lo <= hi for lo, hi in zip(result.forecast.low, result.forecast.high, strict=True))
    assert date.fromisoformat(status.by) > date(2026, 10, 31)
