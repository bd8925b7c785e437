"""Fixtures for command-line tests: a small real event data set, built once per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def build_event_data(directory: Path, *, users: int = 30, seed: int = 3) -> Path:
    """Write `events.parquet` (user_id, timestamp in UTC, event, country, platform, duration_s,
    amount; events named signup, play and search, over about ten weeks) into `directory`."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-01-05", tz="UTC")
    rows = []
    for index in range(users):
        user = f"u{index:02d}"
        country = ("DE", "FR", "US")[index % 3]
        first = start + pd.Timedelta(days=int(rng.integers(0, 40)), hours=int(rng.integers(0, 24)))
        rows.append((user, first, "signup", country, "web", None, None))
        for _ in range(int(rng.integers(3, 25))):
            at = first + pd.Timedelta(minutes=int(rng.integers(1, 60 * 24 * 30)))
            name = "play" if rng.random() < 0.7 else "search"
            duration = float(rng.integers(30, 400)) if name == "play" else None
            platform = str(rng.choice(["ios", "android", "web"]))
            rows.append((user, at, name, country, platform, duration, None))
        if rng.random() < 0.4:
            rows.append((user, first + pd.Timedelta(days=2), "play", country, "ios", 100.0, 9.99))
    events = pd.DataFrame(
        rows,
        columns=["user_id", "timestamp", "event", "country", "platform", "duration_s", "amount"],
    ).astype({"duration_s": "float64", "amount": "float64"})
    events.sort_values("timestamp").to_parquet(directory / "events.parquet", index=False)
    return directory


@pytest.fixture(scope="session")
def event_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the session's events.parquet."""
    return build_event_data(tmp_path_factory.mktemp("cli-event-data"))
