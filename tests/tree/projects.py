"""Small generated projects for the tree's property tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from hypothesis import strategies as st

from cynosure import Project

ZONES = ("UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Pacific/Auckland")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def event_rows(
    min_size: int = 3, max_size: int = 60, days: int = 75, names=("play", "play", "buy", "view")
) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    """Rows of (entity, day offset, UTC hour, event name, country, amount)."""
    row = st.tuples(
        st.integers(0, 7),
        st.integers(0, days),
        st.integers(0, 23),
        st.sampled_from(names),
        st.sampled_from(["US", "DE", None]),
        st.one_of(st.none(), st.floats(0.5, 100, allow_nan=False).map(lambda x: round(x, 2))),
    )
    return st.lists(row, min_size=min_size, max_size=max_size)


def events_from(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """Events from generated rows; the first three are renamed so every name occurs (a filter
    on an event name that is not in the data is rejected when the project is loaded)."""
    names = ["play", "buy", "view"] + [row[3] for row in rows[3:]]
    rows = [(*row[:3], name, *row[4:]) for row, name in zip(rows, names, strict=True)]
    start = pd.Timestamp("2026-02-25")
    return pd.DataFrame(
        {
            "user_id": [f"u{r[0]}" for r in rows],
            "timestamp": [start + pd.Timedelta(days=r[1], hours=r[2]) for r in rows],
            "event": [r[3] for r in rows],
            "country": pd.Series([r[4] for r in rows], dtype=object),
            "amount": pd.Series([r[5] for r in rows], dtype=float),
        }
    )


def load_project(
    directory: Path,
    events: pd.DataFrame,
    metrics: dict[str, Any],
    *,
    timezone: str = "UTC",
    week_start: str = "monday",
    **extra: Any,
) -> Project:
    """Write events.parquet and cynosure.yml (in-memory warehouse) into `directory`; load it."""
    events.to_parquet(directory / "events.parquet", index=False)
    config = {
        "project": "P",
        "timezone": timezone,
        "week_start": week_start,
        "warehouse": "duckdb://",
        "events": {
            "source": "events.parquet",
            "entity": "user_id",
            "time": "timestamp",
            "name": "event",
            "dimensions": ["country"],
            "properties": ["amount"],
        },
        "metrics": metrics,
        **extra,
    }
    (directory / "cynosure.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return Project.load(directory / "cynosure.yml")
