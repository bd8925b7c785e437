"""Signed-in sessions: a random id in a signed, HTTP-only cookie; expiry and CSRF token kept
on the server.

The cookie carries `<id>.<HMAC-SHA256 of id>`; the id maps, in this process's memory, to the
user, the expiry and the CSRF token. Signing out, or the expiry, deletes the record, so a copied
cookie stops working at once. A restart signs everyone out (the secret key persists, the
records do not).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

COOKIE = "cynosure_session"
LOGIN_CSRF_COOKIE = "cynosure_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SECRET_FILE = "web-secret"
DEFAULT_LIFETIME = 12 * 3600


@dataclass
class Session:
    id: str
    user: str
    csrf: str
    expires: float


def load_secret(state_dir: Path) -> bytes:
    """The key that signs cookies, created once (mode 0600) in the project's state directory."""
    path = Path(state_dir) / SECRET_FILE
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key.hex())
    return key


class SessionStore:
    """Sessions of one server process."""

    def __init__(self, secret: bytes, lifetime: float = DEFAULT_LIFETIME):
        self.secret = secret
        self.lifetime = lifetime
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def sign(self, value: str) -> str:
        mac = hmac.new(self.secret, value.encode(), hashlib.sha256).hexdigest()
        return f"{value}.{mac}"

    def unsign(self, signed: str) -> str | None:
        value, _, mac = signed.rpartition(".")
        if not value:
            return None
        expected = hmac.new(self.secret, value.encode(), hashlib.sha256).hexdigest()
        return value if hmac.compare_digest(mac, expected) else None

    def create(self, user: str) -> tuple[Session, str]:
        """A new session for `user` and the cookie value that names it."""
        session = Session(
            id=secrets.token_urlsafe(32),
            user=user,
            csrf=secrets.token_urlsafe(32),
            expires=time.time() + self.lifetime,
        )
        with self._lock:
            self._drop_expired()
            self._sessions[session.id] = session
        return session, self.sign(session.id)

    def get(self, cookie: str | None) -> Session | None:
        """The live session a cookie names, or None (unsigned, unknown or expired)."""
        if not cookie:
            return None
        session_id = self.unsign(cookie)
        if session_id is None:
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if session.expires <= time.time():
                del self._sessions[session_id]
                return None
            return session

    def end(self, cookie: str | None) -> None:
        session = self.get(cookie)
        if session is not None:
            with self._lock:
                self._sessions.pop(session.id, None)

    def end_user(self, user: str) -> None:
        """Sign a user out everywhere (when the user is removed)."""
        with self._lock:
            for key in [k for k, s in self._sessions.items() if s.user == user]:
                del self._sessions[key]

    def _drop_expired(self) -> None:
        now = time.time()
        for key in [k for k, s in self._sessions.items() if s.expires <= now]:
            del self._sessions[key]
