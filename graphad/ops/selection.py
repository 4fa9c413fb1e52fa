"""Selection: maximum, minimum (and their NaN-ignoring fmax, fmin), clip and where, which
pick one operand per element; and nonzero, the indices where a condition holds.

Rules return adjoints in the broadcast (output) shape; the reverse pass
un-broadcasts them once.  Each rule sends the adjoint to the operand that
was picked and an exact zero to the others, which the strong-zero rules of
:mod:`~graphad.ops.elementwise` keep exact (no 0·inf = NaN in an untaken branch).

``nonzero`` (and ``where`` with only a condition) returns integer indices whose
number is known only at run time: no derivative flows, and its results have
unknown length.

Tie rules: ``maximum``/``minimum`` split the adjoint equally between equal
operands; ``clip`` sends the adjoint to ``x`` on the closed interval ``[lo, hi]``
and to the bound that was taken outside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from graphad.ir import (
    DTypeError,
    Node,
    Op,
    ShapeError,
    TensorType,
    TupleType,
    as_node,
    as_nodes,
    broadcast_shapes,
    user_location,
)
from graphad.ops._batching import BatchingError
from graphad.ops._constant import ZeroDerivative
from graphad.ops._ufunc import Binary, batch_elementwise, binary
from graphad.ops._util import Tangents, building, known_ndim, tensor, ufunc_dtype
from graphad.ops.comparison import (
    equal,
    greater,
    less,
    logical_and,
    logical_not,
    logical_or,
    not_equal,
)
from graphad.ops.utility import or_zeros


@dataclass(frozen=True)
class Extremum(Binary):
    """maximum or minimum: ``beats(a, b)`` says where ``a`` is taken (``greater`` for the
    maximum, ``less`` for the minimum); ties split the adjoint equally."""

    beats: ClassVar[Any] = None

    def vjp(self, node: Node, g: Node) -> tuple[Node, Node]:
        """ā = g·[a beats b] + g/2·[a = b], b̄ likewise"""
        a, b = node.inputs
        half = 0.5 * g
        return (
            where(self.beats(a, b), g, where(equal(a, b), half, 0)),
            where(self.beats(b, a), g, where(equal(a, b), half, 0)),
        )

    def jvp(self, node: Node, t: Tangents) -> Node:
        """ẏ = ȧ·[a beats b] + ḃ·[b beats a] + (ȧ + ḃ)/2·[a = b]"""
        a, b = node.inputs
        ta, tb = or_zeros(t[0], a), or_zeros(t[1], b)
        return where(self.beats(a, b), ta, where(equal(a, b), 0.5 * (ta + tb), tb))


@dataclass(frozen=True)
class Maximum(Extremum):
    ufunc = np.maximum
    commutative = True
    beats = staticmethod(greater)


@dataclass(frozen=True)
class Minimum(Extremum):
    ufunc = np.minimum
    commutative = True
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
class Clip(Op):
    """np.clip(x, lo, hi)"""

    elementwise = True

    def infer(self, x: TensorType, lo: TensorType, hi: TensorType) -> TensorType:
        shape = broadcast_shapes(tensor(x).shape, tensor(lo).shape, tensor(hi).shape)
        dtype = ufunc_dtype(np.minimum, ufunc_dtype(np.maximum, x.dtype, lo.dtype), hi.dtype)
        return TensorType(shape, dtype)

    def compute(self, x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        return np.clip(x, lo, hi)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """op(lift(xᵢ)): elementwise"""
        return batch_elementwise(self, node, xs, batched)

    def vjp(self, node: Node, g: Node) -> tuple[Node, Node, Node]:
        """clip = min(max(x, lo), hi): hī = g·[max(x, lo) > hi], lō = g·[x < lo ≤ hi],
        x̄ = g elsewhere (hi wins when the bounds cross, as in NumPy)"""
        above, below = self.cases(node)
        return where(below, 0, where(above, 0, g)), where(below, g, 0), where(above, g, 0)

    def jvp(self, node: Node, t: Tangents) -> Node:
        """ẏ = ḣi, l̇o or ẋ, whichever the clip returned"""
        above, below = self.cases(node)
        tx, tlo, thi = map(or_zeros, t, node.inputs)
        return where(above, thi, where(below, tlo, tx))

    @staticmethod
    def cases(node: Node) -> tuple[Node, Node]:
        """Where the result is hi, and where it is lo."""
        x, lo, hi = node.inputs
        above = greater(maximum(x, lo), hi)
        return above, logical_and(less(x, lo), logical_not(above))


@dataclass(frozen=True)
class Where(Op):
    """np.where(cond, a, b); the untaken operand's adjoint is exactly zero."""

    elementwise = True

    def infer(self, c: TensorType, a: TensorType, b: TensorType) -> TensorType:
        if tensor(c).dtype.kind != "b":
            raise DTypeError(f"condition must be bool, got {c.dtype.name} (compare with != 0)")
        shape = broadcast_shapes(c.shape, tensor(a).shape, tensor(b).shape)
        return TensorType(shape, np.result_type(a.dtype, b.dtype))

    def compute(self, c: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.where(c, a, b)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """op(lift(xᵢ)): elementwise"""
        return batch_elementwise(self, node, xs, batched)

    def vjp(self, node: Node, g: Node) -> tuple[None, Node, Node]:
        """ā = g·[c], b̄ = g·[¬c]"""
        c = node.inputs[0]
        return None, where(c, g, 0), where(c, 0, g)

    def jvp(self, node: Node, t: Tangents) -> Node:
        """ẏ = ȧ·[c] + ḃ·[¬c]"""
        c, a, b = node.inputs
        return where(c, or_zeros(t[1], a), or_zeros(t[2], b))


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


def clip(x: Any, lo: Any, hi: Any) -> Node:
    """np.clip(x, lo, hi); bounds may be nodes and receive gradients."""
    return Clip()(*as_nodes(x, lo, hi))


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
