"""Checks of a project against its data: columns exist with usable types, event names exist."""

from __future__ import annotations

import re
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from cynosure.engine.dialects import FILE_COLUMN, dialect_of
from cynosure.engine.sources import Source, resolve
from cynosure.errors import DataError, Problem
from cynosure.metrics.expressions import (
    ExpressionError,
    Parsed,
    compile_expr,
    did_you_mean,
    literal_values,
    parse,
)
from cynosure.project.load import Spec

NAMES_CACHE = "cynosure_file_event_names"


def check_data(spec: Spec, con: BaseBackend) -> tuple[list[Problem], Source | None, Source | None]:
    """Every problem between the project and its data; also the resolved sources."""
    problems: list[Problem] = []
    model = spec.model
    try:
        events_source = resolve(model.events.source, spec.base_dir, con)
        events = events_source.open(con)
    except DataError as exc:
        return [spec.problem(("events", "source"), exc.message, exc.hint)], None, None
    columns = dict(events.schema().items())
    for key in ("entity", "time", "name"):
        column = getattr(model.events, key)
        if column not in columns:
            problems.append(
                spec.problem(
                    ("events", key),
                    f"the events have no column '{column}'",
                    did_you_mean(column, columns),
                )
            )
    for key in ("dimensions", "properties"):
        for index, column in enumerate(getattr(model.events, key)):
            if column not in columns:
                problems.append(
                    spec.problem(
                        ("events", key, index),
                        f"the events have no column '{column}'",
                        did_you_mean(column, columns),
                    )
                )
    time_type = columns.get(model.events.time)
    if time_type is not None and not (
        time_type.is_timestamp() or time_type.is_date() or time_type.is_string()
    ):
        problems.append(
            spec.problem(
                ("events", "time"), f"'{model.events.time}' holds {time_type}, not timestamps"
            )
        )
    if problems:
        return problems, events_source, None
    problems += _check_expressions(spec, events)
    problems += _check_event_names(spec, con, events_source, events)
    entities_source = None
    if model.entities is not None:
        try:
            entities_source = resolve(model.entities.source, spec.base_dir, con)
            entity_columns = entities_source.open(con).columns
        except DataError as exc:
            problems.append(spec.problem(("entities", "source"), exc.message, exc.hint))
        else:
            for key in ("key", "created"):
                column = getattr(model.entities, key)
                if column is not None and column not in entity_columns:
                    problems.append(
                        spec.problem(
                            ("entities", key),
                            f"the entities table has no column '{column}'",
                            did_you_mean(column, entity_columns),
                        )
                    )
    return problems, events_source, entities_source


def _check_expressions(spec: Spec, events: ir.Table) -> list[Problem]:
    """Compile every expression against the real columns to catch type mistakes."""
    problems = []
    columns = spec.model.events.columns()
    for name, metric in spec.model.metrics.items():
        for aggregate in ("sum", "mean"):
            text = getattr(metric, aggregate)
            if text is None:
                continue
            parsed = _parsed(text, columns, boolean=False)
            if parsed is None:
                continue
            try:
                value = compile_expr(parsed, events)
                if not value.type().is_numeric():
                    raise TypeError(f"it gives {value.type()}, not a number")
            except Exception as exc:  # Ibis type errors: report them in the user's terms
                problems.append(
                    spec.problem(
                        ("metrics", name, aggregate),
                        f"cannot compute '{text}': {_first_line(exc)}",
                        "sum and mean need numeric properties",
                    )
                )
    for path, text in _all_filters(spec):
        condition = _parsed(text, columns, boolean=True)
        if condition is None:
            continue
        try:
            compile_expr(condition, events)
        except Exception as exc:
            problems.append(spec.problem(path, f"cannot evaluate '{text}': {_first_line(exc)}"))
    return problems


def _all_filters(spec: Spec) -> list[tuple[tuple[str | int, ...], str]]:
    """Every `where` filter of the project file, with its path."""
    found: list[tuple[tuple[str | int, ...], str]] = [
        (("metrics", name, *key), text)
        for name, metric in spec.model.metrics.items()
        for key, text in _filters(metric)
    ]
    aha = spec.model.aha
    found += [(("aha", "behaviours", name), text) for name, text in aha.behaviours.items()]
    if aha.outcome.where:
        found.append((("aha", "outcome", "where"), aha.outcome.where))
    return found


def _filters(metric: object) -> list[tuple[tuple[str, ...], str]]:
    found: list[tuple[tuple[str, ...], str]] = []
    where = getattr(metric, "where", None)
    if where:
        found.append((("where",), where))
    threshold = getattr(metric, "threshold", None)
    if threshold is not None and threshold.where:
        found.append((("threshold", "where"), threshold.where))
    return found


def _parsed(text: str, columns: list[str], *, boolean: bool) -> Parsed | None:
    """The parsed expression, or None when it is wrong (already reported by the loader)."""
    try:
        return parse(text, columns, boolean=boolean)
    except ExpressionError:
        return None


INCOMPARABLE = re.compile(r"Arguments (.+?):(\w+) and (.+?):(\w+) are not comparable")
TYPE_WORDS = {"string": "text", "boolean": "true/false", "date": "a date"}


def _first_line(exc: Exception) -> str:
    """The error in the user's terms (Ibis names types and literals its own way)."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    match = INCOMPARABLE.search(text)
    if match:
        left, left_type, right, right_type = match.groups()
        right = re.sub(r"^Literal\((.*)\)$", r"\1", right)

        def word(kind: str) -> str:
            return TYPE_WORDS.get(kind, "a number" if kind[:3] in ("int", "flo", "dec") else kind)

        return (
            f"{left} holds {word(left_type)} but is compared with {right} "
            f"({word(right_type)}); quote text values like '{right}'"
        )
    return text


def _check_event_names(
    spec: Spec, con: BaseBackend, source: Source, events: ir.Table
) -> list[Problem]:
    """Event names in filters and conversions that never occur in the data."""
    name_column = spec.model.events.name
    columns = spec.model.events.columns()
    wanted: list[tuple[tuple[str | int, ...], str]] = []
    for path, text in _all_filters(spec):
        parsed = _parsed(text, columns, boolean=True)
        for value, _ in literal_values(parsed, name_column) if parsed else []:
            wanted.append((path, value))
    for name, metric in spec.model.metrics.items():
        if metric.conversion is not None:
            wanted.append((("metrics", name, "conversion", "event"), metric.conversion.event))
    wanted += [(("aha", "exclude", i), value) for i, value in enumerate(spec.model.aha.exclude)]
    # An event declared in the tracking plan is expected even before it first arrives (a
    # project fed by the collector starts with no events); any other unseen name is a typo.
    declared = set(spec.model.tracking_plan.events)
    wanted = [(path, value) for path, value in wanted if value not in declared]
    if not wanted:
        return []
    seen = seen_event_names(con, source, events, name_column)
    return [
        spec.problem(path, f"no event is named '{value}' in the data", _unseen_hint(value, seen))
        for path, value in wanted
        if value not in seen
    ]


def _unseen_hint(value: str, seen: set[str]) -> str:
    close = did_you_mean(value, seen)
    if close.startswith("did you mean"):
        return close
    expect = f"if it has not arrived yet, declare it under tracking_plan.events.{value}"
    return f"{close}; {expect}" if close else expect


def seen_event_names(con: BaseBackend, source: Source, events: ir.Table, column: str) -> set[str]:
    """Distinct event names, cached in the warehouse per source file.

    A file is read again only when it is new or its size or modification time changed, so a
    new day's file costs a scan of that file alone.
    """
    if source.is_table:
        return _distinct(con, events, column)
    units = {u.name: u for u in source.units()}
    cached = pd.DataFrame({"unit": [], "size": [], "mtime_ns": [], "name": []})
    if NAMES_CACHE in con.list_tables():
        table = con.table(NAMES_CACHE)
        cached = con.execute(table.filter(table["column"] == column))
    records: list[dict[str, Any]] = cached.to_dict("records")  # type: ignore[assignment]

    def current(record: dict[str, Any]) -> bool:
        unit = units.get(record["unit"])
        return unit is not None and (unit.size, unit.mtime_ns) == (
            int(record["size"]),
            int(record["mtime_ns"]),
        )

    kept = [record for record in records if current(record)]
    names = {r["name"] for r in kept if r["name"] is not None and not pd.isna(r["name"])}
    missing = sorted(set(units) - {record["unit"] for record in kept})
    rows = []
    if missing:
        table = source.open(con, missing, file_column=True)
        found = con.execute(
            table.select(unit=table[FILE_COLUMN], name=table[column].cast("string")).distinct()
        )
        found["unit"] = dialect_of(con).unit_names(found["unit"], missing)
        rows = [
            (unit, units[unit].size, units[unit].mtime_ns, name)
            for unit, name in zip(found.unit, found.name, strict=True)
            if name is not None and not pd.isna(name)
        ]
        # A file with no named events still gets a row, so it is not read again.
        rows += [
            (u, units[u].size, units[u].mtime_ns, None) for u in missing if u not in set(found.unit)
        ]
        _store_names(con, column, missing, rows)
    return names | {name for *_, name in rows if name is not None}


def _store_names(
    con: BaseBackend, column: str, units: list[str], rows: list[tuple[str, int, int, str | None]]
) -> None:
    frame = pd.DataFrame(rows, columns=["unit", "size", "mtime_ns", "name"]).assign(column=column)
    frame = frame.astype(
        {
            "unit": "string",
            "size": "int64",
            "mtime_ns": "int64",
            "name": "string",
            "column": "string",
        }
    )
    dialect = dialect_of(con)
    if NAMES_CACHE not in con.list_tables():
        dialect.create_table(
            con,
            NAMES_CACHE,
            ibis.schema(
                {
                    "unit": "string",
                    "size": "int64",
                    "mtime_ns": "int64",
                    "name": "string",
                    "column": "string",
                }
            ),
        )
    dialect.delete_rows(con, NAMES_CACHE, {"unit": units})
    if len(frame):
        columns = ["unit", "size", "mtime_ns", "name", "column"]
        dialect.append(con, NAMES_CACHE, frame[columns])


def _distinct(con: BaseBackend, events: ir.Table, column: str) -> set[str]:
    values = con.execute(events.select(name=events[column].cast("string")).distinct())
    return set(values["name"].dropna())
