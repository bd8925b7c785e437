"""Webhook delivery against a real HTTP server on 127.0.0.1, and the Slack message shape."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from cynosure.errors import CynosureError, WebhookError
from cynosure.notify import Delivery, post_json, slack_body


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Webhook:
    """A real HTTP server that answers with scripted replies and records what it received."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.received: list[Received] = []
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def answer(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                webhook.received.append(
                    Received("POST", self.path, dict(self.headers.items()), body)
                )
                reply = webhook.replies.pop(0) if webhook.replies else Reply()
                time.sleep(reply.delay)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out leaves a broken pipe behind; that is the test's point


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[Webhook]:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    hook = Webhook()
    thread = threading.Thread(target=hook.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()
    thread.join()


class Sleeps(list[float]):
    """Records the waits between attempts instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_delivered_on_the_first_try_with_the_exact_body(webhook: Webhook) -> None:
    body = {"text": "Weekly active users fell 12% — ünïcode & <tags>", "n": [1, 2.5, None]}
    sleeps = Sleeps()
    delivery = post_json(webhook.url, body, sleep=sleeps)
    assert delivery == Delivery(webhook.url, 200, 1, delivered=True, error=None)
    assert sleeps == []
    [request] = webhook.received
    assert request.path == "/hook"
    assert json.loads(request.body.decode("utf-8")) == body
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["User-Agent"].startswith("cynosure/")


def test_server_errors_are_retried_with_exponential_backoff(webhook: Webhook) -> None:
    webhook.answer(Reply(500), Reply(502), Reply(200))
    sleeps = Sleeps()
    delivery = post_json(webhook.url, {"a": 1}, backoff=0.5, sleep=sleeps)
    assert delivery.delivered
    assert (delivery.attempts, delivery.status, delivery.error) == (3, 200, None)
    assert sleeps == [0.5, 1.0]
    assert len(webhook.received) == 3
    assert {r.body for r in webhook.received} == {b'{"a": 1}'}


def test_retry_after_is_honoured(webhook: Webhook) -> None:
    webhook.answer(Reply(429, headers={"Retry-After": "2"}), Reply(200))
    sleeps = Sleeps()
    delivery = post_json(webhook.url, {}, sleep=sleeps)
    assert delivery.delivered and delivery.attempts == 2
    assert sleeps == [2.0]


def test_waits_are_capped(webhook: Webhook) -> None:
    webhook.answer(Reply(503), Reply(503), Reply(503, headers={"Retry-After": "3600"}), Reply(503))
    sleeps = Sleeps()
    delivery = post_json(webhook.url, {}, retries=3, backoff=20, sleep=sleeps)
    assert not delivery.delivered
    assert (delivery.attempts, delivery.status) == (4, 503)
    assert sleeps == [20, 30, 60]
    assert delivery.error is not None
    assert "HTTP 503" in delivery.error and "gave up after 4 attempts" in delivery.error


def test_client_errors_are_not_retried(webhook: Webhook) -> None:
    webhook.answer(Reply(400, body=b"invalid_payload"))
    sleeps = Sleeps()
    delivery = post_json(webhook.url, {"text": "x"}, sleep=sleeps)
    assert not delivery.delivered
    assert (delivery.attempts, delivery.status) == (1, 400)
    assert sleeps == []
    assert delivery.error == (
        f"could not post to {webhook.url}: HTTP 400 Bad Request: invalid_payload (not retried)"
    )


def test_a_redirect_is_reported_not_followed(webhook: Webhook) -> None:
    webhook.answer(Reply(301, headers={"Location": "https://new.example/hook?key=s3cret"}))
    delivery = post_json(webhook.url, {}, sleep=Sleeps())
    assert not delivery.delivered and delivery.attempts == 1 and delivery.status == 301
    assert delivery.error is not None
    assert "redirected to https://new.example/hook?…" in delivery.error
    assert "s3cret" not in delivery.error
    assert len(webhook.received) == 1


def test_connection_refused_gives_up_after_every_retry() -> None:
    url = f"http://127.0.0.1:{closed_port()}/hook"
    sleeps = Sleeps()
    delivery = post_json(url, {}, retries=2, sleep=sleeps)
    assert delivery == Delivery(
        url,
        None,
        3,
        delivered=False,
        error=f"could not post to {url}: connection refused (gave up after 3 attempts)",
    )
    assert sleeps == [1.0, 2.0]


def test_a_slow_server_times_out(webhook: Webhook) -> None:
    webhook.answer(Reply(200, delay=1.0))
    delivery = post_json(webhook.url, {}, retries=0, timeout=0.2, sleep=Sleeps())
    assert not delivery.delivered and delivery.status is None and delivery.attempts == 1
    assert delivery.error is not None and "no answer within 0.2 s" in delivery.error


def test_credentials_become_basic_auth_and_are_never_shown(webhook: Webhook) -> None:
    port = webhook.server.server_port
    url = f"http://alert-bot:pa%40ss@127.0.0.1:{port}/hook?token=s3cret"
    webhook.answer(Reply(401, body=b"bad token"))
    delivery = post_json(url, {}, sleep=Sleeps())
    [request] = webhook.received
    assert request.path == "/hook?token=s3cret"
    expected = base64.b64encode(b"alert-bot:pa@ss").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert delivery.url == f"http://127.0.0.1:{port}/hook?…"
    for secret in ("alert-bot", "pa%40ss", "s3cret"):
        assert secret not in repr(delivery)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "hooks.slack.com/services/T/B/X",
        "https:///no-host",
        "http://example.com:notaport/",
        "http://example.com/a hook",
        "",
    ],
)
def test_urls_that_cannot_work_raise_a_user_error(url: str) -> None:
    with pytest.raises(WebhookError, match="webhook URL") as caught:
        post_json(url, {}, sleep=Sleeps())
    assert isinstance(caught.value, CynosureError) and isinstance(caught.value, ValueError)


def test_the_credentials_of_a_rejected_url_are_not_echoed() -> None:
    with pytest.raises(WebhookError) as caught:
        post_json("ftp://user:hunter2@example.com/x", {})
    assert "hunter2" not in str(caught.value)


def test_negative_retries_are_a_user_error() -> None:
    with pytest.raises(WebhookError, match=r"retries must be 0 or more\. Got -1"):
        post_json("https://example.com/hook", {}, retries=-1)


def test_slack_body_shape_and_escaping() -> None:
    body = slack_body(
        "Revenue & <churn> alert",
        ["*WAU* fell 12% <@here>", "a & b > c"],
        link="https://cynosure.example/alerts?id=3&view=tree",
    )
    assert body == {
        "text": "Revenue &amp; &lt;churn&gt; alert",
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": "Revenue & <churn> alert", "emoji": True},
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*WAU* fell 12% &lt;@here&gt;\na &amp; b &gt; c",
                },
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "<https://cynosure.example/alerts?id=3&amp;view=tree>",
                    }
                ],
            },
        ],
    }
    assert json.loads(json.dumps(body)) == body


def test_slack_body_without_lines_or_link_is_just_the_header() -> None:
    body = slack_body("All quiet", [])
    assert [block["type"] for block in body["blocks"]] == ["header"]


def test_slack_long_text_is_split_between_lines_within_the_limit() -> None:
    lines = [f"{i:04d} " + "x & y " * 60 for i in range(100)]
    body = slack_body("Long", lines)
    sections = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    assert len(sections) > 1
    assert all(len(text) <= 3000 for text in sections)
    assert "\n".join(sections).split("\n") == [line.replace("&", "&amp;") for line in lines]


def test_slack_one_huge_line_is_cut_but_never_inside_an_escape() -> None:
    line = "<" * 2999 + "&" * 2000
    body = slack_body("Huge", [line])
    sections = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    assert all(len(text) <= 3000 for text in sections)
    assert "".join(sections) == line.replace("&", "&amp;").replace("<", "&lt;")
    for text in sections:
        assert text.startswith("&") and text.endswith(";")


def test_slack_title_and_block_count_stay_within_slack_limits() -> None:
    body = slack_body("t" * 400, ["y" * 2900] * 80, link="https://x.example")
    header = body["blocks"][0]["text"]["text"]
    assert len(header) == 150 and header.endswith("…")
    assert len(body["blocks"]) == 50
    assert body["blocks"][-1]["type"] == "context"
    assert body["blocks"][-2]["text"]["text"].startswith("_…")
