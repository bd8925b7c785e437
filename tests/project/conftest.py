"""Fixtures for project-file tests: a small real event data set, built once per session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.sample_data import build_event_data

DATA_FILES = ("events.parquet", "users.parquet")


@pytest.fixture(scope="session")
def event_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the session's events.parquet and users.parquet."""
    return build_event_data(tmp_path_factory.mktemp("event-data"))


@pytest.fixture
def write_project(event_data: Path, tmp_path: Path) -> Callable[[str], Path]:
    """Write a cynosure.yml next to links to the session's data; return the file's path."""

    def write(text: str) -> Path:
        for name in DATA_FILES:
            target = tmp_path / name
            if not target.exists():
                try:
                    os.symlink(event_data / name, target)
                except OSError:  # no symlinks on this file system
                    shutil.copy(event_data / name, target)
        project_file = tmp_path / "cynosure.yml"
        project_file.write_text(text, encoding="utf-8")
        return project_file

    return write
