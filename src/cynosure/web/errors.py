"""Every error the web app returns, in one JSON shape, mapped in one place.

    {"error": {"status": 404, "type": "unknown_metric", "message": "no metric is named ..."}}

Pages get the same message in an HTML page; a signed-out page request is sent to /login.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from cynosure.errors import (
    CynosureError,
    NoEventsError,
    PeriodError,
    ProjectError,
    UnknownMetricError,
    UnknownUserError,
    UserError,
)


class SignInRequired(Exception):
    """No valid session or token came with the request."""


class Forbidden(Exception):
    """Signed in, but the role does not allow this."""


class CsrfFailed(Exception):
    """A state-changing request signed in by cookie came without the right CSRF token."""


class NotAvailable(Exception):
    """A feature this installation lacks (such as the collector)."""


# (status, type) for each error class; the first match in order wins.
MAPPING: list[tuple[type[BaseException], int, str]] = [
    (SignInRequired, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (CsrfFailed, 403, "csrf_failed"),
    (NotAvailable, 501, "not_available"),
    (UnknownMetricError, 404, "unknown_metric"),
    (UnknownUserError, 404, "unknown_user"),
    (NoEventsError, 409, "no_events"),
    (PeriodError, 400, "bad_period"),
    (UserError, 400, "bad_user"),
    (ProjectError, 400, "bad_project"),
    (CynosureError, 400, "bad_request"),
]
HTTP_TYPES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found"}
HTTP_TYPES |= {405: "method_not_allowed", 422: "invalid_parameters"}


def error_body(status: int, kind: str, message: str) -> dict[str, Any]:
    return {"error": {"status": status, "type": kind, "message": message}}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api")


def collector_path(request: Request) -> bool:
    """The collector's routes keep FastAPI's default error handling (and their own shapes)."""
    return request.url.path.startswith("/v1/")


def classify(exc: BaseException) -> tuple[int, str, str]:
    for cls, status, kind in MAPPING:
        if isinstance(exc, cls):
            message = str(exc) or {
                401: "sign in first: send a session cookie or an 'Authorization: Bearer' token",
                403: "your role does not allow this",
            }.get(status, kind)
            return status, kind, message
    return 500, "internal_error", "internal error"


def install(app: FastAPI, render_error: Any) -> None:
    """Register the handlers; `render_error(request, status, message, kind="")` draws the HTML
    page."""

    async def on_error(request: Request, exc: Exception) -> Response:
        status, kind, message = classify(exc)
        if isinstance(exc, SignInRequired) and not wants_json(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        if wants_json(request):
            return JSONResponse(error_body(status, kind, message), status_code=status)
        return render_error(request, status, message, kind)

    async def on_http(request: Request, exc: HTTPException) -> Response:
        if collector_path(request):
            return await http_exception_handler(request, exc)
        kind = HTTP_TYPES.get(exc.status_code, "error")
        message = str(exc.detail)
        if wants_json(request):
            return JSONResponse(
                error_body(exc.status_code, kind, message),
                status_code=exc.status_code,
                headers=getattr(exc, "headers", None),
            )
        return render_error(request, exc.status_code, message)

    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        if collector_path(request):
            return await request_validation_exception_handler(request, exc)
        parts = []
        for problem in exc.errors():
            where = ".".join(str(x) for x in problem.get("loc", ()) if x not in ("query", "body"))
            parts.append(f"{where}: {problem.get('msg', 'invalid')}")
        message = "; ".join(parts) or "invalid parameters"
        if wants_json(request):
            return JSONResponse(error_body(422, "invalid_parameters", message), status_code=422)
        return render_error(request, 422, message)

    for cls in (SignInRequired, Forbidden, CsrfFailed, NotAvailable, CynosureError):
        app.add_exception_handler(cls, on_error)
    app.add_exception_handler(HTTPException, on_http)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, on_invalid)  # type: ignore[arg-type]
