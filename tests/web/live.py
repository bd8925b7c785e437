"""One demo project, one Project and one live `cynosure serve` app per test session, shared by
the web and report tests (DuckDB allows one Project per process on a warehouse file)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, sync_playwright

from cynosure import Project
from cynosure.demo import generate
from cynosure.report.pdf import CHROMIUM_ARGS
from cynosure.web import UserStore, create_app

# 8,000 users is the smallest size at which explain names the planted incident segment.
USERS = 8_000
SEED = 7
ADMIN = ("ada", "ada-password-1")
VIEWER = ("vic", "vic-password-1")

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless and offline, driven by Playwright."""
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@dataclass
class Live:
    directory: Path
    project: Project
    app: FastAPI
    url: str


_live: Live | None = None


def live(base: Path) -> Live:
    """The shared live server, started on first use under `base`."""
    global _live
    if _live is None:
        directory = generate(base / "tunewave", users=USERS, seed=SEED).directory
        store = UserStore.in_directory(directory / ".cynosure")
        store.add(*ADMIN[:1], role="admin", password=ADMIN[1])
        store.add(*VIEWER[:1], role="viewer", password=VIEWER[1])
        project = Project.load(directory)
        app = create_app(project, warm=False)
        app.state.web.analyses.warm()
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        threading.Thread(target=server.run, daemon=True).start()
        deadline = time.time() + 30
        while not server.started and time.time() < deadline:
            time.sleep(0.05)
        _live = Live(directory, project, app, f"http://127.0.0.1:{port}")
    return _live


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
