"""The ten reference cases with R CausalImpact answers, and runners for the Python peers.

Run from the repository root::

    .venv/bin/python benchmarks/causal_cases.py                 # load and print the ten cases
    .venv/bin/python benchmarks/causal_cases.py ROOT            # data somewhere else
    .venv/bin/python benchmarks/causal_cases.py --peer pycausalimpact --peer tfcausalimpact

``ROOT`` is the shared data folder (default ``$CYNOSURE_REFERENCE_DATA`` or
``../shared/data``); the cases are read in place from ``ROOT/causal_impact`` (see its README):

* ``r_fixtures/r_reference_{basic,covariates,strong_effect,no_effect,seasonal}.json``:
  synthetic series with R's output stored as numbers (``r_output``); relative effects there are
  already fractions (R's posterior mean of the ratio). ``r_reference_dtw.json`` is not a
  CausalImpact run and is skipped.
* ``r_comparison/``: five real series (``arma``, ``basque``, ``comparison``, ``google``,
  ``volks``) with their pre- and post-periods as given in the README, R's answers parsed from
  ``<name>/R_summary.txt`` (R's printed summary: rounded to two or three significant digits).
  Rows outside pre + post are dropped and the number of pre rows is checked.

``significant`` is R's verdict at alpha 0.05 (``p < 0.05``).

The peers (pycausalimpact, tfcausalimpact) run in their own virtual environments, made by
``benchmarks/peers/setup.sh`` (``make bench-peers``), through ``benchmarks/peers/run_peer.py``;
:func:`run_peer` sends them the cases and returns their answers, and :func:`compare` scores an
answer against R the way the data README does: error = |effect - R's| / |R's| (the absolute
difference for ``no_effect``, whose true effect is 0), the verdict at 0.05, and the IoU of the
two 95% intervals (overlap / union).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
DEFAULT_ROOT = Path(os.environ.get("CYNOSURE_REFERENCE_DATA", str(REPO.parent / "shared" / "data")))
DEFAULT_VENV_ROOT = REPO / ".venv-peers"
RUN_PEER = Path(__file__).resolve().parent / "peers" / "run_peer.py"
PEERS = ("pycausalimpact", "tfcausalimpact")
ALPHA = 0.05

FIXTURES = ("basic", "covariates", "strong_effect", "no_effect", "seasonal")
ABSOLUTE_ERROR_CASES = frozenset({"no_effect"})  # true effect 0: score the absolute difference


@dataclass(frozen=True)
class RAnswer:
    """What R's CausalImpact said about one case."""

    effect: float  # average absolute effect over the post-period
    lower: float  # its 95% interval
    upper: float
    p_value: float  # posterior tail-area probability
    relative: float | None  # relative average effect as a fraction (0.0074 for 0.74%)
    cumulative: float | None  # cumulative absolute effect over the post-period


@dataclass(frozen=True, eq=False)
class Case:
    """One series with its pre-/post-period split and R's answer.

    Compared and hashed by identity (``eq=False``): its fields hold numpy arrays.
    """

    name: str
    y: np.ndarray  # the response, float, whole series (pre then post)
    x: np.ndarray | None  # controls, shape (n, k), None when there are none
    n_pre: int  # rows 0..n_pre-1 are the pre-period, the rest the post-period
    nseasons: int | None  # seasonal period (7 for `seasonal`), else None
    r: RAnswer
    significant: bool  # R's verdict: p < 0.05

    @property
    def n_post(self) -> int:
        return len(self.y) - self.n_pre


@dataclass(frozen=True)
class _Comparison:
    """How one R-comparison CSV is read: its columns and its periods (inclusive bounds)."""

    name: str
    csv: str
    y: str
    x: tuple[str, ...]
    date: str | None  # date column; None: periods are 1-based row numbers
    pre: tuple[str | int, str | int]
    post: tuple[str | int, str | int]
    sep: str = ","


# The table of data/README.md, section causal_impact/r_comparison.
COMPARISONS = (
    _Comparison("arma", "arma_data.csv", "y", ("X",), None, (1, 70), (71, 100)),
    _Comparison(
        "basque", "basque.csv", "Basque", ("another",), "date", ("1955", "1975"), ("1976", "1997")
    ),
    _Comparison(
        "comparison",
        "comparison_data.csv",
        "CHANGED",
        ("NOT_CHANGED_1", "NOT_CHANGED_2", "NOT_CHANGED_3"),
        "DATE",
        ("2019-04-16", "2019-07-14"),
        ("2019-07-15", "2019-08-01"),
    ),
    _Comparison(
        "google",
        "google_data.csv",
        "y",
        ("x1", "x2"),
        "date",
        ("2020-01-01", "2020-03-01"),
        ("2020-03-02", "2020-03-31"),
    ),
    _Comparison(
        "volks",
        "volks_data.csv",
        "VolksWagen",
        ("BMW", "Allianz"),
        "Date",
        ("2011-01-02", "2015-09-13"),
        ("2015-09-20", "2017-03-19"),
        sep=" ",
    ),
)
# Pre/post row counts implied by the periods (checked when loading).
EXPECTED_ROWS = {
    "arma": (70, 30),
    "basque": (21, 22),
    "comparison": (90, 18),
    "google": (61, 30),
    "volks": (246, 79),
}


# --------------------------------------------------------------------------------------------
# Loading


def _require(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"causal impact reference data missing: {path}")
    return path


def _load_fixture(folder: Path, name: str) -> Case:
    path = _require(folder / f"r_reference_{name}.json")
    raw = json.loads(path.read_text())
    y = np.asarray(raw["data"]["y"], dtype=float)
    controls = raw["data"].get("x") or {}
    x = (
        np.column_stack([np.asarray(v, dtype=float) for v in controls.values()])
        if controls
        else None
    )
    if x is not None and x.shape[0] != len(y):
        raise ValueError(f"{path}: controls have {x.shape[0]} rows, the response {len(y)}")
    nseasons = raw.get("model_args", {}).get("nseasons")
    out = raw["r_output"]
    r = RAnswer(
        effect=float(out["point_effect_mean"]),
        lower=float(out["ci_lower"]),
        upper=float(out["ci_upper"]),
        p_value=float(out["p_value"]),
        relative=_opt_float(out.get("relative_effect_mean")),
        cumulative=_opt_float(out.get("cumulative_effect_total")),
    )
    n_pre = int(raw["n_pre"])
    if not 0 < n_pre < len(y):
        raise ValueError(f"{path}: n_pre={n_pre} outside 1..{len(y) - 1}")
    return Case(name, y, x, n_pre, int(nseasons) if nseasons else None, r, r.p_value < ALPHA)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


_NUMBER = r"-?[\d.]+"


def parse_r_summary(text: str) -> RAnswer:
    """R's printed ``summary(impact)``: the average column of the absolute and relative effects.

    Reads the ``Absolute effect (s.d.)`` row (average, cumulative), the ``95% CI`` row under it
    (average interval), the ``Relative effect (s.d.)`` row (average, in %) and ``Posterior
    tail-area probability p``.
    """
    lines = [line.strip() for line in text.splitlines()]

    def row(label: str) -> tuple[int, list[str]]:
        for i, line in enumerate(lines):
            if line.startswith(label):
                return i, re.findall(rf"\[?({_NUMBER})%?\]?", line[len(label) :])
        raise ValueError(f"R summary has no {label!r} row")

    i, absolute = row("Absolute effect (s.d.)")  # average (sd) cumulative (sd)
    ci = re.findall(rf"\[({_NUMBER}),\s*({_NUMBER})\]", lines[i + 1])
    if not lines[i + 1].startswith("95% CI") or not ci:
        raise ValueError("R summary: no 95% CI row under 'Absolute effect'")
    _, relative = row("Relative effect (s.d.)")
    p_match = re.search(rf"Posterior tail-area probability p:\s*({_NUMBER})", text)
    if p_match is None:
        raise ValueError("R summary has no 'Posterior tail-area probability p'")
    return RAnswer(
        effect=float(absolute[0]),
        lower=float(ci[0][0]),
        upper=float(ci[0][1]),
        p_value=float(p_match.group(1)),
        relative=float(relative[0]) / 100.0,
        cumulative=float(absolute[2]),
    )


def _period_mask(dates: pd.Series, bounds: tuple[str | int, str | int]) -> pd.Series:
    """Rows whose date lies in the inclusive period; a bare year covers the whole year."""
    start, end = (str(b) for b in bounds)
    lo = pd.Timestamp(start)
    hi = pd.Timestamp(f"{end}-12-31") if re.fullmatch(r"\d{4}", end) else pd.Timestamp(end)
    return (dates >= lo) & (dates <= hi)


def _load_comparison(folder: Path, spec: _Comparison) -> Case:
    frame = pd.read_csv(_require(folder / spec.csv), sep=spec.sep)
    if spec.date is None:  # periods are 1-based row numbers
        rows = pd.Series(np.arange(1, len(frame) + 1), index=frame.index)
        pre = (rows >= int(spec.pre[0])) & (rows <= int(spec.pre[1]))
        post = (rows >= int(spec.post[0])) & (rows <= int(spec.post[1]))
    else:
        dates = pd.to_datetime(frame[spec.date])
        if not dates.is_monotonic_increasing or dates.duplicated().any():
            raise ValueError(f"{spec.csv}: dates are not strictly increasing")
        pre = _period_mask(dates, spec.pre)
        post = _period_mask(dates, spec.post)
    if (pre & post).any():
        raise ValueError(f"{spec.csv}: pre- and post-period overlap")
    pre_rows = np.flatnonzero(pre.to_numpy())
    post_rows = np.flatnonzero(post.to_numpy())
    if len(pre_rows) == 0 or len(post_rows) == 0:
        raise ValueError(f"{spec.csv}: empty pre- or post-period")
    contiguous = np.arange(pre_rows[0], post_rows[-1] + 1)
    if not np.array_equal(np.concatenate([pre_rows, post_rows]), contiguous):
        raise ValueError(f"{spec.csv}: the post-period does not directly follow the pre-period")
    kept = frame[pre | post]
    n_pre = int(pre.sum())
    n_post = int(post.sum())
    if (n_pre, n_post) != EXPECTED_ROWS[spec.name]:
        raise ValueError(
            f"{spec.csv}: {n_pre} pre and {n_post} post rows, expected {EXPECTED_ROWS[spec.name]}"
        )
    y = kept[spec.y].to_numpy(dtype=float)
    x = kept[list(spec.x)].to_numpy(dtype=float) if spec.x else None
    if np.isnan(y).any() or (x is not None and np.isnan(x).any()):
        raise ValueError(f"{spec.csv}: missing values")
    summary = _require(folder / spec.name / "R_summary.txt").read_text()
    r = parse_r_summary(summary)
    return Case(spec.name, y, x, n_pre, None, r, r.p_value < ALPHA)


def load_cases(root: Path) -> list[Case]:
    """The ten reference cases, fixtures first, read from the shared data folder ``root``.

    Raises FileNotFoundError naming the first missing file or folder.
    """
    base = _require(Path(root) / "causal_impact")
    fixtures = _require(base / "r_fixtures")
    comparison = _require(base / "r_comparison")
    cases = [_load_fixture(fixtures, name) for name in FIXTURES]
    cases += [_load_comparison(comparison, spec) for spec in COMPARISONS]
    return cases


# --------------------------------------------------------------------------------------------
# Peers


def peer_payload(cases: list[Case]) -> list[dict[str, Any]]:
    """The cases as the JSON that ``peers/run_peer.py`` reads on stdin."""
    return [
        {
            "name": c.name,
            "y": c.y.tolist(),
            "x": None if c.x is None else c.x.tolist(),
            "n_pre": c.n_pre,
            "nseasons": c.nseasons,
        }
        for c in cases
    ]


def run_peer(
    peer: str, cases: list[Case], venv_root: Path = DEFAULT_VENV_ROOT, timeout: float | None = None
) -> list[dict[str, Any]] | None:
    """Run ``peer`` on ``cases`` in its own venv (``venv_root/peer``); None when it is missing.

    Returns ``run_peer.py``'s answers: one dict per case, ``{name, effect, lower, upper,
    p_value, relative, seconds, error}``. The peer's progress goes to this process's stderr.
    """
    if peer not in PEERS:
        raise ValueError(f"unknown peer {peer!r}; expected one of {', '.join(PEERS)}")
    python = Path(venv_root) / peer / "bin" / "python"
    if not python.exists():
        print(
            f"note: no venv for {peer} at {python.parent.parent}; "
            f"run `benchmarks/peers/setup.sh {peer}` (or `make bench-peers`)",
            file=sys.stderr,
        )
        return None
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(python), str(RUN_PEER), "--peer", peer],
        input=json.dumps(peer_payload(cases)),
        stdout=subprocess.PIPE,
        stderr=None,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{peer}: run_peer.py exited with {done.returncode}")
    answers: list[dict[str, Any]] = json.loads(done.stdout)
    return answers


# --------------------------------------------------------------------------------------------
# Scoring


def interval_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Overlap of two intervals divided by their union (0 when disjoint)."""
    overlap = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return overlap / union if union > 0 else float(a == b)


def compare(case: Case, answer: dict[str, Any]) -> dict[str, Any]:
    """Score one answer (``effect``, ``lower``, ``upper``, ``p_value``) against R's."""
    if answer.get("error") or answer.get("effect") is None:
        return {"name": case.name, "error": None, "verdict_ok": False, "iou": None}
    diff = abs(float(answer["effect"]) - case.r.effect)
    error = diff if case.name in ABSOLUTE_ERROR_CASES else diff / abs(case.r.effect)
    p = answer.get("p_value")
    verdict_ok = p is not None and (float(p) < ALPHA) == case.significant
    iou = interval_iou(
        (float(answer["lower"]), float(answer["upper"])), (case.r.lower, case.r.upper)
    )
    return {"name": case.name, "error": error, "verdict_ok": verdict_ok, "iou": iou}


# --------------------------------------------------------------------------------------------
# Command line


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def print_cases(cases: list[Case]) -> None:
    print(
        f"{'case':<14}{'n':>5}{'pre':>5}{'post':>5}{'k':>3}{'seas':>5}  "
        f"{'R effect [95%]':<28}{'rel':>9}{'cumul':>10}{'p':>9}  sig"
    )
    for c in cases:
        k = 0 if c.x is None else c.x.shape[1]
        interval = f"{_fmt(c.r.effect)} [{_fmt(c.r.lower)}, {_fmt(c.r.upper)}]"
        relative = "-" if c.r.relative is None else f"{100 * c.r.relative:.3g}%"
        print(
            f"{c.name:<14}{len(c.y):>5}{c.n_pre:>5}{c.n_post:>5}{k:>3}{_fmt(c.nseasons):>5}  "
            f"{interval:<28}{relative:>9}{_fmt(c.r.cumulative, 6):>11}{_fmt(c.r.p_value, 3):>9}"
            f"  {'yes' if c.significant else 'no'}"
        )


def print_peer(peer: str, cases: list[Case], answers: list[dict[str, Any]]) -> None:
    print(f"\n{peer}")
    print(
        f"{'case':<14}{'effect [95%]':<30}{'p':>8}{'sec':>8}  "
        f"{'R effect [95%]':<28}{'R p':>8}{'err':>8}{'verdict':>8}{'IoU':>6}"
    )
    scores = []
    by_name = {a.get("name"): a for a in answers}
    for c in cases:
        a = by_name.get(c.name, {"error": "no answer"})
        s = compare(c, a)
        scores.append((s, a))
        r_interval = f"{_fmt(c.r.effect)} [{_fmt(c.r.lower)}, {_fmt(c.r.upper)}]"
        if a.get("error"):
            print(f"{c.name:<14}ERROR {a['error']}")
            continue
        interval = f"{_fmt(a['effect'])} [{_fmt(a['lower'])}, {_fmt(a['upper'])}]"
        err = f"{s['error']:.3f}" if c.name in ABSOLUTE_ERROR_CASES else f"{100 * s['error']:.1f}%"
        print(
            f"{c.name:<14}{interval:<30}{_fmt(a['p_value'], 3):>8}{a['seconds']:>8.2f}  "
            f"{r_interval:<28}{_fmt(c.r.p_value, 3):>8}{err:>8}"
            f"{'ok' if s['verdict_ok'] else 'WRONG':>8}{s['iou']:>6.2f}"
        )
    ok = [(s, a) for s, a in scores if s["error"] is not None]
    if ok:
        errors = [s["error"] for s, _ in ok]
        ious = [s["iou"] for s, _ in ok]
        seconds = [a["seconds"] for _, a in ok]
        print(
            f"median error {100 * statistics.median(errors):.1f}% (max {100 * max(errors):.0f}%), "
            f"verdicts as R {sum(s['verdict_ok'] for s, _ in scores)}/{len(cases)}, "
            f"median IoU {statistics.median(ious):.2f} (min {min(ious):.2f}), "
            f"median time {statistics.median(seconds):.2f} s"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the ten CausalImpact reference cases.")
    parser.add_argument("root", nargs="?", type=Path, default=DEFAULT_ROOT, help="shared data dir")
    parser.add_argument("--peer", action="append", choices=PEERS, default=[], help="also run")
    parser.add_argument("--venv-root", type=Path, default=DEFAULT_VENV_ROOT)
    parser.add_argument("--only", nargs="*", help="case names to run the peers on")
    args = parser.parse_args(argv)

    cases = load_cases(args.root)
    print_cases(cases)
    chosen = [c for c in cases if not args.only or c.name in args.only]
    for peer in args.peer:
        answers = run_peer(peer, chosen, args.venv_root)
        if answers is not None:
            print_peer(peer, chosen, answers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
