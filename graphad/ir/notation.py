"""How an op is written applied to its operands: Python's syntax with NumPy's names.

Every op answers :meth:`graphad.ir.Op.notation`: given the :class:`Term` of each operand
(its text and how tightly it binds), the term of the op applied to them::

    Multiply().notation([Term("a + b", SUM), Term("c", ATOM)])   # Term("(a + b)*c", PRODUCT)
    GetItem(...).notation([Term("p", ATOM)])                      # Term("p[1]", ATOM)

The default is a call, ``name(a, b, axis=1)``, with the op's attributes that differ from
their defaults as keywords; an op that Python writes with an operator declares it
(``operator = "+"``), and an op whose call would read poorly (indexing, transposes,
structures, constants) writes its own.  Drawings label nodes with it, and formulas are
built from it, so the text parses as Python where the op is Python's or NumPy's.

Precedence levels are Python's, from :data:`LOOSE` (a text that is never an operand
without parentheses) up to :data:`ATOM` (a name, literal, call or subscript).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

LOOSE = 0  # prose such as "scatter g into (2, 2)": parenthesised wherever it is an operand
COMPARISON = 30  # a < b, a == b (chains in Python, so both sides are bracketed)
BIT_OR = 35  # a | b
BIT_AND = 45  # a & b
SUM = 60  # a + b, a - b
PRODUCT = 70  # a * b, a / b, a // b, a % b, a @ b
UNARY = 80  # -a, +a, ~a
POWER = 90  # a ** b
ATOM = 100  # a name, a literal, a call, a subscript, an attribute

OPERATORS: dict[str, int] = {
    "<": COMPARISON,
    "<=": COMPARISON,
    ">": COMPARISON,
    ">=": COMPARISON,
    "==": COMPARISON,
    "!=": COMPARISON,
    "|": BIT_OR,
    "&": BIT_AND,
    "+": SUM,
    "-": SUM,
    "*": PRODUCT,
    "/": PRODUCT,
    "//": PRODUCT,
    "%": PRODUCT,
    "@": PRODUCT,
    "**": POWER,
}


class Term(NamedTuple):
    """An expression's ``text`` and its ``precedence`` (how tightly it binds)."""

    text: str
    precedence: int = 100


def atom(text: str) -> Term:
    """A name, literal or call: never bracketed."""
    return Term(text, ATOM)


def wrap(term: Term, level: int) -> str:
    """``term``'s text, in parentheses when it binds less tightly than ``level`` needs."""
    return term.text if term.precedence >= level else f"({term.text})"


def infix(symbol: str, a: Term, b: Term) -> Term:
    """``a symbol b`` for one of Python's binary :data:`OPERATORS`; left-associative except
    ``**`` (whose right operand may be a unary minus: ``x**-1``); comparisons bracket
    both sides, since Python chains them."""
    level = OPERATORS[symbol]
    if symbol == "**":
        return Term(f"{wrap(a, POWER + 1)}**{wrap(b, UNARY)}", POWER)
    if level == COMPARISON:
        return Term(f"{wrap(a, level + 1)} {symbol} {wrap(b, level + 1)}", level)
    space = " " if level <= SUM or symbol == "@" else ""  # a + b*c: spacing shows grouping
    return Term(f"{wrap(a, level)}{space}{symbol}{space}{wrap(b, level + 1)}", level)


def prefix(symbol: str, a: Term) -> Term:
    """``-a``, ``+a`` or ``~a``; ``-x**2`` is ``-(x**2)``, as in Python."""
    return Term(f"{symbol}{wrap(a, UNARY)}", UNARY)


def call(name: str, args: Sequence[Term], **keywords: Any) -> Term:
    """``name(a, b, axis=1)``: operands as they are, keywords as Python literals."""
    parts = [a.text for a in args] + [f"{k}={literal(v)}" for k, v in keywords.items()]
    return Term(f"{name}({', '.join(parts)})", ATOM)


def literal(value: Any) -> str:
    """A Python literal for an attribute value: ``1``, ``0.5``, ``(2, 3)``, ``'key'``,
    ``float32`` for a dtype, ``array((3, 4), float64)`` for an array too big to write."""
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, type) and issubclass(value, np.generic):
        return np.dtype(value).name
    if isinstance(value, np.generic):
        return literal(value.item())
    if isinstance(value, np.ndarray):
        if value.size <= 6:
            return literal(value.tolist())
        return f"array({value.shape}, {value.dtype.name})"
    if isinstance(value, tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (bool, int, str)) or value is None:
        return repr(value)
    return str(value)


def number(value: Any) -> Term:
    """A scalar as a term: ``2``, ``0.5``, ``-1.0`` (a unary minus, so ``x**-1.0`` and
    ``(-1.0)**x`` come out right), ``nan``/``inf`` as NumPy spells them."""
    scalar = value.item() if isinstance(value, (np.generic, np.ndarray)) else value
    if isinstance(scalar, float) and not np.isfinite(scalar):
        text = "nan" if np.isnan(scalar) else ("-inf" if scalar < 0 else "inf")
    elif isinstance(scalar, complex):
        return atom(repr(scalar))
    else:
        text = repr(scalar)
    return Term(text, UNARY if text.startswith("-") else ATOM)


def shape_text(shape: Sequence[int | None] | None) -> str:
    """``(2, 3)``, ``(3,)``, ``(?, 3)`` for an unknown dim, ``(...)`` for an unknown rank."""
    if shape is None:
        return "(...)"
    dims = ["?" if d is None else str(d) for d in shape]
    return f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"
