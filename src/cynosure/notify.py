"""Delivering alerts to a webhook: a JSON POST with retries, and Slack's message shape.

`cynosure watch` runs from cron, so delivery must never crash it: `post_json` reports
network and HTTP failures in the `Delivery` it returns, with a one-line error the user can
act on. Only a URL that could never work raises, as a `WebhookError` (a bad argument).
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import re
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from importlib import metadata
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from cynosure.errors import WebhookError

__all__ = ["Delivery", "WebhookError", "check_url", "post_json", "slack_body"]

MAX_BACKOFF_S = 30.0
MAX_RETRY_AFTER_S = 60.0
SLACK_TEXT_LIMIT = 3000
SLACK_HEADER_LIMIT = 150
SLACK_BLOCK_LIMIT = 50
_RETRIED_STATUSES = frozenset({408, 429})
_ERROR_BODY_CHARS = 200


@dataclass(frozen=True)
class Delivery:
    """What happened to one webhook post.

    Attributes:
        url: Where it went, without credentials and with any query string hidden.
        status: The HTTP status of the last attempt; None when that attempt got no answer.
        attempts: How many requests were made.
        delivered: True when the last attempt got a 2xx answer.
        error: One line saying what went wrong, for the user; None when delivered.
    """

    url: str
    status: int | None
    attempts: int
    delivered: bool
    error: str | None


@dataclass(frozen=True)
class _Outcome:
    """One attempt: its status, and if it failed, why and whether trying again could help."""

    status: int | None
    problem: str | None = None
    retry: bool = False
    retry_after: float | None = None


def post_json(
    url: str,
    body: dict[str, Any],
    *,
    retries: int = 3,
    timeout: float = 10.0,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST `body` as JSON to `url`, retrying failures that may pass.

    Connection errors, timeouts, 408, 429 and 5xx answers are retried up to `retries` times,
    waiting `backoff * 2**i` seconds before retry `i` (at most 30 s), or the server's
    `Retry-After` seconds when it sends one (at most 60 s). Other 4xx answers and redirects
    are not retried: sending the same request again would fail the same way. Credentials in
    the URL (`https://user:pass@host/...`) are sent as HTTP Basic authentication.

    Args:
        url: The webhook, http or https.
        body: The JSON object to send; it must be JSON-serialisable, without NaN.
        retries: How many times to try again after the first attempt fails.
        timeout: Seconds to wait for each attempt to connect and answer.
        backoff: Seconds before the first retry; each later retry waits twice as long.
        sleep: Called with the seconds to wait between attempts (tests pass a recorder).

    Returns:
        The `Delivery`; network and HTTP failures are reported in it, never raised.

    Raises:
        WebhookError: The URL is not an absolute http(s) URL, or a setting is out of range.
        ValueError: `body` holds NaN or infinity, which JSON cannot carry.
        TypeError: `body` holds something that is not JSON-serialisable.
    """
    request_url, shown, authorization = _parse_url(url)
    if retries < 0:
        raise WebhookError(f"The webhook retries must be 0 or more. Got {retries} instead.")
    if timeout <= 0:
        raise WebhookError(f"The webhook timeout must be above 0 seconds. Got {timeout} instead.")
    if backoff < 0:
        raise WebhookError(f"The webhook backoff must be 0 or more. Got {backoff} instead.")

    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Accept": "application/json, text/plain, */*",
        "User-Agent": f"cynosure/{_version()}",
    }
    if authorization:
        headers["Authorization"] = authorization
    data = json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
    request = urllib.request.Request(request_url, data=data, headers=headers, method="POST")
    opener = urllib.request.build_opener(_NoRedirects())

    attempts = 0
    while True:
        attempts += 1
        outcome = _attempt(opener, request, timeout)
        if outcome.problem is None:
            return Delivery(shown, outcome.status, attempts, delivered=True, error=None)
        if not outcome.retry or attempts > retries:
            break
        if outcome.retry_after is not None:
            delay = min(outcome.retry_after, MAX_RETRY_AFTER_S)
        else:
            delay = min(backoff * 2 ** (attempts - 1), MAX_BACKOFF_S)
        sleep(delay)

    if outcome.retry:
        tail = f"gave up after {attempts} attempt{'s' if attempts != 1 else ''}"
    else:
        tail = "not retried"
    error = f"could not post to {shown}: {outcome.problem} ({tail})"
    return Delivery(shown, outcome.status, attempts, delivered=False, error=error)


def slack_body(title: str, lines: list[str], *, link: str | None = None) -> dict[str, Any]:
    """A Slack incoming-webhook message: a header, the lines as text, and an optional link.

    The lines are plain text: `&`, `<` and `>` are escaped so that Slack shows them as typed,
    while mrkdwn such as `*bold*` still applies. Lines go into sections of at most 3000
    characters each (Slack's limit), broken between lines where possible.

    Args:
        title: The headline; Slack cuts headers at 150 characters, so longer ones end in "…".
        lines: The message, one entry a line.
        link: A URL to show at the bottom, such as the dashboard for the alert.

    Returns:
        The JSON body, with `text` as the fallback for notifications and `blocks` to show.
    """
    # Header text is plain_text: Slack shows it as given, so it is cut, not escaped.
    header = title if len(title) <= SLACK_HEADER_LIMIT else title[: SLACK_HEADER_LIMIT - 1] + "…"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}}
    ]
    room = SLACK_BLOCK_LIMIT - len(blocks) - (1 if link else 0)
    chunks = _chunks(lines, SLACK_TEXT_LIMIT)
    if len(chunks) > room:
        chunks = [*chunks[: room - 1], "_… the rest is too long for one Slack message._"]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": c}} for c in chunks]
    if link:
        link_text = f"<{_slack_escape(link).replace('|', '%7C')}>"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": link_text}]})
    return {"text": _slack_escape(title), "blocks": blocks}


def check_url(url: str) -> None:
    """Raise WebhookError now if `url` is not a usable http(s) URL (before any work is done)."""
    _parse_url(url)


def _parse_url(url: str) -> tuple[str, str, str | None]:
    """The URL to request, the URL to show the user, and a Basic Authorization header."""
    if not isinstance(url, str) or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise WebhookError(f"The webhook URL must be one http(s) URL without spaces. Got {url!r}.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- parsing the port is what validates it
    except ValueError as exc:
        raise WebhookError(f"The webhook URL cannot be parsed: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError(
            "The webhook URL must start with http:// or https:// and name a host. "
            f"Got {_redact(url)!r} instead."
        )
    userinfo, _, hostport = parts.netloc.rpartition("@")
    authorization = None
    if userinfo:
        user, _, password = userinfo.partition(":")
        token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
        authorization = f"Basic {token}"
    request_url = urlunsplit((scheme, hostport, parts.path or "/", parts.query, ""))
    shown = urlunsplit((scheme, hostport, parts.path, "…" if parts.query else "", ""))
    return request_url, shown, authorization


def _redact(url: str) -> str:
    """`url` without user:password, and with any query string replaced by `…`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    hostport = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, hostport, parts.path, "…" if parts.query else "", ""))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would turn a redirected POST into a GET and drop the body."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


def _attempt(
    opener: urllib.request.OpenerDirector, request: urllib.request.Request, timeout: float
) -> _Outcome:
    """Send the request once and classify what came back."""
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read()
            return _Outcome(status=response.status)
    except urllib.error.HTTPError as exc:
        with exc:
            return _http_failure(exc)
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ssl.SSLCertVerificationError):
            return _Outcome(None, f"TLS certificate check failed: {reason.verify_message}")
        return _Outcome(None, _describe(reason, timeout), retry=True)
    except (OSError, http.client.HTTPException) as exc:
        return _Outcome(None, _describe(exc, timeout), retry=True)


def _http_failure(exc: urllib.error.HTTPError) -> _Outcome:
    """An answer that is not 2xx: retry 408, 429 and 5xx; explain redirects."""
    status = exc.code
    problem = f"HTTP {status} {exc.reason}".rstrip()
    if 300 <= status < 400:
        location = exc.headers.get("Location")
        where = f" to {_redact(location)}" if location else ""
        return _Outcome(status, f"{problem}: redirected{where}; use the final URL instead")
    detail = _error_detail(exc)
    if detail:
        problem += f": {detail}"
    if status in _RETRIED_STATUSES or status >= 500:
        return _Outcome(status, problem, retry=True, retry_after=_retry_after(exc.headers))
    return _Outcome(status, problem)


def _error_detail(exc: urllib.error.HTTPError) -> str:
    """The start of the error body, on one line: Slack says why there (`invalid_payload`)."""
    try:
        raw = exc.read(4 * _ERROR_BODY_CHARS)
    except (OSError, http.client.HTTPException):
        return ""
    text = " ".join(raw.decode("utf-8", errors="replace").split())
    return text if len(text) <= _ERROR_BODY_CHARS else text[: _ERROR_BODY_CHARS - 1] + "…"


def _retry_after(headers: Message | None) -> float | None:
    """The `Retry-After` delay in seconds, when given as seconds (HTTP dates are ignored)."""
    value = headers.get("Retry-After") if headers is not None else None
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 and not math.isnan(seconds) else None


def _describe(reason: object, timeout: float) -> str:
    """A short phrase for a failure without an HTTP answer."""
    if isinstance(reason, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return f"cannot resolve the host ({reason.strerror or reason})"
    if isinstance(reason, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror[:1].lower() + reason.strerror[1:]
    text = str(reason) or type(reason).__name__
    return " ".join(text.split())


def _chunks(lines: list[str], limit: int) -> list[str]:
    """Escaped lines joined into texts of at most `limit` characters, broken between lines."""
    pieces: list[str] = []
    for line in lines:
        pieces.extend(_split_line(_slack_escape(line), limit))
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for piece in pieces:
        extra = len(piece) + (1 if current else 0)
        if current and size + extra > limit:
            chunks.append("\n".join(current))
            current, size = [], 0
            extra = len(piece)
        current.append(piece)
        size += extra
    if current:
        chunks.append("\n".join(current))
    return [chunk for chunk in chunks if chunk.strip()]


_ENTITY = re.compile(r"&(?:amp|lt|gt);")


def _split_line(line: str, limit: int) -> list[str]:
    """An escaped line cut into parts of at most `limit` characters, never inside an entity."""
    parts: list[str] = []
    while len(line) > limit:
        cut = limit
        for match in _ENTITY.finditer(line, max(0, limit - 4), limit + 4):
            if match.start() < cut < match.end():
                cut = match.start()
        space = line.rfind(" ", limit // 2, cut)
        if space > 0:
            cut = space + 1
        parts.append(line[:cut])
        line = line[cut:]
    parts.append(line)
    return parts


def _slack_escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters in text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _version() -> str:
    try:
        return metadata.version("cynosure")
    except metadata.PackageNotFoundError:
        return "dev"
