"""Native forms: how a compiled backend computes an op that is not a scalar formula.

An elementwise op's native form is its ``scalar`` formula (:mod:`graphad.ir.scalar`): a
native backend runs it inside one loop over the broadcast shape, fused with the
elementwise ops around it.  Any other op may declare one with ``Op.native(node)``:

- :class:`Fold`, a reduction: ``y[j] = finish(start ⊕ x[i₁] ⊕ x[i₂] ⊕ …, n)`` over the
  ``n`` entries of x reduced into y[j], where ``a ⊕ b`` is the ``step`` formula.  A backend
  runs it inside the loop that computes x: one pass over memory, no temporary.  The
  running value is a float64 (a float32 sum is accumulated in float64 and rounded once);
  its order is the loop's, so a sum may differ from NumPy's pairwise one by rounding.
- :class:`Call`, a whole-array kernel written as one expression over the operands in the
  part of NumPy that numba compiles: ``np.dot({0}, {1})``, ``{0}[1:, None]``; and
  ``np.blas_dot({0}, {1}, None)``, ``np.dot`` that is BLAS's call whatever the size (a
  backend compiles ``np.dot`` for sizes it learns at run time, loops for small ones).  The
  expression gives an array of the node's shape and dtype, or a scalar when the node is
  0-d; 0-d operands are given as scalars.  ``view``: the result may share memory with an
  operand (a transpose, a slice), so a backend copies it before handing it out.  ``into``:
  the same kernel writing its result into ``{out}``, an array of the node's shape and
  dtype that it returns, so a loop step can reuse one buffer instead of making an array.

A form is a promise that the backend's result equals ``compute``'s to rounding, for the
node it was asked of (its types, attributes and known shapes): an op returns ``None`` where
it cannot keep it (a batched product, an index that needs bounds checks).  Formulas use
the names of :mod:`graphad.ir.scalar`; a ``Call`` may call the NumPy functions of
:data:`NUMPY`, and nothing else (:func:`check_call` says which it breaks).
"""

from __future__ import annotations

import ast
import functools
import math
from dataclasses import dataclass

from graphad.ir.errors import GraphError
from graphad.ir.scalar import parse_template

# what a Call expression may call, as np.<name>: functions numba compiles as NumPy does, and
# blas_dot: np.dot(a, b, out) of float vectors and matrices on BLAS whatever their size
NUMPY = frozenset(
    {"dot", "transpose", "reshape", "broadcast_to", "ascontiguousarray", "full", "empty"}
    | {"zeros", "concatenate", "stack", "exp", "log", "sum", "max", "isfinite"}
    | {"float64", "float32", "blas_dot"}
)
# a product of at most this many multiplications is cheaper as a loop than as BLAS's call
# (about 0.1 µs, and the checks of the operands' layout), as in a loop step h = W·h
SMALL_DOT = 1024
# methods of the operand arrays a Call may use
METHODS = frozenset({"reshape", "copy", "transpose", "T"})


@dataclass(frozen=True)
class Fold:
    """A reduction over ``axes`` of the operand (those in ``kept`` stay as length-1 axes,
    as with ``keepdims``); ``step`` combines the running value ``{0}`` with an entry
    ``{1}``, starting from ``start``; ``finish`` makes the output from the running value
    ``{0}`` and the count of entries reduced ``{1}``."""

    step: str
    start: float
    axes: tuple[int, ...]
    kept: tuple[int, ...] = ()
    finish: str = "{0}"


@dataclass(frozen=True)
class Call:
    """A whole-array kernel as one expression over the operands ``{0}, {1}, …``."""

    template: str
    view: bool = False
    into: str | None = None

    def code(self, args: list[str], out: str | None = None) -> str:
        """The expression on ``args``; written into ``out`` where given (``into``)."""
        if out is None:
            return self.template.format(*args)
        assert self.into is not None
        return self.into.format(*args, out=out)


# the folds graphad's reductions are made of; max and min are np.maximum and np.minimum
# of the running value and the entry, so a NaN anywhere is the result, as in NumPy
SUM = "({0} + {1})"
PRODUCT = "({0} * {1})"
MAXIMUM = "({0} if {0} > {1} or {0} != {0} else {1})"
MINIMUM = "({0} if {0} < {1} or {0} != {0} else {1})"
MEAN = "({0} / {1})"
START = {SUM: 0.0, PRODUCT: 1.0, MAXIMUM: -math.inf, MINIMUM: math.inf}


def fold(step: str, axes: tuple[int, ...], kept: tuple[int, ...] = (), finish: str = "{0}") -> Fold:
    """The fold of one of graphad's steps (``SUM``, ``PRODUCT``, ``MAXIMUM``, ``MINIMUM``),
    started at its identity."""
    return Fold(step, START[step], axes, kept, finish)


@functools.cache
def check_call(template: str, arity: int) -> None:
    """A typed error when a ``Call`` expression is no expression, calls a function outside
    :data:`NUMPY` or a method outside :data:`METHODS`, or names anything but ``np`` and
    its operands."""
    tree, operands = parse_template(template, arity, "native call")
    bad: list[str] = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and n.id not in operands and n.id != "np":
            bad.append(n.id)
        elif isinstance(n, ast.Attribute):
            if isinstance(n.value, ast.Name) and n.value.id == "np":
                if n.attr not in NUMPY:
                    bad.append(f"np.{n.attr}")
            elif n.attr not in METHODS:
                bad.append(f".{n.attr}")
    if bad:
        raise GraphError(
            f"native call {template!r} uses {', '.join(sorted(set(bad)))}; a call may use "
            f"np.{', np.'.join(sorted(NUMPY))} and the methods {', '.join(sorted(METHODS))}"
        )
