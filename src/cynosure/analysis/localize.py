"""Which combinations of dimension values account for a change? Root-cause localization.

Input: one row per *leaf* (a full combination of dimension values) with the metric's actual
and expected values: an additive metric (``actual``, ``expected``), or a ratio whose numerator
and denominator are each additive (a conversion rate, a success rate, hours per listener).

Each leaf's part of the change is additive across leaves:

- additive metric: ``actual - expected``;
- ratio ``R = sum(num) / sum(den)``: with ``w`` a leaf's share of the denominator, ``r`` its
  ratio and bars the mean of expected and actual, ``w̄·Δr`` (its *rate* part) plus
  ``(den_a - den_e) / D_a · (r̄ - K)`` with ``K = sum(w_e·r̄)`` (its *mix* part: its own size
  changed, and it sits above or below the average). The parts sum exactly to the change of
  ``R``. The search explains the larger of the two totals (usually the rate: a segment
  behaving differently).

The search (:mod:`cynosure.analysis.localize_search`) returns few, disjoint segments of up to
``max_depth`` dimensions; a combination is reported only when its extra term concentrates the
change, i.e. the rest of its parent looks normal. Each cause is then measured on its own
against its complement: its share of the change, and for a ratio the symmetric split of its
contribution into ``rate_effect = w̄_s·Δr_s`` and ``mix_effect = Δw_s·(r̄_s - r̄_c)``, which
add up to its ``change`` exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from cynosure.analysis.localize_input import as_text, validated
from cynosure.analysis.localize_search import Leaves, SearchSettings, search
from cynosure.results import Result, clean, fmt

MAX_CAUSES = 3
SETTINGS = SearchSettings()


class Cause(BaseModel):
    """One segment that accounts for part of the change."""

    model_config = ConfigDict(frozen=True)

    segment: dict[str, str]
    actual: float | None  # the segment's total (additive) or its own ratio
    expected: float | None
    change: float  # its contribution to the total change, in the metric's units
    share_of_change: float | None
    effect: Literal["size", "rate", "mix"]
    rate_effect: float | None = None  # ratios only; rate_effect + mix_effect == change
    mix_effect: float | None = None
    leaves: int  # how many leaves the segment holds
    denominator_actual: float | None = None  # ratios only: the segment's denominator
    denominator_expected: float | None = None

    def label(self) -> str:
        """The segment as ``attr=value`` terms, sorted and joined by ``&``."""
        return "&".join(sorted(f"{k}={v}" for k, v in self.segment.items()))


class Localization(Result):
    """The segments that account for a change, best first."""

    kind: Literal["additive", "ratio"]
    dimensions: list[str]
    leaves: int
    total_actual: float | None  # the total (additive) or the overall ratio
    total_expected: float | None
    change: float | None  # None when the ratio is undefined (a denominator summing to 0)
    causes: list[Cause]
    explained_share: float | None  # share of the change the causes account for together
    searched: Literal["size", "rate", "mix"] | None  # the part of the change searched
    max_depth: int
    max_causes: int

    def labels(self) -> list[str]:
        """Each cause as ``attr=value`` terms sorted and joined by ``&``, best first."""
        return [cause.label() for cause in self.causes]

    def summary(self) -> list[str]:
        what = "ratio" if self.kind == "ratio" else "total"
        if self.change is None:
            return [
                f"The {what} is undefined: its denominator sums to zero in the "
                f"{'expected' if self.total_expected is None else 'actual'} data."
            ]
        lines = [
            f"The {what} moved from {fmt(self.total_expected)} expected to "
            f"{fmt(self.total_actual)} actual ({_signed(self.change)}), over {self.leaves:,} "
            f"leaves in {len(self.dimensions)} dimension{'s' if len(self.dimensions) != 1 else ''}."
        ]
        if self.change == 0:
            return [*lines, "There is no change to explain."]
        if not self.causes:
            return [
                *lines,
                f"No segment of up to {self.max_depth} dimension values stands out: the change "
                "is spread across the leaves.",
            ]
        lines.extend(_cause_sentence(cause) for cause in self.causes)
        if self.explained_share is not None:
            share = f"{self.explained_share * 100:.0f}% of the change"
            if len(self.causes) == 1:
                lines.append(f"This segment accounts for {share}.")
            else:
                lines.append(f"Together the {len(self.causes)} segments account for {share}.")
        return lines


def localize(
    leaves: pd.DataFrame,
    dimensions: Sequence[str],
    *,
    actual: str = "actual",
    expected: str = "expected",
    numerator: tuple[str, str] | None = None,
    denominator: tuple[str, str] | None = None,
    max_depth: int = 3,
    max_causes: int = MAX_CAUSES,
) -> Localization:
    """Find the few combinations of dimension values that account for a change.

    Args:
        leaves: One row per leaf: the dimension columns and the numeric columns. Dimension
            values are compared as strings; a missing value becomes ``"(none)"``. A leaf seen in
            only one period has zeros in the other.
        dimensions: The dimension columns to search.
        actual: The actual value of an additive metric.
        expected: Its expected (baseline or forecast) value.
        numerator: For a ratio metric, the (actual, expected) columns of its numerator;
            ``actual`` and ``expected`` are then not used.
        denominator: The (actual, expected) columns of its denominator.
        max_depth: The most dimensions a cause combines.
        max_causes: The most causes returned.

    Returns:
        The causes, best first, each with its contribution to the change, and for a ratio its
        split into rate and mix effects. No causes when nothing changed.

    Raises:
        DataError: Unknown or duplicate columns, no dimensions, both an additive and a ratio
            metric given, non-numeric or missing values, or a negative denominator. Every
            problem is reported at once.
    """
    dims, values = validated(
        leaves, dimensions, actual, expected, numerator, denominator, max_depth, max_causes
    )
    kind: Literal["additive", "ratio"] = "ratio" if numerator is not None else "additive"
    empty = Localization(
        kind=kind,
        dimensions=dims,
        leaves=len(leaves),
        total_actual=None,
        total_expected=None,
        change=None,
        causes=[],
        explained_share=None,
        searched=None,
        max_depth=max_depth,
        max_causes=max_causes,
    )
    if kind == "additive":
        a, e = values
        total_a, total_e = float(a.sum()), float(e.sum())
        contribution, mass = a - e, (np.abs(a) + np.abs(e)) / 2
        searched: Literal["size", "rate", "mix"] = "size"
    else:
        na, ne, da, de = values
        ratio_a = float(na.sum() / da.sum()) if da.sum() > 0 else None
        ratio_e = float(ne.sum() / de.sum()) if de.sum() > 0 else None
        if ratio_a is None or ratio_e is None:
            return empty.model_copy(update={"total_actual": ratio_a, "total_expected": ratio_e})
        total_a, total_e = ratio_a, ratio_e
        rate, mix, mass = _ratio_parts(na, ne, da, de)
        searched = "rate" if abs(rate.sum()) >= abs(mix.sum()) else "mix"
        contribution = rate if searched == "rate" else mix
    change = total_a - total_e
    result = empty.model_copy(
        update={"total_actual": total_a, "total_expected": total_e, "change": change}
    )
    if change == 0 or len(leaves) == 0:
        return result

    codes: list[np.ndarray] = []
    names: list[list[str]] = []
    for column in dims:
        code, uniques = pd.factorize(as_text(leaves[column]), sort=True)
        codes.append(code)
        names.append([str(u) for u in uniques])
    found = search(
        Leaves(codes, [len(n) for n in names], contribution, mass),
        max_depth=min(max_depth, len(dims)),
        max_causes=max_causes,
        settings=SETTINGS,
    )
    masks, causes = [], []
    for terms in found:
        inside = np.ones(len(leaves), dtype=bool)
        for d, v in terms:
            inside &= codes[d] == v
        masks.append(inside)
        segment = {dims[d]: names[d][v] for d, v in sorted(terms)}
        causes.append(_measure(segment, inside, kind, values, change))
    explained = _explained(masks, kind, values, change) if causes else None
    return result.model_copy(
        update={"causes": causes, "explained_share": clean(explained), "searched": searched}
    )


def _ratio_parts(
    na: np.ndarray, ne: np.ndarray, da: np.ndarray, de: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each leaf's rate part, mix part and mass (mean share of the denominator)."""
    ra, re = _rates(na, da), _rates(ne, de)
    # A leaf absent from one period has no rate there; its own other rate stands in, so its
    # whole part is mix (it appeared or vanished), as it should be.
    ra, re = np.where(np.isnan(ra), re, ra), np.where(np.isnan(re), ra, re)
    ra, re = np.nan_to_num(ra), np.nan_to_num(re)
    wa, we = da / da.sum(), de / de.sum()
    mean_rate = (ra + re) / 2
    # The mix part sum(Δw·r̄) is written leaf by leaf as (den_a - den_e) / D_a · (r̄ - K) with
    # K = sum(w_e·r̄), which adds up to it exactly: a segment's mix part then comes from its
    # own denominator moving, not from the others' shares shrinking when one segment grows.
    mix = (da - de) / da.sum() * (mean_rate - float((we * mean_rate).sum()))
    wbar = (wa + we) / 2
    return wbar * (ra - re), mix, wbar


def _rates(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.full(len(num), np.nan), where=den > 0)


def _measure(
    segment: dict[str, str],
    inside: np.ndarray,
    kind: str,
    values: tuple[np.ndarray, ...],
    change: float,
) -> Cause:
    """A cause measured against its complement."""
    if kind == "additive":
        a, e = (float(v[inside].sum()) for v in values)
        return Cause(
            segment=segment,
            actual=a,
            expected=e,
            change=a - e,
            share_of_change=(a - e) / change,
            effect="size",
            leaves=int(inside.sum()),
        )
    da, de = values[2], values[3]
    seg = [float(v[inside].sum()) for v in values]
    rest = [float(v[~inside].sum()) for v in values]
    rate_s = _pair(seg[0] / seg[2] if seg[2] > 0 else None, seg[1] / seg[3] if seg[3] > 0 else None)
    rate_c = _pair(
        rest[0] / rest[2] if rest[2] > 0 else None, rest[1] / rest[3] if rest[3] > 0 else None
    )
    share_a, share_e = seg[2] / float(da.sum()), seg[3] / float(de.sum())
    rate_effect = (share_a + share_e) / 2 * (rate_s[0] - rate_s[1])
    mix_effect = (share_a - share_e) * ((rate_s[0] + rate_s[1]) / 2 - (rate_c[0] + rate_c[1]) / 2)
    contribution = rate_effect + mix_effect
    return Cause(
        segment=segment,
        actual=seg[0] / seg[2] if seg[2] > 0 else None,
        expected=seg[1] / seg[3] if seg[3] > 0 else None,
        change=contribution,
        share_of_change=contribution / change,
        effect="rate" if abs(rate_effect) >= abs(mix_effect) else "mix",
        rate_effect=rate_effect,
        mix_effect=mix_effect,
        leaves=int(inside.sum()),
        denominator_actual=seg[2],
        denominator_expected=seg[3],
    )


def _pair(actual: float | None, expected: float | None) -> tuple[float, float]:
    """Rates for the split: a period without a denominator takes the other's rate (Δr = 0)."""
    actual = expected if actual is None else actual
    expected = actual if expected is None else expected
    return actual or 0.0, expected or 0.0


def _explained(
    masks: list[np.ndarray], kind: str, values: tuple[np.ndarray, ...], change: float
) -> float | None:
    """The share of the change that returning every cause to expected would undo."""
    union = np.logical_or.reduce(masks)
    if kind == "additive":
        a, e = values
        return float(a[union].sum() - e[union].sum()) / change
    na, ne, da, de = values
    num = na.sum() - na[union].sum() + ne[union].sum()
    den = da.sum() - da[union].sum() + de[union].sum()
    if den <= 0:
        return None
    return float((na.sum() / da.sum() - num / den) / change)


def _signed(value: float) -> str:
    return ("+" if value > 0 else "") + fmt(value)


def _cause_sentence(cause: Cause) -> str:
    share = (
        f" ({cause.share_of_change * 100:.0f}% of the change)"
        if cause.share_of_change is not None
        else ""
    )
    size = f"{cause.leaves:,} leaves"
    if cause.denominator_expected is not None:
        size += (
            f", denominator {fmt(cause.denominator_expected)} expected, "
            f"{fmt(cause.denominator_actual)} actual"
        )
    text = (
        f"{cause.label().replace('&', ' & ')}: {fmt(cause.expected)} expected, "
        f"{fmt(cause.actual)} actual ({size}); it accounts for {_signed(cause.change)}{share}"
    )
    if cause.effect == "rate":
        text += (
            f", mostly through its rate (rate effect {_signed(cause.rate_effect or 0.0)}, "
            f"mix {_signed(cause.mix_effect or 0.0)})"
        )
    elif cause.effect == "mix":
        text += (
            f", mostly because its share of the denominator changed (mix effect "
            f"{_signed(cause.mix_effect or 0.0)}, rate {_signed(cause.rate_effect or 0.0)})"
        )
    return text + "."
