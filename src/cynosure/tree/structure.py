"""The metric tree: which metrics drive which, by an exact formula or as statistical drivers."""

from __future__ import annotations

from dataclasses import dataclass

from cynosure.metrics.formula import Formula


@dataclass(frozen=True)
class Edge:
    """A parent and its children: `formula` set for an exact identity, None for drivers."""

    parent: str
    children: tuple[str, ...]
    formula: Formula | None = None

    @property
    def exact(self) -> bool:
        return self.formula is not None


@dataclass(frozen=True)
class Tree:
    """The tree rooted at the North Star (edges keyed by parent)."""

    root: str | None
    edges: dict[str, Edge]

    def parent_of(self, metric: str) -> str | None:
        for edge in self.edges.values():
            if metric in edge.children:
                return edge.parent
        return None

    def walk(self) -> list[tuple[str, str | None, int]]:
        """(metric, parent, depth) from the root down, children in declaration order.

        Parents that are not reachable from the root are walked after it, as extra roots.
        """
        order: list[tuple[str, str | None, int]] = []
        seen: set[str] = set()

        def visit(metric: str, parent: str | None, depth: int) -> None:
            if metric in seen:
                return
            seen.add(metric)
            order.append((metric, parent, depth))
            edge = self.edges.get(metric)
            for child in edge.children if edge else ():
                visit(child, metric, depth + 1)

        roots = [self.root] if self.root else []
        roots += [p for p in self.edges if self.parent_of(p) is None and p != self.root]
        for root in roots:
            visit(root, None, 0)
        return order
