"""Sorting and ordering: argsort, argpartition (indices, not differentiable), and
sort, partition on top of them.

``sort(x)`` is ``x`` gathered at ``argsort(x)``: the permutation is data, a
node of int64 indices that carries no derivative, and the gather is the
ordinary ``getitem``, whose adjoint scatters the cotangent back through the
permutation (x̄[perm[i]] = ḡ[i]).  Sorting is continuous and piecewise linear;
at ties, where it has no derivative, the stable order decides which entry
receives which share (as in JAX).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from graphad.ir import (
    GraphError,
    Node,
    ShapeError,
    TensorType,
    as_node,
    known_shape,
    normalize_axes,
)
from graphad.ops._batching import rank, shift
from graphad.ops._constant import ZeroDerivative
from graphad.ops._util import as_int, building, known_ndim, one_axis, tensor
from graphad.ops.building import ravel
from graphad.ops.dims import axis_index
from graphad.ops.indexing import getitem
from graphad.ops.shape import expand_dims


@dataclass(frozen=True)
class _Ordering(ZeroDerivative):
    """Indices that order ``x`` along ``axis`` (int64, same shape); no derivative flows."""

    chunking = "whole"  # Dask's sorts need one chunk or differ in their results

    axis: int

    def infer(self, x: TensorType) -> TensorType:
        ndim = known_ndim(x)
        if not -ndim <= self.axis < ndim:
            raise ShapeError(f"axis {self.axis} is out of range for rank {ndim}")
        tensor(x)  # complex values in NumPy's lexicographic order, as maximum and < order them
        return TensorType(x.shape, np.dtype(np.int64))

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """The same ordering of xb along the axis shifted past the batch axis"""
        return replace(self, axis=shift(normalize_axes(self.axis, rank(node)))[0])(xs[0])


@dataclass(frozen=True)
class ArgSort(_Ordering):
    """np.argsort(x, axis, kind="stable")"""

    name = "argsort"

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.argsort(x, axis=self.axis, kind="stable").astype(np.int64, copy=False)


@dataclass(frozen=True)
class ArgPartition(_Ordering):
    """np.argpartition(x, kth, axis): the entries at ``kth`` are where sorting puts them."""

    name = "argpartition"
    kth: tuple[int, ...] = ()

    def infer(self, x: TensorType) -> TensorType:
        out = super().infer(x)
        n = known_shape(x)[self.axis]
        if n is not None and any(not -n <= k < n for k in self.kth):
            raise ShapeError(f"kth {self.kth} is out of range for an axis of length {n}")
        return out

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.argpartition(x, self.kth, axis=self.axis).astype(np.int64, copy=False)


def take_along_axis(arr: Any, indices: Any, axis: int | None) -> Node:
    """np.take_along_axis: ``arr`` gathered at ``indices`` along ``axis`` (raveled when
    None); the adjoint scatter-adds into the gathered positions."""
    arr, indices = as_node(arr), as_node(indices)
    with building("take_along_axis", arr, indices):
        if axis is None:
            arr, ax = ravel(arr), 0
        else:
            ax = one_axis(arr, axis)
        ndim = known_ndim(arr.type)
        if known_ndim(indices.type, "indices") != ndim:
            raise ShapeError(f"indices of rank {indices.ndim} for an array of rank {ndim}")
        index: list[Any] = []
        for i in range(ndim):
            if i == ax:
                index.append(indices)
                continue
            n = known_shape(arr)[i]
            if n is not None:
                index.append(np.arange(n).reshape([n if j == i else 1 for j in range(ndim)]))
            else:  # arange of the run-time length
                positions = axis_index(arr, i, "range")
                index.append(expand_dims(positions, [j for j in range(ndim) if j != i]))
    return getitem(arr, tuple(index))


def _check_kind(name: str, kind: Any, stable: Any) -> None:
    """``kind`` and ``stable`` as NumPy accepts them, checked by NumPy's own rule (asked on an
    empty array); graphad's order is stable whatever they say."""
    if kind is None and stable is None:
        return
    try:
        if name.endswith("partition"):
            np.partition(np.zeros(1), 0, kind=kind if kind is not None else "introselect")
        else:
            np.sort(np.zeros(0), kind=kind, stable=stable)
    except (TypeError, ValueError) as e:
        raise GraphError(str(e)) from None


def _ordered(
    name: str, a: Any, axis: int | None, order: Any, kind: Any = None, stable: Any = None
) -> tuple[Node, int]:
    a = as_node(a)
    with building(name, a):
        if order is not None:
            raise ShapeError("order= (fields of structured arrays) is not supported")
        _check_kind(name, kind, stable)
        if axis is None:
            return ravel(a), 0
        return a, one_axis(a, axis)


def argsort(a: Any, axis: int | None = -1, kind: Any = None, order: Any = None, *,
            stable: Any = None) -> Node:  # fmt: skip
    """np.argsort: int64 indices that sort ``a`` along ``axis`` (stably); not differentiable."""
    x, ax = _ordered("argsort", a, axis, order, kind, stable)
    return ArgSort(ax)(x)


def sort(a: Any, axis: int | None = -1, kind: Any = None, order: Any = None, *,
         stable: Any = None) -> Node:  # fmt: skip
    """np.sort: ``a`` gathered at its argsort; the adjoint scatters back through the
    permutation.  ``kind`` is accepted for NumPy's sake; the order is always stable."""
    x, ax = _ordered("sort", a, axis, order, kind, stable)
    return take_along_axis(x, ArgSort(ax)(x), ax)


def _kth(x: Node, kth: Any, ax: int) -> tuple[int, ...]:
    """The kth as the op keeps them: made non-negative where the axis's length is static
    (so equal partitions are one op), else as given, for NumPy to read when values arrive
    (the op's shape rule checks their range then, with the fed shapes)."""
    with building("partition", x):
        ks = tuple(as_int(k, "kth") for k in np.atleast_1d(kth))
        n = known_shape(x)[ax]
        if n is None:
            return tuple(sorted(ks))
        return tuple(sorted(k % n if -n <= k < n else k for k in ks))


def argpartition(a: Any, kth: Any, axis: int | None = -1, kind: Any = None,
                 order: Any = None) -> Node:  # fmt: skip
    """np.argpartition: int64 indices that put the ``kth`` entries in sorted place."""
    x, ax = _ordered("argpartition", a, axis, order, kind)
    return ArgPartition(ax, _kth(x, kth, ax))(x)


def partition(a: Any, kth: Any, axis: int | None = -1, kind: Any = None,
              order: Any = None) -> Node:  # fmt: skip
    """np.partition: ``a`` gathered at its argpartition (the same arrangement NumPy
    gives); the adjoint scatters back through it."""
    x, ax = _ordered("partition", a, axis, order, kind)
    return take_along_axis(x, ArgPartition(ax, _kth(x, kth, ax))(x), ax)
