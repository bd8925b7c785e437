"""The forecast behind `cynosure targets`: honest intervals on series with a known law."""

from __future__ import annotations

import numpy as np
import pytest

from cynosure.analysis.targets import FORECAST_LEVEL, forecast_draws, growth_quantiles

AHEAD = 4


def held_out_coverage(make: object, count: int) -> float:
    """Share of held-out values inside the 80% interval over `count` simulated series."""
    rng = np.random.default_rng(11)
    tail = 50 * (1 - FORECAST_LEVEL)
    inside = []
    for i in range(count):
        y = make(rng)  # type: ignore[operator]
        draws = forecast_draws(y[:-AHEAD], AHEAD, seed=i)
        low, high = np.percentile(draws, [tail, 100 - tail], axis=0)
        inside += list((y[-AHEAD:] >= low) & (y[-AHEAD:] <= high))
    return float(np.mean(inside))


def growing_random_walk(rng: np.random.Generator) -> np.ndarray:
    return 1000 * np.exp(np.cumsum(rng.normal(0.01, 0.03, 64)) + rng.normal(0, 0.02, 64))


def trend_with_noise(rng: np.random.Generator) -> np.ndarray:
    return 1000 * np.exp(0.01 * np.arange(64) + rng.normal(0, 0.05, 64))


@pytest.mark.parametrize("make", [growing_random_walk, trend_with_noise])
def test_the_80_percent_interval_holds_about_80_percent_of_what_happens(make: object) -> None:
    assert 0.65 <= held_out_coverage(make, 30) <= 0.92


def test_the_forecast_follows_a_steady_growth() -> None:
    y = 500 * 1.02 ** np.arange(40) * np.exp(np.random.default_rng(3).normal(0, 0.01, 40))
    median = np.median(forecast_draws(y, 6, seed=1), axis=0)
    truth = 500 * 1.02 ** np.arange(40, 46)
    assert np.all(np.abs(median / truth - 1) < 0.05)


def test_suggested_targets_read_past_growth() -> None:
    y = 100 * 1.1 ** np.arange(20)
    low, mid, high = growth_quantiles(y, 2) or (0, 0, 0)
    assert low == pytest.approx(1.21) and mid == pytest.approx(1.21) and high == pytest.approx(1.21)
    assert growth_quantiles(np.array([1.0, -1.0, 2.0, 3.0, 4.0, 5.0]), 2) is None
