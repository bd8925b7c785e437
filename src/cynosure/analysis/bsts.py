"""A Bayesian structural time-series model fitted by Gibbs sampling: the model of R's bsts as
CausalImpact configures it, so that our counterfactuals agree with the reference.

The observation is ``y_t = level_t [+ season_t] + x_t'beta + noise`` with

- a local level ``level_{t+1} = level_t [+ drift] + eta_t``, ``eta ~ N(0, s_level^2)``;
- optionally a seasonal component with ``S`` seasons, ``sum of S consecutive seasons = w_t``,
  ``w ~ N(0, s_season^2)`` (bsts' dummy-variable seasonal);
- optionally a constant drift (a linear trend), for forecasts;
- a static regression on control series, with bsts' conjugate prior (beta given the noise
  variance is normal with precision ``(X'X/n blended with its diagonal) * 0.01 / s_obs^2``).

The data are standardized first (pre-period mean and standard deviation, as CausalImpact
does), so the priors read in units of the response's spread: the level's standard deviation
has an inverse-gamma prior worth 32 observations at 0.01 (CausalImpact's ``prior.level.sd``),
the others are vague, and each is truncated as bsts truncates it.

Each sweep draws all the states and coefficients at once from their Gaussian posterior given
the variances (the states' precision matrix is banded, so a banded Cholesky factor gives the
draw in linear time, and the few coefficients are integrated over the states exactly), then
the variances given the states. Drawing states and coefficients jointly mixes far better
than bsts' alternation when controls move like the level. Unobserved rows (NaN, such as
the post-period) get states from the same joint draw, that is, the forecast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

LEVEL_SD_GUESS = 0.01  # CausalImpact's prior.level.sd, in standard deviations of y
VAGUE_SAMPLE_SIZE = 0.01
OBS_UPPER = 1.2  # bsts bounds the noise's standard deviation by 1.2 sd(y)
STATE_UPPER = 1.0  # and each state's by sd(y)
INFORMATION_WEIGHT = 0.01  # the coefficients' prior is worth 0.01 observations
DIAGONAL_SHRINKAGE = 0.5
# With controls, CausalImpact gives the noise a prior worth 50 observations at 20% of the
# response's variance (it expects the controls to explain 80%).
REGRESSION_EXPECTED_R2 = 0.8
REGRESSION_PRIOR_DF = 50.0
EXPECTED_MODEL_SIZE = 3.0


@dataclass(frozen=True)
class Components:
    """Which parts the model has, and how sure the level's prior is of a smooth level.

    The default level prior is CausalImpact's (0.01 standard deviations per step, worth 32
    observations): right for a counterfactual, which should not chase the last few points.
    A forecast of a metric that wanders like a random walk needs a vague one
    (`level_prior_size` near 0), or its intervals will not widen with the horizon.
    `noise_prior_size` is the weight of CausalImpact's prior on the noise when there are
    controls (50 observations at 20% of the variance).
    """

    seasons: int | None = None  # number of seasons (7 for a weekly cycle of days)
    drift: bool = False
    level_prior_size: float = 32.0
    noise_prior_size: float = REGRESSION_PRIOR_DF


@dataclass(frozen=True)
class Posterior:
    """Draws of the model after burn-in, on the scale of the data given.

    Attributes:
        mean: (draws, T) the modelled mean of y (states plus regression) at every time.
        sigma: (draws,) the observation noise's standard deviation.
        beta: (draws, k) the regression coefficients on the standardized controls.
        level_sd: (draws,) the level's standard deviation per step.
    """

    mean: np.ndarray
    sigma: np.ndarray
    beta: np.ndarray
    level_sd: np.ndarray

    def predictive(self, rng: np.random.Generator) -> np.ndarray:
        """(draws, T) draws of y itself: the mean plus observation noise."""
        return self.mean + rng.standard_normal(self.mean.shape) * self.sigma[:, None]


class _Layout:
    """Where each state variable sits in the stacked vector, and the precision's pieces.

    Variables are stacked by time: ``[level_t, season_t]`` for t = 0..T-1, so every
    constraint of the model touches variables at most ``bandwidth`` places apart.
    """

    def __init__(self, n: int, components: Components):
        self.n = n
        self.seasons = components.seasons if components.seasons and components.seasons > 1 else 0
        self.width = 2 if self.seasons else 1
        self.size = n * self.width
        self.bandwidth = max(self.width, (self.seasons - 1) * self.width) if self.seasons else 1
        self.level = np.arange(n) * self.width
        self.season = self.level + 1 if self.seasons else None

    def banded(self, rows: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """sum_r a_r a_r' in upper banded storage, for constraint rows given as (columns,
        coefficients) arrays of shape (rows, terms)."""
        band = np.zeros((self.bandwidth + 1, self.size))
        for columns, coefficients in rows:
            terms = columns.shape[1]
            for i in range(terms):
                for j in range(terms):
                    ci, cj = columns[:, i], columns[:, j]
                    keep = ci <= cj
                    np.add.at(
                        band,
                        (self.bandwidth + ci[keep] - cj[keep], cj[keep]),
                        coefficients[keep, i] * coefficients[keep, j],
                    )
        return band


def _inverse_gamma(
    rng: np.random.Generator, shape: float, scale: float, upper: float, previous: float
) -> float:
    """A draw of a variance from IG(shape, scale) truncated to <= upper**2 (by rejection; the
    bound rarely binds, and when it keeps binding the previous value stays)."""
    for _ in range(20):
        value = scale / rng.gamma(shape)
        if 0 < value <= upper**2:
            return float(value)
    return previous


def _log_evidence(precision: np.ndarray, centre: np.ndarray, prior: np.ndarray) -> float:
    """Log marginal likelihood (up to a constant) of a set of coefficients, the states
    integrated out: ``c'P^-1 c / 2 - log|P| / 2 + log|prior| / 2``."""
    if not len(centre):
        return 0.0
    chol = np.linalg.cholesky(precision)
    half = linalg.solve_triangular(chol, centre, lower=True)
    prior_logdet = np.linalg.slogdet(prior)[1]
    return float(half @ half / 2 - np.log(np.diag(chol)).sum() + prior_logdet / 2)


def _flip(
    rng: np.random.Generator,
    included: np.ndarray,
    precision: np.ndarray,
    centre: np.ndarray,
    prior: np.ndarray,
    inclusion: float,
) -> None:
    """One Gibbs pass over the controls' inclusion indicators (in place)."""
    k = len(included)
    extra = np.arange(k, len(centre))  # the drift, always in
    log_odds_prior = np.log(inclusion) - np.log1p(-inclusion)
    for j in rng.permutation(k):
        evidence = []
        for state in (False, True):
            included[j] = state
            on = np.concatenate([np.flatnonzero(included), extra])
            coefficients = np.flatnonzero(included)
            evidence.append(
                _log_evidence(
                    precision[np.ix_(on, on)],
                    centre[on],
                    prior[np.ix_(coefficients, coefficients)],
                )
            )
        log_odds = log_odds_prior + evidence[1] - evidence[0]
        included[j] = rng.uniform() < 1.0 / (1.0 + np.exp(-log_odds))


def sample(
    y: np.ndarray,
    x: np.ndarray | None = None,
    components: Components | None = None,
    *,
    iterations: int = 1000,
    burn: float = 0.1,
    seed: int = 0,
    expected_size: float = EXPECTED_MODEL_SIZE,
) -> Posterior:
    """Draw from the posterior of the model given `y` (NaN where unobserved) and controls `x`.

    `y` and `x` should be standardized (mean 0, standard deviation 1 over the observed rows)
    for the priors to mean what they say; :func:`fit` does that.

    Args:
        y: (T,) the response; NaN rows are predicted rather than fitted.
        x: (T, k) control series, known at every row, or None.
        components: Seasonality and drift.
        iterations: Gibbs sweeps in all.
        burn: Share of the first sweeps thrown away.
        seed: Seed of the draws (same seed, same answer).
        expected_size: The prior's expected number of controls in the model; with more
            variables than that, each is in with probability ``expected_size / (k + 1)`` and the
            draws choose among them (spike and slab, as bsts).

    Returns:
        The draws kept.
    """
    parts = components or Components()
    rng = np.random.default_rng(seed)
    n = len(y)
    observed = ~np.isnan(y)
    yo = y[observed]
    k = 0 if x is None else x.shape[1]
    xo = np.zeros((observed.sum(), 0)) if x is None else x[observed]
    lay = _Layout(n, parts)

    # Constraint pieces of the states' precision, each scaled by 1 / its variance per sweep.
    t = np.arange(n - 1)
    level_rows = (
        np.stack([lay.level[t], lay.level[t + 1]], axis=1),
        np.tile([-1.0, 1.0], (n - 1, 1)),
    )
    level_band = lay.banded([level_rows])
    season_band = None
    if lay.seasons and lay.season is not None:
        s = lay.seasons
        ends = np.arange(s - 1, n)
        cols = np.stack([lay.season[ends - j] for j in range(s)], axis=1)
        season_band = lay.banded([(cols, np.ones_like(cols, dtype=float))])
    obs_idx = np.flatnonzero(observed)
    z_cols = [lay.level[obs_idx]] + ([lay.season[obs_idx]] if lay.season is not None else [])
    obs_cols = np.stack(z_cols, axis=1)
    obs_band = lay.banded([(obs_cols, np.ones_like(obs_cols, dtype=float))])

    # Initial states: level_0 ~ N(first observation, 1), the first S-1 seasons ~ N(0, 1).
    init = np.zeros(lay.size)
    prior_mean = np.zeros(lay.size)
    init[lay.level[0]] = 1.0
    prior_mean[lay.level[0]] = yo[0] if len(yo) else 0.0
    if lay.season is not None:
        init[lay.season[: lay.seasons - 1]] = 1.0
    fixed_band = np.zeros_like(obs_band)
    fixed_band[lay.bandwidth] += init

    # Observation rows summed onto the states (Z'y, Z'X) once.
    zy = np.zeros(lay.size)
    zx = np.zeros((lay.size, k + parts.drift))
    for column in obs_cols.T:
        np.add.at(zy, column, yo)
        if k:
            np.add.at(zx[:, :k], column, xo)

    # Globals: the coefficients (and the drift), with their prior precision.
    xtx = xo.T @ xo
    if k:
        scaled = xtx / max(len(yo), 1)
        omega = INFORMATION_WEIGHT * (
            (1 - DIAGONAL_SHRINKAGE) * scaled + DIAGONAL_SHRINKAGE * np.diag(np.diag(scaled))
        )
    else:
        omega = np.zeros((0, 0))
    if k:
        obs_shape0 = parts.noise_prior_size / 2
        obs_scale0 = parts.noise_prior_size * (1 - REGRESSION_EXPECTED_R2) / 2
    else:
        obs_shape0, obs_scale0 = VAGUE_SAMPLE_SIZE / 2, VAGUE_SAMPLE_SIZE / 2
    level_shape0 = parts.level_prior_size / 2
    level_scale0 = parts.level_prior_size * LEVEL_SD_GUESS**2 / 2
    season_shape0 = VAGUE_SAMPLE_SIZE / 2
    season_scale0 = VAGUE_SAMPLE_SIZE * LEVEL_SD_GUESS**2 / 2

    var_obs = 1.0 - REGRESSION_EXPECTED_R2 if k else 1.0
    var_level = LEVEL_SD_GUESS**2
    var_season = LEVEL_SD_GUESS**2
    g = k + int(parts.drift)
    drift_link = np.zeros(lay.size)  # how the drift enters the level constraints
    if parts.drift:
        drift_link[lay.level[n - 1]] -= 1.0
        drift_link[lay.level[0]] += 1.0

    included = np.ones(k, dtype=bool)
    # bsts counts the regression's intercept among the variables: k controls make k + 1.
    inclusion = min(1.0, expected_size / (k + 1)) if k else 1.0
    keep_from = int(iterations * burn)
    kept = iterations - keep_from
    means = np.empty((kept, n))
    sigmas = np.empty(kept)
    betas = np.empty((kept, k))
    level_sds = np.empty(kept)
    xfull = np.zeros((n, 0)) if x is None else x
    for sweep in range(iterations):
        band = level_band / var_level + obs_band / var_obs + fixed_band
        if season_band is not None:
            band = band + season_band / var_season
        linear = zy / var_obs + init * prior_mean
        couple = np.zeros((lay.size, g))
        q_gg = np.zeros((g, g))
        b_g = np.zeros(g)
        if k:
            couple[:, :k] = zx[:, :k] / var_obs
            q_gg[:k, :k] = (xtx + omega) / var_obs
            b_g[:k] = xo.T @ yo / var_obs
        if parts.drift:
            couple[:, k] = drift_link / var_level
            q_gg[k, k] = (n - 1) / var_level + 1.0
        upper = linalg.cholesky_banded(band, lower=False, check_finite=False)
        solved = linalg.cho_solve_banded(
            (upper, False), np.column_stack([linear, couple]), check_finite=False
        )
        inv_linear, inv_couple = solved[:, 0], solved[:, 1:]
        globals_ = np.zeros(g)
        if g:
            precision = q_gg - couple.T @ inv_couple
            centre = b_g - couple.T @ inv_linear
            if inclusion < 1.0:
                _flip(rng, included, precision, centre, omega / var_obs, inclusion)
            on = np.flatnonzero(np.concatenate([included, np.ones(g - k, dtype=bool)]))
            chol = np.linalg.cholesky(precision[np.ix_(on, on)])
            mean_g = linalg.cho_solve((chol, True), centre[on])
            globals_[on] = mean_g + linalg.solve_triangular(chol.T, rng.standard_normal(len(on)))
        state_mean = inv_linear - inv_couple @ globals_
        noise = linalg.solve_banded(
            (0, lay.bandwidth), upper, rng.standard_normal(lay.size), check_finite=False
        )
        states = state_mean + noise
        beta = globals_[:k]
        level = states[lay.level]
        fitted = level.copy()
        if lay.season is not None:
            fitted += states[lay.season]
        if k:
            fitted += xfull @ beta

        resid = yo - fitted[observed]
        var_obs = _inverse_gamma(
            rng,
            obs_shape0 + (len(yo) + k) / 2,
            obs_scale0 + float(resid @ resid + beta @ omega @ beta) / 2,
            OBS_UPPER,
            var_obs,
        )
        steps = np.diff(level) - (globals_[k] if parts.drift else 0.0)
        var_level = _inverse_gamma(
            rng,
            level_shape0 + (n - 1) / 2,
            level_scale0 + steps @ steps / 2,
            STATE_UPPER,
            var_level,
        )
        if lay.season is not None:
            season = states[lay.season]
            sums = np.convolve(season, np.ones(lay.seasons), mode="valid")
            var_season = _inverse_gamma(
                rng,
                season_shape0 + len(sums) / 2,
                season_scale0 + float(sums @ sums) / 2,
                STATE_UPPER,
                var_season,
            )
        if sweep >= keep_from:
            i = sweep - keep_from
            means[i] = fitted
            sigmas[i] = np.sqrt(var_obs)
            betas[i] = beta
            level_sds[i] = np.sqrt(var_level)
    return Posterior(mean=means, sigma=sigmas, beta=betas, level_sd=level_sds)
