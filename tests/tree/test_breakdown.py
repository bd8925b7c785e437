"""The change split through the tree: exact along formula edges at every depth (Hypothesis),
estimated with honest intervals along driver edges (a planted linear relation)."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from cynosure.metrics.formula import parse_formula
from cynosure.tree.breakdown import breakdown
from cynosure.tree.structure import Edge, Tree

BEFORE, NOW = date(2026, 1, 5), date(2026, 1, 12)

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False).filter(
    lambda v: v == 0 or abs(v) > 1e-3
)
positive = st.floats(min_value=0.5, max_value=1e3, allow_nan=False)


@st.composite
def formula_trees(draw: st.DrawFn) -> tuple[Tree, dict[str, tuple[float, float]]]:
    """A random tree of formula edges (sums, differences, products, ratios), two or three
    levels deep, with leaf values for two periods and every parent computed from them."""
    counter = iter(range(1000))
    edges: dict[str, Edge] = {}
    values: dict[str, tuple[float, float]] = {}

    def node(depth: int) -> str:
        name = f"m{next(counter)}"
        if depth == 0 or (draw(st.booleans()) and depth < 2):
            strategy = positive if draw(st.booleans()) else finite
            values[name] = (draw(strategy), draw(strategy))
            return name
        children = [node(depth - 1) for _ in range(draw(st.integers(2, 3)))]
        operators = draw(
            st.lists(
                st.sampled_from("+-*/"), min_size=len(children) - 1, max_size=len(children) - 1
            )
        )
        text = children[0]
        for op, child in zip(operators, children[1:], strict=True):
            text = f"({text} {op} {child})"
        formula = parse_formula(text)
        edges[name] = Edge(name, tuple(children), formula)
        values[name] = tuple(  # type: ignore[assignment]
            float(formula.evaluate({c: values[c][i] for c in children})) for i in (0, 1)
        )
        return name

    root = node(draw(st.integers(2, 3)))
    return Tree(root, edges), values


def _frame(values: dict[str, tuple[float, float]]) -> pd.DataFrame:
    return pd.DataFrame({k: list(v) for k, v in values.items()}, index=[BEFORE, NOW])


@settings(max_examples=300, deadline=None)
@given(formula_trees())
def test_formula_edges_split_the_change_exactly_at_every_level(
    case: tuple[Tree, dict[str, tuple[float, float]]],
) -> None:
    tree, values = case
    assert tree.root is not None
    top_change = values[tree.root][1] - values[tree.root][0]
    if not math.isfinite(top_change):
        return  # a ratio whose denominator is 0 has no change to split
    parts = breakdown(tree, tree.root, _frame(values), NOW, BEFORE)
    by_metric = {p.metric: p for p in parts}
    assert parts[0].contribution == top_change
    scale = max(1.0, abs(top_change), *(abs(v) for pair in values.values() for v in pair))
    for parent, edge in tree.edges.items():
        children = [by_metric[c] for c in edge.children]
        if any(c.to_parent is None or math.isnan(c.to_parent) for c in children):
            continue  # a child or the parent is undefined (x / 0) in one of the periods
        own = values[parent][1] - values[parent][0]
        assert math.isclose(sum(c.to_parent or 0 for c in children), own, abs_tol=1e-7 * scale)
        total = sum(c.contribution or 0 for c in children)
        assert math.isclose(total, by_metric[parent].contribution or 0, abs_tol=1e-7 * scale)
    leaves = [p for p in parts if p.metric not in tree.edges]
    if all(p.contribution is not None and math.isfinite(p.contribution) for p in leaves):
        assert math.isclose(
            sum(p.contribution or 0 for p in leaves), top_change, abs_tol=1e-7 * scale
        )
    assert not any(p.estimated for p in parts)


def test_a_product_and_a_sum_split_as_written() -> None:
    """hours = listeners * per_listener; listeners = new + old: the textbook case by hand."""
    tree = Tree(
        "hours",
        {
            "hours": Edge("hours", ("listeners", "per"), parse_formula("listeners * per")),
            "listeners": Edge("listeners", ("new", "old"), parse_formula("new + old")),
        },
    )
    values = {"new": (20.0, 10.0), "old": (80.0, 80.0), "per": (2.0, 3.0)}
    values["listeners"] = (100.0, 90.0)
    values["hours"] = (200.0, 270.0)
    parts = {p.metric: p for p in breakdown(tree, "hours", _frame(values), NOW, BEFORE)}
    # Shapley for a product of two: each gets its own change times the mean of the other.
    assert parts["listeners"].contribution == -10 * 2.5
    assert parts["per"].contribution == 1 * 95
    assert parts["new"].contribution == -25.0  # all of listeners' change came from new
    assert parts["old"].contribution == 0.0


def _history(rng: np.random.Generator, periods: int) -> pd.DataFrame:
    """parent = 2 x + 0.5 y + noise, in levels that wander (random walks)."""
    x = 100 + np.cumsum(rng.normal(0, 3, periods))
    y = 50 + np.cumsum(rng.normal(0, 6, periods))
    noise = rng.normal(0, 1, periods)
    index = [BEFORE - timedelta(days=7 * (periods - i)) for i in range(periods)]
    return pd.DataFrame({"p": 2 * x + 0.5 * y + noise, "x": x, "y": y}, index=index)


def test_driver_edges_are_estimated_with_intervals_that_cover_the_truth() -> None:
    tree = Tree("p", {"p": Edge("p", ("x", "y"))})
    covered = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        history = _history(rng, 60)
        frame = pd.concat(
            [
                history,
                pd.DataFrame(
                    {
                        "p": [history.p.iloc[-1] + 2 * 10 + 0.5 * -4],
                        "x": [history.x.iloc[-1] + 10],
                        "y": [history.y.iloc[-1] - 4],
                    },
                    index=[NOW],
                ),
            ]
        )
        before = history.index[-1]
        parts = {p.metric: p for p in breakdown(tree, "p", frame, NOW, before, history)}
        x, y = parts["x"], parts["y"]
        assert x.estimated and y.estimated and x.edge == "driver"
        assert x.interval is not None and y.interval is not None
        covered += x.interval[0] <= 20 <= x.interval[1]
        assert abs((x.contribution or 0) - 20) < 2
        assert parts["p"].unexplained is not None
        assert abs(parts["p"].unexplained) < 3
    assert covered >= 34  # a 95% interval covers the truth in most of 40 independent fits


def test_too_little_history_gives_no_estimate_rather_than_a_guess() -> None:
    tree = Tree("p", {"p": Edge("p", ("x", "y"))})
    history = _history(np.random.default_rng(0), 6)
    frame = pd.concat([history, history.iloc[[-1]].set_axis([NOW])])
    parts = {p.metric: p for p in breakdown(tree, "p", frame, NOW, history.index[-1], history)}
    assert parts["x"].contribution is None and parts["x"].estimated
    assert parts["p"].fit is not None and "too little history" in (parts["p"].fit.reason or "")


def test_everything_below_an_estimated_edge_is_estimated() -> None:
    tree = Tree(
        "p",
        {"p": Edge("p", ("x", "y")), "x": Edge("x", ("a", "b"), parse_formula("a + b"))},
    )
    history = _history(np.random.default_rng(1), 40)
    history["a"] = history.x * 0.25
    history["b"] = history.x * 0.75
    frame = pd.concat([history, (history.iloc[[-1]] * 1.1).set_axis([NOW])])
    parts = {p.metric: p for p in breakdown(tree, "p", frame, NOW, history.index[-1], history)}
    assert parts["a"].estimated and parts["b"].estimated
    assert parts["a"].contribution is not None and parts["x"].contribution is not None
    assert math.isclose(
        (parts["a"].contribution or 0) + (parts["b"].contribution or 0),
        parts["x"].contribution or 0,
    )
