"""The North Star scorecard: each candidate metric measured against the criteria teams are told
to check, with the evidence and a verdict, then ranked.

Criteria, each scored from 0 to 1 (None when it cannot be measured for that metric):

- *value*: do entities with more of it in a period stay active the next? The correlation of
  an entity's within-period percentile rank with being active the next period, with a 95%
  interval (engine: :func:`cynosure.engine.evidence.entity_links`).
- *business link*: the correlation of its prepared series (changes, detrended) with each
  outcome over the last year, at the best lag (:func:`cynosure.analysis.leadlag.lead_lag`).
- *leading*: whether it moves before the outcomes, and by how many periods.
- *robustness*: the share held by the top 1% of entities, and how much it would rise if 1% of
  entities sent every event ten times (the engine recomputes it on such a rollup).
- *vanity*: a running total, a series that almost only rises, or no link to retention or to
  any outcome; any of these flags the metric, with the reason.
- *actionability*: the share of its changes explained by its inputs in the tree (R squared of
  its prepared series on theirs) and how many owners the inputs below it have.
- *measurability*: the share of days with data since the data begins, and whether its events
  still arrive.

The score is the weighted mean of the measured criteria, halved for a vanity metric.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from pydantic import BaseModel, ConfigDict

from cynosure.analysis.leadlag import LagStats
from cynosure.engine.evidence import SPAM_FACTOR, TOP_SHARE, EntityLink
from cynosure.results import Result, clean

WEIGHTS = {
    "value": 0.25,
    "business_link": 0.2,
    "leading": 0.1,
    "robustness": 0.15,
    "actionability": 0.15,
    "measurability": 0.15,
}
VANITY_PENALTY = 0.5
# A correlation of this size between an entity's rank and its next-period activity counts as
# a full score for value (typical of a metric that captures the value people come for).
FULL_VALUE_R = 0.3
# Rising in at least this share of periods (with at least MONOTONE_MIN_PERIODS) is monotone.
MONOTONE_SHARE = 0.9
MONOTONE_MIN_PERIODS = 8
# A metric rising more than this when 1% of entities spam scores 0 on that half of robustness.
SPAM_TOLERANCE = 0.1
Z95 = 1.959963984540054


class Criterion(BaseModel):
    """One criterion of one candidate: its score, the numbers behind it, and a sentence."""

    model_config = ConfigDict(frozen=True)

    score: float | None
    evidence: dict[str, float | int | str | bool | list[float | None] | None]
    verdict: str


class Candidate(BaseModel):
    """One candidate metric's scorecard."""

    model_config = ConfigDict(frozen=True)

    metric: str
    label: str
    rank: int
    score: float
    vanity: bool
    vanity_reasons: list[str]
    criteria: dict[str, Criterion]
    verdict: str


class CandidatesResult(Result):
    """Every candidate, best first, and why the winner wins."""

    project: str
    grain: str
    north_star: str | None
    outcomes: list[str]
    candidates: list[Candidate]
    winner: str | None
    why: str

    def summary(self) -> list[str]:
        if not self.candidates:
            return ["No candidate metrics: mark metrics with `candidate: true`."]
        lines = [self.why]
        lines += [f"{c.rank}. {c.verdict}" for c in self.candidates]
        return lines


@dataclass(frozen=True)
class Evidence:
    """Everything measured about one candidate, before scoring."""

    metric: str
    label: str
    kind: str
    cumulative: bool
    series: pd.Series  # complete periods
    link: EntityLink | None
    outcome_stats: Mapping[str, LagStats]
    spam_rise: float | None
    inputs_r2: float | None
    inputs: int
    owners: int
    days_with_data: int
    days_in_range: int
    last_day_gap: int  # days between the last data day and the metric's last event
    skipped_share: float


def score_candidates(
    project: str,
    grain: str,
    north_star: str | None,
    outcomes: list[str],
    evidence: list[Evidence],
    *,
    noun: str,
    labels: Mapping[str, str],
) -> CandidatesResult:
    """Score every criterion of every candidate and rank them."""
    scored = [_scorecard(e, grain, noun, labels) for e in evidence]
    scored.sort(key=lambda c: -c.score)
    ranked = [c.model_copy(update={"rank": i + 1}) for i, c in enumerate(scored)]
    ranked = [c.model_copy(update={"verdict": _verdict(c)}) for c in ranked]
    return CandidatesResult(
        project=project,
        grain=grain,
        north_star=north_star,
        outcomes=outcomes,
        candidates=ranked,
        winner=ranked[0].metric if ranked else None,
        why=_why(ranked, north_star),
    )


def correlation_interval(r: float, n: int) -> tuple[float, float]:
    """The 95% interval of a Pearson correlation from `n` pairs (Fisher's z)."""
    if n <= 3:
        return (-1.0, 1.0)
    z = math.atanh(max(min(r, 0.999999), -0.999999))
    half = Z95 / math.sqrt(n - 3)
    return (math.tanh(z - half), math.tanh(z + half))


def explained_share(target: pd.Series, inputs: list[pd.Series]) -> float | None:
    """R squared of `target` on `inputs` (aligned, rows with a missing value dropped)."""
    columns = [target.rename("y"), *[s.rename(f"x{i}") for i, s in enumerate(inputs)]]
    frame = pd.concat(columns, axis=1)
    frame = frame.replace([np.inf, -np.inf], np.nan).dropna()
    if len(frame) < len(inputs) + 5 or frame["y"].std() == 0:
        return None
    model = sm.OLS(frame["y"], sm.add_constant(frame.drop(columns="y"), has_constant="add")).fit()
    return float(max(0.0, min(1.0, model.rsquared)))


def _scorecard(e: Evidence, grain: str, noun: str, labels: Mapping[str, str]) -> Candidate:
    criteria = {
        "value": _value(e, grain, noun),
        "business_link": _business(e, grain, labels),
        "leading": _leading(e, grain, labels),
        "robustness": _robustness(e, noun),
        "actionability": _actionability(e),
        "measurability": _measurability(e),
    }
    reasons = _vanity_reasons(e, criteria, grain)
    measured = {k: c.score for k, c in criteria.items() if c.score is not None}
    weight = sum(WEIGHTS[k] for k in measured)
    score = sum(WEIGHTS[k] * v for k, v in measured.items()) / weight if weight else 0.0
    if reasons:
        score *= VANITY_PENALTY
    return Candidate(
        metric=e.metric,
        label=e.label,
        rank=0,
        score=round(score, 4),
        vanity=bool(reasons),
        vanity_reasons=reasons,
        criteria=criteria,
        verdict="",
    )


def _value(e: Evidence, grain: str, noun: str) -> Criterion:
    link = e.link
    if link is None or link.correlation is None:
        return Criterion(
            score=None,
            evidence={},
            verdict="Not measured: it describes a group (a cohort or growth state), not an entity.",
        )
    r = link.correlation
    low, high = correlation_interval(r, link.rows)
    score = min(1.0, max(0.0, r) / FULL_VALUE_R) if low > 0 else 0.0
    top, bottom = link.retained_top, link.retained_bottom
    quarters = (
        f"the top quarter of {noun} by it are active the next {grain} "
        f"{top:.0%} of the time, the bottom quarter {bottom:.0%}"
        if top is not None and bottom is not None
        else "no quarters to compare"
    )
    if low > 0:
        verdict = f"Predicts retention: {quarters} (r = {r:.2f} [{low:.2f}, {high:.2f}])."
    elif high < 0:
        verdict = f"More of it goes with less retention: {quarters} (r = {r:.2f})."
    else:
        verdict = f"No link to retention: {quarters} (r = {r:.2f} [{low:.2f}, {high:.2f}])."
    return Criterion(
        score=round(score, 4),
        evidence={
            "correlation": _r(r),
            "interval": [_r(low), _r(high)],
            "entity_periods": link.rows,
            "retained_top_quarter": _r(top),
            "retained_bottom_quarter": _r(bottom),
        },
        verdict=verdict,
    )


def _best_outcome(e: Evidence) -> tuple[str, LagStats] | None:
    """The outcome with the strongest clear correlation (interval excluding 0)."""
    clear = [
        (name, s)
        for name, s in e.outcome_stats.items()
        if s.correlation is not None
        and s.correlation_interval is not None
        and (s.correlation_interval[0] > 0 or s.correlation_interval[1] < 0)
    ]
    if not clear:
        return None
    return max(clear, key=lambda item: abs(item[1].correlation or 0.0))


def _business(e: Evidence, grain: str, labels: Mapping[str, str]) -> Criterion:
    if not e.outcome_stats:
        return Criterion(score=None, evidence={}, verdict="Not measured: no outcomes declared.")
    evidence: dict[str, float | int | str | bool | list[float | None] | None] = {
        f"r_{name}": _r(s.correlation) for name, s in e.outcome_stats.items()
    }
    best = _best_outcome(e)
    if best is None:
        return Criterion(
            score=0.0, evidence=evidence, verdict="No clear link to any outcome over the last year."
        )
    name, s = best
    assert s.correlation is not None and s.correlation_interval is not None
    low, high = s.correlation_interval
    evidence |= {"outcome": name, "lag": s.lag, "interval": [_r(low), _r(high)]}
    where = f" at lag {s.lag} {grain}{'s' if abs(s.lag or 0) != 1 else ''}" if s.lag else ""
    if s.correlation < 0:
        return Criterion(
            score=0.0,
            evidence=evidence,
            verdict=f"Moves against {labels.get(name, name)}: r = {s.correlation:.2f}{where}.",
        )
    return Criterion(
        score=round(s.correlation, 4),
        evidence=evidence,
        verdict=(
            f"Moves with {labels.get(name, name)}: r = {s.correlation:.2f} "
            f"[{low:.2f}, {high:.2f}]{where} (changes, detrended)."
        ),
    )


def _leading(e: Evidence, grain: str, labels: Mapping[str, str]) -> Criterion:
    best = _best_outcome(e)
    if not e.outcome_stats:
        return Criterion(score=None, evidence={}, verdict="Not measured: no outcomes declared.")
    if best is None or best[1].lag is None or best[1].lag_interval is None:
        return Criterion(score=0.0, evidence={}, verdict="Neither leads nor follows an outcome.")
    name, s = best
    assert s.lag is not None and s.lag_interval is not None
    label = labels.get(name, name)
    evidence: dict[str, float | int | str | bool | list[float | None] | None] = {
        "outcome": name,
        "lag": s.lag,
        "lag_interval": [float(s.lag_interval[0]), float(s.lag_interval[1])],
    }
    unit = f"{grain}{'s' if abs(s.lag) != 1 else ''}"
    if s.lag_interval[0] > 0:
        return Criterion(
            score=1.0,
            evidence=evidence,
            verdict=f"Leads {label} by {s.lag} {unit} [{s.lag_interval[0]}, {s.lag_interval[1]}].",
        )
    if s.lag_interval[1] < 0:
        return Criterion(
            score=0.2,
            evidence=evidence,
            verdict=f"Lags {label} by {-s.lag} {unit}: it reports what already happened.",
        )
    return Criterion(
        score=0.5, evidence=evidence, verdict=f"Moves with {label} in the same {grain}."
    )


def _robustness(e: Evidence, noun: str) -> Criterion:
    parts: list[float] = []
    sentences: list[str] = []
    share = e.link.top_share if e.link else None
    if share is not None:
        parts.append(1.0 - min(1.0, share / 0.5))
        sentences.append(f"the top {TOP_SHARE:.0%} of {noun} hold {share:.0%} of it")
    if e.spam_rise is not None:
        parts.append(1.0 - min(1.0, abs(e.spam_rise) / SPAM_TOLERANCE))
        sentences.append(
            f"it would change {e.spam_rise:+.1%} if {TOP_SHARE:.0%} of {noun} sent every event "
            f"{SPAM_FACTOR} times"
        )
    if not parts:
        return Criterion(score=None, evidence={}, verdict="Not measured.")
    text = "; ".join(sentences)
    return Criterion(
        score=round(sum(parts) / len(parts), 4),
        evidence={"top_1pct_share": _r(share), "spam_rise": _r(e.spam_rise)},
        verdict=text[0].upper() + text[1:] + ".",
    )


def _actionability(e: Evidence) -> Criterion:
    if e.inputs == 0:
        return Criterion(
            score=0.0,
            evidence={"inputs": 0, "owners": 0},
            verdict="No inputs in the tree: no team can see what moves it.",
        )
    r2 = e.inputs_r2
    score = (0.7 * r2 if r2 is not None else 0.0) + 0.3 * min(1.0, e.owners / 3)
    explained = f"its inputs explain {r2:.0%} of its changes" if r2 is not None else "n/a"
    return Criterion(
        score=round(score, 4),
        evidence={"inputs": e.inputs, "owners": e.owners, "explained": _r(r2)},
        verdict=(
            f"{e.inputs} input(s) owned by {e.owners} team(s) below it; "
            + ("" if r2 is None else explained + ".")
        ),
    )


def _measurability(e: Evidence) -> Criterion:
    coverage = e.days_with_data / e.days_in_range if e.days_in_range else 0.0
    recent = e.last_day_gap <= 2
    score = coverage * (1.0 if recent else 0.3) * (1.0 - e.skipped_share)
    text = f"Data on {e.days_with_data} of {e.days_in_range} days"
    if not recent:
        text += f"; no qualifying events in the last {e.last_day_gap} days"
    if e.skipped_share:
        text += f"; {e.skipped_share:.2%} of events have no entity or time"
    return Criterion(
        score=round(score, 4),
        evidence={
            "days_with_data": e.days_with_data,
            "days_in_range": e.days_in_range,
            "days_since_last_event": e.last_day_gap,
            "events_without_entity_or_time": _r(e.skipped_share),
        },
        verdict=text + ".",
    )


def _vanity_reasons(e: Evidence, criteria: Mapping[str, Criterion], grain: str) -> list[str]:
    reasons = []
    if e.cumulative:
        reasons.append("a running total: it can only go up")
    changes = e.series.diff().dropna()
    if not e.cumulative and len(changes) >= MONOTONE_MIN_PERIODS:
        rising = int((changes >= 0).sum())
        if rising >= MONOTONE_SHARE * len(changes):
            reasons.append(f"it rose in {rising} of {len(changes)} {grain}s")
    value, business = criteria["value"].score, criteria["business_link"].score
    if value == 0.0 and business in (0.0, None):
        reasons.append("no link to retention or to any outcome")
    if reasons and e.kind == "count" and (e.spam_rise or 0) > SPAM_TOLERANCE / 2:
        reasons.append("it counts events, so repeats inflate it")
    return reasons


def _verdict(c: Candidate) -> str:
    strong = [k.replace("_", " ") for k, v in c.criteria.items() if (v.score or 0) >= 0.6]
    weak = [
        k.replace("_", " ") for k, v in c.criteria.items() if v.score is not None and v.score < 0.3
    ]
    text = f"{c.label} ({c.metric}): score {c.score:.2f}"
    if c.vanity:
        text += " — vanity metric: " + "; ".join(c.vanity_reasons)
    if strong:
        text += f". Strong on {', '.join(strong)}"
    if weak:
        text += f". Weak on {', '.join(weak)}"
    return text + "."


def _why(ranked: list[Candidate], north_star: str | None) -> str:
    if not ranked:
        return "No candidates."
    winner = ranked[0]
    reasons = [v.verdict.rstrip(".") for k, v in winner.criteria.items() if (v.score or 0) >= 0.6]
    text = f"{winner.label} is the best North Star candidate (score {winner.score:.2f})"
    if reasons:
        text += ": " + "; ".join(r[0].lower() + r[1:] for r in reasons[:3])
    text += "."
    if north_star and winner.metric != north_star:
        current = next((c for c in ranked if c.metric == north_star), None)
        if current is not None:
            text += f" The declared North Star, {current.label}, ranks {current.rank}."
    vanity = [c.label for c in ranked if c.vanity]
    if vanity:
        text += f" Vanity: {', '.join(vanity)}."
    return text


def _r(value: float | None) -> float | None:
    value = clean(value)
    return None if value is None else round(value, 4)
