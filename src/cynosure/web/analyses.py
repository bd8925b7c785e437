"""The server's window onto the Project: one lock around the engine, Results cached per
(analysis, parameters), dropped on refresh, and the common ones computed ahead of time.

DuckDB allows one writer per file and FastAPI runs handlers in threads, so every call into the
Project goes through one lock. Results are immutable, so a cached one is shared freely.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from pydantic import BaseModel

from cynosure.analysis.aha import AhaResult
from cynosure.analysis.candidates import CandidatesResult
from cynosure.analysis.check import CheckResult
from cynosure.analysis.explain import ExplainResult
from cynosure.analysis.impact import ImpactRanking, ImpactResult
from cynosure.analysis.leadlag import LeadLagResult
from cynosure.analysis.targets import TargetsResult
from cynosure.analysis.watch import WatchResult
from cynosure.api import Project
from cynosure.engine.periods import check_grain, label
from cynosure.errors import CynosureError
from cynosure.results import MetricsResult, Result
from cynosure.tree.compute import TreeResult

log = logging.getLogger("cynosure.web")
T = TypeVar("T")

MAX_CACHED = 256
BREAKDOWN_VALUES = 5


class SegmentLine(BaseModel):
    value: str
    periods: list[str]
    starts: list[str]
    values: list[float | None]


class Breakdown(Result):
    """One metric's series in the top segments of each dimension."""

    metric: str
    label: str
    grain: str
    dimensions: dict[str, list[SegmentLine]]

    def summary(self) -> list[str]:
        lines = []
        for dimension, segments in self.dimensions.items():
            latest = [(s.value, s.values[-1]) for s in segments if s.values]
            if latest:
                parts = ", ".join(f"{v} {x:,.4g}" for v, x in latest if x is not None)
                lines.append(f"{self.label} by {dimension} in the latest period: {parts}.")
        return lines


class Analyses:
    """Cached, serialised access to one Project's analyses."""

    def __init__(self, project: Project):
        self.project = project
        self.lock = threading.RLock()
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        self.warm_timings: dict[str, float] = {}

    # The project's facts, so that the report can take this cache in place of the Project.
    @property
    def spec(self) -> Any:
        return self.project.spec

    @property
    def name(self) -> str:
        return self.project.name

    @property
    def north_star(self) -> str | None:
        return self.project.north_star

    @property
    def metric_names(self) -> list[str]:
        return self.project.metric_names

    def label(self, metric: str) -> str:
        return self.project.label(metric)

    def get(self, name: str, compute: Callable[[], T], **params: Hashable) -> T:
        """The cached value of `name` with `params`, computed under the lock on a miss.

        Errors are not cached: a bad period raises again (quickly) the next time.
        """
        key = (name, tuple(sorted(params.items())))
        if key in self._cache:
            return self._cache[key]  # type: ignore[no-any-return,unused-ignore]
        with self.lock:
            if key in self._cache:
                return self._cache[key]  # type: ignore[no-any-return,unused-ignore]
            value = compute()
            self._cache[key] = value
            while len(self._cache) > MAX_CACHED:
                self._cache.popitem(last=False)
            return value

    def refresh(self) -> dict[str, Any]:
        """Read new events into the rollup and drop every cached Result."""
        with self.lock:
            result = self.project.refresh()
            self._cache.clear()
        return result.to_dict()

    def warm(self) -> None:
        """Compute what the pages show by default, so that they answer at once.

        The seconds each step took are kept in `warm_timings`.
        """
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("tree", self.tree),
            ("metrics", lambda: self.metrics("week")),
            ("explain", self.explain),
            ("targets", self.targets),
            ("impact_all", self.impact_all),
            ("candidates", self.candidates),
            ("leadlag", self.leadlag),
            ("aha", self.aha),
            ("check", self.check),
        ]
        steps += [
            (f"impact {item.name}", functools.partial(self.impact, intervention=item.name))
            for item in self.project.spec.model.interventions
        ]
        star = self.project.north_star
        if star:
            steps.append(("breakdown", lambda: self.breakdown(star)))
        for name, step in steps:
            started = time.perf_counter()
            try:
                step()
            except CynosureError as exc:  # shown on its page when asked for
                log.info("warm-up skipped %s: %s", name, exc)
            self.warm_timings[name] = round(time.perf_counter() - started, 3)

    # -- the analyses -----------------------------------------------------------------------

    def tree(
        self, period: str | None = None, baseline: str | None = None, grain: str | None = None
    ) -> TreeResult:
        p = self.project
        return self.get(
            "tree",
            lambda: p.tree(period, baseline, grain=grain),
            period=period,
            baseline=baseline,
            grain=grain,
        )

    def metrics(self, grain: str = "week") -> MetricsResult:
        return self.get("metrics", lambda: self.project.metrics(grain), grain=grain)

    def periods(self, grain: str = "week") -> list[str]:
        """The periods with data at `grain`, latest first."""
        result = self.metrics(grain)
        points = next(iter(result.metrics.values()), [])
        return [p.period for p in reversed(points)]

    def explain(
        self,
        metric: str | None = None,
        period: str | None = None,
        baseline: str | None = None,
    ) -> ExplainResult:
        p = self.project
        return self.get(
            "explain",
            lambda: p.explain(metric, period, baseline),
            metric=metric,
            period=period,
            baseline=baseline,
        )

    def candidates(self) -> CandidatesResult:
        return self.get("candidates", self.project.candidates)

    def leadlag(self) -> LeadLagResult:
        return self.get("leadlag", self.project.leadlag)

    def aha(self) -> AhaResult:
        return self.get("aha", self.project.aha)

    def impact_all(self) -> ImpactRanking:
        return self.get("impact_all", self.project.impact_all)

    def impact(self, metric: str | None = None, *, intervention: str) -> ImpactResult:
        p = self.project
        return self.get(
            "impact",
            lambda: p.impact(metric, intervention=intervention),
            intervention=intervention,
            metric=metric,
        )

    def targets(self, metric: str | None = None) -> TargetsResult:
        return self.get("targets", lambda: self.project.targets(metric), metric=metric)

    def watch(self) -> WatchResult:
        return self.get("watch", self.project.watch)

    def check(self) -> CheckResult:
        return self.get("check", self.project.check)

    def breakdown(self, metric: str, grain: str = "week") -> Breakdown:
        checked = check_grain(grain)
        self.project.need_metric(metric)

        def compute() -> Breakdown:
            p = self.project
            dimensions: dict[str, list[SegmentLine]] = {}
            for dimension in p.spec.model.events.dimensions:
                lines = []
                for value in p.dimension_values(dimension)[:BREAKDOWN_VALUES]:
                    frame = p.complete_series(checked, {dimension: value})
                    column = frame[metric]
                    lines.append(
                        SegmentLine(
                            value=value,
                            periods=[label(d, checked) for d in frame.index],
                            starts=[d.isoformat() for d in frame.index],
                            values=[None if v != v else float(v) for v in column],
                        )
                    )
                dimensions[dimension] = lines
            return Breakdown(
                metric=metric, label=p.label(metric), grain=checked, dimensions=dimensions
            )

        return self.get("breakdown", compute, metric=metric, grain=checked)
