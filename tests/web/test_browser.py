"""The dashboard in a real Chromium (Debian's, driven by Playwright) against a live server on
the demo: sign in, the tree, a metric page, explain on the planted incident, no console errors,
and a screenshot of every page in test-artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page

from cynosure.demo import truths
from cynosure.engine.periods import label

from .live import ADMIN, ARTIFACTS, Live, chromium

INCIDENT_WEEK = label(truths.INCIDENT_START, "week")
PAGES = {
    "tree": "/",
    "metric": f"/metrics/{truths.NORTH_STAR}",
    "explain": f"/explain?period={INCIDENT_WEEK}",
    "north-star": "/north-star",
    "impact": "/impact",
    "health": "/health",
}
CHARTS_DRAWN = (
    "Array.from(document.querySelectorAll('.chart')).every(d => d.querySelector('svg.main-svg'))"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def errors() -> list[str]:
    return []


@pytest.fixture(scope="module")
def page(browser: Browser, server: Live, errors: list[str]) -> Iterator[Page]:
    """A page signed in as the admin through the login form; console errors collected."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(120_000)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{tab.url}: {message.text}")

    tab.on("console", on_console)
    tab.on("pageerror", lambda exc: errors.append(f"{tab.url}: {exc}"))
    tab.goto("/")
    assert "/login" in tab.url
    tab.fill("#name", ADMIN[0])
    tab.fill("#password", ADMIN[1])
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{server.url}/")
    yield tab
    context.close()


def _visit(page: Page, name: str) -> None:
    page.goto(PAGES[name])
    page.wait_for_load_state("load")
    page.wait_for_function(CHARTS_DRAWN)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_the_tree_shows_the_north_star_and_every_input(page: Page, server: Live) -> None:
    _visit(page, "tree")
    shown = page.locator(".tree [data-metric]").evaluate_all(
        "nodes => nodes.map(n => n.dataset.metric)"
    )
    expected = [metric for metric, _, _ in server.project.spec.tree.walk()]
    assert shown == expected
    star = page.locator(".node.star")
    assert star.get_attribute("data-metric") == truths.NORTH_STAR
    assert "Hours listened" in star.inner_text()
    assert page.locator(".edge").count() == len(expected) - 1
    assert page.locator(".node polyline").count() == len(expected)


def test_clicking_an_input_opens_its_metric_page(page: Page, server: Live) -> None:
    page.goto("/")
    page.click('a.node[data-metric="listeners"]')
    page.wait_for_url(f"{server.url}/metrics/listeners")
    page.wait_for_function(CHARTS_DRAWN)
    assert page.locator("h1").inner_text() == "Listeners"
    dimensions = server.project.spec.model.events.dimensions
    assert page.locator("h3").all_inner_texts()[: len(dimensions)] == [
        f"by {d}" for d in dimensions
    ]


def test_explain_names_the_planted_segment_for_the_incident_week(page: Page) -> None:
    _visit(page, "explain")
    top = page.locator("table.segments td.segment").first.inner_text()
    planted = " & ".join(f"{k}={v}" for k, v in truths.INCIDENT_SEGMENT.items())
    assert top == planted
    assert planted in page.locator(".narrative").inner_text()
    assert page.locator("#waterfall svg.main-svg").count() >= 1


@pytest.mark.parametrize("name", ["metric", "north-star", "impact", "health"])
def test_every_other_page_renders_its_charts(page: Page, name: str) -> None:
    _visit(page, name)
    assert page.locator("h1").count() == 1


def test_no_javascript_console_errors_on_any_page(page: Page, errors: list[str]) -> None:
    for name in PAGES:
        _visit(page, name)
    assert errors == []


def test_signed_out_pages_redirect_and_the_api_answers_401(browser: Browser, server: Live) -> None:
    context = browser.new_context(base_url=server.url)
    tab = context.new_page()
    tab.goto("/explain?period=2026-W37")
    assert tab.url.startswith(f"{server.url}/login?next=")
    assert tab.locator("#password").count() == 1
    answer = context.request.get("/api/tree")
    assert answer.status == 401
    assert answer.json()["error"]["type"] == "unauthorized"
    context.close()
