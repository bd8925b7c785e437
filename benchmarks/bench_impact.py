"""Cynosure's counterfactual against R CausalImpact on the ten reference series, side by side
with Python ports run in their own virtual environments (`make bench-peers`), plus the
calibration (false alarms without an effect, power with one) and speed on two years of
daily data.

    .venv/bin/python benchmarks/bench_impact.py [--peer pycausalimpact] [--calibration 200]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import date
from pathlib import Path

import numpy as np

from cynosure.analysis.counterfactual import counterfactual

try:
    from causal_cases import Case, RAnswer, compare, load_cases, run_peer
except ImportError:  # run from the project root
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from causal_cases import Case, RAnswer, compare, load_cases, run_peer

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get("CYNOSURE_REFERENCE_DATA", str(ROOT.parent / "shared" / "data")))


def ours(cases: list) -> list[dict]:
    answers = []
    for case in cases:
        began = time.perf_counter()
        fit = counterfactual(case.y, case.x, case.n_pre, seasons=case.nseasons)
        answers.append(
            {
                "name": case.name,
                "effect": fit.average.effect,
                "lower": fit.average.interval[0],
                "upper": fit.average.interval[1],
                "p_value": fit.p_value,
                "seconds": time.perf_counter() - began,
            }
        )
    return answers


def table(label: str, cases: list, answers: list[dict]) -> list[str]:
    scores = [compare(c, a) for c, a in zip(cases, answers, strict=True)]
    lines = [f"| {label} | case | effect [95%] | R | error | verdict as R | IoU | s |"]
    for case, answer, score in zip(cases, answers, scores, strict=True):
        lines.append(
            f"| | {case.name} | {answer['effect']:.3g} [{answer['lower']:.3g}, "
            f"{answer['upper']:.3g}] | {case.r.effect:.3g} [{case.r.lower:.3g}, "
            f"{case.r.upper:.3g}] | {score['error']:.3f} | {score['verdict_ok']} | "
            f"{score['iou']:.2f} | {answer['seconds']:.2f} |"
        )
    errors = [s["error"] for s in scores if s["error"] is not None]
    ious = [s["iou"] for s in scores if s["iou"] is not None]
    times = [a["seconds"] for a in answers]
    lines.append(
        f"**{label}**: median error {statistics.median(errors):.2%} (max {max(errors):.1%}), "
        f"verdicts as R {sum(s['verdict_ok'] for s in scores)}/10, median IoU "
        f"{statistics.median(ious):.2f} (min {min(ious):.2f}), median "
        f"{statistics.median(times):.2f} s per fit"
    )
    return lines


def calibration(runs: int, wanders: list[float], priors: list[str]) -> list[str]:
    """False alarms without an effect and power with one of 2 noise sd, over `runs` series of
    a control-tracked metric whose level wanders by `wander` noise sd per step."""
    lines = []
    for wander in wanders:
        for prior in priors:
            rng = np.random.default_rng(0)
            hits = {0.0: 0, 2.0: 0}
            for i in range(runs):
                n, n_pre = 120, 90
                x = np.cumsum(rng.normal(0, 1, n)) + 50
                y = 10 + 0.8 * x + np.cumsum(rng.normal(0, wander, n)) + rng.normal(0, 1, n)
                for effect in hits:
                    shifted = y.copy()
                    shifted[n_pre:] += effect  # 2 noise standard deviations
                    fit = counterfactual(shifted, x[:, None], n_pre, seed=i, prior=prior)
                    hits[effect] += fit.significant
            lines.append(
                f"| {wander} | {prior} | {runs} | {hits[0.0] / runs:.1%} | {hits[2.0] / runs:.1%} |"
            )
    return [
        "| level wander (noise sd per step) | prior | series | significant at 0.05 without "
        "an effect | power at 2 noise sd |",
        "|---|---|---|---|---|",
        *lines,
    ]


def two_years() -> Case:
    """Two years of daily data with weekly seasonality, one control and a 5% effect."""
    rng = np.random.default_rng(1)
    n, n_pre = 730, 640
    weekly = np.tile([1.0, 1.1, 1.0, 0.9, 1.2, 1.6, 1.5], n // 7 + 1)[:n]
    x = 1000 * weekly * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    y = 0.5 * x + rng.normal(0, 10, n)
    y[n_pre:] *= 1.05
    effect = float(np.mean(y[n_pre:]) * (1 - 1 / 1.05))
    truth = RAnswer(effect, effect, effect, 0.0, 0.05, None)  # the planted effect, not R's
    return Case("two_years_daily", y, x[:, None], n_pre, 7, truth, True)


def speed(peers: list[str]) -> list[str]:
    """One impact analysis on two years of daily data: ours, then each peer on the same case."""
    case = two_years()
    began = time.perf_counter()
    fit = counterfactual(case.y, case.x, case.n_pre, seasons=7)
    lines = [
        "- two years of daily data (730 days, weekly seasonality, 1 control, planted effect "
        f"{case.r.effect:.1f}): cynosure {time.perf_counter() - began:.2f} s per fit, "
        f"effect {fit.average.effect:.1f} [{fit.average.interval[0]:.1f}, "
        f"{fit.average.interval[1]:.1f}]"
    ]
    for peer in peers:
        answers = run_peer(peer, [case])
        if answers:
            a = answers[0]
            found = "failed" if a["effect"] is None else f"effect {a['effect']:.1f}"
            lines.append(f"  - {peer} on the same case: {a['seconds']:.2f} s, {found}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--peer", action="append", default=[])
    parser.add_argument("--calibration", type=int, default=200, help="series per setting")
    parser.add_argument("--wander", type=float, action="append", help="default: 0, 0.02, 0.05")
    parser.add_argument("--prior", action="append", help="default: causalimpact and vague")
    parser.add_argument("--skip-reference", action="store_true", help="no R comparison")
    args = parser.parse_args()
    print(f"# {date.today()} on {platform.node()} ({os.cpu_count()} cores)")
    if not args.skip_reference:
        cases = load_cases(REFERENCE)
        for line in table("cynosure", cases, ours(cases)):
            print(line)
        for peer in args.peer:
            answers = run_peer(peer, cases)
            if answers is not None:
                for line in table(peer, cases, answers):
                    print(line)
    wanders = args.wander or [0.0, 0.02, 0.05]
    priors = args.prior or ["causalimpact", "vague"]
    for line in speed(args.peer) + calibration(args.calibration, wanders, priors):
        print(line)


if __name__ == "__main__":
    main()
