"""The input of :func:`cynosure.analysis.localize.localize`, checked once, every problem at once."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from cynosure.errors import DataError

NONE_VALUE = "(none)"


def validated(
    leaves: object,
    dimensions: Sequence[str],
    actual: str,
    expected: str,
    numerator: tuple[str, str] | None,
    denominator: tuple[str, str] | None,
    max_depth: int,
    max_causes: int,
) -> tuple[list[str], tuple[np.ndarray, ...]]:
    """The dimension names and the value columns as float arrays; every problem at once."""
    if not isinstance(leaves, pd.DataFrame):
        raise DataError(f"leaves must be a pandas DataFrame, got {type(leaves).__name__}")
    problems: list[str] = []
    if isinstance(dimensions, str):
        problems.append(
            f"dimensions must be a list of column names, got the string {dimensions!r} "
            f"(write [{dimensions!r}])"
        )
        dims: list[str] = []
    else:
        dims = list(dimensions)
        if not dims:
            problems.append("no dimensions given: name at least one column to segment by")
    if numerator is None and denominator is None:
        value_columns = [actual, expected]
    elif numerator is None or denominator is None:
        given = "numerator" if numerator is not None else "denominator"
        problems.append(f"a ratio needs both a numerator and a denominator; only {given} given")
        value_columns = list(numerator or denominator or ())
    else:
        if (actual, expected) != ("actual", "expected"):
            problems.append(
                f"give either actual/expected ({actual!r}, {expected!r}) for an additive metric "
                "or numerator/denominator for a ratio, not both"
            )
        value_columns = [*numerator, *denominator]
    for dim in {d for d in dims if dims.count(d) > 1}:
        problems.append(f"dimension {dim!r} is listed more than once")
    for column in [*dims, *value_columns]:
        if column not in leaves.columns:
            problems.append(f"no column {column!r} in the leaves{did_you_mean(column, leaves)}")
    for dim in set(dims) & set(value_columns):
        problems.append(f"column {dim!r} is both a dimension and a value")
    if not isinstance(max_depth, int) or max_depth < 1:
        problems.append(f"max_depth must be an integer of at least 1, got {max_depth!r}")
    if not isinstance(max_causes, int) or max_causes < 0:
        problems.append(f"max_causes must be a non-negative integer, got {max_causes!r}")
    arrays = []
    for column in value_columns:
        if column not in leaves.columns:
            continue
        series = leaves[column]
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            problems.append(f"column {column!r} must be numeric, got {series.dtype}")
            continue
        array = series.to_numpy(dtype=float, na_value=np.nan)
        if not np.isfinite(array).all():
            problems.append(
                f"column {column!r} has missing or infinite values (write 0 for a leaf absent "
                "from one period)"
            )
        arrays.append(array)
    if numerator is not None and denominator is not None and len(arrays) == 4:
        for column, array in zip(denominator, arrays[2:], strict=True):
            if (array < 0).any():
                problems.append(f"denominator column {column!r} has negative values")
    if problems:
        raise DataError("cannot localize: " + "; ".join(problems))
    return dims, tuple(arrays)


def did_you_mean(column: str, leaves: pd.DataFrame) -> str:
    names = [str(c) for c in leaves.columns]
    close = difflib.get_close_matches(str(column), names, n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (columns: {', '.join(names[:12])}{', ...' if len(names) > 12 else ''})"


def as_text(column: pd.Series) -> pd.Series:
    """Dimension values as strings, a missing value as ``"(none)"``."""
    return column.astype(object).where(column.notna(), NONE_VALUE).astype(str)
