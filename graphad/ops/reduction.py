"""Reductions: sum, mean, prod, max, min, logsumexp, var, std, argmax, argmin.

Every reduction takes NumPy's ``axis`` (int, tuple or ``None``) and
``keepdims``.  Tie rule for ``max``/``min``: the adjoint is split equally
among all entries equal to the extreme value (as JAX and PyTorch's ``amax``
do), so it is the average of the one-sided derivatives.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from graphad.ir import (
    DTypeError,
    Node,
    Op,
    ShapeError,
    TensorType,
    as_node,
    is_static,
    known_shape,
    normalize_axes,
    user_location,
)
from graphad.ir.dependence import Dependences, Detect, grouped, static_shape
from graphad.ir.native import MAXIMUM, MEAN, MINIMUM, PRODUCT, SUM, Call, Fold, fold
from graphad.ir.types import dims_product
from graphad.ops import elementwise as ew
from graphad.ops._batching import rank, shift
from graphad.ops._buffers import empty, plain
from graphad.ops._constant import ZeroDerivative
from graphad.ops._kernels import SUMMED, may_sum_short, short_sum
from graphad.ops._linear import Linear
from graphad.ops._util import (
    Tangents,
    as_array,
    as_int,
    axes_tuple,
    building,
    known_ndim,
    sole_tangent,
    tensor,
)
from graphad.ops.comparison import equal
from graphad.ops.complex_parts import conj, real_tangent
from graphad.ops.indexing import getitem
from graphad.ops.selection import where
from graphad.ops.shape import (
    ExpandDims,
    Transpose,
    broadcast_like,
    concatenate,
    reshape,
    reshape_batch,
    reshape_like,
    stack,
)
from graphad.ops.utility import cast, ones_like, shape_of


@dataclass(frozen=True)
class Reduce(Op):
    """A reduction over ``axis`` with NumPy's ``keepdims``."""

    axis: int | tuple[int, ...] | None = None
    keepdims: bool = False
    kernel: ClassVar[Any] = None
    # the fold this reduction is (graphad.ir.native), or None; and its finish
    fold_step: ClassVar[str | None] = None
    fold_finish: ClassVar[str] = "{0}"

    def axes(self, ndim: int) -> tuple[int, ...]:
        return normalize_axes(self.axis, ndim)

    def out_dtype(self, dtype: np.dtype) -> np.dtype:
        return dtype

    def infer(self, x: TensorType) -> TensorType:
        if tensor(x).ndim is None and self.axis is None:  # a full reduction needs no rank
            return TensorType(None if self.keepdims else (), self.out_dtype(x.dtype))
        dims = known_shape(x, "with an axis, the operand")
        axes = self.axes(len(dims))
        if self.keepdims:
            shape = tuple(1 if i in axes else d for i, d in enumerate(dims))
        else:
            shape = tuple(d for i, d in enumerate(dims) if i not in axes)
        return TensorType(shape, self.out_dtype(x.dtype))

    def compute(self, x: np.ndarray) -> np.ndarray:
        return as_array(self.kernel(x, axis=self.axis, keepdims=self.keepdims))

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node | None:
        """The same reduction of xb over the axes shifted past the batch axis"""
        return replace(self, axis=shift(self.axes(rank(node.inputs[0]))))(xs[0])

    def native(self, node: Node) -> Fold | Call | None:
        """The reduction as a fold of its float operand (of known rank)"""
        x = node.inputs[0]
        if self.fold_step is None or x.ndim is None or x.dtype.kind != "f":
            return None
        axes = self.axes(x.ndim)
        return fold(self.fold_step, axes, axes if self.keepdims else (), self.fold_finish)

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """each output entry on the entries reduced into it"""
        shape = static_shape(node.inputs[0].type)
        axes = self.axes(len(shape))
        kept = tuple(1 if i in axes else d for i, d in enumerate(shape))
        numbers = np.arange(math.prod(kept)).reshape(kept)
        return grouped(np.broadcast_to(numbers, shape), node)

    def partials(self, node: Node) -> Node:
        """∂y/∂x in x's shape: each entry's share of the output it is reduced into."""
        raise NotImplementedError(f"{self.name}: no partials")

    def vjp(self, node: Node, g: Node) -> tuple[Node | None, ...]:
        """x̄ = g·∂y/∂x, g spread back over the reduced axes (with strong zeros, as every
        product of a derivative and a partial: see :func:`~graphad.ops.elementwise.chain`)"""
        return (ew.chain(self.keep(node, g), self.partials(node)),)

    def jvp(self, node: Node, t: Tangents) -> Node | None:
        """ẏ = Σ ẋ·∂y/∂x over the reduced axes (its real part for a real y of a complex x)"""
        tangent = Sum(self.axis, self.keepdims)(ew.chain(sole_tangent(t), self.partials(node)))
        return real_tangent(node, tangent)

    # helpers shared by the rules
    def keep(self, node: Node, g: Node) -> Node:
        """``g`` (shaped like the output) with the reduced axes put back as length 1."""
        x = node.inputs[0]
        if self.keepdims or (x.ndim is None and self.axis is None):
            return g  # already broadcastable: keepdims, or a scalar
        return ExpandDims(self.axes(known_ndim(x)))(g)

    def spread(self, node: Node, g: Node) -> Node:
        """``g`` broadcast back over the reduced axes, to the operand's shape."""
        return broadcast_like(self.keep(node, g), node.inputs[0])

    def count(self, node: Node) -> Node | int:
        """How many entries each output reduces over (a node when dims are unknown)."""
        x = node.inputs[0]
        shape = x.shape
        if shape is None:  # a full reduction of unknown rank: the size of x
            return cast(Prod(None)(shape_of(x)), x.dtype)
        axes = self.axes(len(shape))
        size = dims_product(shape[a] for a in axes)
        if size is not None:
            return size
        n = Prod(None)(getitem(shape_of(x), list(axes)))
        return cast(n, x.dtype)


@dataclass(frozen=True)
class Sum(Linear, Reduce):
    kernel = staticmethod(np.sum)
    fold_step = SUM
    # its compute is np.sum's into the run's pool, or NumPy's own short sums: the same fold
    native = Reduce.native

    def compute(self, x: np.ndarray) -> np.ndarray:
        axis = self.axis
        if isinstance(axis, tuple) and len(axis) == 1:
            axis = axis[0]
        if isinstance(axis, int):  # an axis of a few entries: slice additions, NumPy's values
            total = short_sum(x, axis, self.keepdims)
            if total is not None:
                return total
        if type(x) is np.ndarray and x.dtype.kind == "f" and axis is not None:
            axes = normalize_axes(axis, x.ndim)  # into a buffer of the run's pool
            shape = tuple(
                1 if i in axes else d
                for i, d in enumerate(x.shape)
                if self.keepdims or i not in axes
            )
            out = empty(shape, x.dtype, like=x)
            return np.sum(x, axis=axes, keepdims=self.keepdims, out=out)
        return super().compute(x)

    def compute_for(self, node: Node) -> Callable[..., Any]:
        """A float sum of static shape over axes ``short_sum`` never takes, into a result
        too small for the pool: compute's own call, ``np.sum``'s reduction into a new
        C-ordered array, without np.sum's Python layers (GMM's small sums: 7-9 µs a call)"""
        x = node.inputs[0]
        shape = x.shape
        if not isinstance(self.axis, (int, tuple)) or shape is None or not is_static(shape):
            return self.compute
        if x.dtype not in SUMMED or not node.ndim or not plain(node.type):
            return self.compute
        axes = self.axes(len(shape))
        if may_sum_short(shape, axes):
            return self.compute
        out_shape, dtype = static_shape(node.type), x.dtype
        keepdims, compute = self.keepdims, self.compute

        def small(x: np.ndarray) -> Any:
            if type(x) is not np.ndarray or x.dtype != dtype:
                return compute(x)
            return np.add.reduce(x, axis=axes, out=np.empty(out_shape, dtype), keepdims=keepdims)

        return small

    def out_dtype(self, dtype: np.dtype) -> np.dtype:
        return np.sum(np.zeros(1, dtype)).dtype

    def transpose(self, node: Node, g: Node) -> Node:
        """x̄ = broadcast(g)"""
        return self.spread(node, g)


@dataclass(frozen=True)
class Mean(Linear, Reduce):
    kernel = staticmethod(np.mean)
    fold_step, fold_finish = SUM, MEAN

    def out_dtype(self, dtype: np.dtype) -> np.dtype:
        return np.mean(np.zeros(1, dtype)).dtype

    def transpose(self, node: Node, g: Node) -> Node:
        """x̄ = broadcast(g) / n"""
        return self.spread(node, g / self.count(node))


@dataclass(frozen=True)
class Prod(Reduce):
    kernel = staticmethod(np.prod)
    fold_step = PRODUCT

    def out_dtype(self, dtype: np.dtype) -> np.dtype:
        return np.prod(np.zeros(1, dtype)).dtype

    def partials(self, node: Node) -> Node:
        """∂y/∂xᵢ = ∏_{j≠i} xⱼ, by products only, so exact at zeros to every order."""
        x = node.inputs[0]
        shape = x.shape
        if shape is None:
            return self.partials_by_division(node)
        axes = self.axes(len(shape))
        n = dims_product(shape[a] for a in axes)
        kept = tuple(a for a in range(len(shape)) if a not in axes)
        perm = axes + kept
        moved = x if perm == tuple(range(len(perm))) else Transpose(perm)(x)
        rows = dims_product(shape[a] for a in kept)
        if n is None:  # reduced dims known only at run time: from two cumprods
            from graphad.ops.dims import dim, reshape_to
            from graphad.ops.scan import exclusive_products

            def length(of: tuple[int, ...]) -> Any:
                total: Any = 1
                for a in of:
                    total = total * dim(x, a)
                return total

            flat = reshape_to(moved, [length(axes), length(kept)])
            others = reshape_like(exclusive_products(flat, 0), moved)
        else:
            others = _exclusive_products(reshape(moved, (n, -1 if rows is None else rows)), n)
            others = reshape_like(others, moved)
        back = tuple(int(i) for i in np.argsort(perm))
        return others if moved is x else Transpose(back)(others)

    def partials_by_division(self, node: Node) -> Node:
        """∏_{j≠i} xⱼ as ∏ x / xᵢ, with the zeros handled apart: the values are exact at
        zeros but the derivatives there are not (for a rank unknown until run time)."""
        x = node.inputs[0]
        zero = equal(x, 0)
        nonzero_prod = self.keep(node, Prod(self.axis, self.keepdims)(where(zero, 1, x)))
        zeros = self.keep(node, Sum(self.axis, self.keepdims)(cast(zero, np.int64)))
        safe_x = where(zero, 1, x)
        return where(
            zero,
            where(equal(zeros, 1), nonzero_prod, 0),
            where(equal(zeros, 0), nonzero_prod / safe_x, 0),
        )


def _exclusive_products(x: Node, n: int) -> Node:
    """eᵢ = ∏_{j≠i} xⱼ down axis 0 (length n) by a tree of pairwise products.

    Pairs (x₂ₖ, x₂ₖ₊₁) multiply into n/2 rows whose exclusive products r come
    from the level above; then e₂ₖ = rₖ·x₂ₖ₊₁ and e₂ₖ₊₁ = rₖ·x₂ₖ.  No division
    and no case for zeros: only multiplications, so every derivative of e is
    exact too.  O(n) work in log₂ n levels.
    """
    if n <= 1:
        return ones_like(x)
    padded = concatenate([x, ones_like(getitem(x, slice(0, 1)))]) if n % 2 else x
    even, odd = getitem(padded, slice(0, None, 2)), getitem(padded, slice(1, None, 2))
    rest = _exclusive_products(even * odd, (n + 1) // 2)
    interleaved = reshape_like(stack([rest * odd, rest * even], axis=1), padded)
    return getitem(interleaved, slice(0, n)) if n % 2 else interleaved


@dataclass(frozen=True)
class _Extreme(Reduce):
    """Shared rules of max and min; private, so a pattern on ``Max`` never matches ``Min``."""

    def infer(self, x: TensorType) -> TensorType:
        out = super().infer(x)
        shape = x.shape
        if is_static(shape) and any(shape[a] == 0 for a in self.axes(len(shape))):
            raise ShapeError(f"{self.name} of an empty axis has no identity")
        return out

    def native(self, node: Node) -> Fold | Call | None:
        """The fold, over reduced dims known to be non-empty (NumPy refuses an empty one)"""
        shape = node.inputs[0].shape
        if shape is None or any(shape[a] is None for a in self.axes(len(shape))):
            return None
        return super().native(node)

    def partials(self, node: Node) -> Node:
        """∂y/∂xᵢ = [xᵢ = max] / #ties: ties share the cotangent equally"""
        x = node.inputs[0]
        hit = cast(equal(x, self.keep(node, node)), x.dtype)
        return hit / self.keep(node, Sum(self.axis, self.keepdims)(hit))


@dataclass(frozen=True)
class Max(_Extreme):
    kernel = staticmethod(np.max)
    fold_step = MAXIMUM


@dataclass(frozen=True)
class Min(_Extreme):
    kernel = staticmethod(np.min)
    fold_step = MINIMUM


@dataclass(frozen=True)
class LogSumExp(Reduce):
    name = "logsumexp"

    def out_dtype(self, dtype: np.dtype) -> np.dtype:
        return dtype if dtype.kind in "fc" else np.dtype(np.float64)

    def compute(self, x: np.ndarray) -> np.ndarray:
        # shift by the max so exp never overflows; an all -inf slice shifts by 0
        if type(x) is np.ndarray and x.dtype.kind == "f" and x.size and x.ndim:
            return self._floats(x)
        m = np.max(x, axis=self.axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        out = np.log(np.sum(np.exp(x - m), axis=self.axis, keepdims=True)) + m
        if not self.keepdims:
            out = np.squeeze(out, axis=self.axes(x.ndim))
        return out.astype(self.out_dtype(x.dtype), copy=False)

    def _floats(self, x: np.ndarray) -> np.ndarray:
        """compute's formula on a float array, the same calls on the same values, through
        the ufuncs' own reductions and in place: np.max, np.sum and np.where cost 1-3 µs a
        call in Python around the loops (GMM's logsumexp of 5 entries took 14 µs), and the
        shift, exp, log and + m make one temporary, not four"""
        axis = self.axis
        m = np.maximum.reduce(x, axis=axis, keepdims=True)
        finite = np.isfinite(m)
        if not finite.all():
            m = np.where(finite, m, 0)
        shifted = np.subtract(x, m)
        np.exp(shifted, out=shifted)
        out = np.add.reduce(shifted, axis=axis, keepdims=True)  # an array: keepdims
        np.log(out, out=out)
        np.add(out, m, out=out)
        if not self.keepdims:
            out = out.reshape([d for i, d in enumerate(out.shape) if i not in self.axes(x.ndim)])
        return out

    def native(self, node: Node) -> Call | None:
        """compute's formula over the whole of a float64 array, the max as m (0 where it
        is not finite), recomputed where it is read (small arrays: a step's)"""
        x = node.inputs[0]
        if x.dtype != np.float64 or not x.ndim or node.ndim != 0:
            return None
        m = "(np.max({0}) if np.isfinite(np.max({0})) else 0.0)"
        return Call(f"np.log(np.sum(np.exp({{0}} - {m}))) + {m}")

    def partials(self, node: Node) -> Node:
        """∂y/∂x = softmax(x) along the axes, from the output: exp(x - lse)"""
        return ew.exp(node.inputs[0] - self.keep(node, node))


@dataclass(frozen=True)
class _Spread(Reduce):
    """Shared parts of var and std; private, so a pattern on ``Var`` never matches ``Std``."""

    ddof: int | float = 0

    def out_dtype(self, dtype: np.dtype) -> np.dtype:
        return np.var(np.zeros(2, dtype)).dtype

    def centred(self, node: Node) -> Node:
        """(x - mean(x))‾ / (n - ddof): the derivative of var, halved (conjugated for a
        complex x: var = mean |x - mean x|² is real, so P = ∂/∂Re x - i·∂/∂Im x)"""
        x = node.inputs[0]
        c = x - Mean(self.axis, True)(x)
        return (conj(c) if x.dtype.kind == "c" else c) / (self.count(node) - self.ddof)


@dataclass(frozen=True)
class Var(_Spread):
    def compute(self, x: np.ndarray) -> np.ndarray:
        return as_array(np.var(x, axis=self.axis, keepdims=self.keepdims, ddof=self.ddof))

    def partials(self, node: Node) -> Node:
        """∂y/∂x = 2·(x - mean(x)) / (n - ddof)"""
        return 2 * self.centred(node)


@dataclass(frozen=True)
class Std(_Spread):
    def compute(self, x: np.ndarray) -> np.ndarray:
        return as_array(np.std(x, axis=self.axis, keepdims=self.keepdims, ddof=self.ddof))

    def partials(self, node: Node) -> Node:
        """∂y/∂x = (x - mean(x)) / ((n - ddof)·std), with std = 0 read as 1, so 0 there

        Where std is constant (one entry per output: a single element, axes of length 1)
        x - mean(x) is exactly 0 whatever x is, so this is exact at every order and in
        every mode.  At other points of zero variance (equal entries) std is a cone, not
        differentiable: the first derivative is taken as 0 (a subgradient, as abs at 0)
        and higher ones there are meaningless (the true ones are infinite)."""
        s = self.keep(node, node)
        return self.centred(node) / where(equal(s, 0), 1, s)


@dataclass(frozen=True)
class _ArgExtreme(ZeroDerivative, Reduce):
    """Index of the first extreme along one axis (int64; not differentiable)."""

    def infer(self, x: TensorType) -> TensorType:
        if self.axis is None:
            tensor(x)
            return TensorType((1,) * known_ndim(x) if self.keepdims else (), np.dtype(np.int64))
        return TensorType(super().infer(x).shape, np.dtype(np.int64))

    def compute(self, x: np.ndarray) -> np.ndarray:
        index = as_array(self.kernel(x, axis=self.axis, keepdims=self.keepdims))
        return index.astype(np.int64, copy=False)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node | None:
        """Along axis + 1; over all axes, of xb flattened to (B, -1)"""
        ndim = rank(node.inputs[0])
        if self.axis is not None:
            return replace(self, axis=shift(normalize_axes(self.axis, ndim))[0])(xs[0])
        flat = replace(self, axis=1, keepdims=False)(reshape_batch(xs[0], (-1,)))
        return reshape_batch(flat, (1,) * ndim) if self.keepdims else flat


@dataclass(frozen=True)
class ArgMax(_ArgExtreme):
    name = "argmax"
    kernel = staticmethod(np.argmax)


@dataclass(frozen=True)
class ArgMin(_ArgExtreme):
    name = "argmin"
    kernel = staticmethod(np.argmin)


# -- public functions ----------------------------------------------------------
def _reduce(cls: type[Reduce], x: Any, axis: Any, keepdims: bool, **kw: Any) -> Node:
    x = as_node(x)
    with building(cls().name, x):
        axes = axes_tuple(axis)
    return cls(axes, bool(keepdims), **kw)(x)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Node:  # noqa: A001
    """np.sum(x, axis, keepdims)"""
    return _reduce(Sum, x, axis, keepdims)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Node:
    """np.mean(x, axis, keepdims)"""
    return _reduce(Mean, x, axis, keepdims)


def prod(x: Any, axis: Any = None, keepdims: bool = False) -> Node:
    """np.prod(x, axis, keepdims); its derivative is exact at zeros."""
    return _reduce(Prod, x, axis, keepdims)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Node:  # noqa: A001
    """np.max(x, axis, keepdims); ties share the adjoint equally."""
    return _reduce(Max, x, axis, keepdims)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Node:  # noqa: A001
    """np.min(x, axis, keepdims); ties share the adjoint equally."""
    return _reduce(Min, x, axis, keepdims)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Node:
    """log(sum(exp(x))) along ``axis``, without overflow."""
    return _reduce(LogSumExp, x, axis, keepdims)


def _ddof(ddof: Any, name: str) -> int | float:
    """NumPy's ``ddof``: any real number (int() would read 1.5 as 1, a silently wrong n - ddof)."""
    real = isinstance(ddof, (int, float, np.integer, np.floating))
    if not real or isinstance(ddof, (bool, np.bool_)):
        raise DTypeError(f"{name}: ddof must be a real number, got {ddof!r} ({user_location()})")
    return int(ddof) if isinstance(ddof, (int, np.integer)) else float(ddof)


def var(x: Any, axis: Any = None, keepdims: bool = False, ddof: float = 0) -> Node:
    """np.var(x, axis, keepdims, ddof)"""
    return _reduce(Var, x, axis, keepdims, ddof=_ddof(ddof, "var"))


def std(x: Any, axis: Any = None, keepdims: bool = False, ddof: float = 0) -> Node:
    """np.std(x, axis, keepdims, ddof)"""
    return _reduce(Std, x, axis, keepdims, ddof=_ddof(ddof, "std"))


def _arg(cls: type[_ArgExtreme], x: Any, axis: int | None, keepdims: bool) -> Node:
    x = as_node(x)
    with building(cls().name, x):
        index = None if axis is None else as_int(axis, "axis")
    return cls(index, bool(keepdims))(x)


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Node:
    """np.argmax: int64 indices, not differentiable."""
    return _arg(ArgMax, x, axis, keepdims)


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Node:
    """np.argmin: int64 indices, not differentiable."""
    return _arg(ArgMin, x, axis, keepdims)
