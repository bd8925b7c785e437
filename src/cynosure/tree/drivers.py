"""Estimated attribution along driver edges (children that influence a parent without an
exact formula).

A driver edge says "playlist adds and searches per listener drive hours per listener" but
not by how much. The sensitivity is estimated from history: an ordinary least squares
regression of the parent's period-to-period changes on the children's changes (with an
intercept for drift), over complete periods before the one being explained. A child's
estimated contribution is its coefficient times its own change between the two periods,
with the coefficient's 95% interval; what the drivers do not account for is reported as
unexplained. These are estimates, and every result marks them so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm

MIN_PERIODS = 8
LEVEL = 0.95


@dataclass(frozen=True)
class DriverEstimate:
    """One driver's estimated contribution to its parent's change, with a 95% interval."""

    contribution: float
    low: float
    high: float
    coefficient: float
    p_value: float


@dataclass(frozen=True)
class DriverFit:
    """The estimates of one driver edge, or why there are none (`reason`)."""

    estimates: dict[str, DriverEstimate]
    unexplained: float | None
    r_squared: float | None
    periods: int
    reason: str | None = None


def estimate_drivers(
    history: pd.DataFrame, parent: str, children: list[str], change: dict[str, float]
) -> DriverFit:
    """Estimate each child's contribution to `parent`'s change.

    Args:
        history: Complete periods before the one explained (indexed by period start), with a
            column per metric; consecutive rows are consecutive periods.
        parent: The parent metric.
        children: Its drivers.
        change: Each metric's change between the two periods explained (parent included).

    Returns:
        The estimates, with the fit's R^2 and the number of period changes it used.
    """
    diffs: pd.DataFrame = history[[parent, *children]].astype(float).diff().dropna()
    diffs = diffs.loc[np.isfinite(diffs.to_numpy()).all(axis=1)]
    varying = [c for c in children if diffs[c].std() > 0]
    if len(diffs) < max(MIN_PERIODS, len(varying) + 3) or not varying:
        return DriverFit(
            {}, None, None, len(diffs), f"too little history ({len(diffs)} period changes)"
        )
    model = sm.OLS(diffs[parent], sm.add_constant(diffs[varying], has_constant="add")).fit()
    bounds = model.conf_int(alpha=1 - LEVEL)
    estimates = {}
    for child in varying:
        step = change[child]
        beta = float(model.params[child])
        ends = (float(bounds.loc[child, 0]) * step, float(bounds.loc[child, 1]) * step)
        estimates[child] = DriverEstimate(
            contribution=beta * step,
            low=min(ends),
            high=max(ends),
            coefficient=beta,
            p_value=float(model.pvalues[child]),
        )
    explained = sum(e.contribution for e in estimates.values())
    unexplained = change[parent] - explained if math.isfinite(change[parent]) else None
    return DriverFit(estimates, unexplained, float(model.rsquared), len(diffs))
