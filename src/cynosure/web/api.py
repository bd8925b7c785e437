"""The JSON API under /api: one endpoint per question, each the Result of the Python API as
JSON (the shapes of DESIGN.md). Every dashboard page is drawn from these same calls."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from cynosure.analysis.aha import AhaResult
from cynosure.analysis.candidates import CandidatesResult
from cynosure.analysis.explain import ExplainResult
from cynosure.analysis.impact import ImpactRanking, ImpactResult
from cynosure.analysis.leadlag import LeadLagResult
from cynosure.analysis.targets import TargetsResult
from cynosure.analysis.watch import WatchResult
from cynosure.results import MetricsResult, Result
from cynosure.tree.compute import TreeResult
from cynosure.web.analyses import Breakdown
from cynosure.web.auth import SignedIn, state
from cynosure.web.errors import NotAvailable

router = APIRouter(prefix="/api", tags=["analyses"])

Period = Annotated[
    str | None, Query(description="2026-W37 (ISO week), 2026-09 (month) or 2026-09-14 (day)")
]
Baseline = Annotated[
    str | None,
    Query(description="A period of the same grain, 'previous' (default) or 'last-year'"),
]
Grain = Annotated[str | None, Query(description="day, week or month")]


def reply(result: Result | dict[str, Any]) -> JSONResponse:
    body = result.to_dict() if isinstance(result, Result) else result
    return JSONResponse(body)


def documented(model: type[Result]) -> dict[Any, Any]:
    return {200: {"model": model, "description": "The Result as JSON"}}


def project_facts(request: Request) -> dict[str, Any]:
    """The project's definitions: metrics, tree, guardrails, outcomes, targets, interventions."""
    project = state(request).analyses.project
    model = project.spec.model
    return {
        "project": project.name,
        "north_star": project.north_star,
        "metrics": {
            name: {
                "label": project.label(name),
                "description": metric.description,
                "owner": metric.owner,
                "candidate": metric.candidate,
                "better": metric.better,
            }
            for name, metric in model.metrics.items()
        },
        "tree": [
            {"metric": m, "parent": parent, "depth": depth}
            for m, parent, depth in project.spec.tree.walk()
        ],
        "dimensions": list(model.events.dimensions),
        "guardrails": list(model.guardrails),
        "outcomes": list(model.outcomes),
        "targets": [t.model_dump(mode="json") for t in model.targets],
        "interventions": [i.model_dump(mode="json") for i in model.interventions],
    }


@router.get("/project", summary="The project's definitions")
def get_project(request: Request, who: SignedIn) -> JSONResponse:
    return reply(project_facts(request))


@router.get("/me", summary="Who is signed in")
def get_me(who: SignedIn) -> JSONResponse:
    return reply({"user": who.user.to_dict()})


@router.get("/periods", summary="The periods with data at a grain, latest first")
def get_periods(request: Request, who: SignedIn, grain: str = "week") -> JSONResponse:
    return reply({"grain": grain, "periods": state(request).analyses.periods(grain)})


@router.get("/tree", summary="The metric tree at a period", responses=documented(TreeResult))
def get_tree(
    request: Request,
    who: SignedIn,
    period: Period = None,
    baseline: Baseline = None,
    grain: Grain = None,
) -> JSONResponse:
    return reply(state(request).analyses.tree(period, baseline, grain))


@router.get("/metrics", summary="Every metric over time", responses=documented(MetricsResult))
def get_metrics(request: Request, who: SignedIn, grain: str = "week") -> JSONResponse:
    return reply(state(request).analyses.metrics(grain))


@router.get(
    "/metrics/{metric}/breakdown",
    summary="A metric in the top segments of each dimension",
    responses=documented(Breakdown),
)
def get_breakdown(
    request: Request, who: SignedIn, metric: str, grain: str = "week"
) -> JSONResponse:
    return reply(state(request).analyses.breakdown(metric, grain))


@router.get("/explain", summary="Why a metric moved", responses=documented(ExplainResult))
def get_explain(
    request: Request,
    who: SignedIn,
    metric: str | None = None,
    period: Period = None,
    baseline: Baseline = None,
) -> JSONResponse:
    return reply(state(request).analyses.explain(metric, period, baseline))


@router.get("/candidates", summary="North Star scorecard", responses=documented(CandidatesResult))
def get_candidates(request: Request, who: SignedIn) -> JSONResponse:
    return reply(state(request).analyses.candidates())


@router.get("/leadlag", summary="Which inputs lead", responses=documented(LeadLagResult))
def get_leadlag(request: Request, who: SignedIn) -> JSONResponse:
    return reply(state(request).analyses.leadlag())


@router.get(
    "/aha", summary="Early behaviours that predict retention", responses=documented(AhaResult)
)
def get_aha(request: Request, who: SignedIn) -> JSONResponse:
    return reply(state(request).analyses.aha())


@router.get("/impact", summary="Every intervention's effect", responses=documented(ImpactRanking))
def get_impact_all(request: Request, who: SignedIn) -> JSONResponse:
    return reply(state(request).analyses.impact_all())


@router.get(
    "/impact/{intervention}",
    summary="One intervention's effect and counterfactual",
    responses=documented(ImpactResult),
)
def get_impact(
    request: Request, who: SignedIn, intervention: str, metric: str | None = None
) -> JSONResponse:
    return reply(state(request).analyses.impact(metric, intervention=intervention))


@router.get("/targets", summary="Forecast and targets", responses=documented(TargetsResult))
def get_targets(request: Request, who: SignedIn, metric: str | None = None) -> JSONResponse:
    return reply(state(request).analyses.targets(metric))


@router.get("/watch", summary="Abnormal movements now", responses=documented(WatchResult))
def get_watch(request: Request, who: SignedIn) -> JSONResponse:
    return reply(state(request).analyses.watch())


def health_facts(request: Request) -> dict[str, Any]:
    """The instrumentation check and the collector's intake (None when serving without one)."""
    web = state(request)
    check = web.analyses.check()
    intake = None
    if web.collector is not None:
        intake = web.collector.intake().model_dump(mode="json")
    return {
        "check": check.to_dict(),
        "check_summary": check.summary(),
        "intake": intake,
        "collector": web.collector is not None,
    }


@router.get("/health", summary="Instrumentation check and collector intake")
def get_health(request: Request, who: SignedIn) -> JSONResponse:
    return reply(health_facts(request))


def require(value: Any, what: str) -> Any:
    if value is None:
        raise NotAvailable(f"{what} is not available in this installation")
    return value
