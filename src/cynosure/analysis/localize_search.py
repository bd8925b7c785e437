"""The search behind :func:`cynosure.analysis.localize.localize`: which segments hold a change.

It works on leaves already reduced to two numbers each: a *contribution* (the leaf's additive
part of the change being explained) and a *mass* (its size, > 0 for leaves that carry weight).
A segment's *intensity* is its contribution per unit of mass: the relative change of an
additive metric, or the change of rate of a ratio. One cause is found at a time:

1. *Start*: the dimension whose values differ most in intensity (the mass-weighted
   between-values sum of squares, divided by the square root of its number of values minus
   one, so that a dimension does not win for having many values), and in it the value with
   the largest contribution in the direction of the change among those that *stand out*: the
   median intensity of the dimension's other values is less than `contrast` of its own. A
   value that moved like the others (everything grew 5%) is a shift across the board, not a
   cause; when no value stands out anywhere, there is no cause.
2. *Refine*: add the term that keeps the most of the contribution, or drop a term, while the
   more specific segment is the better description. A term is kept only when the rest of the
   parent (the *sibling*) looks normal. Both are measured against the leaves outside the
   parent with and without the term (what the term alone does: an old app version losing
   users everywhere), and the sibling's excess is first shrunk by `noise_z` standard errors
   (a large sibling always moves a little). The sibling is normal when its intensity is less
   than `sibling_ratio` of the segment's and its excess less than `sibling_share` of the
   segment's own. Otherwise it shares the anomaly and the parent, the more succinct
   description, wins.
3. *Stop*: the next cause is searched among the leaves not yet explained. It is kept when it
   accounts for at least `min_share` of the change, is at least `min_intensity` as intense as
   the first cause and does not overlap an earlier one (in leaves that carry weight); the
   search ends when less than `min_share` of the change is left unexplained.

The noise of a leaf's contribution is taken as proportional to its mass, with the factor
estimated from the leaves themselves (the median of contribution² / mass, robust to the few
anomalous leaves), so counts, hours and money are handled alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Term = tuple[int, int]  # (dimension index, value code)


@dataclass(frozen=True)
class SearchSettings:
    """The rules of the search; one setting for every data set (see the module docstring)."""

    contrast: float = 0.3
    sibling_ratio: float = 0.2
    sibling_share: float = 0.2
    noise_z: float = 1.0
    min_share: float = 0.1
    min_intensity: float = 0.2
    # Between-values sums of squares grow with the number of values by chance alone; dividing
    # by (values - 1) ** 0.5 lets a many-valued dimension win only on a clearly larger spread.
    cardinality_exponent: float = 0.5


@dataclass
class Leaves:
    """Leaves as arrays: one integer code per dimension, contribution and mass."""

    codes: list[np.ndarray]
    sizes: list[int]
    contribution: np.ndarray
    mass: np.ndarray
    noise: float = 0.0  # variance of a leaf's contribution per unit of mass, normal leaves

    def __post_init__(self) -> None:
        weighed = self.mass > 0
        if weighed.any():
            squares = self.contribution[weighed] ** 2 / self.mass[weighed]
            # Most leaves are normal, so the median is robust to the anomaly; for Gaussian noise
            # the median of a squared standard normal is 0.455 of its mean.
            self.noise = float(np.median(squares)) / 0.455

    def mask(self, terms: list[Term]) -> np.ndarray:
        inside = np.ones(len(self.contribution), dtype=bool)
        for dim, code in terms:
            inside &= self.codes[dim] == code
        return inside

    def sums(self, inside: np.ndarray) -> tuple[float, float]:
        return float(self.contribution[inside].sum()), float(self.mass[inside].sum())


def search(
    leaves: Leaves, *, max_depth: int, max_causes: int, settings: SearchSettings
) -> list[list[Term]]:
    """The causes of the leaves' total contribution, most important first.

    Args:
        leaves: The leaves, with their contributions and masses.
        max_depth: The most terms a cause may have.
        max_causes: The most causes returned.
        settings: The rules of the search.

    Returns:
        Each cause as its terms (dimension index, value code), in the order they were added.
    """
    total = float(leaves.contribution.sum())
    if total == 0 or not np.isfinite(total) or max_causes < 1:
        return []
    sign = 1.0 if total > 0 else -1.0
    active = leaves.mass > 0
    taken = np.zeros(len(active), dtype=bool)
    causes: list[list[Term]] = []
    first_intensity = None
    while len(causes) < max_causes:
        start = _start(leaves, active, sign, settings)
        if start is None:
            break
        terms = _refine(leaves, [start], active, sign, max_depth, settings)
        inside = leaves.mask(terms)
        if (inside & taken & (leaves.mass > 0)).any():
            break
        contribution, mass = leaves.sums(inside & active)
        if contribution * sign < settings.min_share * abs(total) or mass <= 0:
            break
        intensity = contribution / mass
        if first_intensity is None:
            first_intensity = intensity
        elif intensity / first_intensity < settings.min_intensity:
            break
        causes.append(terms)
        active &= ~inside
        taken |= inside
        if leaves.contribution[active].sum() * sign < settings.min_share * abs(total):
            break
    return causes


def _start(
    leaves: Leaves, active: np.ndarray, sign: float, settings: SearchSettings
) -> Term | None:
    """The value to start from: in the dimension that separates intensities best, the value
    with the largest contribution among those that stand out from the dimension's others."""
    best: tuple[float, Term] | None = None
    c, m = leaves.contribution[active], leaves.mass[active]
    if m.sum() <= 0:
        return None
    overall = c.sum() / m.sum()
    for dim, codes in enumerate(leaves.codes):
        sums = np.bincount(codes[active], c, leaves.sizes[dim])
        masses = np.bincount(codes[active], m, leaves.sizes[dim])
        present = np.flatnonzero(masses > 0)
        sums, masses = sums[present], masses[present]
        intensity = sums / masses
        spread = float((masses * (intensity - overall) ** 2).sum())
        spread /= max(len(present) - 1, 1) ** settings.cardinality_exponent
        # A value moving like the typical value of its dimension (all of them grew 5%) is
        # part of a shift across the board, not a cause.
        typical = _median_of_others(intensity)
        stands_out = (intensity * sign > 0) & (
            typical / np.where(intensity == 0, 1, intensity) < settings.contrast
        )
        candidates = np.where(stands_out & (sums * sign > 0), sums * sign, -np.inf)
        if not np.isfinite(candidates).any():
            continue
        value = int(present[np.argmax(candidates)])
        if best is None or spread > best[0]:
            best = (spread, (dim, value))
    return None if best is None else best[1]


def _median_of_others(values: np.ndarray) -> np.ndarray:
    """For each element, the median of the other elements (0 when there are none)."""
    k = len(values)
    if k < 2:
        return np.zeros(k)
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    position = np.empty(k, dtype=np.int64)
    position[order] = np.arange(k)
    # The k - 1 others, in sorted order, are `ranked` without the element's own position p:
    # their j-th is ranked[j] below p and ranked[j + 1] from p on.
    low, high = (k - 2) // 2, (k - 1) // 2
    at_low = ranked[np.where(low < position, low, low + 1)]
    at_high = ranked[np.where(high < position, high, high + 1)]
    return (at_low + at_high) / 2


def _refine(
    leaves: Leaves,
    terms: list[Term],
    active: np.ndarray,
    sign: float,
    max_depth: int,
    settings: SearchSettings,
) -> list[Term]:
    """Drop terms the parent describes as well, add one that concentrates the change."""
    # Each step changes one term; the bound only guards against two descriptions alternating.
    for _ in range(4 * max_depth + 4):
        shorter = ([t for t in terms if t != term] for term in terms if len(terms) > 1)
        parent = next(
            (p for p in shorter if not _keeps_child(leaves, terms, p, active, sign, settings)),
            None,
        )
        if parent is not None:
            terms = parent
            continue
        if len(terms) >= max_depth:
            break
        child = _best_child(leaves, terms, active, sign)
        if child is None or not _keeps_child(leaves, child, terms, active, sign, settings):
            break
        terms = child
    return terms


def _best_child(
    leaves: Leaves, terms: list[Term], active: np.ndarray, sign: float
) -> list[Term] | None:
    """The segment one term longer that keeps the largest contribution."""
    used = {dim for dim, _ in terms}
    inside = leaves.mask(terms) & active
    best: tuple[float, Term] | None = None
    for dim, codes in enumerate(leaves.codes):
        if dim in used:
            continue
        sums = np.bincount(codes[inside], leaves.contribution[inside], leaves.sizes[dim])
        value = int(np.argmax(sums * sign))
        if sums[value] * sign > 0 and (best is None or sums[value] * sign > best[0]):
            best = (float(sums[value] * sign), (dim, value))
    return None if best is None else [*terms, best[1]]


def _keeps_child(
    leaves: Leaves,
    child: list[Term],
    parent: list[Term],
    active: np.ndarray,
    sign: float,
    settings: SearchSettings,
) -> bool:
    """Whether `child` describes the change better than `parent` (one term shorter)."""
    in_parent = leaves.mask(parent) & active
    (term,) = [t for t in child if t not in parent]
    with_term = leaves.codes[term[0]] == term[1]
    inside = in_parent & with_term
    sibling = in_parent & ~with_term
    c_in, m_in = leaves.sums(inside)
    c_sib, m_sib = leaves.sums(sibling)
    if m_sib <= 0 or m_in <= 0:
        return False  # nothing tells the two apart: the shorter description wins
    # Outside the parent, the leaves with and without the term show what the term and its
    # absence do on their own (a new version gaining users everywhere, an old one losing
    # them): the child and its sibling are each measured against those.
    c_ci, m_ci = leaves.sums(active & ~in_parent & with_term)
    c_cs, m_cs = leaves.sums(active & ~in_parent & ~with_term)
    ref_in = c_ci / m_ci if m_ci > 0 else 0.0
    ref_sib = c_cs / m_cs if m_cs > 0 else 0.0
    intensity = c_in / m_in - ref_in
    if intensity * sign <= 0 or (c_in / m_in) * sign <= 0:
        return False
    # Only the sibling's excess beyond noise counts against the child: in a noisy cube a large
    # sibling always moves a little, and that alone must not make the parent win.
    excess = c_sib - ref_sib * m_sib
    excess = sign * max(0.0, sign * excess - settings.noise_z * np.sqrt(leaves.noise * m_sib))
    ratio = (excess / m_sib) / intensity
    return ratio < settings.sibling_ratio and ratio * m_sib / m_in < settings.sibling_share
