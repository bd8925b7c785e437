"""Hostile input gets the right 4xx with a clear message, and the server keeps serving;
fuzzing the endpoints (Hypothesis, shapes from the OpenAPI document) never gets a 5xx."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cynosure.cli import app

GOOD = {
    "type": "track",
    "event": "song_played",
    "userId": "u1",
    "messageId": "m-good",
    "properties": {"duration_s": 3},
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from cynosure.collect import create_collector_app, key_store

    from .conftest import Server, make_project

    project = make_project(tmp_path_factory.mktemp("hostile"))
    key = key_store(project.parent / ".cynosure").create("tests")
    with Server(create_collector_app(project.parent / ".cynosure", load_interval=0.5)) as server:
        yield server.url, key, project


def _post(url: str, path: str, body: bytes, key: str | None, **headers: str) -> httpx.Response:
    auth = (key, "") if key else None
    return httpx.post(
        url + path, content=body, auth=auth, headers={"Content-Type": "application/json", **headers}
    )


def _error(response: httpx.Response) -> dict[str, Any]:
    error = response.json()["error"]
    assert set(error) == {"code", "message", "retry"}
    return dict(error)


CASES = [
    ("malformed JSON", b'{"batch": [', 400, "not valid JSON"),
    ("invalid UTF-8", b'{"batch": [{"type": "track", "event": "\xff\xfe"}]}', 400, "UTF-8"),
    ("not an object", b"[1, 2]", 400, "must be a JSON object"),
    ("batch not a list", b'{"batch": {"a": 1}}', 400, "batch must be an array"),
    (
        "wrong type",
        json.dumps({"batch": [{**GOOD, "userId": {"x": 1}}]}).encode(),
        400,
        "batch[0].userId must be a string",
    ),
    (
        "unknown type",
        json.dumps({"batch": [{**GOOD, "type": "drop table"}]}).encode(),
        400,
        "batch[0].type must be one of",
    ),
    (
        "no ids",
        json.dumps({"batch": [{"type": "track", "event": "x"}]}).encode(),
        400,
        "needs a userId or an anonymousId",
    ),
    (
        "bad time",
        json.dumps({"batch": [{**GOOD, "timestamp": "yesterday"}]}).encode(),
        400,
        "not an ISO 8601 time",
    ),
    (
        "deep",
        json.dumps({"batch": [{**GOOD, "properties": json.loads("[" * 40 + "]" * 40)}]}).encode(),
        400,
        "must be an object",
    ),
    (
        "nested",
        json.dumps(
            {"batch": [{**GOOD, "properties": {"a": json.loads('{"b":' * 40 + "1" + "}" * 40)}}]}
        ).encode(),
        400,
        "nested deeper than 32",
    ),
    (
        "event too big",
        json.dumps({"batch": [{**GOOD, "properties": {"x": "a" * 40_000}}]}).encode(),
        413,
        "32 KB",
    ),
    (
        "batch too big",
        json.dumps(
            {
                "batch": [
                    {**GOOD, "messageId": str(i), "properties": {"x": "a" * 20_000}}
                    for i in range(30)
                ]
            }
        ).encode(),
        413,
        "500 KB",
    ),
]


@pytest.mark.parametrize(("what", "body", "status", "text"), CASES, ids=[c[0] for c in CASES])
def test_hostile_bodies(live: Any, what: str, body: bytes, status: int, text: str) -> None:
    url, key, _ = live
    response = _post(url, "/v1/batch", body, key)
    assert response.status_code == status, response.text
    assert text in _error(response)["message"]
    assert _post(url, "/v1/batch", json.dumps({"batch": [GOOD]}).encode(), key).status_code == 200


def test_auth_gzip_and_injection_strings(live: Any) -> None:
    url, key, project = live
    body = json.dumps({"batch": [GOOD]}).encode()
    missing = _post(url, "/v1/batch", body, None)
    assert missing.status_code == 401 and "no write key" in _error(missing)["message"]
    wrong = _post(url, "/v1/batch", body, "cyn_wrong")
    assert wrong.status_code == 401 and _error(wrong)["retry"] is False
    in_body = _post(url, "/v1/track", json.dumps({**GOOD, "writeKey": key}).encode(), None)
    assert in_body.status_code == 200
    zipped = _post(url, "/v1/batch", gzip.compress(body), key, **{"Content-Encoding": "gzip"})
    assert zipped.status_code == 200
    bomb = gzip.compress(b'{"batch": ["' + b"a" * 50_000_000 + b'"]}')
    too_big = _post(url, "/v1/batch", bomb, key, **{"Content-Encoding": "gzip"})
    assert too_big.status_code == 413 and "500 KB" in _error(too_big)["message"]
    nasty = '\'; DROP TABLE events; -- ../../etc/passwd \x00 "x"'
    event = {
        "type": "track",
        "event": nasty,
        "userId": nasty,
        "anonymousId": nasty,
        "messageId": "m-" + nasty,
        "properties": {nasty: nasty, "country": nasty},
        "context": {nasty: nasty},
    }
    assert _post(url, "/v1/batch", json.dumps({"batch": [event]}).encode(), key).status_code == 200
    assert not (project.parent.parent / "etc").exists()


def _message() -> st.SearchStrategy[Any]:
    scalar = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
    )
    anything = st.recursive(
        scalar,
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
        max_leaves=10,
    )
    fields = {
        "type": st.one_of(
            st.sampled_from(["track", "identify", "page", "screen", "group", "alias"]), anything
        ),
        "messageId": st.one_of(st.text(max_size=40), anything),
        "userId": st.one_of(st.text(max_size=20), anything),
        "anonymousId": st.one_of(st.text(max_size=20), anything),
        "event": st.one_of(st.text(max_size=20), anything),
        "timestamp": st.one_of(st.datetimes().map(lambda d: d.isoformat()), anything),
        "sentAt": st.one_of(st.datetimes().map(lambda d: d.isoformat()), anything),
        "properties": anything,
        "context": anything,
        "previousId": anything,
        "groupId": anything,
    }
    return st.fixed_dictionaries({}, optional=fields)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    path=st.sampled_from(["batch", "track", "identify", "page", "screen", "group", "alias"]),
    message=_message(),
    raw=st.one_of(st.none(), st.binary(max_size=200)),
)
def test_fuzzing_never_gets_a_server_error(
    live: Any, path: str, message: Any, raw: bytes | None
) -> None:
    url, key, _ = live
    body = (
        raw
        if raw is not None
        else json.dumps({"batch": [message]} if path == "batch" else message).encode()
    )
    response = _post(url, f"/v1/{path}", body, key)
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        _error(response)


def test_openapi_describes_the_endpoints(live: Any) -> None:
    url, _, _ = live
    paths = httpx.get(url + "/openapi.json").json()["paths"]
    assert {
        "/v1/batch",
        "/v1/track",
        "/v1/identify",
        "/v1/page",
        "/v1/screen",
        "/v1/group",
        "/v1/alias",
    } <= set(paths)


def test_keys_cli_create_list_revoke(project: Path, serve: Any) -> None:
    runner = CliRunner()
    created = runner.invoke(app, ["keys", "create", "ios-app", "-p", str(project)])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert key.startswith("cyn_")
    stored = (project.parent / ".cynosure" / "collect" / "keys.json").read_text()
    assert key not in stored
    listed = runner.invoke(app, ["keys", "list", "-p", str(project), "--json"])
    assert json.loads(listed.stdout)["keys"][0]["name"] == "ios-app"
    body = json.dumps({"batch": [GOOD]}).encode()
    with serve() as server:
        assert _post(server.url, "/v1/batch", body, key).status_code == 200
        revoked = runner.invoke(app, ["keys", "revoke", "ios-app", "-p", str(project)])
        assert revoked.exit_code == 0
        assert _post(server.url, "/v1/batch", body, key).status_code == 401
    unknown = runner.invoke(app, ["keys", "revoke", "nope", "-p", str(project)])
    assert unknown.exit_code == 2
