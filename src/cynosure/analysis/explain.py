"""Why did a metric move? Its change through the tree, through segments, in context.

`explain` answers Monday's question in four parts:

1. *Through the tree*: the change split exactly along formula edges, recursively, and
   estimated (with intervals) along driver edges (`cynosure.tree.breakdown`). The *path* is
   the chain of children that carried most of each parent's change.
2. *Through segments*: the combinations of dimension values that account for the change
   (`cynosure.analysis.localize`), on the metric itself or, when it does not split by
   segment (a product of two metrics, a retention), on the deepest metric of the path that
   does. For a ratio each segment's part is split into mix (its size changed) and rate
   (behaviour within it changed).
3. *Context*: how unusual the change is for this series, and which declared interventions
   touch the period.
4. *A narrative*: a few sentences with the numbers, ready to paste.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from cynosure.analysis.context import (
    NearbyIntervention,
    Unusualness,
    nearby_interventions,
    unusualness,
)
from cynosure.analysis.localize import Cause, Localization, localize
from cynosure.analysis.prepare import complete_periods
from cynosure.engine.compute import period_is_complete
from cynosure.engine.periods import Grain, label
from cynosure.engine.rollup import Rollup
from cynosure.engine.segments import Split, segment_leaves, split_for_segments
from cynosure.results import Result, clean, fmt, pct
from cynosure.tree.breakdown import Part, breakdown

if TYPE_CHECKING:
    from cynosure.api import Project

PATH_SHARE = 0.5  # a child is on the path when it carried at least this share of its parent's
MAX_SEGMENTS = 5
MAX_SENTENCES = 6


class ExplainNode(BaseModel):
    """One metric of the explained metric's subtree and its part of the change."""

    model_config = ConfigDict(frozen=True)

    metric: str
    label: str
    parent: str | None
    depth: int
    edge: str | None  # "formula" (exact) or "driver" (estimated)
    value: float | None
    baseline_value: float | None
    change: float | None
    contribution: float | None  # to the explained metric's change
    share_of_change: float | None
    interval: list[float] | None  # 95% interval of an estimated contribution
    estimated: bool
    unexplained: float | None  # what this metric's drivers leave unexplained
    owner: str | None


class SegmentCause(BaseModel):
    """A segment that accounts for part of the change."""

    model_config = ConfigDict(frozen=True)

    segment: dict[str, str]
    actual: float | None
    expected: float | None  # the segment's value in the baseline
    change: float | None  # its part of the segmented metric's change, in that metric's units
    share_of_change: float | None  # of the segmented metric's change
    contribution: float | None  # its part of the explained metric's change (through the tree)
    effect: str  # "size" (additive metric), "rate" or "mix" (ratio metric)
    rate_effect: float | None = None
    mix_effect: float | None = None


ADVERB = {"day": "daily", "week": "weekly", "month": "monthly"}


class ExplainResult(Result):
    """Why a metric moved between two periods."""

    project: str
    metric: str
    label: str
    grain: str
    period: str
    baseline: str
    period_complete: bool
    value: float | None
    baseline_value: float | None
    change: float | None
    change_relative: float | None
    tree: list[ExplainNode]
    path: list[str]
    segments_metric: str | None
    segments_label: str | None
    segments_kind: str | None  # "additive" or "ratio"
    segments: list[SegmentCause]
    segments_explained: float | None
    segments_note: str | None
    context: Unusualness
    interventions: list[NearbyIntervention]
    narrative: str
    warnings: list[str] = Field(default_factory=list)

    def summary(self) -> list[str]:
        return [self.narrative, *(f"Warning: {w}" for w in self.warnings)]


def explain(
    project: Project,
    metric: str,
    frame: pd.DataFrame,
    grain: Grain,
    current: date,
    before: date,
    first: date,
    last: date,
) -> ExplainResult:
    """Explain the change of `metric` from `before` to `current` (periods of `grain`)."""
    spec = project.spec
    labels = {n: project.label(n) for n in project.metric_names}
    complete = complete_periods(frame, grain, first, last)
    history = complete[complete.index < current]
    parts = breakdown(spec.tree, metric, frame, current, before, history)
    path = _path(parts)
    top = parts[0]
    nodes = [_node(p, top.change, labels, spec.model.metrics[p.metric].owner) for p in parts]
    chosen, split, note = _segmented_metric(project, path)
    causes: list[SegmentCause] = []
    explained = None
    kind = None
    if split is not None and chosen is not None:
        model = spec.model
        rollup = Rollup(
            project.con,
            project.events_source,
            model.events,
            spec.plan,
            model.timezone,
            by=tuple(model.events.dimensions),
            prefix="cynosure_segments",
        )
        leaves = segment_leaves(
            project.con, rollup, split, grain, model.week_start, current, before
        )
        found = _localize(leaves.frame, list(leaves.dimensions), split)
        carried = next(p for p in parts if p.metric == chosen)
        scale = (carried.contribution or 0.0) / carried.change if carried.change else None
        causes = [_cause(c, scale) for c in found.causes[:MAX_SEGMENTS]]
        explained = clean(found.explained_share)
        kind = found.kind
    series = complete[metric]
    if current not in series.index:  # a partial period is compared as it stands
        series = frame[metric].loc[[*list(series.index), current]]
    context = unusualness(series, current, before, grain)
    nearby = nearby_interventions(spec.model.interventions, current, before, grain)
    result = ExplainResult(
        project=project.name,
        metric=metric,
        label=labels[metric],
        grain=grain,
        period=label(current, grain),
        baseline=label(before, grain),
        period_complete=period_is_complete(current, grain, first, last),
        value=clean(top.value),
        baseline_value=clean(top.baseline_value),
        change=clean(top.change),
        change_relative=clean(top.change / abs(top.baseline_value)) if top.baseline_value else None,
        tree=nodes,
        path=path,
        segments_metric=chosen if split is not None else None,
        segments_label=labels[chosen] if split is not None and chosen else None,
        segments_kind=kind,
        segments=causes,
        segments_explained=explained,
        segments_note=note,
        context=context,
        interventions=nearby,
        narrative="",
    )
    return result.model_copy(update={"narrative": narrate(result, labels)})


def _localize(frame: pd.DataFrame, dims: list[str], split: Split) -> Localization:
    if split.is_ratio:
        return localize(
            frame,
            dims,
            numerator=("num_actual", "num_expected"),
            denominator=("den_actual", "den_expected"),
        )
    return localize(frame, dims, actual="num_actual", expected="num_expected")


def _cause(cause: Cause, scale: float | None) -> SegmentCause:
    return SegmentCause(
        segment=dict(cause.segment),
        actual=clean(cause.actual),
        expected=clean(cause.expected),
        change=clean(cause.change),
        share_of_change=clean(cause.share_of_change),
        contribution=clean(cause.change * scale) if scale is not None else None,
        effect=cause.effect,
        rate_effect=clean(cause.rate_effect),
        mix_effect=clean(cause.mix_effect),
    )


def _node(part: Part, total: float, labels: dict[str, str], owner: str | None) -> ExplainNode:
    share = part.contribution / total if part.contribution is not None and total else None
    return ExplainNode(
        metric=part.metric,
        label=labels.get(part.metric, part.metric),
        parent=part.parent,
        depth=part.depth,
        edge=part.edge,
        value=clean(part.value),
        baseline_value=clean(part.baseline_value),
        change=clean(part.change),
        contribution=clean(part.contribution),
        share_of_change=clean(share),
        interval=[clean(v) or 0.0 for v in part.interval] if part.interval else None,
        estimated=part.estimated,
        unexplained=clean(part.unexplained),
        owner=owner,
    )


def _path(parts: list[Part]) -> list[str]:
    """From the top down: at each level, the child that carried most of its parent's part
    (in the same direction, at least PATH_SHARE of it, and for an estimate, an interval
    that excludes zero)."""
    path = [parts[0].metric]
    while True:
        here = next(p for p in parts if p.metric == path[-1])
        if not here.contribution:
            return path
        children = [p for p in parts if p.parent == here.metric and p.contribution is not None]
        if not children:
            return path
        best = max(children, key=lambda p: abs(p.contribution or 0.0))
        share = (best.contribution or 0.0) / here.contribution
        if share < PATH_SHARE:
            return path
        if best.interval is not None and best.interval[0] <= 0 <= best.interval[1]:
            return path
        path.append(best.metric)


def _segmented_metric(
    project: Project, path: list[str]
) -> tuple[str | None, Split | None, str | None]:
    """The metric to split by segment: the deepest metric of the path that splits (where the
    change happened), else the explained one; with a note saying which, or why none."""
    if not project.spec.model.events.dimensions:
        return None, None, "the project declares no dimensions to segment by"
    reasons = []
    for name in reversed(path):
        split = split_for_segments(name, project.spec.plan)
        if isinstance(split, Split):
            note = None
            if name != path[0]:
                note = (
                    f"segments are those of {project.label(name)}, the metric on the tree path "
                    "that carried the change"
                )
            return name, split, note
        reasons.append(split)
    return None, None, reasons[-1]


def narrate(result: ExplainResult, labels: dict[str, str]) -> str:
    """Three to six sentences a product manager can paste into a status update."""
    parts = [
        _headline(result),
        _context_sentence(result),
        _seasonal_sentence(result),
        _tree_sentence(result, labels),
        _segments_sentence(result, labels),
    ]
    sentences = [p for p in parts if p]
    room = MAX_SENTENCES - len(sentences)
    sentences += [_intervention_sentence(i) for i in result.interventions[: max(room, 0)]]
    return " ".join(sentences)


def _headline(r: ExplainResult) -> str:
    compared = f"in {r.period}, compared with {fmt(r.baseline_value)} in {r.baseline}"
    if not r.change:
        return f"{r.label} was unchanged at {fmt(r.value)} {compared}."
    verb = "rose" if r.change > 0 else "fell"
    size = f"{abs(r.change_relative) * 100:.1f}% " if r.change_relative is not None else ""
    partial = " (a partial period: its numbers are not final)" if not r.period_complete else ""
    return f"{r.label} {verb} {size}({fmt(r.change)}) to {fmt(r.value)} {compared}{partial}."


def _context_sentence(r: ExplainResult) -> str | None:
    c = r.context
    if c.z is None:
        return None
    span = ""
    if c.typical_low is not None and c.typical_high is not None:
        show = pct if c.relative else fmt
        span = (
            f"; 95% of {ADVERB.get(r.grain, r.grain)} changes lie between "
            f"{show(c.typical_low)} and {show(c.typical_high)}"
        )
    if not c.unusual:
        return f"That is within this metric's usual range (robust z = {c.z:.1f}{span})."
    direction = "rise" if (r.change or 0) > 0 else "drop"
    since = (
        f"the largest {direction} since {c.largest_since}"
        if c.largest_since
        else f"the largest {direction} in the {c.history} {r.grain}s of history"
    )
    return (
        f"That is unusual for this metric (robust z = {c.z:.1f}, beyond ±{c.threshold or 0:.1f}"
        f"{span}): {since}."
    )


def _seasonal_sentence(r: ExplainResult) -> str | None:
    """When the same period a year earlier moved as much the same way."""
    c = r.context
    moved = r.change_relative if c.relative else r.change
    last = c.last_year
    if last is None or not moved or last * moved <= 0 or abs(last) < abs(moved) / 2:
        return None
    said = pct(last) if c.relative else fmt(last)
    return f"A year earlier the same {r.grain} moved {said} too: part of it may be seasonal."


def _tree_sentence(r: ExplainResult, labels: dict[str, str]) -> str | None:
    if len(r.path) < 2 or not r.change:
        return None
    steps = []
    for parent, child in zip(r.path, r.path[1:], strict=False):
        node = next(n for n in r.tree if n.metric == child and n.parent == parent)
        base, moved = node.baseline_value, node.change
        own = pct(moved / abs(base)) if base and moved is not None else "n/a"
        share = f"{abs(node.share_of_change or 0) * 100:.0f}%"
        estimated = " (estimated)" if node.estimated else ""
        steps.append(
            f"{labels.get(child, child)} ({own} itself) carried {fmt(node.contribution)}, "
            f"{share} of it{estimated}"
        )
    return "Through the metric tree: " + "; within that, ".join(steps) + "."


def segment_name(segment: dict[str, str]) -> str:
    """`platform=android & app_version=4.2.0`."""
    return " & ".join(f"{k}={v}" for k, v in segment.items())


def _segments_sentence(r: ExplainResult, labels: dict[str, str]) -> str | None:
    if not r.segments or r.segments_metric is None:
        return None
    top = r.segments[0]
    subject = scaled = ""
    if r.segments_metric != r.metric:
        subject = f" in {labels[r.segments_metric]}"
        if top.contribution is not None:
            scaled = f", about {fmt(top.contribution)} of {r.label}"
    share = f"{abs(top.share_of_change or 0) * 100:.0f}%"
    how = {
        "rate": ", through behaviour within it (rate), not its size",
        "mix": ", because its share changed (mix), not behaviour within it",
    }.get(top.effect, "")
    sentence = (
        f"By segment, {segment_name(top.segment)} accounts for {share} of the change{subject} "
        f"({fmt(top.change)}: {fmt(top.expected)} → {fmt(top.actual)}{how}){scaled}"
    )
    others = r.segments[1:3]
    if others:
        listed = ", ".join(
            f"{segment_name(s.segment)} ({abs(s.share_of_change or 0) * 100:.0f}%)" for s in others
        )
        sentence += f"; then {listed}"
    return sentence + "."


def _intervention_sentence(item: NearbyIntervention) -> str:
    dates = str(item.date) + (f" to {item.end}" if item.end else "")
    where = f" on {segment_name(item.segment)}" if item.segment else ""
    return f"'{item.name}' ({dates}{where}) falls {item.when.replace('during', 'within')}."
