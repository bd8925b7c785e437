"""The real `cynosure` console script: exit codes, `error:` lines on stderr, JSON on stdout.

Each run starts a fresh Python process (about two seconds of imports), so every invocation
this module needs is started at once, in parallel, by one module-scoped fixture, and the tests
read the results: the module costs the slowest runs, not the sum of all of them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

GOOD = """\
project: Cli
timezone: UTC
week_start: monday
warehouse: "duckdb://"
events:
  source: events.parquet
  dimensions: [country, platform]
  properties: [duration_s, amount]
metrics:
  hours:
    label: Hours listened
    owner: Listening team
    sum: duration_s / 3600
    where: event = 'play'
  listeners:
    users: true
    where: event = 'play'
  hours_per_listener:
    ratio: [hours, listeners]
    owner: Discovery team
  plays:
    count: true
    where: event = 'play'
  searches:
    count: true
    where: event = 'search'
  revenue:
    sum: amount
north_star: hours
tree:
  hours: listeners * hours_per_listener
  hours_per_listener: [plays, searches]
"""

# Three mistakes, each with the text that sits on the line it must be reported at.
BAD_EDITS = [
    ("timezone: UTC", "timezone: Europe/Berln", "timezone: Europe/Berln"),
    ("    where: event = 'search'", "    where: evnt = 'search'", "where: evnt"),
    ("north_star: hours", "north_star: hour", "north_star: hour"),
]
BAD = GOOD
for _old, _new, _ in BAD_EDITS:
    assert BAD.count(_old) == 1
    BAD = BAD.replace(_old, _new)
BAD_DATE = GOOD + "targets:\n  - {metric: hours, value: 10, by: 2027-13-01}\n"

RUNS: dict[str, tuple[str, ...]] = {
    "bad-validate": ("validate", "-p", "{bad}"),
    "bad-metrics-json": ("metrics", "-p", "{bad}", "--json"),
    "missing-file": ("validate", "-p", "{missing}"),
    "unknown-metric": ("metrics", "-p", "{good}", "-m", "nosuch"),
    "unknown-metric-near-miss": ("metrics", "-p", "{good}", "-m", "listener", "--json"),
    "period-week-99": ("tree", "-p", "{good}", "--period", "2026-W99"),
    "period-yesterday": ("tree", "-p", "{good}", "--period", "yesterday", "--json"),
    "grain-weekly": ("metrics", "-p", "{good}", "--grain", "weekly", "--json"),
    "good-metrics-json": ("metrics", "-p", "{good}", "--json"),
    "good-tree-json": ("tree", "-p", "{good}", "--json"),
    "bad-date": ("validate", "-p", "{bad_date}"),
}


def console_script() -> str:
    """The installed `cynosure` entry point, next to this interpreter or on PATH."""
    beside = Path(sys.executable).parent / "cynosure"
    if beside.exists():
        return str(beside)
    found = shutil.which("cynosure")
    if found is None:
        pytest.fail("the `cynosure` console script is not installed (pip install -e .)")
    return found


def write_project(directory: Path, text: str, data: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "events.parquet").symlink_to(data / "events.parquet")
    (directory / "cynosure.yml").write_text(text, encoding="utf-8")
    return directory / "cynosure.yml"


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory, event_data: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli-projects")
    (root / "work").mkdir()
    return {
        "good": write_project(root / "good", GOOD, event_data),
        "bad": write_project(root / "bad", BAD, event_data),
        "bad_date": write_project(root / "bad_date", BAD_DATE, event_data),
        "missing": root / "nowhere" / "cynosure.yml",
        "workdir": root / "work",  # the commands run from here
    }


@pytest.fixture(scope="module")
def runs(projects: dict[str, Path]) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every invocation of RUNS, run in parallel; results by name."""
    script = console_script()
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "PY_COLORS")}
    env["NO_COLOR"] = "1"
    cwd = projects["workdir"]

    def run(args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
        argv = [script, *(a.format(**projects) for a in args)]
        return subprocess.run(
            argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=180, check=False
        )

    with ThreadPoolExecutor(max_workers=min(len(RUNS), os.cpu_count() or 4)) as pool:
        results = dict(zip(RUNS, pool.map(run, RUNS.values()), strict=True))
    return results


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def assert_clean_failure(result: subprocess.CompletedProcess[str]) -> list[str]:
    """Exit code 2, only `error:` lines on stderr, no traceback; returns those lines."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode == 2, output
    lines = error_lines(result)
    assert lines, "an error must say something on stderr"
    assert all(line.startswith("error: ") for line in lines), result.stderr
    return lines


def line_of(text: str, anchor: str) -> int:
    [line] = [n for n, t in enumerate(text.splitlines(), 1) if anchor in t]
    return line


# -- a bad project --------------------------------------------------------------------------------


def test_bad_project_prints_one_located_error_per_problem(
    runs: dict[str, subprocess.CompletedProcess[str]], projects: dict[str, Path]
) -> None:
    lines = assert_clean_failure(runs["bad-validate"])
    assert runs["bad-validate"].stdout == ""
    assert len(lines) == len(BAD_EDITS), lines
    expected = sorted(line_of(BAD, anchor) for _, _, anchor in BAD_EDITS)
    given, resolved = str(projects["bad"]), str(projects["bad"].resolve())
    file = f"(?:{re.escape(given)}|{re.escape(resolved)})"
    found = []
    for line in lines:
        match = re.match(rf"error: {file}:(\d+):(\d+): ", line)
        assert match, f"expected file:line:column in {line!r}"
        found.append(int(match.group(1)))
    assert found == expected
    text = "\n".join(lines)
    assert "did you mean 'event'?" in text
    assert "did you mean 'hours'?" in text
    assert "did you mean 'Europe/Berlin'?" in text


def test_bad_project_with_json_leaves_stdout_empty(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs["bad-metrics-json"]
    lines = assert_clean_failure(result)
    assert result.stdout == ""
    assert len(lines) == len(BAD_EDITS)


def test_missing_project_file(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    [line] = assert_clean_failure(runs["missing-file"])
    assert "nowhere/cynosure.yml" in line
    assert "no project file" in line
    assert "cynosure demo" in line and "-p" in line  # the hint: how to get one


# -- bad options ----------------------------------------------------------------------------------


def test_unknown_metric_lists_the_known_ones(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    [line] = assert_clean_failure(runs["unknown-metric"])
    assert "'nosuch'" in line
    assert "known:" in line and "hours" in line and "listeners" in line


def test_unknown_metric_near_miss_says_did_you_mean(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs["unknown-metric-near-miss"]
    [line] = assert_clean_failure(result)
    assert "'listener'" in line
    assert "did you mean 'listeners'?" in line
    assert result.stdout == ""


def test_week_that_does_not_exist(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    [line] = assert_clean_failure(runs["period-week-99"])
    assert "'2026-W99'" in line
    assert "week" in line


def test_period_in_words_shows_the_accepted_forms(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs["period-yesterday"]
    [line] = assert_clean_failure(result)
    assert "'yesterday'" in line
    assert re.search(r"\d{4}-W\d{2}", line)  # an ISO week
    assert re.search(r"\d{4}-\d{2}\b(?!-)", line)  # a month
    assert re.search(r"\d{4}-\d{2}-\d{2}", line)  # a day
    assert result.stdout == ""


def test_bad_grain_lists_the_grains(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    result = runs["grain-weekly"]
    [line] = assert_clean_failure(result)
    assert "'weekly'" in line
    assert "day, week or month" in line
    assert "did you mean 'week'?" in line
    assert result.stdout == ""


# -- a good project -------------------------------------------------------------------------------


def test_metrics_json_has_the_contract_shape(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs["good-metrics-json"]
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    payload = json.loads(result.stdout)  # stdout holds the JSON and nothing else
    assert payload["grain"] == "week"
    series = payload["metrics"]
    assert set(series) == {
        "hours",
        "listeners",
        "hours_per_listener",
        "plays",
        "searches",
        "revenue",
    }
    periods = [p["period"] for p in series["hours"]]
    assert len(periods) >= 8
    assert periods == sorted(periods)
    for name, points in series.items():
        assert [p["period"] for p in points] == periods, name
        for point in points:
            assert {"period", "start", "value"} <= set(point)
            assert re.fullmatch(r"\d{4}-W\d{2}", point["period"])
            start = date.fromisoformat(point["start"])
            assert start.weekday() == 0  # week_start: monday
            year, week, _ = start.isocalendar()
            assert point["period"] == f"{year}-W{week:02d}"
            assert point["value"] is None or isinstance(point["value"], int | float)
    assert any(p["value"] for p in series["hours"])
    assert all(p["value"] == int(p["value"]) for p in series["plays"])


def test_tree_json_has_the_contract_shape(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    result = runs["good-tree-json"]
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert {"north_star", "period", "baseline", "nodes"} <= set(payload)
    assert payload["north_star"] == "hours"
    assert re.fullmatch(r"\d{4}-W\d{2}", payload["period"])
    assert re.fullmatch(r"\d{4}-W\d{2}", payload["baseline"])
    assert payload["baseline"] < payload["period"]
    keys = {"metric", "parent", "value", "baseline_value", "change", "contribution", "owner"}
    nodes = {}
    for node in payload["nodes"]:
        assert keys <= set(node), node
        nodes[node["metric"]] = node
    assert payload["nodes"][0]["metric"] == "hours"
    assert {m: n["parent"] for m, n in nodes.items()} == {
        "hours": None,
        "listeners": "hours",
        "hours_per_listener": "hours",
        "plays": "hours_per_listener",
        "searches": "hours_per_listener",
    }
    assert nodes["hours"]["owner"] == "Listening team"
    assert nodes["hours_per_listener"]["owner"] == "Discovery team"
    assert nodes["listeners"]["owner"] is None
    root = nodes["hours"]
    assert root["change"] == pytest.approx(root["value"] - root["baseline_value"])
    # A formula edge splits the parent's change exactly; driver edges carry no contribution.
    parts = nodes["listeners"]["contribution"] + nodes["hours_per_listener"]["contribution"]
    assert parts == pytest.approx(root["change"], abs=1e-9)
    assert nodes["plays"]["contribution"] is None


def test_impossible_date_is_a_clean_failure(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    [line] = assert_clean_failure(runs["bad-date"])
    assert f"cynosure.yml:{line_of(BAD_DATE, '2027-13-01')}:" in line
    assert "2027-13-01" in line
