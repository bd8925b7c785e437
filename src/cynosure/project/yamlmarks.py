"""Read YAML while keeping where each value sits, so errors can say file:line:column."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from cynosure.errors import Problem

Path_ = tuple[str | int, ...]


@dataclass
class Located:
    """A parsed YAML document plus the (line, column) of every key and value (1-based)."""

    data: Any
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    drop: list[tuple[Any, ...]] = field(default_factory=list)

    def where(self, path: Path_) -> tuple[int | None, int | None]:
        """The position of `path`, or of its nearest located ancestor."""
        probe = tuple(path)
        while probe:
            if probe in self.marks:
                return self.marks[probe]
            probe = probe[:-1]
        return self.marks.get((), (None, None))


class _Loader(yaml.SafeLoader):
    """The safe loader, except that an impossible date stays text for the schema to report."""


def _timestamp(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)  # type: ignore[arg-type]
    except ValueError:
        return loader.construct_scalar(node)  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def load_located(text: str, file: str) -> Located:
    """Parse `text`; syntax errors, duplicate keys and odd keys become located problems.

    The text is parsed once: the composed node tree gives the positions and shows what plain
    loading would silently accept, such as a repeated key; it is walked before PyYAML builds the
    data from it (anchors and merge keys included), because building flattens merge keys in
    place.
    """
    located = Located({})
    loader = _Loader(text)  # a SafeLoader subclass: no arbitrary objects
    try:
        root = loader.get_single_node()
        if root is not None:
            located.marks[()] = (root.start_mark.line + 1, root.start_mark.column + 1)
            _walk(root, (), located, file)
            data = loader.construct_document(root)
            located.data = {} if data is None else data
    except yaml.MarkedYAMLError as exc:
        return Located(None, problems=[_syntax_problem(exc, file, text)])
    except (yaml.YAMLError, TypeError) as exc:  # e.g. a list used as a key
        return Located(None, problems=[Problem(f"not valid YAML: {exc}", file=file)])
    finally:
        loader.dispose()
    for path in located.drop:  # keys that are not names: reported once, then left out
        _remove(located.data, path)
    return located


def _remove(data: Any, path: tuple[Any, ...]) -> None:
    *parents, key = path
    for part in parents:
        data = data.get(part) if isinstance(data, dict) else None
    if isinstance(data, dict):
        data.pop(key, None)


def _constructed(node: yaml.ScalarNode) -> Any:
    """The Python value PyYAML gives a scalar key (2024 -> int, ~ -> None)."""
    return _Loader("").construct_object(node)


_STR = "tag:yaml.org,2002:str"
OPENERS = {"flow sequence": "'['", "flow mapping": "'{'", "quoted scalar": "quote"}


def _syntax_problem(exc: yaml.MarkedYAMLError, file: str, text: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
    message = f"not valid YAML: {exc.problem or exc}"
    context = exc.context or ""
    opener = next((name for key, name in OPENERS.items() if key in context), None)
    unclosed = _unbalanced_quote_line(text, line)
    if opener and exc.context_mark is not None:
        opened = exc.context_mark
        message += (
            f"; the {opener} opened at line {opened.line + 1}, column "
            f"{opened.column + 1} is never closed"
        )
    elif unclosed is not None:
        message += f"; the quote opened at line {unclosed} is never closed"
    hint = ""
    problem = str(exc.problem or "")
    if "'\\t'" in problem or "\t" in problem:
        message, hint = "not valid YAML: a tab character", "YAML indents with spaces, not tabs"
    elif (
        opener is None
        and unclosed is None
        and ("<block end>" in problem or "mapping values are not allowed" in problem)
    ):
        message = "not valid YAML: this line is not indented like its neighbours"
        hint = "check its indentation against the lines above; quote a value that contains ': '"
    return Problem(message, file=file, line=line, column=column, hint=hint)


def _unbalanced_quote_line(text: str, before: int | None) -> int | None:
    """The first line (before `before`) with an odd number of double quotes, if any."""
    for number, line in enumerate(text.splitlines()[: before or 0], start=1):
        if line.lstrip().startswith("#"):
            continue
        if line.replace('\\"', "").count('"') % 2:
            return number
    return None


def _walk(node: yaml.Node, path: Path_, located: Located, file: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            pos = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key_node.tag == "tag:yaml.org,2002:merge":
                _walk_merged(value_node, path, located, file)
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR:
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "a list"
                _report(
                    located,
                    file,
                    path,
                    pos,
                    f"a key must be a name (text), not {shown or 'empty'}",
                    "start names with a letter, or quote the key",
                )
                if isinstance(key_node, yaml.ScalarNode):
                    located.drop.append((*path, _constructed(key_node)))
                continue
            key = key_node.value
            child = (*path, key)
            if key in seen:
                _report(
                    located,
                    file,
                    child,
                    pos,
                    f"the key '{key}' appears twice; the later one would silently win",
                    "remove or rename one of them",
                )
            seen.add(key)
            located.marks[child] = pos
            _walk(value_node, child, located, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            located.marks[child] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _walk(item, child, located, file)


def _report(
    located: Located, file: str, path: Path_, pos: tuple[int, int], message: str, hint: str
) -> None:
    located.problems.append(
        Problem(message, ".".join(str(p) for p in path), file, pos[0], pos[1], hint)
    )


def _walk_merged(node: yaml.Node, path: Path_, located: Located, file: str) -> None:
    """Keys brought in by `<<: *anchor` are located where the anchor defines them."""
    sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
    for source in sources:
        if isinstance(source, yaml.MappingNode):
            for key_node, value_node in source.value:
                if isinstance(key_node, yaml.ScalarNode):
                    child = (*path, key_node.value)
                    if child not in located.marks:
                        line, column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                        located.marks[child] = (line, column)
                        _walk(value_node, child, located, file)
