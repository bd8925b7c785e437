"""What every `cynosure` command shares: options, error handling, progress and JSON output.

Command modules (`cli.py`, `cli_collect.py`, `cli_web.py`) import from here, so that none of
them imports another.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from cynosure.api import Project
from cynosure.engine.periods import check_grain, parse_period
from cynosure.errors import CynosureError, ProjectError
from cynosure.results import Result

out = Console()
err = Console(stderr=True)

ProjectOption = Annotated[
    Path, typer.Option("--project", "-p", help="The project file (or its directory).")
]
HostOption = Annotated[str, typer.Option(help="Interface to listen on.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")]
BASELINE_WORDS = ("previous", "last-year")
GrainOption = Annotated[str, typer.Option("--grain", help="day, week or month.")]


def fail(message: str, code: int = 2) -> None:
    """Print a user-facing error on stderr and exit (2: bad input, 1: failed check)."""
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Turn our own errors into a message and exit code 2, never a traceback."""
    try:
        yield
    except ProjectError as exc:
        for problem in exc.problems:
            err.print(f"[red]error:[/red] {problem}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except CynosureError as exc:
        fail(str(exc))


@contextlib.contextmanager
def progress_bar() -> Iterator[Any]:
    """A spinner with the current step on stderr; silent when stderr is not a terminal."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task("Loading the project")
        yield lambda text: bar.update(task, description=text)


def emit(result: Result, as_json: bool) -> bool:
    """Print JSON and return True when asked for JSON; else return False."""
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n")
        return True
    return False


def check_options(*, grain: str | None, periods: list[str | None]) -> None:
    """Refuse a mistyped grain or period at once, before the project and its data load."""
    if grain is not None:
        check_grain(grain)
    for text in periods:
        if text is not None and text not in BASELINE_WORDS:
            parse_period(text, "monday")  # the form does not depend on the week start


def open_project(path: Path) -> Project:
    return Project.load(path)
