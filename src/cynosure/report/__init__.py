"""The stakeholder report (`cynosure report`): one self-contained HTML file, and its PDF."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cynosure.api import Project
from cynosure.report.build import SECTIONS, build_report
from cynosure.report.pdf import html_to_pdf


def write_report(
    project: Project,
    path: Path,
    *,
    pdf: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> None:
    """Write the report to `path` (HTML), and print it to `pdf` when given."""
    Path(path).write_text(build_report(project, progress=progress), encoding="utf-8")
    if pdf is not None:
        html_to_pdf(Path(path), Path(pdf))


__all__ = ["SECTIONS", "build_report", "html_to_pdf", "write_report"]
