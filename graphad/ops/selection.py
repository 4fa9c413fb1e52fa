"""Selection: maximum, minimum (and their NaN-ignoring fmax, fmin) and clip, which pick one
operand per element; ``where``; and nonzero, the indices where a condition holds.

The selections are elementwise ops (:class:`~graphad.ops.elementwise.Elementwise`) whose
partials are indicators (``Pick``): each sends the adjoint to the operand that was picked
and an exact zero to the others, whatever they hold there (no 0·inf = NaN in an untaken
branch), and their tangent is one ``where`` over the operands' tangents.  ``Where``
itself is defined with the family, whose indicator products it builds.

``nonzero`` (and ``where`` with only a condition) returns integer indices whose
number is known only at run time: no derivative flows, and its results have
unknown length.

Tie rules (kept from the first rules, which hand-wrote both modes): ``maximum``/``minimum``
split the adjoint equally between equal operands (half each, as JAX does: the mean of the
one-sided derivatives); ``clip`` sends the adjoint to ``x`` on the closed interval
``[lo, hi]`` (a one-sided clip likewise on its closed half-line) and to the bound that was
taken outside it, ``hi`` where the bounds cross (NumPy returns ``hi`` there).  Where the
result is NaN (a NaN operand of maximum/minimum, both operands of fmax/fmin), the
adjoint goes to the second operand, as the tangent always did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, overload

import numpy as np

from graphad.ir import (
    Node,
    ShapeError,
    TensorType,
    TupleType,
    as_node,
    as_nodes,
    broadcast_shapes,
    user_location,
)
from graphad.ir.notation import Term, atom, call
from graphad.ops._batching import BatchingError
from graphad.ops._constant import ZeroDerivative
from graphad.ops._ufunc import Binary, batch_elementwise, binary
from graphad.ops._util import building, known_ndim, tensor, ufunc_dtype
from graphad.ops.comparison import equal, greater, less, logical_or, not_equal
from graphad.ops.elementwise import Elementwise, Partial, Pick, Where


@dataclass(frozen=True)
class Extremum(Elementwise, Binary):
    """maximum or minimum: ``beats(a, b)`` says where ``a`` is taken (``greater`` for the
    maximum, ``less`` for the minimum); ties split the adjoint equally."""

    beats: ClassVar[Any] = None

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂a = [a beats b] + ½·[a = b], ∂/∂b = the rest: [b beats a] + ½·[a = b], and 1
        where y is NaN.  Both pick on one condition, so ẏ = where(a beats b, ȧ,
        where(a = b, ½·(ȧ + ḃ), ḃ))"""
        a, b = node.inputs
        taken, tie = self.beats(a, b), equal(a, b)
        return Pick(taken, 1, Pick(tie, 0.5, 0)), Pick(taken, 0, Pick(tie, 0.5, 1))


@dataclass(frozen=True)
class Maximum(Extremum):
    # not commutative bit for bit: maximum(-0.0, 0.0) is 0.0, maximum(0.0, -0.0) is -0.0
    # (NumPy returns the second of equal operands), and 1/y tells them apart
    ufunc = np.maximum
    # NumPy's: b unless a is larger or NaN (maximum(0.0, -0.0) is -0.0, as in NumPy)
    scalar = "({0} if {0} > {1} or {0} != {0} else {1})"
    beats = staticmethod(greater)


@dataclass(frozen=True)
class Minimum(Extremum):
    ufunc = np.minimum  # not commutative bit for bit, as maximum
    scalar = "({0} if {0} < {1} or {0} != {0} else {1})"
    beats = staticmethod(less)


def _fmax_beats(a: Node, b: Node) -> Node:
    """Where fmax takes a: a > b, or b is NaN (fmax ignores a NaN)"""
    return logical_or(greater(a, b), not_equal(b, b))


def _fmin_beats(a: Node, b: Node) -> Node:
    """Where fmin takes a: a < b, or b is NaN"""
    return logical_or(less(a, b), not_equal(b, b))


@dataclass(frozen=True)
class Fmax(Extremum):
    ufunc = np.fmax
    beats = staticmethod(_fmax_beats)


@dataclass(frozen=True)
class Fmin(Extremum):
    ufunc = np.fmin
    beats = staticmethod(_fmin_beats)


@dataclass(frozen=True)
class Clip(Elementwise):
    """np.clip(x, lo, hi); one-sided without ``lower`` or ``upper``, whose bound is then not
    an input (np.clip(x, None, hi), np.clip(x, lo, None))."""

    lower: bool = True
    upper: bool = True

    def notation(self, args: Sequence[Term]) -> Term:
        """clip(x, lo, hi), None for a missing bound"""
        return call("clip", [atom("None") if t is None else t for t in self.bounds(args)])

    def attributes(self) -> dict[str, Any]:
        """Only a missing bound is worth naming: ``clip`` or ``clip(lower=False)``."""
        return {k: v for k, v in (("lower", self.lower), ("upper", self.upper)) if not v}

    def bounds(self, xs: Sequence[Any]) -> tuple[Any, Any, Any]:
        """(x, lo, hi) of the op's inputs (types, values or nodes), None for a missing bound."""
        x, *rest = xs
        lo = rest[0] if self.lower else None
        hi = rest[-1] if self.upper else None
        return x, lo, hi

    def infer(self, *types: TensorType) -> TensorType:
        x, lo, hi = self.bounds(types)
        shape = broadcast_shapes(*(tensor(t).shape for t in types))
        dtype = tensor(x).dtype
        if lo is not None:
            dtype = ufunc_dtype(np.maximum, dtype, lo.dtype)
        if hi is not None:
            dtype = ufunc_dtype(np.minimum, dtype, hi.dtype)
        return TensorType(shape, dtype)

    def compute(self, *values: np.ndarray) -> np.ndarray:
        return np.clip(*self.bounds(values))

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """op(lift(xᵢ)): elementwise"""
        return batch_elementwise(self, node, xs, batched)

    def partials(self, node: Node) -> tuple[Partial, ...]:
        """clip = min(max(x, lo), hi): ∂/∂hi = [max(x, lo) > hi] (hi wins where the bounds
        cross, as in NumPy), ∂/∂lo = [x < lo] elsewhere, ∂/∂x = 1 where neither.  So
        ẏ = where(above, ḣi, where(below, l̇o, ẋ))"""
        x, lo, hi = self.bounds(node.inputs)
        dx: Partial = 1
        dlo: Partial = None
        if lo is not None:
            below = less(x, lo)
            dx, dlo = Pick(below, 0, dx), Pick(below)
        if hi is None:
            return (dx,) if lo is None else (dx, dlo)
        above = greater(x if lo is None else maximum(x, lo), hi)
        dx = Pick(above, 0, dx)
        if lo is None:
            return dx, above
        return dx, Pick(above, 0, dlo), above


@dataclass(frozen=True)
class Nonzero(ZeroDerivative):
    """np.nonzero(x): for each axis, the int64 indices of the nonzero entries (run-time length)."""

    def infer(self, x: TensorType) -> TupleType:
        if known_ndim(x) == 0:
            raise ShapeError(
                "nonzero of a 0-d array is not defined (NumPy refuses it); use atleast_1d"
            )
        index = TensorType((None,), np.dtype(np.int64))
        return TupleType((index,) * known_ndim(x))

    def compute(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(i.astype(np.int64, copy=False) for i in np.nonzero(x))

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """Refused: each example has its own number of indices, so they do not stack"""
        raise BatchingError(
            f"nonzero: each example has its own number of nonzero entries, so vmap cannot "
            f"stack its indices; use where(condition, x, y) to select instead ({user_location()})"
        )


# -- public functions ----------------------------------------------------------
def maximum(a: Any, b: Any) -> Node:
    """Elementwise max; ties split the adjoint equally."""
    return binary(Maximum(), a, b)


def minimum(a: Any, b: Any) -> Node:
    """Elementwise min; ties split the adjoint equally."""
    return binary(Minimum(), a, b)


def fmax(x1: Any, x2: Any) -> Node:
    """Elementwise max ignoring NaN (the other operand is taken); ties split the adjoint."""
    return binary(Fmax(), x1, x2)


def fmin(x1: Any, x2: Any) -> Node:
    """Elementwise min ignoring NaN (the other operand is taken); ties split the adjoint."""
    return binary(Fmin(), x1, x2)


def clip(x: Any, lo: Any = None, hi: Any = None) -> Node:
    """np.clip(x, lo, hi); bounds may be nodes and receive gradients.  A bound given as
    ``None`` is not applied (one-sided, as in NumPy); with neither, ``x`` itself."""
    if lo is None and hi is None:
        return as_node(x)
    bounds = [b for b in (lo, hi) if b is not None]
    return Clip(lo is not None, hi is not None)(*as_nodes(x, *bounds))


@overload
def where(condition: Any) -> tuple[Node, ...]: ...
@overload
def where(condition: Any, x: Any, y: Any) -> Node: ...
def where(condition: Any, x: Any = None, y: Any = None) -> Node | tuple[Node, ...]:
    """np.where(condition, x, y) for a bool ``condition``: x where it holds, else y,
    broadcasting; no adjoint reaches the untaken branch.  With only ``condition``,
    ``nonzero(condition)``, as in NumPy."""
    if x is None and y is None:
        return nonzero(condition)
    if x is None or y is None:
        with building("where", *(a for a in (condition, x, y) if isinstance(a, Node))):
            raise ShapeError("give both x and y, or neither (then it is nonzero(condition))")
    return Where()(*as_nodes(condition, x, y))


def nonzero(a: Any) -> tuple[Node, ...]:
    """np.nonzero: one int64 index vector (length known at run time) per axis of ``a``,
    the positions of its nonzero (true) entries in C order; not differentiable.
    ``x[nonzero(m)]`` gathers them."""
    node = Nonzero()(as_node(a))
    return tuple(node)  # its entries: getitem of a tuple-valued node
