"""How ops are written as text: terms with Python's operator precedence.

Every op says how it reads applied to its operands (:meth:`graphad.ir.Op.notation`):
``a + b``, ``x[:, 0]``, ``a @ b``, ``sum(x, axis=1)``, ``cos(x)``.  A :class:`Term` is such a
text with the precedence of its outermost operator, so that the op using it as an operand
adds parentheses only where Python would need them (``(a + b)*c``, ``-x**2``) and the text
reads back as Python with NumPy's function names.  Two choices go beyond the minimum, for
the reader: a signed operand right of an operator is parenthesised (``a*(-b)``,
``x**(-2)``), and so is the right operand of an operator of its own level (``a - (b - c)``,
``a*(b*c)``), which is not the same floating-point computation as ``a*b*c``.

    infix(Term("a"), "+", Term("b"), SUM).at(PRODUCT)     # "(a + b)"
    call("sum", Term("x"), axis=1).text                   # "sum(x, axis=1)"
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# binding strength of a term's outermost operator, loosest first (Python's order)
LOWEST = 0  # a if c else b
COMPARE = 1  # a < b, a == b
SUM = 2  # a + b, a - b
PRODUCT = 3  # a*b, a/b, a % b, a @ b
UNARY = 4  # -a, and a negative number
POWER = 5  # a**b
POSTFIX = 6  # f(a), a[i], a.T
ATOM = 7  # a name, a number, (…), [...], {...}

SMALL = 6  # arrays of at most this many entries are written out in full
HOLE = "·"  # an operand left out: ``sum(·, axis=1)`` is the op alone


@dataclass(frozen=True)
class Term:
    """Text and the precedence of its outermost operator (:data:`ATOM` for a name)."""

    text: str
    level: int = ATOM

    def at(self, level: int) -> str:
        """The text where an operand of ``level`` is expected, parenthesised if need be."""
        return f"({self.text})" if self.level < level else self.text

    @property
    def signed(self) -> bool:
        """Whether the text starts with a sign (``-x``, ``-2``)."""
        return self.text[:1] in "-+" and self.level < ATOM


HOLE_TERM = Term(HOLE)
NONE = Term("None")


def _operand(term: Term, level: int, leading: bool) -> str:
    if not leading and term.signed:  # a*(-b), not a*-b
        return f"({term.text})"
    return term.at(level)


def infix(left: Term, symbol: str, right: Term, level: int) -> Term:
    """``left symbol right`` for a left-associative operator of ``level`` (``+ - * / % @``):
    the right operand parenthesised unless it binds tighter.  Spaces around ``+``, ``-``,
    ``@`` and comparisons, none around ``*``, ``/``, ``%`` and ``**``, as one writes maths."""
    spaced = f" {symbol} " if symbol in ("+", "-", "@") or level == COMPARE else symbol
    if level == COMPARE:  # comparisons chain in Python (a < b < c): never leave one bare
        left_text = _operand(left, COMPARE + 1, True)
    else:
        left_text = _operand(left, level, True)
    return Term(f"{left_text}{spaced}{_operand(right, level + 1, False)}", level)


def power(base: Term, exponent: Term) -> Term:
    """``base**exponent``: right-associative, and tighter than a unary minus on its left
    (``-x**2`` is ``-(x**2)``), so the base is parenthesised unless it is postfix or an atom."""
    text = f"{_operand(base, POSTFIX, True)}**{_operand(exponent, UNARY, False)}"
    return Term(text, POWER)


def prefix(symbol: str, operand: Term) -> Term:
    """``-x``, ``+x``, ``~x``: ``-(-x)`` rather than ``--x``."""
    return Term(f"{symbol}{_operand(operand, UNARY, False)}", UNARY)


def postfix(base: Term, suffix: str) -> Term:
    """``x[i]``, ``x.T``, ``x.astype(float32)``: the base parenthesised unless postfix."""
    text = base.at(POSTFIX)
    if base.level == ATOM and text[:1].isdigit():  # 2.T would read as the float 2.
        text = f"({text})"
    return Term(f"{text}{suffix}", POSTFIX)


def call(function: str, *args: Term | str, **keywords: Any) -> Term:
    """``function(a, b, key=value)``: terms as they are (any level fits in an argument list),
    strings as they are, keyword values as :func:`literal` writes them."""
    parts = [a.text if isinstance(a, Term) else a for a in args]
    parts += [f"{k}={literal(v).text}" for k, v in keywords.items()]
    return Term(f"{function}({', '.join(parts)})", POSTFIX)


def listing(open_: str, items: Sequence[str], close: str, one: str = "") -> Term:
    """``(a, b)``, ``[a, b]``, ``{k: v}``; ``one`` follows a single item (``(a,)``)."""
    body = ", ".join(items) + (one if len(items) == 1 else "")
    return Term(f"{open_}{body}{close}", ATOM)


def number(value: Any) -> Term:
    """A Python or NumPy number as it reads back exactly: ``2``, ``0.5``, ``-1e-10``,
    ``inf``, ``nan``, ``(1+2j)``, ``True``; negative numbers have a unary minus' level."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return Term(str(value))
    if isinstance(value, complex):
        return Term(repr(value))
    if isinstance(value, float):
        if math.isnan(value):
            return Term("nan")
        if math.isinf(value):
            return Term("inf") if value > 0 else Term("-inf", UNARY)
        if value.is_integer() and abs(value) < 1e16:
            value = int(value)  # 2, not 2.0: the operands' float dtype keeps the value
    text = repr(value)
    return Term(text, UNARY if text.startswith("-") else ATOM)


def literal(value: Any) -> Term:
    """A value in Python's syntax: numbers (:func:`number`), tuples, lists, strings, None,
    NumPy dtypes by name (``float32``) and arrays (:func:`array`)."""
    if isinstance(value, np.ndarray):
        return array(value)
    if isinstance(value, np.dtype):
        return Term(value.name)
    if isinstance(value, tuple):
        return listing("(", [literal(v).text for v in value], ")", ",")
    if isinstance(value, list):
        return listing("[", [literal(v).text for v in value], "]")
    if isinstance(value, (bool, int, float, complex, np.generic)):
        return number(value)
    return Term(repr(value))


def array(value: np.ndarray) -> Term:
    """An array constant: a number when 0-d, ``ones((3,))``, ``zeros((2, 2))``,
    ``full((3,), 0.5)`` when every entry is one value, ``eye(3)`` for an identity matrix,
    ``array([1, 2])`` when small, and ``<(100, 3) float64>``, not written out, otherwise."""
    if value.ndim == 0:
        return number(value.item())
    dtype = "" if value.dtype == np.float64 else f", {value.dtype.name}"
    shape = literal(tuple(value.shape)).text
    flat = value.ravel()
    # one value everywhere (the seeds and splats of derivative graphs); looked for in arrays
    # of a few thousand entries at most, as a formula is read, not computed
    if 0 < flat.size <= 4096 and np.all(flat == flat[0]):
        first = flat[0].item()
        if first == 0 or first == 1:
            return call("zeros" if first == 0 else "ones", f"{shape}{dtype}")
        return call("full", shape, f"{number(first).text}{dtype}")
    square = value.ndim == 2 and value.shape[0] == value.shape[1] <= 4096
    if square and np.array_equal(value, np.eye(len(value), dtype=value.dtype)):
        return call("eye", f"{len(value)}{dtype}")
    if flat.size <= SMALL:
        entries = value.tolist()
        # float entries as floats (1.0, not 1), so that the list reads back as a float array
        text = repr(entries) if value.dtype.kind == "f" else literal(entries).text
        return call("array", f"{text}{dtype}")
    return Term(f"<{shape} {value.dtype.name}>")
