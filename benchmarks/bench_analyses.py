"""Benchmark of the analyses `aha`, `candidates` and `explain` at their target sizes.

Run from the repository root (data generated on first use and cached under ``bench-data/``,
which git ignores)::

    .venv/bin/python benchmarks/bench_analyses.py                  # every part, ~15-20 min
    .venv/bin/python benchmarks/bench_analyses.py --part aha --entities 20000   # quick check
    .venv/bin/python benchmarks/bench_analyses.py --part candidates --events 1M
    .venv/bin/python benchmarks/bench_analyses.py --part explain --events 1M
    .venv/bin/python benchmarks/bench_analyses.py --out            # append to the doc
    .venv/bin/python benchmarks/bench_analyses.py --part explain --out --doc docs/x.md

Targets (from the issue): ``aha`` over 1M entities x 50 events x 10 thresholds x 3 windows in
under 60 s with peak memory under 4 GB; ``candidates`` on the 50M-event demo under 30 s;
``explain`` on the 50M-event demo with 5 dimensions under 10 s (warm).

**aha.** A synthetic product (``bench-data/aha-1m/``): 1,000,000 entities (``user_id``)
starting on a uniformly random day over 182 days, 50 event names ``e00``..``e49`` (Zipf-like
frequencies), about 28 events each in their first 56 days: one on day 0, more over days 0-13
(mostly in the first week), a few in days 14-27, and, for the retained (about a third), more in
days 28-55 (the default outcome: any event in days 28-55). Retention depends on overall
activity (so every event is a proxy for it) and on two planted behaviours: ``e05`` at least
3 times in the first 7 days (a quarter of entities use it; log-odds +1.0) and ``e12`` on the
first day (a fifth; +0.8). Written with pyarrow in chunks of 100,000 entities, one file each.
The project has one count metric and ``aha: {windows: [1, 7, 14], thresholds: [1, 2, 3, 4,
5, 6, 8, 10, 15, 20]}``. Measured: ``Project.load`` + ``Project.aha()`` (a) *cold*, with the
warehouse deleted first, so the behaviour rollup (entity x day x event name) is built from the
Parquet files, and (b) *warm*, with the rollup there (the incremental refresh finds nothing).

**candidates.** The Tunewave demo with ``N * 10,000`` users (``--events 50M``: 500,000 users,
about 50.8M events; seed 7, 18 months), reusing ``bench_engine.py``'s cached
``bench-data/<size>/`` read-only when it is there (else generating it there, as that script
would; and regenerating it when it is stale: written by an older generator, see
``DEMO_VERSION``, or lacking a column the demo now declares, which also drops the warehouses
built from it). The project file is a copy of the demo's in ``bench-data/candidates-<size>/`` whose
sources point at those files (only ``part-0*.parquet``, so files ``bench_engine.py`` adds while
it runs are never read) and whose warehouse is its own. Measured: ``Project.load``,
``refresh()``, ``series("week")`` and ``candidates()`` (a) *cold*, from an empty warehouse (the
rollup is built), and (b) *warm*, with the rollup built by an earlier command, the usual case.
The target is judged on the warm total (load + refresh + candidates, the series included).

**explain.** The same data and project as ``candidates`` (the demo has 5 dimensions: country,
platform, app_version, plan, acquisition_channel). Measured: ``Project.load`` +
``Project.explain("listening_hours", "2026-W37")``, the demo's planted incident week (Android
4.2.0 plays 70% fewer songs, ``cynosure.demo.truths``), against the week before: (a) *cold*,
from an empty warehouse, and (b) *warm*, the rollup built by an earlier command (the target:
under 10 s). Phases: load, refresh check, entity starts and weekly series (as every command),
tree breakdown, the segment query (``segment_leaves``: the raw events of the two weeks by
entity x day x dimensions), ``localize``, context, and the rest. After each warm run the same
process times, each from a new ``Project``, ``Project.load`` + ``Project.tree("2026-W37")``
(the same series, then the tree, no segments) and the explanation again, so the report gives
explain / tree as a ratio and not only seconds. The answer is checked: the top segment (the
planted ``{platform: android, app_version: 4.2.0}``), its share of the change, the number of
leaves, and that the tree's contributions along formula edges add up to the change.

Every measured run is its own process importing Cynosure from a snapshot of ``src/`` taken when
the benchmark starts (others edit this repository meanwhile); peak RSS is the process's
``VmHWM`` (interpreter, imports and DuckDB included). The 1-minute load average is recorded
before and after each run: this is a shared 2-core machine. Phases come from timers wrapped,
in the measuring process only, around the engine's functions (``behaviour_histograms``,
``aha_result``, ``entity_links``, ``segment_leaves``, ...): a diagnostic that needs updating if
those names change (a timer whose function is gone is listed as missing, not an error).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from bench_engine import USERS_PER_MILLION, Engine, machine, peak_rss_gb

ROOT = Path(__file__).resolve().parent.parent
DATA_ROOT = ROOT / "bench-data"
DOC = ROOT / "docs" / "benchmarks.md"
MARKER = "bench-generated.json"
RESULT_PREFIX = "BENCH-RESULT "
WAREHOUSE = ".cynosure/warehouse.duckdb"

# -- the synthetic aha data --------------------------------------------------------------------

AHA_VERSION = 1  # bump when the generator below changes: cached data is then regenerated
AHA_SEED = 11
AHA_FIRST_DAY = date(2025, 11, 3)
AHA_START_DAYS = 182  # entities start over about 6 months
AHA_CHUNK = 100_000  # entities per file
NAMES = 50
WINDOWS = [1, 7, 14]
THRESHOLDS = [1, 2, 3, 4, 5, 6, 8, 10, 15, 20]
PLANTED = {
    "e05": "at least 3 times in the first 7 days (a quarter of entities use it): log-odds +1.0",
    "e12": "on the first day (a fifth of entities): log-odds +0.8",
}
AHA_PROJECT = f"""# Written by benchmarks/bench_analyses.py: a synthetic product for `cynosure aha`.
project: Aha benchmark
timezone: UTC
events:
  source: data/events/*.parquet
  entity: user_id
  time: timestamp
  name: event
metrics:
  events:
    count: true
aha:
  windows: {WINDOWS}
  thresholds: {THRESHOLDS}
"""
TARGET_AHA_ENTITIES = 1_000_000
TARGET_AHA_SECONDS = 60.0
TARGET_AHA_GB = 4.0
TARGET_CANDIDATES_SIZE = "50M"
TARGET_CANDIDATES_SECONDS = 30.0
TARGET_EXPLAIN_SECONDS = 10.0  # at TARGET_CANDIDATES_SIZE, warm
PARTS = ["aha", "candidates", "explain"]
REPEAT = {"aha": 2, "candidates": 2, "explain": 3}  # warm runs, unless --repeat says


def _aha_chunk(rng: np.random.Generator, first_id: int, n: int) -> Any:
    """The events of entities `first_id + 1 .. first_id + n`, as an Arrow table."""
    import pyarrow as pa

    everyone = np.arange(n)
    start = rng.integers(0, AHA_START_DAYS, n)
    activity = rng.lognormal(mean=-0.125, sigma=0.5, size=n)  # mean 1
    name_p = (np.arange(NAMES) + 1.0) ** -0.8
    name_p /= name_p.sum()
    early_p = 0.85 ** np.arange(14)
    early_p /= early_p.sum()
    ents: list[np.ndarray] = []
    days: list[np.ndarray] = []
    names: list[np.ndarray] = []

    def add(who: np.ndarray, day: np.ndarray, name: np.ndarray) -> None:
        ents.append(who)
        days.append(day)
        names.append(name)

    # Early: one event on day 0 (the start), more over days 0-13, most in the first week.
    add(everyone, np.zeros(n, np.int64), rng.choice(NAMES, n, p=name_p))
    who = np.repeat(everyone, rng.poisson(18 * activity))
    add(who, rng.choice(14, len(who), p=early_p), rng.choice(NAMES, len(who), p=name_p))
    # Planted: a quarter of entities use e05 in their first week, a fifth do e12 on day 0.
    who = np.repeat(everyone, np.where(rng.random(n) < 0.25, rng.poisson(3.0, n), 0))
    add(who, rng.integers(0, 7, len(who)), np.full(len(who), 5))
    who = np.flatnonzero(rng.random(n) < 0.2)
    add(who, np.zeros(len(who), np.int64), np.full(len(who), 12))
    # Middle: a few events in days 14-27, retained or not.
    who = np.repeat(everyone, rng.poisson(4 * activity))
    add(who, rng.integers(14, 28, len(who)), rng.choice(NAMES, len(who), p=name_p))
    # Retention: activity, plus the planted behaviours.
    ent, day, name = (np.concatenate(x) for x in (ents, days, names))
    e05 = np.bincount(ent[(name == 5) & (day < 7)], minlength=n)
    e12 = np.bincount(ent[(name == 12) & (day == 0)], minlength=n) > 0
    logit = -1.0 + 0.8 * np.log(activity) + 1.0 * (e05 >= 3) + 0.8 * e12
    retained = rng.random(n) < 1 / (1 + np.exp(-logit))
    who = np.repeat(everyone, np.where(retained, 1 + rng.poisson(10 * activity), 0))
    add(who, rng.integers(28, 56, len(who)), rng.choice(NAMES, len(who), p=name_p))
    ent, day, name = (np.concatenate(x) for x in (ents, days, names))

    epoch_day = (AHA_FIRST_DAY - date(1970, 1, 1)).days
    micros = (epoch_day + start[ent] + day) * 86_400_000_000
    micros += rng.integers(0, 86_400_000_000, len(micros))
    order = np.argsort(micros, kind="stable")
    ids = pa.array([f"u{i:07d}" for i in range(first_id + 1, first_id + n + 1)])
    labels = pa.array([f"e{k:02d}" for k in range(NAMES)])
    return pa.table(
        {
            "user_id": ids.take(pa.array(ent[order])),
            "timestamp": pa.array(micros[order], type=pa.timestamp("us", tz="UTC")),
            "event": labels.take(pa.array(name[order])),
        }
    ), int(retained.sum())


def prepare_aha(entities: int) -> tuple[Path, dict[str, Any]]:
    """The cached synthetic data set (generated when missing or stale), and facts about it."""
    import pyarrow.parquet as pq

    root = DATA_ROOT / f"aha-{_count_label(entities)}"
    marker = root / MARKER
    facts: dict[str, Any] = json.loads(marker.read_text()) if marker.exists() else {}
    events_dir = root / "data" / "events"
    wanted = {"version": AHA_VERSION, "entities": entities, "seed": AHA_SEED}
    if any(facts.get(k) != v for k, v in wanted.items()) or not any(events_dir.glob("*.parquet")):
        print(f"Generating {entities:,} entities in {root} ...", flush=True)
        shutil.rmtree(root, ignore_errors=True)
        events_dir.mkdir(parents=True)
        started = time.perf_counter()
        rng = np.random.default_rng(AHA_SEED)
        events = retained = 0
        for index, first in enumerate(range(0, entities, AHA_CHUNK)):
            table, kept = _aha_chunk(rng, first, min(AHA_CHUNK, entities - first))
            pq.write_table(table, events_dir / f"part-{index:05d}.parquet", compression="zstd")
            events += table.num_rows
            retained += kept
        facts = {
            **wanted,
            "events": events,
            "retained": retained,
            "files": len(list(events_dir.glob("*.parquet"))),
            "first_day": str(AHA_FIRST_DAY),
            "generate_seconds": time.perf_counter() - started,
            "peak_gb": peak_rss_gb(),
        }
        marker.write_text(json.dumps(facts, indent=2))
    (root / "cynosure.yml").write_text(AHA_PROJECT, encoding="utf-8")
    facts["parquet_mb"] = sum(p.stat().st_size for p in events_dir.glob("*.parquet")) / 2**20
    return root, facts


def _count_label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


# -- the candidates data (the Tunewave demo) ---------------------------------------------------


DEMO_VERSION = 2  # bump when the demo generator changes: cached demos are then regenerated
# 2: the events carry `acquisition_channel` (the fifth dimension, for `explain`).
DEMO_SEED = 7
DEMO_MONTHS = 18


def prepare_candidates(size: str) -> tuple[Path, dict[str, Any]]:
    """A project on the cached demo of `size` (reused read-only; generated when missing or
    stale), for `candidates` and `explain`."""
    import yaml

    users = _users(size)
    demo = DATA_ROOT / size
    marker = demo / MARKER
    facts: dict[str, Any] = json.loads(marker.read_text()) if marker.exists() else {}
    parts = sorted((demo / "data" / "events").glob("part-0*.parquet"))
    root = DATA_ROOT / f"candidates-{size}"
    stale = _demo_staleness(facts, users, parts, demo)
    if stale:
        from cynosure.demo import generate

        print(f"Generating the demo with {users:,} users in {demo} ({stale}) ...", flush=True)
        # Warehouses built from the old files would be refreshed (their change detection sees
        # new files) but are dropped, so that a cold run is never mistaken for a warm one.
        for warehouse in (demo / ".cynosure", root / ".cynosure"):
            shutil.rmtree(warehouse, ignore_errors=True)
        summary = generate(demo, users=users, months=DEMO_MONTHS, seed=DEMO_SEED)
        facts = {
            "users": summary.users,
            "events": summary.events,
            "start": str(summary.start),
            "end": str(summary.end),
            "generate_seconds": summary.seconds,
            "demo_version": DEMO_VERSION,
            "seed": DEMO_SEED,
        }
        marker.write_text(json.dumps(facts, indent=2))
        parts = sorted((demo / "data" / "events").glob("part-0*.parquet"))
    facts["parquet_mb"] = sum(p.stat().st_size for p in parts) / 2**20
    facts["files"] = len(parts)
    spec = yaml.safe_load((demo / "cynosure.yml").read_text(encoding="utf-8"))
    spec["events"]["source"] = str(demo / "data" / "events" / "part-0*.parquet")
    if spec.get("entities"):
        spec["entities"]["source"] = str((demo / spec["entities"]["source"]).resolve())
    spec.pop("warehouse", None)  # the default: .cynosure/warehouse.duckdb in this directory
    root.mkdir(parents=True, exist_ok=True)
    head = f"# Written by benchmarks/bench_analyses.py: the demo of {demo} (read-only).\n"
    (root / "cynosure.yml").write_text(head + yaml.safe_dump(spec, sort_keys=False), "utf-8")
    facts["dimensions"] = list(spec["events"].get("dimensions") or [])
    return root, facts


def _demo_staleness(facts: dict[str, Any], users: int, parts: list[Path], demo: Path) -> str:
    """Why the cached demo cannot be reused ("" when it can).

    Besides the size and `DEMO_VERSION` (`bench_engine.py`, which shares the cache, writes no
    version: its data counts as version 1), the events must hold every column that the
    current generator's project file declares, so that a generator change that adds a
    column is caught even when nobody bumps the version.
    """
    if facts.get("users") != users or not parts or not (demo / "cynosure.yml").exists():
        return "missing or of another size"
    if facts.get("demo_version", 1) < DEMO_VERSION:
        return f"data version {facts.get('demo_version', 1)}, now {DEMO_VERSION}"
    import pyarrow.parquet as pq
    import yaml

    from cynosure.demo.project_file import render

    text = render(
        seed=DEMO_SEED,
        users=users,
        start=date.fromisoformat(facts["start"]),
        end=date.fromisoformat(facts["end"]),
    )
    events = yaml.safe_load(text)["events"]
    declared = [events["entity"], events["time"], events.get("name")]
    declared += [*events.get("dimensions", []), *events.get("properties", [])]
    have = set(pq.read_schema(parts[0]).names)
    lacking = [c for c in declared if c and c not in have]
    if lacking:
        return f"the events lack {', '.join(lacking)}, which the demo now declares"
    return ""


def _users(size: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)M", size.strip(), flags=re.IGNORECASE)
    if not match:
        raise SystemExit(f"--events takes a size like 1M, 10M or 50M, not '{size}'")
    return round(float(match.group(1)) * USERS_PER_MILLION)


# -- steps (each runs in its own subprocess) ---------------------------------------------------


class Timers:
    """Wall-clock time spent in wrapped functions, by label (nested calls count in each)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.missing: list[str] = []
        self.returned: dict[str, Any] = {}  # the last value returned, for labels kept

    def wrap(self, module: Any, name: str, label: str, *, keep: bool = False) -> None:
        original = getattr(module, name, None)
        if original is None:
            self.missing.append(f"{module.__name__}.{name}")
            return

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                value = original(*args, **kwargs)
                if keep:
                    self.returned[label] = value
                return value
            finally:
                spent = time.perf_counter() - started
                self.seconds[label] = self.seconds.get(label, 0.0) + spent

        setattr(module, name, timed)

    def take(self) -> dict[str, float]:
        """The times so far; the counters start again from zero."""
        taken, self.seconds = self.seconds, {}
        return taken


def _fresh_warehouse(root: Path) -> None:
    base = root / WAREHOUSE
    for path in (base, base.with_name(base.name + ".wal")):
        path.unlink(missing_ok=True)


def _warehouse_mb(root: Path) -> float:
    path = root / WAREHOUSE
    return path.stat().st_size / 2**20 if path.exists() else 0.0


def step_aha(root: Path, cold: bool) -> dict[str, Any]:
    """`Project.load` + `Project.aha()`; from an empty warehouse when `cold`."""
    import cynosure
    import cynosure.api as api
    from cynosure.engine.rollup import Rollup

    if cold:
        _fresh_warehouse(root)
    timers = Timers()
    timers.wrap(Rollup, "refresh", "rollup refresh")
    timers.wrap(api, "behaviour_histograms", "histogram query")
    timers.wrap(api, "aha_result", "statistics (pandas, scipy)")
    started = time.perf_counter()
    project = cynosure.Project.load(root / "cynosure.yml")
    loaded = time.perf_counter()
    result = project.aha()
    done = time.perf_counter()
    con: Any = project.con
    tables = [t for t in con.list_tables() if t.startswith("cynosure_behaviours")]
    rows = int(con.table(tables[0]).count().execute()) if tables else 0
    project.close()
    moments = [
        {
            "rank": rank,
            "event": m.event,
            "at_least": m.at_least,
            "within_days": m.within_days,
            "lift": m.lift,
            "phi": m.phi,
            "adjusted_odds_ratio": m.adjusted_odds_ratio,
            "proxy": m.proxy,
            "verdict": m.verdict,
        }
        for rank, m in enumerate(result.moments, start=1)
    ]
    return {
        "seconds": {"load": loaded - started, "aha": done - loaded, "total": done - started},
        "phases": timers.seconds,
        "missing_timers": timers.missing,
        "facts": {
            "entities": result.entities,
            "retained": result.retained,
            "behaviours": result.behaviours,
            "tests": result.tests,
            "discoveries": result.discoveries,
            "rollup_rows": rows,
            "warehouse_mb": _warehouse_mb(root),
            "summary": result.summary()[0],
        },
        "moments": moments,
    }


def step_candidates(root: Path, cold: bool) -> dict[str, Any]:
    """`Project.load`, `refresh()`, `series("week")`, `candidates()`; cold: empty warehouse."""
    import cynosure
    import cynosure.analysis.gather as gather_module
    import cynosure.api as api

    if cold:
        _fresh_warehouse(root)
    timers = Timers()
    timers.wrap(gather_module, "entity_links", "entity_links (value)")
    timers.wrap(gather_module, "spammed_series", "spammed_series (robustness)")
    timers.wrap(gather_module, "coverage", "coverage (measurability)")
    timers.wrap(gather_module, "_skipped_share", "skipped share (raw events)")
    timers.wrap(gather_module, "lead_lag", "lead_lag (link, lead)")
    timers.wrap(gather_module, "explained_share", "explained_share (actionability)")
    timers.wrap(api, "score_candidates", "score_candidates")
    timers.wrap(api, "start_days", "start_days (expression)")
    started = time.perf_counter()
    project = cynosure.Project.load(root / "cynosure.yml")
    loaded = time.perf_counter()
    stats = project.refresh()
    refreshed = time.perf_counter()
    project.series("week")
    computed = time.perf_counter()
    result = project.candidates("week")
    done = time.perf_counter()
    con: Any = project.con
    tables = [t for t in con.list_tables() if t.startswith("cynosure_rollup")]
    rows = int(con.table(tables[0]).count().execute()) if len(tables) == 1 else -1
    project.close()
    return {
        "seconds": {
            "load": loaded - started,
            "refresh": refreshed - loaded,
            "series": computed - refreshed,
            "candidates": done - computed,
            "total": done - started,
        },
        "phases": timers.seconds,
        "missing_timers": timers.missing,
        "facts": {
            "refresh_full": stats.full,
            "rollup_rows": rows,
            "warehouse_mb": _warehouse_mb(root),
            "winner": result.winner,
            "ranking": [f"{c.metric} {c.score:.2f}" for c in result.candidates],
        },
    }


EXPLAIN_METRIC = "listening_hours"
EXPLAIN_PERIOD = "2026-W37"  # the demo's planted incident week (cynosure.demo.truths)


def _explain_timers() -> Timers:
    """Timers around what `Project.explain` calls, by the names its modules bind."""
    import cynosure.analysis.explain as explain_module
    import cynosure.api as api
    from cynosure.engine.rollup import Rollup

    timers = Timers()
    timers.wrap(Rollup, "refresh", "refresh check")
    timers.wrap(api, "start_days", "entity starts")
    timers.wrap(api, "compute_series", "weekly series")
    timers.wrap(explain_module, "breakdown", "tree breakdown")
    timers.wrap(explain_module, "segment_leaves", "segment query", keep=True)
    timers.wrap(explain_module, "localize", "localize")
    timers.wrap(explain_module, "unusualness", "context")
    timers.wrap(api, "build_tree_result", "tree result")
    return timers


def _timed_explain(root: Path, timers: Timers) -> tuple[dict[str, float], dict[str, float], Any]:
    """`Project.load` + `Project.explain(...)` in this process: seconds, phases, result."""
    import cynosure

    started = time.perf_counter()
    project = cynosure.Project.load(root / "cynosure.yml")
    loaded = time.perf_counter()
    result = project.explain(EXPLAIN_METRIC, EXPLAIN_PERIOD)
    done = time.perf_counter()
    project.close()
    phases = {"load": loaded - started, **timers.take()}
    phases["the rest"] = done - started - sum(phases.values())
    seconds = {"load": loaded - started, "explain": done - loaded, "total": done - started}
    return seconds, phases, result


def step_explain(root: Path, cold: bool) -> dict[str, Any]:
    """`Project.load` + `Project.explain("listening_hours", "2026-W37")`; cold: empty
    warehouse. Warm runs then time, in the same process, the reference `Project.load` +
    `Project.tree("2026-W37")` and the explanation again, each from a new `Project`."""
    import cynosure
    from cynosure.demo import truths

    if cold:
        _fresh_warehouse(root)
    timers = _explain_timers()
    seconds, phases, result = _timed_explain(root, timers)
    leaves = timers.returned.get("segment query")
    out: dict[str, Any] = {
        "seconds": seconds,
        "phases": phases,
        "missing_timers": timers.missing,
        "facts": _explain_facts(root, result, leaves) | {"planted": dict(truths.INCIDENT_SEGMENT)},
    }
    if not cold:
        started = time.perf_counter()
        project = cynosure.Project.load(root / "cynosure.yml")
        loaded = time.perf_counter()
        tree = project.tree(EXPLAIN_PERIOD)
        done = time.perf_counter()
        project.close()
        top = tree.nodes[0]
        out["reference"] = {
            "tree_load": loaded - started,
            "tree": done - loaded,
            "tree_total": done - started,
            "tree_phases": timers.take(),
            "tree_change": top.change,
            "tree_metric": top.metric,
        }
        again, again_phases, _ = _timed_explain(root, timers)
        out["reference"] |= {"again_" + k: v for k, v in again.items()}
        out["reference"]["again_phases"] = again_phases
    return out


def _explain_facts(root: Path, result: Any, leaves: Any) -> dict[str, Any]:
    """The answer, to check: top segment and share, leaves, and the tree's exact sums."""
    nodes = result.tree
    # Along formula edges the children's parts of the change add up to their parent's part
    # (the top's part is the whole change), at every level.
    gaps = []
    for parent in nodes:
        children = [n for n in nodes if n.parent == parent.metric and n.edge == "formula"]
        if not children or parent.estimated:
            continue
        own = result.change if parent.parent is None else parent.contribution
        total = sum(n.contribution or 0.0 for n in children)
        gaps.append(
            {
                "parent": parent.metric,
                "children": [f"{n.metric} {n.contribution:+.4f}" for n in children],
                "sum": total,
                "change": own,
                "gap": abs(total - (own or 0.0)),
            }
        )
    frame = leaves.frame if leaves is not None else None
    return {
        "metric": result.metric,
        "period": result.period,
        "baseline": result.baseline,
        "value": result.value,
        "baseline_value": result.baseline_value,
        "change": result.change,
        "change_relative": result.change_relative,
        "path": result.path,
        "segments_metric": result.segments_metric,
        "segments_kind": result.segments_kind,
        "segments_explained": result.segments_explained,
        "segments": [
            {
                "segment": s.segment,
                "share_of_change": s.share_of_change,
                "change": s.change,
                "effect": s.effect,
            }
            for s in result.segments
        ],
        "leaves": len(frame) if frame is not None else None,
        "dimensions": list(leaves.dimensions) if leaves is not None else [],
        "tree_sums": gaps,
        "context_z": result.context.z,
        "narrative": result.narrative,
        "warnings": result.warnings,
        "warehouse_mb": _warehouse_mb(root),
    }


STEPS: dict[str, Callable[[Path, bool], dict[str, Any]]] = {
    "aha": step_aha,
    "candidates": step_candidates,
    "explain": step_explain,
}


def child_main(step: str, root: Path, cold: bool) -> None:
    baseline = peak_rss_gb()
    result = STEPS[step](root, cold)
    result |= {"peak_gb": peak_rss_gb(), "baseline_gb": baseline}
    result["engine"] = str(Path(sys.modules["cynosure"].__file__ or "").parent.parent)
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# -- the parent: data, orchestration, report ---------------------------------------------------


@dataclass
class Run:
    """One measured run of one step."""

    key: str
    result: dict[str, Any]
    load_before: float
    load_after: float

    def seconds(self, part: str = "total") -> float:
        return float(self.result["seconds"][part])

    @property
    def peak(self) -> float:
        return float(self.result["peak_gb"])


@dataclass
class Bench:
    engine: Engine
    timeout: float
    runs: dict[str, list[Run]] = field(default_factory=dict)

    def run(self, step: str, root: Path, cold: bool) -> Run:
        key = f"{step}_{'cold' if cold else 'warm'}"
        command = [sys.executable, str(Path(__file__).resolve()), "--child", step]
        command += ["--dir", str(root)] + (["--cold-run"] if cold else [])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(self.engine.directory), *filter(None, [env.get("PYTHONPATH")])]
        )
        before = os.getloadavg()[0]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                check=False,
                env=env,
                timeout=self.timeout,
            )
        except subprocess.TimeoutExpired:
            # DuckDB has hung here before: every thread parked, no CPU used (see the doc).
            raise SystemExit(
                f"step {key} did not finish in {self.timeout:.0f} s (killed); load average "
                f"{before:.2f} before it, {os.getloadavg()[0]:.2f} now"
            ) from None
        after = os.getloadavg()[0]
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
        if done.returncode != 0 or not lines:
            sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit(f"step {key} failed (exit {done.returncode})")
        result = json.loads(lines[-1][len(RESULT_PREFIX) :])
        if result["engine"] != str(self.engine.directory):
            raise SystemExit(f"step {key} imported Cynosure from {result['engine']}")
        run = Run(key, result, before, after)
        self.runs.setdefault(key, []).append(run)
        shown = ", ".join(f"{k} {v:.2f}" for k, v in result["seconds"].items())
        phases = ", ".join(f"{k} {v:.2f}" for k, v in result["phases"].items())
        print(
            f"  {key:<16} {shown}  peak {run.peak:.2f} GB  load {before:.2f} -> {after:.2f}\n"
            f"  {'':<16} phases: {phases}",
            flush=True,
        )
        if result.get("missing_timers"):
            print(f"  {'':<16} no such function to time: {result['missing_timers']}", flush=True)
        if "reference" in result:
            ref = result["reference"]
            print(
                f"  {'':<16} reference: tree {ref['tree_total']:.2f} (load {ref['tree_load']:.2f}"
                f"), explain again {ref['again_total']:.2f}",
                flush=True,
            )
        return run

    def best(self, key: str) -> Run:
        return min(self.runs[key], key=lambda run: run.seconds())


def benchmark(args: argparse.Namespace) -> None:
    parts = PARTS if args.part == "all" else [args.part]
    data: dict[str, tuple[Path, dict[str, Any]]] = {}
    if "aha" in parts:
        data["aha"] = prepare_aha(args.entities)
    if "candidates" in parts or "explain" in parts:
        demo = prepare_candidates(args.events.upper())
        data |= {part: demo for part in ("candidates", "explain") if part in parts}
    engine = Engine.snapshot()
    print(f"Cynosure {engine.describe()}, copied to {engine.directory}", flush=True)
    bench = Bench(engine, args.timeout)
    try:
        for part in parts:
            root, facts = data[part]
            print(f"{part}: {facts['events']:,} events in {root}", flush=True)
            for _ in range(args.cold):
                bench.run(part, root, cold=True)
            for _ in range(_repeat(args, part)):
                bench.run(part, root, cold=False)
    finally:
        shutil.rmtree(engine.directory, ignore_errors=True)
    text = report(args, bench, data)
    print("\n" + text)
    if args.out:
        doc = args.doc.resolve()
        with doc.open("a", encoding="utf-8") as handle:
            handle.write("\n" + text)
        print(f"Appended to {doc.relative_to(ROOT) if doc.is_relative_to(ROOT) else doc}")


def _repeat(args: argparse.Namespace, part: str) -> int:
    return int(args.repeat if args.repeat is not None else REPEAT[part])


def _files(n: int) -> str:
    return "1 file" if n == 1 else f"{n} files"


def _verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


def _runs(runs: list[Run], part: str = "total") -> str:
    return " / ".join(f"{run.seconds(part):.2f}" for run in runs)


def report(
    args: argparse.Namespace, bench: Bench, data: dict[str, tuple[Path, dict[str, Any]]]
) -> str:
    info = machine()
    engine = bench.engine
    every = [run for runs in bench.runs.values() for run in runs]
    loads = [x for run in every for x in (run.load_before, run.load_after)]
    baseline = min(run.result["baseline_gb"] for run in every)
    titles = []
    if "aha" in data:
        titles.append(f"aha on {data['aha'][1]['entities']:,} entities")
    if "candidates" in data:
        titles.append(f"candidates on {args.events.upper()} events")
    if "explain" in data:
        titles.append(f"explain on {args.events.upper()} events")
    repeats: dict[int, list[str]] = {}
    for part in data:
        repeats.setdefault(len(bench.runs.get(f"{part}_warm", [])), []).append(part)
    best_of = ", ".join(
        f"{n} ({', '.join(parts)})" if len(repeats) > 1 else str(n) for n, parts in repeats.items()
    )
    command = " ".join(["benchmarks/bench_analyses.py", *sys.argv[1:]])
    lines = [
        f"## {date.today().isoformat()}: analyses, {' and '.join(titles)}, "
        f"Cynosure {engine.commit}",
        "",
        "Produced by `benchmarks/bench_analyses.py` (its docstring says what is measured).",
        "",
        f"- Machine: {info['cores']} cores ({info['cpu']}), {info['ram']} RAM, shared: the "
        f"1-minute load average before and after the runs ranged {min(loads):.2f} to "
        f"{max(loads):.2f} (2.0 = both cores busy).",
        f"- Versions: Python {info['python']}, DuckDB {info['duckdb']}, Ibis {info['ibis']}, "
        f"pandas {info['pandas']}; Cynosure {engine.describe()}.",
        f"- Each run is its own process; peak RSS is its `VmHWM` ({baseline:.2f} GB before any "
        "work). *Cold*: empty warehouse, so the rollup is built; *warm*: the rollup exists and "
        f"the refresh finds nothing new. Seconds of warm runs: best of {best_of}, all listed.",
        f"- Command: `.venv/bin/python {command}`.",
    ]
    if args.note:
        lines.append(f"- {args.note}")
    if "aha" in data:
        lines += _aha_report(bench, *data["aha"])
    if "candidates" in data:
        lines += _candidates_report(bench, args.events.upper(), *data["candidates"])
    if "explain" in data:
        lines += _explain_report(bench, args.events.upper(), *data["explain"])
    return "\n".join(lines) + "\n"


def _phase_text(run: Run) -> str:
    return "; ".join(f"{k} {v:.2f}" for k, v in run.result["phases"].items())


def _aha_report(bench: Bench, root: Path, facts: dict[str, Any]) -> list[str]:
    cold, warm = bench.runs["aha_cold"], bench.runs["aha_warm"]
    best_warm = bench.best("aha_warm")
    result = best_warm.result
    got = result["facts"]
    lines = [
        "",
        f"### aha: {facts['entities']:,} entities, {facts['events']:,} events",
        "",
        f"- Data: `{root.relative_to(ROOT)}`, synthetic: {NAMES} event names, starts over "
        f"{AHA_START_DAYS} days from {facts['first_day']}, "
        f"{facts['events'] / facts['entities']:.1f} events per entity in its first 56 days, "
        f"{facts['retained'] / facts['entities']:.1%} retained; {_files(facts['files'])}, "
        f"{facts['parquet_mb']:.0f} MB of Parquet (generated "
        f"in {facts['generate_seconds']:.0f} s). Planted: "
        + "; ".join(f"`{k}` {v}" for k, v in PLANTED.items())
        + ".",
        f"- Search: windows {WINDOWS}, thresholds {THRESHOLDS}, FDR 5%: {got['behaviours']} "
        f"behaviours, {got['tests']:,} tests, {got['discoveries']:,} discoveries, "
        f"{len(result['moments'])} moments; {got['entities']:,} eligible entities. Behaviour "
        f"rollup: {got['rollup_rows']:,} rows (entity x day x event name); warehouse "
        f"{got['warehouse_mb']:.0f} MB.",
        "",
        "| run | seconds | runs | Project.load | aha() | peak RSS GB | load avg before/after |",
        "|---|---:|---|---:|---:|---:|---|",
    ]
    for label, runs in (("cold (rollup built)", cold), ("warm (rollup exists)", warm)):
        best = min(runs, key=lambda r: r.seconds())
        lines.append(
            f"| {label} | {best.seconds():.2f} | {_runs(runs)} | {best.seconds('load'):.2f} "
            f"| {best.seconds('aha'):.2f} | {max(r.peak for r in runs):.2f} "
            f"| {', '.join(f'{r.load_before:.1f}/{r.load_after:.1f}' for r in runs)} |"
        )
    lines += [
        "",
        f"Phases, cold: {_phase_text(min(cold, key=lambda r: r.seconds()))}. "
        f"Warm: {_phase_text(best_warm)}.",
        "",
    ]
    moments = result["moments"]
    planted = {m["event"]: m for m in moments if m["event"] in PLANTED}
    others = [m for m in moments if m["event"] not in PLANTED and m["proxy"] is False]
    lines.append("Moments found (best first):")
    for m in moments[:3]:
        lines.append(f"{m['rank']}. {m['verdict']}")
    for name in PLANTED:
        m = planted.get(name)
        if m is None:
            lines.append(f"- planted `{name}`: **not found**.")
        else:
            lines.append(
                f"- planted `{name}`: rank {m['rank']}, at least {m['at_least']} within "
                f"{m['within_days']} days, lift {m['lift']}, adjusted odds ratio "
                f"{m['adjusted_odds_ratio']}, proxy {m['proxy']}."
            )
    lines.append(
        f"- other behaviours: {len(moments) - len(planted)} moments, "
        f"{len(others)} of them not flagged as proxies for activity"
        + (f" ({', '.join(m['event'] for m in others[:8])})" if others else "")
        + "."
    )
    lines += ["", "Targets:"]
    at_size = facts["entities"] == TARGET_AHA_ENTITIES
    suffix = "" if at_size else f" (the target is stated at {TARGET_AHA_ENTITIES:,} entities)"
    for label, runs in (("cold", cold), ("warm", warm)):
        seconds = min(r.seconds() for r in runs)
        peak = max(r.peak for r in runs)
        lines.append(
            f"- aha {label}, under {TARGET_AHA_SECONDS:.0f} s: {_verdict(seconds < 60)} "
            f"({seconds:.2f} s, {seconds / TARGET_AHA_SECONDS:.2f}x the target); peak memory "
            f"under {TARGET_AHA_GB:.0f} GB: {_verdict(peak < TARGET_AHA_GB)} ({peak:.2f} GB)"
            f"{suffix}."
        )
    return lines


def _candidates_report(bench: Bench, size: str, root: Path, facts: dict[str, Any]) -> list[str]:
    cold, warm = bench.runs["candidates_cold"], bench.runs["candidates_warm"]
    best_warm = bench.best("candidates_warm")
    got = best_warm.result["facts"]
    lines = [
        "",
        f"### candidates: the Tunewave demo, {facts['events']:,} events",
        "",
        f"- Data: {facts['users']:,} users, {facts['start']} to {facts['end']}, "
        f"{_files(facts['files'])}, {facts['parquet_mb']:.0f} MB of Parquet, read through "
        f"`{root.relative_to(ROOT)}/cynosure.yml`; rollup {got['rollup_rows']:,} rows, "
        f"warehouse {got['warehouse_mb']:.0f} MB.",
        f"- Ranking: {', '.join(got['ranking'])} (winner {got['winner']}).",
        "",
        "| run | seconds | runs | Project.load | refresh() | series('week') | candidates() "
        "| peak RSS GB | load avg before/after |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for label, runs in (("cold (rollup built)", cold), ("warm (rollup exists)", warm)):
        best = min(runs, key=lambda r: r.seconds())
        parts = " | ".join(
            f"{best.seconds(p):.2f}" for p in ("load", "refresh", "series", "candidates")
        )
        lines.append(
            f"| {label} | {best.seconds():.2f} | {_runs(runs)} | {parts} "
            f"| {max(r.peak for r in runs):.2f} "
            f"| {', '.join(f'{r.load_before:.1f}/{r.load_after:.1f}' for r in runs)} |"
        )
    lines += [
        "",
        f"Phases of candidates() (warm): {_phase_text(best_warm)}.",
        "",
        "Targets:",
    ]
    suffix = "" if size == TARGET_CANDIDATES_SIZE else " (the target is stated at 50M events)"
    for label, runs in (("warm (the usual case)", warm), ("cold, rollup build included", cold)):
        seconds = min(r.seconds() for r in runs)
        lines.append(
            f"- candidates {label}, load to result under {TARGET_CANDIDATES_SECONDS:.0f} s: "
            f"{_verdict(seconds < TARGET_CANDIDATES_SECONDS)} ({seconds:.2f} s, "
            f"{seconds / TARGET_CANDIDATES_SECONDS:.2f}x the target; peak "
            f"{max(r.peak for r in runs):.2f} GB){suffix}."
        )
    return lines


def _explain_report(bench: Bench, size: str, root: Path, facts: dict[str, Any]) -> list[str]:
    cold = bench.runs.get("explain_cold", [])
    warm = bench.runs.get("explain_warm", [])
    best_warm = bench.best("explain_warm") if warm else None
    shown = best_warm or cold[0]
    got = shown.result["facts"]
    dims = got["dimensions"]
    lines = [
        "",
        f"### explain: the Tunewave demo, {facts['events']:,} events, {len(dims)} dimensions",
        "",
        f"- Data: {facts['users']:,} users, {facts['start']} to {facts['end']}, "
        f"{_files(facts['files'])}, {facts['parquet_mb']:.0f} MB of Parquet, read through "
        f"`{root.relative_to(ROOT)}/cynosure.yml` (the same data and warehouse as candidates); "
        f"dimensions {', '.join(dims)}; warehouse {got['warehouse_mb']:.0f} MB.",
        f'- Question: `Project.explain("{EXPLAIN_METRIC}", "{EXPLAIN_PERIOD}")` (CLI: `cynosure '
        f"explain {EXPLAIN_METRIC} --period {EXPLAIN_PERIOD}`), the demo's planted incident "
        f"week, against {got['baseline']}. Timed: `Project.load` + `explain()`, in a new "
        "process each run.",
        "",
        "| run | seconds | runs | Project.load | explain() | peak RSS GB | load avg before/after |",
        "|---|---:|---|---:|---:|---:|---|",
    ]
    for label, runs in (("cold (rollup built)", cold), ("warm (rollup exists)", warm)):
        if not runs:
            continue
        best = min(runs, key=lambda r: r.seconds())
        lines.append(
            f"| {label} | {best.seconds():.2f} | {_runs(runs)} | {best.seconds('load'):.2f} "
            f"| {best.seconds('explain'):.2f} | {max(r.peak for r in runs):.2f} "
            f"| {', '.join(f'{r.load_before:.1f}/{r.load_after:.1f}' for r in runs)} |"
        )
    lines += ["", *_explain_phase_table(cold, warm)]
    if warm:
        lines += ["", *_explain_reference(warm)]
    lines += ["", *_explain_answer(got)]
    lines += ["", "Target:"]
    suffix = "" if size == TARGET_CANDIDATES_SIZE else " (the target is stated at 50M events)"
    if warm:
        seconds = min(r.seconds() for r in warm)
        lines.append(
            f"- explain warm (the rollup built by an earlier command, the usual case), load to "
            f"answer under {TARGET_EXPLAIN_SECONDS:.0f} s: "
            f"{_verdict(seconds < TARGET_EXPLAIN_SECONDS)} ({seconds:.2f} s best, "
            f"{max(r.seconds() for r in warm):.2f} s worst; "
            f"{seconds / TARGET_EXPLAIN_SECONDS:.2f}x the target; peak "
            f"{max(r.peak for r in warm):.2f} GB){suffix}."
        )
    if cold:
        seconds = min(r.seconds() for r in cold)
        lines.append(
            f"- explain cold, rollup build included (no target; for scale): {seconds:.2f} s, "
            f"peak {max(r.peak for r in cold):.2f} GB."
        )
    return lines


def _explain_phase_table(cold: list[Run], warm: list[Run]) -> list[str]:
    """Phases of the best warm run, their range over the warm runs, and of the cold run."""
    columns: list[tuple[str, list[Run]]] = []
    if warm:
        columns.append(("warm, best run", [min(warm, key=lambda r: r.seconds())]))
        if len(warm) > 1:
            columns.append(("warm, all runs", warm))
    if cold:
        columns.append(("cold", [min(cold, key=lambda r: r.seconds())]))
    names: list[str] = []
    for _, runs in columns:
        for run in runs:
            names += [k for k in run.result["phases"] if k not in names]
    names = [n for n in names if n != "the rest"] + ["the rest"]
    lines = [
        "Phases (seconds; timers wrapped around the functions `explain` calls, see "
        "`_explain_timers`; *the rest* is the total less the phases: pandas, Pydantic, "
        "choosing the periods, the narrative):",
        "",
        "| phase | " + " | ".join(title for title, _ in columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for name in names:
        cells = []
        for _, runs in columns:
            values = [run.result["phases"].get(name) for run in runs]
            if len(runs) == 1:
                cells.append("-" if values[0] is None else f"{values[0]:.2f}")
            else:
                cells.append(" / ".join("-" if v is None else f"{v:.2f}" for v in values))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    total = []
    for _, runs in columns:
        total.append(" / ".join(f"{run.seconds():.2f}" for run in runs))
    lines.append("| **total** | " + " | ".join(total) + " |")
    missing = sorted(
        {m for _, runs in columns for run in runs for m in run.result["missing_timers"]}
    )
    if missing:
        lines += ["", f"Not timed (no such function any more): {', '.join(missing)}."]
    return lines


def _explain_reference(warm: list[Run]) -> list[str]:
    refs = [run.result["reference"] for run in warm]
    tree = min(r["tree_total"] for r in refs)
    again = min(r["again_total"] for r in refs)
    first = min(run.seconds() for run in warm)
    best_tree = min(refs, key=lambda r: r["tree_total"])
    best_again = min(refs, key=lambda r: r["again_total"])
    ratios = [r["again_total"] / r["tree_total"] for r in refs]
    added = [r["again_total"] - r["tree_total"] for r in refs]

    def phases(values: dict[str, float]) -> str:
        return "; ".join(f"{k} {v:.2f}" for k, v in values.items())

    def listed(values: list[float]) -> str:
        return " / ".join(f"{v:.2f}" for v in values)

    return [
        "Reference, side by side: after each warm run's explanation, the same process ran "
        f'`Project.load` + `Project.tree("{EXPLAIN_PERIOD}")` from a new `Project` (the same '
        "refresh check and weekly series, then the tree: no segments), then `Project.load` + "
        "`explain()` again from another new `Project`, so both stand on the same footing "
        "(imports done, Parquet metadata and the warehouse in the OS cache) and are measured "
        "seconds apart, under the same load.",
        "",
        f"- tree: {tree:.2f} s best ({listed([r['tree_total'] for r in refs])}); best run: "
        f"load {best_tree['tree_load']:.2f}, tree() {best_tree['tree']:.2f} "
        f"({phases(best_tree['tree_phases'])}).",
        f"- explain again: {again:.2f} s best ({listed([r['again_total'] for r in refs])}); "
        f"best run: {phases(best_again['again_phases'])}.",
        f"- **explain / tree = {float(np.median(ratios)):.2f}** (median over the processes: "
        f"{listed(ratios)}; best / best {again / tree:.2f}): explain costs "
        f"{listed(added)} s more than the tree. The timed explanation, the first command of "
        f"a new process, {first:.2f} s best, is {first / tree:.2f}x the best tree.",
    ]


def _explain_answer(got: dict[str, Any]) -> list[str]:
    segments = got["segments"]
    planted = got.get("planted") or {}
    lines = [
        "The answer (checked):",
        "",
        f"- {got['metric']} {got['baseline']} {got['baseline_value']:,.1f} -> {got['period']} "
        f"{got['value']:,.1f}: {got['change']:+,.1f} ({(got['change_relative'] or 0):+.1%}); "
        f"path {' > '.join(got['path'])}.",
    ]
    worst = max((g["gap"] for g in got["tree_sums"]), default=float("nan"))
    scale = abs(got["change"] or 0.0) or 1.0
    exact = all(g["gap"] <= 1e-9 * scale for g in got["tree_sums"]) and bool(got["tree_sums"])
    for g in got["tree_sums"]:
        lines.append(
            f"- tree, {g['parent']}: {' '.join(g['children'])} = {g['sum']:+.6f}, its part of "
            f"the change {g['change']:+.6f} (gap {g['gap']:.1e})."
        )
    lines.append(
        f"- tree contributions sum exactly to the change: {_verdict(exact) if exact else '**no**'}"
        f" (largest gap {worst:.1e}, tolerance 1e-9 of the change)."
    )
    lines.append(
        f"- segments: {got['leaves']:,} leaves (full combinations of the {len(got['dimensions'])} "
        f"dimensions seen in either week) of {got['segments_metric']} ({got['segments_kind']}); "
        "the causes found explain "
        + (
            f"{got['segments_explained']:.0%} of the change."
            if got["segments_explained"] is not None
            else "no share of the change (none found)."
        )
    )
    if segments:
        top = segments[0]
        if top["segment"] == planted:
            verdict = "**found first**"
        elif top["segment"].items() < planted.items():
            verdict = "**not found first** (the top segment is a coarser one that holds it)"
        else:
            verdict = "**not found first**"
        lines.append(
            f"- top segment {_segment_text(top['segment'])}: {top['share_of_change']:.1%} of the "
            f"change ({top['change']:+,.1f}, {top['effect']}); the planted "
            f"{_segment_text(planted)}: {verdict}."
        )
        for rank, s in enumerate(segments[1:], start=2):
            lines.append(
                f"  {rank}. {_segment_text(s['segment'])}: {s['share_of_change']:.1%} "
                f"({s['change']:+,.1f}, {s['effect']})"
            )
    else:
        lines.append("- segments: **none found**.")
    lines.append(f"- Narrative: {got['narrative']}")
    lines += [f"- Warning: {w}" for w in got["warnings"]]
    return lines


def _segment_text(segment: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in segment.items()) + "}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    parser.add_argument("--entities", type=int, default=TARGET_AHA_ENTITIES, help="aha size")
    parser.add_argument("--events", default=TARGET_CANDIDATES_SIZE, help="demo size: 1M .. 50M")
    parser.add_argument(
        "--repeat", type=int, help="warm runs of each (default: 3 for explain, else 2)"
    )
    parser.add_argument("--cold", type=int, default=1, help="cold runs of each (default 1)")
    parser.add_argument("--out", action="store_true", help="append the results to the doc")
    parser.add_argument(
        "--doc", type=Path, default=DOC, help="the doc --out appends to (docs/benchmarks.md)"
    )
    parser.add_argument("--note", default="", help="a line added to the report")
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds before a run counts as hung (600)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cold-run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child, args.dir, args.cold_run)
    else:
        benchmark(args)


if __name__ == "__main__":
    main()
