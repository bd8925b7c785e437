"""The dashboard's pages: each draws the same Results the JSON API returns (Jinja2 for the
text and tables, Plotly.js for the charts) and holds no analysis of its own."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cynosure.errors import CynosureError
from cynosure.report import figures
from cynosure.report.build import build_report
from cynosure.report.render import environment
from cynosure.results import fmt, pct
from cynosure.web.api import health_facts
from cynosure.web.auth import Caller, SignedIn, state
from cynosure.web.sessions import COOKIE, LOGIN_CSRF_COOKIE

router = APIRouter(include_in_schema=False)
templates = environment(Path(__file__).parent / "templates")


def render(
    request: Request, name: str, who: Caller | None, code: int = 200, **data: Any
) -> HTMLResponse:
    web = state(request)
    page = templates.get_template(name).render(
        project=web.analyses.project.name,
        user=who.user if who else None,
        csrf=who.csrf if who else "",
        here=request.url.path,
        **data,
    )
    return HTMLResponse(page, status_code=code)


def render_error(request: Request, status: int, message: str, kind: str = "") -> HTMLResponse:
    if kind == "no_events":  # a new project: how to send its first events, not an error
        return render(
            request,
            "waiting.html",
            None,
            title="No events yet",
            server=str(request.base_url).rstrip("/"),
            project_file=state(request).analyses.project.spec.file,
        )
    return render(
        request, "error.html", None, code=status, title="Error", status=status, message=message
    )


def _interventions(request: Request) -> list[tuple[str, str]]:
    model = state(request).analyses.project.spec.model
    return [(i.date.isoformat(), i.name) for i in model.interventions]


def _better(request: Request) -> dict[str, str | None]:
    model = state(request).analyses.project.spec.model
    return {name: metric.better for name, metric in model.metrics.items()}


# -- sign in ----------------------------------------------------------------------------------


def _safe_next(target: str) -> str:
    """Only a path on this site (no scheme, no host, no '//'), else '/'."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, next: str = "/", message: str = "") -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        None,
        title="Sign in",
        login_csrf=token,
        next=_safe_next(next),
        message=message,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=state(request).secure_cookies,
        max_age=3600,
    )
    return response


@router.post("/login")
def login(
    request: Request,
    name: str = Form(...),
    password: str = Form(...),
    csrf_token: str = Form(""),
    next: str = Form("/"),
) -> Response:
    web = state(request)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, csrf_token):
        return login_page(request, next, "The form expired: please sign in again.")
    user = web.users.authenticate(name, password)
    if user is None:
        refused = login_page(request, next, "Wrong user name or password.")
        refused.status_code = 401
        return refused
    _, cookie = web.sessions.create(user.name)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=web.secure_cookies,
        max_age=int(web.sessions.lifetime),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, who: SignedIn) -> Response:
    state(request).sessions.end(request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


# -- pages ------------------------------------------------------------------------------------


@router.get("/")
def tree_page(
    request: Request,
    who: SignedIn,
    period: str | None = None,
    baseline: str | None = None,
    grain: str | None = None,
) -> HTMLResponse:
    analyses = state(request).analyses
    result = analyses.tree(period or None, baseline or None, grain or None)
    return render(
        request,
        "tree.html",
        who,
        title="Tree",
        result=result,
        baseline=baseline,
        periods=analyses.periods(result.grain)[1:],
        better=_better(request),
    )


@router.get("/metrics/{metric}")
def metric_page(request: Request, who: SignedIn, metric: str) -> HTMLResponse:
    analyses = state(request).analyses
    project = analyses.project
    project.need_metric(metric)
    model = project.spec.model
    weekly = analyses.metrics("week")
    targets, targets_error, forecast_figure = None, "", None
    try:
        targets = analyses.targets(metric)
        history = analyses.metrics(targets.grain)
        forecast_figure = figures.forecast(history, targets)
    except CynosureError as exc:
        targets_error = str(exc)
    breakdown = analyses.breakdown(metric)
    info = model.metrics[metric]
    return render(
        request,
        "metric.html",
        who,
        title=project.label(metric),
        metric=metric,
        info={"label": project.label(metric), "description": info.description, "owner": info.owner},
        north_star=project.north_star,
        guardrails=list(model.guardrails),
        series_summary=_series_summary(weekly, metric),
        series_figure=figures.series(weekly, metric, _interventions(request)),
        targets=targets,
        targets_error=targets_error,
        forecast_figure=forecast_figure,
        breakdown_figures=[
            (dimension, figures.breakdown(lines, breakdown.label))
            for dimension, lines in breakdown.dimensions.items()
        ],
        guardrail_figures=[
            (g, project.label(g), figures.series(weekly, g, _interventions(request)))
            for g in model.guardrails
            if g != metric
        ]
        if metric == project.north_star
        else [],
    )


def _series_summary(result: Any, metric: str) -> list[str]:
    points = [p for p in result.metrics[metric] if p.complete and p.value is not None]
    if len(points) < 2:
        return ["Too few complete periods to describe."]
    last, before = points[-1], points[-2]
    change = (last.value - before.value) / abs(before.value) if before.value else None
    return [
        f"{result.labels[metric]} was {fmt(last.value)} in {last.period}, {pct(change)} from "
        f"{before.period}; {len(points)} complete weeks from {points[0].period}."
    ]


@router.get("/explain")
def explain_page(
    request: Request,
    who: SignedIn,
    metric: str | None = None,
    period: str | None = None,
    baseline: str | None = None,
) -> HTMLResponse:
    analyses = state(request).analyses
    project = analyses.project
    result = analyses.explain(metric or None, period or None, baseline or None)
    return render(
        request,
        "explain.html",
        who,
        title="Explain",
        result=result,
        baseline=baseline,
        periods=analyses.periods(result.grain)[1:],
        metrics=[(n, project.label(n)) for n in project.metric_names],
        waterfall_figure=figures.waterfall(result),
    )


def _attempt(errors: dict[str, str], name: str, compute: Any) -> Any:
    try:
        return compute()
    except CynosureError as exc:
        errors[name] = str(exc)
        return None


@router.get("/north-star")
def north_star_page(request: Request, who: SignedIn) -> HTMLResponse:
    analyses = state(request).analyses
    project = analyses.project
    errors: dict[str, str] = {}
    aha = _attempt(errors, "aha", analyses.aha)
    return render(
        request,
        "north_star.html",
        who,
        title="North Star",
        candidates=_attempt(errors, "candidates", analyses.candidates),
        leadlag=_attempt(errors, "leadlag", analyses.leadlag),
        aha=aha,
        aha_figure=figures.aha(aha) if aha else None,
        errors=errors,
        labels={n: project.label(n) for n in project.metric_names},
    )


@router.get("/impact")
def impact_page(request: Request, who: SignedIn) -> HTMLResponse:
    analyses = state(request).analyses
    errors: dict[str, str] = {}
    ranking = _attempt(errors, "ranking", analyses.impact_all)
    impacts = []
    for item in analyses.project.spec.model.interventions:
        failed: dict[str, str] = {}
        result = _attempt(
            failed, "impact", lambda name=item.name: analyses.impact(intervention=name)
        )
        impacts.append(
            {
                "name": item.name,
                "slug": re.sub(r"[^a-z0-9]+", "-", item.name.lower()).strip("-"),
                "result": result,
                "figure": figures.counterfactual(result) if result else None,
                "error": failed.get("impact", ""),
            }
        )
    return render(
        request, "impact.html", who, title="Impact", ranking=ranking, impacts=impacts, errors=errors
    )


@router.get("/health")
def health_page(request: Request, who: SignedIn) -> HTMLResponse:
    web = state(request)
    return render(
        request,
        "health.html",
        who,
        title="Health",
        health=health_facts(request),
        users=web.users.users() if who.user.is_admin else [],
    )


@router.get("/report")
def report_page(request: Request, who: SignedIn) -> HTMLResponse:
    """The stakeholder report (as `cynosure report` writes it), from the cached Results."""
    analyses = state(request).analyses
    html = build_report(analyses.project, results=analyses)
    return HTMLResponse(html, headers={"Content-Disposition": 'inline; filename="report.html"'})
