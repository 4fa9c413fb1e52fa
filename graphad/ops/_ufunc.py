"""The bases of the elementwise ops: a NumPy ufunc applied with its broadcasting and dtype rules.

The families built on them are :mod:`~graphad.ops.comparison` (booleans),
:mod:`~graphad.ops.selection` (maximum, minimum, clip, where) and
:mod:`~graphad.ops.elementwise` (arithmetic and transcendental functions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from graphad.ir import DTypeError, Node, Op, TensorType, broadcast_shapes
from graphad.ops._batching import rank
from graphad.ops._util import tensor, ufunc_dtype
from graphad.ops.shape import lift


def batch_elementwise(op: Op, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
    """The batch rule of every elementwise op: batched operands lifted to the output's rank,
    so NumPy broadcasting lines their batch axes up and repeats unbatched ones over them."""
    ndim = rank(node)
    return op(*(lift(x, ndim) if b else x for x, b in zip(xs, batched)))


@dataclass(frozen=True)
class Unary(Op):
    """An elementwise op of one tensor, computed by ``ufunc``."""

    ufunc: ClassVar[Any] = None
    elementwise = True

    def infer(self, x: TensorType) -> TensorType:
        dtype = ufunc_dtype(self.ufunc, tensor(x).dtype)
        return x if dtype is x.dtype else TensorType(x.shape, dtype)

    def compute(self, x: np.ndarray) -> np.ndarray:
        return self.ufunc(x)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """op(xb)"""
        return self(xs[0])


@dataclass(frozen=True)
class FloatUnary(Unary):
    """A unary op defined on floats; integer operands are promoted to float64."""

    def infer(self, x: TensorType) -> TensorType:
        dtype = tensor(x).dtype
        if dtype.kind in "fc":
            return x
        if dtype.kind == "b":
            raise DTypeError(f"{self.name} is not defined on bool")
        return TensorType(x.shape, np.dtype(np.float64))


@dataclass(frozen=True)
class Binary(Op):
    """An elementwise op of two tensors with NumPy broadcasting."""

    ufunc: ClassVar[Any] = None
    elementwise = True

    def infer(self, a: TensorType, b: TensorType) -> TensorType:
        shape = broadcast_shapes(tensor(a).shape, tensor(b).shape)
        dtype = ufunc_dtype(self.ufunc, a.dtype, b.dtype)
        # an operand's own type when the result has it (most nodes): one type object shared
        # down a chain instead of one made per node
        for t in (a, b):
            if t.shape is shape and t.dtype is dtype:
                return t
        return TensorType(shape, dtype)

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self.ufunc(a, b)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """op(lift(a), lift(b))"""
        return batch_elementwise(self, node, xs, batched)


def binary(op: Op, a: Any, b: Any) -> Node:
    """``op`` applied to two operands, arrays and scalars made constants."""
    return op(a, b)  # Op.__call__ makes constants of non-nodes and names itself if they fail


def unary(op: Op, x: Any) -> Node:
    """``op`` applied to one operand, an array or scalar made a constant."""
    return op(x)
