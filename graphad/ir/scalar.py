"""Scalar formulas: what an elementwise op's kernel is on one number, for generated code.

An elementwise op may declare ``scalar``, its kernel on scalars as a Python expression in
which ``{0}``, ``{1}``, … stand for the operands (``str.format`` fills them) and every
function called is one of :data:`FUNCTIONS`::

    scalar = "exp({0})"
    scalar = "(_p if (_p := {0} * {1}) == _p else 0.0 if not {0} or not {1} else _p)"

A formula may name an intermediate value with ``:=`` (``_p`` above, multiply_no_nan's
product: computed once, and NaN-tested by ``_p == _p``, cheaper than testing both operands
first); such a name starts with an underscore, which no name of generated code does.

The names are C99's ``<math.h>`` functions, which Python's :mod:`math` wraps and native
compilers provide, so a code generator binds each name to its own implementation (the
0-d float path to :mod:`math`, a native backend to its intrinsics) and one formula serves
every backend.  The value each name stands for is the NumPy ufunc given here, on one
float64; that is how a formula is checked against the op's ``compute``.
"""

from __future__ import annotations

import ast
import functools
from typing import Any

import numpy as np

from graphad.ir.errors import GraphError

FUNCTIONS: dict[str, Any] = {
    "exp": np.exp,
    "log": np.log,
    "log1p": np.log1p,
    "expm1": np.expm1,
    "sqrt": np.sqrt,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "pow": np.power,
    "fabs": np.fabs,
}


def parse_template(template: str, arity: int, what: str) -> tuple[ast.Expression, set[str]]:
    """A template over ``{0}``, ``{1}``, ... parsed with its operands named ``_0``, ``_1``,
    ...; a typed error naming ``what`` it is when it is no expression."""
    text = template.format(*(f"_{i}" for i in range(arity)))
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        raise GraphError(f"{what} {template!r} is not an expression: {e.msg}") from None
    return tree, {f"_{i}" for i in range(arity)}


@functools.cache
def functions_of(template: str, arity: int) -> frozenset[str]:
    """The function names a formula calls; a typed error when it calls one outside
    :data:`FUNCTIONS`, uses a name that is no operand, or is no expression at all."""
    tree, operands = parse_template(template, arity, "scalar formula")
    calls = [n.func for n in ast.walk(tree) if isinstance(n, ast.Call)]
    called = {f.id for f in calls if isinstance(f, ast.Name)}
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    # names the formula binds itself (``_p := …``): its own, if generated code cannot use them
    bound = {n.target.id for n in ast.walk(tree) if isinstance(n, ast.NamedExpr)}
    own = {b for b in bound if b.startswith("_") and b not in operands}
    unknown = sorted(called - FUNCTIONS.keys()) + sorted(names - called - operands - own)
    if unknown:
        raise GraphError(
            f"scalar formula {template!r} uses {', '.join(unknown)}; a formula may call "
            f"only {', '.join(FUNCTIONS)} on its operands (and name values _like_this with :=)"
        )
    return frozenset(called)
