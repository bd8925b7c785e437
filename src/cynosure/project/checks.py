"""Checks across sections: every name refers to something that exists, and no cycles."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cynosure.metrics.compile import NAME, Report, find_cycles
from cynosure.metrics.expressions import closest, did_you_mean
from cynosure.metrics.formula import FormulaError, parse_formula
from cynosure.project.model import ProjectModel
from cynosure.tree.structure import Edge, Tree


def check_settings(
    model: ProjectModel, report: Report, also_known: set[str] | frozenset[str] = frozenset()
) -> None:
    """Time zone, metric references outside `metrics`, interventions."""
    try:
        ZoneInfo(model.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        match = closest(model.timezone, available_timezones())
        hint = f"did you mean '{match}'?" if match else "use an IANA name such as Europe/Berlin"
        report(("timezone",), f"unknown time zone '{model.timezone}'", hint)
    known = set(model.metrics) | set(also_known)
    suggestions = [name for name in known if NAME.match(name)]

    def need(path: tuple[str | int, ...], name: str) -> None:
        if name not in known:
            report(
                path,
                f"the metric '{name}' is not defined under metrics",
                did_you_mean(name, suggestions),
            )

    if model.north_star is not None:
        need(("north_star",), model.north_star)
    for key in ("guardrails", "outcomes"):
        for index, name in enumerate(getattr(model, key)):
            need((key, index), name)
    for index, target in enumerate(model.targets):
        need(("targets", index, "metric"), target.metric)
    names: set[str] = set()
    for index, intervention in enumerate(model.interventions):
        if intervention.name in names:
            report(
                ("interventions", index, "name"),
                f"two interventions are named '{intervention.name}'",
                "names must be unique",
            )
        names.add(intervention.name)
        if intervention.end and intervention.end < intervention.date:
            report(("interventions", index, "end"), "ends before it starts", "")
        for key in intervention.segment:
            if key not in model.events.dimensions:
                report(
                    ("interventions", index, "segment", key),
                    f"'{key}' is not a declared dimension",
                    did_you_mean(key, model.events.dimensions),
                )
    for index, column in enumerate(model.events.dimensions):
        if column in model.events.properties:
            report(
                ("events", "dimensions", index),
                f"'{column}' is listed both as a dimension and as a property",
                "keep one",
            )


def build_tree(
    model: ProjectModel, report: Report, also_known: set[str] | frozenset[str] = frozenset()
) -> Tree:
    """Parse the `tree:` section; bad edges are reported and left out."""
    known = set(model.metrics) | set(also_known)
    edges: dict[str, Edge] = {}
    for parent, spec in model.tree.items():
        path: tuple[str | int, ...] = ("tree", parent)
        ok = True
        if parent not in known:
            report(
                path,
                f"the tree names '{parent}', which is not a metric",
                did_you_mean(parent, known),
            )
            ok = False
        if isinstance(spec, str):
            try:
                formula = parse_formula(spec)
            except FormulaError as exc:
                report(path, str(exc), "")
                continue
            children, edge_formula = formula.names, formula
        else:
            children, edge_formula = tuple(spec), None
        for child in children:
            if child not in known:
                report(
                    path,
                    f"the tree uses '{child}', which is not a metric",
                    did_you_mean(child, known),
                )
                ok = False
        if parent in children:
            report(path, f"'{parent}' cannot be its own child", "")
            ok = False
        if ok and not ({parent, *children} & set(also_known)):
            edges[parent] = Edge(parent, tuple(children), edge_formula)
    graph = {p: set(e.children) for p, e in edges.items()}
    for cycle in find_cycles(graph):
        report(
            ("tree", cycle[0]),
            f"the tree has a cycle: {' -> '.join([*cycle, cycle[0]])}",
            "a metric cannot drive itself through its children",
        )
        for member in cycle:
            edges.pop(member, None)
    parents = [e.parent for e in edges.values()]
    for edge in edges.values():
        for child in edge.children:
            owners = [p for p in parents if child in edges[p].children]
            if len(owners) > 1 and owners[0] == edge.parent:
                report(
                    ("tree", owners[1]),
                    f"'{child}' has two parents ({', '.join(owners)})",
                    "a metric sits under one parent in the tree",
                )
    root = model.north_star if model.north_star in known else None
    return Tree(root, edges)
