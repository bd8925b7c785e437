"""The counterfactual of an intervention and its effect, as CausalImpact defines them.

The structural time-series model (:mod:`cynosure.analysis.bsts`) is fitted on the
pre-period only, the post-period's responses being unknown to it, and its posterior
predictive draws for the post-period are what would have happened without the intervention.
Every summary follows R's CausalImpact 1.4 so that numbers compare one to one:

- the average effect is ``mean(actual) - mean(prediction)``; its interval comes from the
  quantiles of each draw's post-period mean;
- the relative effect is the posterior mean of ``(actual - draw) / draw`` (not a ratio of
  means), with the quantiles of the same;
- the tail probability is the one-sided share of draws whose post-period sum is at least
  as extreme as the actual sum (counting the actual itself): R's ``p``.

R calls an effect significant when that one-sided tail is below alpha, which is a two-sided
test at 2 x alpha (10% false alarms at alpha 0.05) and can disagree with its own 95%
interval. Our ``p_value`` is two-sided (twice the tail, at most 1), so "significant at 0.05"
means what it says and agrees with the interval; on the reference series the verdicts are
R's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cynosure.analysis.bsts import Components, sample

ITERATIONS = 2000


@dataclass(frozen=True)
class Effect:
    """Actual against predicted over the post-period, as an average or a total."""

    actual: float
    predicted: float
    predicted_interval: tuple[float, float]
    effect: float
    interval: tuple[float, float]
    sd: float
    relative: float
    relative_interval: tuple[float, float]


@dataclass(frozen=True)
class Counterfactual:
    """What the model predicts without the intervention, and the effect.

    Attributes:
        actual: (T,) the response.
        predicted: (T,) the posterior mean of the prediction (a fit in the pre-period).
        lower, upper: (T,) the pointwise interval of the prediction.
        n_pre: Rows before the intervention.
        average, cumulative: The effect as an average per period and as a total.
        tail: The posterior tail-area probability (one-sided, R's ``p``).
        p_value: The two-sided p value, ``min(1, 2 * tail)``.
        alpha: The level of the intervals (0.05 for 95%).
        draws: Posterior draws kept.
    """

    actual: np.ndarray
    predicted: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    n_pre: int
    average: Effect
    cumulative: Effect
    tail: float
    alpha: float
    draws: int

    @property
    def p_value(self) -> float:
        return min(1.0, 2 * self.tail)

    @property
    def significant(self) -> bool:
        return self.p_value < self.alpha

    @property
    def probability_of_effect(self) -> float:
        """R's "posterior probability of a causal effect": 1 - the one-sided tail."""
        return 1.0 - self.tail


# The priors' weights in observations (the level's, the noise's): CausalImpact's defaults
# (what R answers), or vague, for a metric whose level wanders more than CausalImpact's prior
# allows (its false alarms then rise above the nominal rate; the placebo check shows it).
LEVEL_PRIORS = {"causalimpact": (32.0, 50.0), "vague": (1.0, 1.0)}


def standardize(values: np.ndarray, rows: int) -> tuple[np.ndarray, float, float]:
    """`values` less the mean, over the standard deviation, of its first `rows` (as
    CausalImpact standardizes), with that mean and deviation."""
    centre = float(np.mean(values[:rows]))
    spread = float(np.std(values[:rows], ddof=1)) if rows > 1 else 0.0
    return (values - centre) / (spread or 1.0), centre, spread or 1.0


def counterfactual(
    y: np.ndarray,
    x: np.ndarray | None,
    n_pre: int,
    *,
    seasons: int | None = None,
    alpha: float = 0.05,
    iterations: int = ITERATIONS,
    seed: int = 0,
    prior: str = "causalimpact",
) -> Counterfactual:
    """Fit on rows ``0 .. n_pre - 1`` of `y` and predict the rest.

    Args:
        y: (T,) the response, pre-period then post-period; NaN rows in the pre-period are
            skipped in the fit.
        x: (T, k) control series (known in both periods), or None.
        n_pre: Rows in the pre-period.
        seasons: Number of seasons of a seasonal component (7 for days of the week).
        alpha: 1 - the intervals' level; the effect is significant when the two-sided p
            value is below it.
        iterations: Gibbs sweeps (the first 10% are thrown away).
        seed: Seed of the draws.
        prior: The level's prior, a key of `LEVEL_PRIORS`.

    Returns:
        The prediction and the effect.
    """
    y = np.asarray(y, dtype=float)
    if not 3 <= n_pre < len(y):
        raise ValueError(f"need at least 3 rows before and 1 after the intervention, not {n_pre}")
    ys, centre, spread = standardize(y, n_pre)
    ys[n_pre:] = np.nan
    xs = None
    if x is not None and x.size:
        x = np.asarray(x, dtype=float).reshape(len(y), -1)
        moving = np.std(x[:n_pre], axis=0, ddof=1) > 0
        if moving.any():
            xs = np.column_stack([standardize(c, n_pre)[0] for c in x[:, moving].T])
    level, noise = LEVEL_PRIORS[prior]
    parts = Components(seasons=seasons, level_prior_size=level, noise_prior_size=noise)
    posterior = sample(ys, xs, parts, iterations=iterations, seed=seed)
    rng = np.random.default_rng(seed + 1)
    draws = posterior.predictive(rng) * spread + centre
    fitted = posterior.mean * spread + centre
    # CausalImpact plots the fit without noise before the intervention, draws of y after.
    paths = np.concatenate([fitted[:, :n_pre], draws[:, n_pre:]], axis=1)
    low, high = 100 * alpha / 2, 100 * (1 - alpha / 2)
    post = y[n_pre:]
    sums = draws[:, n_pre:].sum(axis=1)
    actual_sum = float(post.sum())
    tail = min((sums >= actual_sum).sum() + 1, (sums <= actual_sum).sum() + 1)
    return Counterfactual(
        actual=y,
        predicted=paths.mean(axis=0),
        lower=np.percentile(paths, low, axis=0),
        upper=np.percentile(paths, high, axis=0),
        n_pre=n_pre,
        average=_effect(float(post.mean()), sums / len(post), (low, high)),
        cumulative=_effect(actual_sum, sums, (low, high)),
        tail=float(tail / (len(sums) + 1)),
        alpha=alpha,
        draws=len(sums),
    )


def _effect(actual: float, predicted: np.ndarray, levels: tuple[float, float]) -> Effect:
    """The effect of `actual` against draws of what was `predicted` (per draw)."""
    low, high = np.percentile(predicted, levels)
    effects = actual - predicted
    with np.errstate(divide="ignore", invalid="ignore"):
        relatives = effects / predicted
    finite = relatives[np.isfinite(relatives)]
    rel_low, rel_high = np.percentile(finite, levels) if finite.size else (np.nan, np.nan)
    return Effect(
        actual=actual,
        predicted=float(predicted.mean()),
        predicted_interval=(float(low), float(high)),
        effect=float(actual - predicted.mean()),
        interval=(float(actual - high), float(actual - low)),
        sd=float(predicted.std(ddof=1)),
        relative=float(finite.mean()) if finite.size else float("nan"),
        relative_interval=(float(rel_low), float(rel_high)),
    )
