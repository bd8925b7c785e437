"""localize finds causes planted in synthetic cubes (and not their parents), splits a ratio's
change exactly into rate and mix, finds the injected cause of the Squeeze sample and keeps its
measured accuracy on the labelled RS incidents."""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cynosure import DataError, Localization, localize

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks" / "bench_localize.py"
# The shared reference data sit next to the checkout; CYNOSURE_REFERENCE_DATA points elsewhere.
REFERENCE = os.environ.get("CYNOSURE_REFERENCE_DATA", str(ROOT.parent / "shared" / "data"))
DATA = Path(REFERENCE) / "rootcause"
RATIO = {"numerator": ("num_a", "num_e"), "denominator": ("den_a", "den_e")}
DIMENSIONS = {
    "platform": ["android", "ios", "web"],
    "country": ["us", "de", "fr", "br", "in", "jp"],
    "channel": ["organic", "paid", "email", "social"],
    "app_version": ["4.0.0", "4.1.0", "4.2.0"],
    "plan": ["free", "family", "premium"],
}


def cube(dimensions: int) -> tuple[pd.DataFrame, list[str]]:
    """Every combination of the first `dimensions` dimensions, one row each."""
    names = list(DIMENSIONS)[:dimensions]
    grid = itertools.product(*(DIMENSIONS[n] for n in names))
    return pd.DataFrame(list(grid), columns=names), names


def additive(seed: int, dimensions: int, noise: float = 0.05) -> tuple[pd.DataFrame, list[str]]:
    """A cube with expected values and actual = expected times noise around 1."""
    rng = np.random.default_rng(seed)
    frame, names = cube(dimensions)
    frame["expected"] = rng.gamma(2.0, 100.0, len(frame))
    frame["actual"] = frame["expected"] * rng.normal(1.0, noise, len(frame))
    return frame, names


def ratio(
    seed: int, dimensions: int, factor: np.ndarray | float = 1.0, users: int = 20_000
) -> tuple[pd.DataFrame, list[str]]:
    """A conversion-rate cube: Poisson users, binomial conversions at each leaf's own rate,
    the actual rate multiplied by `factor`."""
    rng = np.random.default_rng(seed)
    frame, names = cube(dimensions)
    rate = rng.uniform(0.05, 0.15, len(frame))
    frame["den_e"] = rng.poisson(users, len(frame)).astype(float)
    frame["den_a"] = rng.poisson(users, len(frame)).astype(float)
    frame["num_e"] = rng.binomial(frame["den_e"].astype(int), rate).astype(float)
    actual_rate = np.clip(rate * np.asarray(factor, dtype=float), 0, 1)
    frame["num_a"] = rng.binomial(frame["den_a"].astype(int), actual_rate).astype(float)
    return frame, names


# -- planted causes ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_a_single_value_drop_is_the_only_cause(seed: int) -> None:
    frame, names = additive(seed, dimensions=3 + seed % 3)
    frame.loc[frame["country"] == "fr", "actual"] *= 0.7

    result = localize(frame, names)

    assert result.labels() == ["country=fr"]
    cause = result.causes[0]
    fr = frame[frame["country"] == "fr"]
    assert cause.change == pytest.approx(fr["actual"].sum() - fr["expected"].sum())
    assert cause.effect == "size"
    assert result.explained_share == pytest.approx(cause.change / result.change)


@pytest.mark.parametrize("seed", range(6))
def test_a_single_value_rate_drop_in_a_ratio(seed: int) -> None:
    frame, names = cube(3 + seed % 3)
    factor = np.where(frame["channel"] == "email", 0.6, 1.0)
    frame, names = ratio(seed, 3 + seed % 3, factor)

    result = localize(frame, names, **RATIO)

    assert result.labels() == ["channel=email"]
    assert result.causes[0].effect == "rate"


@pytest.mark.parametrize("seed", range(6))
def test_a_combination_is_returned_not_its_parents(seed: int) -> None:
    """Android users on 4.2.0 drop; android on other versions and 4.2.0 elsewhere do not."""
    frame, names = additive(seed, dimensions=4 + seed % 2)
    planted = (frame["platform"] == "android") & (frame["app_version"] == "4.2.0")
    frame.loc[planted, "actual"] *= 0.6

    result = localize(frame, names)

    assert result.labels() == ["app_version=4.2.0&platform=android"]
    assert result.causes[0].segment == {"platform": "android", "app_version": "4.2.0"}


@pytest.mark.parametrize("seed", range(6))
def test_a_combination_in_a_ratio_with_binomial_noise(seed: int) -> None:
    frame, _ = cube(3 + seed % 3)
    planted = (frame["platform"] == "android") & (frame["country"] == "br")
    frame, names = ratio(seed, 3 + seed % 3, np.where(planted, 0.6, 1.0))

    result = localize(frame, names, **RATIO)

    assert result.labels() == ["country=br&platform=android"]


@pytest.mark.parametrize("seed", range(4))
def test_a_combination_against_a_version_migration(seed: int) -> None:
    """Users move from old versions to 4.2.0 everywhere; android on 4.2.0 breaks. Android's
    other versions fall with the migration, as they do on every platform, so the combination
    is reported, not android as a whole."""
    frame, names = additive(seed, dimensions=4, noise=0.03)
    frame["actual"] *= frame["app_version"].map({"4.0.0": 0.6, "4.1.0": 0.8, "4.2.0": 1.3})
    planted = (frame["platform"] == "android") & (frame["app_version"] == "4.2.0")
    frame.loc[planted, "actual"] *= 0.4

    labels = localize(frame, names).labels()

    assert "app_version=4.2.0&platform=android" in labels
    assert "platform=android" not in labels


@pytest.mark.parametrize("seed", range(4))
def test_uniform_growth_except_one_segment(seed: int) -> None:
    """Everything grows 5% except Brazil, which drops: only Brazil is blamed; the rest grew,
    so Brazil accounts for more than the whole (net) change."""
    frame, names = additive(seed, dimensions=4, noise=0.02)
    frame["actual"] = frame["actual"] * 1.05
    frame.loc[frame["country"] == "br", "actual"] = frame["expected"] * 0.6

    result = localize(frame, names)

    assert result.change is not None and result.change < 0
    assert result.labels() == ["country=br"]
    assert result.explained_share is not None and result.explained_share > 1


@pytest.mark.parametrize("seed", range(4))
def test_a_shift_across_the_board_is_not_blamed_on_a_segment(seed: int) -> None:
    frame, names = additive(seed, dimensions=4, noise=0.02)
    frame["actual"] = frame["actual"] * 1.05

    result = localize(frame, names)

    assert result.labels() == []
    assert "spread across the leaves" in " ".join(result.summary())


@pytest.mark.parametrize("seed", range(4))
def test_a_pure_mix_shift(seed: int) -> None:
    """Web (the lowest rate) doubles its users; no segment's rate changes."""
    rng = np.random.default_rng(seed)
    frame, names = cube(4)
    rate = frame["platform"].map({"android": 0.30, "ios": 0.35, "web": 0.10}).to_numpy()
    frame["den_e"] = rng.poisson(5_000, len(frame)).astype(float)
    frame["den_a"] = frame["den_e"] * np.where(frame["platform"] == "web", 2.0, 1.0)
    frame["num_e"] = frame["den_e"] * rate
    frame["num_a"] = frame["den_a"] * rate

    result = localize(frame, names, **RATIO)

    assert result.labels() == ["platform=web"]
    top = result.causes[0]
    assert top.effect == "mix"
    assert top.rate_effect == pytest.approx(0.0, abs=1e-12)
    assert top.mix_effect == pytest.approx(result.change)
    assert top.actual == pytest.approx(0.10) and top.expected == pytest.approx(0.10)


@pytest.mark.parametrize("seed", range(4))
def test_a_pure_rate_drop(seed: int) -> None:
    frame, _ = cube(4)
    frame, names = ratio(seed, 4, np.where(frame["channel"] == "paid", 0.7, 1.0))
    frame["den_a"] = frame["den_e"]  # sizes unchanged: nothing for mix to explain
    frame["num_a"] = np.minimum(frame["num_a"], frame["den_a"])

    result = localize(frame, names, **RATIO)

    assert result.labels() == ["channel=paid"]
    top = result.causes[0]
    assert top.effect == "rate"
    assert abs(top.mix_effect or 0.0) < 0.05 * abs(top.rate_effect or 0.0)


# -- the rate and mix split ----------------------------------------------------------------

counts = st.integers(min_value=0, max_value=500)


@st.composite
def ratio_leaves(draw: st.DrawFn) -> pd.DataFrame:
    """Two or three dimensions of up to three values, random counts (zeros included: leaves
    absent from a period, segments without a denominator), and one random segment whose
    success rate collapses so there is a cause to measure."""
    sizes = draw(st.lists(st.integers(1, 3), min_size=2, max_size=3))
    names = [f"d{i}" for i in range(len(sizes))]
    grid = list(itertools.product(*(range(k) for k in sizes)))
    frame = pd.DataFrame(grid, columns=names).astype(str)
    n = len(frame)
    den_e = np.array(draw(st.lists(counts, min_size=n, max_size=n)), dtype=float)
    den_a = np.array(draw(st.lists(counts, min_size=n, max_size=n)), dtype=float)
    share_e = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    share_a = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    hit = frame[names[0]] == draw(st.sampled_from(sorted(set(frame[names[0]]))))
    frame["den_e"], frame["den_a"] = den_e + 50, den_a
    frame["num_e"] = np.floor((den_e + 50) * share_e)
    frame["num_a"] = np.floor(den_a * np.where(hit, share_a * 0.1, share_a))
    return frame


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(ratio_leaves())
def test_rate_and_mix_add_up_to_each_cause_and_to_the_total(frame: pd.DataFrame) -> None:
    dims = [c for c in frame.columns if c[1:].isdigit()]
    result = localize(frame, dims, **RATIO)
    if result.change is None:
        return
    r_a = frame["num_a"].sum() / frame["den_a"].sum()
    r_e = frame["num_e"].sum() / frame["den_e"].sum()
    assert result.change == pytest.approx(r_a - r_e, abs=1e-12)
    for cause in result.causes:
        assert cause.rate_effect is not None and cause.mix_effect is not None
        assert cause.rate_effect + cause.mix_effect == cause.change  # exactly
        # Independently: the segment's part plus its complement's rate effect is the change.
        inside = np.logical_and.reduce([frame[k] == v for k, v in cause.segment.items()])
        rest = frame[~inside]
        w_a = rest["den_a"].sum() / frame["den_a"].sum()
        w_e = rest["den_e"].sum() / frame["den_e"].sum()
        rc_a = rest["num_a"].sum() / rest["den_a"].sum() if rest["den_a"].sum() else None
        rc_e = rest["num_e"].sum() / rest["den_e"].sum() if rest["den_e"].sum() else None
        rc_a = rc_e if rc_a is None else rc_a
        rc_e = rc_a if rc_e is None else rc_e
        rest_rate = (w_a + w_e) / 2 * ((rc_a or 0.0) - (rc_e or 0.0))
        assert cause.change + rest_rate == pytest.approx(result.change, abs=1e-12)
        assert cause.effect == (
            "rate" if abs(cause.rate_effect) >= abs(cause.mix_effect) else "mix"
        )


@settings(max_examples=100, deadline=None)
@given(ratio_leaves())
def test_additive_causes_are_disjoint_and_add_up(frame: pd.DataFrame) -> None:
    dims = [c for c in frame.columns if c[1:].isdigit()]
    result = localize(frame, dims, actual="num_a", expected="num_e")
    carries = (frame["num_a"] != 0) | (frame["num_e"] != 0)
    masks = [
        np.logical_and.reduce([frame[k] == v for k, v in c.segment.items()]) for c in result.causes
    ]
    if masks:  # two causes may share only leaves without any value
        assert (np.sum(masks, axis=0)[carries] <= 1).all()
        assert result.change
        total = sum(c.change for c in result.causes)
        assert result.explained_share == pytest.approx(total / result.change)


# -- reference data ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    if not (DATA / "riskloc_rs" / "anomaly.yaml").exists():
        pytest.skip(f"no reference data at {DATA}")
    spec = importlib.util.spec_from_file_location("bench_localize", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_squeeze_sample_returns_its_injected_cause(bench: ModuleType) -> None:
    injected, found, _ = bench.squeeze_sample()
    assert injected == "logstream_isp=ALIBABA"
    assert found == [injected]


def test_rs_first_30_cases(bench: ModuleType) -> None:
    """The first 30 incidents in sorted order, scored as the published benchmark. Measured
    when written: F1 0.69 (21 exact); the naive single-value baseline scores 0.49 there."""
    cases = bench.rs_cases(limit=30)
    ours = [bench.run_localize(case) for case in cases]
    naive = [bench.naive_baseline(case) for case in cases]
    zeros = [0.0] * len(cases)
    mine, base = bench.score(ours, cases, zeros), bench.score(naive, cases, zeros)
    assert mine.f1 >= 0.6
    assert mine.f1 >= base.f1 + 0.1


# -- edge cases and contract ---------------------------------------------------------------


def test_no_change_gives_no_causes() -> None:
    frame, names = additive(0, dimensions=3)
    frame["actual"] = frame["expected"]
    result = localize(frame, names)
    assert result.change == 0 and result.causes == [] and result.explained_share is None
    assert "no change" in " ".join(result.summary())


def test_empty_frames() -> None:
    values = ["actual", "expected", "num_a", "num_e", "den_a", "den_e"]
    frame = pd.DataFrame({"platform": pd.Series([], dtype=str)})
    frame[values] = np.zeros((0, len(values)))
    additive_result = localize(frame, ["platform"])
    assert additive_result.change == 0 and additive_result.causes == []
    ratio_result = localize(frame, ["platform"], **RATIO)
    assert ratio_result.change is None and ratio_result.causes == []
    assert "undefined" in ratio_result.summary()[0]


def test_one_dimension_nulls_and_leaves_in_one_period_only() -> None:
    frame = pd.DataFrame(
        {
            "country": ["us", "de", None, "fr", "br"],
            "den_e": [1000.0, 1000.0, 1000.0, 0.0, 500.0],
            "den_a": [1000.0, 1000.0, 1000.0, 800.0, 0.0],
            "num_e": [100.0, 100.0, 300.0, 0.0, 50.0],
            "num_a": [100.0, 100.0, 100.0, 80.0, 0.0],
        }
    )
    result = localize(frame, ["country"], **RATIO)
    assert result.labels() == ["country=(none)"]
    top = result.causes[0]
    assert top.effect == "rate"
    assert (top.expected, top.actual) == (pytest.approx(0.3), pytest.approx(0.1))


def test_bad_input_is_reported_by_name() -> None:
    frame, names = additive(0, dimensions=3)
    with pytest.raises(DataError, match=r"'contry'.*did you mean 'country'"):
        localize(frame, ["platform", "contry"])
    with pytest.raises(DataError, match="no dimensions"):
        localize(frame, [])
    with pytest.raises(DataError, match="not both"):
        localize(frame, names, actual="actual2", numerator=("a", "b"), denominator=("c", "d"))
    with pytest.raises(DataError, match="only numerator"):
        localize(frame, names, numerator=("actual", "expected"))
    with pytest.raises(DataError, match="'actual' must be numeric"):
        localize(frame.assign(actual=frame["actual"].astype(str)), names)
    with pytest.raises(DataError, match="'expected' has missing"):
        localize(frame.assign(expected=np.nan), names)
    with pytest.raises(DataError, match="string 'platform'"):
        localize(frame, "platform")
    with pytest.raises(ValueError, match="negative"):
        localize(frame.assign(den_a=-1.0, den_e=1.0, num_a=1.0, num_e=1.0), names, **RATIO)
    # Every problem at once.
    with pytest.raises(DataError, match=r"'nope'.*'alsonope'"):
        localize(frame, ["nope", "alsonope"])


def test_contract_json_summary_and_determinism() -> None:
    frame, names = additive(3, dimensions=4)
    frame.loc[frame["channel"] == "paid", "actual"] *= 0.5
    result = localize(frame, names)
    assert isinstance(result, Localization)
    assert Localization.model_validate(json.loads(json.dumps(result.to_dict()))) == result
    assert result.summary() and all(isinstance(line, str) for line in result.summary())
    shuffled = frame.sample(frac=1.0, random_state=1)
    assert localize(shuffled, names[::-1]).labels() == result.labels()


def test_fifty_thousand_leaves_in_six_dimensions() -> None:
    """The size of a real cube (its speed is measured in benchmarks/bench_localize.py)."""
    rng = np.random.default_rng(5)
    sizes = [10, 10, 8, 8, 5, 2]
    names = [f"d{i}" for i in range(len(sizes))]
    frame = pd.DataFrame(list(itertools.product(*(range(k) for k in sizes))), columns=names).astype(
        str
    )
    frame["expected"] = rng.gamma(2.0, 50.0, len(frame))
    frame["actual"] = frame["expected"] * rng.normal(1, 0.05, len(frame))
    planted = (frame["d1"] == "3") & (frame["d4"] == "1")
    frame.loc[planted, "actual"] *= 0.5
    result = localize(frame, names)
    assert result.labels() == ["d1=3&d4=1"]
