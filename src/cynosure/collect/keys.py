"""Collector write keys: one per source, stored hashed, created and revoked by `cynosure keys`.

A key is 32 random bytes (URL-safe base64, prefixed `cyn_`). Only its SHA-256 is kept: a
key has far too much entropy to be guessed from its hash, so a slow password hash buys
nothing here. The file is re-read when it changes, so a key revoked from the command line
stops working in a running collector within a request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from cynosure.collect.log import write_durably
from cynosure.errors import CollectError, UnknownKeyError, WriteKeyError

PREFIX = "cyn_"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class WriteKey:
    """A key as stored: its name (the source it belongs to), hash and dates."""

    name: str
    digest: str
    created: str
    revoked: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked is None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class KeyStore:
    """The write keys of one project, in `<state>/collect/keys.json`."""

    def __init__(self, path: Path):
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._keys: dict[str, WriteKey] = {}

    def _load(self) -> dict[str, WriteKey]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._keys = None, {}
            return self._keys
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            data = orjson.loads(self.path.read_bytes())
            self._keys = {k["name"]: WriteKey(**k) for k in data.get("keys", [])}
            self._stamp = stamp
        return self._keys

    def _save(self, keys: dict[str, WriteKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = orjson.dumps(
            {"keys": [k.__dict__ for k in keys.values()]}, option=orjson.OPT_INDENT_2
        )
        # Written whole then renamed (a reader never sees half a file), owner-only like
        # every temporary file mkstemp makes.
        write_durably(self.path, body, sync_directory=False)
        self._stamp = None

    def list(self) -> list[WriteKey]:
        """Every key, revoked ones included, in creation order."""
        return list(self._load().values())

    def create(self, name: str) -> str:
        """Make a key for source `name`; returns the key itself (shown once, never stored)."""
        if not NAME.match(name):
            raise CollectError(
                f"'{name}' cannot name a key: use up to 64 letters, digits, '_', '.' or '-'"
            )
        keys = dict(self._load())
        if name in keys and keys[name].active:
            raise CollectError(
                f"a key named '{name}' exists; revoke it first or choose another name",
                code="exists",
            )
        token = PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        keys[name] = WriteKey(name, _digest(token), now)
        self._save(keys)
        return token

    def revoke(self, name: str) -> WriteKey:
        """Revoke the key named `name`: requests with it get 401 from now on."""
        keys = dict(self._load())
        if name not in keys:
            known = ", ".join(sorted(keys)) or "none"
            raise UnknownKeyError(f"no write key is named '{name}' (keys: {known})")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        keys[name] = WriteKey(name, keys[name].digest, keys[name].created, now)
        self._save(keys)
        return keys[name]

    def verify(self, token: str | None) -> str:
        """The name of the source whose active key is `token`; WriteKeyError otherwise."""
        if not token:
            raise WriteKeyError(
                "no write key: send it as the HTTP Basic user name (empty password) "
                "or as `writeKey` in the body"
            )
        digest = _digest(token)
        found = None
        for key in self._load().values():
            # Compare every key in constant time: timing says nothing about near-misses.
            if hmac.compare_digest(key.digest, digest) and key.active:
                found = key.name
        if found is None:
            raise WriteKeyError("the write key is unknown or revoked")
        return found
