"""Compile validated metric definitions into a Plan, collecting every problem on the way."""

from __future__ import annotations

import re
from collections.abc import Callable

from cynosure.metrics.expressions import ExpressionError, Parsed, did_you_mean, parse
from cynosure.metrics.formula import FormulaError, parse_formula
from cynosure.metrics.plan import BaseMetric, DerivedMetric, Measure, Plan
from cynosure.project.model import METRIC_KINDS, MetricDef, ProjectModel

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
Report = Callable[[tuple[str | int, ...], str, str], None]


def compile_metrics(
    model: ProjectModel, report: Report, also_known: set[str] | frozenset[str] = frozenset()
) -> Plan:
    """Build the Plan; every mistake is passed to `report(path, message, hint)`."""
    plan = Plan()
    columns = model.events.columns()
    for name, metric in model.metrics.items():
        path: tuple[str | int, ...] = ("metrics", name)
        if not NAME.match(name):
            report(
                path,
                f"'{name}' cannot be a metric name",
                "use letters, digits and underscores, starting with a letter",
            )
            continue
        _compile_one(plan, name, metric, columns, path, report)
    _check_references(plan, model, report, also_known)
    return plan


def _compile_one(
    plan: Plan,
    name: str,
    metric: MetricDef,
    columns: list[str],
    path: tuple[str | int, ...],
    report: Report,
) -> None:
    kinds = metric.kinds()
    if not kinds:
        report(
            path, "says nothing about how to aggregate", f"add one of: {', '.join(METRIC_KINDS)}"
        )
        return
    if len(kinds) > 1:
        report(path, f"has several aggregations ({', '.join(kinds)})", "keep exactly one")
        return
    kind = kinds[0]
    ok = _check_modifiers(metric, kind, path, report)

    def expression(key: str, text: str | None, *, boolean: bool, at: tuple = ()) -> Parsed | None:
        if text is None:
            return None
        try:
            return parse(text, columns, boolean=boolean)
        except ExpressionError as exc:
            report((*path, *(at or (key,))), str(exc), exc.hint)
            return None

    where = expression("where", metric.where, boolean=True)
    if metric.where is not None and where is None:
        ok = False
    if kind in ("ratio", "formula"):
        text = (
            f"{metric.ratio[0]} / {metric.ratio[1]}"
            if kind == "ratio" and metric.ratio
            else str(metric.formula)
        )
        try:
            formula = parse_formula(text)
        except FormulaError as exc:
            report((*path, kind), str(exc), "")
            return
        if ok:
            plan.derived[name] = DerivedMetric(name, formula)
        return
    base: BaseMetric | None = None
    if kind == "count":
        base = BaseMetric(name, kind, (plan.column(Measure("count", where)),))
    elif kind == "users":
        base = BaseMetric(
            name, kind, (plan.column(Measure("count", where)),), lifecycle=metric.lifecycle
        )
    elif kind in ("sum", "mean"):
        value = expression(kind, getattr(metric, kind), boolean=False)
        if value is None:
            return
        columns_ = [plan.column(Measure("sum", where, value))]
        if kind == "mean":
            columns_.append(plan.column(Measure("nonnull", where, value)))
        base = BaseMetric(name, kind, tuple(columns_))
    elif kind == "threshold" and metric.threshold:
        rule = metric.threshold
        inner = expression("where", rule.where, boolean=True, at=("threshold", "where"))
        if rule.where is not None and inner is None:
            return
        column = plan.column(Measure("count", inner))
        base = BaseMetric(name, kind, (column,), at_least=rule.at_least, unit=rule.unit)
    elif kind == "conversion" and metric.conversion:
        condition = f"{_quote_name(columns)} = '{_escape(metric.conversion.event)}'"
        if metric.where:
            condition = f"({metric.where}) AND {condition}"
        target = expression("conversion", condition, boolean=True)
        if target is None:
            return
        window = (0, metric.conversion.within)
        base = BaseMetric(name, kind, (plan.column(Measure("count", target)),), window=window)
    elif kind == "retention" and metric.retention:
        window = (metric.retention.after, metric.retention.within)
        base = BaseMetric(name, kind, (plan.column(Measure("count", where)),), window=window)
    if base is not None and ok:
        plan.base[name] = BaseMetric(**{**base.__dict__, "cumulative": metric.cumulative})


def _quote_name(columns: list[str]) -> str:
    return f'"{columns[2]}"'  # the event-name column (EventsConfig.columns() order)


def _escape(text: str) -> str:
    return text.replace("'", "''")


def _check_modifiers(metric: MetricDef, kind: str, path: tuple, report: Report) -> bool:
    ok = True
    if metric.lifecycle and kind != "users":
        report((*path, "lifecycle"), "lifecycle only applies to `users: true` metrics", "")
        ok = False
    if metric.cumulative and (kind not in ("count", "sum", "users") or metric.lifecycle):
        report(
            (*path, "cumulative"),
            f"a {metric.lifecycle or kind} metric cannot be cumulative",
            "cumulative applies to count, sum and users metrics",
        )
        ok = False
    if metric.where is not None and kind in ("ratio", "formula", "threshold"):
        hint = "put it in threshold.where" if kind == "threshold" else "filter the metrics it uses"
        report((*path, "where"), f"a {kind} metric takes no `where`", hint)
        ok = False
    return ok


def _check_references(
    plan: Plan, model: ProjectModel, report: Report, also_known: set[str] | frozenset[str]
) -> None:
    known = set(model.metrics) | set(also_known)
    for name, derived in list(plan.derived.items()):
        metric = model.metrics[name]
        key = "ratio" if metric.ratio else "formula"
        for ref in derived.formula.names:
            if ref not in known:
                report(
                    ("metrics", name, key),
                    f"uses the unknown metric '{ref}'",
                    did_you_mean(ref, known),
                )
                plan.derived.pop(name, None)
    graph = {n: set(d.formula.names) for n, d in plan.derived.items()}
    for cycle in find_cycles(graph):
        first = cycle[0]
        report(
            ("metrics", first),
            f"metrics refer to each other in a cycle: {' -> '.join([*cycle, first])}",
            "a ratio or formula cannot depend on itself",
        )
        for member in cycle:
            plan.derived.pop(member, None)


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each cycle of a directed graph once, as the list of its nodes."""
    cycles: list[list[str]] = []
    seen_sets: list[set[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :]
                if set(cycle) not in seen_sets:
                    seen_sets.append(set(cycle))
                    cycles.append(list(cycle))
            elif nxt in graph and state.get(nxt) is None:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if state.get(node) is None:
            visit(node, [])
    return cycles
