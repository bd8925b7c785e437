"""Exact attribution of a parent's change to the children of its formula (Shapley values).

For parent = f(children), moving every child from its baseline to its current value changes the
parent by f(current) - f(baseline). Each child's contribution is its marginal effect averaged
over all orders in which the children could move (the Shapley value). The contributions always
add up exactly to the parent's change; for a sum they are each child's own change, for a product
of two they split the cross term equally, and they stay defined when a value is zero or changes
sign, where the log-based split is not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import combinations

from cynosure.metrics.formula import Formula


def shapley(
    formula: Formula, baseline: Mapping[str, float], current: Mapping[str, float]
) -> dict[str, float]:
    """Each child's contribution to f(current) - f(baseline). NaN inputs give NaN contributions."""
    names = list(formula.names)
    n = len(names)
    if any(_bad(baseline[x]) or _bad(current[x]) for x in names):
        return {x: math.nan for x in names}
    cache: dict[frozenset[str], float] = {}

    def value(moved: frozenset[str]) -> float:
        if moved not in cache:
            point = {x: (current[x] if x in moved else baseline[x]) for x in names}
            cache[moved] = float(formula.evaluate(point))
        return cache[moved]

    result = {}
    for name in names:
        others = [x for x in names if x != name]
        total = 0.0
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for subset in combinations(others, size):
                moved = frozenset(subset)
                total += weight * (value(moved | {name}) - value(moved))
        result[name] = total
    return result


def _bad(x: float) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))
