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

    def where(self, path: Path_) -> tuple[int | None, int | None]:
        """The position of `path`, or of its nearest located ancestor."""
        probe = tuple(path)
        while probe:
            if probe in self.marks:
                return self.marks[probe]
            probe = probe[:-1]
        return self.marks.get((), (None, None))


def load_located(text: str, file: str) -> Located:
    """Parse `text`; YAML syntax errors and duplicate keys become located problems."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        message = f"not valid YAML: {exc.problem or exc}"
        return Located(None, problems=[Problem(message, file=file, line=line, column=col)])
    located = Located(None)
    if root is None:
        located.data = {}
        return located
    located.marks[()] = (root.start_mark.line + 1, root.start_mark.column + 1)
    located.data = _walk(root, (), located, file)
    return located


def _walk(node: yaml.Node, path: Path_, located: Located, file: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            child = (*path, str(key))
            pos = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in result:
                located.problems.append(
                    Problem(
                        f"the key '{key}' appears twice; the later one would silently win",
                        path=".".join(str(p) for p in child),
                        file=file,
                        line=pos[0],
                        column=pos[1],
                        hint="remove or rename one of them",
                    )
                )
            located.marks[child] = pos
            result[key] = _walk(value_node, child, located, file)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            child = (*path, index)
            located.marks[child] = (item.start_mark.line + 1, item.start_mark.column + 1)
            items.append(_walk(item, child, located, file))
        return items
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return yaml.safe_load(yaml.serialize(node))
    return yaml.SafeLoader("").construct_object(node, deep=True)
