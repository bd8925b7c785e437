"""Fixtures of the web tests: the live server, signed-in HTTP clients and a real Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from .live import ADMIN, VIEWER, Live, live


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Live:
    return live(tmp_path_factory.getbasetemp())


def sign_in(server: Live, name: str, password: str) -> httpx.Client:
    """An HTTP client signed in through the login form, as a browser would."""
    client = httpx.Client(base_url=server.url, timeout=120)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    # The cookies are Secure; httpx keeps them only for https, so carry them by hand.
    client.cookies.set("cynosure_login_csrf", form.cookies["cynosure_login_csrf"])
    answer = client.post(
        "/login", data={"name": name, "password": password, "csrf_token": token.group(1)}
    )
    assert answer.status_code == 303, answer.text
    client.cookies.set("cynosure_session", answer.cookies["cynosure_session"])
    return client


def csrf_of(client: httpx.Client) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/health").text)
    assert found is not None
    return found.group(1)


@pytest.fixture(scope="session")
def admin(server: Live) -> Iterator[httpx.Client]:
    client = sign_in(server, *ADMIN)
    yield client
    client.close()


@pytest.fixture(scope="session")
def viewer(server: Live) -> Iterator[httpx.Client]:
    client = sign_in(server, *VIEWER)
    yield client
    client.close()


@pytest.fixture()
def anonymous(server: Live) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client
