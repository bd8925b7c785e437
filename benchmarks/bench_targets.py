"""Are the forecast intervals of `cynosure targets` honest? Held-out history of the demo.

For every metric of the demo's tree and each grain, the forecast is refitted at rolling
origins over the second half of the history (on the data before the origin only) and run a
few periods ahead; an 80% interval should hold about 80% of what then happened. The demo
holds what real products hold: growth, weekly seasonality, a launch and an incident, which no
forecast sees coming.

    .venv/bin/python benchmarks/bench_targets.py [--project DIR]   # default: a fresh demo
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

from cynosure import Project
from cynosure.analysis.targets import FORECAST_LEVEL, forecast_draws, seasons_for
from cynosure.demo import generate

HORIZON = {"day": 14, "week": 4, "month": 2}  # periods ahead from each origin
STEP = {"day": 14, "week": 3, "month": 1}  # periods between origins


def coverage(values: np.ndarray, grain: str) -> list[bool]:
    """Whether each held-out value fell inside its 80% forecast interval."""
    tail = 50 * (1 - FORECAST_LEVEL)
    inside: list[bool] = []
    for origin in range(len(values) // 2, len(values) - 1, STEP[grain]):
        ahead = min(HORIZON[grain], len(values) - origin)
        draws = forecast_draws(
            values[:origin],
            ahead,
            seasons=seasons_for(grain, origin),
            seed=origin,  # type: ignore[arg-type]
        )
        low, high = np.percentile(draws, [tail, 100 - tail], axis=0)
        actual = values[origin : origin + ahead]
        inside.extend(bool(v) for v in (actual >= low) & (actual <= high))
    return inside


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--project", type=Path, help="a project directory (default: a new demo)")
    parser.add_argument("--grain", action="append", choices=list(HORIZON))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        where = args.project or generate(Path(scratch) / "tunewave").directory
        project = Project.load(Path(where) / "cynosure.yml")
        metrics = [m for m, _, _ in project.spec.tree.walk()]
        print(f"# {date.today()} on {platform.node()} ({os.cpu_count()} cores)")
        print("| grain | metric | forecasts | inside the 80% interval |")
        print("|---|---|---|---|")
        for grain in args.grain or ["day", "week", "month"]:
            began = time.perf_counter()
            frame = project.complete_series(grain)  # type: ignore[arg-type]
            every: list[bool] = []
            for metric in metrics:
                inside = coverage(frame[metric].dropna().to_numpy(float), grain)
                every += inside
                print(f"| {grain} | {metric} | {len(inside)} | {np.mean(inside):.0%} |")
            print(
                f"| **{grain}** | **all** | {len(every)} | **{np.mean(every):.1%}** "
                f"({time.perf_counter() - began:.0f} s) |"
            )


if __name__ == "__main__":
    main()
