"""The exception hierarchy: one root, each error also a matching builtin."""

from __future__ import annotations

from dataclasses import dataclass


class CynosureError(Exception):
    """Root of every error Cynosure raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a project, located in its file where possible."""

    message: str
    path: str = ""
    file: str = ""
    line: int | None = None
    column: int | None = None
    hint: str = ""

    def __str__(self) -> str:
        where = self.file or "cynosure.yml"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: "
        if self.path:
            text += f"{self.path}: "
        text += self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class ProjectError(CynosureError, ValueError):
    """The project file is invalid. Carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the project"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


class DataError(CynosureError, ValueError):
    """The event data cannot be read or does not fit the project."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(f"{message} ({hint})" if hint else message)
        self.message = message
        self.hint = hint


class UnknownMetricError(CynosureError, KeyError):
    """A metric name that the project does not define."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown metric"


class PeriodError(CynosureError, ValueError):
    """A period string that cannot be parsed or lies outside the data."""
