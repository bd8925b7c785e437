"""What did an intervention do to a metric? The counterfactual, the effect, controls, placebos.

The metric's series before the intervention, and control series that track it but were not
touched by it, fit a structural time-series model (:mod:`cynosure.analysis.counterfactual`);
its prediction for the days after is what would have happened without the intervention.

Controls are the same metric in the segments the intervention did not touch (other
platforms when it launched on iOS) or other metrics. When none are named they are chosen:
the candidates whose period-to-period changes best track the target's before the date
(correlation of first differences, which trends cannot fake), leaving out any that itself
moved at the date (a control the intervention touched would hide its effect).

A placebo check runs the same model at fake dates before the real one, where nothing
happened: the share of those that "find" an effect says how far to trust the real one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from cynosure.analysis.counterfactual import Counterfactual, Effect, counterfactual
from cynosure.engine.periods import Grain, label
from cynosure.errors import PeriodError, SegmentError
from cynosure.results import Result, clean, fmt, pct

MAX_CONTROLS = 3
MIN_TRACKING = 0.3  # correlation of changes below which a candidate does not track the target
MIN_PRE = {"day": 21, "week": 12, "month": 12}
PLACEBO_RUNS = 10
SCREEN_ITERATIONS = 400


@dataclass(frozen=True)
class Candidate:
    """A series that may serve as a control: a metric, in a segment or overall."""

    name: str
    metric: str
    segment: Mapping[str, str]
    values: pd.Series


class EffectSummary(BaseModel):
    """The effect as an average per period or as a total over the post-period."""

    model_config = ConfigDict(frozen=True)

    actual: float | None
    predicted: float | None
    predicted_interval: list[float | None]
    effect: float | None
    interval: list[float | None]
    relative: float | None
    relative_interval: list[float | None]


class Control(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    metric: str
    segment: dict[str, str]
    tracking: float | None  # correlation of period-to-period changes before the date


class Placebo(BaseModel):
    """The same model at fake dates before the intervention."""

    model_config = ConfigDict(frozen=True)

    dates: list[str]
    significant: int
    rate: float | None


class ImpactSeries(BaseModel):
    """For plotting: the actual series, the prediction and its interval."""

    model_config = ConfigDict(frozen=True)

    periods: list[str]
    actual: list[float | None]
    predicted: list[float | None]
    lower: list[float | None]
    upper: list[float | None]


class ImpactResult(Result):
    """The effect of an intervention on one metric."""

    project: str
    metric: str
    label: str
    intervention: str | None
    segment: dict[str, str]
    grain: str
    start: str
    end: str
    pre_start: str
    average: EffectSummary
    cumulative: EffectSummary
    p_value: float
    tail_probability: float
    probability_of_effect: float
    significant: bool
    alpha: float
    seasons: int | None
    prior: str = "causalimpact"  # the level's prior: causalimpact (as R) or vague
    controls: list[Control]
    excluded: list[str] = Field(default_factory=list)
    placebo: Placebo | None
    series: ImpactSeries
    text: str
    warnings: list[str] = Field(default_factory=list)

    def summary(self) -> list[str]:
        return [self.text, *(f"Warning: {w}" for w in self.warnings)]


@dataclass(frozen=True)
class Question:
    """What to measure: the target series and the post-period."""

    project: str
    metric: str
    label: str
    intervention: str | None
    segment: Mapping[str, str]
    grain: Grain
    at: date
    until: date | None
    prior: str = "causalimpact"  # the level's prior: causalimpact or vague


def _summary(effect: Effect) -> EffectSummary:
    return EffectSummary(
        actual=clean(effect.actual),
        predicted=clean(effect.predicted),
        predicted_interval=[clean(v) for v in effect.predicted_interval],
        effect=clean(effect.effect),
        interval=[clean(v) for v in effect.interval],
        relative=clean(effect.relative),
        relative_interval=[clean(v) for v in effect.relative_interval],
    )


def seasons_for(grain: Grain, pre_rows: int) -> int | None:
    """A weekly cycle at day grain when there are three weeks to learn it from."""
    return 7 if grain == "day" and pre_rows >= 21 else None


def tracking(target: pd.Series, control: pd.Series) -> float | None:
    """Correlation of the two series' period-to-period changes (None when undefined)."""
    a, b = target.diff().iloc[1:], control.diff().iloc[1:]
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return None
    value = float(np.corrcoef(a, b)[0, 1])
    return value if np.isfinite(value) else None


def choose_controls(
    target: pd.Series,
    candidates: list[Candidate],
    n_pre: int,
    grain: Grain,
    *,
    seed: int = 0,
) -> tuple[list[tuple[Candidate, float | None]], list[str]]:
    """The candidates that track the target before the date and did not move at it.

    Returns the chosen (best first, at most MAX_CONTROLS) with their tracking, and a line
    for each candidate left out that tracked well but moved at the date.
    """
    scored = []
    for candidate in candidates:
        score = tracking(target.iloc[:n_pre], candidate.values.iloc[:n_pre])
        if score is not None and score >= MIN_TRACKING:
            scored.append((candidate, score))
    scored.sort(key=lambda pair: -pair[1])
    chosen: list[tuple[Candidate, float | None]] = []
    excluded: list[str] = []
    seasons = seasons_for(grain, n_pre)
    for candidate, score in scored:
        if len(chosen) == MAX_CONTROLS:
            break
        own = counterfactual(
            candidate.values.to_numpy(float),
            None,
            n_pre,
            seasons=seasons,
            iterations=SCREEN_ITERATIONS,
            seed=seed,
        )
        if own.significant:
            excluded.append(
                f"{candidate.name} tracks the target (r = {score:.2f}) but itself moved at the "
                f"date ({pct(own.average.relative)}, p = {own.p_value:.3f}), so it is not a control"
            )
            continue
        chosen.append((candidate, score))
    return chosen, excluded


def placebo(
    y: np.ndarray,
    x: np.ndarray | None,
    n_pre: int,
    n_post: int,
    seasons: int | None,
    periods: list[str],
    *,
    runs: int = PLACEBO_RUNS,
    alpha: float = 0.05,
    seed: int = 0,
    prior: str = "causalimpact",
) -> Placebo | None:
    """Fit the model at up to `runs` fake dates before `n_pre` (each with the same post length
    where the pre-period allows, and at least half of the pre-period before it)."""
    length = max(1, min(n_post, n_pre // 3))
    first = max(n_pre // 2, MIN_PRE["day"] if seasons else 8)
    last = n_pre - length
    if last <= first:
        return None
    fakes = sorted({int(v) for v in np.linspace(first, last, runs)})
    hits = 0
    for fake in fakes:
        window = slice(0, fake + length)
        found = counterfactual(
            y[window],
            None if x is None else x[window],
            fake,
            seasons=seasons,
            alpha=alpha,
            iterations=SCREEN_ITERATIONS,
            seed=seed,
            prior=prior,
        )
        hits += int(found.significant)
    return Placebo(
        dates=[periods[f] for f in fakes], significant=hits, rate=clean(hits / len(fakes))
    )


def measure(
    question: Question,
    target: pd.Series,
    candidates: list[Candidate],
    *,
    explicit: bool,
    run_placebo: bool = True,
    alpha: float = 0.05,
    seed: int = 0,
) -> ImpactResult:
    """The effect of the intervention in `question` on `target` (indexed by period start,
    complete periods only), with controls from `candidates` (all of them when `explicit`)."""
    grain, at = question.grain, question.at
    end = question.until or target.index.max()
    window = target[(target.index <= end)].dropna()
    n_pre = int((window.index < at).sum())
    n_post = len(window) - n_pre
    unit = "days" if grain == "day" else f"{grain}s"
    if n_post < 1:
        raise PeriodError(
            f"no complete {grain} of {question.metric} from {at} to {end}: the post-period is empty"
        )
    if n_pre < MIN_PRE[grain]:
        raise PeriodError(
            f"{question.metric} has {n_pre} complete {unit} before {at}; the model needs at "
            f"least {MIN_PRE[grain]}"
        )
    aligned = [
        Candidate(c.name, c.metric, c.segment, c.values.reindex(window.index)) for c in candidates
    ]
    # Candidates hold Series, so sort them by a flag rather than compare them.
    complete = [bool(c.values.notna().all()) for c in aligned]
    usable = [c for c, ok in zip(aligned, complete, strict=True) if ok]
    warnings = [
        f"{c.name} has gaps in the period and is not used"
        for c, ok in zip(aligned, complete, strict=True)
        if not ok
    ]
    if explicit:
        chosen = [(c, tracking(window.iloc[:n_pre], c.values.iloc[:n_pre])) for c in usable]
        excluded: list[str] = []
    else:
        chosen, excluded = choose_controls(window, usable, n_pre, grain, seed=seed)
    x = np.column_stack([c.values.to_numpy(float) for c, _ in chosen]) if chosen else None
    seasons = seasons_for(grain, n_pre)
    y = window.to_numpy(float)
    prior = question.prior
    fit = counterfactual(y, x, n_pre, seasons=seasons, alpha=alpha, seed=seed, prior=prior)
    periods = [label(d, grain) for d in window.index]
    checked = (
        placebo(
            y[:n_pre],
            None if x is None else x[:n_pre],
            n_pre,
            n_post,
            seasons,
            periods,
            alpha=alpha,
            seed=seed,
            prior=prior,
        )
        if run_placebo
        else None
    )
    if not chosen:
        warnings.append(
            "no control series tracks this metric before the date, so the prediction rests on "
            "its own past only: anything else that changed at the same time counts as effect"
        )
    controls = [
        Control(name=c.name, metric=c.metric, segment=dict(c.segment), tracking=clean(score))
        for c, score in chosen
    ]
    text = describe(question, fit, controls, checked, grain, periods[n_pre], periods[-1])
    return ImpactResult(
        project=question.project,
        metric=question.metric,
        label=question.label,
        intervention=question.intervention,
        segment=dict(question.segment),
        grain=grain,
        start=periods[n_pre],
        end=periods[-1],
        pre_start=periods[0],
        average=_summary(fit.average),
        cumulative=_summary(fit.cumulative),
        p_value=fit.p_value,
        tail_probability=fit.tail,
        probability_of_effect=fit.probability_of_effect,
        significant=fit.significant,
        alpha=alpha,
        seasons=seasons,
        prior=prior,
        controls=controls,
        excluded=excluded,
        placebo=checked,
        series=_series(fit, periods),
        text=text,
        warnings=warnings,
    )


def _series(fit: Counterfactual, periods: list[str]) -> ImpactSeries:
    return ImpactSeries(
        periods=periods,
        actual=[clean(v) for v in fit.actual],
        predicted=[clean(v) for v in fit.predicted],
        lower=[clean(v) for v in fit.lower],
        upper=[clean(v) for v in fit.upper],
    )


def parse_segment(text: str) -> dict[str, str]:
    """`platform=android,app_version=4.2.0` as a dict; SegmentError when malformed."""
    out: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise SegmentError(
                f"'{text}' is not a segment: write dimension=value, several joined by commas "
                "(platform=android,app_version=4.2.0)"
            )
        out[key.strip()] = value.strip()
    return out


def segment_words(segment: Mapping[str, str]) -> str:
    return " & ".join(f"{k}={v}" for k, v in segment.items())


def describe(
    question: Question,
    fit: Counterfactual,
    controls: list[Control],
    checked: Placebo | None,
    grain: Grain,
    start: str,
    end: str,
) -> str:
    """CausalImpact's summary in a few plain sentences."""
    a = fit.average
    who = question.label + (f" ({segment_words(question.segment)})" if question.segment else "")
    what = question.intervention or f"the change on {question.at}"
    level = round(100 * (1 - fit.alpha))
    sentences = [
        f"From {start} to {end}, after {what}, {who} averaged {fmt(a.actual)} per {grain} "
        f"against {fmt(a.predicted)} expected without it ({level}% interval "
        f"{fmt(a.predicted_interval[0])} to {fmt(a.predicted_interval[1])}).",
        f"The effect is {fmt(a.effect)} per {grain} ({pct(a.relative)}, {level}% interval "
        f"{pct(a.relative_interval[0])} to {pct(a.relative_interval[1])}), "
        f"{fmt(fit.cumulative.effect)} in total.",
    ]
    if fit.significant:
        sentences.append(
            f"The probability of a real effect is {fit.probability_of_effect:.1%} "
            f"(p = {fit.p_value:.3f}): it is unlikely to be chance."
        )
    else:
        sentences.append(
            f"With p = {fit.p_value:.3f} this is not significant: the change is within what "
            "the series does on its own, so no effect can be claimed."
        )
    if controls:
        names = ", ".join(c.name for c in controls)
        sentences.append(f"The prediction follows {names}, which tracked it before the date.")
    if checked is not None and checked.dates:
        runs = len(checked.dates)
        sentences.append(
            f"At {runs} fake dates before it, the same model found an effect {checked.significant} "
            f"time{'s' if checked.significant != 1 else ''}"
            + (" (so treat this with caution)." if (checked.rate or 0) > 0.2 else ".")
        )
        if (checked.rate or 0) > 0.2 and question.prior == "causalimpact":
            sentences.append(
                "The level wanders more than CausalImpact's default prior expects: measure "
                "again with the vague prior (--prior vague) before trusting the verdict."
            )
    return " ".join(sentences)


class RankedImpact(BaseModel):
    model_config = ConfigDict(frozen=True)

    intervention: str
    date: str
    segment: dict[str, str]
    metric: str
    label: str
    relative: float | None
    relative_interval: list[float | None]
    effect: float | None
    p_value: float
    significant: bool


class ImpactRanking(Result):
    """Every declared intervention's effect on the North Star and its inputs."""

    project: str
    north_star: str | None
    rows: list[RankedImpact]
    skipped: list[str] = Field(default_factory=list)

    def summary(self) -> list[str]:
        lines = []
        for row in self.rows:
            if row.metric != self.north_star:
                continue
            verdict = "significant" if row.significant else "not significant"
            lines.append(
                f"{row.intervention} ({row.date}): {row.label} {pct(row.relative)} "
                f"[{pct(row.relative_interval[0])}, {pct(row.relative_interval[1])}], {verdict}."
            )
        return lines or ["No intervention could be measured."]


def rank(
    results: list[tuple[str, str, ImpactResult]],
    project: str,
    north_star: str | None,
    skipped: list[str],
) -> ImpactRanking:
    """Rows sorted by the size of the relative effect, significant ones first."""
    rows = [
        RankedImpact(
            intervention=name,
            date=day,
            segment=r.segment,
            metric=r.metric,
            label=r.label,
            relative=r.average.relative,
            relative_interval=r.average.relative_interval,
            effect=r.average.effect,
            p_value=r.p_value,
            significant=r.significant,
        )
        for name, day, r in results
    ]
    rows.sort(
        key=lambda row: (row.metric != north_star, not row.significant, -abs(row.relative or 0.0))
    )
    return ImpactRanking(project=project, north_star=north_star, rows=rows, skipped=skipped)
