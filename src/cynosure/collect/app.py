"""The collector as an application of its own: `cynosure collect`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from cynosure.collect.collector import Collector
from cynosure.collect.routes import FastPath, error_response


def create_collector_app(
    state_dir: Path | None = None,
    *,
    collector: Collector | None = None,
    **options: Any,
) -> FastAPI:
    """A FastAPI app serving only the collector's `/v1/*` routes (and `/health`).

    Args:
        state_dir: The project's state directory (`.cynosure/` beside cynosure.yml).
        collector: A collector made by the caller, instead of `state_dir` and `options`.
        **options: Passed to `Collector`.
    """
    if collector is None:
        if state_dir is None:
            raise ValueError("give state_dir or collector")
        collector = Collector(state_dir, **options)
    chosen = collector

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await chosen.start()
        try:
            yield
        finally:
            await chosen.stop()

    app = FastAPI(
        title="Cynosure collector",
        description="Segment-compatible HTTP Tracking API: a 200 means durably stored.",
        version="1",
        lifespan=lifespan,
    )
    app.include_router(chosen.router)
    app.add_middleware(FastPath, collector=chosen)
    app.state.collector = chosen

    @app.get("/health", tags=["collect"])
    def health() -> dict[str, Any]:
        return chosen.intake().model_dump()

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        body = {
            "error": {
                "code": "http_" + str(exc.status_code),
                "message": str(exc.detail),
                "retry": False,
            }
        }
        return JSONResponse(body, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(ValueError(str(exc)))

    return app
