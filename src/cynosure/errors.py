"""The exception hierarchy: one root, each error also a matching builtin."""

from __future__ import annotations

from dataclasses import dataclass


class CynosureError(Exception):
    """Root of every error Cynosure raises on purpose."""


NO_EVENTS = (
    "there is no event data yet: send events to the collector (/v1/batch with a write key) "
    "or check events.source"
)


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


class NoEventsError(PeriodError):
    """The project has no event data yet (a new project, before its first event)."""

    def __init__(self, message: str = NO_EVENTS):
        super().__init__(message)


class CollectError(CynosureError, ValueError):
    """A request the collector refuses; carries the HTTP status, an error code and whether
    retrying the same request can succeed."""

    status = 400
    retry = False

    def __init__(self, message: str, code: str = "bad_request", status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        if status is not None:
            self.status = status


class WriteKeyError(CynosureError, PermissionError):
    """A missing, unknown or revoked collector write key."""

    status = 401
    retry = False
    code = "unauthorized"


class OverloadedError(CynosureError, RuntimeError):
    """The collector is too busy to accept more events now; retry after a pause."""

    status = 429
    retry = True
    code = "overloaded"


class UnknownKeyError(CynosureError, KeyError):
    """A write key name that does not exist."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown write key"


class EngineError(CynosureError, NotImplementedError):
    """The warehouse engine lacks an operation Cynosure needs; says which and the workaround."""

    def __init__(self, engine: str, operation: str, workaround: str):
        super().__init__(f"{engine} cannot {operation}: {workaround}")
        self.engine = engine
        self.operation = operation
        self.workaround = workaround


class UserError(CynosureError, ValueError):
    """A dashboard user or password that cannot be accepted (bad name, role, duplicate)."""


class UnknownUserError(CynosureError, KeyError):
    """A dashboard user name that does not exist."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown user"


class OptionError(CynosureError, ValueError):
    """An analysis option outside the values it allows."""


class SegmentError(CynosureError, ValueError):
    """A segment naming a dimension that is not declared, or a value never seen."""


class WebhookError(CynosureError, ValueError):
    """A webhook setting that can never work: a URL that is not http(s), a negative retry count."""
