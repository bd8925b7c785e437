"""The `/v1/*` routes of the Segment HTTP Tracking API, and the one JSON shape of errors.

Bodies are read as bytes (with a cap) and parsed by `intake.py` rather than by FastAPI's
model binding: the limits, gzip and the exact error messages are ours, and the OpenAPI
document still describes each body (for clients and for fuzzing).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from cynosure.collect.intake import MAX_BATCH_BYTES, TYPES, parse_request, too_large
from cynosure.errors import CollectError, CynosureError, OverloadedError, WriteKeyError

if TYPE_CHECKING:
    from cynosure.collect.collector import Collector

logger = logging.getLogger("cynosure.collect")
MAX_RAW_BYTES = MAX_BATCH_BYTES + 64 * 1024  # gzip can be a little larger than its content
RETRY_AFTER_S = 1
Endpoint = Callable[[Request], Awaitable[Response]]

_OBJECT = {"type": "object", "additionalProperties": True}
_MESSAGE = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": list(TYPES)},
        "messageId": {"type": "string", "maxLength": 256},
        "userId": {"type": "string"},
        "anonymousId": {"type": "string"},
        "event": {"type": "string"},
        "name": {"type": "string"},
        "groupId": {"type": "string"},
        "previousId": {"type": "string"},
        "timestamp": {"type": "string", "format": "date-time"},
        "sentAt": {"type": "string", "format": "date-time"},
        "properties": _OBJECT,
        "traits": _OBJECT,
        "context": _OBJECT,
    },
    "additionalProperties": True,
}
_ERROR = {
    "description": "An error",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "retry": {"type": "boolean"},
                        },
                    }
                },
            }
        }
    },
}


def error_response(exc: Exception) -> JSONResponse:
    """Every collector error as `{"error": {"code", "message", "retry"}}` with its status."""
    if isinstance(exc, (CollectError, WriteKeyError, OverloadedError)):
        status, code, retry, message = exc.status, exc.code, exc.retry, str(exc)
    elif isinstance(exc, CynosureError):
        status, code, retry, message = 400, "bad_request", False, str(exc)
    else:
        logger.exception("collector fault", exc_info=exc)
        status, code, retry = 503, "unavailable", True
        message = "the collector could not store the events; retry"
    headers = {"Retry-After": str(RETRY_AFTER_S)} if retry else {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="cynosure"'
    body = {"error": {"code": code, "message": message, "retry": retry}}
    return JSONResponse(body, status_code=status, headers=headers)


async def _read(request: Request) -> bytes:
    size = request.headers.get("content-length")
    if size is not None and size.isdigit() and int(size) > MAX_RAW_BYTES:
        raise too_large(f"a request body is limited to {MAX_BATCH_BYTES // 1024} KB")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_RAW_BYTES:
            raise too_large(f"a request body is limited to {MAX_BATCH_BYTES // 1024} KB")
        chunks.append(chunk)
    return b"".join(chunks)


SUCCESS = b'{"success":true}'  # what JSONResponse({"success": True}) renders


def endpoint(collector: Collector, kind: str | None) -> Endpoint:
    """The handler of `/v1/batch` (kind None) or `/v1/<kind>`."""

    async def handle(request: Request) -> Response:
        fault = collector.fault()
        try:
            if fault == 429:
                raise OverloadedError("test fault: overloaded")
            raw = await _read(request)
            headers = request.headers
            _, events = parse_request(
                raw,
                kind=kind,
                encoding=headers.get("content-encoding"),
                authorization=headers.get("authorization"),
                verify=collector.keys.verify,
            )
            collector.received += len(events)
            await collector.committer.submit(events)
        except Exception as exc:
            collector.rejected += 1
            return error_response(exc)
        if fault is not None and fault >= 500:
            injected = CollectError("injected test fault (the events are stored)", "test_fault")
            injected.status, injected.retry = fault, True
            return error_response(injected)
        return Response(SUCCESS, media_type="application/json")

    return handle


def path_of(kind: str | None) -> str:
    return "/batch" if kind is None else f"/{kind}"


class FastPath:
    """ASGI middleware sending `POST /v1/<kind>` straight to the collector's handlers.

    The same handlers are FastAPI routes (for the OpenAPI document and for apps that only
    include the router); this skips FastAPI's routing and dependency machinery, which costs
    as much per request as parsing 100 events. Anything else, a root_path included, goes
    through the app unchanged.
    """

    def __init__(self, app: ASGIApp, collector: Collector):
        self.app = app
        self.handlers = {
            "/v1" + path_of(kind): endpoint(collector, kind) for kind in (None, *TYPES)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            handler = self.handlers.get(scope["path"])
            if handler is not None:
                response = await handler(Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def build_router(collector: Collector) -> APIRouter:
    """The `/v1/*` routes bound to `collector`."""
    router = APIRouter(prefix="/v1", tags=["collect"])

    for kind in (None, *TYPES):
        path = path_of(kind)
        schema: dict[str, Any] = (
            {
                "type": "object",
                "required": ["batch"],
                "properties": {
                    "batch": {"type": "array", "items": _MESSAGE},
                    "sentAt": {"type": "string", "format": "date-time"},
                    "writeKey": {"type": "string"},
                    "context": _OBJECT,
                },
            }
            if kind is None
            else _MESSAGE
        )
        router.add_api_route(
            path,
            endpoint(collector, kind),
            methods=["POST"],
            name=f"collect_{kind or 'batch'}",
            summary=f"Segment {kind or 'batch'} call",
            description="A 200 means the events are on disk (fsynced). Errors say whether to "
            "retry.",
            responses={
                200: {"description": "Stored durably", "content": {"application/json": {}}},
                400: _ERROR,
                401: _ERROR,
                413: _ERROR,
                429: _ERROR,
                503: _ERROR,
            },
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": schema}},
                }
            },
        )
    return router
