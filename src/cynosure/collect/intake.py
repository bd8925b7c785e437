"""From an HTTP body to normalized events: size limits, gzip, JSON, types, clock skew.

Everything here is pure (no I/O) and raises `CollectError` with the HTTP status and a message
that names the field and the limit, so a client developer can fix the call from the message
alone. What a request body contains is only ever data: it is validated here, stored as JSON in
the log, and later written to Parquet or bound as query parameters, never formatted into SQL
or a file path.
"""

from __future__ import annotations

import base64
import binascii
import uuid
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from cynosure.errors import CollectError

MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_DEPTH = 32
MAX_BATCH_EVENTS = 2500  # 500 KB of the smallest useful events
MAX_ID_CHARS = 256
TYPES = ("track", "identify", "page", "screen", "group", "alias")
OBJECT_FIELDS = ("properties", "traits", "context", "integrations")
STRING_FIELDS = ("event", "name", "category", "groupId", "previousId")


def decode_body(raw: bytes, encoding: str | None) -> bytes:
    """The request body, gunzipped when sent with `Content-Encoding: gzip`, within the
    batch limit even after decompression (a gzip bomb stops at the limit)."""
    coding = (encoding or "identity").strip().lower()
    if coding in ("", "identity"):
        body = raw
    elif coding in ("gzip", "x-gzip", "deflate"):
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header
        try:
            body = inflater.decompress(raw, MAX_BATCH_BYTES + 1)
        except zlib.error:
            raise CollectError(
                "the body is not valid gzip data (Content-Encoding says gzip)", "bad_encoding"
            ) from None
        if len(body) <= MAX_BATCH_BYTES and not inflater.eof:
            raise CollectError("the gzip body is cut short", "bad_encoding")
    else:
        raise CollectError(
            f"Content-Encoding '{coding[:40]}' is not supported: send gzip or no encoding",
            "bad_encoding",
            415,
        )
    if len(body) > MAX_BATCH_BYTES:
        raise too_large(f"a request body is limited to {MAX_BATCH_BYTES // 1024} KB")
    return body


def too_large(message: str) -> CollectError:
    return CollectError(message, "too_large", 413)


def parse_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; 400 for invalid UTF-8, invalid JSON or another type."""
    if not body.strip():
        raise CollectError("the body is empty: send a JSON object", "bad_json")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        reason = str(exc).split(":", 1)[0]
        raise CollectError(f"the body is not valid JSON: {reason}", "bad_json") from None
    if not isinstance(data, dict):
        raise CollectError(
            f"the body must be a JSON object, not {_kind(data)}", "bad_json"
        ) from None
    return data


def basic_key(header: str | None) -> str | None:
    """The write key from `Authorization: Basic base64(key:)`, if that header is sent."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise CollectError(
            "the Authorization header is not valid Basic credentials", "bad_auth", 401
        ) from None
    return decoded.split(":", 1)[0] or None


def body_key(data: dict[str, Any]) -> str | None:
    key = data.get("writeKey")
    if key is not None and not isinstance(key, str):
        raise CollectError(f"writeKey must be a string, not {_kind(key)}")
    return key or None


def _kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def _depth_ok(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


def _time(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise CollectError(f"{where} must be an ISO 8601 time string, not {_kind(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CollectError(
            f"{where} is not an ISO 8601 time: '{value}' (write it like 2026-11-22T10:00:00Z)"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _identifier(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise CollectError(f"{where} must be a string, not {_kind(value)}")
    text = str(value)
    if len(text) > MAX_ID_CHARS:
        raise CollectError(f"{where} is longer than {MAX_ID_CHARS} characters")
    return text


def normalize(
    message: Any,
    where: str,
    *,
    kind: str | None,
    received: datetime,
    sent_at: datetime | None,
    source: str,
    encode: Callable[[Any], bytes] = orjson.dumps,
    received_us: int | None = None,
) -> tuple[str, bytes]:
    """Check one message and return its messageId and its log payload (JSON bytes).

    `kind` is the endpoint's type (None for /v1/batch, where each message says its own).
    The stored event keeps the client's fields and adds: `receivedAt`, the corrected
    `timestamp` (client time shifted by receivedAt - sentAt, as Segment does), `source`
    (the write key's name) and `skew_ms` (the measured clock skew). `received_us` is
    `received` in microseconds, when the caller has it (the same for a whole batch).

    This runs once per event, so it is written for speed: the checks, their order and
    their messages are those of a plain field-by-field validation, but the common case (a
    valid event) takes the shortest path, e.g. the depth limit is proven from the encoded
    payload's bracket count and only walked when that bound is not enough.
    """
    if not isinstance(message, dict):
        raise CollectError(f"{where} must be a JSON object, not {_kind(message)}")
    get = message.get
    if kind is None:
        declared = get("type")
        if declared not in TYPES:
            shown = declared if isinstance(declared, str) else _kind(declared)
            raise CollectError(
                f"{where}.type must be one of {', '.join(TYPES)}, not '{str(shown)[:40]}'"
            )
        kind = str(declared)
    for name in OBJECT_FIELDS:
        value = get(name)
        if value is not None and not isinstance(value, dict):
            raise CollectError(f"{where}.{name} must be an object, not {_kind(value)}")
    for name in STRING_FIELDS:
        value = get(name)
        if value is not None and not isinstance(value, str):
            raise CollectError(f"{where}.{name} must be a string, not {_kind(value)}")
    user = get("userId")
    if type(user) is not str or not 0 < len(user) <= MAX_ID_CHARS:
        user = _identifier(user, f"{where}.userId")
    anonymous = get("anonymousId")
    if type(anonymous) is not str or not 0 < len(anonymous) <= MAX_ID_CHARS:
        anonymous = _identifier(anonymous, f"{where}.anonymousId")
    message_id = get("messageId")
    if type(message_id) is not str or not 0 < len(message_id) <= MAX_ID_CHARS:
        message_id = _identifier(message_id, f"{where}.messageId")
    if user is None and anonymous is None:
        raise CollectError(f"{where} needs a userId or an anonymousId")
    if kind == "track":
        if not get("event"):
            raise CollectError(f"{where}.event is required for a track call (the event's name)")
    elif kind == "group":
        if _identifier(get("groupId"), f"{where}.groupId") is None:
            raise CollectError(f"{where}.groupId is required for a group call")
    elif kind == "alias" and not get("previousId"):
        raise CollectError(f"{where}.previousId is required for an alias call")
    try:
        stamp = _time(get("timestamp"), f"{where}.timestamp")
        own_sent = _time(get("sentAt"), f"{where}.sentAt") or sent_at
        original = _time(get("originalTimestamp"), f"{where}.originalTimestamp")
    except CollectError:
        _check_depth(message, where)  # the depth limit is checked before the times
        raise
    stamp = stamp or original
    event = dict(message)
    if "writeKey" in event:
        _check_depth(message, where)  # the payload will not show what it held
        del event["writeKey"]  # a secret: never stored
    event["type"] = kind
    if message_id is None:
        message_id = str(uuid.uuid4())
    event["messageId"] = message_id
    if user is not None:
        event["userId"] = user
    if anonymous is not None:
        event["anonymousId"] = anonymous
    event["source"] = source
    received_at = _micros(received) if received_us is None else received_us
    event["receivedAt"] = received_at
    skew = 0
    if stamp is None:
        corrected = None
    elif own_sent is not None:
        delta = received - own_sent
        skew = int(delta.total_seconds() * 1000)
        corrected = stamp + delta
    else:
        corrected = stamp
    event["t"] = received_at if corrected is None else _micros(corrected)
    event["skew_ms"] = skew
    try:
        payload = encode(event)
    except TypeError:  # orjson's recursion limit (far deeper than ours)
        _check_depth(message, where)
        raise
    # Depth <= containers on the deepest path + 1 (a scalar leaf) <= brackets + 1: when the
    # payload has few brackets the event is shallow enough without walking it.
    if payload.count(b"{") + payload.count(b"[") >= MAX_DEPTH:
        _check_depth(message, where)
    if len(payload) > MAX_EVENT_BYTES:
        raise too_large(f"{where} is {len(payload):,} bytes; an event is limited to 32 KB")
    return message_id, payload


def _check_depth(message: dict[str, Any], where: str) -> None:
    if not _depth_ok(message, MAX_DEPTH):
        raise CollectError(f"{where} is nested deeper than {MAX_DEPTH} levels", "too_deep")


def parse_request(
    raw: bytes,
    *,
    kind: str | None,
    encoding: str | None,
    authorization: str | None,
    verify: Callable[[str | None], str],
    received: datetime | None = None,
) -> tuple[str, list[tuple[str, bytes]]]:
    """A whole request: the source name and each event's (messageId, payload)."""
    header_key = basic_key(authorization)
    body = decode_body(raw, encoding)
    data = parse_json(body)
    source = verify(header_key or body_key(data))
    received = received or datetime.now(UTC)
    sent_at = _time(data.get("sentAt"), "sentAt")
    if kind is None:
        batch = data.get("batch")
        if not isinstance(batch, list):
            raise CollectError(
                f"batch must be an array of messages, not {_kind(batch)}", "bad_batch"
            )
        if len(batch) > MAX_BATCH_EVENTS:
            raise too_large(f"a batch is limited to {MAX_BATCH_EVENTS} events")
        messages = [(m, f"batch[{i}]") for i, m in enumerate(batch)]
    else:
        messages = [(data, "body")]
    received_us = _micros(received)
    events = [
        normalize(
            m,
            w,
            kind=kind,
            received=received,
            sent_at=sent_at,
            source=source,
            received_us=received_us,
        )
        for m, w in messages
    ]
    return source, events
