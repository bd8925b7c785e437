"""Run one CausalImpact peer on cases read from stdin; write its answers on stdout as JSON.

This script runs INSIDE a peer's own virtual environment (made by ``benchmarks/peers/setup.sh``)
and imports nothing from Cynosure: it only needs the peer, numpy and pandas. It is normally
called by :func:`causal_cases.run_peer`; by hand::

    .venv-peers/pycausalimpact/bin/python benchmarks/peers/run_peer.py \
        --peer pycausalimpact < cases.json > answers.json

Input: a JSON list of cases ``{"name", "y", "x", "n_pre", "nseasons"}``, where ``y`` is the
whole response (pre then post), ``x`` the controls as a list of rows (or null), rows
``0..n_pre-1`` the pre-period and ``nseasons`` a seasonal period (or null).

Output: a JSON list, one object per case and in the same order, ``{"name", "effect", "lower",
"upper", "p_value", "relative", "seconds", "error"}``: the average absolute effect over the
post-period, its 95% interval, the peer's tail-area p value, the relative average effect as a
fraction, the wall time of the fit and inference (the ``CausalImpact(...)`` call) and, when a
case failed, the error as a string (the numbers are then null). One failing case does not stop
the others.

Each peer runs with its default settings (alpha 0.05, its default prior level sd and, for
tfcausalimpact, its default variational-inference fit); the only option passed is the seasonal
one when a case has ``nseasons``. Both peers draw random numbers (simulations, the VI fit); they
are seeded with ``--seed`` before every case so that a run is repeatable.

Both peers put their results in ``summary_data`` (a DataFrame with index ``abs_effect``,
``abs_effect_lower``, ``abs_effect_upper``, ``rel_effect``... and columns ``average`` and
``cumulative``) and their p value in ``p_value``: that is what is read here.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import traceback
import warnings
from typing import Any

PEERS = ("pycausalimpact", "tfcausalimpact")


def _float_or_none(value: Any) -> float | None:
    """A finite float, or None (JSON has no NaN)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _frame(case: dict[str, Any]) -> Any:
    """The peers' input: a DataFrame with the response first and the controls after it."""
    import numpy as np
    import pandas as pd

    y = np.asarray(case["y"], dtype=float)
    columns = {"y": y}
    if case.get("x"):
        x = np.asarray(case["x"], dtype=float).reshape(len(y), -1)
        for j in range(x.shape[1]):
            columns[f"x{j + 1}"] = x[:, j]
    return pd.DataFrame(columns)


def _fit(peer: str, case: dict[str, Any], seed: int) -> Any:
    """Build (and so fit) the peer's ``CausalImpact`` object on one case."""
    import numpy as np
    from causalimpact import CausalImpact  # both peers install the module `causalimpact`

    data = _frame(case)
    n_pre = int(case["n_pre"])
    pre_period = [0, n_pre - 1]  # both peers take inclusive integer bounds
    post_period = [n_pre, len(data) - 1]
    nseasons = case.get("nseasons")
    np.random.seed(seed)
    if peer == "pycausalimpact":
        kwargs: dict[str, Any] = {}
        if nseasons:
            kwargs["nseasons"] = [{"period": int(nseasons)}]
        return CausalImpact(data, pre_period, post_period, alpha=0.05, **kwargs)
    import tensorflow as tf

    tf.random.set_seed(seed)
    model_args: dict[str, Any] = {}
    if nseasons:
        model_args["nseasons"] = int(nseasons)
    return CausalImpact(data, pre_period, post_period, model_args=model_args, alpha=0.05)


def run_case(peer: str, case: dict[str, Any], seed: int) -> dict[str, Any]:
    """One case's answer; a failure becomes ``error`` with null numbers."""
    answer: dict[str, Any] = {
        "name": case.get("name"),
        "effect": None,
        "lower": None,
        "upper": None,
        "p_value": None,
        "relative": None,
        "seconds": None,
        "error": None,
    }
    start = time.perf_counter()
    try:
        impact = _fit(peer, case, seed)
        answer["seconds"] = time.perf_counter() - start
        summary = impact.summary_data["average"]
        answer["effect"] = _float_or_none(summary["abs_effect"])
        answer["lower"] = _float_or_none(summary["abs_effect_lower"])
        answer["upper"] = _float_or_none(summary["abs_effect_upper"])
        answer["relative"] = _float_or_none(summary["rel_effect"])
        answer["p_value"] = _float_or_none(impact.p_value)
    except Exception as exc:  # one failing case must not stop the run
        answer["seconds"] = time.perf_counter() - start
        answer["error"] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
    return answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", choices=PEERS, required=True)
    parser.add_argument("--seed", type=int, default=0, help="seed set before each case")
    args = parser.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported
    warnings.filterwarnings("ignore")  # both peers warn a lot about deprecated APIs
    cases = json.load(sys.stdin)
    import causalimpact  # noqa: F401  # imported once up front so no fit's time includes it

    answers = []
    for case in cases:
        answer = run_case(args.peer, case, args.seed)
        status = answer["error"] or f"{answer['seconds']:.2f} s"
        print(f"{args.peer}: {case.get('name')}: {status}", file=sys.stderr, flush=True)
        answers.append(answer)
    json.dump(answers, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
