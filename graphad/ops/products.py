"""Tensor products: tensordot, inner, kron, cross.

Each is an exact composition: ``tensordot`` and ``inner`` are einsums (one
contraction, planned by NumPy); ``kron`` is an outer product of interleaved
reshapes, then a reshape; ``cross`` is differences of products of the
components.  Their derivatives are those of the ops they are made of.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import numpy as np

from graphad.ir import Node, ShapeError, as_nodes, normalize_axes
from graphad.ops import elementwise as ew
from graphad.ops._util import as_int, building, known_ndim
from graphad.ops.building import moveaxis
from graphad.ops.dims import checked, dim, product, reshape_to
from graphad.ops.indexing import getitem
from graphad.ops.linalg import einsum
from graphad.ops.shape import expand_dims, stack


def _axes_pair(axes: Any, na: int, nb: int) -> tuple[list[int], list[int]]:
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if not 0 <= n <= min(na, nb):
            raise ShapeError(f"cannot contract {n} axes of ranks {na} and {nb}")
        return list(range(na - n, na)), list(range(n))
    try:
        left, right = axes
    except (TypeError, ValueError):
        raise ShapeError(f"axes must be an int or a pair of sequences, got {axes!r}") from None
    left = [left] if isinstance(left, (int, np.integer)) else list(left)
    right = [right] if isinstance(right, (int, np.integer)) else list(right)
    if len(left) != len(right):
        raise ShapeError(f"axes {axes!r} pair {len(left)} with {len(right)} axes")
    return (
        [normalize_axes(as_int(i, "axis"), na)[0] for i in left],
        [normalize_axes(as_int(i, "axis"), nb)[0] for i in right],
    )


def tensordot(a: Any, b: Any, axes: Any = 2) -> Node:
    """np.tensordot: sum over a's ``axes[0]`` against b's ``axes[1]`` (an int N: a's last
    N against b's first N); the result has a's free axes, then b's."""
    a, b = as_nodes(a, b)
    with building("tensordot", a, b):
        na, nb = known_ndim(a.type), known_ndim(b.type)
        left, right = _axes_pair(axes, na, nb)
        letters = iter(string.ascii_letters)
        sa = [next(letters) for _ in range(na)]
        sb = [next(letters) for _ in range(nb)]
        for i, j in zip(left, right):
            sb[j] = sa[i]
        out = [c for i, c in enumerate(sa) if i not in left]
        out += [c for j, c in enumerate(sb) if j not in right]
        return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


def inner(a: Any, b: Any) -> Node:
    """np.inner: sum over the last axes; shape a.shape[:-1] + b.shape[:-1] (a product for
    scalars)."""
    a, b = as_nodes(a, b)
    with building("inner", a, b):
        if known_ndim(a.type) == 0 or known_ndim(b.type) == 0:
            return ew.multiply(a, b)
        return tensordot(a, b, ([-1], [-1]))


def kron(a: Any, b: Any) -> Node:
    """np.kron: the block matrix [a_ij · b], in any rank (the shorter shape padded with
    leading 1s); out[i·nb + j] = a[i]·b[j] along each axis."""
    a, b = as_nodes(a, b)
    with building("kron", a, b):
        n = max(known_ndim(a.type), known_ndim(b.type))
        a = expand_dims(a, tuple(range(n - a.ndim))) if a.ndim < n else a
        b = expand_dims(b, tuple(range(n - b.ndim))) if b.ndim < n else b
        spread_a = expand_dims(a, tuple(range(1, 2 * n, 2)))  # (a₀, 1, a₁, 1, …)
        spread_b = expand_dims(b, tuple(range(0, 2 * n, 2)))  # (1, b₀, 1, b₁, …)
        dims = [product(dim(a, i), dim(b, i)) for i in range(n)]  # run-time where unknown
        return reshape_to(spread_a * spread_b, dims)


def cross(
    a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None
) -> Node:
    """np.cross of 3-vectors along ``axisa``/``axisb`` (``axis`` sets all three), the other
    axes broadcast; the result's vector axis is ``axisc``."""
    a, b = as_nodes(a, b)
    with building("cross", a, b):
        if axis is not None:
            axisa = axisb = axisc = axis
        a = moveaxis(a, axisa, -1)
        b = moveaxis(b, axisb, -1)
        if {a.shape[-1], b.shape[-1]} - {3, None}:
            raise ShapeError(
                f"takes 3-vectors, got {a.shape[-1]} and {b.shape[-1]} "
                "(NumPy 2 deprecates 2-vectors)"
            )
        a = checked(a, -1, "cross: 3-vectors", equal=3)  # when values arrive, if unknown
        b = checked(b, -1, "cross: 3-vectors", equal=3)
        x: Sequence[Node] = [getitem(a, (Ellipsis, i)) for i in range(3)]
        y: Sequence[Node] = [getitem(b, (Ellipsis, i)) for i in range(3)]
        c = stack(
            [x[(i + 1) % 3] * y[(i + 2) % 3] - x[(i + 2) % 3] * y[(i + 1) % 3] for i in range(3)],
            axis=-1,
        )
        ndim = known_ndim(c)
        return moveaxis(c, -1, axisc) if normalize_axes(axisc, ndim)[0] != ndim - 1 else c
