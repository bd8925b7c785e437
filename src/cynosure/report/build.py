"""`cynosure report`: one self-contained HTML page for stakeholders, drawn from the Results.

Everything is inline (style sheet, Plotly.js, the charts' data), so the file opens offline and
can be mailed. Each section carries the plain-language summary of the Result behind it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from cynosure.api import Project
from cynosure.errors import CynosureError
from cynosure.report import figures
from cynosure.report.render import asset, environment, plotly_js
from cynosure.results import MetricsResult

# How many recent complete weeks are searched for the largest move to explain.
RECENT_WEEKS = 13

SECTIONS = (
    ("headline", "The North Star"),
    ("tree", "The metric tree"),
    ("why", "What moved and why"),
    ("interventions", "What our launches and incidents did"),
    ("aha", "Aha moments"),
    ("targets", "Targets: are we on track?"),
    ("revenue", "From the North Star to revenue"),
)


@dataclass
class Section:
    """One section: its summary sentences, charts, and the Results for its tables."""

    id: str
    title: str
    summary: list[str] = field(default_factory=list)
    charts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    error: str = ""


def build_report(
    project: Project,
    *,
    results: Any = None,
    progress: Callable[[str], None] | None = None,
) -> str:
    """The report's HTML for `project` (self-contained: no external request when opened).

    Args:
        project: The project reported on.
        results: Where to get the Results from: anything with the Project's analysis methods
            (the dashboard passes its cache); default: `project` itself.
        progress: Told which section is being computed.
    """
    say = progress or (lambda _: None)
    source = results if results is not None else project
    weekly = source.metrics("week")
    star = project.north_star
    sections = []
    for key, title in SECTIONS:
        say(f"Report: {title.lower()}")
        section = Section(key, title)
        try:
            BUILDERS[key](source, weekly, section)
        except CynosureError as exc:
            section.error = f"This section could not be computed: {exc}"
        sections.append(section)
    env = environment()
    template = env.get_template("report.html")
    return template.render(
        project=project.name,
        north_star=project.label(star) if star else None,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        sections=sections,
        labels={n: project.label(n) for n in project.metric_names},
        better={n: m.better for n, m in project.spec.model.metrics.items()},
        style=Markup(asset("style.css")),
        # "</script" cannot occur inside the inline scripts: escape it defensively.
        plotly=Markup(plotly_js().replace("</script", "<\\/script")),
        plots=Markup(asset("plots.js")),
    )


def _headline(project: Any, weekly: MetricsResult, section: Section) -> None:
    star = _star(project)
    section.summary = weekly.summary()[1:2] or weekly.summary()
    interventions = [(i.date.isoformat(), i.name) for i in project.spec.model.interventions]
    section.charts.append(("trend", figures.series(weekly, star, interventions)))
    complete = [p for p in weekly.metrics[star] if p.complete and p.value is not None]
    section.data["latest"] = complete[-1] if complete else None
    section.data["description"] = project.spec.model.metrics[star].description


def _tree(project: Any, weekly: MetricsResult, section: Section) -> None:
    result = project.tree()
    section.summary = result.summary()
    section.data["tree"] = result


def _why(project: Any, weekly: MetricsResult, section: Section) -> None:
    star = _star(project)
    latest = project.explain(star)
    explained = [latest]
    biggest = _largest_move(weekly, star)
    if biggest is not None and biggest != latest.period:
        explained.insert(0, project.explain(star, biggest))
    section.summary = [
        f"The largest weekly move of the last {RECENT_WEEKS} weeks was in {explained[0].period}; "
        f"the latest complete week is {latest.period}."
    ]
    section.data["explained"] = explained
    for i, result in enumerate(explained):
        section.charts.append((f"waterfall-{i}", figures.waterfall(result)))


def _interventions(project: Any, weekly: MetricsResult, section: Section) -> None:
    ranking = project.impact_all()
    section.summary = ranking.summary()
    section.data["ranking"] = ranking
    for i, item in enumerate(project.spec.model.interventions):
        try:
            result = project.impact(intervention=item.name)
        except CynosureError:
            continue
        section.charts.append((f"impact-{i}", figures.counterfactual(result)))
        section.data.setdefault("titles", []).append((item.name, result.summary()))


def _aha(project: Any, weekly: MetricsResult, section: Section) -> None:
    result = project.aha()
    section.summary = result.summary()[:3]
    section.data["aha"] = result
    if result.moments:
        section.charts.append(("aha-chart", figures.aha(result)))


def _targets(project: Any, weekly: MetricsResult, section: Section) -> None:
    result = project.targets()
    section.summary = result.summary()
    section.data["targets"] = result
    history = weekly if result.grain == "week" else project.metrics(result.grain)
    section.charts.append(("forecast", figures.forecast(history, result)))


def _revenue(project: Any, weekly: MetricsResult, section: Section) -> None:
    star = _star(project)
    outcomes = list(project.spec.model.outcomes)
    if not outcomes:
        section.summary = ["The project declares no outcomes (such as revenue) to link to."]
        return
    outcome = next((o for o in outcomes if "revenue" in o), outcomes[0])
    leadlag = project.leadlag()
    pairs = [p for p in leadlag.pairs if p.leader == star and p.follower in outcomes]
    section.summary = [p.verdict for p in pairs] or leadlag.summary()[:1]
    candidates = project.candidates()
    mine = next((c for c in candidates.candidates if c.metric == star), None)
    if mine is not None and "business_link" in mine.criteria:
        section.summary.append(mine.criteria["business_link"].verdict)
    section.data["pairs"] = pairs
    section.charts.append(("link", figures.pair(weekly, star, outcome)))


def _star(project: Any) -> str:
    if project.north_star is None:
        raise CynosureError("the project declares no north_star")
    return str(project.north_star)


def _largest_move(weekly: MetricsResult, star: str) -> str | None:
    """The recent complete week whose value changed most from the week before."""
    points = [p for p in weekly.metrics[star] if p.complete and p.value is not None]
    recent = points[-(RECENT_WEEKS + 1) :]
    moves = [
        (abs((b.value - a.value) / a.value), b.period)  # type: ignore[operator]
        for a, b in itertools.pairwise(recent)
        if a.value
    ]
    return max(moves)[1] if moves else None


BUILDERS: dict[str, Callable[[Any, MetricsResult, Section], None]] = {
    "headline": _headline,
    "tree": _tree,
    "why": _why,
    "interventions": _interventions,
    "aha": _aha,
    "targets": _targets,
    "revenue": _revenue,
}
