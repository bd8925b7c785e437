"""Arithmetic of metrics (`listeners * hours_per_listener`): parsing and evaluation.

Used by `formula:` metrics and by the formula edges of the tree. Only names, numbers,
`+ - * /`, unary minus and parentheses are accepted.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


class FormulaError(ValueError):
    """A formula that is not plain arithmetic of metric names."""


_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div)


@dataclass(frozen=True)
class Formula:
    """A parsed formula: its text, the metric names it uses (in order of appearance)."""

    text: str
    tree: ast.expr
    names: tuple[str, ...]

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """Evaluate on scalars or aligned pandas Series; x / 0 gives NaN, never an error."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return _eval(self.tree, values)


def parse_formula(text: str) -> Formula:
    """Parse `text` into a Formula, or raise FormulaError saying what is not allowed."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("a formula is required, e.g. listeners * hours_per_listener")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise FormulaError(f"cannot parse the formula '{text}': {exc.msg}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            continue
        if isinstance(node, ast.BinOp) and not isinstance(node.op, _BINARY):
            raise FormulaError(
                f"the operator in '{ast.unparse(node)}' is not allowed (use + - * /)"
            )
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise FormulaError(f"'{ast.unparse(node)}' is not a number")
        elif not isinstance(node, (ast.BinOp, ast.UnaryOp, ast.USub, ast.UAdd, ast.Load, *_BINARY)):
            raise FormulaError(
                f"'{ast.unparse(node)}' is not allowed in a formula "
                "(use metric names, numbers, + - * / and parentheses)"
            )
    found = sorted(
        (n for n in ast.walk(tree) if isinstance(n, ast.Name)), key=lambda n: n.col_offset
    )
    return Formula(text, tree, tuple(dict.fromkeys(n.id for n in found)))


def _eval(node: ast.expr, values: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp):
        inner = _eval(node.operand, values)
        return -inner if isinstance(node.op, ast.USub) else inner
    assert isinstance(node, ast.BinOp)  # guaranteed by parse_formula
    left, right = _eval(node.left, values), _eval(node.right, values)
    if isinstance(node.op, ast.Add):
        return left + right
    if isinstance(node.op, ast.Sub):
        return left - right
    if isinstance(node.op, ast.Mult):
        return left * right
    return _divide(left, right)


def _divide(left: Any, right: Any) -> Any:
    if np.isscalar(right) and np.isscalar(left):
        if right == 0 or _isnan(right) or _isnan(left):
            return math.nan
        return left / right  # type: ignore[operator]
    denominator = right.where(right != 0) if hasattr(right, "where") else right
    return left / denominator


def _isnan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
