"""Build small Cynosure projects from a DataFrame of events, and compare series."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from cynosure import Project

from .reference import Reference

COUNTING = ("count", "users", "threshold", "lifecycle")


def write_events(events: pd.DataFrame, path: Path) -> None:
    """Write `events` as Parquet, CSV or JSON lines, chosen by the file suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        events.to_parquet(path, index=False)
    elif path.suffix == ".csv":
        events.to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
    elif path.suffix in (".jsonl", ".json"):
        with path.open("w") as out:
            for row in events.to_dict(orient="records"):
                clean = {
                    k: (
                        None
                        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT
                        else v.strftime("%Y-%m-%d %H:%M:%S")
                        if isinstance(v, pd.Timestamp)
                        else v
                    )
                    for k, v in row.items()
                }
                out.write(json.dumps(clean) + "\n")
    else:
        raise ValueError(path)


def project_config(
    metrics: Mapping[str, Any],
    *,
    source: str = "events.parquet",
    timezone: str = "America/New_York",
    week_start: str = "sunday",
    dimensions: tuple[str, ...] = ("country",),
    properties: tuple[str, ...] = ("amount",),
    entities: Mapping[str, Any] | None = None,
    tree: Mapping[str, Any] | None = None,
    warehouse: str | None = "duckdb://",
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "project": "T",
        "timezone": timezone,
        "week_start": week_start,
        "events": {
            "source": source,
            "entity": "user_id",
            "time": "timestamp",
            "name": "event",
            "dimensions": list(dimensions),
            "properties": list(properties),
        },
        "metrics": {k: dict(v) for k, v in metrics.items()},
    }
    if warehouse is not None:
        config["warehouse"] = warehouse
    if entities is not None:
        config["entities"] = dict(entities)
    if tree is not None:
        config["tree"] = dict(tree)
    return config


def build(
    directory: Path,
    events: pd.DataFrame | None,
    metrics: Mapping[str, Any],
    *,
    users: pd.DataFrame | None = None,
    **options: Any,
) -> tuple[Project, dict[str, Any]]:
    """Write events (and an entities table `users`) plus cynosure.yml; load the project.

    With a glob source, or no `events`, the event files must already be there.
    """
    config = project_config(metrics, **options)
    source = config["events"]["source"]
    if events is not None and "*" not in source:
        write_events(events, directory / source)
    if users is not None:
        users.to_parquet(directory / "users.parquet", index=False)
        config.setdefault(
            "entities", {"source": "users.parquet", "key": "user_id", "created": "created"}
        )
    (directory / "cynosure.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return Project.load(directory / "cynosure.yml"), config


def assert_frames_match(got: pd.DataFrame, want: pd.DataFrame, config: Mapping[str, Any]) -> None:
    """Same periods, same metrics; counts exactly equal, others to 1e-9; NaN where NaN."""
    assert list(got.index) == list(want.index), "the periods differ"
    assert sorted(got.columns) == sorted(want.columns)
    for name in want.columns:
        g = got[name].to_numpy(dtype=float)
        w = want[name].to_numpy(dtype=float)
        where = f"metric {name!r}: got {g.tolist()}, want {w.tolist()}"
        assert np.array_equal(np.isnan(g), np.isnan(w)), "NaN positions differ for " + where
        kind = config["metrics"][name]
        if any(kind.get(k) for k in COUNTING) and not kind.get("formula"):
            assert np.array_equal(g[~np.isnan(g)], w[~np.isnan(w)]), where
        else:
            assert np.allclose(g, w, rtol=1e-9, atol=1e-9, equal_nan=True), where


def check_against_reference(
    project: Project,
    config: Mapping[str, Any],
    events: pd.DataFrame,
    grains: tuple[str, ...] = ("day", "week", "month"),
    users: pd.DataFrame | None = None,
) -> None:
    reference = Reference(config, events, users)
    for grain in grains:
        assert_frames_match(project.series(grain), reference.series(grain), config)


def events_frame(
    rows: list[tuple[Any, ...]], columns: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Events from (user_id, timestamp, event, country, amount) tuples; timestamps are UTC."""
    columns = columns or ("user_id", "timestamp", "event", "country", "amount")
    frame = pd.DataFrame(rows, columns=list(columns))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], format="ISO8601")
    if "amount" in frame:
        frame["amount"] = frame["amount"].astype(float)
    return frame
