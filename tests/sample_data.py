"""A small real event data set shared by the project-file and command-line tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def build_event_data(directory: Path, *, users: int = 30, seed: int = 3) -> Path:
    """Write `events.parquet` and `users.parquet` (one row per user) into `directory`.

    Events: user_id, timestamp (UTC), event (signup, play, search), country, platform,
    duration_s (plays only) and amount (on a few plays: payments), over about ten weeks.
    """
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-01-05", tz="UTC")
    rows = []
    signed_up = {}
    for index in range(users):
        user = f"u{index:02d}"
        country = ("DE", "FR", "US")[index % 3]
        first = start + pd.Timedelta(days=int(rng.integers(0, 40)), hours=int(rng.integers(0, 24)))
        signed_up[user] = first
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
    people = pd.DataFrame({"user_id": list(signed_up), "signed_up_at": list(signed_up.values())})
    people.to_parquet(directory / "users.parquet", index=False)
    return directory
