"""Where a Cynosure full build spends its time: every warehouse query, and DuckDB's operators.

Run after ``bench_engine.py`` has generated the data (it reuses ``bench-data/<size>/``)::

    .venv/bin/python benchmarks/profile_engine.py --events 10M [--metrics tree|all] [--top 4]

It loads the project on a fresh warehouse, records every query the engine sends through Ibis
during ``refresh(full=True)`` and ``series("week")`` with its wall-clock time, then re-runs the
slowest ones with DuckDB's profiler and prints the time per operator type (the operators'
own time, summed; DuckDB runs them on every core, so the sum can exceed the wall-clock time).
The full ``EXPLAIN ANALYZE`` trees are written to ``bench-data/<size>/profile/``.

This looks inside the engine (``Project.con``, Ibis's DuckDB backend): it is a diagnostic tool,
not part of the benchmark, and may need updating when the engine changes.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILES = {"tree": "bench-tree.yml", "all": "cynosure.yml"}
WAREHOUSES = {"tree": ".cynosure/bench-tree.duckdb", "all": ".cynosure/warehouse.duckdb"}


@dataclass
class Call:
    """One query the engine ran."""

    label: str
    sql: str
    seconds: float
    create: bool


def record_calls(con: Any, calls: list[Call]) -> None:
    """Wrap the backend's `execute` and `create_table` to log each query and its time."""

    def wrap(name: str, create: bool) -> None:
        original: Callable[..., Any] = getattr(con, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            expr = args[1] if create and len(args) > 1 else kwargs.get("obj")
            expr = expr if create else args[0]
            sql = str(con.compile(expr)) if hasattr(expr, "op") else ""
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                label = f"{name}({args[0]!r})" if create else name
                calls.append(Call(label, sql, time.perf_counter() - started, create))

        setattr(con, name, timed)

    wrap("execute", create=False)
    wrap("create_table", create=True)


def operator_times(node: dict[str, Any], totals: dict[str, float]) -> None:
    name = node.get("operator_name") or node.get("operator_type") or "?"
    totals[name.strip()] += float(node.get("operator_timing", 0.0))
    for child in node.get("children", []):
        operator_times(child, totals)


def profile(raw: Any, sql: str, out: Path) -> tuple[float, dict[str, float], str]:
    """Run `sql` under DuckDB's profiler: wall seconds, seconds per operator, the text tree."""
    target = out.with_suffix(".json")
    raw.execute("SET enable_profiling = 'json'")
    raw.execute(f"SET profiling_output = '{target}'")
    raw.execute("SET profiling_coverage = 'ALL'")
    started = time.perf_counter()
    raw.execute(sql).fetchall()
    seconds = time.perf_counter() - started
    raw.execute("SET enable_profiling = 'no_output'")
    tree = json.loads(target.read_text())
    totals: dict[str, float] = defaultdict(float)
    for child in tree.get("children", []):
        operator_times(child, totals)
    text = "\n".join(row[1] for row in raw.execute("EXPLAIN ANALYZE " + sql).fetchall())
    raw.execute("RESET enable_profiling")
    return seconds, dict(totals), text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="10M")
    parser.add_argument("--metrics", choices=["tree", "all"], default="all")
    parser.add_argument("--top", type=int, default=4, help="how many queries to profile")
    args = parser.parse_args()

    import cynosure

    root = ROOT / "bench-data" / args.events.upper()
    warehouse = root / WAREHOUSES[args.metrics]
    for path in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
        path.unlink(missing_ok=True)
    out = root / "profile"
    out.mkdir(exist_ok=True)

    project = cynosure.Project.load(root / PROJECT_FILES[args.metrics])
    calls: list[Call] = []
    record_calls(project.con, calls)
    started = time.perf_counter()
    project.refresh(full=True)
    refreshed = time.perf_counter()
    project.series("week")
    done = time.perf_counter()
    print(
        f"refresh(full=True) {refreshed - started:.2f} s, series('week') {done - refreshed:.2f} s"
    )
    print(f"{len(calls)} queries through Ibis, {sum(c.seconds for c in calls):.2f} s in all:")
    for call in sorted(calls, key=lambda c: -c.seconds):
        print(f"  {call.seconds:7.2f} s  {call.label}")

    raw = project.con.con  # the DuckDB connection under Ibis
    for rank, call in enumerate(sorted(calls, key=lambda c: -c.seconds)[: args.top], 1):
        if not call.sql:
            continue
        sql = (
            f"CREATE OR REPLACE TEMP TABLE bench_profile AS {call.sql}" if call.create else call.sql
        )
        seconds, totals, text = profile(raw, sql, out / f"query-{rank}")
        (out / f"query-{rank}.sql").write_text(call.sql)
        (out / f"query-{rank}.txt").write_text(text)
        print(f"\n#{rank} {call.label}: {seconds:.2f} s again under the profiler; operators:")
        for name, value in sorted(totals.items(), key=lambda kv: -kv[1])[:8]:
            print(f"  {value:7.2f} s  {name}")
    project.close()
    for path in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
        path.unlink(missing_ok=True)
    print(f"\nQueries and EXPLAIN ANALYZE trees: {out.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
