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
    hits = [
        (n, line.index(anchor) + 1) for n, line in enumerate(text.splitlines(), 1) if anchor in line
    ]
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
    # -- YAML itself ------------------------------------------------------------------------------
    Mistake(
        "yaml-tab-indent",
        edit("  listeners:\n    users: true\n", "  listeners:\n\tusers: true\n"),
        path="",
        anchor="\tusers",
        names=("not valid YAML", "tab"),
        hint="spaces",
    ),
    Mistake(
        "yaml-colon-in-where",
        edit("    where: event = 'search'", "    where: event: 'search'"),
        path="",
        anchor=": 'search'",
        names=("not valid YAML",),
        hint="quote a value",
    ),
    Mistake(
        "yaml-list-as-key",
        edit("outcomes: [revenue]\n", "outcomes: [revenue]\n[a, b]: 1\n"),
        path="",
        anchor="[a, b]: 1",
        names=("not valid YAML", "key"),
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
    # -- the schema -------------------------------------------------------------------------------
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
        names=("two metrics",),
    ),
    Mistake(
        "intervention-not-a-date",
        edit("date: 2026-02-01", "date: soon"),
        path="interventions.0.date",
        anchor="date: soon",
        names=("date",),
    ),
    Mistake(
        "target-date-month-13",
        edit(
            "outcomes: [revenue]\n",
            "outcomes: [revenue]\ntargets:\n  - {metric: revenue, value: 100, by: 2027-13-01}\n",
        ),
        path="targets.0.by",
        anchor="by: 2027-13-01",
        names=("date", "'2027-13-01'"),
    ),
    Mistake(
        "intervention-february-30",
        edit("date: 2026-02-01", "date: 2026-02-30"),
        path="interventions.0.date",
        anchor="date: 2026-02-30",
        names=("date", "'2026-02-30'"),
    ),
    Mistake(
        "segment-value-is-a-list",
        edit("segment: {platform: ios}", "segment: {platform: [ios, web]}"),
        path="interventions.0.segment.platform",
        anchor="platform: [ios, web]",
        names=("['ios', 'web']",),
    ),
    Mistake(
        "metric-is-a-string",
        edit("  revenue:\n    sum: amount\n", "  revenue: sum amount\n"),
        path="metrics.revenue",
        anchor="revenue: sum amount",
        names=("mapping", "'sum amount'"),
        hint="users: true",
    ),
    Mistake(
        "events-is-a-string",
        edit(EVENTS_BLOCK, "events: events.parquet\n"),
        path="events",
        anchor="events: events.parquet",
        names=("mapping", "'events.parquet'"),
        hint="source:",
    ),
    Mistake(
        "ratio-written-as-a-division",
        edit("ratio: [hours, listeners]", "ratio: hours / listeners"),
        path="metrics.hours_per_listener.ratio",
        anchor="ratio: hours / listeners",
        names=("two metrics", "'hours / listeners'"),
        hint="ratio: [hours, listeners]",
    ),
    # -- settings ---------------------------------------------------------------------------------
    Mistake(
        "unknown-time-zone",
        edit("timezone: UTC", "timezone: Europe/Berln"),
        path="timezone",
        anchor="timezone: Europe/Berln",
        names=("unknown time zone 'Europe/Berln'",),
        hint="did you mean 'Europe/Berlin'?",
    ),
    Mistake(
        "unknown-time-zone-far-from-any",
        edit("timezone: UTC", "timezone: Mars/Olympus"),
        path="timezone",
        anchor="timezone: Mars/Olympus",
        names=("'Mars/Olympus'",),
        hint="IANA",
    ),
    Mistake(
        "warehouse-cannot-be-opened",
        edit('warehouse: "duckdb://"', 'warehouse: "duckbd://"'),
        path="warehouse",
        anchor='warehouse: "duckbd://"',
        names=("'duckbd://'",),
    ),
    Mistake(
        "dimension-also-a-property",
        edit("dimensions: [country, platform]", "dimensions: [country, platform, duration_s]"),
        path="events.dimensions.2",
        anchor="duration_s]",
        names=("'duration_s'", "dimension", "property"),
    ),
    # -- metric kinds and modifiers ---------------------------------------------------------------
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
        edit(
            "    where: event = 'search'\n", "    where: event = 'search'\n    lifecycle: churned\n"
        ),
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
    # -- filters and expressions ------------------------------------------------------------------
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
        anchor='where: "plaform',
        names=("unknown column 'plaform'",),
        hint="did you mean 'platform'?",
    ),
    Mistake(
        "double-quoted-string-in-where",
        edit("    where: event = 'search'", '    where: event = "search"'),
        path="metrics.searches.where",
        anchor='where: event = "search"',
        names=('"search"',),
        hint="single quotes",
    ),
    Mistake(
        "unparsable-where",
        edit("    where: event = 'search'", "    where: event = 'search' AND"),
        path="metrics.searches.where",
        anchor="where: event = 'search' AND",
        names=("event = 'search' AND", "column 20"),
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
    # -- references between metrics ---------------------------------------------------------------
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
    # -- the tree ---------------------------------------------------------------------------------
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
    # -- the aha: section --------------------------------------------------------------------------
    Mistake(
        "aha-window-overlaps-the-outcome",
        edit("outcomes: [revenue]\n", "outcomes: [revenue]\naha:\n  windows: [1, 7, 30]\n"),
        path="aha.windows",
        anchor="windows: [1, 7, 30]",
        names=("30 days", "overlaps the outcome", "day 28"),
        hint="before the outcome",
    ),
    Mistake(
        "aha-default-window-overlaps-an-early-outcome",
        edit("outcomes: [revenue]\n", "outcomes: [revenue]\naha:\n  outcome: {after: 7d}\n"),
        path="aha.windows",
        anchor="aha:",
        names=("14 days", "overlaps the outcome", "day 7"),
    ),
    Mistake(
        "aha-unknown-column-in-behaviour",
        edit(
            "outcomes: [revenue]\n",
            "outcomes: [revenue]\naha:\n  behaviours:\n"
            "    long_play: event = 'play' and duraton_s >= 600\n",
        ),
        path="aha.behaviours.long_play",
        anchor="long_play: event",
        names=("unknown column 'duraton_s'",),
        hint="did you mean 'duration_s'?",
    ),
    Mistake(
        "aha-behaviour-not-a-condition",
        edit(
            "outcomes: [revenue]\n",
            "outcomes: [revenue]\naha:\n  behaviours:\n    listened: duration_s + 1\n",
        ),
        path="aha.behaviours.listened",
        anchor="listened: duration_s",
        names=("'duration_s + 1'", "not a condition"),
    ),
    Mistake(
        "aha-bad-behaviour-name",
        edit(
            "outcomes: [revenue]\n",
            "outcomes: [revenue]\naha:\n  behaviours:\n    long-play: event = 'play'\n",
        ),
        path="aha.behaviours.long-play",
        anchor="long-play:",
        names=("'long-play'", "behaviour name"),
        hint="letters, digits and _",
    ),
    Mistake(
        "aha-misspelled-key",
        edit("outcomes: [revenue]\n", "outcomes: [revenue]\naha:\n  treshold: [1, 2, 3]\n"),
        path="aha.treshold",
        anchor="treshold:",
        names=("unknown key 'treshold'",),
        hint="did you mean 'thresholds'?",
    ),
    Mistake(
        "aha-fdr-above-one",
        edit("outcomes: [revenue]\n", "outcomes: [revenue]\naha:\n  fdr: 2\n"),
        path="aha.fdr",
        anchor="fdr: 2",
        names=("less than 1",),
    ),
    Mistake(
        "aha-threshold-zero",
        edit("outcomes: [revenue]\n", "outcomes: [revenue]\naha:\n  thresholds: [0, 1, 2]\n"),
        path="aha.thresholds.0",
        anchor="0, 1, 2]",
        names=("1 or more", "got 0"),
    ),
    Mistake(
        "aha-outcome-unit-typo",
        edit("outcomes: [revenue]\n", "outcomes: [revenue]\naha:\n  outcome: {unit: day}\n"),
        path="aha.outcome.unit",
        anchor="unit: day",
        names=("'day'", "events"),
        hint="did you mean 'days'?",
    ),
    Mistake(
        "aha-outcome-after-in-words",
        edit(
            "outcomes: [revenue]\n", "outcomes: [revenue]\naha:\n  outcome:\n    after: 4 weeks\n"
        ),
        path="aha.outcome.after",
        anchor="after: 4 weeks",
        names=("'4 weeks'", "7d"),
    ),
    # -- against the data -------------------------------------------------------------------------
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
        names=("'platform = 5'", "text", "a number"),
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
    Mistake(
        "aha-excluded-event-never-seen",
        edit("outcomes: [revenue]\n", "outcomes: [revenue]\naha:\n  exclude: [serch]\n"),
        path="aha.exclude.0",
        anchor="serch]",
        names=("'serch'", "no event"),
        hint="did you mean 'search'?",
    ),
    Mistake(
        "aha-outcome-event-never-seen",
        edit(
            "outcomes: [revenue]\n",
            "outcomes: [revenue]\naha:\n  outcome: {where: \"event = 'pay'\"}\n",
        ),
        path="aha.outcome.where",
        anchor="where: \"event = 'pay'\"",
        names=("'pay'", "no event"),
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


def test_schema_and_data_mistakes_are_reported_together(
    write_project: Callable[[str], Path],
) -> None:
    text = edit("    where: event = 'signup'", "    where: event = 'sign_up'")
    text = edit("    sum: amount\n", "    sum: amount\n    wher: x\n", text)
    error = load_error(write_project(text))
    assert [p.path for p in error.problems] == [
        "metrics.revenue.wher",
        "metrics.signups_total.where",
    ]


def test_unclosed_bracket_names_where_it_was_opened(write_project: Callable[[str], Path]) -> None:
    # PyYAML only notices on the next line; the message must lead back to the '['.
    text = edit("week_start: monday", "week_start: [monday")
    [problem] = load_error(write_project(text)).problems
    line, column = position(text, "[monday")
    assert problem.line in (line, line + 1), str(problem)
    assert problem.line == line or f"line {line}, column {column}" in problem.message


def test_unterminated_quote_names_where_it_was_opened(
    write_project: Callable[[str], Path],
) -> None:
    # The quoted scalar runs on to the next '"' several lines below: name the opening line.
    text = edit("    where: event = 'search'", "    where: \"event = 'search'")
    [problem] = load_error(write_project(text)).problems
    line = position(text, "where: \"event = 'search'")[0]
    assert problem.line == line or f"line {line}" in problem.message, str(problem)


def test_yaml_merge_keys_are_followed(write_project: Callable[[str], Path]) -> None:
    text = edit(
        "  plays:\n    count: true\n    where: event = 'play'\n",
        "  plays: &play_count\n    count: true\n    where: event = 'play'\n"
        "  plays_again:\n    <<: *play_count\n",
    )
    project = Project.load(write_project(text))
    try:
        result = project.metrics("month", names=["plays", "plays_again"])
        assert result.metrics["plays_again"] == result.metrics["plays"]
    finally:
        project.close()


# -- known shortcomings: the behaviour we want ----------------------------------------------------


@pytest.mark.parametrize(
    ("new", "path", "anchor"),
    [("  my-revenue:\n", "metrics.my-revenue", "my-revenue:"), ("  2024:\n", "metrics", "2024:")],
    ids=["dash-in-name", "number-as-name"],
)
def test_invalid_metric_name_is_reported_at_the_name(
    new: str, path: str, anchor: str, write_project: Callable[[str], Path]
) -> None:
    # Renaming `revenue` breaks `outcomes: [revenue]` for real: that is a second problem, but
    # it must not suggest the name that was just rejected.
    text = edit("  revenue:\n", new)
    error = load_error(write_project(text))
    first, *rest = error.problems
    assert (first.path, first.line) == (path, position(text, anchor)[0]), str(error)
    assert [p.path for p in rest] == ["outcomes.0"], str(error)
    assert anchor.rstrip(":") not in rest[0].hint


@pytest.mark.parametrize(
    ("old", "new", "anchor"),
    [
        ("  revenue:\n", "  2024:\n", "2024:"),
        ("outcomes: [revenue]\n", "outcomes: [revenue]\n~: 1\n", "~: 1"),
    ],
    ids=["number-key", "null-key"],
)
def test_key_that_is_not_text_is_located_at_itself(
    old: str, new: str, anchor: str, write_project: Callable[[str], Path]
) -> None:
    text = edit(old, new)
    error = load_error(write_project(text))
    line = position(text, anchor)[0]
    assert error.problems[0].line == line, str(error)
    assert "must be a name" in error.problems[0].message
    assert "[key]" not in error.problems[0].path


def test_typo_in_required_key_is_one_problem(write_project: Callable[[str], Path]) -> None:
    text = edit("metrics:\n", "metricz:\n")
    [problem] = load_error(write_project(text)).problems
    assert problem.line == position(text, "metricz:")[0]
    assert problem.hint == "did you mean 'metrics'?"


def test_empty_project_file_is_one_located_problem(write_project: Callable[[str], Path]) -> None:
    [problem] = load_error(write_project("")).problems
    assert problem.line == 1
    assert "empty" in problem.message


def test_bad_indentation_says_so(write_project: Callable[[str], Path]) -> None:
    text = edit("  listeners:\n    users: true\n", "  listeners:\n    users: true\n   where: x\n")
    [problem] = load_error(write_project(text)).problems
    assert problem.line == position(text, "   where: x")[0]
    assert "indent" in problem.message + problem.hint
    assert "<block" not in problem.message


def test_function_with_too_many_arguments_says_so(write_project: Callable[[str], Path]) -> None:
    text = edit("    where: event = 'search'", "    where: lower(event, 1) = 'search'")
    problem = only_problem(load_error(write_project(text)), "metrics.searches.where")
    assert "lower" in problem.message
    assert "argument" in problem.message + problem.hint


def test_type_mismatch_in_where_is_described_in_user_terms(
    write_project: Callable[[str], Path],
) -> None:
    text = edit("    where: event = 'search'", "    where: platform = 5")
    problem = only_problem(load_error(write_project(text)), "metrics.searches.where")
    assert "platform" in problem.message
    assert "Literal(" not in problem.message
    assert "int8" not in problem.message


def test_source_without_extension_suggests_the_file(write_project: Callable[[str], Path]) -> None:
    text = edit("source: events.parquet", "source: events")
    problem = only_problem(load_error(write_project(text)), "events.source")
    assert "events.parquet" in problem.hint


def test_ratio_of_one_metric_shows_the_form(write_project: Callable[[str], Path]) -> None:
    text = edit("ratio: [hours, listeners]", "ratio: [hours]")
    problem = only_problem(load_error(write_project(text)), "metrics.hours_per_listener.ratio")
    assert "after validation" not in problem.message
    assert "two metrics" in problem.message + problem.hint


def test_users_false_is_explained_in_yaml_terms(write_project: Callable[[str], Path]) -> None:
    text = edit("  listeners:\n    users: true\n", "  listeners:\n    users: false\n")
    problem = only_problem(load_error(write_project(text)), "metrics.listeners.users")
    assert "True" not in problem.message
    assert "true" in problem.message + problem.hint


def test_every_problem_names_the_file_the_same_way(
    write_project: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = edit("    sum: amount\n", "    sum: amount\n    wher: x\n")
    text = edit("north_star: hours", "north_star: hour", text)
    monkeypatch.chdir(write_project(text).parent)
    error = load_error(Path("cynosure.yml"))
    assert len(error.problems) == 2
    assert len({p.file for p in error.problems}) == 1, str(error)


def test_aha_rate_above_one_says_what_was_given(write_project: Callable[[str], Path]) -> None:
    text = edit("outcomes: [revenue]\n", "outcomes: [revenue]\naha:\n  fdr: 2\n")
    problem = only_problem(load_error(write_project(text)), "aha.fdr")
    assert "got 2" in problem.message


def test_aha_no_windows_is_explained_in_yaml_terms(write_project: Callable[[str], Path]) -> None:
    text = edit("outcomes: [revenue]\n", "outcomes: [revenue]\naha:\n  windows: []\n")
    problem = only_problem(load_error(write_project(text)), "aha.windows")
    assert "after validation" not in problem.message
    assert "at least one" in problem.message + problem.hint
