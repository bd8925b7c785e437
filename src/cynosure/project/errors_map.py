"""Turn pydantic's validation errors into located, actionable problems."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from cynosure.errors import Problem
from cynosure.metrics.expressions import closest, did_you_mean
from cynosure.project.model import ProjectModel
from cynosure.project.yamlmarks import Located


def problems_from_validation(exc: ValidationError, located: Located, file: str) -> list[Problem]:
    """One Problem per offending place, with the file position of the offending key.

    Pydantic reports a value that fits no member of a union once per member; those become one
    problem that names every accepted form.
    """
    grouped: dict[tuple[str | int, ...], list[Any]] = {}
    for error in _merge_typos(exc.errors()):
        grouped.setdefault(_data_path(error["loc"], located.data), []).append(error)
    problems = []
    for path, errors in grouped.items():
        line, column = located.where(path)
        dotted = ".".join(str(p) for p in path)
        if len(errors) > 1 and all(e["type"] in TYPE_NAMES for e in errors):
            forms = " or ".join(dict.fromkeys(TYPE_NAMES[e["type"]] for e in errors))
            message, hint = f"must be {forms}; got {_shown(errors[0].get('input'))}", ""
        else:
            message, hint = _describe(errors[0], path)
        problems.append(Problem(message, dotted, file, line, column, hint))
    return problems


def _merge_typos(errors: list[Any]) -> list[Any]:
    """A required key missing next to an unknown key that is its typo is one mistake, not two."""
    missing = {(e["loc"][:-1], e["loc"][-1]) for e in errors if e["type"] == "missing"}
    merged = set()
    for error in errors:
        if error["type"] == "extra_forbidden":
            parent, key = error["loc"][:-1], str(error["loc"][-1])
            for where, wanted in missing:
                if where == parent and closest(key, [str(wanted)]) is not None:
                    merged.add((where, wanted))
    return [
        e
        for e in errors
        if not (e["type"] == "missing" and (e["loc"][:-1], e["loc"][-1]) in merged)
    ]


TYPE_NAMES = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "date_type": "a date written YYYY-MM-DD",
    "date_from_datetime_parsing": "a date written YYYY-MM-DD",
    "date_parsing": "a date written YYYY-MM-DD",
}
EXAMPLES = {
    "metrics": "e.g. listeners: {users: true, where: \"event = 'song_played'\"}",
    "events": "e.g. events: {source: data/events.parquet, entity: user_id, time: timestamp}",
    "entities": "e.g. entities: {source: data/users.parquet, key: user_id, created: signed_up_at}",
}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _data_path(loc: tuple[Any, ...], data: Any) -> tuple[str | int, ...]:
    """Keep the parts of pydantic's location that exist in the document (drop union tags)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_dict or in_list:
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part not in node:
            path.append(part)  # a missing or unknown key: name it anyway
            node = None
    return tuple(path)


def _describe(error: Any, path: tuple[str | int, ...]) -> tuple[str, str]:
    kind, key = error["type"], str(path[-1]) if path else ""
    if kind == "extra_forbidden":
        allowed = _fields_at(path[:-1])
        return f"unknown key '{key}'", did_you_mean(key, allowed) if allowed else ""
    if kind == "missing":
        return f"'{key}' is required here", ""
    if kind == "literal_error" and error.get("ctx", {}).get("expected") == "True":
        return (
            f"can only be true; got {str(error.get('input')).lower()}",
            f"write {key}: true, or remove it and use another aggregation",
        )
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        got = error.get("input")
        hint = did_you_mean(str(got), _literal_options(expected)) if isinstance(got, str) else ""
        return f"must be one of {expected}; got {got!r}", hint
    if kind in ("model_type", "dict_type"):
        section = str(path[0]) if path else ""
        return (
            f"must be a mapping of keys to values, not {_shown(error.get('input'))}",
            EXAMPLES.get(section, ""),
        )
    if kind == "list_type":
        got = error.get("input")
        if key == "ratio":
            parts = [p.strip() for p in str(got).split("/")] if "/" in str(got) else []
            form = f"[{', '.join(parts)}]" if len(parts) == 2 else "[numerator, denominator]"
            return f"must be a list of two metrics, not {_shown(got)}", f"write ratio: {form}"
        return f"must be a list, e.g. [a, b]; got {_shown(got)}", ""
    if kind in ("too_short", "too_long") and key == "ratio":
        return (
            f"must name two metrics, not {len(error.get('input') or [])}",
            "write ratio: [numerator, denominator]",
        )
    if kind in ("greater_than_equal", "greater_than"):
        bound = error.get("ctx", {}).get("ge", error.get("ctx", {}).get("gt"))
        more = "or more" if kind == "greater_than_equal" else "exclusive"
        return f"must be {bound} {more}; got {_shown(error.get('input'))}", ""
    if kind in ("less_than_equal", "less_than"):
        bound = error.get("ctx", {}).get("le", error.get("ctx", {}).get("lt"))
        limit = f"{bound} or less" if kind == "less_than_equal" else f"less than {bound}"
        return f"must be {limit}; got {_shown(error.get('input'))}", ""
    if kind == "too_short":
        least = error.get("ctx", {}).get("min_length", 1)
        count = "one value" if least == 1 else f"{least} values"
        return (
            f"must list at least {count}; got {_shown(error.get('input'))}",
            "or remove the key to use the default",
        )
    if kind in TYPE_NAMES:
        return f"must be {TYPE_NAMES[kind]}; got {_shown(error.get('input'))}", ""
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return message[0].lower() + message[1:] if message else message, ""


def _literal_options(expected: str) -> list[str]:
    return [part.strip(" '\"") for part in expected.replace(" or ", ",").split(",") if part]


def _fields_at(path: tuple[str | int, ...]) -> list[str]:
    """The keys allowed in the mapping found at `path` of a project file."""
    model: Any = ProjectModel
    for part in path:
        model = _step(model, part)
        if model is None:
            return []
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _step(annotation: Any, part: str | int) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return _unwrap(field.annotation) if field else None
    origin = typing.get_origin(annotation)
    if origin in (dict, list):
        return _unwrap(typing.get_args(annotation)[-1])
    return None


def _unwrap(annotation: Any) -> Any:
    """`X | None` -> X."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, __import__("types").UnionType):
        return _unwrap(args[0]) if len(args) == 1 else annotation
    return annotation
