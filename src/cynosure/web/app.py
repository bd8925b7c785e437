"""The web application: dashboard pages, the JSON API and, when installed, the event collector,
on one FastAPI app."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response

from cynosure.api import Project
from cynosure.collect import Collector
from cynosure.collect.routes import FastPath
from cynosure.report.render import ASSETS, PLOTLY_JS
from cynosure.web import admin, api, errors, pages
from cynosure.web.analyses import Analyses
from cynosure.web.auth import WebState
from cynosure.web.sessions import DEFAULT_LIFETIME, SessionStore, load_secret
from cynosure.web.users import UserStore

log = logging.getLogger("cynosure.web")

STATIC = {
    "style.css": (ASSETS / "style.css", "text/css"),
    "plots.js": (ASSETS / "plots.js", "text/javascript"),
    "plotly.min.js": (PLOTLY_JS, "text/javascript"),
}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'"
)


def create_app(
    project: Project,
    *,
    state_dir: Path | None = None,
    collector: Any | None = "auto",
    secure_cookies: bool = True,
    warm: bool = True,
    refresh_every: float = 0,
    session_lifetime: float = DEFAULT_LIFETIME,
) -> FastAPI:
    """The dashboard, JSON API and collector for `project`.

    Args:
        project: The loaded project; the app owns it from now on (one per process).
        state_dir: Where users, the cookie key and the collector's state live (default:
            `.cynosure/` beside the project file).
        collector: A collector object, None for none, or "auto" to mount
            `cynosure.collect.Collector` when it is installed.
        secure_cookies: Mark cookies Secure (sent over HTTPS and to localhost only).
        warm: Compute the default pages' Results in the background at start.
        refresh_every: Seconds between reads of new events (0: only on POST /api/refresh).
        session_lifetime: Seconds a sign-in lasts.
    """
    directory = Path(state_dir) if state_dir else project.state_dir
    if collector == "auto":
        collector = Collector(directory, project=project)
    web = WebState(
        analyses=Analyses(project),
        users=UserStore.in_directory(directory),
        sessions=SessionStore(load_secret(directory), session_lifetime),
        collector=collector,
        secure_cookies=secure_cookies,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        if collector is not None:
            await collector.start()
        if warm:
            threading.Thread(target=web.analyses.warm, name="cynosure-warm", daemon=True).start()
        if refresh_every > 0:
            threading.Thread(
                target=_refresh_loop, args=(web.analyses, refresh_every, stop), daemon=True
            ).start()
        try:
            yield
        finally:
            stop.set()
            if collector is not None:
                await collector.stop()

    app = FastAPI(
        title=f"Cynosure: {project.name}",
        description="The North Star dashboard's JSON API. Sign in with a session cookie "
        "(POST /login) or send `Authorization: Bearer <token>`.",
        version="1",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.web = web
    errors.install(app, pages.render_error)
    app.include_router(api.router)
    app.include_router(admin.router)
    app.include_router(pages.router)
    if collector is not None:
        app.include_router(collector.router)  # /v1/*: write keys, not sign-in
        app.add_middleware(FastPath, collector=collector)  # the same handlers, minus routing

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in STATIC:
            return Response("not found", status_code=404, media_type="text/plain")
        path, media = STATIC[name]
        return FileResponse(path, media_type=media, headers={"Cache-Control": "max-age=3600"})

    @app.middleware("http")
    async def headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def _refresh_loop(analyses: Analyses, every: float, stop: threading.Event) -> None:
    while not stop.wait(every):
        try:
            analyses.refresh()
            analyses.warm()
        except Exception:  # keep serving the last good Results
            log.exception("refresh failed")


__all__ = ["create_app"]
