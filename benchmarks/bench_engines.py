"""The metric tree on DuckDB and on Spark (local mode) as the event count grows.

Run from the repository root; the data is generated once per size under ``--data`` (default
``/tmp/cynosure-bench-engines``, outside the repository) and reused::

    .venv/bin/python benchmarks/bench_engines.py --sizes 5M 10M --engines duckdb spark
    .venv/bin/python benchmarks/bench_engines.py --sizes 5M 10M 25M 50M --out   # the full run

``--events NM`` generates the Tunewave demo with ``N * 10,000`` users (about 100 events each,
18 months, seed 7). Each measurement runs in a fresh subprocess on a fresh warehouse:
``Project.load``, a full ``refresh`` (the entity x day rollup; on Spark written partitioned by
day) and ``tree()`` (every metric by week, then the tree of the last complete week). Peak
memory is the largest resident set of the whole process tree (Python, and Spark's JVM), polled
from /proc every 0.2 s. ``--out`` appends a table to ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
WAREHOUSES = {"duckdb": "duckdb:///.cynosure/bench.duckdb", "spark": "spark://local[2]"}
CHILD = """
import json, sys, time
from cynosure.api import Project
started = time.perf_counter()
project = Project.load(sys.argv[1])
loaded = time.perf_counter()
stats = project.refresh(full=True)
refreshed = time.perf_counter()
tree = project.tree()
done = time.perf_counter()
print("RESULT " + json.dumps({
    "load": loaded - started, "refresh": refreshed - loaded, "tree": done - refreshed,
    "total": done - started, "events": stats.events, "value": tree.nodes[0].value,
}))
"""


def size_users(text: str) -> int:
    match = re.fullmatch(r"(\d+)M", text)
    if not match:
        raise SystemExit(f"sizes are written like 5M, not {text}")
    return int(match.group(1)) * 10_000


def dataset(root: Path, size: str) -> Path:
    directory = root / size
    if not (directory / "cynosure.yml").exists():
        from cynosure.demo import generate

        print(f"generating {size} events into {directory}", file=sys.stderr)
        generate(directory, users=size_users(size), seed=7)
    return directory


def project_for(data: Path, engine: str, work: Path) -> Path:
    text = (data / "cynosure.yml").read_text()
    text = re.sub(r"^warehouse:.*\n", "", text, flags=re.M)
    text = text.replace("timezone: UTC", f'timezone: UTC\nwarehouse: "{WAREHOUSES[engine]}"', 1)
    text = text.replace("source: data/", f"source: {data}/data/")
    path = work / "cynosure.yml"
    path.write_text(text)
    return path


def tree_rss_kb(pid: int) -> int:
    """Resident memory of `pid` and all its descendants, in KiB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        child = int(entry.name)
        children.setdefault(int(fields.get("PPid", "0").strip()), []).append(child)
        rss[child] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        total += rss.get(current, 0)
        pending += children.get(current, [])
    return total


def measure(project: Path, timeout: float) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(project)],
        cwd=project.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    peak, started = 0, time.perf_counter()
    while child.poll() is None:
        peak = max(peak, tree_rss_kb(child.pid))
        if time.perf_counter() - started > timeout:
            child.kill()
            return {"timeout": timeout}
        time.sleep(0.2)
    out = child.stdout.read() if child.stdout else ""
    line = next((ln for ln in out.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        return {"failed": 1.0}
    return {**json.loads(line[7:]), "peak_mb": peak / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["5M", "10M", "25M", "50M"])
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    parser.add_argument("--data", type=Path, default=Path("/tmp/cynosure-bench-engines"))
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--out", action="store_true", help="append to docs/benchmarks.md")
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        data = dataset(args.data, size)
        for engine in args.engines:
            work = Path(tempfile.mkdtemp(prefix=f"bench-{engine}-"))
            try:
                result = measure(project_for(data, engine, work), args.timeout)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            rows.append((size, engine, result))
            print(size, engine, json.dumps(result), flush=True)
    table = [
        "| events | engine | load s | refresh s | tree s | total s | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for size, engine, r in rows:
        if "total" not in r:
            table.append(f"| {size} | {engine} | {'timed out' if 'timeout' in r else 'failed'} |")
            continue
        table.append(
            f"| {r['events']:,} | {engine} | {r['load']:.1f} | {r['refresh']:.1f} | "
            f"{r['tree']:.1f} | {r['total']:.1f} | {r['peak_mb']:,.0f} |"
        )
    print("\n".join(table))
    if args.out:
        with DOC.open("a") as handle:
            handle.write("\n" + "\n".join(table) + "\n")


if __name__ == "__main__":
    main()
