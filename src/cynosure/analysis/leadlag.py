"""Lead-lag: which inputs lead the North Star (and which metrics lead the outcomes), by how much?

For each pair the two series are prepared (:mod:`cynosure.analysis.prepare`), then
cross-correlated at lags ``-L..L`` (positive: the leader moves first). The best lag is the one
with the largest absolute correlation. Its uncertainty comes from a moving-block bootstrap of
time points (each resample keeps the pairs ``(leader[t], follower[t + k])`` intact at every
lag, so the lag structure survives resampling), and a Granger test at the best positive lag
asks whether the leader's past improves a forecast of the follower beyond its own past.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from statsmodels.tsa.stattools import grangercausalitytests

from cynosure.analysis.prepare import prepare
from cynosure.engine.periods import Grain
from cynosure.results import Result, clean

RESAMPLES = 500
# Warehouses sum floats in parallel, so a metric can differ in its 12th digit from one run to
# the next; statistics are rounded well above that noise so the same seed gives the same JSON.
DIGITS = 4
# Fewer periods than this cannot separate a lead from noise at any lag worth reporting.
MIN_PERIODS = 16


@dataclass(frozen=True)
class LagStats:
    """The statistics of one leader-follower pair (the pure core's answer)."""

    lag: int | None
    lag_interval: tuple[int, int] | None
    correlation: float | None
    correlation_interval: tuple[float, float] | None
    granger_p: float | None
    n: int


def lead_lag(
    leader: pd.Series,
    follower: pd.Series,
    *,
    max_lag: int = 8,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> LagStats:
    """Cross-correlate two prepared series and bootstrap the best lag.

    Args:
        leader: The series expected to move first, indexed by consecutive periods.
        follower: The other series, on the same kind of index.
        max_lag: Lags from ``-max_lag`` to ``max_lag`` periods are tried (fewer when the series
            are short: at most a third of the periods, so each lag keeps enough pairs).
        resamples: Bootstrap resamples.
        seed: Seed of the bootstrap; the same seed gives the same answer.

    Returns:
        The best lag (positive: `leader` moves first) with its 95% percentile interval, the
        correlation at it with its interval, the Granger p-value at a positive best lag
        (None otherwise) and `n`, the periods where both series are known.
    """
    frame = pd.concat([leader.rename("x"), follower.rename("y")], axis=1).sort_index()
    x, y = frame["x"].to_numpy(float), frame["y"].to_numpy(float)
    both = ~np.isnan(x) & ~np.isnan(y)
    n = int(both.sum())
    lags = min(max_lag, n // 3)
    if n < MIN_PERIODS or lags < 1 or np.nanstd(x[both]) == 0 or np.nanstd(y[both]) == 0:
        return LagStats(None, None, None, None, None, n)
    shifts = np.arange(-lags, lags + 1)
    follower_at = _shifted(y, shifts)  # follower_at[j, t] = y[t + shifts[j]]

    r = _correlations(x, follower_at, np.arange(len(x))[None, :])[0]
    best = int(np.nanargmax(np.abs(r)))

    rng = np.random.default_rng(seed)
    starts = _block_starts(rng, len(x), resamples)
    r_boot = _correlations(x, follower_at, starts)
    best_boot = np.nanargmax(np.abs(np.nan_to_num(r_boot, nan=0.0)), axis=1)
    lag_boot = shifts[best_boot]
    r_at_best = r_boot[np.arange(len(r_boot)), best_boot]

    lag = int(shifts[best])
    lag_lo, lag_hi = np.percentile(lag_boot, [2.5, 97.5])
    r_lo, r_hi = np.nanpercentile(r_at_best, [2.5, 97.5])
    return LagStats(
        lag=lag,
        lag_interval=(math.floor(lag_lo), math.ceil(lag_hi)),
        correlation=float(r[best]),
        correlation_interval=(float(r_lo), float(r_hi)),
        granger_p=_granger(x, y, lag) if lag > 0 else None,
        n=n,
    )


def _shifted(y: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    out = np.full((len(shifts), len(y)), np.nan)
    for j, k in enumerate(shifts):
        if k >= 0:
            out[j, : len(y) - k] = y[k:]
        else:
            out[j, -k:] = y[:k]
    return out


def _block_starts(rng: np.random.Generator, n: int, resamples: int) -> np.ndarray:
    """Time indices of `resamples` moving-block resamples (blocks of about n^(1/3) periods).

    Blocks keep the short-range dependence of changes (a shock and its echo a period later)
    that resampling single periods would destroy.
    """
    block = max(2, math.ceil(n ** (1 / 3)))
    count = math.ceil(n / block)
    first = rng.integers(0, n - block + 1, size=(resamples, count))
    return (first[:, :, None] + np.arange(block)).reshape(resamples, -1)[:, :n]


def _correlations(x: np.ndarray, follower_at: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Pearson r of x[t] with follower_at[j, t] over each row of `times`: (rows, lags)."""
    xs = x[times][:, None, :]  # (rows, 1, n)
    ys = follower_at[:, times].transpose(1, 0, 2)  # (rows, lags, n)
    ok = ~np.isnan(xs) & ~np.isnan(ys)
    count = ok.sum(axis=2)
    xs, ys = np.where(ok, xs, 0.0), np.where(ok, ys, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = xs.sum(axis=2) / count
        my = ys.sum(axis=2) / count
        dx = np.where(ok, xs - mx[..., None], 0.0)
        dy = np.where(ok, ys - my[..., None], 0.0)
        r = (dx * dy).sum(axis=2) / np.sqrt((dx**2).sum(axis=2) * (dy**2).sum(axis=2))
    r[count < 3] = np.nan
    return np.asarray(r)


def _granger(x: np.ndarray, y: np.ndarray, lag: int) -> float | None:
    """p-value of the ssr F-test that x's past helps forecast y, at `lag` lags."""
    both = ~np.isnan(x) & ~np.isnan(y)
    # The test needs a gap-free stretch; take the longest one.
    runs = np.split(np.arange(len(x)), np.flatnonzero(~both))
    longest = max((run[both[run]] for run in runs), key=len)
    if len(longest) < 3 * lag + 5:
        return None
    data = np.column_stack([y[longest], x[longest]])
    with warnings.catch_warnings():
        # statsmodels warns about its own verbose argument; nothing for the user to act on.
        warnings.simplefilter("ignore")
        tests = grangercausalitytests(data, maxlag=[lag])
    return float(tests[lag][0]["ssr_ftest"][1])


class LeadLagPair(BaseModel):
    """One leader-follower pair: the best lag, its correlation, both with 95% intervals."""

    model_config = ConfigDict(frozen=True)

    leader: str
    follower: str
    relation: str  # "tree": an input and its parent; "outcome": a candidate and an outcome
    lag: int | None
    lag_interval: tuple[int, int] | None
    correlation: float | None
    correlation_interval: tuple[float, float] | None
    granger_p: float | None
    n: int
    clear: bool
    verdict: str


class LeadLagResult(Result):
    """Which metrics lead which, at one grain; pairs sorted strongest correlation first."""

    project: str
    grain: str
    max_lag: int
    seed: int
    resamples: int
    pairs: list[LeadLagPair]

    def summary(self) -> list[str]:
        if not self.pairs:
            return ["No pairs to test: the project declares no tree and no outcomes."]
        clear = [p for p in self.pairs if p.clear]
        lines = [
            f"Tested {len(self.pairs)} pairs by {self.grain} (lags up to {self.max_lag}): "
            f"{len(clear)} with a clear lead."
        ]
        lines += [p.verdict for p in clear]
        if not clear:
            lines.append(self.pairs[0].verdict)
        return lines


def pairs_to_test(
    edges: Iterable[tuple[str, Iterable[str]]],
    candidates: Iterable[str],
    outcomes: Iterable[str],
) -> list[tuple[str, str, str]]:
    """(leader, follower, relation) for every tree input vs its parent and candidate vs outcome.

    Args:
        edges: (parent, children) for every edge of the tree, formula or driver list.
        candidates: The candidate metrics (the North Star among them).
        outcomes: The outcome metrics.

    Returns:
        The pairs, each once, never a metric with itself.
    """
    pairs: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for parent, children in edges:
        for child in children:
            if (child, parent) not in seen and child != parent:
                seen.add((child, parent))
                pairs.append((child, parent, "tree"))
    for outcome in outcomes:
        for candidate in candidates:
            if (candidate, outcome) not in seen and candidate != outcome:
                seen.add((candidate, outcome))
                pairs.append((candidate, outcome, "outcome"))
    return pairs


def leadlag_result(
    project: str,
    frame: pd.DataFrame,
    grain: Grain,
    pairs: list[tuple[str, str, str]],
    labels: Mapping[str, str],
    *,
    max_lag: int = 8,
    seed: int = 0,
    resamples: int = RESAMPLES,
    progress: Callable[[str], None] | None = None,
) -> LeadLagResult:
    """Run :func:`lead_lag` on every pair of `frame`'s complete-period series.

    Args:
        project: The project's name.
        frame: One column per metric, indexed by period start, partial periods removed.
        grain: The grain of `frame`.
        pairs: (leader, follower, relation) triples, e.g. from :func:`pairs_to_test`.
        labels: Display label of each metric, for the verdicts.
        max_lag: The largest lag tried, in periods.
        seed: Bootstrap seed.
        resamples: Bootstrap resamples per pair.
        progress: Told which pair is being tested.

    Returns:
        The result, pairs sorted by absolute correlation (untestable pairs last).
    """
    prepared = {m: prepare(frame[m], grain) for m in {name for p in pairs for name in p[:2]}}
    found = []
    for i, (leader, follower, relation) in enumerate(pairs):
        if progress:
            progress(f"Lead-lag {i + 1} of {len(pairs)}: {leader} vs {follower}")
        stats = lead_lag(
            prepared[leader], prepared[follower], max_lag=max_lag, resamples=resamples, seed=seed
        )
        found.append(_pair(leader, follower, relation, stats, labels, grain))
    found.sort(key=lambda p: -abs(p.correlation) if p.correlation is not None else 1.0)
    return LeadLagResult(
        project=project, grain=grain, max_lag=max_lag, seed=seed, resamples=resamples, pairs=found
    )


def _pair(
    leader: str,
    follower: str,
    relation: str,
    stats: LagStats,
    labels: Mapping[str, str],
    grain: Grain,
) -> LeadLagPair:
    interval = stats.correlation_interval
    clear, verdict = _verdict(
        stats, labels.get(leader, leader), labels.get(follower, follower), grain
    )
    return LeadLagPair(
        leader=leader,
        follower=follower,
        relation=relation,
        lag=stats.lag,
        lag_interval=stats.lag_interval,
        correlation=_rounded(stats.correlation),
        correlation_interval=(
            (round(interval[0], DIGITS), round(interval[1], DIGITS)) if interval else None
        ),
        granger_p=_significant(stats.granger_p),
        n=stats.n,
        clear=clear,
        verdict=verdict,
    )


def _verdict(stats: LagStats, leader: str, follower: str, grain: Grain) -> tuple[bool, str]:
    """A plain sentence, and whether the lead is clear (lag and r intervals both exclude 0)."""
    if (
        stats.lag is None
        or stats.lag_interval is None
        or stats.correlation is None
        or stats.correlation_interval is None
    ):
        return False, (
            f"{leader} vs {follower}: not enough data ({stats.n} periods with both known, "
            f"{MIN_PERIODS} needed)."
        )
    r_lo, r_hi = stats.correlation_interval
    lag_lo, lag_hi = stats.lag_interval
    evidence = (
        f"r = {stats.correlation:.2f} [{r_lo:.2f}, {r_hi:.2f}] at lag {stats.lag} "
        f"[{lag_lo}, {lag_hi}]"
    )
    granger = f", Granger {_p(stats.granger_p)}" if stats.granger_p is not None else ""
    if r_lo <= 0 <= r_hi:
        return False, f"No clear lead between {leader} and {follower}: {evidence}, n = {stats.n}."
    if lag_lo <= 0 <= lag_hi:
        what = "they move together" if stats.lag == 0 else "the lag interval includes 0"
        return False, f"No clear lead of {leader} on {follower} ({what}): {evidence}."
    first, second = (leader, follower) if stats.lag > 0 else (follower, leader)
    note = "" if stats.lag > 0 else " (the reverse of the expected direction)"
    return True, (
        f"{first} leads {second} by {_periods(abs(stats.lag), grain)}{note}; "
        f"r = {stats.correlation:.2f} [{r_lo:.2f}, {r_hi:.2f}]{granger}, n = {stats.n}."
    )


def _rounded(value: float | None) -> float | None:
    value = clean(value)
    return None if value is None else round(value, DIGITS)


def _significant(value: float | None) -> float | None:
    value = clean(value)
    return None if value is None else float(f"{value:.{DIGITS}g}")


def _periods(count: int, grain: Grain) -> str:
    return f"{count} {grain}" + ("" if count == 1 else "s")


def _p(p: float | None) -> str:
    if p is None:
        return "p = n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
