"""Every metric's series restricted to a segment (`{"platform": "ios"}`), for `impact`.

One rollup holds the events by entity, local day and every declared dimension (built once,
refreshed incrementally like the main rollup). A segment's series is then one query over it:
the rows whose dimensions match the segment are summed back to one row per entity and day (an
entity may have sent events on that day under several app versions, countries ...), and that
entity x day table goes through the same computation as the whole project's series.

So an entity-day counts in the segment when the entity sent events matching the segment that
day, and each metric is computed over those events only: the song plays of iOS are the plays
sent from iOS, the listeners of iOS the entities with plays on iOS (an entity on two platforms
is a listener of both), an active-day threshold counts the days active in the segment, and a
new listener of iOS is one playing on iOS for the first time. The cohort of a conversion or
retention rate is the entities that entered through the segment (some of their events on their
first active day match it), each with its real start day; a hit is an event in the segment.
Every segment's series covers the periods of the whole data, so the series of a segment and of
its controls line up period for period, a period without the segment's events reading zero.

Additive metrics (count, sum) of a dimension's values add up to the whole; so do users and
thresholds when each entity keeps one value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from cynosure.engine.compute import compute_series
from cynosure.engine.periods import check_grain
from cynosure.engine.rollup import Progress, RefreshStats, Rollup
from cynosure.engine.segments import NONE_VALUE
from cynosure.engine.sources import Source
from cynosure.errors import SegmentError
from cynosure.metrics.expressions import did_you_mean
from cynosure.metrics.plan import Plan
from cynosure.project.model import EventsConfig

PREFIX = "cynosure_segments"
MAX_LISTED = 30


class SegmentSeries:
    """Series of every metric per segment, from one rollup grouped by the declared dimensions.

    Example:
        >>> segments = SegmentSeries(con, source, config, plan, "UTC")
        >>> segments.refresh()
        >>> segments.values("platform")  # value, events, entities; most events first
        >>> frame, first, last = segments.series({"platform": "ios"}, "day", "monday", starts)
    """

    def __init__(
        self,
        con: BaseBackend,
        source: Source,
        events: EventsConfig,
        plan: Plan,
        timezone: str,
        dimensions: Sequence[str] | None = None,
    ):
        """`dimensions`: the columns segments may name (default: every declared dimension)."""
        self.con = con
        self.plan = plan
        self.dimensions = tuple(events.dimensions if dimensions is None else dimensions)
        self.rollup = Rollup(con, source, events, plan, timezone, by=self.dimensions, prefix=PREFIX)
        self._values: dict[str, pd.DataFrame] = {}

    def refresh(self, *, full: bool = False, progress: Progress | None = None) -> RefreshStats:
        """Build the rollup, or bring it up to date with the events (incrementally unless
        `full`)."""
        say = progress or (lambda _: None)
        stats = self.rollup.refresh(
            full=full, progress=lambda text: say(f"{text} (segments: {', '.join(self.dimensions)})")
        )
        self._values.clear()
        return stats

    def table(self) -> ir.Table:
        """The rollup: one row per entity, local day and combination of dimension values."""
        if not self.rollup.exists():
            self.refresh()
        return self.rollup.table()

    # -- the values of a dimension ------------------------------------------------------------

    def values(self, dimension: str) -> pd.DataFrame:
        """The values `dimension` takes: columns `value` (a string; NONE_VALUE when missing),
        `events` and `entities` (how many sent an event with it), most events first.

        Raises:
            SegmentError: When `dimension` is not one of the dimensions.
        """
        self._check_dimension(dimension)
        if dimension not in self._values:
            t = self.table()
            value = t[dimension].cast("string").fill_null(NONE_VALUE)
            counts = t.group_by(value=value).aggregate(
                events=t.m0.sum(), entities=t.entity.nunique()
            )
            counts = counts.order_by([ibis.desc(counts.events), counts.value])
            frame = self.con.execute(counts)
            self._values[dimension] = frame.astype(
                {"value": "string", "events": "int64", "entities": "int64"}
            ).reset_index(drop=True)
        return self._values[dimension].copy()

    # -- series ---------------------------------------------------------------------------------

    def series(
        self,
        segment: Mapping[str, object],
        grain: str,
        week_start: str,
        starts: ir.Table,
    ) -> tuple[pd.DataFrame, date, date]:
        """Every metric at `grain` over the events of `segment`, in one query.

        Args:
            segment: Dimension -> value; the events matching all of them count. Values are
                compared as strings; NONE_VALUE (or None) matches a missing value. `{}` is
                every event: the project's own series.
            grain: day, week or month.
            week_start: The first day of a week (monday ...).
            starts: One row per entity (`entity`, `start`): its real start day, for
                conversion and retention metrics (restricted here to the segment's cohort).

        Returns:
            The same as `compute_series`: a frame indexed by period start with one column per
            metric, covering the periods of the whole data, and the first and last local day
            of the whole data.

        Raises:
            SegmentError: When the segment names an unknown dimension or a value never seen.
            PeriodError: When `grain` is not day, week or month.
        """
        chosen = check_grain(grain)
        wanted = self._check_segment(segment)
        if wanted and any(m.kind in ("conversion", "retention") for m in self.plan.base.values()):
            starts = self.cohort(wanted, starts)
        return compute_series(
            self.con, self.restricted(wanted), starts, self.plan, chosen, week_start
        )

    def cohort(self, segment: Mapping[str, str], starts: ir.Table) -> ir.Table:
        """The rows of `starts` whose entity entered through `segment`: some of its events on
        its first active day match it. Nothing is run.

        A conversion or retention rate of iOS is then about the entities that began on iOS
        (their start day unchanged), not a share of every entity that began.
        """
        t = self.table()
        first = t.group_by("entity").aggregate(first_day=t.day.min())
        matching = t.filter(*[_matches(t[d], v) for d, v in segment.items()])
        entered = matching.join(
            first, [matching.entity == first.entity, matching.day == first.first_day]
        )
        return starts.semi_join(entered, starts.entity == entered.entity)

    def restricted(self, segment: Mapping[str, str]) -> ir.Table:
        """An entity x day rollup of the events of `segment` (checked), nothing run: what
        `compute_series` reads. Two rows with no entity and zero measures carry the first and
        last day of the whole data, so that every segment's series has the same periods and
        cohorts end where the data ends; no metric counts them."""
        t = self.table()
        inside = t.filter(*[_matches(t[d], v) for d, v in segment.items()]) if segment else t
        measures = [f"m{i}" for i in range(len(self.plan.measures))]
        if set(segment) != set(self.dimensions):
            # Several rows of an entity-day may match (two app versions on iOS): one row each,
            # so that active days and thresholds count days, not rows.
            inside = inside.group_by(["entity", "day"]).aggregate(
                **{m: inside[m].sum() for m in measures}
            )
        inside = inside.select("entity", "day", *measures)
        schema = inside.schema()
        zeros = {m: ibis.literal(0).cast(schema[m]) for m in measures}
        no_entity = ibis.null().cast(schema["entity"])
        edges = [t.aggregate(day=edge) for edge in (t.day.min(), t.day.max())]
        bounds = [e.select(entity=no_entity, day=e.day, **zeros) for e in edges]
        return ibis.union(inside, *bounds, distinct=False)

    # -- checks ---------------------------------------------------------------------------------

    def _check_dimension(self, dimension: str) -> None:
        if dimension not in self.dimensions:
            hint = did_you_mean(dimension, self.dimensions) if self.dimensions else ""
            declared = ", ".join(self.dimensions) or "none are declared (events: dimensions)"
            raise SegmentError(
                f"'{dimension}' is not a dimension; "
                + (f"{hint} " if hint.startswith("did") else "")
                + f"dimensions: {declared}"
            )

    def _check_segment(self, segment: Mapping[str, object]) -> dict[str, str]:
        wanted = {d: NONE_VALUE if v is None else str(v) for d, v in segment.items()}
        for dimension in wanted:
            self._check_dimension(dimension)
        for dimension, value in wanted.items():
            seen = self.values(dimension).value.tolist()
            if value not in seen:
                shown = ", ".join(seen[:MAX_LISTED]) + (" ..." if len(seen) > MAX_LISTED else "")
                hint = did_you_mean(value, seen)
                raise SegmentError(
                    f"no event has {dimension} = '{value}'; "
                    + (f"{hint} " if hint.startswith("did") else "")
                    + f"values seen: {shown or 'none'}"
                )
        return wanted


def _matches(column: ir.Value, value: str) -> ir.BooleanValue:
    if value == NONE_VALUE:
        return column.isnull()
    return column.cast("string") == value
