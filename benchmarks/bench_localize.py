"""Benchmark of :func:`cynosure.localize` on 135 labelled incidents, against a naive baseline.

Run from the repository root::

    .venv/bin/python benchmarks/bench_localize.py                     # ~10 s
    .venv/bin/python benchmarks/bench_localize.py --verbose           # and every missed case
    .venv/bin/python benchmarks/bench_localize.py --markdown out.md   # also write the report

Data: ``../shared/data/rootcause/`` (see its README; read in place, never copied).

**RS** (``riskloc_rs/``): 135 incidents of a live-video service with labelled root causes. Each
case is turned into a localization problem exactly as the published benchmark does: the leaves
are the rows at the case's ``timestamp``; the expected values of a leaf are the means over the
rows with the same attribute values at the 4 previous minutes that exist (0 when none do);
good = ``cnt - value`` and total = ``cnt``; the KPI is the ratio good / total, so ``localize`` is
called with ``numerator=(good actual, good expected)`` and ``denominator=(total actual, total
expected)``. A prediction is the list of ``attr=value`` terms sorted and joined by ``&``.
Scoring: per case TP = |labels ∩ predicted|, FP = |predicted| - TP, FN = |labels| - TP (an
empty prediction misses every label); F1 = 2·ΣTP / (2·ΣTP + ΣFP + ΣFN) over all cases.
*Exact* counts the cases whose prediction equals the label set.

**Naive baseline**, run on the same leaves: the one attribute value whose return to its expected
numerator and denominator moves the KPI furthest back towards its expected value.

**Squeeze** (``squeeze_sample/``): one additive case (``real`` vs ``predict``, attribute columns
read as strings) with an injected cause named in ``injection_info.csv``.

Times cover only the call (``localize`` or the baseline), after the leaves are built: each case
runs ``--repeat`` times and keeps its fastest run; the mean and 95th percentile are over cases.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from cynosure.analysis import localize as localize_module
from cynosure.analysis.localize import localize

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = os.environ.get("CYNOSURE_REFERENCE_DATA", str(ROOT.parent / "shared" / "data"))
DATA = Path(REFERENCE) / "rootcause"
RS = DATA / "riskloc_rs"
SQUEEZE = DATA / "squeeze_sample"
HISTORY_MINUTES = 4
VALUES = ("min", "value", "cnt")
NUMERATOR = ("good_actual", "good_expected")
DENOMINATOR = ("total_actual", "total_expected")
# Published results (data README: the published benchmark code, default parameters).
PUBLISHED = {
    "RobustSpot": 0.405,
    "Adtributor": 0.274,
    "AutoRoot": 0.261,
    "R-Adtributor": 0.104,
    "Squeeze": 0.043,
    "HotSpot": 0.042,
    "RiskLoc": 0.025,
}


@dataclass(frozen=True)
class Case:
    name: str
    dimensions: list[str]
    leaves: pd.DataFrame
    labels: frozenset[str]


def element_label(element: dict[str, object]) -> str:
    """One cause element as ``attr=value`` terms, sorted and joined by ``&``."""
    return "&".join(sorted(f"{k}={v}" for k, v in element.items()))


def rs_case(name: str, timestamp: int, cause: object, directory: Path = RS) -> Case:
    """One RS incident as leaves with actual and expected good and total viewers."""
    rows = pd.read_csv(directory / f"{name}.csv", dtype=str, keep_default_na=False)
    dims = [c for c in rows.columns if c not in VALUES]
    minute = rows["min"].astype(np.int64)
    cnt = rows["cnt"].astype(float)
    rows = rows[dims].assign(good=cnt - rows["value"].astype(float), total=cnt)
    now = rows[minute == timestamp]
    before = rows[minute.isin([timestamp - 60 * k for k in range(1, HISTORY_MINUTES + 1)])]
    expected = before.groupby(dims, sort=False)[["good", "total"]].mean()
    leaves = now.merge(expected, left_on=dims, right_index=True, how="left", suffixes=("", "_e"))
    leaves = pd.DataFrame(
        {
            **{d: leaves[d].to_numpy() for d in dims},
            "good_actual": leaves["good"].to_numpy(),
            "good_expected": leaves["good_e"].fillna(0.0).to_numpy(),
            "total_actual": leaves["total"].to_numpy(),
            "total_expected": leaves["total_e"].fillna(0.0).to_numpy(),
        }
    )
    elements = cause if isinstance(cause, list) else [cause]
    return Case(name, dims, leaves, frozenset(element_label(e) for e in elements))


def rs_cases(limit: int | None = None, directory: Path = RS) -> list[Case]:
    """The RS incidents sorted by name (the first `limit` of them when given)."""
    entries = yaml.safe_load((directory / "anomaly.yaml").read_text())
    entries = sorted(entries, key=lambda e: str(e["data"]))[:limit]
    return [rs_case(str(e["data"]), int(e["timestamp"]), e["cause"], directory) for e in entries]


def run_localize(case: Case) -> list[str]:
    result = localize(case.leaves, case.dimensions, numerator=NUMERATOR, denominator=DENOMINATOR)
    return result.labels()


def naive_baseline(case: Case) -> list[str]:
    """The single attribute value whose return to expected restores the most of the KPI."""
    leaves = case.leaves
    good_a, total_a = leaves["good_actual"].sum(), leaves["total_actual"].sum()
    kpi_a = good_a / total_a
    kpi_e = leaves["good_expected"].sum() / leaves["total_expected"].sum()
    towards = 1.0 if kpi_e >= kpi_a else -1.0
    best: tuple[float, str] | None = None
    for dim in case.dimensions:
        sums = leaves.groupby(dim)[[*NUMERATOR, *DENOMINATOR]].sum()
        restored = (good_a - sums["good_actual"] + sums["good_expected"]) / (
            total_a - sums["total_actual"] + sums["total_expected"]
        )
        gain = (restored - kpi_a) * towards
        value = gain.idxmax()
        if best is None or gain[value] > best[0]:
            best = (float(gain[value]), f"{dim}={value}")
    return [] if best is None else [best[1]]


@dataclass
class Score:
    f1: float
    precision: float
    recall: float
    exact: int
    cases: int
    mean_s: float
    p95_s: float

    def row(self, name: str) -> str:
        return (
            f"| {name} | {self.f1:.3f} | {self.precision:.3f} | {self.recall:.3f} | "
            f"{self.exact} / {self.cases} | {self.mean_s * 1000:.1f} | {self.p95_s * 1000:.1f} |"
        )


def score(predictions: list[list[str]], cases: list[Case], times: list[float]) -> Score:
    tp = fp = fn = exact = 0
    for predicted, case in zip(predictions, cases, strict=True):
        hits = len(case.labels & set(predicted))
        tp += hits
        fp += len(set(predicted)) - hits
        fn += len(case.labels) - hits
        exact += set(predicted) == case.labels
    return Score(
        f1=2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
        precision=tp / (tp + fp) if tp + fp else 0.0,
        recall=tp / (tp + fn) if tp + fn else 0.0,
        exact=exact,
        cases=len(cases),
        mean_s=float(np.mean(times)),
        p95_s=float(np.percentile(times, 95)),
    )


def timed(
    method: Callable[[Case], list[str]], cases: list[Case], repeat: int
) -> tuple[list[list[str]], list[float]]:
    predictions: list[list[str]] = []
    times: list[float] = []
    for case in cases:
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            predicted = method(case)
            best = min(best, time.perf_counter() - start)
        predictions.append(predicted)
        times.append(best)
    return predictions, times


def squeeze_sample() -> tuple[str, list[str], float]:
    """The injected cause, what `localize` returns, and its time in seconds."""
    frame = next(p for p in SQUEEZE.glob("*.csv") if p.name != "injection_info.csv")
    leaves = pd.read_csv(frame, dtype=str, keep_default_na=False)
    leaves[["real", "predict"]] = leaves[["real", "predict"]].astype(float)
    dims = [c for c in leaves.columns if c not in ("real", "predict")]
    injected = pd.read_csv(SQUEEZE / "injection_info.csv", dtype=str)["set"].iloc[0]
    start = time.perf_counter()
    found = localize(leaves, dims, actual="real", expected="predict").labels()
    return injected, found, time.perf_counter() - start


def by_label_size(predictions: list[list[str]], cases: list[Case]) -> list[str]:
    """Exact matches by the number of terms in the label (one-element cases) and for the
    cases with two elements."""
    lines = []
    groups: dict[str, list[bool]] = {}
    for predicted, case in zip(predictions, cases, strict=True):
        if len(case.labels) > 1:
            key = "two elements"
        else:
            terms = next(iter(case.labels)).count("&") + 1
            key = f"one element of {terms} term{'s' if terms > 1 else ''}"
        groups.setdefault(key, []).append(set(predicted) == case.labels)
    for key in sorted(groups):
        hits = groups[key]
        lines.append(f"{key}: {sum(hits)} / {len(hits)} exact")
    return lines


def machine() -> dict[str, str]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {
        "cpu": cpu,
        "nproc": str(os.cpu_count()),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "load average (1 min)": f"{load:.2f}",
    }


def parameters() -> list[str]:
    """The one set of parameters used for every case."""
    settings = asdict(localize_module.SETTINGS)
    return [
        f"localize defaults: max_depth=3, max_causes={localize_module.MAX_CAUSES}",
        "search settings (src/cynosure/analysis/localize_search.py): "
        + ", ".join(f"{k}={v}" for k, v in settings.items()),
    ]


def report(args: argparse.Namespace) -> list[str]:
    cases = rs_cases(args.cases)
    ours, our_times = timed(run_localize, cases, args.repeat)
    naive, naive_times = timed(naive_baseline, cases, args.repeat)
    mine, base = score(ours, cases, our_times), score(naive, cases, naive_times)
    injected, found, squeeze_s = squeeze_sample()
    info = machine()
    lines = [
        f"## Root-cause localization (`localize`), {date.today().isoformat()}",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in info.items()) + ".",
        "",
        "Command: `.venv/bin/python benchmarks/bench_localize.py"
        + (f" --cases {args.cases}" if args.cases else "")
        + f" --repeat {args.repeat}`",
        "",
        f"RS incidents ({len(cases)} cases), scored as the published benchmark:",
        "",
        "| method | F1 | precision | recall | exact | mean ms/case | p95 ms/case |",
        "|---|---:|---:|---:|---:|---:|---:|",
        mine.row("**localize**"),
        base.row("naive baseline (best single value)"),
        "",
        f"F1 ratio localize / naive: {mine.f1 / base.f1:.2f}" if base.f1 else "",
        "",
        "Published F1 with default settings (data README): "
        + ", ".join(f"{k} {v:.3f}" for k, v in PUBLISHED.items())
        + ".",
        "",
        "localize, by label: " + "; ".join(by_label_size(ours, cases)) + ".",
        "",
        f"Squeeze sample: injected `{injected}`, localize returns "
        f"{', '.join(f'`{f}`' for f in found) or 'nothing'} "
        f"({'top cause' if found[:1] == [injected] else 'MISSED'}"
        f"{', the only one' if found == [injected] else ''}) in {squeeze_s * 1000:.0f} ms.",
        "",
        "Parameters:",
        "",
        *(f"- {p}" for p in parameters()),
    ]
    if args.verbose:
        lines += ["", "Missed cases (labels | localize | naive):", ""]
        for case, mine_p, naive_p in zip(cases, ours, naive, strict=True):
            if set(mine_p) != case.labels:
                lines.append(
                    f"- {case.name}: {';'.join(sorted(case.labels))} | "
                    f"{';'.join(mine_p) or '-'} | {';'.join(naive_p)}"
                )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, help="only the first N cases in sorted order")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per case (default 3)")
    parser.add_argument("--verbose", action="store_true", help="list the cases missed")
    parser.add_argument("--markdown", type=Path, help="also write the report to this file")
    args = parser.parse_args()
    if not RS.exists():
        sys.exit(f"no benchmark data at {RS}")
    lines = report(args)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text)


if __name__ == "__main__":
    main()
