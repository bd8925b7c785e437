"""The validated shape of `cynosure.yml` (pydantic, unknown keys forbidden)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

METRIC_KINDS = (
    "count",
    "users",
    "sum",
    "mean",
    "ratio",
    "formula",
    "threshold",
    "conversion",
    "retention",
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_WINDOW = re.compile(r"^\s*(\d+)\s*([dw])\s*$")


def parse_window(value: object) -> int:
    """`2d` -> 2, `2w` -> 14; a bare integer is a number of days."""
    if isinstance(value, bool):
        raise ValueError("a window is written like 7d or 2w")
    if isinstance(value, int):
        days = value
    else:
        match = _WINDOW.match(str(value))
        if not match:
            raise ValueError(f"'{value}' is not a window; write it like 7d (days) or 2w (weeks)")
        days = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
    if days < 1:
        raise ValueError("a window must be at least 1 day")
    return days


Window = Annotated[int, BeforeValidator(parse_window)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventsConfig(_Strict):
    source: str
    entity: str = "user_id"
    time: str = "timestamp"
    name: str = "event"
    dimensions: list[str] = Field(default_factory=list)
    properties: list[str] = Field(default_factory=list)

    def columns(self) -> list[str]:
        """Every column the project may refer to, in declaration order."""
        return [self.entity, self.time, self.name, *self.dimensions, *self.properties]


class EntitiesConfig(_Strict):
    source: str
    key: str
    created: str | None = None


class Threshold(_Strict):
    at_least: int = Field(ge=1)
    unit: Literal["events", "days"] = "events"
    of: Literal["users", "entities"] = "entities"
    where: str | None = None


class Conversion(_Strict):
    event: str
    within: Window


class Retention(_Strict):
    after: Window
    within: Window = 7


class MetricDef(_Strict):
    label: str | None = None
    description: str | None = None
    owner: str | None = None
    candidate: bool = False
    unit: str | None = None
    # Which way is good: "higher" (the default) or "lower" (the default for guardrails).
    better: Literal["higher", "lower"] | None = None

    count: Literal[True] | None = None
    users: Literal[True] | None = None
    sum: str | None = None
    mean: str | None = None
    ratio: list[str] | None = Field(default=None, min_length=2, max_length=2)
    formula: str | None = None
    threshold: Threshold | None = None
    conversion: Conversion | None = None
    retention: Retention | None = None

    where: str | None = None
    lifecycle: Literal["new", "retained", "resurrected", "churned"] | None = None
    cumulative: bool = False

    def kinds(self) -> list[str]:
        """The aggregation keys that are set (a valid metric has exactly one)."""
        return [k for k in METRIC_KINDS if getattr(self, k) is not None]


class Target(_Strict):
    metric: str
    value: float
    by: dt.date
    grain: Literal["day", "week", "month"] | None = None


class Intervention(_Strict):
    name: str
    date: dt.date
    end: dt.date | None = None
    segment: dict[str, str | int | float | bool] = Field(default_factory=dict)
    description: str | None = None


class AhaOutcome(_Strict):
    """What counts as retained: `at_least` qualifying events (or active days) in the days
    `after` .. `after + within - 1` of the entity's life."""

    where: str | None = None
    at_least: int = Field(default=1, ge=1)
    unit: Literal["events", "days"] = "events"
    after: Window = 28
    within: Window = 28


class AhaConfig(_Strict):
    """The search of `cynosure aha`: which behaviours, windows and thresholds, and the outcome."""

    behaviours: dict[str, str] = Field(default_factory=dict)
    exclude: list[str] = Field(default_factory=list)
    outcome: AhaOutcome = Field(default_factory=AhaOutcome)
    windows: list[Window] = Field(default_factory=lambda: [1, 3, 7, 14], min_length=1)
    thresholds: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5, 6, 8, 10, 15, 20], min_length=1
    )
    fdr: float = Field(default=0.05, gt=0, lt=1)


class PlannedEvent(_Strict):
    """One event of the declared tracking plan: the properties it must carry, and types."""

    required: list[str] = Field(default_factory=list)
    properties: dict[str, Literal["string", "number", "integer", "boolean"]] = Field(
        default_factory=dict
    )


class TrackingPlan(_Strict):
    """What the collector admits (beyond what the metrics imply); the rest is quarantined."""

    events: dict[str, PlannedEvent] = Field(default_factory=dict)
    other_events: Literal["allow", "quarantine"] = "allow"


class ProjectModel(_Strict):
    project: str
    timezone: str = "UTC"
    week_start: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "monday"
    warehouse: str | None = None
    events: EventsConfig
    entities: EntitiesConfig | None = None
    metrics: dict[str, MetricDef]
    north_star: str | None = None
    tree: dict[str, str | list[str]] = Field(default_factory=dict)
    guardrails: list[str] = Field(default_factory=list)
    outcomes: list[str] = Field(default_factory=list)
    targets: list[Target] = Field(default_factory=list)
    interventions: list[Intervention] = Field(default_factory=list)
    aha: AhaConfig = Field(default_factory=AhaConfig)
    tracking_plan: TrackingPlan = Field(default_factory=TrackingPlan)
