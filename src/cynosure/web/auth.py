"""Who is asking: an API token (`Authorization: Bearer cyn_...`) or a session cookie, and
whether the role allows it.

Requests signed in by cookie that change state (POST, PUT, PATCH, DELETE) must also carry the
session's CSRF token, in the `X-CSRF-Token` header or a `csrf_token` form field. Bearer tokens
are not sent by browsers on their own, so they need none. The collector's `/v1/*` routes use
neither: they take write keys, and are mounted without these dependencies.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from cynosure.web.analyses import Analyses
from cynosure.web.errors import CsrfFailed, Forbidden, SignInRequired
from cynosure.web.sessions import COOKIE, CSRF_FIELD, CSRF_HEADER, Session, SessionStore
from cynosure.web.users import User, UserStore

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass
class WebState:
    """Everything the handlers share, kept on `app.state.web`."""

    analyses: Analyses
    users: UserStore
    sessions: SessionStore
    collector: Any | None
    secure_cookies: bool = True


@dataclass(frozen=True)
class Caller:
    """The signed-in user of a request, and the session when signed in by cookie."""

    user: User
    session: Session | None

    @property
    def csrf(self) -> str:
        return self.session.csrf if self.session else ""


def state(request: Request) -> WebState:
    web: WebState = request.app.state.web
    return web


async def caller(request: Request) -> Caller:
    """The signed-in caller, or SignInRequired (401 for the API, /login for pages)."""
    web = state(request)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        user = web.users.user_for_token(header[7:].strip())
        if user is None:
            raise SignInRequired("the API token is not valid (it may have been revoked)")
        return Caller(user, None)
    session = web.sessions.get(request.cookies.get(COOKIE))
    if session is None:
        raise SignInRequired()
    user = web.users.get(session.user)
    if user is None:  # removed since signing in
        web.sessions.end_user(session.user)
        raise SignInRequired()
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent and "form" in request.headers.get("content-type", ""):
            sent = str((await request.form()).get(CSRF_FIELD, ""))
        if not hmac.compare_digest(sent, session.csrf):
            raise CsrfFailed("the CSRF token is missing or wrong: reload the page and try again")
    return Caller(user, session)


async def admin(who: Annotated[Caller, Depends(caller)]) -> Caller:
    """The caller, who must be an admin."""
    if not who.user.is_admin:
        raise Forbidden(f"only admins may do this; '{who.user.name}' is a {who.user.role}")
    return who


SignedIn = Annotated[Caller, Depends(caller)]
Admin = Annotated[Caller, Depends(admin)]
