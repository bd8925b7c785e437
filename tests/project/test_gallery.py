"""A gallery of mistakes in `cynosure.yml`, each checked for a located, actionable problem.

Every case changes one thing in a valid base project (over a small, real Parquet file of events)
and checks the ProjectError it yields: the problem's dotted `path`, the `line` and `column`
where the mistake sits (found in the text of the file, never hard-coded), a message that names
the offending thing and, for near-misses, the "did you mean" hint. One mistake gives exactly one
problem: a typo must not cascade into several messages.

Known shortcomings are written as the behaviour we want and marked `xfail(strict=True)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from cynosure import CynosureError, Problem, Project, ProjectError

BASE = """\
project: Gallery
timezone: UTC
week_start: monday
warehouse: "duckdb://"
events:
  source: events.parquet
  entity: user_id
  time: timestamp
  name: event
  dimensions: [country, platform]
  properties: [duration_s, amount]
entities:
  source: users.parquet
  key: user_id
  created: signed_up_at
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
  new_listeners:
    users: true
    where: event = 'play'
    lifecycle: new
  retained_listeners:
    users: true
    where: event = 'play'
    lifecycle: retained
  resurrected_listeners:
    users: true
    where: event = 'play'
    lifecycle: resurrected
  plays:
    count: true
    where: event = 'play'
  searches:
    count: true
    where: event = 'search'
  revenue:
    sum: amount
  engaged:
    threshold: {at_least: 3, where: "event = 'play'"}
  activation:
    conversion: {event: play, within: 7d}
  week1_retention:
    retention: {after: 7d}
  signups_total:
    count: true
    where: event = 'signup'
    cumulative: true
north_star: hours
tree:
  hours: listeners * hours_per_listener
  listeners: new_listeners + retained_listeners + resurrected_listeners
  hours_per_listener: [plays, searches]
guardrails: [searches]
outcomes: [revenue]
interventions:
  - {name: Launch, date: 2026-02-01, segment: {platform: ios}}
"""

EVENTS_BLOCK = """\
events:
  source: events.parquet
  entity: user_id
  time: timestamp
  name: event
  dimensions: [country, platform]
  properties: [duration_s, amount]
"""


def edit(old: str, new: str, text: str = BASE) -> str:
    """`text` with its one occurrence of `old` replaced by `new`."""
    assert text.count(old) == 1, f"{old!r} must occur exactly once in the base project"
    return text.replace(old, new)


def position(text: str, anchor: str) -> tuple[int, int]:
    """1-based (line, column) of `anchor`, which must sit on exactly one line of `text`."""
    hits = [(n, line.index(anchor) + 1) for n, line in enumerate(text.splitlines(), 1) if anchor in line]
    assert len(hits) == 1, f"{anchor!r} must sit on exactly one line, found {len(hits)}"
    return hits[0]


def only_problem(error: ProjectError, path: str) -> Problem:
    """The single problem reported at `path`."""
    found = [p for p in error.problems if p.path == path]
    listing = "\n".join(str(p) for p in error.problems)
    assert len(found) == 1, f"expected one problem at {path!r}, got:\n{listing}"
    return found[0]


def load_error(project_file: Path, *, validate: bool = False) -> ProjectError:
    """The ProjectError raised by loading (and, if asked, validating) `project_file`."""
    with pytest.raises(ProjectError) as info:
        project = Project.load(project_file)
        if validate:
            try:
                project.validate()
            finally:
                project.close()
    return info.value


def test_base_project_is_valid(write_project: Callable[[str], Path]) -> None:
    project = Project.load(write_project(BASE))
    try:
        project.validate()
        assert project.north_star == "hours"
    finally:
        project.close()


@dataclass(frozen=True)
class Mistake:
    """One change to the base project and the problem it must produce."""

    id: str
    text: str  # the whole broken project file
    path: str  # Problem.path expected
    anchor: str  # the text that starts where the problem must be located (line and column)
    names: tuple[str, ...]  # what the message must mention
    hint: str = ""  # what the hint must mention
    validate: bool = False  # found by Project.validate(), not by Project.load()


GALLERY = [
    # -- YAML itself ----------------------------------------------------------------------
    Mistake(
        "yaml-tab-indent",
        edit("  listeners:\n    users: true\n", "  listeners:\n\tusers: true\n"),
        path="",
        anchor="\tusers",
        names=("not valid YAML", "\\t"),
    ),
    Mistake(
        "yaml-colon-in-where",
        edit("    where: event = 'search'", "    where: event: 'search'"),
        path="",
        anchor=": 'search'",
        names=("not valid YAML", "mapping values"),
    ),
    Mistake(
        "duplicate-key",
        edit("    sum: amount\n", "    label: Revenue\n    sum: amount\n    label: Money\n"),
        path="metrics.revenue.label",
        anchor="label: Money",
        names=("'label'", "twice"),
        hint="remove",
    ),
    Mistake(
        "not-a-mapping",
        "- hours\n- listeners\n",
        path="",
        anchor="- hours",
        names=("mapping",),
    ),
    # -- the schema -----------------------------------------------------------------------
    Mistake(
        "unknown-top-level-key",
        edit("north_star: hours", "nort_star: hours"),
        path="nort_star",
        anchor="nort_star: hours",
        names=("unknown key 'nort_star'",),
        hint="did you mean 'north_star'?",
    ),
    Mistake(
        "unknown-metric-key",
        edit("    sum: amount\n", "    sum: amount\n    wher: event = 'play'\n"),
        path="metrics.revenue.wher",
        anchor="wher: event = 'play'",
        names=("unknown key 'wher'",),
        hint="did you mean 'where'?",
    ),
    Mistake(
        # No position in the file holds a missing key: the start of the file is the place.
        "missing-events",
        edit(EVENTS_BLOCK, ""),
        path="events",
        anchor="project: Gallery",
        names=("'events'", "required"),
    ),
    Mistake(
        "missing-events-source",
        edit("  source: events.parquet\n", ""),
        path="events.source",
        anchor="events:",
        names=("'source'", "required"),
    ),
    Mistake(
        "bad-week-start",
        edit("week_start: monday", "week_start: mondey"),
        path="week_start",
        anchor="week_start: mondey",
        names=("'mondey'", "sunday"),
        hint="did you mean 'monday'?",
    ),
    Mistake(
        "week-start-capitalised",
        edit("week_start: monday", "week_start: Monday"),
        path="week_start",
        anchor="week_start: Monday",
        names=("'Monday'",),
        hint="did you mean 'monday'?",
    ),
    Mistake(
        "unknown-lifecycle",
        edit("lifecycle: retained", "lifecycle: retain"),
        path="metrics.retained_listeners.lifecycle",
        anchor="lifecycle: retain",
        names=("'retain'", "resurrected"),
        hint="did you mean 'retained'?",
    ),
    Mistake(
        "threshold-at-least-zero",
        edit("at_least: 3", "at_least: 0"),
        path="metrics.engaged.threshold.at_least",
        anchor="at_least: 0",
        names=("1",),
    ),
    Mistake(
        "threshold-unit-typo",
        edit("{at_least: 3,", "{at_least: 3, unit: day,"),
        path="metrics.engaged.threshold.unit",
        anchor="unit: day",
        names=("'day'", "events"),
        hint="did you mean 'days'?",
    ),
    Mistake(
        "window-in-words",
        edit("within: 7d", "within: 2 days"),
        path="metrics.activation.conversion.within",
        anchor="within: 2 days",
        names=("'2 days'", "7d"),
    ),
    Mistake(
        "window-of-zero-days",
        edit("after: 7d", "after: 0d"),
        path="metrics.week1_retention.retention.after",
        anchor="after: 0d",
        names=("at least 1 day",),
    ),
    Mistake(
        "ratio-of-one-metric",
        edit("ratio: [hours, listeners]", "ratio: [hours]"),
        path="metrics.hours_per_listener.ratio",
        anchor="ratio: [hours]",
        names=("2",),
    ),
    Mistake(
        "intervention-not-a-date",
        edit("date: 2026-02-01", "date: soon"),
        path="interventions.0.date",
        anchor="date: soon",
        names=("date",),
    ),
    # -- settings -------------------------------------------------------------------------
    Mistake(
        "unknown-time-zone",
        edit("timezone: UTC", "timezone: Europe/Berln"),
        path="timezone",
        anchor="timezone: Europe/Berln",
        names=("unknown time zone 'Europe/Berln'",),
        hint="did you mean 'Europe/Berlin'?",
    ),
    Mistake(
        "dimension-also-a-property",
        edit("dimensions: [country, platform]", "dimensions: [country, platform, duration_s]"),
        path="events.dimensions.2",
        anchor="duration_s]",
        names=("'duration_s'", "dimension", "property"),
    ),
    # -- metric kinds and modifiers ---------------------------------------------------------
    Mistake(
        "metric-without-aggregation",
        edit("    sum: amount\n", "    label: Revenue\n"),
        path="metrics.revenue",
        anchor="revenue:",
        names=("aggregate",),
        hint="count, users, sum",
    ),
    Mistake(
        "metric-with-two-aggregations",
        edit("    sum: amount\n", "    sum: amount\n    count: true\n"),
        path="metrics.revenue",
        anchor="revenue:",
        names=("count", "sum"),
        hint="exactly one",
    ),
    Mistake(
        "bad-metric-name",
        edit("  week1_retention:\n", "  week1-retention:\n"),
        path="metrics.week1-retention",
        anchor="week1-retention:",
        names=("'week1-retention'", "metric name"),
        hint="underscores",
    ),
    Mistake(
        "lifecycle-on-count",
        edit("    where: event = 'search'\n", "    where: event = 'search'\n    lifecycle: churned\n"),
        path="metrics.searches.lifecycle",
        anchor="lifecycle: churned",
        names=("lifecycle", "users"),
    ),
    Mistake(
        "cumulative-ratio",
        edit("ratio: [hours, listeners]\n", "ratio: [hours, listeners]\n    cumulative: True\n"),
        path="metrics.hours_per_listener.cumulative",
        anchor="cumulative: True",
        names=("ratio", "cumulative"),
        hint="count, sum and users",
    ),
    Mistake(
        "where-on-a-ratio",
        edit(
            "ratio: [hours, listeners]\n",
            "ratio: [hours, listeners]\n    where: platform = 'ios'\n",
        ),
        path="metrics.hours_per_listener.where",
        anchor="where: platform = 'ios'",
        names=("ratio", "where"),
    ),
    # -- filters and expressions --------------------------------------------------------------
    Mistake(
        "unknown-column-in-where",
        edit("    where: event = 'search'", "    where: evnt = 'search'"),
        path="metrics.searches.where",
        anchor="where: evnt",
        names=("unknown column 'evnt'",),
        hint="did you mean 'event'?",
    ),
    Mistake(
        "unknown-column-in-threshold-where",
        edit("where: \"event = 'play'\"}", "where: \"plaform = 'ios'\"}"),
        path="metrics.engaged.threshold.where",
        anchor="where: \"plaform",
        names=("unknown column 'plaform'",),
        hint="did you mean 'platform'?",
    ),
    Mistake(
        "subquery-in-where",
        edit(
            "    where: event = 'search'",
            "    where: user_id IN (SELECT user_id FROM users)",
        ),
        path="metrics.searches.where",
        anchor="where: user_id IN",
        names=("SELECT", "not allowed"),
        hint="lower",
    ),
    Mistake(
        "function-in-where",
        edit("    where: event = 'search'", "    where: sleep(1) = 0"),
        path="metrics.searches.where",
        anchor="where: sleep(1)",
        names=("'sleep'", "not allowed"),
        hint="lower, upper, length, abs, coalesce",
    ),
    Mistake(
        "drop-table-in-where",
        edit("    where: event = 'search'", "    where: event = 'search'; DROP TABLE events"),
        path="metrics.searches.where",
        anchor="where: event = 'search'; DROP",
        names=("DROP TABLE", "single expression"),
    ),
    Mistake(
        "table-qualified-column",
        edit("    where: event = 'search'", "    where: events.event = 'search'"),
        path="metrics.searches.where",
        anchor="where: events.event",
        names=("'events.event'", "table"),
    ),
    Mistake(
        "where-not-a-condition",
        edit("    where: event = 'search'", "    where: duration_s + 1"),
        path="metrics.searches.where",
        anchor="where: duration_s + 1",
        names=("'duration_s + 1'", "not a condition"),
        hint="event = 'signup'",
    ),
    Mistake(
        "sum-of-a-condition",
        edit("    sum: amount", "    sum: amount > 3"),
        path="metrics.revenue.sum",
        anchor="sum: amount > 3",
        names=("'amount > 3'", "numeric"),
        hint="where",
    ),
    # -- references between metrics -----------------------------------------------------------
    Mistake(
        "ratio-of-unknown-metric",
        edit("ratio: [hours, listeners]", "ratio: [hours, listener]"),
        path="metrics.hours_per_listener.ratio",
        anchor="ratio: [hours, listener]",
        names=("'listener'",),
        hint="did you mean 'listeners'?",
    ),
    Mistake(
        "formula-of-unknown-metric",
        edit("ratio: [hours, listeners]", "formula: hours / listners"),
        path="metrics.hours_per_listener.formula",
        anchor="formula: hours / listners",
        names=("'listners'",),
        hint="did you mean 'listeners'?",
    ),
    Mistake(
        "formula-calls-a-function",
        edit("ratio: [hours, listeners]", "formula: __import__('os')"),
        path="metrics.hours_per_listener.formula",
        anchor="formula: __import__",
        names=("__import__", "not allowed"),
    ),
    Mistake(
        "metric-cycle-through-formulas",
        edit(
            "  revenue:\n    sum: amount\n",
            "  revenue:\n    sum: amount\n  loop_a:\n    formula: loop_b + 1\n"
            "  loop_b:\n    formula: loop_a * 2\n",
        ),
        path="metrics.loop_a",
        anchor="loop_a:",
        names=("cycle", "loop_a -> loop_b -> loop_a"),
    ),
    Mistake(
        "north-star-unknown",
        edit("north_star: hours", "north_star: hour"),
        path="north_star",
        anchor="north_star: hour",
        names=("'hour'",),
        hint="did you mean 'hours'?",
    ),
    Mistake(
        "guardrail-unknown",
        edit("guardrails: [searches]", "guardrails: [serches]"),
        path="guardrails.0",
        anchor="serches",
        names=("'serches'",),
        hint="did you mean 'searches'?",
    ),
    Mistake(
        "target-of-unknown-metric",
        edit(
            "outcomes: [revenue]\n",
            "outcomes: [revenue]\ntargets:\n  - {metric: revenu, value: 100, by: 2027-03-31}\n",
        ),
        path="targets.0.metric",
        anchor="metric: revenu,",
        names=("'revenu'",),
        hint="did you mean 'revenue'?",
    ),
    # -- the tree -------------------------------------------------------------------------------
    Mistake(
        "tree-formula-unknown-metric",
        edit("listeners * hours_per_listener", "listeners * hours_per_listenr"),
        path="tree.hours",
        anchor="hours: listeners *",
        names=("'hours_per_listenr'",),
        hint="did you mean 'hours_per_listener'?",
    ),
    Mistake(
        "tree-driver-unknown-metric",
        edit("[plays, searches]\n", "[plays, serches]\n"),
        path="tree.hours_per_listener",
        anchor="hours_per_listener: [plays, serches]",
        names=("'serches'",),
        hint="did you mean 'searches'?",
    ),
    Mistake(
        "tree-parent-unknown",
        edit("  hours_per_listener: [plays", "  hours_per_listner: [plays"),
        path="tree.hours_per_listner",
        anchor="hours_per_listner:",
        names=("'hours_per_listner'",),
        hint="did you mean 'hours_per_listener'?",
    ),
    Mistake(
        "tree-formula-does-not-parse",
        edit("listeners * hours_per_listener", "listeners *"),
        path="tree.hours",
        anchor="hours: listeners *",
        names=("'listeners *'",),
    ),
    Mistake(
        "tree-metric-is-its-own-child",
        edit("[plays, searches]\n", "[plays, hours_per_listener]\n"),
        path="tree.hours_per_listener",
        anchor="hours_per_listener: [plays",
        names=("'hours_per_listener'", "own child"),
    ),
    Mistake(
        "tree-cycle",
        edit("[plays, searches]\n", "[plays, searches]\n  plays: [hours]\n"),
        path="tree.hours",
        anchor="hours: listeners *",
        names=("cycle", "hours -> hours_per_listener -> plays -> hours"),
    ),
    Mistake(
        "tree-formula-does-not-hold",
        edit("listeners * hours_per_listener", "listeners + hours_per_listener"),
        path="tree.hours",
        anchor="hours: listeners +",
        names=("hours", "listeners + hours_per_listener", "does not equal"),
        hint="drivers",
        validate=True,
    ),
    # -- interventions ----------------------------------------------------------------------------
    Mistake(
        "intervention-segment-undeclared-dimension",
        edit("segment: {platform: ios}", "segment: {plattform: ios}"),
        path="interventions.0.segment.plattform",
        anchor="plattform",
        names=("'plattform'", "dimension"),
        hint="did you mean 'platform'?",
    ),
    Mistake(
        "intervention-ends-before-it-starts",
        edit("date: 2026-02-01,", "date: 2026-02-01, end: 2026-01-15,"),
        path="interventions.0.end",
        anchor="end: 2026-01-15",
        names=("before",),
    ),
    Mistake(
        "two-interventions-with-one-name",
        edit(
            "segment: {platform: ios}}\n",
            "segment: {platform: ios}}\n  - {name: Launch, date: 2026-02-08}\n",
        ),
        path="interventions.1.name",
        anchor="name: Launch, date: 2026-02-08",
        names=("'Launch'",),
        hint="unique",
    ),
    # -- against the data ---------------------------------------------------------------------------
    Mistake(
        "events-source-matches-no-file",
        edit("source: events.parquet", "source: data/missing_*.parquet"),
        path="events.source",
        anchor="source: data/missing_*.parquet",
        names=("data/missing_*.parquet", "no file"),
    ),
    Mistake(
        "events-source-unknown-table",
        edit("source: events.parquet", "source: events_table"),
        path="events.source",
        anchor="source: events_table",
        names=("'events_table'",),
    ),
    Mistake(
        "dimension-missing-from-data",
        edit("dimensions: [country, platform]", "dimensions: [country, platform, app_version]"),
        path="events.dimensions.2",
        anchor="app_version",
        names=("'app_version'",),
        hint="platform",
    ),
    Mistake(
        "time-column-missing",
        edit("  time: timestamp", "  time: ts"),
        path="events.time",
        anchor="time: ts",
        names=("'ts'",),
        hint="timestamp",
    ),
    Mistake(
        "time-column-not-timestamps",
        edit("  time: timestamp", "  time: duration_s"),
        path="events.time",
        anchor="time: duration_s",
        names=("'duration_s'", "timestamps"),
    ),
    Mistake(
        "entities-key-column-missing",
        edit("  key: user_id", "  key: userid"),
        path="entities.key",
        anchor="key: userid",
        names=("'userid'", "entities"),
        hint="did you mean 'user_id'?",
    ),
    Mistake(
        "entities-created-column-missing",
        edit("created: signed_up_at", "created: signup_at"),
        path="entities.created",
        anchor="created: signup_at",
        names=("'signup_at'",),
        hint="did you mean 'signed_up_at'?",
    ),
    Mistake(
        "entities-source-matches-no-file",
        edit("source: users.parquet", "source: people.parquet"),
        path="entities.source",
        anchor="source: people.parquet",
        names=("people.parquet",),
    ),
    Mistake(
        "sum-over-a-string-column",
        edit("    sum: amount", "    sum: country"),
        path="metrics.revenue.sum",
        anchor="sum: country",
        names=("'country'", "string"),
        hint="numeric",
    ),
    Mistake(
        "mean-over-a-string-column",
        edit("    sum: amount", "    mean: event"),
        path="metrics.revenue.mean",
        anchor="mean: event",
        names=("'event'", "string"),
        hint="numeric",
    ),
    Mistake(
        "where-compares-string-with-number",
        edit("    where: event = 'search'", "    where: platform = 5"),
        path="metrics.searches.where",
        anchor="where: platform = 5",
        names=("'platform = 5'", "string"),
    ),
    Mistake(
        "event-name-never-seen",
        edit("    where: event = 'signup'", "    where: event = 'sign_up'"),
        path="metrics.signups_total.where",
        anchor="where: event = 'sign_up'",
        names=("'sign_up'", "no event"),
        hint="did you mean 'signup'?",
    ),
    Mistake(
        "event-name-never-seen-in-a-list",
        edit("    where: event = 'search'", "    where: event IN ('search', 'serch')"),
        path="metrics.searches.where",
        anchor="where: event IN",
        names=("'serch'",),
        hint="did you mean 'search'?",
    ),
    Mistake(
        "conversion-event-never-seen",
        edit("conversion: {event: play,", "conversion: {event: plays,"),
        path="metrics.activation.conversion.event",
        anchor="event: plays,",
        names=("'plays'",),
        hint="did you mean 'play'?",
    ),
]


@pytest.mark.parametrize("mistake", GALLERY, ids=[m.id for m in GALLERY])
def test_gallery(mistake: Mistake, write_project: Callable[[str], Path]) -> None:
    project_file = write_project(mistake.text)
    error = load_error(project_file, validate=mistake.validate)

    listing = "\n".join(str(p) for p in error.problems)
    assert len(error.problems) == 1, f"one mistake should give one problem, got:\n{listing}"
    problem = only_problem(error, mistake.path)

    line, column = position(mistake.text, mistake.anchor)
    assert (problem.line, problem.column) == (line, column), str(problem)
    assert Path(problem.file).resolve() == project_file.resolve()
    for name in mistake.names:
        assert name in problem.message, str(problem)
    assert mistake.hint in problem.hint, str(problem)
    assert "Traceback" not in str(problem)
    assert str(problem).startswith(f"{problem.file}:{line}:")


def test_gallery_is_large_and_distinct() -> None:
    assert len(GALLERY) >= 20
    assert len({m.id for m in GALLERY}) == len(GALLERY)
    assert len({m.text for m in GALLERY}) == len(GALLERY)


def test_problem_text_reads_file_line_column_path_message_hint(
    write_project: Callable[[str], Path],
) -> None:
    text = edit("    where: event = 'search'", "    where: evnt = 'search'")
    project_file = write_project(text)
    problem = only_problem(load_error(project_file), "metrics.searches.where")
    line, column = position(text, "where: evnt")
    assert str(problem) == (
        f"{problem.file}:{line}:{column}: metrics.searches.where: "
        "unknown column 'evnt' (did you mean 'event'?)"
    )
    error = load_error(project_file)
    assert isinstance(error, CynosureError)
    assert isinstance(error, ValueError)
    assert str(problem) in str(error)


def test_several_mistakes_are_reported_together_sorted_by_line(
    write_project: Callable[[str], Path],
) -> None:
    text = BASE
    wanted = {  # path -> anchor of the line it must be reported at
        "timezone": "timezone: Mars/Olympus",
        "metrics.hours_per_listener.ratio": "ratio: [hours, listener]",
        "metrics.revenue.wher": "wher: x",
        "metrics.searches.where": "where: sleep(1)",
        "north_star": "north_star: hour",
        "tree.hours_per_listener": "[plays, serches]",
        "interventions.0.segment.plattform": "plattform",
    }
    for old, new in [
        ("timezone: UTC", "timezone: Mars/Olympus"),
        ("ratio: [hours, listeners]", "ratio: [hours, listener]"),
        ("    sum: amount\n", "    sum: amount\n    wher: x\n"),
        ("    where: event = 'search'", "    where: sleep(1) = 0"),
        ("north_star: hours", "north_star: hour"),
        ("[plays, searches]", "[plays, serches]"),
        ("segment: {platform: ios}", "segment: {plattform: ios}"),
    ]:
        text = edit(old, new, text)
    error = load_error(write_project(text))

    assert {p.path for p in error.problems} == set(wanted)
    for path, anchor in wanted.items():
        assert only_problem(error, path).line == position(text, anchor)[0]
    lines = [p.line or 0 for p in error.problems]
    assert lines == sorted(lines)
    assert str(error).startswith(f"{len(wanted)} problems in the project")


def test_several_mistakes_found_in_the_data_are_reported_together(
    write_project: Callable[[str], Path],
) -> None:
    text = BASE
    for old, new in [
        ("  key: user_id", "  key: userid"),
        ("    sum: amount", "    sum: country"),
        ("    where: event = 'signup'", "    where: event = 'sign_up'"),
    ]:
        text = edit(old, new, text)
    error = load_error(write_project(text))
    paths = [p.path for p in error.problems]
    assert paths == ["entities.key", "metrics.revenue.sum", "metrics.signups_total.where"]
    lines = [p.line or 0 for p in error.problems]
    assert lines == sorted(lines)


def test_missing_project_file(tmp_path: Path) -> None:
    error = load_error(tmp_path / "nowhere" / "cynosure.yml")
    [problem] = error.problems
    assert "no project file" in problem.message
    assert "cynosure demo" in problem.hint


def test_a_directory_means_its_cynosure_yml(write_project: Callable[[str], Path]) -> None:
    text = edit("north_star: hours", "north_star: hour")
    project_file = write_project(text)
    problem = only_problem(load_error(project_file.parent), "north_star")
    assert problem.line == position(text, "north_star: hour")[0]


# -- known shortcomings: the behaviour we want ----------------------------------------------------


@pytest.mark.xfail(
    strict=True,
    reason="an impossible date (2027-13-01) escapes PyYAML's timestamp constructor in "
    "yamlmarks._scalar as a bare ValueError (a traceback in the CLI), not a located Problem",
)
@pytest.mark.parametrize(
    ("old", "new", "path", "anchor"),
    [
        (
            "outcomes: [revenue]\n",
            "outcomes: [revenue]\ntargets:\n  - {metric: revenue, value: 100, by: 2027-13-01}\n",
            "targets.0.by",
            "by: 2027-13-01",
        ),
        ("date: 2026-02-01", "date: 2026-02-30", "interventions.0.date", "date: 2026-02-30"),
    ],
    ids=["target-by-month-13", "intervention-february-30"],
)
def test_impossible_date_is_a_located_problem(
    old: str, new: str, path: str, anchor: str, write_project: Callable[[str], Path]
) -> None:
    text = edit(old, new)
    problem = only_problem(load_error(write_project(text)), path)
    assert problem.line == position(text, anchor)[0]


@pytest.mark.xfail(
    strict=True,
    reason="a YAML merge key (<<: *anchor) raises a raw yaml ConstructorError from "
    "yamlmarks._scalar: a traceback instead of support or a located 'not supported' problem",
)
def test_yaml_merge_key_is_supported_or_reported(write_project: Callable[[str], Path]) -> None:
    text = edit(
        "  plays:\n    count: true\n    where: event = 'play'\n",
        "  plays: &play_count\n    count: true\n    where: event = 'play'\n"
        "  plays_again:\n    <<: *play_count\n",
    )
    try:
        Project.load(write_project(text)).close()
    except ProjectError as error:
        [problem] = error.problems
        assert problem.line == position(text, "<<: *play_count")[0]
        assert "<<" in problem.message


@pytest.mark.xfail(
    strict=True,
    reason="a YAML key that is a list ([a, b]: 1) raises TypeError (unhashable type: 'list') "
    "in yamlmarks._walk instead of a located problem",
)
def test_non_scalar_key_is_a_located_problem(write_project: Callable[[str], Path]) -> None:
    text = edit("outcomes: [revenue]\n", "outcomes: [revenue]\n[a, b]: 1\n")
    [problem] = load_error(write_project(text)).problems
    assert problem.line == position(text, "[a, b]: 1")[0]


@pytest.mark.xfail(
    strict=True,
    reason="a warehouse URL that cannot be opened raises DataError from Project.load with no "
    "file:line; it should be a ProjectError problem located at `warehouse`",
)
def test_unknown_warehouse_is_a_located_problem(write_project: Callable[[str], Path]) -> None:
    text = edit('warehouse: "duckdb://"', 'warehouse: "duckbd://"')
    problem = only_problem(load_error(write_project(text)), "warehouse")
    assert problem.line == position(text, "warehouse:")[0]
    assert "duckbd" in problem.message


@pytest.mark.xfail(
    strict=True,
    reason="mistakes found against the data (an unknown event name) are not reported when "
    "the file also has a schema mistake: parse_spec raises before check_data runs",
)
def test_schema_and_data_mistakes_are_reported_together(
    write_project: Callable[[str], Path],
) -> None:
    text = edit("    where: event = 'signup'", "    where: event = 'sign_up'")
    text = edit("    sum: amount\n", "    sum: amount\n    wher: x\n", text)
    error = load_error(write_project(text))
    assert {p.path for p in error.problems} == {
        "metrics.revenue.wher",
        "metrics.signups_total.where",
    }


@pytest.mark.xfail(
    strict=True,
    reason="an unclosed '[' is reported on the next line ('expected , or ]') without saying "
    "where the sequence was opened: PyYAML's context mark is dropped",
)
def test_unclosed_bracket_points_at_its_opening_line(
    write_project: Callable[[str], Path],
) -> None:
    text = edit("week_start: monday", "week_start: [monday")
    [problem] = load_error(write_project(text)).problems
    opened = position(text, "week_start: [monday")[0]
    assert problem.line == opened or f"line {opened}" in problem.message, str(problem)


@pytest.mark.xfail(
    strict=True,
    reason="an unterminated double quote is reported four lines below, at the next '\"', "
    "with only 'expected <block end>, but found <scalar>': nothing points at the opening quote",
)
def test_unterminated_quote_points_near_its_opening_line(
    write_project: Callable[[str], Path],
) -> None:
    text = edit("    where: event = 'search'", "    where: \"event = 'search'")
    [problem] = load_error(write_project(text)).problems
    opened = position(text, "where: \"event = 'search'")[0]
    mentioned = {problem.line} | {
        n for n in (opened - 1, opened) if f"line {n}" in problem.message
    }
    assert mentioned & {opened - 1, opened}, str(problem)


@pytest.mark.xfail(
    strict=True,
    reason='`event = "search"` (double quotes make an identifier in SQL) says only '
    "\"unknown column 'search'\" and lists the columns; it should say strings take single quotes",
)
def test_double_quoted_string_in_where_hints_at_single_quotes(
    write_project: Callable[[str], Path],
) -> None:
    text = edit("    where: event = 'search'", '    where: event = "search"')
    problem = only_problem(load_error(write_project(text)), "metrics.searches.where")
    assert "'search'" in problem.message
    assert "single quote" in (problem.message + problem.hint)


@pytest.mark.xfail(
    strict=True,
    reason="a `where` that does not parse leaks sqlglot internals: \"Required keyword: "
    "'expression' missing for <class 'sqlglot.expressions.And'>. Line 1, Col: 20.\"",
)
def test_unparsable_where_is_described_in_user_terms(
    write_project: Callable[[str], Path],
) -> None:
    text = edit("    where: event = 'search'", "    where: event = 'search' AND")
    problem = only_problem(load_error(write_project(text)), "metrics.searches.where")
    assert problem.line == position(text, "where: event = 'search' AND")[0]
    assert "AND" in problem.message
    assert "sqlglot" not in problem.message
    assert "<class" not in problem.message


@pytest.mark.xfail(
    strict=True,
    reason="a segment value that is a list gives four problems at one path (one per member "
    "of pydantic's str|int|float|bool union) instead of one",
)
def test_segment_value_list_is_one_problem(write_project: Callable[[str], Path]) -> None:
    text = edit("segment: {platform: ios}", "segment: {platform: [ios, web]}")
    error = load_error(write_project(text))
    assert len(error.problems) == 1, "\n".join(str(p) for p in error.problems)


@pytest.mark.xfail(
    strict=True,
    reason="a section of the wrong shape names pydantic's internal classes: 'input should be "
    "a valid dictionary or instance of MetricDef / EventsConfig', and says nothing of the form",
)
@pytest.mark.parametrize(
    ("old", "new", "path", "internal"),
    [
        ("  revenue:\n    sum: amount\n", "  revenue: sum amount\n", "metrics.revenue", "MetricDef"),
        (EVENTS_BLOCK, "events: events.parquet\n", "events", "EventsConfig"),
    ],
    ids=["metric-is-a-string", "events-is-a-string"],
)
def test_section_of_wrong_shape_is_explained(
    old: str, new: str, path: str, internal: str, write_project: Callable[[str], Path]
) -> None:
    problem = only_problem(load_error(write_project(edit(old, new))), path)
    assert internal not in problem.message
    assert "mapping" in problem.message + problem.hint or "source:" in problem.hint


@pytest.mark.xfail(
    strict=True,
    reason="`ratio: hours / listeners` says only 'input should be a valid list': it should "
    "show the form ratio: [numerator, denominator]",
)
def test_ratio_written_as_division_shows_the_form(write_project: Callable[[str], Path]) -> None:
    text = edit("ratio: [hours, listeners]", "ratio: hours / listeners")
    problem = only_problem(load_error(write_project(text)), "metrics.hours_per_listener.ratio")
    assert "[hours, listeners]" in problem.message + problem.hint


@pytest.mark.xfail(
    strict=True,
    reason="an invalid metric name cascades: outcomes then 'the metric revenue is not defined "
    "(did you mean my-revenue?)', suggesting the very name that was rejected",
)
def test_invalid_metric_name_is_one_problem(write_project: Callable[[str], Path]) -> None:
    text = edit("  revenue:\n", "  my-revenue:\n")
    error = load_error(write_project(text))
    assert [p.path for p in error.problems] == ["metrics.my-revenue"], str(error)


@pytest.mark.xfail(
    strict=True,
    reason="an unknown time zone with no close match lists 12 zones starting with "
    "Africa/Abidjan: did_you_mean never returns '', so the 'use an IANA name such as "
    "Europe/Berlin' fallback in checks.check_settings is dead code",
)
def test_unknown_time_zone_without_close_match_gives_an_example(
    write_project: Callable[[str], Path],
) -> None:
    text = edit("timezone: UTC", "timezone: Mars/Olympus")
    problem = only_problem(load_error(write_project(text)), "timezone")
    assert "Africa/Abidjan" not in problem.hint
    assert "IANA" in problem.hint or "Europe/" in problem.hint
