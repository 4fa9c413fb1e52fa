"""Matrix structure: eye, identity, diag, diagonal, tril, triu.

``eye``/``identity`` are constants.  The others are exact compositions of
linear ops: ``diagonal`` gathers (``getitem`` with index arrays, whose adjoint
scatters back onto the diagonal), ``tril``/``triu`` and ``diag`` of a vector
select with a mask (``where``), so an inf on the diagonal stays inf and never
turns the zeros beside it into NaN as a product by 0 would.  The masks and
indices are constants where the dims are static, else made from the run-time
dims (:mod:`graphad.ops.dims`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphad.ir import Node, ShapeError, as_dtype, as_node, constant, normalize_axes
from graphad.ops._util import as_int, building, known_ndim
from graphad.ops.building import moveaxis, pad
from graphad.ops.comparison import equal, greater_equal, less_equal
from graphad.ops.dims import axis_index
from graphad.ops.indexing import getitem
from graphad.ops.selection import where
from graphad.ops.shape import broadcast_to, expand_dims
from graphad.ops.utility import zeros_like


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = float) -> Node:
    """np.eye: an (N, M) constant with ones on the k-th diagonal."""
    with building("eye"):
        n, m, k = as_int(N, "N"), None if M is None else as_int(M, "M"), as_int(k, "k")
        dtype = as_dtype(dtype)  # numbers only, as every entry point
    return constant(np.eye(n, m, k, dtype))


def identity(n: int, dtype: Any = float) -> Node:
    """np.identity: the (n, n) identity as a constant."""
    return eye(n, dtype=dtype)


def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Node:
    """np.diagonal: entries a[..., i, i + offset] of the plane (axis1, axis2), as the last
    axis after the others."""
    a = as_node(a)
    with building("diagonal", a):
        ndim = known_ndim(a.type)
        if ndim < 2:
            raise ShapeError("needs rank ≥ 2")
        (i,), (j,) = normalize_axes(axis1, ndim), normalize_axes(axis2, ndim)
        if i == j:
            raise ShapeError(f"axis1 and axis2 are both {i}")
        offset = as_int(offset, "offset")
        x = moveaxis(a, [i, j], [-2, -1])
        rows = axis_index(x, -2, "diagonal", offset, "rows")  # of the run-time dims if unknown
        cols = axis_index(x, -2, "diagonal", offset, "cols")
    return getitem(x, (Ellipsis, rows, cols))


def _triangle(name: str, m: Any, k: int, lower: bool) -> Node:
    m = as_node(m)
    with building(name, m):
        ndim = known_ndim(m.type)
        if ndim < 2:  # NumPy treats a vector as the rows of a square-broadcast matrix
            raise ShapeError("needs rank ≥ 2")
        n, cols = m.shape[-2], m.shape[-1]
        k = as_int(k, "k")
        if n is not None and cols is not None:
            mask = np.tri(n, cols, k if lower else k - 1, dtype=bool)
            keep = constant(mask if lower else ~mask)
        else:  # j - i ≤ k (lower) or ≥ k (upper), on the run-time dims
            i = expand_dims(axis_index(m, -2, "range"), -1)
            j = expand_dims(axis_index(m, -1, "range"), 0)
            keep = (less_equal if lower else greater_equal)(j - i, k)
    return where(keep, m, zeros_like(m))


def tril(m: Any, k: int = 0) -> Node:
    """np.tril: entries on and below the k-th diagonal of the last two axes, zeros above."""
    return _triangle("tril", m, k, True)


def triu(m: Any, k: int = 0) -> Node:
    """np.triu: entries on and above the k-th diagonal of the last two axes, zeros below."""
    return _triangle("triu", m, k, False)


def diag(v: Any, k: int = 0) -> Node:
    """np.diag: a vector (n,) onto the k-th diagonal of an (n+|k|, n+|k|) matrix, or the
    k-th diagonal of a matrix."""
    v = as_node(v)
    with building("diag", v):
        ndim = known_ndim(v.type)
        if ndim == 2:
            return diagonal(v, k)
        if ndim != 1:
            raise ShapeError("takes a vector or a matrix")
        n = v.shape[0]
        k = as_int(k, "k")
        if n is not None:
            row = broadcast_to(expand_dims(v, 0), (n, n))
            square = where(constant(np.eye(n, dtype=bool)), row, 0)
        else:  # the identity mask of the run-time length; where broadcasts v's row over it
            positions = axis_index(v, 0, "range")
            eye = equal(expand_dims(positions, -1), expand_dims(positions, 0))
            square = where(eye, expand_dims(v, 0), 0)
        if k == 0:
            return square
        return pad(square, ((0, k), (k, 0)) if k > 0 else ((-k, 0), (0, -k)))
