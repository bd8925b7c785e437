"""Dashboard users: scrypt-hashed passwords, roles and API tokens, in the project's state directory.

The file (`.cynosure/users.json`, mode 0600) holds no secret in clear: passwords are stored as
scrypt hashes with a per-user salt, API tokens as SHA-256 digests (they are long and random, so
a fast digest is enough). Collector write keys live elsewhere: read access and write access
never share a credential.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cynosure.errors import UnknownUserError, UserError

ROLES = ("viewer", "admin")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
TOKEN_PREFIX = "cyn_"
MIN_PASSWORD = 8
# scrypt cost: about 50 ms and 16 MiB per check on a small machine.
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
USERS_FILE = "users.json"


@dataclass(frozen=True)
class User:
    """A signed-in person or script."""

    name: str
    role: str
    created: str
    tokens: int = 0

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "created": self.created,
            "tokens": self.tokens,
        }


def hash_password(password: str, salt: bytes | None = None) -> str:
    """`scrypt$n$r$p$salt$hash`, salt and hash in hex."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, maxmem=64 * 2**20, dklen=32, **SCRYPT)
    return "scrypt${n}${r}${p}$".format(**SCRYPT) + f"{salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, expected = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    digest = hashlib.scrypt(
        password.encode(),
        salt=bytes.fromhex(salt),
        n=int(n),
        r=int(r),
        p=int(p),
        maxmem=64 * 2**20,
        dklen=32,
    )
    return hmac.compare_digest(digest.hex(), expected)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Checked against when the name is unknown, so that a wrong name takes as long as a wrong
# password and does not reveal which names exist.
_DUMMY = hash_password("not a password", salt=b"0" * 16)


class UserStore:
    """The users of one project's dashboard, read from and written to one JSON file.

    The file is re-read when it changes on disk, so that `cynosure users add` takes effect on a
    running server.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._data: dict[str, Any] = {"users": {}}
        self._mtime: float | None = None

    @classmethod
    def in_directory(cls, state_dir: Path) -> UserStore:
        return cls(Path(state_dir) / USERS_FILE)

    # -- reading ----------------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            self._data, self._mtime = {"users": {}}, None
            return self._data
        if mtime != self._mtime:
            self._data = json.loads(self.path.read_text(encoding="utf-8"))
            self._mtime = mtime
        return self._data

    def _save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
        os.replace(temporary, self.path)
        self._mtime = None  # re-read on next use

    def users(self) -> list[User]:
        """Every user, by name."""
        with self._lock:
            data = self._load()
            return [_user(name, record) for name, record in sorted(data["users"].items())]

    def get(self, name: str) -> User | None:
        with self._lock:
            record = self._load()["users"].get(name)
            return None if record is None else _user(name, record)

    # -- changing ---------------------------------------------------------------------------

    def add(self, name: str, role: str = "viewer", password: str | None = None) -> str:
        """Create a user; return its password (generated when not given).

        Raises:
            UserError: When the name is malformed or taken, the role unknown, or the password
                shorter than 8 characters.
        """
        if not NAME.match(name):
            raise UserError(
                f"'{name}' is not a valid user name: use 1 to 64 letters, digits, '.', '_', "
                "'@' or '-', starting with a letter or digit"
            )
        if role not in ROLES:
            raise UserError(f"the role must be one of {', '.join(ROLES)}, not '{role}'")
        if password is None:
            password = secrets.token_urlsafe(12)
        if len(password) < MIN_PASSWORD:
            raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
        with self._lock:
            data = self._load()
            if name in data["users"]:
                raise UserError(f"a user named '{name}' already exists (remove it first)")
            data["users"][name] = {
                "role": role,
                "password": hash_password(password),
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "tokens": [],
            }
            self._save(data)
        return password

    def remove(self, name: str) -> None:
        """Delete a user, its password and its tokens."""
        with self._lock:
            data = self._load()
            if name not in data["users"]:
                raise UnknownUserError(_unknown(name, data))
            del data["users"][name]
            self._save(data)

    def create_token(self, name: str) -> str:
        """A new API token for `name` (sent as `Authorization: Bearer <token>`)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._lock:
            data = self._load()
            if name not in data["users"]:
                raise UnknownUserError(_unknown(name, data))
            data["users"][name]["tokens"].append(
                {
                    "sha256": _token_digest(token),
                    "created": datetime.now(UTC).isoformat(timespec="seconds"),
                }
            )
            self._save(data)
        return token

    # -- checking ---------------------------------------------------------------------------

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when the password is right, else None (in about the same time)."""
        with self._lock:
            record = self._load()["users"].get(name)
        if record is None:
            password_matches(password, _DUMMY)
            return None
        return _user(name, record) if password_matches(password, record["password"]) else None

    def user_for_token(self, token: str) -> User | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        digest = _token_digest(token)
        with self._lock:
            for name, record in self._load()["users"].items():
                for item in record.get("tokens", []):
                    if hmac.compare_digest(item["sha256"], digest):
                        return _user(name, record)
        return None


def _user(name: str, record: dict[str, Any]) -> User:
    return User(name, record["role"], record["created"], len(record.get("tokens", [])))


def _unknown(name: str, data: dict[str, Any]) -> str:
    known = ", ".join(sorted(data["users"])) or "none yet"
    return f"no user is named '{name}' (users: {known})"
