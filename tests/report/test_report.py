"""`cynosure report`: one self-contained HTML file that renders offline in Chromium, every chart
drawn, and a PDF with the same sections."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from pypdf import PdfReader

from cynosure.demo import generate, truths
from cynosure.report import SECTIONS, build_report, html_to_pdf
from cynosure.report.pdf import ALL_CHARTS_DRAWN
from tests.web.live import ARTIFACTS, Live, chromium

TITLES = [title for _, title in SECTIONS]


@pytest.fixture(scope="module")
def report(server: Live, tmp_path_factory: pytest.TempPathFactory) -> Path:
    analyses = server.app.state.web.analyses
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(build_report(server.project, results=analyses), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def test_the_report_is_self_contained(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?(https?:)?//""", html)
    assert "<script src" not in html and "<link" not in html
    assert len(html) > 4_000_000  # Plotly.js is inline


def test_the_report_renders_offline_with_every_chart(browser: Browser, report: Path) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    blocked: list[str] = []

    def only_files(route):  # type: ignore[no-untyped-def]
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_files)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    charts = page.locator(".chart")
    assert charts.count() >= 7
    page.wait_for_function(ALL_CHARTS_DRAWN, timeout=60_000)
    assert page.locator("h2").all_inner_texts() == TITLES
    assert page.locator(".error").count() == 0
    assert page.locator("section .summary").count() >= len(TITLES)
    planted = " & ".join(f"{k}={v}" for k, v in truths.INCIDENT_SEGMENT.items())
    assert planted in page.locator("#why").inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    assert errors == [] and blocked == []
    context.close()


def test_the_pdf_has_the_same_sections(report: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    html_to_pdf(report, pdf)
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    text = re.sub(r"\s+", " ", text)
    positions = [text.find(title) for title in TITLES]
    assert all(p >= 0 for p in positions), dict(zip(TITLES, positions, strict=True))
    assert positions == sorted(positions)


def test_cynosure_report_writes_html_and_pdf(tmp_path: Path) -> None:
    directory = generate(tmp_path / "small", users=1_500, seed=3).directory
    html, pdf = tmp_path / "out.html", tmp_path / "out.pdf"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cynosure",
            "report",
            "-p",
            str(directory),
            "-o",
            str(html),
            "--pdf",
            str(pdf),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert html.stat().st_size > 4_000_000
    assert PdfReader(pdf).pages
