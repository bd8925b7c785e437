"""Print the report to PDF through headless Chromium (Playwright, with the system browser)."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from cynosure.errors import CynosureError

# Without the background-networking flags Chromium keeps trying to reach the internet.
ALL_CHARTS_DRAWN = (
    "Array.from(document.querySelectorAll('.chart')).every(d => d.querySelector('svg'))"
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    """The Chromium to drive: $CYNOSURE_CHROMIUM, else chromium on the PATH."""
    found = os.environ.get("CYNOSURE_CHROMIUM") or shutil.which("chromium")
    if not found:
        raise CynosureError(
            "--pdf needs Chromium: install it (apt-get install chromium) or set CYNOSURE_CHROMIUM"
        )
    return found


def html_to_pdf(html: Path, pdf: Path) -> None:
    """Render the HTML file `html` (offline: only file:// requests are allowed) to `pdf`.

    Runs in its own thread: Playwright's sync API refuses a thread with a running event loop
    (a server's, or another Playwright session's).
    """
    failure: list[BaseException] = []

    def work() -> None:
        try:
            _print(html, pdf)
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=work, name="cynosure-pdf")
    worker.start()
    worker.join()
    if failure:
        raise failure[0]


def _print(html: Path, pdf: Path) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise CynosureError("--pdf needs the playwright package: pip install playwright") from None
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            page.route(
                "**/*",
                lambda route: (
                    route.continue_() if route.request.url.startswith("file:") else route.abort()
                ),
            )
            page.goto(Path(html).resolve().as_uri(), wait_until="load")
            page.wait_for_function(
                ALL_CHARTS_DRAWN,
                timeout=30_000,
            )
            page.emulate_media(media="print")
            page.pdf(
                path=str(pdf),
                format="A4",
                print_background=True,
                margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"},
                scale=0.75,
            )
        finally:
            browser.close()
