"""Fixtures for command-line tests: a small real event data set, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sample_data import build_event_data


@pytest.fixture(scope="session")
def event_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the session's events.parquet."""
    return build_event_data(tmp_path_factory.mktemp("cli-event-data"))
