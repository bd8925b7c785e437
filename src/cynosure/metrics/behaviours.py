"""The `aha:` section compiled into what the behaviour rollup must count (pure: no I/O).

`cynosure aha` searches every event name, plus the behaviours a project declares with a filter
(such as "a song played for 10 minutes or more"), for early counts that predict an outcome.
The engine counts events per entity, local day and event name (column `m0`); each declared
behaviour and the outcome's filter add one more count column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cynosure.metrics.compile import NAME, Report
from cynosure.metrics.expressions import ExpressionError, Parsed, parse
from cynosure.metrics.plan import Measure, Plan
from cynosure.project.model import ProjectModel


@dataclass(frozen=True)
class Outcome:
    """Retained: at least `at_least` events (or active days) of `column` in days
    `start + after` to `start + after + within - 1`."""

    column: str
    at_least: int
    unit: str
    after: int
    within: int
    text: str

    @property
    def described(self) -> str:
        """The outcome in words: "active in days 28-55"."""
        days = f"in days {self.after}-{self.end - 1}"
        if self.text == "any event" and self.at_least == 1:
            return f"active {days}"
        unit = "active days" if self.unit == "days" else "events"
        return f"{self.at_least}+ {unit} with {self.text} {days}"

    @property
    def end(self) -> int:
        """The first day after the outcome window, in days since the start."""
        return self.after + self.within


@dataclass
class BehaviourPlan:
    """The measures of the behaviour rollup and what the search tries."""

    plan: Plan = field(default_factory=Plan)
    declared: dict[str, str] = field(default_factory=dict)  # behaviour name -> rollup column
    outcome: Outcome | None = None
    exclude: tuple[str, ...] = ()
    windows: tuple[int, ...] = ()
    thresholds: tuple[int, ...] = ()
    fdr: float = 0.05


def compile_behaviours(model: ProjectModel, report: Report) -> BehaviourPlan:
    """Parse the `aha:` section's filters and check its windows; mistakes go to `report`."""
    aha = model.aha
    columns = model.events.columns()
    compiled = BehaviourPlan(
        exclude=tuple(aha.exclude),
        windows=tuple(sorted(set(aha.windows))),
        thresholds=tuple(sorted(set(aha.thresholds))),
        fdr=aha.fdr,
    )
    for name, text in aha.behaviours.items():
        path: tuple[str | int, ...] = ("aha", "behaviours", name)
        if not NAME.match(name):
            report(path, f"'{name}' cannot be a behaviour name", "use letters, digits and _")
            continue
        try:
            condition = parse(text, columns, boolean=True)
        except ExpressionError as exc:
            report(path, str(exc), exc.hint)
            continue
        compiled.declared[name] = compiled.plan.column(Measure("count", condition))
    rule = aha.outcome
    where: Parsed | None = None
    if rule.where is not None:
        try:
            where = parse(rule.where, columns, boolean=True)
        except ExpressionError as exc:
            report(("aha", "outcome", "where"), str(exc), exc.hint)
            return compiled
    compiled.outcome = Outcome(
        column=compiled.plan.column(Measure("count", where)),
        at_least=rule.at_least,
        unit=rule.unit,
        after=rule.after,
        within=rule.within,
        text=rule.where or "any event",
    )
    if compiled.windows[-1] > rule.after:
        report(
            ("aha", "windows"),
            f"a window of {compiled.windows[-1]} days overlaps the outcome, which starts on "
            f"day {rule.after}",
            "early behaviour must end before the outcome is measured",
        )
    return compiled
