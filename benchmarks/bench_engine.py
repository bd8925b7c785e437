"""Benchmark of Cynosure's engine against the floor, hand-written DuckDB SQL and pandas.

Run from the repository root (the data is generated on first use and cached under
``bench-data/<size>/``, which git ignores)::

    .venv/bin/python benchmarks/bench_engine.py --events 1M                     # ~1 min
    .venv/bin/python benchmarks/bench_engine.py --events 10M --repeat 3 --out   # ~5 min
    .venv/bin/python benchmarks/bench_engine.py --events 50M --repeat 2 --out   # ~15 min

``--out`` appends the report to ``docs/benchmarks.md``. Each step imports Cynosure from a copy
of ``src/`` taken when the run starts (others may commit meanwhile); the report names the commit.

``--events N M`` generates the Tunewave demo with ``N * 10,000`` users (about 100 events each,
18 months, seed 7). Every measured step runs in its own subprocess, so its peak resident memory
(``VmHWM`` of the process, including the interpreter and its imports) is its own. Steps run
interleaved, ``--repeat`` times each; the tables show the best time and every run.

What each number means (all wall-clock seconds, warm OS file cache, DuckDB on every core):

* **floor**: one DuckDB query that reads every column involved once from the Parquet files
  (``sum(hash(..))`` of strings, ``sum`` of numbers, so each value is decoded) and does nothing
  else. No query over these files can be faster than this.
* **hand-written SQL**: one combined DuckDB query, with CTEs, computing the same weekly series
  straight from the Parquet files, as a competent analyst would write it (``date_trunc``,
  ``CAST(.. AS DATE)``). A second form computes days and weeks by integer arithmetic on
  ``epoch_us`` instead: DuckDB's time-zone conversions cost more than the rest of the query.
* **pandas**: the tree metrics in plain pandas, reading only the columns needed.
* **Cynosure full build**: a fresh warehouse, ``Project.load`` (reported apart), then
  ``refresh(full=True)`` (the entity x day rollup plus the per-file, per-hour event counts kept
  for change detection) and ``series("week")`` (every metric from the rollup in one query).
  Full build = refresh + series.
* **the design's floor**: the engine's own entity x day rollup query run with its result
  consumed by one aggregate, so nothing is written and no change-detection state is kept.
  Every build on an entity x day rollup pays at least this, and then the series from it: their
  sum against the floor says how close to the floor this design can come at all.
* **incremental refresh**: from the warehouse of a full build, after adding one file of events
  (one new day; or one day of late events for a day 30 weeks back): ``Project.load`` and
  ``refresh()``, then ``series("week")`` apart. Its series is checked against a full rebuild.

Two metric sets: the *tree* (the metrics the demo's metric tree uses, from a project file
holding only those) and *all* (every metric of the demo's ``cynosure.yml``). The report says
whether the hand-written SQL and pandas results equal Cynosure's series (a comparison of
different results would mean nothing) and whether each incremental refresh equals a rebuild.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DATA_ROOT = ROOT / "bench-data"
DOC = ROOT / "docs" / "benchmarks.md"
USERS_PER_MILLION = 10_000  # the demo writes ~100 events per user
MARKER = "bench-generated.json"
TREE_FILE = "bench-tree.yml"
TREE_WAREHOUSE = ".cynosure/bench-tree.duckdb"
ALL_WAREHOUSE = ".cynosure/warehouse.duckdb"
ADDED = {"new_day": "part-new-day.parquet", "late": "part-late-events.parquet"}
LATE_SHIFT_DAYS = 210  # late events: the last day's events moved 30 weeks back
RESULT_PREFIX = "BENCH-RESULT "

# -- the hand-written references ------------------------------------------------------------

# The tree metrics, weekly (Monday weeks, UTC): one pass over the events down to one row per
# user and week, then sums, active users and growth accounting from a window lag.
SQL_TREE = """
WITH uw AS (
  SELECT user_id, CAST(date_trunc('week', "timestamp") AS DATE) AS week,
         sum(duration_s) FILTER (WHERE event = 'song_played') AS seconds,
         count(*) FILTER (WHERE event = 'song_played') AS plays,
         count(*) FILTER (WHERE event = 'playlist_add') AS adds,
         count(*) FILTER (WHERE event = 'search') AS searches
  FROM read_parquet($events)
  WHERE user_id IS NOT NULL AND "timestamp" IS NOT NULL
  GROUP BY ALL
),
active AS (
  SELECT week, lag(week) OVER (PARTITION BY user_id ORDER BY week) AS prev
  FROM uw WHERE plays > 0
),
growth AS (
  SELECT week, count(*) AS listeners,
         count(*) FILTER (WHERE prev IS NULL) AS new_listeners,
         count(*) FILTER (WHERE prev = week - 7) AS retained_listeners,
         count(*) FILTER (WHERE prev < week - 7) AS resurrected_listeners
  FROM active GROUP BY week
),
weekly AS (
  SELECT week, coalesce(sum(seconds), 0) / 3600 AS listening_hours,
         sum(adds) AS playlist_adds, sum(searches) AS searches
  FROM uw GROUP BY week
)
SELECT w.week AS period, w.listening_hours,
       coalesce(g.listeners, 0) AS listeners,
       w.listening_hours / nullif(g.listeners, 0) AS hours_per_listener,
       coalesce(g.new_listeners, 0) AS new_listeners,
       coalesce(g.retained_listeners, 0) AS retained_listeners,
       coalesce(g.resurrected_listeners, 0) AS resurrected_listeners,
       w.playlist_adds, w.searches,
       w.searches / nullif(g.listeners, 0) AS searches_per_listener
FROM weekly w LEFT JOIN growth g USING (week)
ORDER BY period
"""

# Every metric of the demo project, weekly. Day-level windows (engaged days, retention,
# conversion) need one row per user and day first; everything else follows from it.
SQL_ALL = """
WITH ud AS (
  SELECT user_id, CAST("timestamp" AS DATE) AS day,
         sum(duration_s) FILTER (WHERE event = 'song_played') AS seconds,
         count(*) FILTER (WHERE event = 'song_played') AS plays,
         count(duration_s) FILTER (WHERE event = 'song_played') AS timed_plays,
         count(*) FILTER (WHERE event = 'song_skipped') AS skips,
         count(*) FILTER (WHERE event = 'playlist_add') AS adds,
         count(*) FILTER (WHERE event = 'search') AS searches,
         count(*) FILTER (WHERE event = 'subscription_cancelled') AS cancellations,
         sum(amount) FILTER (WHERE event = 'payment_succeeded') AS revenue,
         count(*) FILTER (WHERE event = 'onboarding_completed') AS onboarded,
         count(*) FILTER (WHERE event = 'signed_up') AS signups
  FROM read_parquet($events)
  WHERE user_id IS NOT NULL AND "timestamp" IS NOT NULL
  GROUP BY ALL
),
uw AS (
  SELECT user_id, CAST(date_trunc('week', day) AS DATE) AS week,
         sum(seconds) AS seconds, sum(plays) AS plays, sum(timed_plays) AS timed_plays,
         count(*) FILTER (WHERE plays > 0) AS play_days, sum(skips) AS skips,
         sum(adds) AS adds, sum(searches) AS searches, sum(cancellations) AS cancellations,
         sum(revenue) AS revenue, sum(signups) AS signups
  FROM ud GROUP BY ALL
),
weekly AS (
  SELECT week, coalesce(sum(seconds), 0) AS seconds, sum(plays) AS song_plays,
         sum(timed_plays) AS timed_plays, sum(skips) AS skips, sum(adds) AS playlist_adds,
         sum(searches) AS searches, sum(cancellations) AS cancellations,
         coalesce(sum(revenue), 0) AS revenue, sum(signups) AS signups,
         count(*) FILTER (WHERE plays > 0) AS listeners,
         count(*) FILTER (WHERE play_days >= 3) AS engaged_listeners
  FROM uw GROUP BY week
),
active AS (
  SELECT week, lag(week) OVER w AS prev, lead(week) OVER w AS next
  FROM uw WHERE plays > 0
  WINDOW w AS (PARTITION BY user_id ORDER BY week)
),
growth AS (
  SELECT week,
         count(*) FILTER (WHERE prev IS NULL) AS new_listeners,
         count(*) FILTER (WHERE prev = week - 7) AS retained_listeners,
         count(*) FILTER (WHERE prev < week - 7) AS resurrected_listeners
  FROM active GROUP BY week
),
churn AS (
  SELECT week + 7 AS week, count(*) AS churned_listeners
  FROM active WHERE next IS NULL OR next <> week + 7 GROUP BY 1
),
bounds AS (SELECT max(day) AS last_day FROM ud),
starts AS (
  SELECT user_id, coalesce(u.created, f.first_day) AS start
  FROM (SELECT user_id, min(day) AS first_day FROM ud GROUP BY user_id) f
  FULL JOIN (
    SELECT user_id, min(CAST(signed_up_at AS DATE)) AS created
    FROM read_parquet($users) WHERE user_id IS NOT NULL GROUP BY user_id
  ) u USING (user_id)
),
retained AS (
  SELECT DISTINCT s.user_id FROM starts s JOIN ud
    ON ud.user_id = s.user_id AND ud.day BETWEEN s.start + 28 AND s.start + 34
),
converted AS (
  SELECT DISTINCT s.user_id FROM starts s JOIN ud
    ON ud.user_id = s.user_id AND ud.onboarded > 0 AND ud.day BETWEEN s.start AND s.start + 1
),
cohorts AS (
  SELECT CAST(date_trunc('week', s.start) AS DATE) AS week,
         count(*) FILTER (WHERE s.start + 34 <= l.last_day) AS retention_den,
         count(r.user_id) FILTER (WHERE s.start + 34 <= l.last_day) AS retention_num,
         count(*) FILTER (WHERE s.start + 1 <= l.last_day) AS conversion_den,
         count(c.user_id) FILTER (WHERE s.start + 1 <= l.last_day) AS conversion_num
  FROM starts s CROSS JOIN bounds l
  LEFT JOIN retained r ON r.user_id = s.user_id
  LEFT JOIN converted c ON c.user_id = s.user_id
  WHERE s.start IS NOT NULL
  GROUP BY 1
)
SELECT w.week AS period,
       w.seconds / 3600 AS listening_hours,
       w.listeners,
       coalesce(g.new_listeners, 0) AS new_listeners,
       coalesce(g.retained_listeners, 0) AS retained_listeners,
       coalesce(g.resurrected_listeners, 0) AS resurrected_listeners,
       coalesce(ch.churned_listeners, 0) AS churned_listeners,
       w.song_plays, w.skips, w.playlist_adds, w.searches, w.cancellations, w.revenue,
       k.retention_num / nullif(k.retention_den, 0) AS week4_retention,
       k.conversion_num / nullif(k.conversion_den, 0) AS onboarding_completion,
       w.signups,
       sum(w.signups) OVER (ORDER BY w.week) AS signups_total,
       w.engaged_listeners,
       w.seconds / 60 / nullif(w.timed_plays, 0) AS avg_song_minutes,
       w.seconds / 3600 / nullif(w.listeners, 0) AS hours_per_listener,
       w.skips / nullif(w.song_plays, 0) AS skip_rate,
       w.searches / nullif(w.listeners, 0) AS searches_per_listener
FROM weekly w
LEFT JOIN growth g USING (week)
LEFT JOIN churn ch USING (week)
LEFT JOIN cohorts k USING (week)
ORDER BY period
"""

# The same queries with the time-zone work done by integer arithmetic on epoch microseconds
# (exact for UTC, the demo's zone): DuckDB's ICU conversions of TIMESTAMPTZ values cost more
# than the whole rest of these queries. Reported as an extra, faster reference.
_DAY = """DATE '1970-01-01' + CAST(epoch_us("timestamp") // 86400000000 AS INTEGER)"""
SQL_TREE_INT = SQL_TREE.replace(
    """CAST(date_trunc('week', "timestamp") AS DATE)""",
    # 1970-01-05 was a Monday: Monday weeks start 7 * floor((day - 4) / 7) + 4 days after 1970.
    """DATE '1970-01-05'
       + CAST(7 * ((epoch_us("timestamp") // 86400000000 - 4) // 7) AS INTEGER)""",
)
SQL_ALL_INT = SQL_ALL.replace("""CAST("timestamp" AS DATE) AS day""", f"{_DAY} AS day")
assert SQL_TREE_INT != SQL_TREE and SQL_ALL_INT != SQL_ALL

FLOOR_TREE = """
SELECT count(*), sum(hash(user_id)), sum(epoch_us("timestamp")), sum(hash(event)),
       sum(duration_s)
FROM read_parquet($events)
"""

FLOOR_ALL = """
SELECT * FROM
  (SELECT count(*), sum(hash(user_id)), sum(epoch_us("timestamp")), sum(hash(event)),
          sum(duration_s), sum(amount) FROM read_parquet($events)),
  (SELECT count(*), sum(hash(user_id)), sum(epoch_us(signed_up_at)) FROM read_parquet($users))
"""


# -- steps (each runs in its own subprocess) -------------------------------------------------


@dataclass
class Paths:
    """Where one data set and its benchmark artefacts live."""

    root: Path

    @property
    def events_dir(self) -> Path:
        return self.root / "data" / "events"

    @property
    def users(self) -> str:
        return str(self.root / "data" / "users.parquet")

    @property
    def results(self) -> Path:
        return self.root / "bench-results"

    def events(self) -> list[str]:
        return sorted(str(p) for p in self.events_dir.glob("*.parquet"))

    def project(self, which: str) -> Path:
        return self.root / (TREE_FILE if which == "tree" else "cynosure.yml")

    def warehouse(self, which: str) -> Path:
        return self.root / (TREE_WAREHOUSE if which == "tree" else ALL_WAREHOUSE)


def _duckdb() -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # weeks and days are cut in the project's zone
    con.execute("SET enable_progress_bar = false")
    return con


def _save(frame: pd.DataFrame, paths: Paths, name: str) -> None:
    paths.results.mkdir(exist_ok=True)
    out = frame.copy()
    out.index = pd.Index([str(d) for d in out.index], name="period")
    out.astype("float64").reset_index().to_parquet(paths.results / f"{name}.parquet")


def _load(paths: Paths, name: str) -> pd.DataFrame:
    return pd.read_parquet(paths.results / f"{name}.parquet").set_index("period")


def _params(paths: Paths, which: str) -> dict[str, Any]:
    if which == "tree":
        return {"events": paths.events()}
    return {"events": paths.events(), "users": paths.users}


def step_floor(paths: Paths, which: str) -> dict[str, float]:
    con = _duckdb()
    started = time.perf_counter()
    con.execute(FLOOR_TREE if which == "tree" else FLOOR_ALL, _params(paths, which)).fetchall()
    return {"total": time.perf_counter() - started}


def _run_sql(paths: Paths, which: str, query: str, name: str) -> dict[str, float]:
    con = _duckdb()
    started = time.perf_counter()
    frame = con.execute(query, _params(paths, which)).df()
    seconds = time.perf_counter() - started
    frame["period"] = pd.to_datetime(frame["period"]).dt.date
    _save(frame.set_index("period"), paths, f"{name}_{which}")
    return {"total": seconds}


def step_sql(paths: Paths, which: str) -> dict[str, float]:
    return _run_sql(paths, which, SQL_TREE if which == "tree" else SQL_ALL, "sql")


def step_sqlint(paths: Paths, which: str) -> dict[str, float]:
    return _run_sql(paths, which, SQL_TREE_INT if which == "tree" else SQL_ALL_INT, "sqlint")


def step_pandas(paths: Paths, which: str) -> dict[str, float]:
    """The tree metrics in plain pandas (vectorised numpy for the week arithmetic)."""
    started = time.perf_counter()
    # The events folder holds only the event files while this step runs.
    columns = ["user_id", "timestamp", "event", "duration_s"]
    frame = pd.read_parquet(str(paths.events_dir), columns=columns)
    read = time.perf_counter() - started
    keep = frame["user_id"].notna() & frame["timestamp"].notna()
    if not keep.all():
        frame = frame[keep]
    # Days since 1970-01-01 (a Thursday); Monday weeks start (day + 3) % 7 days earlier.
    moment = frame["timestamp"]
    if moment.dt.tz is not None:
        moment = moment.dt.tz_convert(None)  # UTC wall clock
    days = moment.to_numpy().astype("datetime64[D]").astype("int64")
    work = pd.DataFrame(
        {
            "user": pd.factorize(frame["user_id"])[0],
            "week": days - (days + 3) % 7,
            "event": frame["event"],
            "hours": frame["duration_s"] / 3600,
        }
    )
    del frame, moment, days
    played = work[work["event"] == "song_played"]
    weekly = pd.DataFrame(index=pd.RangeIndex(work.week.min(), work.week.max() + 1, 7))
    weekly["listening_hours"] = played.groupby("week")["hours"].sum()
    weekly["playlist_adds"] = work[work["event"] == "playlist_add"].groupby("week").size()
    weekly["searches"] = work[work["event"] == "search"].groupby("week").size()
    active = played[["user", "week"]].drop_duplicates().sort_values(["user", "week"])
    gap = active["week"] - active.groupby("user")["week"].shift()
    states = pd.DataFrame(
        {
            "week": active["week"],
            "new_listeners": gap.isna(),
            "retained_listeners": gap == 7,
            "resurrected_listeners": gap > 7,
        }
    )
    counts = states.groupby("week").sum()
    weekly["listeners"] = active.groupby("week").size()
    weekly = weekly.join(counts).fillna(0.0)
    weekly["hours_per_listener"] = weekly.listening_hours / weekly.listeners.where(
        weekly.listeners > 0
    )
    weekly["searches_per_listener"] = weekly.searches / weekly.listeners.where(weekly.listeners > 0)
    weekly.index = pd.Index(pd.to_datetime(weekly.index, unit="D").date, name="period")
    seconds = time.perf_counter() - started
    _save(weekly, paths, f"pandas_{which}")
    return {"total": seconds, "read": read}


def _fresh_warehouse(paths: Paths, which: str) -> None:
    base = paths.warehouse(which)
    for path in (base, base.with_name(base.name + ".wal")):
        path.unlink(missing_ok=True)


def step_cynosure(paths: Paths, which: str) -> dict[str, float]:
    """A full build: fresh warehouse, load, refresh(full=True), series("week")."""
    import cynosure

    _fresh_warehouse(paths, which)
    started = time.perf_counter()
    project = cynosure.Project.load(paths.project(which))
    loaded = time.perf_counter()
    project.refresh(full=True)
    refreshed = time.perf_counter()
    frame = project.series("week")
    done = time.perf_counter()
    project.close()
    _save(frame, paths, f"cynosure_{which}")
    return {
        "load": loaded - started,
        "refresh": refreshed - loaded,
        "series": done - refreshed,
        "total": done - loaded,
    }


def step_aggregation(paths: Paths, which: str) -> dict[str, float]:
    """The design's own floor: the rollup's entity x day aggregation, run and consumed, with
    nothing written, no change-detection state and no series.

    It runs the engine's own rollup query (the same events, measures and day arithmetic as
    `refresh(full=True)`), so it is what any build on an entity x day rollup must at least
    pay; this looks inside the engine (`Project._rollup`), like `profile_engine.py`.
    """
    import cynosure

    project = cynosure.Project.load(paths.project(which))
    rollup = project._rollup
    events = rollup._events(paths.events())
    expr = rollup.rollup_expr(events, (0, 0))  # the zone is UTC: the span is not read
    measures = [c for c in expr.columns if c not in ("entity", "day")]
    consumed = expr.aggregate(
        rows=expr.count(),
        entities=expr.entity.length().sum(),
        days=expr.day.max(),
        **{c: expr[c].cast("float64").sum() for c in measures},
    )
    started = time.perf_counter()
    project.con.execute(consumed)
    seconds = time.perf_counter() - started
    project.close()
    return {"total": seconds}


def step_incremental(paths: Paths, which: str) -> dict[str, float]:
    """Load and refresh an existing warehouse (incrementally), then the weekly series."""
    import cynosure

    started = time.perf_counter()
    project = cynosure.Project.load(paths.project(which))
    loaded = time.perf_counter()
    stats = project.refresh()
    refreshed = time.perf_counter()
    frame = project.series("week")
    done = time.perf_counter()
    project.close()
    _save(frame, paths, f"incremental_{which}")
    return {
        "load": loaded - started,
        "refresh": refreshed - loaded,
        "series": done - refreshed,
        "total": refreshed - started,
        "days_recomputed": float(stats.days_recomputed),
        "files_read": float(stats.files_read),
    }


STEPS: dict[str, Callable[[Paths, str], dict[str, float]]] = {
    "floor": step_floor,
    "sql": step_sql,
    "sqlint": step_sqlint,
    "pandas": step_pandas,
    "cynosure": step_cynosure,
    "aggregation": step_aggregation,
    "incremental": step_incremental,
}


def peak_rss_gb() -> float:
    """This process's peak resident memory in GB.

    `VmHWM` is the high-water mark of this process's own memory. (`ru_maxrss` is not: Linux
    carries it over from the parent across fork and exec, so a child would report at least
    the parent's size.)
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # not Linux: KiB-ish


def child_main(step: str, which: str, root: Path) -> None:
    baseline = peak_rss_gb()
    timings = STEPS[step](Paths(root), which)
    result = {"seconds": timings, "peak_gb": peak_rss_gb(), "baseline_gb": baseline}
    if "cynosure" in sys.modules:
        result["engine"] = str(Path(sys.modules["cynosure"].__file__ or "").parent.parent)
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# -- the parent: data, orchestration, checks, report -----------------------------------------


@dataclass
class Record:
    """Every run of one step."""

    runs: list[dict[str, float]] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)  # 1-minute load average before each run
    baselines: list[float] = field(default_factory=list)  # RSS after imports, before the work

    def best(self, part: str = "total") -> float:
        return min(run[part] for run in self.runs)

    def all(self, part: str = "total") -> list[float]:
        return [run[part] for run in self.runs]

    @property
    def peak(self) -> float:
        return max(self.peaks)


@dataclass
class Engine:
    """The copy of Cynosure's source every step imports, so that edits made to `src/` while
    the benchmark runs (others work in this repository) do not mix versions."""

    directory: Path
    commit: str
    digest: str
    dirty: bool

    @classmethod
    def snapshot(cls) -> Engine:
        directory = Path(tempfile.mkdtemp(prefix="cynosure-bench-"))
        shutil.copytree(ROOT / "src" / "cynosure", directory / "cynosure")
        digest = hashlib.sha256()
        for path in sorted((directory / "cynosure").rglob("*.py")):
            digest.update(path.relative_to(directory).as_posix().encode() + path.read_bytes())

        def git(*args: str) -> str:
            done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
            return done.stdout.strip()

        dirty = bool(git("status", "--porcelain", "--", "src"))
        return cls(directory, git("rev-parse", "--short", "HEAD"), digest.hexdigest()[:12], dirty)

    def describe(self) -> str:
        state = "with uncommitted changes in src/" if self.dirty else "src/ as committed"
        return f"commit {self.commit} ({state}; source digest {self.digest})"


ENGINE: Engine | None = None


def run_child(step: str, which: str, paths: Paths, records: dict[str, Record], key: str) -> None:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", step, which]
    command += ["--dir", str(paths.root)]
    env = dict(os.environ)
    if ENGINE is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(ENGINE.directory), *filter(None, [env.get("PYTHONPATH")])]
        )
    load = os.getloadavg()[0]
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"step {key} failed (exit {done.returncode})")
    result = json.loads(lines[-1][len(RESULT_PREFIX) :])
    record = records.setdefault(key, Record())
    record.runs.append(result["seconds"])
    record.peaks.append(result["peak_gb"])
    record.loads.append(load)
    record.baselines.append(result["baseline_gb"])
    if ENGINE is not None and result.get("engine", str(ENGINE.directory)) != str(ENGINE.directory):
        raise SystemExit(f"step {key} imported Cynosure from {result['engine']}, not the snapshot")
    shown = ", ".join(f"{k} {v:.2f}" for k, v in result["seconds"].items())
    print(f"  {key:<22} {shown}  peak {result['peak_gb']:.2f} GB  load {load:.1f}", flush=True)


def parse_size(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)M", text.strip(), flags=re.IGNORECASE)
    if not match:
        raise SystemExit(f"--events takes a size like 1M, 10M or 50M, not '{text}'")
    return round(float(match.group(1)) * USERS_PER_MILLION)


def prepare(size: str, users: int) -> tuple[Paths, dict[str, Any]]:
    """The cached data set of this size (generated when missing), and facts about it."""
    paths = Paths(DATA_ROOT / size)
    marker = paths.root / MARKER
    for name in ADDED.values():  # left over by an interrupted run
        (paths.events_dir / name).unlink(missing_ok=True)
    facts: dict[str, Any] = json.loads(marker.read_text()) if marker.exists() else {}
    if facts.get("users") != users or not paths.events():
        from cynosure.demo import generate

        print(f"Generating the demo with {users:,} users in {paths.root} ...", flush=True)
        summary = generate(paths.root, users=users, months=18, seed=7)
        facts = {
            "users": summary.users,
            "events": summary.events,
            "start": str(summary.start),
            "end": str(summary.end),
            "generate_seconds": summary.seconds,
        }
        marker.write_text(json.dumps(facts, indent=2))
    facts["parquet_mb"] = sum(Path(f).stat().st_size for f in paths.events()) / 2**20
    write_tree_project(paths)
    return paths, facts


def write_tree_project(paths: Paths) -> list[str]:
    """A copy of the demo's project file holding only the metrics its tree uses."""
    import yaml

    spec = yaml.safe_load(paths.project("all").read_text(encoding="utf-8"))
    metrics = spec["metrics"]
    words = re.compile(r"[A-Za-z_]\w*")
    wanted: set[str] = set()
    for parent, children in spec["tree"].items():
        text = " ".join(children) if isinstance(children, list) else str(children)
        wanted |= {parent, *words.findall(text)}
    pending = list(wanted)
    while pending:  # ratios and formulas pull in the metrics they use
        definition = metrics[pending.pop()]
        used = definition.get("ratio") or words.findall(str(definition.get("formula", "")))
        for name in used:
            if name in metrics and name not in wanted:
                wanted.add(name)
                pending.append(name)
    tree = {k: v for k, v in spec.items() if k not in ("guardrails", "outcomes", "targets")}
    tree.pop("interventions", None)
    tree["metrics"] = {k: v for k, v in metrics.items() if k in wanted}
    tree["warehouse"] = f"duckdb:///{TREE_WAREHOUSE}"
    text = "# Written by benchmarks/bench_engine.py: the demo's tree metrics only.\n"
    paths.project("tree").write_text(text + yaml.safe_dump(tree, sort_keys=False), "utf-8")
    return sorted(wanted)


def add_events(paths: Paths, variant: str) -> int:
    """Write one file of extra events: the last day again, one day later or 30 weeks earlier."""
    con = _duckdb()
    shift = "+ INTERVAL 1 DAY" if variant == "new_day" else f"- INTERVAL {LATE_SHIFT_DAYS} DAY"
    target = paths.events_dir / ADDED[variant]
    con.execute(
        f"""COPY (
              SELECT * REPLACE ("timestamp" {shift} AS "timestamp")
              FROM read_parquet($events)
              WHERE CAST("timestamp" AS DATE) = (
                SELECT max(CAST("timestamp" AS DATE)) FROM read_parquet($events))
              ORDER BY "timestamp"
            ) TO '{target}' (FORMAT parquet, COMPRESSION zstd)""",
        {"events": paths.events()},
    )
    return int(
        con.execute("SELECT count(*) FROM read_parquet($f)", {"f": str(target)}).fetchone()[0]
    )


def compare(reference: pd.DataFrame, engine: pd.DataFrame) -> list[str]:
    """Differences between two series frames over the reference's columns (empty: equal)."""
    problems = []
    if list(reference.index) != list(engine.index):
        problems.append(
            f"periods differ: {len(reference)} vs {len(engine)} ({reference.index[0]}.."
            f"{reference.index[-1]} vs {engine.index[0]}..{engine.index[-1]})"
        )
        return problems
    for column in reference.columns:
        if column not in engine.columns:
            problems.append(f"{column}: missing")
            continue
        a = reference[column].to_numpy(dtype="float64")
        b = engine[column].to_numpy(dtype="float64")
        if not np.allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True):
            bad = np.flatnonzero(~np.isclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True))
            first = bad[0]
            problems.append(
                f"{column}: {len(bad)} periods differ, first {reference.index[first]}: "
                f"{a[first]!r} vs {b[first]!r}"
            )
    return problems


def machine() -> dict[str, str]:
    import duckdb
    import ibis

    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": f"{mem / 2**20:.0f} GB",
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "ibis": ibis.__version__,
        "pandas": pd.__version__,
    }


def benchmark(args: argparse.Namespace) -> None:
    global ENGINE
    size = args.events.upper()
    paths, facts = prepare(size, parse_size(args.events))
    ENGINE = Engine.snapshot()
    print(f"Cynosure {ENGINE.describe()}, copied to {ENGINE.directory}", flush=True)
    try:
        measure(args, size, paths, facts)
    finally:
        shutil.rmtree(ENGINE.directory, ignore_errors=True)


def measure(args: argparse.Namespace, size: str, paths: Paths, facts: dict[str, Any]) -> None:
    repeat = args.repeat
    print(
        f"{facts['events']:,} events, {facts['users']:,} users, "
        f"{facts['parquet_mb']:.0f} MB of Parquet; repeat {repeat}",
        flush=True,
    )
    records: dict[str, Record] = {}
    plan = [("floor", "tree"), ("floor", "all"), ("sql", "tree"), ("sql", "all")]
    plan += [("sqlint", "tree"), ("sqlint", "all")]
    if not args.skip_pandas:
        plan.append(("pandas", "tree"))
    plan += [("cynosure", "tree"), ("cynosure", "all")]
    plan += [("aggregation", "tree"), ("aggregation", "all")]
    for attempt in range(repeat):
        print(f"Run {attempt + 1} of {repeat}", flush=True)
        for step, which in plan:
            run_child(step, which, paths, records, f"{step}_{which}")

    checks: dict[str, list[str]] = {}
    for which in ("tree", "all"):
        engine = _load(paths, f"cynosure_{which}")
        checks[f"sql_{which}"] = compare(_load(paths, f"sql_{which}"), engine)
        checks[f"sqlint_{which}"] = compare(_load(paths, f"sqlint_{which}"), engine)
    if not args.skip_pandas:
        checks["pandas_tree"] = compare(_load(paths, "pandas_tree"), _load(paths, "cynosure_tree"))

    # Incremental refresh of the full project, from the warehouse its last full build left.
    warehouse = paths.warehouse("all")
    backup = warehouse.with_name("bench-backup.duckdb")
    shutil.copyfile(warehouse, backup)
    added: dict[str, int] = {}
    try:
        print("Incremental refresh", flush=True)
        for _ in range(repeat):
            run_child("incremental", "all", paths, records, "incremental_nothing")
        for variant in ADDED:
            added[variant] = add_events(paths, variant)
            for _ in range(repeat):
                shutil.copyfile(backup, warehouse)
                run_child("incremental", "all", paths, records, f"incremental_{variant}")
            incremental = _load(paths, "incremental_all")
            run_child("cynosure", "all", paths, records, f"rebuild_{variant}")
            checks[f"incremental_{variant}"] = compare(_load(paths, "cynosure_all"), incremental)
            (paths.events_dir / ADDED[variant]).unlink()
            shutil.copyfile(backup, warehouse)
    finally:
        for name in ADDED.values():
            (paths.events_dir / name).unlink(missing_ok=True)
        for which in ("tree", "all"):
            _fresh_warehouse(paths, which)
        backup.unlink(missing_ok=True)

    text = report(size, facts, records, checks, added, repeat, args.note)
    print("\n" + text)
    if args.out:
        if not DOC.exists():
            DOC.write_text(DOC_HEADER, encoding="utf-8")
        with DOC.open("a", encoding="utf-8") as handle:
            handle.write("\n" + text)
        print(f"Appended to {DOC.relative_to(ROOT)}")


DOC_HEADER = """# Benchmarks

Produced by `benchmarks/bench_engine.py` (see its docstring for how to run it and what each
number means). Each section below is one run, appended with `--out`; newer runs come last.
"""


def _verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


def _fmt_runs(values: list[float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def report(
    size: str,
    facts: dict[str, Any],
    records: dict[str, Record],
    checks: dict[str, list[str]],
    added: dict[str, int],
    repeat: int,
    note: str,
) -> str:
    info = machine()
    baseline = min(x for rec in records.values() for x in rec.baselines)
    lines = [
        f"## {date.today().isoformat()}: {size} events, Cynosure "
        f"{ENGINE.commit if ENGINE else '(unknown)'}",
        "",
        f"- Machine: {info['cores']} cores ({info['cpu']}), {info['ram']} RAM; other processes "
        "may have been running (a shared 2-core machine): read ratios, not absolute seconds.",
        f"- Versions: Python {info['python']}, DuckDB {info['duckdb']}, Ibis {info['ibis']}, "
        f"pandas {info['pandas']}; Cynosure {ENGINE.describe() if ENGINE else '(unknown)'}.",
        f"- Data: the Tunewave demo, {facts['users']:,} users, {facts['events']:,} events, "
        f"{facts['start']} to {facts['end']}, {facts['parquet_mb']:.0f} MB of Parquet "
        f"(generated in {facts['generate_seconds']:.0f} s).",
        f"- Each step ran {repeat}x in its own process, interleaved; seconds are the best run, "
        "'runs' lists all. Peak RSS is the process's maximum resident memory, including the "
        f"interpreter and its imports ({baseline:.2f} GB before any work; Cynosure's own imports "
        "of Ibis come on top).",
    ]
    loads = [x for rec in records.values() for x in rec.loads]
    lines.append(
        f"- The 1-minute load average before the steps ranged {min(loads):.1f} to "
        f"{max(loads):.1f} (2.0 = both cores busy): other work shared the machine."
    )
    if note:
        lines.append(f"- {note}")
    rows = [
        "| step | seconds | runs | vs hand-written SQL | vs floor | peak RSS GB |",
        "|---|---:|---|---:|---:|---:|",
    ]

    def row(label: str, key: str, part: str, which: str | None) -> None:
        if key not in records:
            return
        rec = records[key]
        best = rec.best(part)
        vs_sql = vs_floor = ""
        if which:
            vs_sql = f"{best / records[f'sql_{which}'].best():.2f}x"
            vs_floor = f"{best / records[f'floor_{which}'].best():.2f}x"
        rows.append(
            f"| {label} | {best:.2f} | {_fmt_runs(rec.all(part))} | {vs_sql} | {vs_floor} "
            f"| {rec.peak:.2f} |"
        )

    for which, title in (("tree", "tree metrics (9)"), ("all", "all metrics (21)")):
        row(f"floor: scan the columns, {title}", f"floor_{which}", "total", which)
        row(f"hand-written DuckDB SQL, {title}", f"sql_{which}", "total", which)
        row("&nbsp;&nbsp;same, day/week by integer arithmetic", f"sqlint_{which}", "total", which)
        row(f"pandas, {title}", f"pandas_{which}", "total", which)
        row(f"**Cynosure full build, {title}**", f"cynosure_{which}", "total", which)
        row("&nbsp;&nbsp;refresh(full=True): rollup", f"cynosure_{which}", "refresh", which)
        row("&nbsp;&nbsp;series('week')", f"cynosure_{which}", "series", which)
        row("&nbsp;&nbsp;(Project.load, not in the build)", f"cynosure_{which}", "load", None)
        row(
            "the design's floor: the rollup's entity x day aggregation alone, nothing kept",
            f"aggregation_{which}",
            "total",
            which,
        )
    full = records["cynosure_all"].best()
    for variant, title in (
        ("nothing", "nothing new"),
        ("new_day", f"one new day ({added.get('new_day', 0):,} events)"),
        ("late", f"late events for an old day ({added.get('late', 0):,} events)"),
    ):
        key = f"incremental_{variant}"
        row(f"incremental, {title}: load + refresh", key, "total", None)
        row("&nbsp;&nbsp;Project.load", key, "load", None)
        row("&nbsp;&nbsp;refresh()", key, "refresh", None)
        row("&nbsp;&nbsp;then series('week')", key, "series", None)
    lines += ["", *rows, ""]

    lines.append("Targets:")
    for which in ("tree", "all"):
        build = records[f"cynosure_{which}"].best()
        sql = records[f"sql_{which}"].best()
        floor = records[f"floor_{which}"].best()
        lines.append(
            f"- {which} metrics: full build {build:.2f} s vs hand-written SQL {sql:.2f} s: "
            f"{_verdict(build < sql)} ({build / sql:.2f}x); "
            f"within 3x the floor: {_verdict(build <= 3 * floor)} "
            f"({build / floor:.2f}x the floor's {floor:.2f} s)."
        )
        if f"aggregation_{which}" in records:
            aggregation = records[f"aggregation_{which}"].best()
            series = records[f"cynosure_{which}"].best("series")
            bound = aggregation + series
            lines.append(
                f"  - the design's own floor: the entity x day aggregation alone "
                f"({aggregation:.2f} s, nothing written) plus the weekly series from the rollup "
                f"({series:.2f} s) = {bound:.2f} s = {bound / floor:.2f}x the floor, before "
                "writing the rollup or keeping any change-detection state."
            )
    for variant in ("new_day", "late"):
        rec = records[f"incremental_{variant}"]
        refresh, total = rec.best("refresh"), rec.best("total")
        lines.append(
            f"- incremental ({variant.replace('_', ' ')}) under 5% of the full build "
            f"({full:.2f} s): refresh() {refresh:.2f} s = {100 * refresh / full:.1f}%: "
            f"{_verdict(refresh < 0.05 * full)}; with Project.load, as a command pays it, "
            f"{total:.2f} s = {100 * total / full:.1f}%: {_verdict(total < 0.05 * full)}."
        )
    recomputed = {
        v: int(records[f"incremental_{v}"].runs[-1]["days_recomputed"]) for v in ("new_day", "late")
    }
    lines.append(
        f"- days of the rollup recomputed: {recomputed['new_day']} for the new day, "
        f"{recomputed['late']} for the late events (one day of events each)."
    )
    peak = max(records["cynosure_all"].peak, records["cynosure_tree"].peak)
    lines.append(
        f"- peak memory of a full build under 4 GB: {_verdict(peak < 4)} "
        f"({peak:.2f} GB){'' if size == '50M' else ' (the target is stated at 50M events)'}."
    )
    lines += ["", "Correctness checks (each reference against Cynosure's series, np.allclose):"]
    for name, problems in checks.items():
        lines.append(f"- {name}: " + ("equal" if not problems else "; ".join(problems)))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="1M", help="data size: 1M, 10M, 50M (~100/user)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each step (default 2)")
    parser.add_argument("--out", action="store_true", help="append the results to the doc")
    parser.add_argument("--skip-pandas", action="store_true", help="leave pandas out")
    parser.add_argument("--note", default="", help="a line added to the report")
    parser.add_argument("--child", nargs=2, metavar=("STEP", "METRICS"), help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child[0], args.child[1], args.dir)
    else:
        benchmark(args)


if __name__ == "__main__":
    main()
