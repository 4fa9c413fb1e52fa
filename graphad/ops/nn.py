"""Neural-network ops: softmax and log_softmax, numerically stable along an axis.

Both state their derivative once, as a jvp linear in ẋ (:class:`~graphad.ops._linear.JvpOnly`);
the reverse pass transposes it into x̄ = y·(g - Σ g·y) and x̄ = g - softmax(x)·Σ g.  Their
products of a derivative and y have strong zeros (:func:`~graphad.ops.elementwise.chain`),
as every rule's do, so both modes agree where y underflows to 0 and ẋ or g is infinite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from graphad.ir import Node, TensorType, as_node, normalize_axes
from graphad.ops import elementwise as ew
from graphad.ops._batching import rank
from graphad.ops._linear import JvpOnly
from graphad.ops._util import Tangents, as_int, building, known_ndim, sole_tangent
from graphad.ops.reduction import Sum


@dataclass(frozen=True)
class _Normalize(JvpOnly):
    """The shape rule of softmax and log_softmax; private, so patterns tell them apart."""

    axis: int = -1

    def infer(self, x: TensorType) -> TensorType:
        normalize_axes(self.axis, known_ndim(x))
        return TensorType(x.shape, x.dtype if x.dtype.kind in "fc" else np.dtype(np.float64))

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """The same op of xb along axis + 1"""
        (axis,) = normalize_axes(self.axis, rank(node))
        return replace(self, axis=axis + 1)(xs[0])


@dataclass(frozen=True)
class Softmax(_Normalize):
    """exp(x - max) / sum(exp(x - max)) along ``axis``."""

    def compute(self, x: np.ndarray) -> np.ndarray:
        e = np.exp(x - np.max(x, axis=self.axis, keepdims=True))
        return e / np.sum(e, axis=self.axis, keepdims=True)

    def jvp(self, node: Node, t: Tangents) -> Node:
        """ẏ = y·(ẋ - Σ y·ẋ)   (the products with y have strong zeros, as in every rule)"""
        dx = sole_tangent(t)
        return ew.chain(dx - Sum(self.axis, True)(ew.chain(dx, node)), node)


@dataclass(frozen=True)
class LogSoftmax(_Normalize):
    """x - logsumexp(x) along ``axis``."""

    def compute(self, x: np.ndarray) -> np.ndarray:
        shifted = x - np.max(x, axis=self.axis, keepdims=True)
        return shifted - np.log(np.sum(np.exp(shifted), axis=self.axis, keepdims=True))

    def jvp(self, node: Node, t: Tangents) -> Node:
        """ẏ = ẋ - Σ softmax(x)·ẋ   (the product with softmax(x) has strong zeros)"""
        dx = sole_tangent(t)
        return dx - Sum(self.axis, True)(ew.chain(dx, ew.exp(node)))


def softmax(x: Any, axis: int = -1) -> Node:
    """Softmax along ``axis`` (stable: the max is subtracted first)."""
    x = as_node(x)
    with building("softmax", x):
        axis = as_int(axis, "axis")
    return Softmax(axis)(x)


def log_softmax(x: Any, axis: int = -1) -> Node:
    """log(softmax(x)) along ``axis``, computed as x - logsumexp(x)."""
    x = as_node(x)
    with building("log_softmax", x):
        axis = as_int(axis, "axis")
    return LogSoftmax(axis)(x)
