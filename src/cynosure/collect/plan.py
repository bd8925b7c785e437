"""The tracking plan: what an event must look like to be loaded, and which metrics need it.

Derived from `cynosure.yml`: the events each metric names in its filters, and the properties
its value expressions use (a `sum: duration_s / 3600 where event = 'song_played'` means every
song_played needs a numeric duration_s). Declared in the optional `tracking_plan:` section:
required properties and their types per event, and whether other events are admitted. An
event that breaks the plan is quarantined with the reason, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cynosure.metrics.expressions import ExpressionError, Parsed, literal_values, parse
from cynosure.project.load import Spec

TYPE_WORDS = {"string": "a string", "number": "a number", "integer": "an integer"}


def _parsed(text: str | None, columns: list[str], boolean: bool) -> Parsed | None:
    if not text:
        return None
    try:
        return parse(text, columns, boolean=boolean)
    except ExpressionError:
        return None  # the project loader reports it


def metric_events(spec: Spec) -> dict[str, list[str]]:
    """The event names each metric's filters mention (empty: the metric counts every event)."""
    model = spec.model
    columns, name = model.events.columns(), model.events.name
    found: dict[str, list[str]] = {}
    for metric, definition in model.metrics.items():
        names: set[str] = set()
        filters = [definition.where]
        if definition.threshold is not None:
            filters.append(definition.threshold.where)
        for text in filters:
            parsed = _parsed(text, columns, True)
            if parsed is not None:
                names.update(value for value, _ in literal_values(parsed, name))
        if definition.conversion is not None:
            names.add(definition.conversion.event)
        if definition.kinds() and definition.kinds()[0] not in ("ratio", "formula"):
            found[metric] = sorted(names)
    return found


@dataclass
class TrackingRules:
    """The plan as checks: required properties and types per event."""

    numeric: set[str]
    scalar: set[str]
    required: dict[str, set[str]] = field(default_factory=dict)
    types: dict[str, dict[str, str]] = field(default_factory=dict)
    known_events: set[str] = field(default_factory=set)
    other_events: str = "allow"

    def violations(self, event: str, values: dict[str, Any]) -> list[str]:
        """Why an event breaks the plan (empty when it is fine). `values` are its
        properties (with context fields already merged for dimensions)."""
        problems: list[str] = []
        if self.other_events == "quarantine" and event not in self.known_events:
            problems.append(f"event '{event}' is not in the tracking plan")
        for name in sorted(self.required.get(event, ())):
            if values.get(name) is None:
                problems.append(f"{event}: required property '{name}' is missing")
        declared = self.types.get(event, {})
        for name, value in values.items():
            if value is None:
                continue
            wanted = declared.get(name) or ("number" if name in self.numeric else None)
            if wanted is not None and not _is(value, wanted):
                got = _type_name(value)
                problems.append(f"{event}: property '{name}' must be {_word(wanted)}, not {got}")
            elif name in self.scalar and isinstance(value, (dict, list)):
                problems.append(
                    f"{event}: property '{name}' must be a single value, not {_type_name(value)}"
                )
        return problems


def _word(kind: str) -> str:
    return TYPE_WORDS.get(kind, "true or false" if kind == "boolean" else kind)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an object" if isinstance(value, dict) else "an array"


def _is(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return isinstance(value, (int, float))


def tracking_rules(spec: Spec) -> TrackingRules:
    """The derived plan merged with the declared one."""
    model = spec.model
    columns = model.events.columns()
    rules = TrackingRules(numeric=set(model.events.properties), scalar=set(model.events.dimensions))
    for metric, events in metric_events(spec).items():
        definition = model.metrics[metric]
        rules.known_events.update(events)
        value_text = definition.sum or definition.mean
        value = _parsed(value_text, columns, False)
        needed = (value.columns() & set(model.events.properties)) if value else set()
        for event in events:
            rules.required.setdefault(event, set()).update(needed)
    declared = model.tracking_plan
    rules.other_events = declared.other_events
    for event, planned in declared.events.items():
        rules.known_events.add(event)
        rules.required.setdefault(event, set()).update(planned.required)
        rules.types[event] = dict(planned.properties)
    return rules
