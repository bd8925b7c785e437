"""Admin endpoints: users, collector write keys, refresh; and one's own API tokens.

Users and keys are separate on purpose: a dashboard user reads, a write key only sends events.
Write keys are managed through the collector (`collector.keys`, with `list()`, `create(name)`
and `revoke(name)`) when the installed collector offers it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from cynosure.web.api import reply, require
from cynosure.web.auth import Admin, SignedIn, state

router = APIRouter(prefix="/api", tags=["administration"])


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    role: Literal["viewer", "admin"] = "viewer"
    password: str | None = None


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str


@router.post("/refresh", summary="Read new events and drop cached results (admin)")
def refresh(request: Request, who: Admin) -> JSONResponse:
    return reply({"refresh": state(request).analyses.refresh()})


@router.get("/users", summary="Dashboard users (admin)")
def list_users(request: Request, who: Admin) -> JSONResponse:
    return reply({"users": [u.to_dict() for u in state(request).users.users()]})


@router.post("/users", status_code=201, summary="Create a dashboard user (admin)")
def add_user(request: Request, who: Admin, body: NewUser) -> JSONResponse:
    password = state(request).users.add(body.name, body.role, body.password)
    created = {"user": body.name, "role": body.role}
    if body.password is None:
        created["password"] = password  # shown once: only its hash is kept
    return JSONResponse(created, status_code=201)


@router.delete("/users/{name}", summary="Remove a dashboard user (admin)")
def remove_user(request: Request, who: Admin, name: str) -> JSONResponse:
    web = state(request)
    web.users.remove(name)
    web.sessions.end_user(name)
    return reply({"removed": name})


@router.post("/tokens", status_code=201, summary="A new API token for yourself")
def create_token(request: Request, who: SignedIn) -> JSONResponse:
    token = state(request).users.create_token(who.user.name)
    return JSONResponse({"user": who.user.name, "token": token}, status_code=201)


def _keys(request: Request) -> Any:
    collector = require(state(request).collector, "the collector")
    return require(getattr(collector, "keys", None), "key management through the collector")


@router.get("/keys", summary="Collector write keys (admin)")
def list_keys(request: Request, who: Admin) -> JSONResponse:
    return reply({"keys": _plain(_keys(request).list())})


@router.post("/keys", status_code=201, summary="Create a collector write key (admin)")
def create_key(request: Request, who: Admin, body: NewKey) -> JSONResponse:
    return JSONResponse({"key": _plain(_keys(request).create(body.name))}, status_code=201)


@router.delete("/keys/{name}", summary="Revoke a collector write key (admin)")
def revoke_key(request: Request, who: Admin, name: str) -> JSONResponse:
    _keys(request).revoke(name)
    return reply({"revoked": name})


def _plain(value: Any) -> Any:
    """JSON for a key or list of keys; a key's stored hash is never sent."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in ("digest", "hash", "sha256")}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
