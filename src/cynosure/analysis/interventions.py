"""From a project to impact questions: which series, which dates, which candidate controls.

`cynosure impact METRIC --at DATE` or `--intervention NAME` measures one metric; `--all`
measures every declared intervention on the North Star and its direct inputs and ranks them.
An intervention with a segment is measured on that segment's series, with the same metric
in the segments it did not touch as candidate controls (each other value of each of its
dimensions); without a segment, the candidates are the metrics outside the measured
metric's line in the tree (its ancestors and descendants move with it by construction).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Protocol

import pandas as pd

from cynosure.analysis.counterfactual import LEVEL_PRIORS
from cynosure.analysis.impact import (
    Candidate,
    ImpactRanking,
    ImpactResult,
    Question,
    measure,
    rank,
    segment_words,
)
from cynosure.engine.periods import Grain, next_start, period_start
from cynosure.engine.segments import NONE_VALUE
from cynosure.errors import CynosureError, OptionError, PeriodError, UnknownMetricError
from cynosure.metrics.expressions import did_you_mean
from cynosure.project.model import Intervention
from cynosure.tree.structure import Tree

MAX_SEGMENT_CANDIDATES = 6
# Without an end, a launch is read over its first 8 weeks (3 months at month grain): long
# enough for the effect to settle, short enough that later changes do not pile up in it.
DEFAULT_POST = {"day": 56, "week": 8, "month": 3}


def default_until(
    at: date, grain: Grain, interventions: list[Intervention], week_start: str
) -> date:
    """The last day measured when none is given: DEFAULT_POST periods from `at`, or the day
    before the next declared intervention if that comes first."""
    start = period_start(at, grain, week_start)
    for _ in range(DEFAULT_POST[grain]):
        start = next_start(start, grain)
    end = start - timedelta(days=1)
    later = [i.date for i in interventions if i.date > at]
    return min([end, *(d - timedelta(days=1) for d in later)])


class ImpactSource(Protocol):
    """What the analysis needs from a project (a `cynosure.Project`)."""

    @property
    def name(self) -> str: ...

    @property
    def north_star(self) -> str | None: ...

    def label(self, metric: str) -> str: ...

    def complete_series(
        self, grain: Grain, segment: Mapping[str, str] | None = None
    ) -> pd.DataFrame: ...

    def dimension_values(self, dimension: str) -> list[str]: ...


def find_intervention(interventions: list[Intervention], name: str) -> Intervention:
    for item in interventions:
        if item.name == name:
            return item
    names = [i.name for i in interventions]
    hint = did_you_mean(name, names)
    listed = ", ".join(names) if names else "none are declared"
    raise PeriodError(
        f"no intervention is named '{name}'" + (f"; {hint}" if hint else f" ({listed})")
    )


def lineage(tree: Tree, metric: str) -> set[str]:
    """The metric, its ancestors and its descendants in the tree."""
    out = {metric}
    parent = tree.parent_of(metric)
    while parent is not None and parent not in out:
        out.add(parent)
        parent = tree.parent_of(parent)
    stack = [metric]
    while stack:
        edge = tree.edges.get(stack.pop())
        for child in edge.children if edge else ():
            if child not in out:
                out.add(child)
                stack.append(child)
    return out


def segment_candidates(
    source: ImpactSource, metric: str, segment: Mapping[str, str], grain: Grain
) -> list[Candidate]:
    """The metric in each segment that differs from `segment` in one dimension's value."""
    out = []
    for dimension, value in segment.items():
        others = [v for v in source.dimension_values(dimension) if v not in (value, NONE_VALUE)]
        out += [
            in_segment(source, metric, {**segment, dimension: other}, grain)
            for other in others[:MAX_SEGMENT_CANDIDATES]
        ]
    return out


def in_segment(
    source: ImpactSource, metric: str, segment: Mapping[str, str], grain: Grain
) -> Candidate:
    """The metric's series in `segment`, as a candidate control."""
    return Candidate(
        f"{source.label(metric)} ({segment_words(segment)})",
        metric,
        dict(segment),
        source.complete_series(grain, segment)[metric],
    )


def metric_candidates(
    source: ImpactSource, names: list[str], frame: pd.DataFrame, segment: Mapping[str, str]
) -> list[Candidate]:
    suffix = f" ({segment_words(segment)})" if segment else ""
    return [Candidate(source.label(n) + suffix, n, dict(segment), frame[n]) for n in names]


def impact_one(
    source: ImpactSource,
    tree: Tree,
    metrics: list[str],
    metric: str,
    *,
    at: date,
    until: date | None,
    intervention: str | None,
    segment: Mapping[str, str],
    control_segments: list[Mapping[str, str]],
    control_metrics: list[str],
    grain: Grain,
    placebo: bool = True,
    seed: int = 0,
    prior: str = "causalimpact",
) -> ImpactResult:
    """The effect on `metric` (in `segment`) of what happened at `at`."""
    frame = source.complete_series(grain, segment or None)
    question = Question(
        project=source.name,
        metric=metric,
        label=source.label(metric),
        intervention=intervention,
        segment=dict(segment),
        grain=grain,
        at=at,
        until=until,
        prior=prior,
    )
    explicit = bool(control_segments or control_metrics)
    if explicit:
        candidates = [in_segment(source, metric, s, grain) for s in control_segments]
        candidates += metric_candidates(source, control_metrics, frame, segment)
    elif segment:
        candidates = segment_candidates(source, metric, segment, grain)
    else:
        related = lineage(tree, metric)
        candidates = metric_candidates(
            source, [n for n in metrics if n not in related], frame, segment
        )
    return measure(
        question, frame[metric], candidates, explicit=explicit, run_placebo=placebo, seed=seed
    )


def impact_all(
    source: ImpactSource,
    tree: Tree,
    metrics: list[str],
    interventions: list[Intervention],
    grain: Grain,
    week_start: str,
    *,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> ImpactRanking:
    """Every declared intervention on the North Star and its direct inputs, ranked."""
    targets = []
    if source.north_star:
        targets.append(source.north_star)
        edge = tree.edges.get(source.north_star)
        targets += list(edge.children) if edge else []
    results: list[tuple[str, str, ImpactResult]] = []
    skipped: list[str] = []
    for item in interventions:
        segment = {k: str(v) for k, v in item.segment.items()}
        for metric in targets:
            if progress:
                progress(f"Measuring {item.name} on {metric}")
            try:
                result = impact_one(
                    source,
                    tree,
                    metrics,
                    metric,
                    at=item.date,
                    until=item.end or default_until(item.date, grain, interventions, week_start),
                    intervention=item.name,
                    segment=segment,
                    control_segments=[],
                    control_metrics=[],
                    grain=grain,
                    placebo=False,
                    seed=seed,
                )
            except CynosureError as exc:
                skipped.append(f"{item.name} on {metric}: {exc}")
                continue
            results.append((item.name, item.date.isoformat(), result))
    return rank(results, source.name, source.north_star, skipped)


def check_prior(prior: str) -> None:
    if prior not in LEVEL_PRIORS:
        allowed = " or ".join(LEVEL_PRIORS)
        raise OptionError(f"the prior must be {allowed}, not '{prior}'")


def check_metrics(names: list[str], known: list[str]) -> None:
    for name in names:
        if name not in known:
            hint = did_you_mean(name, known)
            raise UnknownMetricError(f"no metric is named '{name}'" + (f"; {hint}" if hint else ""))
