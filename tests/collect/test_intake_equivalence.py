"""The fast `normalize` against a plain field-by-field reference: same payload, same error.

`intake.normalize` runs once per event, so it takes shortcuts (the depth limit proven from the
payload's bracket count, identifiers checked inline); this pins its behaviour to the simple
version it replaced, on valid events and on every kind of invalid one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from cynosure.collect import intake
from cynosure.collect.intake import (
    MAX_DEPTH,
    MAX_EVENT_BYTES,
    OBJECT_FIELDS,
    STRING_FIELDS,
    TYPES,
    _depth_ok,
    _identifier,
    _kind,
    _micros,
    _time,
    too_large,
)
from cynosure.errors import CollectError


def reference(
    message: Any, where: str, *, kind: str | None, received: datetime, sent_at: datetime | None
) -> tuple[str, bytes]:
    if not isinstance(message, dict):
        raise CollectError(f"{where} must be a JSON object, not {_kind(message)}")
    declared = message.get("type")
    if kind is None:
        if declared not in TYPES:
            shown = declared if isinstance(declared, str) else _kind(declared)
            raise CollectError(
                f"{where}.type must be one of {', '.join(TYPES)}, not '{str(shown)[:40]}'"
            )
        kind = str(declared)
    for name in OBJECT_FIELDS:
        value = message.get(name)
        if value is not None and not isinstance(value, dict):
            raise CollectError(f"{where}.{name} must be an object, not {_kind(value)}")
    for name in STRING_FIELDS:
        value = message.get(name)
        if value is not None and not isinstance(value, str):
            raise CollectError(f"{where}.{name} must be a string, not {_kind(value)}")
    user = _identifier(message.get("userId"), f"{where}.userId")
    anonymous = _identifier(message.get("anonymousId"), f"{where}.anonymousId")
    message_id = _identifier(message.get("messageId"), f"{where}.messageId")
    if user is None and anonymous is None:
        raise CollectError(f"{where} needs a userId or an anonymousId")
    if kind == "track" and not message.get("event"):
        raise CollectError(f"{where}.event is required for a track call (the event's name)")
    if kind == "group" and _identifier(message.get("groupId"), f"{where}.groupId") is None:
        raise CollectError(f"{where}.groupId is required for a group call")
    if kind == "alias" and not message.get("previousId"):
        raise CollectError(f"{where}.previousId is required for an alias call")
    if not _depth_ok(message, MAX_DEPTH):
        raise CollectError(f"{where} is nested deeper than {MAX_DEPTH} levels", "too_deep")
    stamp = _time(message.get("timestamp"), f"{where}.timestamp")
    own_sent = _time(message.get("sentAt"), f"{where}.sentAt") or sent_at
    original = _time(message.get("originalTimestamp"), f"{where}.originalTimestamp")
    stamp = stamp or original
    event = dict(message)
    event.pop("writeKey", None)
    event["type"] = kind
    event["messageId"] = message_id or str(uuid.uuid4())
    if user is not None:
        event["userId"] = user
    if anonymous is not None:
        event["anonymousId"] = anonymous
    event["source"] = "src"
    event["receivedAt"] = _micros(received)
    skew = 0
    if stamp is None:
        corrected = received
    elif own_sent is not None:
        delta = received - own_sent
        skew = int(delta.total_seconds() * 1000)
        corrected = stamp + delta
    else:
        corrected = stamp
    event["t"] = _micros(corrected)
    event["skew_ms"] = skew
    payload = orjson.dumps(event)
    if len(payload) > MAX_EVENT_BYTES:
        raise too_large(f"{where} is {len(payload):,} bytes; an event is limited to 32 KB")
    return event["messageId"], payload


def nest(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


GOOD = {"type": "track", "event": "e", "userId": "u1", "messageId": "m1"}
CASES: list[Any] = [
    GOOD,
    {**GOOD, "timestamp": "2026-11-22T10:00:00.123Z", "sentAt": "2026-11-22T10:00:01+02:00"},
    {**GOOD, "originalTimestamp": "2026-11-22T09:00:00"},
    {**GOOD, "userId": 42, "anonymousId": "", "properties": {"x": [1, {"y": [2]}]}},
    {**GOOD, "userId": "", "anonymousId": "a" * 256},
    {**GOOD, "userId": "u" * 257},
    {**GOOD, "userId": True},
    {**GOOD, "messageId": 7},
    {**GOOD, "messageId": ["x"]},
    {**GOOD, "userId": None, "anonymousId": None},
    {**GOOD, "event": ""},
    {**GOOD, "event": 3},
    {**GOOD, "type": "bogus"},
    {**GOOD, "type": 5},
    {**GOOD, "properties": []},
    {**GOOD, "context": "x"},
    {**GOOD, "type": "group"},
    {**GOOD, "type": "group", "groupId": 12},
    {**GOOD, "type": "alias"},
    {**GOOD, "type": "alias", "previousId": "p"},
    {**GOOD, "type": "identify", "traits": {"plan": "pro"}},
    {**GOOD, "timestamp": "yesterday"},
    {**GOOD, "timestamp": 12},
    {**GOOD, "sentAt": "x" * 80},
    # The depth limit, at and around it, alone and with other faults (depth comes first).
    {**GOOD, "properties": nest(MAX_DEPTH - 2)},
    {**GOOD, "properties": nest(MAX_DEPTH - 1)},
    {**GOOD, "properties": nest(MAX_DEPTH - 2, {})},
    {**GOOD, "properties": nest(MAX_DEPTH - 1, {})},
    {**GOOD, "properties": nest(MAX_DEPTH - 1), "timestamp": "yesterday"},
    {**GOOD, "properties": nest(300)},
    {**GOOD, "properties": {"s": "{[" * 40}},
    {**GOOD, "writeKey": nest(MAX_DEPTH)},
    {**GOOD, "writeKey": "secret"},
    {**GOOD, "properties": {"x": "a" * 40_000}},
    {**GOOD, "properties": {"x": "a" * 40_000, "deep": nest(MAX_DEPTH)}},
    "not an object",
    None,
]


@pytest.mark.parametrize("kind", [None, "track", "identify", "group", "alias"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_normalize_matches_reference(case: int, kind: str | None) -> None:
    message = CASES[case]
    received = datetime(2026, 11, 22, 10, 0, 5, 123456, tzinfo=UTC)
    sent_at = datetime(2026, 11, 22, 10, 0, 4, tzinfo=UTC)
    outcomes: list[tuple[Any, ...]] = []
    for function in (reference, intake.normalize):
        options: dict[str, Any] = {"kind": kind, "received": received, "sent_at": sent_at}
        if function is intake.normalize:
            options["source"] = "src"
        try:
            outcomes.append(function(message, "batch[0]", **options))
        except CollectError as exc:
            outcomes.append((type(exc), exc.status, exc.code, str(exc)))
    expected, actual = outcomes
    assert actual == expected
