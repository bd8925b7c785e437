"""The Python API: `Project.load(path)` and one method per question. The CLI only calls this."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from cynosure.analysis.aha import AhaResult, Search, aha_result
from cynosure.analysis.candidates import CandidatesResult, score_candidates
from cynosure.analysis.check import CheckResult
from cynosure.analysis.explain import ExplainResult, explain
from cynosure.analysis.gather import Inputs, candidate_names, gather
from cynosure.analysis.impact import ImpactRanking, ImpactResult
from cynosure.analysis.interventions import (
    check_metrics,
    check_prior,
    default_until,
    find_intervention,
    impact_all,
    impact_one,
)
from cynosure.analysis.leadlag import LeadLagResult, leadlag_result, pairs_to_test
from cynosure.analysis.prepare import complete_periods
from cynosure.analysis.targets import TargetsResult, targets_result
from cynosure.analysis.watch import (
    Alert,
    Check,
    WatchResult,
    alert_for,
    baseline_for,
    check,
    guardrail_alert,
)
from cynosure.engine.behaviours import behaviour_histograms
from cynosure.engine.compute import compute_series, period_is_complete
from cynosure.engine.connection import connect
from cynosure.engine.datacheck import check_data
from cynosure.engine.entities import start_days
from cynosure.engine.periods import (
    Grain,
    check_grain,
    label,
    next_start,
    parse_period,
    period_start,
)
from cynosure.engine.rollup import Progress, Rollup
from cynosure.engine.segment_series import SegmentSeries
from cynosure.engine.sources import Source
from cynosure.errors import (
    CynosureError,
    DataError,
    NoEventsError,
    PeriodError,
    ProjectError,
    UnknownMetricError,
)
from cynosure.metrics.expressions import did_you_mean
from cynosure.project.load import Spec, inspect_spec, read_text, sort_problems
from cynosure.results import MetricsResult, Point, RefreshResult
from cynosure.tree.compute import TreeResult, build_tree_result, check_identities, choose_periods


class Project:
    """A North Star project: its definitions (`cynosure.yml`), its data and its warehouse.

    Example:
        >>> project = Project.load("cynosure.yml")
        >>> project.tree().summary()
    """

    def __init__(self, spec: Spec, con: BaseBackend, events: Source, entities: Source | None):
        self.spec = spec
        self.con = con
        self.events_source = events
        self.entities_source = entities
        self._rollup = Rollup(con, events, spec.model.events, spec.plan, spec.model.timezone)
        self._series: dict[str, tuple[pd.DataFrame, date, date]] = {}
        self._fresh = False
        self._segments: SegmentSeries | None = None
        self._segment_frames: dict[tuple[str, tuple[tuple[str, str], ...]], pd.DataFrame] = {}

    @classmethod
    def load(cls, path: str | Path = "cynosure.yml", *, memory_limit: str | None = None) -> Project:
        """Read the project file and check it against its data.

        Raises:
            ProjectError: listing every problem found, each with its file position.
        """
        file, text = read_text(path)
        spec, problems = inspect_spec(text, file)
        if spec is None:
            raise ProjectError(sort_problems(problems))
        try:
            con = connect(spec.model.warehouse, spec.base_dir, memory_limit=memory_limit)
        except DataError as exc:
            problems.append(spec.problem(("warehouse",), str(exc)))
            raise ProjectError(sort_problems(problems)) from None
        data_problems, events, entities = check_data(spec, con)
        problems += data_problems
        if problems or events is None:
            raise ProjectError(sort_problems(problems))
        return cls(spec, con, events, entities)

    # -- facts ------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.spec.model.project

    @property
    def north_star(self) -> str | None:
        return self.spec.model.north_star

    @property
    def metric_names(self) -> list[str]:
        return list(self.spec.model.metrics)

    def label(self, metric: str) -> str:
        return self.spec.model.metrics[metric].label or metric

    # -- running ----------------------------------------------------------------------------

    def refresh(self, *, full: bool = False, progress: Progress | None = None) -> RefreshResult:
        """Bring the entity x day rollup up to date (incrementally unless `full`)."""
        stats = self._rollup.refresh(full=full, progress=progress)
        self._series.clear()
        self._segments = None  # rebuilt (incrementally) on next use
        self._segment_frames.clear()
        self._fresh = True
        return RefreshResult(
            rollup=stats.rollup,
            full=stats.full,
            events=stats.events,
            skipped_events=stats.skipped_events,
            days_recomputed=stats.days_recomputed,
            files_read=stats.units_read,
            files_rescanned=stats.units_rescanned,
            rows=stats.rows,
            seconds=round(stats.seconds, 3),
        )

    def series(self, grain: str = "week", *, progress: Progress | None = None) -> pd.DataFrame:
        """Every metric at `grain` as a DataFrame indexed by period start.

        The first call on a Project refreshes the rollup; later calls reuse it until
        `refresh()` is called again (a long-running process calls it to see new events).
        """
        return self._computed(check_grain(grain), progress)[0]

    def _computed(self, grain: Grain, progress: Progress | None) -> tuple[pd.DataFrame, date, date]:
        if not self._fresh:
            self.refresh(progress=progress)
        if grain not in self._series:
            if progress:
                progress(f"Computing every metric by {grain}")
            rollup = self._rollup.table()
            self._series[grain] = compute_series(
                self.con,
                rollup,
                self._starts(rollup),
                self.spec.plan,
                grain,
                self.spec.model.week_start,
            )
        return self._series[grain]

    def metrics(
        self,
        grain: str = "week",
        *,
        start: str | date | None = None,
        end: str | date | None = None,
        names: list[str] | None = None,
        progress: Progress | None = None,
    ) -> MetricsResult:
        """The metrics over time (all, or `names`), optionally between `start` and `end`."""
        checked = check_grain(grain)
        for name in names or []:
            self.need_metric(name)
        frame, first, last = self._computed(checked, progress)
        low = self._bound(start, checked, end=False)
        high = self._bound(end, checked, end=True)
        rows = [d for d in frame.index if (low is None or d >= low) and (high is None or d <= high)]
        chosen = names or self.metric_names
        series = {
            name: [
                Point(
                    period=label(d, checked),
                    start=d,
                    value=_value(frame.at[d, name]),
                    complete=period_is_complete(d, checked, first, last),
                )
                for d in rows
            ]
            for name in chosen
        }
        return MetricsResult(
            project=self.name,
            grain=checked,
            north_star=self.north_star,
            labels={n: self.label(n) for n in chosen},
            metrics=series,
        )

    def tree(
        self,
        period: str | None = None,
        baseline: str | None = None,
        *,
        grain: str | None = None,
        progress: Progress | None = None,
    ) -> TreeResult:
        """The metric tree at `period` against `baseline`, with exact contributions."""
        chosen: Grain = check_grain(grain) if grain else "week"
        if period is not None:
            chosen, _ = parse_period(period, self.spec.model.week_start)
        frame, first, last = self._computed(chosen, progress)
        return build_tree_result(self, frame, chosen, first, last, period, baseline)

    def explain(
        self,
        metric: str | None = None,
        period: str | None = None,
        baseline: str | None = None,
        *,
        grain: str | None = None,
        progress: Progress | None = None,
    ) -> ExplainResult:
        """Why `metric` (default: the North Star) moved in `period` against `baseline`.

        Args:
            metric: The metric to explain.
            period: A period such as 2026-W37, 2026-09 or 2026-09-14 (default: the last
                complete week, or period of `grain`).
            baseline: A period of the same grain, "previous" (the default) or "last-year"
                (the same period a year earlier; 52 weeks earlier for weeks and days).
            grain: day, week or month, when `period` is not given.
            progress: Told what is being computed.

        Returns:
            The change split through the tree and by segment, its context and a narrative.

        Raises:
            UnknownMetricError: When no metric has that name.
            PeriodError: When a period is malformed, has no data, or has no baseline.
        """
        name = metric or self.north_star
        if name is None:
            raise UnknownMetricError("name the metric to explain: the project has no north_star")
        self.need_metric(name)
        chosen: Grain = check_grain(grain) if grain else "week"
        if period is not None:
            chosen, _ = parse_period(period, self.spec.model.week_start)
        frame, first, last = self._computed(chosen, progress)
        current, before = choose_periods(
            frame, chosen, self.spec.model.week_start, first, last, period, baseline
        )
        if progress:
            progress("Splitting the change by segment")
        return explain(self, name, frame, chosen, current, before, first, last)

    def impact(
        self,
        metric: str | None = None,
        *,
        at: str | date | None = None,
        until: str | date | None = None,
        intervention: str | None = None,
        segment: Mapping[str, str] | None = None,
        control_segments: Sequence[Mapping[str, str]] | None = None,
        control_metrics: list[str] | None = None,
        grain: str = "day",
        placebo: bool = True,
        seed: int = 0,
        prior: str = "causalimpact",
        progress: Progress | None = None,
    ) -> ImpactResult:
        """What an intervention did to `metric` (default: the North Star).

        Args:
            metric: The metric measured.
            at: The first day of the change (or give `intervention`).
            until: The last day measured (default: the intervention's end, else 8 weeks on,
                or the day before the next declared intervention if that comes first).
            intervention: The name of an intervention of the project file: its date, end and
                segment are used.
            segment: Measure the metric in this segment only (dimension -> value); default:
                the intervention's segment.
            control_segments: Segments whose same metric serves as controls.
            control_metrics: Metrics that serve as controls.
            grain: day (the default), week or month.
            placebo: Also run the model at fake dates before the real one.
            seed: Seed of the posterior draws.
            prior: The level's prior: "causalimpact" (R's default, the default) or "vague"
                (for a metric whose level wanders; see the placebo check).
            progress: Told what is being computed.

        Returns:
            The counterfactual, the effect with its intervals and tail probability, the
            controls used, the placebo check and a summary.
        """
        name = metric or self.north_star
        if name is None:
            raise UnknownMetricError("name the metric to measure: the project has no north_star")
        self.need_metric(name)
        check_metrics(control_metrics or [], self.metric_names)
        checked = check_grain(grain)
        check_prior(prior)
        start, end, chosen = _dated(at), _dated(until), dict(segment or {})
        if intervention is not None:
            item = find_intervention(self.spec.model.interventions, intervention)
            start = start or item.date
            end = end or item.end
            chosen = chosen or {k: str(v) for k, v in item.segment.items()}
        if start is None:
            raise PeriodError("say when the change happened: --at DATE or --intervention NAME")
        if end is None:
            interventions = list(self.spec.model.interventions)
            end = default_until(start, checked, interventions, self.spec.model.week_start)
        if progress:
            progress(f"Computing {name} by {checked}")
        return impact_one(
            self,
            self.spec.tree,
            self.metric_names,
            name,
            at=start,
            until=end,
            intervention=intervention,
            segment=chosen,
            control_segments=[dict(s) for s in control_segments or []],
            control_metrics=control_metrics or [],
            grain=checked,
            placebo=placebo,
            seed=seed,
            prior=prior,
        )

    def impact_all(
        self, *, grain: str = "day", seed: int = 0, progress: Progress | None = None
    ) -> ImpactRanking:
        """Every declared intervention's effect on the North Star and its direct inputs,
        significant and large effects first."""
        return impact_all(
            self,
            self.spec.tree,
            self.metric_names,
            list(self.spec.model.interventions),
            check_grain(grain),
            self.spec.model.week_start,
            seed=seed,
            progress=progress,
        )

    def watch(
        self,
        *,
        as_of: str | date | None = None,
        grains: Sequence[str] = ("day", "week"),
        explain: bool = True,
        progress: Progress | None = None,
    ) -> WatchResult:
        """Abnormal movements of the North Star, its tree and the guardrails, each explained.

        Args:
            as_of: Check as if the data ended on this day (default: the data's last day).
            grains: The grains checked: the latest complete period of each.
            explain: Explain each alert through the tree and segments.
            progress: Told what is being computed.

        Returns:
            Every check, and the alerts (abnormal moves, guardrails worsening while the
            North Star rises) with their explanations.
        """
        model = self.spec.model
        watched = [m for m, _, _ in self.spec.tree.walk()] or list(filter(None, [self.north_star]))
        watched += [g for g in model.guardrails if g not in watched]
        cutoff = _dated(as_of)
        checks: list[Check] = []
        alerts: list[Alert] = []
        for grain in [check_grain(g) for g in grains]:
            if progress:
                progress(f"Checking the latest complete {grain}")
            frame = self.complete_series(grain)
            if cutoff is not None:
                frame = frame[
                    [next_start(d, grain) <= cutoff + timedelta(days=1) for d in frame.index]
                ]
            found_checks = {
                m: c for m in watched if (c := check(frame[m], grain, m, self.label(m)))
            }
            checks += found_checks.values()
            alerts += [alert_for(c) for c in found_checks.values() if c.abnormal]
            star = found_checks.get(self.north_star or "")
            for guard in model.guardrails:
                if star is None or guard not in found_checks:
                    continue
                better = model.metrics[guard].better or "lower"
                extra = guardrail_alert(found_checks[guard], star, worse_when_up=better == "lower")
                if extra is not None:
                    alerts.append(extra)
        if explain:
            alerts = [self._explained(a, progress) for a in alerts]
        end = cutoff or self._computed("day", progress)[2]
        return WatchResult(project=self.name, as_of=end.isoformat(), checks=checks, alerts=alerts)

    def _explained(self, alert: Alert, progress: Progress | None) -> Alert:
        grain = check_grain(alert.grain)
        _, start = parse_period(alert.period, self.spec.model.week_start)
        try:
            why = self.explain(
                alert.metric,
                alert.period,
                label(baseline_for(start), grain),
                progress=progress,
            )
        except CynosureError:
            return alert
        top = why.segments[0].segment if why.segments else None
        return alert.model_copy(update={"explanation": why.narrative, "segment": top})

    def targets(
        self, metric: str | None = None, *, grain: str | None = None, seed: int = 0
    ) -> TargetsResult:
        """Baseline, forecast, suggested targets and, for each declared target of `metric`
        (default: the North Star), on track, at risk or off track with its probability."""
        name = metric or self.north_star
        if name is None:
            raise UnknownMetricError("name the metric: the project has no north_star")
        self.need_metric(name)
        declared = [t for t in self.spec.model.targets if t.metric == name]
        chosen = check_grain(grain or next((t.grain for t in declared if t.grain), "week"))
        frame = self.complete_series(chosen)
        better = self.spec.model.metrics[name].better or "higher"
        return targets_result(
            self.name,
            name,
            self.label(name),
            frame[name],
            chosen,
            self.spec.model.week_start,
            [(t.value, t.by) for t in declared],
            higher_is_better=better == "higher",
            seed=seed,
        )

    def complete_series(
        self, grain: Grain, segment: Mapping[str, str] | None = None
    ) -> pd.DataFrame:
        """Every metric at `grain` over complete periods, overall or in `segment`."""
        if not segment:
            frame, first, last = self._computed(grain, None)
            if frame.empty:
                raise NoEventsError()
        else:
            key = (grain, tuple(sorted(segment.items())))
            if key not in self._segment_frames:
                starts = self._starts(self._rollup_table())
                result = self._segment_source().series(
                    segment, grain, self.spec.model.week_start, starts
                )
                self._segment_frames[key] = result[0]
            frame = self._segment_frames[key]
            _, first, last = self._computed(grain, None)
        keep = [period_is_complete(d, grain, first, last) for d in frame.index]
        return frame[keep]

    def dimension_values(self, dimension: str) -> list[str]:
        """The values a dimension takes, most events first."""
        return list(self._segment_source().values(dimension)["value"])

    def _segment_source(self) -> SegmentSeries:
        if self._segments is None:
            model = self.spec.model
            self._segments = SegmentSeries(
                self.con, self.events_source, model.events, self.spec.plan, model.timezone
            )
            self._segments.refresh()
        return self._segments

    def _rollup_table(self) -> ir.Table:
        if not self._fresh:
            self.refresh()
        return self._rollup.table()

    def leadlag(
        self,
        grain: str = "week",
        max_lag: int = 8,
        seed: int = 0,
        progress: Progress | None = None,
    ) -> LeadLagResult:
        """Which inputs lead their parent in the tree, and which candidates lead the outcomes.

        Every child of every tree edge is tested against its parent, and every candidate
        metric (the North Star included) against every outcome, on complete periods only.

        Args:
            grain: day, week or month.
            max_lag: The largest lag tried, in periods of `grain`.
            seed: Seed of the bootstrap intervals (same seed, same result).
            progress: Told what is being computed.

        Returns:
            The pairs with their best lag, correlation, intervals and Granger p-value.

        Raises:
            PeriodError: When `grain` is unknown or `max_lag` is below 1.
        """
        checked = check_grain(grain)
        if max_lag < 1:
            raise PeriodError(f"the maximum lag must be at least 1 period, not {max_lag}")
        frame, first, last = self._computed(checked, progress)
        model = self.spec.model
        candidates = [n for n, m in model.metrics.items() if m.candidate]
        if model.north_star and model.north_star not in candidates:
            candidates.insert(0, model.north_star)
        pairs = pairs_to_test(
            [(e.parent, e.children) for e in self.spec.tree.edges.values()],
            candidates,
            model.outcomes,
        )
        return leadlag_result(
            self.name,
            complete_periods(frame, checked, first, last),
            checked,
            pairs,
            {n: self.label(n) for n in self.metric_names},
            max_lag=max_lag,
            seed=seed,
            progress=progress,
        )

    def candidates(
        self, grain: str = "week", *, seed: int = 0, progress: Progress | None = None
    ) -> CandidatesResult:
        """Which metric deserves to be the North Star: a scorecard of every candidate.

        Candidates are the metrics marked `candidate: true` and the North Star (else the
        North Star and its tree). Each is measured on value (entity retention), business link
        and lead (against the outcomes over the last year), robustness, vanity,
        actionability and measurability, then ranked.

        Args:
            grain: The grain of the series compared (week by default).
            seed: Seed of the bootstrap intervals.
            progress: Told what is being computed.

        Returns:
            The candidates, best first, with every criterion's score, evidence and verdict.
        """
        checked = check_grain(grain)
        frame, first, last = self._computed(checked, progress)
        model = self.spec.model
        rollup = self._rollup.table()
        inputs = Inputs(
            con=self.con,
            spec=self.spec,
            rollup=rollup,
            starts=self._starts(rollup),
            events=self.events_source.open(self.con),
            frame=frame,
            grain=checked,
            first=first,
            last=last,
        )
        evidence = gather(inputs, candidate_names(self.spec), seed=seed, progress=progress)
        return score_candidates(
            self.name,
            checked,
            model.north_star,
            list(model.outcomes),
            evidence,
            noun=entity_noun(model.events.entity),
            labels={n: self.label(n) for n in self.metric_names},
        )

    def aha(
        self,
        *,
        windows: list[int] | None = None,
        thresholds: list[int] | None = None,
        fdr: float | None = None,
        progress: Progress | None = None,
    ) -> AhaResult:
        """Which early behaviours predict retention: each event (and declared behaviour) x
        count threshold x window since the entity's start, with the false discovery rate
        controlled over everything searched.

        The defaults come from the project file's `aha:` section (windows 1, 3, 7 and 14 days;
        thresholds 1 to 20; outcome: active in days 28 to 55; false discovery rate 5%).

        Args:
            windows: Early windows in days, each ending before the outcome starts.
            thresholds: Count thresholds ("at least N times").
            fdr: The false discovery rate of the Benjamini-Hochberg procedure.
            progress: Told what is being computed.

        Returns:
            The best moment of each behaviour that predicts the outcome, best first.

        Raises:
            PeriodError: When a window, threshold or rate is out of range.
        """
        plan = self.spec.behaviours
        assert plan.outcome is not None  # a project whose outcome is wrong does not load
        chosen = tuple(sorted(set(windows))) if windows else plan.windows
        levels = tuple(sorted(set(thresholds))) if thresholds else plan.thresholds
        rate = plan.fdr if fdr is None else fdr
        if min(chosen) < 1 or max(chosen) > plan.outcome.after:
            raise PeriodError(
                f"windows must be between 1 and {plan.outcome.after} days (the outcome starts "
                f"on day {plan.outcome.after}), not {list(chosen)}"
            )
        if min(levels) < 1:
            raise PeriodError(f"thresholds must be at least 1, not {list(levels)}")
        if not 0 < rate < 1:
            raise PeriodError(f"the false discovery rate must be between 0 and 1, not {rate}")
        model = self.spec.model
        rollup = Rollup(
            self.con,
            self.events_source,
            model.events,
            plan.plan,
            model.timezone,
            by=(model.events.name,),
            prefix="cynosure_behaviours",
        )
        if progress:
            progress("Counting events by entity, day and name")
        rollup.refresh()
        table = rollup.table()
        starts = self._starts(table)
        if progress:
            progress("Counting early behaviours and retention")
        histograms = behaviour_histograms(
            self.con, table, starts, plan, model.events.name, windows=chosen, cap=max(levels)
        )
        search = Search(chosen, levels, rate, entity_noun(model.events.entity))
        return aha_result(self.name, plan.outcome.described, histograms, search)

    @property
    def state_dir(self) -> Path:
        """Where Cynosure keeps its own files for this project: `.cynosure/` beside the
        project file (the collector's keys, log and state live in `collect/` under it)."""
        return self.spec.base_dir / ".cynosure"

    def check(self, *, days: int = 28, progress: Progress | None = None) -> CheckResult:
        """Is the instrumentation behind each metric healthy? (`cynosure check`)

        Args:
            days: The recent days examined for volume anomalies.
            progress: Told what is being computed.

        Returns:
            Per metric, its events' presence, recency and volume; for the source, missing
            days, duplicates, null and anonymous entities, late arrivals, clock skew, types
            drifting between files, and the collector's quarantine. `ok` is False when a
            check fails.
        """
        from cynosure.analysis.check import run_check
        from cynosure.collect.facts import collector_facts, file_types
        from cynosure.collect.plan import metric_events
        from cynosure.engine.dialects import dialect_of
        from cynosure.engine.localtime import as_timestamp, local_day

        events = self.spec.model.events
        zone, dialect = self.spec.model.timezone, dialect_of(self.con)
        quarantine, identity = collector_facts(self.state_dir)
        return run_check(
            self.name,
            self.events_source.open(self.con),
            entity=events.entity,
            time=events.time,
            name=events.name,
            metric_events=metric_events(self.spec),
            labels={n: self.label(n) for n in self.metric_names},
            types_by_file=file_types(self.events_source),
            typed_columns=[*events.dimensions, *events.properties],
            quarantine=quarantine,
            identity=identity,
            window=days,
            day_of=lambda column: local_day(as_timestamp(column), zone, dialect),
            progress=progress,
        )

    def validate(self, *, progress: Progress | None = None) -> list[str]:
        """Check the tree's formulas hold on the data; raise ProjectError if one does not.

        Returns notes about the data (such as events that cannot be counted).
        """
        stats = self.refresh(progress=progress)
        frame, _, _ = self._computed("week", progress)
        problems = check_identities(self.spec, frame)
        if problems:
            raise ProjectError(problems)
        return stats.summary()[1:]

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the warehouse connection."""
        disconnect: Any = getattr(self.con, "disconnect", None)
        if disconnect:
            disconnect()

    # -- helpers ----------------------------------------------------------------------------

    def _starts(self, rollup: ir.Table) -> ir.Table:
        """Each entity's start day (from the entities table, else its first day in `rollup`)."""
        model = self.spec.model
        return start_days(self.con, rollup, model.entities, self.entities_source, model.timezone)

    def need_metric(self, name: str) -> None:
        """Raise UnknownMetricError, with a suggestion, when the project has no metric `name`."""
        if name not in self.spec.model.metrics:
            hint = did_you_mean(name, self.metric_names)
            raise UnknownMetricError(f"no metric is named '{name}'" + (f"; {hint}" if hint else ""))

    def _bound(self, value: str | date | None, grain: Grain, *, end: bool) -> date | None:
        if value is None:
            return None
        if isinstance(value, date):
            return period_start(value, grain, self.spec.model.week_start)
        kind, start = parse_period(value, self.spec.model.week_start)
        if end:  # the period holding the last day of `value`
            start = next_start(start, kind) - timedelta(days=1)
        return period_start(start, grain, self.spec.model.week_start)


def entity_noun(column: str) -> str:
    """What to call entities in sentences: `user_id` -> users, `company` -> companies."""
    word = column.lower()
    for suffix in ("_id", "_key", "id"):
        if word.endswith(suffix) and len(word) > len(suffix):
            word = word[: -len(suffix)]
            break
    word = word.strip("_").replace("_", " ") or "entities"
    if word.endswith("s"):
        return word
    if word.endswith("y") and word[-2:-1] not in tuple("aeiou"):
        return word[:-1] + "ies"
    return word + "s"


def _value(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)


def _dated(value: str | date | None) -> date | None:
    """A day given as a date or as text (2026-06-15)."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PeriodError(f"'{value}' is not a day: write it as 2026-06-15") from None
