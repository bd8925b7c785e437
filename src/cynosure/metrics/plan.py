"""From metric definitions to the measures the engine must roll up (pure: no I/O).

A *measure* is one column of the entity x day rollup: a count of qualifying events, a sum of a
value expression over qualifying events, or a count of non-null values (for means). Metrics
share measures when their definitions need the same column, so adding a metric that reuses a
filter costs nothing at build time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Literal

from cynosure.metrics.expressions import Parsed
from cynosure.metrics.formula import Formula

MeasureOp = Literal["count", "sum", "nonnull"]


@dataclass(frozen=True)
class Measure:
    """One rollup column: `op` of `value` over events passing `where` (None: every event)."""

    op: MeasureOp
    where: Parsed | None = None
    value: Parsed | None = None

    @property
    def signature(self) -> str:
        where = self.where.canonical if self.where else ""
        value = self.value.canonical if self.value else ""
        return f"{self.op}|{value}|{where}"


ALL_EVENTS = Measure("count")


@dataclass(frozen=True)
class BaseMetric:
    """A metric computed in the engine from rollup columns (by column name)."""

    name: str
    kind: str
    columns: tuple[str, ...]
    at_least: int = 0
    unit: str = "events"
    lifecycle: str | None = None
    window: tuple[int, int] = (0, 0)  # conversion: (0, within); retention: (after, within)
    cumulative: bool = False


@dataclass(frozen=True)
class DerivedMetric:
    """A metric computed from other metrics' series (ratio or formula)."""

    name: str
    formula: Formula


@dataclass
class Plan:
    """Every measure, every base metric and every derived metric of a project."""

    measures: list[Measure] = field(default_factory=lambda: [ALL_EVENTS])
    base: dict[str, BaseMetric] = field(default_factory=dict)
    derived: dict[str, DerivedMetric] = field(default_factory=dict)

    def column(self, measure: Measure) -> str:
        """The rollup column for `measure`, adding it if new."""
        for index, known in enumerate(self.measures):
            if known.signature == measure.signature:
                return f"m{index}"
        self.measures.append(measure)
        return f"m{len(self.measures) - 1}"

    def fingerprint(self, *parts: str) -> str:
        """A short hash of the measures plus `parts` (source, timezone): names the rollup."""
        payload = json.dumps([[m.signature for m in self.measures], list(parts)])
        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    def order(self) -> list[str]:
        """Derived metrics in an order where each comes after what it uses."""
        done: set[str] = set(self.base)
        ordered: list[str] = []
        pending = dict(self.derived)
        while pending:
            ready = [n for n, d in pending.items() if set(d.formula.names) <= done]
            if not ready:  # cycles are rejected when the project is loaded
                raise ValueError(f"metrics refer to each other in a cycle: {sorted(pending)}")
            for name in ready:
                ordered.append(name)
                done.add(name)
                del pending[name]
        return ordered
