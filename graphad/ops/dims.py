"""Dims known only when values arrive, for the builders and rules that need them.

A builder that needs a length (a pad's gather index, a tile's target shape, the identity
mask of a decomposition's rule) asks :func:`dim`: the int when the dim is static, else a
0-d int64 node that reads it from the run-time shape.  From those, :func:`shape_vector`
makes the run-time shape operand that reshape and broadcast_to take.  Two ops complete it:

- ``AxisIndex``: the int64 gather index NumPy's own rule gives for an axis of the
  run-time length (``np.pad(arange(n), ...)``, ``np.roll(arange(n), s)``,
  ``arange(n)``), computed from the run-time shape (``shape_of``), so no derivative flows
  and no value is read;
- ``CheckDims``: the operand itself, once its dims meet a condition (a repeat's counts,
  a gradient's stencil, qr's M ≥ N), checked by its shape rule, which the Executor asks
  with the fed shapes before any kernel runs (and again by the kernel, for shapes no rule
  can know before run time).  Where the condition fixes a dim, its type says so, and the
  builders after it see a static dim.

With every dim static, none of this is made: the builders keep their static graphs.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from graphad.ir import (
    Node,
    ShapeError,
    TensorType,
    constant,
    format_shape,
    known_shape,
    normalize_axes,
)
from graphad.ir.dependence import SAME, Dependences, Detect
from graphad.ir.notation import ATOM, Term, atom, call, number, wrap
from graphad.ops._batching import rank, shift
from graphad.ops._constant import ZeroDerivative
from graphad.ops._linear import Linear
from graphad.ops._util import known_ndim, tensor
from graphad.ops.indexing import getitem
from graphad.ops.shape import BroadcastTo, Reshape, stack
from graphad.ops.utility import cast, shape_of

Dim = int | Node  # a static length, or a 0-d int64 node computing it at run time


def dim(x: Node, axis: int) -> Dim:
    """The length of ``x`` along ``axis``: an int when static, else a 0-d int64 node."""
    d = known_shape(x)[axis]
    return d if d is not None else getitem(shape_of(x), axis)


def static(d: Dim) -> int | None:
    """``d`` when it is static, else None (a shape's entry)."""
    return d if isinstance(d, int) else None


def shape_vector(dims: Sequence[Dim]) -> Node:
    """The int64 vector of ``dims``: a run-time shape operand for reshape and broadcast."""
    if all(isinstance(d, int) for d in dims):
        return constant(np.asarray(dims, dtype=np.int64))
    return stack([cast(d, np.int64) if isinstance(d, Node) else d for d in dims])


def reshape_to(x: Node, dims: Sequence[Dim]) -> Node:
    """``x`` reshaped to ``dims`` (ints or run-time lengths)."""
    shape = tuple(static(d) for d in dims)
    if None not in shape:
        return Reshape(shape)(x)
    return Reshape(shape)(x, shape_vector(dims))


def broadcast_to_dims(x: Node, dims: Sequence[Dim]) -> Node:
    """``x`` broadcast to ``dims`` (ints or run-time lengths)."""
    shape = tuple(static(d) for d in dims)
    if None not in shape:
        return BroadcastTo(shape)(x)
    return BroadcastTo(shape)(x, shape_vector(dims))


def product(a: Dim, b: Dim) -> Dim:
    """a·b for static or run-time lengths (an int64 node when either is one)."""
    return a * b  # int·int, or a node's operator


# -- gather indices of a run-time length ---------------------------------------------------
_PAD_MODES = ("edge", "reflect", "symmetric", "wrap")


def _check_index(kind: str, args: tuple[Any, ...], n: int) -> None:
    if kind == "pad":
        before, after, mode = args
        if mode not in _PAD_MODES:
            raise ShapeError(f"mode must be one of {', '.join(_PAD_MODES)}, got {mode!r}")
        if n == 0 or (mode == "reflect" and n == 1 and (before or after)):
            raise ShapeError(f"cannot pad an axis of length {n} in mode {mode!r}")


def _index_length(kind: str, args: tuple[Any, ...], shape: Any, axis: int) -> int | None:
    n = shape[axis]
    if kind == "diagonal":
        m = shape[axis + 1]  # the next axis: the columns (axis is non-negative here)
        return None if n is None or m is None else _diagonal_length(n, m, args[0])
    if n is None:
        return None
    if kind == "pad":
        return n + args[0] + args[1]
    return n  # range, roll


def _diagonal_length(n: int, m: int, offset: int) -> int:
    return builtins.max(0, builtins.min(n + builtins.min(offset, 0), m - builtins.max(offset, 0)))


def _index(kind: str, args: tuple[Any, ...], shape: Any, axis: int) -> np.ndarray:
    """NumPy's own rule applied to arange(n) (n = shape[axis])."""
    n = shape[axis]
    if kind == "diagonal":  # the rows or columns of the offset diagonal of (n, m) matrices
        offset, which = args
        m = shape[axis + 1]
        length = _diagonal_length(n, m, offset)
        start = builtins.max(-offset, 0) if which == "rows" else builtins.max(offset, 0)
        return np.arange(length, dtype=np.int64) + start
    positions = np.arange(n, dtype=np.int64)
    if kind == "pad":
        before, after, mode = args
        return np.pad(positions, (before, after), mode=mode)
    if kind == "roll":
        return np.roll(positions, args[0]) if n else positions
    return positions


@dataclass(frozen=True)
class AxisIndex(ZeroDerivative):
    """The int64 gather index NumPy's rule ``kind`` gives along ``axis`` of an array of the
    run-time shape it is given (``shape_of(x)``): ``"range"`` (arange(n)), ``"pad"``
    (np.pad(arange(n), (before, after), mode); ``args`` = (before, after, mode)),
    ``"roll"`` (np.roll(arange(n), shift); ``args`` = (shift,)), ``"diagonal"`` (the rows
    or the columns of the entries on the offset diagonal of the (n, m) matrices of this
    axis and the next; ``args`` = (offset, "rows" or "cols")).

    Its operand is a shape, not the array: a shape carries no derivative and no tangent's
    value (a decomposition's jvp stays linear when its mask is of a tangent's shape), and
    on Dask, whose arrays know their shapes, the index is a NumPy array."""

    axis: int
    kind: str
    args: tuple[Any, ...] = ()

    def infer(self, shape: TensorType) -> TensorType:
        dims = tensor(shape).shape
        ndim = dims[0] if dims is not None and len(dims) == 1 else None
        if ndim is None or shape.dtype.kind not in "iu":
            raise ShapeError(f"expects a shape (an int vector of known length), got {shape}")
        normalize_axes(self.axis, ndim)
        return TensorType((None,), np.dtype(np.int64))

    def notation(self, args: Sequence[Term]) -> Term:
        """arange(shape(x)[0]), and NumPy's pad or roll of it; the rows or columns of an
        offset diagonal as a call"""
        if self.kind == "diagonal":
            offset, which = self.args
            return call(f"diagonal_{which}", args, axis=self.axis, offset=offset)
        positions = call("arange", [atom(f"{wrap(args[0], ATOM)}[{self.axis}]")])
        if self.kind == "pad":
            before, after, mode = self.args
            return call("pad", [positions, atom(f"({before}, {after})")], mode=mode)
        if self.kind == "roll":
            return call("roll", [positions, number(self.args[0])])
        return positions

    def compute(self, shape: Any) -> np.ndarray:
        dims = tuple(int(d) for d in np.asarray(shape))
        (axis,) = normalize_axes(self.axis, len(dims))
        _check_index(self.kind, self.args, dims[axis])
        return _index(self.kind, self.args, dims, axis)


def axis_index(x: Node, axis: int, kind: str, *args: Any) -> Node:
    """``AxisIndex`` of ``x``'s axis: a constant when the dims it reads are static."""
    (axis,) = normalize_axes(axis, known_ndim(x.type))
    shape = x.shape
    if shape is None or _index_length(kind, tuple(args), shape, axis) is None:
        return AxisIndex(axis, kind, tuple(args))(shape_of(x))
    n = shape[axis]
    assert n is not None  # the length is known, so is the dim it is of
    _check_index(kind, tuple(args), n)
    return constant(_index(kind, tuple(args), shape, axis))


# -- conditions on run-time dims -----------------------------------------------------------
@dataclass(frozen=True)
class CheckDims(Linear):
    """``x`` itself, once ``x.shape[axis]`` is ``equal`` (when given), at least
    ``at_least``, at least the length of ``at_least_axis`` and equal to that of
    ``equal_axis`` (when given); ``what`` says whose condition it is, for the error.  Where
    ``equal`` fixes the dim, the type has it."""

    axis: int
    equal: int | None = None
    at_least: int = 0
    at_least_axis: int | None = None
    equal_axis: int | None = None
    what: str = ""

    def infer(self, x: TensorType) -> TensorType:
        ndim = known_ndim(x)
        (axis,) = normalize_axes(self.axis, ndim)
        self.check(x.shape)
        if self.equal is None:
            return x
        shape = list(known_shape(x))
        shape[axis] = self.equal
        return TensorType(tuple(shape), x.dtype)

    def check(self, shape: Any) -> None:
        """A ShapeError unless the dims of ``shape`` meet the condition (unknown ones do)."""
        n = shape[self.axis]
        if n is None:
            return
        other = None if self.at_least_axis is None else shape[self.at_least_axis]
        low = builtins.max(self.at_least, other if other is not None else 0)
        equal = self.equal if self.equal_axis is None else shape[self.equal_axis]
        if (equal is not None and n != equal) or n < low:
            want = f"{equal}" if equal is not None else f"at least {low}"
            raise ShapeError(
                f"{self.what}: axis {self.axis} of {format_shape(tuple(shape))} must have "
                f"length {want}"
            )

    def notation(self, args: Sequence[Term]) -> Term:
        """x: the value is its operand's (the check is no arithmetic)"""
        return args[0]

    def compute(self, x: Any) -> Any:
        self.check(np.shape(x))
        return x

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """entry i on entry i"""
        return (SAME,)

    def transpose(self, node: Node, g: Node) -> Node:
        """x̄ = g"""
        return g

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """The same check of xb's axes past the batch axis"""
        ndim = rank(node.inputs[0])

        def moved(a: int | None) -> int | None:
            return None if a is None else shift(normalize_axes(a, ndim))[0]

        return replace(
            self,
            axis=shift(normalize_axes(self.axis, ndim))[0],
            at_least_axis=moved(self.at_least_axis),
            equal_axis=moved(self.equal_axis),
        )(xs[0])


def checked(
    x: Node,
    axis: int,
    what: str,
    *,
    equal: int | None = None,
    at_least: int = 0,
    at_least_axis: int | None = None,
    equal_axis: int | None = None,
) -> Node:
    """``x``, its dim at ``axis`` checked now when the dims involved are static (a
    ShapeError), else by a ``CheckDims`` node when values arrive."""
    op = CheckDims(axis, equal, at_least, at_least_axis, equal_axis, what)
    involved = [a for a in (axis, at_least_axis, equal_axis) if a is not None]
    shape = known_shape(x)
    if all(shape[a] is not None for a in involved):
        op.check(shape)
        return x
    return op(x)
