"""Collector log retention and Parquet compaction, measured.

    .venv/bin/python benchmarks/bench_retention_compact.py [--seconds 40] [--parts 2000]

1. Retention: a real collector (in this process, reached over its ASGI app, the background
   loop loading every second) takes a steady stream of events for `--seconds`, with 256 KB
   segments and a dedup window of `--window` seconds, then again without retention. Every
   few seconds it samples the log's bytes on disk and the dedup set's size and memory
   (`sys.getsizeof` of the set and of its strings).
2. Compaction: `--parts` small part files written by the real loader (50 events each), then
   `Project.load`, a full build (`refresh(full=True)` + weekly series), an incremental refresh
   after one more part file, the compaction, the first refresh after it, and the same
   full build and incremental refresh on the compacted files.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.collect.conftest import make_project  # noqa: E402
from tests.collect.inprocess import Running, log_bytes, songs  # noqa: E402

from cynosure.api import Project  # noqa: E402
from cynosure.collect import key_store  # noqa: E402
from cynosure.collect.compact import compactor_for, list_parts  # noqa: E402
from cynosure.project.load import read_spec  # noqa: E402


def seen_memory(seen: set[str]) -> int:
    return sys.getsizeof(seen) + sum(sys.getsizeof(i) for i in seen)


async def stream(project: Path, seconds: float, window: float | None, rate: int) -> list[Any]:
    key = key_store(project.parent / ".cynosure").create("bench")
    samples = []
    async with Running(
        project, key, load_interval=1.0, segment_bytes=256 << 10, dedup_window=window
    ) as c:
        began = time.perf_counter()
        sent = 0
        next_sample = 0.0
        while (elapsed := time.perf_counter() - began) < seconds:
            if sent < rate * elapsed:
                await c.send(songs(100))
                sent += 100
            else:
                await asyncio.sleep(0.005)
            if elapsed >= next_sample:
                seen = c.collector.committer.seen
                samples.append((elapsed, sent, log_bytes(project), len(seen), seen_memory(seen)))
                next_sample += seconds / 8
        seen = c.collector.committer.seen
        samples.append((seconds, sent, log_bytes(project), len(seen), seen_memory(seen)))
    return samples


def retention(root: Path, seconds: float, window: float, rate: int) -> None:
    print(f"\n### Retention: {rate:,} events/s for {seconds:.0f} s, window {window:.0f} s\n")
    for label, value in (("retention on", window), ("no retention", None)):
        project = make_project(root / label.replace(" ", "-"))
        samples = asyncio.run(stream(project, seconds, value, rate))
        print(f"{label}:\n")
        print("| seconds | events sent | log on disk | ids in the dedup set | their memory |")
        print("|---:|---:|---:|---:|---:|")
        for at, sent, disk, ids, memory in samples:
            megabytes = f"{disk / 1e6:.2f} MB | {ids:,} | {memory / 1e6:.1f} MB"
            print(f"| {at:.0f} | {sent:,} | {megabytes} |")
        print()


def timed(step: Any) -> float:
    began = time.perf_counter()
    step()
    return time.perf_counter() - began


def build(project: Path) -> tuple[float, float, float]:
    """(Project.load, full build, series) seconds, best of 3."""
    best: tuple[float, float, float] | None = None
    for _ in range(3):
        began = time.perf_counter()
        with Project.load(project) as p:
            loaded = time.perf_counter() - began
            full = timed(lambda p=p: p.refresh(full=True))
            series = timed(lambda p=p: p.series("week"))
        run = (loaded, full, series)
        best = run if best is None or sum(run) < sum(best) else best
    assert best is not None
    return best


def add_part(project: Path, key: str, prefix: str) -> None:
    async def run() -> None:
        async with Running(project, key) as c:
            await c.send(songs(50, prefix))
            await c.collector.load()

    asyncio.run(run())


def incremental(project: Path, key: str, prefix: str) -> tuple[float, Any]:
    with Project.load(project) as p:
        p.series("week")
        add_part(project, key, prefix)
        began = time.perf_counter()
        result = p.refresh()
        p.series("week")
        return time.perf_counter() - began, result


def compaction(root: Path, parts: int) -> None:
    project = make_project(root / "compaction")
    key = key_store(project.parent / ".cynosure").create("bench")
    events = project.parent / "data" / "events"

    async def fill() -> None:
        async with Running(project, key) as c:
            for first in range(0, parts * 50, 1000):
                await c.send(songs(1000, f"p{first}"))
            assert c.collector.loader is not None
            c.collector.loader.run(c.collector.log.durable, limit=50)

    began = time.perf_counter()
    asyncio.run(fill())
    took = time.perf_counter() - began
    print(f"\n### Compaction: {parts:,} part files of 50 events ({took:.0f} s to write them)\n")
    rows = []

    def describe(label: str) -> None:
        found = list_parts(events)
        load, full, series = build(project)
        step, result = incremental(project, key, f"x{label}")
        rows.append(
            (label, len(found), sum(p.size for p in found), load, full, series, step, result)
        )

    describe("before")
    compactor = compactor_for(read_spec(project), project.parent / ".cynosure" / "collect")
    with Project.load(project) as p:
        p.series("week")
        stats = compactor.run()
        refreshed: list[Any] = []
        first = timed(lambda: (refreshed.append(p.refresh()), p.series("week")))
    print(
        f"Compaction: {stats.inputs:,} files merged into {stats.outputs} "
        f"({stats.rows:,} rows) in {stats.seconds:.2f} s; first refresh + weekly series "
        f"after it (reads the merged file): {first:.2f} s, "
        f"{refreshed[0].days_recomputed} days recomputed.\n"
    )
    describe("after")
    print(
        "| part files | bytes | Project.load | full build | weekly series | "
        "incremental refresh + series, one new part |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for label, count, size, load, full, series, step, result in rows:
        print(
            f"| {label}: {count:,} | {size / 1e6:.1f} MB | {load:.2f} s | {full:.2f} s | "
            f"{series:.2f} s | {step:.2f} s ({result.days_recomputed} days recomputed) |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--window", type=float, default=10)
    parser.add_argument("--rate", type=int, default=4000, help="events/s")
    parser.add_argument("--parts", type=int, default=2000)
    args = parser.parse_args()
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[:3]
    print(
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load average {' '.join(load)}"
    )
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        retention(root, args.seconds, args.window, args.rate)
        compaction(root, args.parts)


if __name__ == "__main__":
    main()
