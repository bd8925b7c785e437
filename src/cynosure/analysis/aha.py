"""Aha moments: which early behaviours, done how often and how soon, predict retention?

For every behaviour (each event name and each declared behaviour), window since the start and
count threshold, the eligible entities split into those who did it at least that often in the
window and those who did not, and each group's share retained (the outcome, by default active
in days 28-55) is compared: lift, reach, precision, recall and the phi coefficient, with a
p-value (chi-square, or Fisher's exact test for small cells). Every combination searched
counts toward the Benjamini-Hochberg control of the false discovery rate; the best threshold
and window of each behaviour (highest phi among the discoveries) is its moment.

A longer window measures more than the behaviour: only entities still around can act in its
last days, so every behaviour's phi grows with the window. A behaviour's moment is therefore
the earliest window that predicts nearly as well as its best (EARLIER_WINDOW_SHARE).

Two checks go beyond the incumbents. *Proxy*: a behaviour may only mark active entities; the
Mantel-Haenszel odds ratio within strata of equal activity in the same window (the same number
of active days and the same tenth of total events) says whether it still predicts retention
among entities that did as much overall. Moments are ranked by the lower end of that adjusted
odds ratio's interval, the proxies last. *Stability*: the lift is recomputed in each signup
cohort (calendar month of the start); a moment that held for fewer than 80% of the cohorts is
flagged.

The counts come from the warehouse (:mod:`cynosure.engine.behaviours`); this module only sees
small histograms.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from scipy import stats
from statsmodels.stats.contingency_tables import StratifiedTable

from cynosure.engine.behaviours import Histograms
from cynosure.results import Result, clean

DIGITS = 4
# A cohort is judged on its own only with this many entities in each group.
MIN_COHORT_GROUP = 20
# A moment is stable when at least this share of judged cohorts agree with the whole.
STABLE_SHARE = 0.8
# A behaviour's moment is the earliest window whose best phi is at least this share of its
# best phi in any window: a longer window also measures survival up to its end (only those
# still around can act in its last days), which inflates every behaviour's association.
EARLIER_WINDOW_SHARE = 0.95
Z95 = 1.959963984540054


class AhaMoment(BaseModel):
    """The best threshold and window of one behaviour, with its evidence."""

    model_config = ConfigDict(frozen=True)

    event: str
    declared: bool
    at_least: int
    within_days: int
    entities_did: int
    retention_did: float
    retention_did_not: float | None
    lift: float | None
    reach: float
    precision: float
    recall: float
    phi: float
    phi_interval: tuple[float | None, float | None]
    p_value: float
    q_value: float
    odds_ratio: float | None
    adjusted_odds_ratio: float | None
    adjusted_interval: tuple[float | None, float | None] | None
    proxy: bool | None
    cohorts_judged: int
    cohorts_agreeing: int
    cohort_lift_range: tuple[float | None, float | None] | None
    stable: bool | None
    verdict: str


class AhaResult(Result):
    """The moments found, best first, and what was searched."""

    project: str
    outcome: str
    entity_noun: str
    entities: int
    retained: int
    first_start: str | None
    last_start: str | None
    windows: list[int]
    thresholds: list[int]
    behaviours: int
    tests: int
    discoveries: int
    fdr: float
    moments: list[AhaMoment]

    def summary(self) -> list[str]:
        noun = self.entity_noun
        if self.entities == 0:
            return [
                f"No {noun} can be judged yet: the outcome ({self.outcome}) needs "
                "their whole early window and outcome window in the data."
            ]
        lines = [
            f"Searched {self.behaviours} behaviours x {len(self.windows)} windows x "
            f"{len(self.thresholds)} thresholds ({self.tests:,} tests) on {self.entities:,} "
            f"{noun} who started {self.first_start} to {self.last_start}; "
            f"{self.retained / self.entities:.0%} retained ({self.outcome}).",
        ]
        if not self.moments:
            lines.append(
                f"No early behaviour predicts retention at a {self.fdr:.0%} false discovery rate."
            )
            return lines
        lines.append(
            f"{self.discoveries} combinations are significant at a {self.fdr:.0%} false "
            f"discovery rate; the best of each behaviour, best first:"
        )
        lines += [moment.verdict for moment in self.moments[:5]]
        return lines


@dataclass(frozen=True)
class Search:
    """What to search and how to name things in sentences."""

    windows: tuple[int, ...]
    thresholds: tuple[int, ...]
    fdr: float
    noun: str


def aha_result(project: str, outcome: str, histograms: Histograms, search: Search) -> AhaResult:
    """Test every behaviour x window x threshold and keep each behaviour's best moment.

    Args:
        project: The project's name.
        outcome: The outcome in words, for the summary.
        histograms: The warehouse's counts (:func:`behaviour_histograms`).
        search: Windows, thresholds, false discovery rate and the entity noun.

    Returns:
        The result, moments ordered: not a proxy first, by their activity-adjusted odds ratio.
    """
    everyone = histograms.everyone
    cohorts = everyone[everyone.window == -1]
    total, retained = int(cohorts.n.sum()), int(cohorts.retained.sum())
    tests = _tests(histograms.did, search, total, retained)
    discoveries = tests[tests.q < search.fdr] if len(tests) else tests
    best = _best_per_behaviour(discoveries[discoveries.phi > 0])
    moments = [_moment(row, histograms, search, total, retained) for row in best.itertuples()]
    moments.sort(key=_rank)
    first, last = _start_range(histograms)
    return AhaResult(
        project=project,
        outcome=outcome,
        entity_noun=search.noun,
        entities=total,
        retained=retained,
        first_start=first,
        last_start=last,
        windows=list(search.windows),
        thresholds=list(search.thresholds),
        behaviours=int(histograms.did[["behaviour", "declared"]].drop_duplicates().shape[0]),
        tests=len(tests),
        discoveries=len(discoveries),
        fdr=search.fdr,
        moments=moments,
    )


def _best_per_behaviour(found: pd.DataFrame) -> pd.DataFrame:
    """Each behaviour's moment: the best threshold (highest phi) of the earliest window that
    comes within EARLIER_WINDOW_SHARE of its best window."""
    per_window = found.sort_values(["phi", "threshold"], ascending=[False, True])
    per_window = per_window.drop_duplicates(["behaviour", "declared", "window"])
    best = per_window.groupby(["behaviour", "declared"]).phi.transform("max")
    early = per_window[per_window.phi >= EARLIER_WINDOW_SHARE * best]
    return early.sort_values("window").drop_duplicates(["behaviour", "declared"])


def _rank(moment: AhaMoment) -> tuple[int, float, float]:
    """Moments that still predict retention at equal activity first, by how strongly they
    surely do (the lower end of the activity-adjusted odds ratio's interval, so that a rare
    behaviour with a wide interval does not win on its point estimate), then the others by phi."""
    adjusted = moment.adjusted_interval[0] if moment.adjusted_interval else None
    strength = -math.log(adjusted) if adjusted and adjusted > 0 else math.inf
    return (0 if moment.proxy is False else 1, strength, -moment.phi)


def at_least_counts(counts: pd.Series, thresholds: tuple[int, ...]) -> np.ndarray:
    """How many of a histogram (indexed by count) are at or above each threshold."""
    index = counts.index.to_numpy()
    values = counts.to_numpy()
    return np.array([values[index >= t].sum() for t in thresholds], dtype=np.int64)


def _tests(did: pd.DataFrame, search: Search, total: int, retained: int) -> pd.DataFrame:
    """One row per behaviour x window x threshold with two non-empty groups: the 2x2 cells,
    the statistics, p and q."""
    rows = []
    overall = did[did.cohort == -1]
    for key, group in overall.groupby(["behaviour", "declared", "window"], sort=True):
        parts: tuple[Any, ...] = tuple(key)
        behaviour, declared, window = str(parts[0]), bool(parts[1]), int(parts[2])
        by_count = group.groupby("count")[["n", "retained"]].sum()
        did_n = at_least_counts(by_count.n, search.thresholds)
        did_r = at_least_counts(by_count.retained, search.thresholds)
        for threshold, n, r in zip(search.thresholds, did_n, did_r, strict=True):
            if 0 < n < total:
                rows.append((behaviour, declared, window, threshold, int(n), int(r)))
    frame = pd.DataFrame(
        rows, columns=["behaviour", "declared", "window", "threshold", "did", "did_retained"]
    )
    if frame.empty or retained in (0, total):
        return frame.iloc[:0].assign(a=[], b=[], c=[], d=[], phi=[], p=[], q=[])
    a = frame.did_retained.to_numpy(float)
    b = frame.did.to_numpy(float) - a
    c = retained - a
    d = (total - retained) - b
    frame = frame.assign(a=a, b=b, c=c, d=d, phi=phi(a, b, c, d))
    frame["p"] = p_values(a, b, c, d)
    frame["q"] = stats.false_discovery_control(frame.p.to_numpy(), method="bh")
    return frame


def phi(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """The phi coefficient of 2x2 tables [[a, b], [c, d]] (rows: did / did not; columns:
    retained / not)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        value = (a * d - b * c) / np.sqrt((a + b) * (c + d) * (a + c) * (b + d))
    return np.nan_to_num(value, nan=0.0)


def p_values(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Two-sided p-values of independence: chi-square (N phi^2, 1 df), or Fisher's exact test
    where an expected cell is below 5."""
    n = a + b + c + d
    p = stats.chi2.sf(n * phi(a, b, c, d) ** 2, df=1)
    expected = np.minimum.reduce(
        [(a + b) * (a + c), (a + b) * (b + d), (c + d) * (a + c), (c + d) * (b + d)]
    ) / np.maximum(n, 1)
    for i in np.flatnonzero(expected < 5):
        table = np.array([[a[i], b[i]], [c[i], d[i]]], dtype=np.int64)
        p[i] = stats.fisher_exact(table).pvalue
    return np.asarray(p, dtype=float)


def _moment(
    row: object, histograms: Histograms, search: Search, total: int, retained: int
) -> AhaMoment:
    behaviour, declared = str(row.behaviour), bool(row.declared)  # type: ignore[attr-defined]
    window, threshold = int(row.window), int(row.threshold)  # type: ignore[attr-defined]
    a, b, c, d = (float(getattr(row, k)) for k in "abcd")
    n = total
    did_rate, other_rate = a / (a + b), c / (c + d) if c + d else math.nan
    value = float(row.phi)  # type: ignore[attr-defined]
    z, se = math.atanh(max(min(value, 0.999999), -0.999999)), 1 / math.sqrt(max(n - 3, 1))
    interval = (math.tanh(z - Z95 * se), math.tanh(z + Z95 * se))
    crude = (a * d) / (b * c) if b * c else None
    adjusted, adjusted_interval = _adjusted(histograms, behaviour, declared, window, threshold)
    proxy = _is_proxy(adjusted, adjusted_interval)
    judged, agreeing, lift_range = _cohorts(histograms, behaviour, declared, window, threshold)
    stable = None if judged < 2 else agreeing >= STABLE_SHARE * judged
    lift = did_rate / other_rate if other_rate else None
    moment = {
        "event": behaviour,
        "declared": declared,
        "at_least": threshold,
        "within_days": window,
        "entities_did": int(a + b),
        "retention_did": _round(did_rate),
        "retention_did_not": _round(other_rate),
        "lift": _round(lift),
        "reach": _round((a + b) / n),
        "precision": _round(did_rate),
        "recall": _round(a / (a + c)),
        "phi": _round(value),
        "phi_interval": (_round(interval[0]), _round(interval[1])),
        "p_value": _significant(row.p),  # type: ignore[attr-defined]
        "q_value": _significant(row.q),  # type: ignore[attr-defined]
        "odds_ratio": _round(crude),
        "adjusted_odds_ratio": _round(adjusted),
        "adjusted_interval": (
            (_round(adjusted_interval[0]), _round(adjusted_interval[1]))
            if adjusted_interval
            else None
        ),
        "proxy": proxy,
        "cohorts_judged": judged,
        "cohorts_agreeing": agreeing,
        "cohort_lift_range": lift_range,
        "stable": stable,
    }
    return AhaMoment(**moment, verdict=_verdict(moment, search.noun))


def _adjusted(
    histograms: Histograms, behaviour: str, declared: bool, window: int, threshold: int
) -> tuple[float | None, tuple[float, float] | None]:
    """Mantel-Haenszel odds ratio and 95% interval across strata of equal total activity."""
    per_stratum = _did_by(histograms, "stratum", behaviour, declared, window, threshold)
    everyone = histograms.everyone
    base = everyone[(everyone.window == window) & (everyone.cohort == -1)].set_index("stratum")
    tables = []
    for stratum, group in base.iterrows():
        n_did = per_stratum.n.get(stratum, 0)
        r_did = per_stratum.retained.get(stratum, 0)
        a, b = r_did, n_did - r_did
        c, d = group.retained - r_did, (group.n - group.retained) - b
        if min(a + b, c + d, a + c, b + d) > 0:
            tables.append([[a, b], [c, d]])
    if not tables:
        return None, None
    table = StratifiedTable(np.array(tables, dtype=float).transpose(1, 2, 0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        pooled = clean(table.oddsratio_pooled)
        low, high = table.oddsratio_pooled_confint()
    if pooled is None or clean(low) is None or clean(high) is None:
        return pooled, None
    return pooled, (float(low), float(high))


def _did_by(
    histograms: Histograms,
    key: str,
    behaviour: str,
    declared: bool,
    window: int,
    threshold: int,
) -> pd.DataFrame:
    """Entities who did a moment, and how many retained, per stratum or per cohort (`key`)."""
    did = histograms.did
    other = "cohort" if key == "stratum" else "stratum"
    rows = did[
        (did.behaviour == behaviour)
        & (did.declared == declared)
        & (did.window == window)
        & (did[other] == -1)
        & (did["count"] >= threshold)
    ]
    return rows.groupby(key)[["n", "retained"]].sum()


def _is_proxy(adjusted: float | None, interval: tuple[float, float] | None) -> bool | None:
    """Whether overall activity explains the moment: among entities of the same activity the
    odds ratio is not clearly above 1 (None: no stratum holds both groups)."""
    if adjusted is None or interval is None:
        return None
    return interval[0] <= 1.0


def _cohorts(
    histograms: Histograms, behaviour: str, declared: bool, window: int, threshold: int
) -> tuple[int, int, tuple[float | None, float | None] | None]:
    """Cohorts judged, cohorts where the lift is above 1, and the range of their lifts."""
    per_cohort = _did_by(histograms, "cohort", behaviour, declared, window, threshold)
    everyone = histograms.everyone
    base = everyone[everyone.window == -1].set_index("cohort")
    lifts = []
    for cohort, group in base.iterrows():
        n_did = int(per_cohort.n.get(cohort, 0))
        r_did = int(per_cohort.retained.get(cohort, 0))
        n_not, r_not = int(group.n) - n_did, int(group.retained) - r_did
        if min(n_did, n_not) < MIN_COHORT_GROUP or r_not == 0:
            continue
        lifts.append((r_did / n_did) / (r_not / n_not))
    if not lifts:
        return 0, 0, None
    return len(lifts), sum(lift > 1 for lift in lifts), (_round(min(lifts)), _round(max(lifts)))


def _start_range(histograms: Histograms) -> tuple[str | None, str | None]:
    cohorts = histograms.everyone[histograms.everyone.window == -1].cohort
    if cohorts.empty:
        return None, None
    low, high = int(cohorts.min()), int(cohorts.max())
    return f"{low // 12}-{low % 12 + 1:02d}", f"{high // 12}-{high % 12 + 1:02d}"


def _verdict(moment: dict[str, object], noun: str) -> str:
    at_least, window = moment["at_least"], moment["within_days"]
    when = "on their first day" if window == 1 else f"in their first {window} days"
    times = "" if at_least == 1 else f" {at_least}+ times"
    lift = moment["lift"]
    text = (
        f"{noun.capitalize()} who do {moment['event']}{times} {when} retain "
        + (f"{lift:.1f}x as often" if isinstance(lift, float) else "more often")
        + f": {moment['retention_did']:.0%} vs {moment['retention_did_not']:.0%}; "
        f"{moment['reach']:.0%} of new {noun} get there (phi {moment['phi']:.2f}, "
        f"q {_q(moment['q_value'])})."
    )
    interval = moment["adjusted_interval"]
    if isinstance(interval, tuple) and None not in interval:
        odds = (
            f"the odds ratio is {moment['adjusted_odds_ratio']:.2f} "
            f"[{interval[0]:.2f}, {interval[1]:.2f}] among {noun} equally active "
            f"({moment['odds_ratio'] or math.inf:.2f} overall)"
        )
        if moment["proxy"]:
            text += f" Only a proxy for overall activity: {odds}."
        else:
            text += f" Not just activity: {odds}."
    if moment["stable"] is False:
        text += (
            f" Not stable across signup cohorts: higher retention in "
            f"{moment['cohorts_agreeing']} of {moment['cohorts_judged']}."
        )
    return text


def _q(value: object) -> str:
    return "< 0.001" if isinstance(value, float) and value < 0.001 else f"= {value:.3f}"


def _round(value: float | None) -> float | None:
    value = clean(value)
    return None if value is None else round(value, DIGITS)


def _significant(value: float) -> float:
    return float(f"{float(value):.{DIGITS}g}")
