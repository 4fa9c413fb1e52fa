"""Scans and differences: cumsum, cumprod, diff, gradient.

``cumsum`` is a linear op with its own kernel (``np.cumsum``, O(n)); its
adjoint is the reversed scan, the same op with ``reverse`` set.  ``cumprod``
is a tree of pairwise products (a parallel prefix scan): O(n) work in log₂ n
levels and no division, so, like ``prod``, its value and every derivative are
exact at zeros.  Where the length is unknown until run time the tree cannot be
built: ``CumProd`` runs np.cumprod, and its derivative is a linear recurrence
(``Recurrence``, a loop along the axis), exact at zeros too.  ``diff`` and
``gradient`` are differences of slices: linear and exact compositions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from graphad.ir import (
    Node,
    ShapeError,
    TensorType,
    as_node,
    constant,
    format_shape,
    known_shape,
    normalize_axes,
    result_dtype,
    shapes_compatible,
)
from graphad.ir.dependence import Dependence, Dependences, Detect, Product, numbering
from graphad.ir.notation import Term, atom, call
from graphad.ops._batching import rank, shift
from graphad.ops._linear import JvpOnly, Linear
from graphad.ops._util import (
    Tangents,
    as_int,
    building,
    is_float,
    known_ndim,
    one_axis,
    tensor,
)
from graphad.ops.building import along, moveaxis, pad, ravel
from graphad.ops.dims import broadcast_to_dims, checked, dim
from graphad.ops.indexing import getitem
from graphad.ops.shape import all_batched, concatenate, reshape, reshape_like, stack
from graphad.ops.utility import cast, ones_like


@dataclass(frozen=True)
class CumSum(Linear):
    """np.cumsum along ``axis``; ``reverse``: the sums from the end, flip∘cumsum∘flip."""

    axis: int
    reverse: bool = False

    def notation(self, args: Sequence[Term]) -> Term:
        """cumsum(x, axis=0); the sums from the end flip(cumsum(flip(x, 0), axis=0), 0)"""
        if not self.reverse:
            return call("cumsum", args, axis=self.axis)
        axis = atom(str(self.axis))
        flipped = call("flip", [args[0], axis])
        return call("flip", [call("cumsum", [flipped], axis=self.axis), axis])

    def infer(self, x: TensorType) -> TensorType:
        ndim = known_ndim(x)
        if not -ndim <= self.axis < ndim:
            raise ShapeError(f"axis {self.axis} is out of range for rank {ndim}")
        return TensorType(x.shape, np.cumsum(np.zeros(1, tensor(x).dtype)).dtype)

    def compute(self, x: np.ndarray) -> np.ndarray:
        if not self.reverse:
            return np.cumsum(x, axis=self.axis)
        return np.flip(np.cumsum(np.flip(x, self.axis), axis=self.axis), self.axis)

    def transpose(self, node: Node, g: Node) -> Node:
        """x̄ᵢ = Σ_{k≥i} gₖ: the scan in the other direction"""
        return replace(self, reverse=not self.reverse)(g)

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """yᵢ on x₀ … xᵢ along the axis (on xᵢ … x₋₁ for the reverse scan)"""
        return (_running(node, self.axis, self.reverse),)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """The same scan of xb along the axis shifted past the batch axis"""
        return replace(self, axis=shift(normalize_axes(self.axis, rank(node)))[0])(xs[0])


def _running(node: Node, axis: int, reverse: bool, first: bool = True) -> Dependence:
    """The local pattern of a running scan along ``axis`` over an input of node's shape:
    entry i on entries j ≤ i (j ≥ i for a scan from the end); ``first=False``: not on the
    entry the scan starts from (a recurrence's a₀, which multiplies nothing)."""
    numbers = np.moveaxis(numbering(node.type), axis, -1)
    length = numbers.shape[-1]
    out, into = np.tril_indices(length)
    if not first:
        out, into = out[into > 0], into[into > 0]
    if reverse:
        out, into = length - 1 - out, length - 1 - into
    size = numbers.size
    return Product(numbers[..., out], numbers[..., into], (size, size))


def _scanned(name: str, a: Any, axis: int | None, dtype: Any) -> tuple[Node, int]:
    """The operand of a scan (cast to ``dtype``, raveled when ``axis`` is None) and its axis."""
    a = as_node(a)
    with building(name, a):
        if dtype is not None:
            a = cast(a, dtype)
        if axis is None:
            a, axis = ravel(a), 0
        return a, one_axis(a, axis)


def cumsum(a: Any, axis: int | None = None, dtype: Any = None) -> Node:
    """np.cumsum: running sums along ``axis`` (of the raveled array when None)."""
    x, ax = _scanned("cumsum", a, axis, dtype)
    return CumSum(ax)(x)


def _prefix_products(x: Node, n: int) -> Node:
    """yᵢ = ∏_{j≤i} xⱼ down axis 0 (length n), by pairwise products only.

    Pairs (x₂ₖ, x₂ₖ₊₁) multiply into pₖ; the scan s of p gives the odd outputs
    y₂ₖ₊₁ = sₖ, and the even ones are y₂ₖ = sₖ₋₁·x₂ₖ (s₋₁ = 1).
    """
    if n <= 1:
        return x
    one = ones_like(along(x, slice(0, 1), 0))
    padded = concatenate([x, one]) if n % 2 else x
    even, odd = along(padded, slice(0, None, 2), 0), along(padded, slice(1, None, 2), 0)
    s = _prefix_products(even * odd, (n + 1) // 2)
    shifted = concatenate([one, along(s, slice(0, -1), 0)])
    interleaved = reshape_like(stack([shifted * even, s], axis=1), padded)
    return along(interleaved, slice(0, n), 0) if n % 2 else interleaved


def _shifted(x: Node, axis: int, later: bool, fill: float) -> Node:
    """x moved one place along ``axis``, ``fill`` entering: xᵢ₋₁ (``later``, as a forward
    scan reads its previous entry) or xᵢ₊₁; of x's length, known or not."""
    ndim = known_ndim(x.type)
    widths = [(0, 0)] * ndim
    widths[axis] = (1, 0) if later else (0, 1)
    padded = pad(x, widths, constant_values=fill)
    return along(padded, slice(None, -1) if later else slice(1, None), axis)


@dataclass(frozen=True)
class Recurrence(JvpOnly):
    """s with sᵢ = aᵢ·sᵢ₋₁ + bᵢ along ``axis`` (s₀ = b₀); ``reverse``: from the end,
    sᵢ = aᵢ·sᵢ₊₁ + bᵢ.  Linear in b, its transpose the recurrence the other way with a
    moved one place (Lᵀ of the lower triangle Lᵢⱼ = ∏ₖ₌ⱼ₊₁..ᵢ aₖ); exact at zeros, as it
    only multiplies and adds.  A loop over the axis, in its kernel: cumprod's derivative
    where the length is unknown until run time (a known one takes the product tree)."""

    axis: int
    reverse: bool = False

    linear = (1,)
    chunking = "whole"  # a loop along the axis: one task on Dask

    def infer(self, a: TensorType, b: TensorType) -> TensorType:
        if not shapes_compatible(tensor(a).shape, tensor(b).shape):
            raise ShapeError(f"a {format_shape(a.shape)} and b {format_shape(b.shape)} differ")
        normalize_axes(self.axis, known_ndim(b))
        return TensorType(b.shape, result_dtype(a.dtype, b.dtype))

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        dtype = np.result_type(a.dtype, b.dtype)
        a_rows, b_rows = np.moveaxis(a, self.axis, 0), np.moveaxis(b, self.axis, 0)
        out = np.empty(b_rows.shape, dtype)
        steps = range(len(b_rows) - 1, -1, -1) if self.reverse else range(len(b_rows))
        previous = None
        for i in steps:  # the first step has no previous term: inf·0 would be NaN
            previous = b_rows[i] if previous is None else a_rows[i] * previous + b_rows[i]
            out[i] = previous
        return np.moveaxis(out, 0, self.axis)

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """sᵢ on a₁ … aᵢ and b₀ … bᵢ along the axis (from the end: on aᵢ … a₋₂, bᵢ … b₋₁)"""
        forward = _running(node, self.axis, self.reverse, first=False)
        return (forward, _running(node, self.axis, self.reverse))

    def transpose(self, node: Node, g: Node, k: int) -> Node:
        """b̄ = the recurrence the other way of g, with a moved one place toward the end"""
        a = _shifted(node.inputs[0], self.axis, later=self.reverse, fill=0.0)
        return replace(self, reverse=not self.reverse)(a, g)

    def jvp(self, node: Node, t: Tangents) -> Node | None:
        """ṡ = the same recurrence of (a, ȧ·s₋ + ḃ), s₋ = s moved one place (0 entering)"""
        a = node.inputs[0]
        parts = []
        if t[0] is not None:
            parts.append(t[0] * _shifted(node, self.axis, later=not self.reverse, fill=0.0))
        if t[1] is not None:
            parts.append(t[1])
        return self(a, parts[0] if len(parts) == 1 else parts[0] + parts[1]) if parts else None

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """The same recurrence of the batch, along the axis past the batch axis"""
        (axis,) = shift(normalize_axes(self.axis, rank(node)))
        return replace(self, axis=axis)(*all_batched(xs, batched))


@dataclass(frozen=True)
class CumProd(JvpOnly):
    """np.cumprod along ``axis``, for an axis whose length is unknown until run time (a
    known one takes the tree of pairwise products).  Its derivative is a recurrence:
    yᵢ = xᵢ·yᵢ₋₁ gives ẏᵢ = xᵢ·ẏᵢ₋₁ + ẋᵢ·yᵢ₋₁ (y₋₁ = 1), exact at zeros."""

    axis: int

    chunking = "whole"  # np.cumprod along an axis: Dask's needs it whole

    def infer(self, x: TensorType) -> TensorType:
        normalize_axes(self.axis, known_ndim(x))
        return TensorType(x.shape, np.cumprod(np.ones(1, tensor(x).dtype)).dtype)

    def notation(self, args: Sequence[Term]) -> Term:
        """cumprod(x, axis=0), as NumPy names it"""
        return call("cumprod", args, axis=self.axis)

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.cumprod(x, axis=self.axis)

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """yᵢ on x₀ … xᵢ along the axis"""
        return (_running(node, self.axis, False),)

    def jvp(self, node: Node, t: Tangents) -> Node:
        """ẏ = recurrence(x, ẋ·y₋), y₋ = y moved one place later, 1 entering"""
        x = node.inputs[0]
        before = _shifted(node, self.axis, later=True, fill=1.0)
        return Recurrence(self.axis)(x, t[0] * before)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """np.cumprod of the batch along the axis past the batch axis"""
        (axis,) = shift(normalize_axes(self.axis, rank(node)))
        return CumProd(axis)(xs[0])


def exclusive_products(x: Node, axis: int) -> Node:
    """eᵢ = ∏_{j≠i} xⱼ along ``axis``, of a length known only at run time: the products of
    the entries before i times those after, from two cumprods; only products, so exact at
    zeros, derivatives included (prod's partials where its reduced dims are unknown)."""
    backwards = (slice(None),) * axis + (slice(None, None, -1),)
    before = _shifted(CumProd(axis)(x), axis, later=True, fill=1.0)
    after = _shifted(CumProd(axis)(getitem(x, backwards)), axis, later=True, fill=1.0)
    return before * getitem(after, backwards)


def cumprod(a: Any, axis: int | None = None, dtype: Any = None) -> Node:
    """np.cumprod: running products along ``axis`` (raveled when None); exact at zeros,
    derivatives included.  A tree of pairwise products where the axis's length is known,
    else one op whose derivative is a recurrence along the axis."""
    a, ax = _scanned("cumprod", a, axis, dtype)
    n = known_shape(a)[ax]
    if n is None:
        return CumProd(ax)(a)
    moved = moveaxis(a, ax, 0) if ax else a
    rows = reshape(moved, (n, -1)) if moved.ndim != 2 else moved
    out = reshape_like(_prefix_products(rows, n), moved)
    return moveaxis(out, 0, ax) if ax else out


def _edge(x: Node, axis: int, before: Any, what: str) -> Node:
    """``before`` (a scalar or an array) as a block to join to ``x`` along ``axis``."""
    value = as_node(before, [x])
    if value.ndim == 0:  # one entry along the axis, the other dims x's (at run time if unknown)
        dims = [dim(x, i) for i in range(known_ndim(x.type))]
        dims[axis] = 1
        return broadcast_to_dims(cast(value, np.result_type(value.dtype, x.dtype)), dims)
    return value


def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> Node:
    """np.diff: the n-th differences a[1:] - a[:-1] along ``axis`` (after joining
    ``prepend``/``append``; scalars are broadcast)."""
    a = as_node(a)
    with building("diff", a):
        n = as_int(n, "n")
        if n < 0:
            raise ShapeError(f"order must be non-negative, got {n}")
        ax = one_axis(a, axis)
        if prepend is not None or append is not None:
            parts = [
                *([_edge(a, ax, prepend, "prepend")] if prepend is not None else []),
                a,
                *([_edge(a, ax, append, "append")] if append is not None else []),
            ]
            a = concatenate(parts, axis=ax)
        for _ in range(n):
            a = along(a, slice(1, None), ax) - along(a, slice(None, -1), ax)
    return a


def _gradient_along(f: Node, axis: int, spacing: Any, edge_order: int) -> Node:
    """np.gradient along one axis, with NumPy's stencils term for term; the axis may be of
    a length known only when values arrive (then checked to be long enough, or to match
    the coordinates, before any kernel runs)."""
    n = known_shape(f)[axis]
    if n is not None and n < edge_order + 1:
        raise ShapeError(
            f"axis {axis} of length {n} is too short for edge_order={edge_order} "
            f"(needs {edge_order + 1})"
        )
    if n is None and np.ndim(spacing):  # coordinates: the axis has one entry per coordinate
        f = checked(f, axis, "gradient: coordinates", equal=int(np.size(spacing)))
        n = known_shape(f)[axis]
    f = checked(f, axis, f"gradient: edge_order={edge_order}", at_least=edge_order + 1)
    dtype = f.dtype if is_float(f.type) else np.dtype(np.float64)
    f = cast(f, dtype)
    trailing = (1,) * (known_ndim(f) - axis - 1)

    def part(start: int | None, stop: int | None) -> Node:
        return along(f, slice(start, stop), axis)

    def weighted(w: Sequence[Any], starts: Sequence[int | None], stops: Sequence[Any]) -> Node:
        terms = []
        for wk, lo, hi in zip(w, starts, stops):
            wk = np.asarray(wk, dtype)
            weight = constant(wk.reshape((-1, *trailing)) if wk.ndim else wk)
            terms.append(weight * part(lo, hi))
        return terms[0] + terms[1] + terms[2]

    coords = np.asarray(spacing, dtype=float)
    if coords.ndim and coords.shape != (n,):
        raise ShapeError(f"coordinates of shape {coords.shape} for an axis of length {n}")
    dx = np.diff(coords) if coords.ndim else None
    if dx is not None and np.all(dx == dx[0]):  # uniform coordinates: NumPy's uniform path
        coords, dx = np.asarray(dx[0]), None
    if dx is None:
        h = float(coords)
        inner = (part(2, None) - part(None, -2)) / (2.0 * h)
    else:
        d1, d2 = dx[:-1], dx[1:]
        abc = (-d2 / (d1 * (d1 + d2)), (d2 - d1) / (d1 * d2), d1 / (d2 * (d1 + d2)))
        inner = weighted(abc, (None, 1, 2), (-2, -1, None))
    h0, h1 = (h, h) if dx is None else (float(dx[0]), float(dx[-1]))
    if edge_order == 1:
        first = (part(1, 2) - part(0, 1)) / h0
        last = (part(-1, None) - part(-2, -1)) / h1
    else:
        if dx is None:
            w0 = (-1.5 / h, 2.0 / h, -0.5 / h)
            w1 = (0.5 / h, -2.0 / h, 1.5 / h)
        else:
            d1, d2 = dx[0], dx[1]
            w0 = (-(2 * d1 + d2) / (d1 * (d1 + d2)), (d1 + d2) / (d1 * d2), -d1 / (d2 * (d1 + d2)))
            d1, d2 = dx[-2], dx[-1]
            w1 = (d2 / (d1 * (d1 + d2)), -(d2 + d1) / (d1 * d2), (2 * d2 + d1) / (d2 * (d1 + d2)))
        first = weighted(w0, (0, 1, 2), (1, 2, 3))
        last = weighted(w1, (-3, -2, -1), (-2, -1, None))
    if n is None:  # one entry each (the axis was checked to be long enough): their type says so
        first = checked(first, axis, "gradient", equal=1)
        last = checked(last, axis, "gradient", equal=1)
    return concatenate([first, inner, last], axis=axis)


def gradient(
    f: Any, *varargs: Any, axis: int | Sequence[int] | None = None, edge_order: int = 1
) -> Node | list[Node]:
    """np.gradient: second-order central differences inside, one-sided ones of
    ``edge_order`` (1 or 2) at the ends; spacings are scalars or coordinate arrays
    (constants), one per axis or one for all.  One node per axis (a list when several)."""
    f = as_node(f)
    with building("gradient", f):
        ndim = known_ndim(f.type)
        if axis is None:
            axes = list(range(ndim))
        elif isinstance(axis, int) or np.ndim(axis) == 0:
            axes = [one_axis(f, axis)]
        else:
            axes = [one_axis(f, a) for a in axis]
        if edge_order not in (1, 2):
            raise ShapeError(f"edge_order must be 1 or 2, got {edge_order}")
        if any(isinstance(v, Node) for v in varargs):
            raise ShapeError("spacings must be constants (scalars or coordinate arrays)")
        if len(varargs) == 0:
            spacings: list[Any] = [1.0] * len(axes)
        elif len(varargs) == 1 and np.ndim(varargs[0]) == 0:
            spacings = [varargs[0]] * len(axes)
        elif len(varargs) == len(axes):
            spacings = list(varargs)
        else:
            raise ShapeError(f"{len(varargs)} spacings for {len(axes)} axes")
        out = [_gradient_along(f, ax, h, edge_order) for ax, h in zip(axes, spacings)]
    return out[0] if len(out) == 1 else out
