"""`where` filters and value expressions: parsed with sqlglot, whitelisted, compiled to Ibis.

User text is never pasted into SQL. It is parsed into an AST, every node is checked against the
short list below, every column against the project's declared columns, and the AST is then
translated node by node into an Ibis expression.
"""

from __future__ import annotations

import difflib
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import sqlglot
from sqlglot import exp

BOOLEAN_NODES = (exp.And, exp.Or, exp.Not, exp.Is, exp.In, exp.Between, exp.Like, exp.ILike)
COMPARISONS: dict[type[exp.Expression], Callable[[Any, Any], Any]] = {
    exp.EQ: operator.eq,
    exp.NEQ: operator.ne,
    exp.GT: operator.gt,
    exp.GTE: operator.ge,
    exp.LT: operator.lt,
    exp.LTE: operator.le,
}
ARITHMETIC: dict[type[exp.Expression], Callable[[Any, Any], Any]] = {
    exp.Add: operator.add,
    exp.Sub: operator.sub,
    exp.Mul: operator.mul,
    exp.Div: operator.truediv,
}
FUNCTIONS: dict[type[exp.Expression], str] = {
    exp.Lower: "lower",
    exp.Upper: "upper",
    exp.Length: "length",
    exp.Abs: "abs",
}
ALLOWED_FUNCTIONS = ("lower", "upper", "length", "abs", "coalesce")
ALLOWED_OPERATORS = "= != <> < <= > >= AND OR NOT IN BETWEEN IS [NOT] NULL LIKE ILIKE + - * / ( )"


class ExpressionError(ValueError):
    """A filter or value expression that is not allowed; the loader adds the location."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Parsed:
    """A checked expression: its AST and a canonical text (used as a cache signature)."""

    text: str
    tree: exp.Expression

    @property
    def canonical(self) -> str:
        """The expression as SQL with identifiers unquoted: equal filters give equal text."""
        plain = self.tree.transform(
            lambda node: exp.to_identifier(node.name) if isinstance(node, exp.Identifier) else node
        )
        return plain.sql(dialect="duckdb")

    def columns(self) -> set[str]:
        return {c.name for c in self.tree.find_all(exp.Column)}


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to `word`, if one is close enough to be a likely typo."""
    options = sorted(set(choices))
    same_case = [o for o in options if o.lower() == word.lower()]
    if same_case:
        return same_case[0]
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A hint naming the closest choice, or listing them when none is close."""
    options = sorted(set(choices))
    match = closest(word, options)
    if match is not None:
        return f"did you mean '{match}'?"
    shown = ", ".join(options[:30]) + (" ..." if len(options) > 30 else "")
    return f"known: {shown}" if options else ""


def parse(text: str, columns: Iterable[str], *, boolean: bool) -> Parsed:
    """Parse and check `text`; `boolean` says whether it must be a condition (a `where`)."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("an expression is required here")
    try:
        statements = sqlglot.parse(text, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        described = " ".join(str(e.get("description", "")) for e in exc.errors)
        if "arguments" in described and "<class" not in described:
            raise ExpressionError(
                f"cannot parse '{text}': {described.rstrip('.').lower()}",
                hint=f"allowed functions: {', '.join(ALLOWED_FUNCTIONS)}, each with one argument "
                "(coalesce takes several)",
            ) from None
        column = next((e.get("col") for e in exc.errors if e.get("col")), None)
        near = f" near column {column}" if column else ""
        raise ExpressionError(
            f"cannot parse '{text}': it is incomplete or malformed{near}",
            hint="write it like event = 'song_played' AND country IN ('US', 'GB')",
        ) from None
    except sqlglot.errors.SqlglotError:
        raise ExpressionError(
            f"cannot parse '{text}'", hint="write it like event = 'song_played'"
        ) from None
    if len(statements) != 1 or statements[0] is None:
        raise ExpressionError(f"'{text}' must be a single expression, not several statements")
    tree = statements[0]
    known = list(columns)
    _check(tree, known)
    if boolean and not _is_boolean(tree):
        raise ExpressionError(
            f"'{text}' is not a condition", hint="a where filter compares, e.g. event = 'signup'"
        )
    if not boolean and _is_boolean(tree):
        raise ExpressionError(
            f"'{text}' is a condition, but a numeric expression is needed here",
            hint="move the condition to `where:`",
        )
    return Parsed(text, tree)


def _is_boolean(node: exp.Expression) -> bool:
    while isinstance(node, exp.Paren):
        node = node.this
    return isinstance(node, (*BOOLEAN_NODES, *COMPARISONS, exp.Boolean))


def _check(node: exp.Expression, columns: list[str]) -> None:
    if isinstance(node, exp.Column):
        if node.table:
            raise ExpressionError(
                f"'{node.sql()}' names a table; refer to event columns by name alone"
            )
        if node.name not in columns:
            if node.this.quoted:  # "x" is a column in SQL; strings take single quotes
                raise ExpressionError(
                    f'unknown column "{node.name}"',
                    hint=f"strings take single quotes: '{node.name}'",
                )
            raise ExpressionError(
                f"unknown column '{node.name}'", hint=did_you_mean(node.name, columns)
            )
        return
    structural: tuple[type[exp.Expression], ...] = (
        *BOOLEAN_NODES,
        *COMPARISONS,
        *ARITHMETIC,
        *FUNCTIONS,
        exp.Coalesce,
    )
    if isinstance(node, (exp.Anonymous, exp.Func)) and not isinstance(node, structural):
        name = node.sql_name() if not isinstance(node, exp.Anonymous) else node.name
        raise ExpressionError(
            f"the function '{name.lower()}' is not allowed",
            hint=f"allowed functions: {', '.join(ALLOWED_FUNCTIONS)}",
        )
    allowed: tuple[type[exp.Expression], ...] = (
        *BOOLEAN_NODES,
        *COMPARISONS,
        *ARITHMETIC,
        *FUNCTIONS,
        exp.Coalesce,
        exp.Paren,
        exp.Neg,
        exp.Literal,
        exp.Null,
        exp.Boolean,
        exp.Identifier,
        exp.Tuple,
    )
    if not isinstance(node, allowed):
        raise ExpressionError(
            f"'{node.sql()}' is not allowed in an expression",
            hint=f"allowed: {ALLOWED_OPERATORS}, functions {', '.join(ALLOWED_FUNCTIONS)}",
        )
    for child in node.iter_expressions():
        _check(child, columns)


def literal_values(parsed: Parsed, column: str) -> list[tuple[str, exp.Expression]]:
    """String literals compared for equality/membership with `column` (event names, say)."""
    found: list[tuple[str, exp.Expression]] = []
    for node in parsed.tree.find_all(exp.EQ, exp.NEQ, exp.In):
        sides = (
            [node.this, *node.expressions]
            if isinstance(node, exp.In)
            else [
                node.this,
                node.expression,
            ]
        )
        if any(isinstance(s, exp.Column) and s.name == column for s in sides):
            for side in sides:
                if isinstance(side, exp.Literal) and side.is_string:
                    found.append((side.this, side))
    return found


def compile_expr(parsed: Parsed, table: ir.Table) -> ir.Value:
    """Translate a checked AST into an Ibis expression over `table`."""
    return _compile(parsed.tree, table)


def _compile(node: exp.Expression, t: ir.Table) -> Any:
    if isinstance(node, exp.Paren):
        return _compile(node.this, t)
    if isinstance(node, exp.Column):
        return t[node.name]
    if isinstance(node, exp.Literal):
        if node.is_string:
            return ibis.literal(node.this)
        number = node.this
        return ibis.literal(int(number) if number.lstrip("-").isdigit() else float(number))
    if isinstance(node, exp.Boolean):
        return ibis.literal(bool(node.this))
    if isinstance(node, exp.Null):
        return ibis.null()
    if isinstance(node, exp.And):
        return _compile(node.this, t) & _compile(node.expression, t)
    if isinstance(node, exp.Or):
        return _compile(node.this, t) | _compile(node.expression, t)
    if isinstance(node, exp.Not):
        inner = node.this
        if isinstance(inner, exp.Is):
            return _compile(inner.this, t).notnull()
        return ~_compile(inner, t)
    if isinstance(node, exp.Is):
        return _compile(node.this, t).isnull()
    if isinstance(node, exp.Neg):
        return -_compile(node.this, t)
    if type(node) in COMPARISONS:
        return COMPARISONS[type(node)](_compile(node.this, t), _compile(node.expression, t))
    if type(node) in ARITHMETIC:
        left, right = _compile(node.this, t), _compile(node.expression, t)
        if isinstance(node, exp.Div):
            return left.cast("float64") / right
        return ARITHMETIC[type(node)](left, right)
    if isinstance(node, exp.In):
        return _compile(node.this, t).isin([_compile(e, t) for e in node.expressions])
    if isinstance(node, exp.Between):
        value = _compile(node.this, t)
        return value.between(_compile(node.args["low"], t), _compile(node.args["high"], t))
    if isinstance(node, (exp.Like, exp.ILike)):
        value, pattern = _compile(node.this, t), node.expression
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            raise ExpressionError("LIKE needs a string pattern")
        return value.like(pattern.this) if isinstance(node, exp.Like) else value.ilike(pattern.this)
    if type(node) in FUNCTIONS:
        return getattr(_compile(node.this, t), FUNCTIONS[type(node)])()
    if isinstance(node, exp.Coalesce):
        return ibis.coalesce(_compile(node.this, t), *(_compile(e, t) for e in node.expressions))
    raise ExpressionError(f"'{node.sql()}' is not allowed in an expression")
