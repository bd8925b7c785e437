"""Turn pydantic's validation errors into located, actionable problems."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from cynosure.errors import Problem
from cynosure.metrics.expressions import did_you_mean
from cynosure.project.model import ProjectModel
from cynosure.project.yamlmarks import Located


def problems_from_validation(exc: ValidationError, located: Located, file: str) -> list[Problem]:
    """One Problem per pydantic error, with the file position of the offending key."""
    problems = []
    for error in exc.errors():
        path = _data_path(error["loc"], located.data)
        line, column = located.where(path)
        dotted = ".".join(str(p) for p in path)
        message, hint = _describe(error, path)
        problems.append(Problem(message, dotted, file, line, column, hint))
    return problems


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
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        got = error.get("input")
        hint = did_you_mean(str(got), _literal_options(expected)) if isinstance(got, str) else ""
        return f"must be one of {expected}; got {got!r}", hint
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
