"""The JSON API and access control over real HTTP against the live server: sign-in, roles,
CSRF, tokens, one error shape, and the Results behind every page."""

from __future__ import annotations

import httpx
import pytest

from cynosure.demo import truths

from .conftest import csrf_of, sign_in
from .live import VIEWER, Live

READ_ENDPOINTS = [
    "/api/project",
    "/api/me",
    "/api/periods",
    "/api/tree",
    "/api/metrics",
    f"/api/metrics/{truths.NORTH_STAR}/breakdown",
    "/api/explain?period=2026-W37",
    "/api/candidates",
    "/api/leadlag",
    "/api/aha",
    "/api/impact",
    f"/api/impact/{truths.INTERVENTION_NAME}",
    "/api/targets",
    "/api/health",
]
PAGES = ["/", "/metrics/listeners", "/explain", "/north-star", "/impact", "/health", "/report"]


@pytest.mark.parametrize("path", [*READ_ENDPOINTS, "/api/users", "/api/keys"])
def test_signed_out_api_requests_get_401_in_one_shape(anonymous: httpx.Client, path: str) -> None:
    answer = anonymous.get(path)
    assert answer.status_code == 401
    assert answer.json() == {
        "error": {
            "status": 401,
            "type": "unauthorized",
            "message": "sign in first: send a session cookie or an 'Authorization: Bearer' token",
        }
    }


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_pages_redirect_to_login(anonymous: httpx.Client, path: str) -> None:
    answer = anonymous.get(path)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


def test_openapi_documents_the_api(anonymous: httpx.Client) -> None:
    spec = anonymous.get("/api/openapi.json").json()
    for path in ("/api/tree", "/api/explain", "/api/impact/{intervention}", "/api/keys"):
        assert path in spec["paths"]
    assert "TreeResult" in spec["components"]["schemas"]


@pytest.mark.parametrize("path", READ_ENDPOINTS)
def test_every_endpoint_answers_a_viewer(viewer: httpx.Client, path: str) -> None:
    answer = viewer.get(path)
    assert answer.status_code == 200, answer.text
    assert isinstance(answer.json(), dict)


def test_the_api_returns_the_results_of_the_python_api(viewer: httpx.Client, server: Live) -> None:
    tree = viewer.get("/api/tree").json()
    assert tree == server.app.state.web.analyses.tree().to_dict()
    assert tree["north_star"] == truths.NORTH_STAR
    assert {
        "metric",
        "parent",
        "value",
        "baseline_value",
        "change",
        "contribution",
        "owner",
    } <= set(tree["nodes"][0])
    explain = viewer.get("/api/explain", params={"period": "2026-W37"}).json()
    assert explain["segments"][0]["segment"] == dict(truths.INCIDENT_SEGMENT)


def test_errors_have_one_shape(viewer: httpx.Client) -> None:
    unknown = viewer.get("/api/explain", params={"metric": "listening_hour"})
    assert unknown.status_code == 404
    error = unknown.json()["error"]
    assert error["type"] == "unknown_metric" and "listening_hours" in error["message"]
    bad = viewer.get("/api/tree", params={"period": "2026-W99"})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "bad_period"
    missing = viewer.get("/api/nothing-here")
    assert missing.json() == {"error": {"status": 404, "type": "not_found", "message": "Not Found"}}


def test_a_wrong_password_is_refused(anonymous: httpx.Client) -> None:
    form = anonymous.get("/login")
    anonymous.cookies.set("cynosure_login_csrf", form.cookies["cynosure_login_csrf"])
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    answer = anonymous.post(
        "/login", data={"name": VIEWER[0], "password": "wrong-password", "csrf_token": token}
    )
    assert answer.status_code == 401
    assert "cynosure_session" not in answer.cookies


def test_login_without_the_form_token_is_refused(anonymous: httpx.Client) -> None:
    answer = anonymous.post("/login", data={"name": VIEWER[0], "password": VIEWER[1]})
    assert answer.status_code == 200 and "The form expired" in answer.text
    assert "cynosure_session" not in answer.cookies


def test_session_cookie_is_secure_http_only_and_same_site(server: Live) -> None:
    client = httpx.Client(base_url=server.url)
    form = client.get("/login")
    client.cookies.set("cynosure_login_csrf", form.cookies["cynosure_login_csrf"])
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    answer = client.post(
        "/login", data={"name": VIEWER[0], "password": VIEWER[1], "csrf_token": token}
    )
    cookie = next(
        h for h in answer.headers.get_list("set-cookie") if h.startswith("cynosure_session=")
    ).lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
    assert answer.headers["location"] == "/"


def test_admin_only_endpoints_refuse_a_viewer(viewer: httpx.Client) -> None:
    csrf = csrf_of(viewer)
    for method, path in [
        ("GET", "/api/users"),
        ("POST", "/api/users"),
        ("DELETE", "/api/users/ada"),
        ("GET", "/api/keys"),
        ("POST", "/api/keys"),
        ("POST", "/api/refresh"),
    ]:
        answer = viewer.request(method, path, headers={"X-CSRF-Token": csrf}, json={"name": "x"})
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["error"]["type"] == "forbidden"


def test_state_changes_by_cookie_need_the_csrf_token(admin: httpx.Client) -> None:
    answer = admin.post("/api/users", json={"name": "eve", "role": "viewer"})
    assert answer.status_code == 403
    assert answer.json()["error"]["type"] == "csrf_failed"
    wrong = admin.post(
        "/api/users", json={"name": "eve", "role": "viewer"}, headers={"X-CSRF-Token": "nope"}
    )
    assert wrong.status_code == 403


def test_admin_manages_users_and_a_removed_user_is_signed_out(
    admin: httpx.Client, server: Live
) -> None:
    csrf = {"X-CSRF-Token": csrf_of(admin)}
    made = admin.post("/api/users", json={"name": "tess", "role": "viewer"}, headers=csrf)
    assert made.status_code == 201
    password = made.json()["password"]
    assert {u["name"] for u in admin.get("/api/users").json()["users"]} >= {"ada", "vic", "tess"}
    tess = sign_in(server, "tess", password)
    assert tess.get("/api/me").json()["user"]["role"] == "viewer"
    assert admin.delete("/api/users/tess", headers=csrf).status_code == 200
    assert tess.get("/api/me").status_code == 401
    again = admin.delete("/api/users/tess", headers=csrf)
    assert again.status_code == 404 and again.json()["error"]["type"] == "unknown_user"


def test_api_tokens_work_without_cookies_or_csrf(viewer: httpx.Client, server: Live) -> None:
    token = viewer.post("/api/tokens", headers={"X-CSRF-Token": csrf_of(viewer)}).json()["token"]
    with httpx.Client(base_url=server.url, timeout=60) as script:
        auth = {"Authorization": f"Bearer {token}"}
        assert script.get("/api/me", headers=auth).json()["user"]["name"] == VIEWER[0]
        assert script.get("/api/users", headers=auth).status_code == 403
        bad = script.get("/api/me", headers={"Authorization": "Bearer cyn_not-a-token"})
        assert bad.status_code == 401


def test_admin_manages_collector_write_keys_apart_from_sign_in(
    admin: httpx.Client, server: Live
) -> None:
    if server.app.state.web.collector is None:
        pytest.skip("the collector is not installed")
    csrf = {"X-CSRF-Token": csrf_of(admin)}
    made = admin.post("/api/keys", json={"name": "web-app"}, headers=csrf)
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    names = [k["name"] for k in admin.get("/api/keys").json()["keys"]]
    assert "web-app" in names
    assert all("digest" not in k for k in admin.get("/api/keys").json()["keys"])
    # A write key is no dashboard credential.
    with httpx.Client(base_url=server.url) as other:
        assert other.get("/api/tree", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert admin.delete("/api/keys/web-app", headers=csrf).status_code == 200


def test_logout_ends_the_session(server: Live) -> None:
    client = sign_in(server, *VIEWER)
    answer = client.post("/logout", data={"csrf_token": csrf_of(client)})
    assert answer.status_code == 303
    assert client.get("/api/me").status_code == 401


def test_pages_send_security_headers(viewer: httpx.Client) -> None:
    answer = viewer.get("/health")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_plotly_is_served_from_the_vendored_file(viewer: httpx.Client) -> None:
    answer = viewer.get("/static/plotly.min.js")
    assert answer.status_code == 200 and len(answer.content) > 1_000_000
    assert viewer.get("/static/../cynosure.yml").status_code == 404


def test_the_collector_is_mounted_with_its_own_write_key_auth(
    anonymous: httpx.Client, server: Live
) -> None:
    if server.app.state.web.collector is None:
        pytest.skip("the collector is not installed")
    answer = anonymous.post("/v1/batch", json={"batch": []})
    assert answer.status_code == 401  # the collector's own refusal: no write key
    assert answer.headers.get("location") is None
