"""The report tests share the web tests' live demo (one Project per process)."""

from __future__ import annotations

import pytest

from tests.web.live import Live, live


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Live:
    return live(tmp_path_factory.getbasetemp())
