"""The `cynosure` command: a thin shell over the Python API."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Literal

import typer

from cynosure import cli_collect, cli_web
from cynosure.analysis.impact import parse_segment
from cynosure.analysis.interventions import check_prior
from cynosure.cli_support import (
    GrainOption,
    JsonOption,
    ProjectOption,
    check_options,
    emit,
    err,
    fail,
    guarded,
    open_project,
    out,
    progress_bar,
)
from cynosure.notify import check_url, post_json, slack_body
from cynosure.results import Result
from cynosure.terminal import (
    show_aha,
    show_candidates,
    show_explain,
    show_impact,
    show_leadlag,
    show_metrics,
    show_tree,
)

app = typer.Typer(
    name="cynosure",
    help="North Star Metric platform: metrics as code, the metric tree, and why it moved.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command()
def demo(
    directory: Annotated[
        Path | None,
        typer.Argument(help="Where to write the demo project (default: the product's name)."),
    ] = None,
    product: Annotated[
        Literal["tunewave", "teamspace"],
        typer.Option(help="tunewave (music streaming) or teamspace (B2B team chat)."),
    ] = "tunewave",
    users: Annotated[
        int | None,
        typer.Option(help="Number of users or members (default: 50,000; teamspace 20,000)."),
    ] = None,
    months: Annotated[
        int | None, typer.Option(help="Months of history (default: 18; teamspace 12).")
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(help="Random seed, same seed same data (default: 7; teamspace 11)."),
    ] = None,
) -> None:
    """Give me a realistic project to try everything on."""
    from cynosure.demo import DemoSummary, generate
    from cynosure.demo.teamspace import generate as generate_teamspace

    with guarded():
        if (users is not None and users < 100) or (months is not None and months < 2):
            fail("the demo needs at least 100 users and 2 months")
        # Unset options take the product's own defaults.
        given = {"users": users, "months": months, "seed": seed}
        options = {name: value for name, value in given.items() if value is not None}
        teamspace = product == "teamspace"
        make: Callable[..., DemoSummary] = generate_teamspace if teamspace else generate
        noun = "members" if teamspace else "users"
        with progress_bar() as step:
            label = f"Generating the {product.capitalize()} demo"
            step(label)
            summary = make(
                directory or Path(product),
                **options,
                progress=lambda done, total: step(f"{label}: {done:,} of {total:,} {noun}"),
            )
        # A warehouse left by an earlier demo in this folder describes other data.
        shutil.rmtree(summary.directory / ".cynosure", ignore_errors=True)
        err.print(
            f"Wrote {summary.events:,} events from {summary.users:,} {noun} "
            f"({summary.start} to {summary.end}) to {summary.directory} "
            f"in {summary.seconds:.1f} s."
        )
        project_file = summary.directory / "cynosure.yml"
        err.print("\nTry next:")
        for command in ("tree", "metrics --grain month", "candidates", "leadlag", "aha"):
            err.print(f"  cynosure {command} -p {project_file}")


@app.command()
def metrics(
    project: ProjectOption = Path("cynosure.yml"),
    grain: GrainOption = "week",
    start: Annotated[str | None, typer.Option(help="First period, e.g. 2026-W10.")] = None,
    end: Annotated[str | None, typer.Option(help="Last period, e.g. 2026-06.")] = None,
    metric: Annotated[
        list[str] | None, typer.Option("--metric", "-m", help="Only these metrics.")
    ] = None,
    last: Annotated[int, typer.Option(help="How many recent periods to show as columns.")] = 4,
    as_json: JsonOption = False,
) -> None:
    """What are my metrics over time?"""
    with guarded(), progress_bar() as step:
        check_options(grain=grain, periods=[start, end])
        p = open_project(project)
        result = p.metrics(grain, start=start, end=end, names=metric or None, progress=step)
    if not emit(result, as_json):
        owners = {n: p.spec.model.metrics[n].owner for n in result.metrics}
        show_metrics(result, out, owners, last=max(1, last))
        for line in result.summary():
            out.print(line, highlight=False)


@app.command()
def tree(
    project: ProjectOption = Path("cynosure.yml"),
    period: Annotated[str | None, typer.Option(help="2026-W23, 2026-06 or 2026-06-14.")] = None,
    baseline: Annotated[str | None, typer.Option(help="The period to compare with.")] = None,
    grain: Annotated[str | None, typer.Option(help="day, week or month.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Where does the North Star stand, and which input moved?"""
    with guarded(), progress_bar() as step:
        check_options(grain=grain, periods=[period, baseline])
        p = open_project(project)
        result = p.tree(period, baseline, grain=grain, progress=step)
    if not emit(result, as_json):
        show_tree(result, out)
        for line in result.summary():
            out.print(line, highlight=False)


@app.command()
def explain(
    metric: Annotated[
        str | None, typer.Argument(help="The metric to explain (default: the North Star).")
    ] = None,
    project: ProjectOption = Path("cynosure.yml"),
    period: Annotated[
        str | None,
        typer.Option(help="2026-W37, 2026-09 or 2026-09-14 (default: the last complete week)."),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(help="A period of the same grain, previous (default) or last-year."),
    ] = None,
    grain: Annotated[
        str | None, typer.Option(help="day, week or month, when --period is not given.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Why did it move: which inputs, which segments?"""
    with guarded(), progress_bar() as step:
        check_options(grain=grain, periods=[period, baseline])
        p = open_project(project)
        result = p.explain(metric, period, baseline, grain=grain, progress=step)
    if not emit(result, as_json):
        show_explain(result, out)
        out.print()
        out.print(result.narrative, highlight=False)
        for warning in result.warnings:
            out.print(f"Warning: {warning}", highlight=False)


SegmentOption = Annotated[
    list[str] | None,
    typer.Option(
        "--control-segment", help="A segment whose same metric is a control (platform=android)."
    ),
]


@app.command()
def impact(
    metric: Annotated[
        str | None, typer.Argument(help="The metric measured (default: the North Star).")
    ] = None,
    project: ProjectOption = Path("cynosure.yml"),
    at: Annotated[
        str | None, typer.Option(help="The first day of the change (2026-06-15).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="The last day measured.")] = None,
    intervention: Annotated[
        str | None, typer.Option(help="An intervention of the project file, by name.")
    ] = None,
    segment: Annotated[
        str | None, typer.Option(help="Measure in this segment only (platform=ios,country=us).")
    ] = None,
    control_segment: SegmentOption = None,
    control: Annotated[
        list[str] | None, typer.Option("--control", help="A metric used as a control.")
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Rank every declared intervention instead.")
    ] = False,
    grain: GrainOption = "day",
    placebo: Annotated[
        bool, typer.Option(help="Run the model at fake dates before the real one.")
    ] = True,
    seed: Annotated[int, typer.Option(help="Seed of the posterior draws.")] = 0,
    prior: Annotated[
        str,
        typer.Option(
            help="The level's prior: causalimpact (R's default) or vague (a wandering level)."
        ),
    ] = "causalimpact",
    as_json: JsonOption = False,
) -> None:
    """What did this launch or incident do?"""
    with guarded(), progress_bar() as step:
        check_options(grain=grain, periods=[])
        check_prior(prior)
        chosen = parse_segment(segment) if segment else None
        controls = [parse_segment(text) for text in control_segment or []]
        p = open_project(project)
        result: Result
        if every:
            result = p.impact_all(grain=grain, seed=seed, progress=step)
        else:
            result = p.impact(
                metric,
                at=at,
                until=until,
                intervention=intervention,
                segment=chosen,
                control_segments=controls,
                control_metrics=control,
                grain=grain,
                placebo=placebo,
                seed=seed,
                prior=prior,
                progress=step,
            )
    if not emit(result, as_json):
        show_impact(result, out)
        for line in result.summary():
            out.print(line, highlight=False)


@app.command()
def targets(
    metric: Annotated[
        str | None, typer.Argument(help="The metric (default: the North Star).")
    ] = None,
    project: ProjectOption = Path("cynosure.yml"),
    grain: Annotated[
        str | None, typer.Option(help="day, week or month (default: the target's, else week).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the forecast draws.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Baseline, forecast, suggested targets: are we on track?"""
    with guarded(), progress_bar():
        check_options(grain=grain, periods=[])
        result = open_project(project).targets(metric, grain=grain, seed=seed)
    if not emit(result, as_json):
        for line in result.summary():
            out.print(line, highlight=False)


@app.command()
def watch(
    project: ProjectOption = Path("cynosure.yml"),
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Check as if the data ended on this day.")
    ] = None,
    webhook: Annotated[
        str | None, typer.Option(help="POST the result as JSON to this URL when there is an alert.")
    ] = None,
    slack: Annotated[
        bool, typer.Option(help="Send a Slack-compatible body to the webhook.")
    ] = False,
    always: Annotated[
        bool, typer.Option(help="Post to the webhook even when nothing is abnormal.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Is anything moving abnormally right now, and why? Exit code 1 on an alert."""
    with guarded(), progress_bar() as step:
        if webhook:
            check_url(webhook)
        p = open_project(project)
        result = p.watch(as_of=as_of, progress=step)
        if webhook and (result.alerts or always):
            lines = result.summary()
            body = slack_body(lines[0], lines[1:]) if slack else result.to_dict()
            sent = post_json(webhook, body)
            result = result.model_copy(update={"delivery": asdict(sent)})
            if not sent.delivered:
                err.print(f"[yellow]warning:[/yellow] {sent.error}", highlight=False)
    if not emit(result, as_json):
        for line in result.summary():
            out.print(line, highlight=False)
    if result.alerts:
        raise typer.Exit(1)


@app.command()
def leadlag(
    project: ProjectOption = Path("cynosure.yml"),
    grain: GrainOption = "week",
    max_lag: Annotated[
        int, typer.Option("--max-lag", help="The largest lag tried, in periods.")
    ] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap intervals.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Which inputs lead the North Star, and by how much?"""
    with guarded(), progress_bar() as step:
        check_options(grain=grain, periods=[])
        if max_lag < 1:
            fail(f"--max-lag must be at least 1 period, not {max_lag}")
        p = open_project(project)
        result = p.leadlag(grain, max_lag=max_lag, seed=seed, progress=step)
    if not emit(result, as_json):
        show_leadlag(result, out, {n: p.label(n) for n in p.metric_names})
        for line in result.summary():
            out.print(line, highlight=False)


@app.command()
def candidates(
    project: ProjectOption = Path("cynosure.yml"),
    grain: GrainOption = "week",
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap intervals.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Which metric deserves to be the North Star, with evidence?"""
    with guarded(), progress_bar() as step:
        check_options(grain=grain, periods=[])
        result = open_project(project).candidates(grain, seed=seed, progress=step)
    if not emit(result, as_json):
        show_candidates(result, out)
        for line in result.summary():
            out.print(line, highlight=False)


@app.command()
def aha(
    project: ProjectOption = Path("cynosure.yml"),
    window: Annotated[
        list[int] | None,
        typer.Option("--window", "-w", help="Early window in days (repeat for several)."),
    ] = None,
    threshold: Annotated[
        list[int] | None,
        typer.Option("--threshold", "-t", help="Count threshold (repeat for several)."),
    ] = None,
    fdr: Annotated[float | None, typer.Option(help="False discovery rate [default: 0.05].")] = None,
    top: Annotated[int, typer.Option(help="How many moments to show.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Which early behaviours predict retention?"""
    with guarded(), progress_bar() as step:
        p = open_project(project)
        result = p.aha(windows=window, thresholds=threshold, fdr=fdr, progress=step)
    if not emit(result, as_json):
        show_aha(result, out, top=max(1, top))
        for line in result.summary():
            out.print(line, highlight=False)


@app.command()
def refresh(
    project: ProjectOption = Path("cynosure.yml"),
    full: Annotated[bool, typer.Option(help="Rebuild the rollup from scratch.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Bring the rollup up to date with the event data."""
    with guarded(), progress_bar() as step:
        result = open_project(project).refresh(full=full, progress=step)
    if not emit(result, as_json):
        for line in result.summary():
            out.print(line, highlight=False)


@app.command()
def validate(project: ProjectOption = Path("cynosure.yml")) -> None:
    """Check the project file, its data, and that every tree formula holds on the data."""
    with guarded(), progress_bar() as step:
        p = open_project(project)
        notes = p.validate(progress=step)
    out.print(f"{p.name}: {len(p.metric_names)} metrics, the project file and its data agree.")
    for note in notes:
        out.print(f"note: {note}", highlight=False)


cli_collect.register(app)  # check, keys, collect
cli_web.register(app)  # serve, report, users


def main() -> None:  # pragma: no cover - the console script
    app()
