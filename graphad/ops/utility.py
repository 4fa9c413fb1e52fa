"""Utility ops: zeros_like, ones_like, stop_gradient, cast, shape_of, and the shape of a node
asked of its operands' shapes (``shape_from_operands``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphad.ir import (
    Constant,
    DTypeError,
    ExecutionError,
    GraphError,
    Node,
    Op,
    TensorType,
    ValueType,
    as_dtype,
    as_node,
    fits,
    known_shape,
    user_location,
)
from graphad.ir.notation import ATOM, Term, atom, call, wrap
from graphad.ops._constant import ZeroDerivative
from graphad.ops._linear import Linear
from graphad.ops._util import tensor


@dataclass(frozen=True)
class _Filled(ZeroDerivative):
    """A constant array of the operand's shape and dtype; private, so that a pattern on
    ``ZerosLike`` never matches ``OnesLike``."""

    def infer(self, x: TensorType) -> TensorType:
        return tensor(x)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """op(xb): the op keeps every axis"""
        return self(xs[0])


@dataclass(frozen=True)
class ZerosLike(_Filled):
    """Zeros of the operand's shape and dtype; carries no gradient."""

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.zeros_like(x)


@dataclass(frozen=True)
class OnesLike(_Filled):
    """Ones of the operand's shape and dtype; carries no gradient."""

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.ones_like(x)


@dataclass(frozen=True)
class StopGradient(ZeroDerivative):
    """The identity in the forward pass; no derivative flows through it."""

    def infer(self, x: TensorType) -> TensorType:
        return tensor(x)

    def compute(self, x: np.ndarray) -> np.ndarray:
        return x

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """op(xb): the op keeps every axis"""
        return self(xs[0])


@dataclass(frozen=True)
class Cast(Linear):
    """``x.astype(dtype)``: linear; derivatives flow between float (and complex) dtypes only.

    Under the real pairing of :mod:`~graphad.ops.complex_parts`, a cast to a real dtype
    takes the real part, and its transpose casts the real cotangent back to complex."""

    elementwise = True

    dtype: np.dtype

    def notation(self, args: Sequence[Term]) -> Term:
        """x.astype(float32)"""
        return atom(f"{wrap(args[0], ATOM)}.astype({self.dtype.name})")

    def infer(self, x: TensorType) -> TensorType:
        return TensorType(tensor(x).shape, self.dtype)

    def compute(self, x: np.ndarray) -> np.ndarray:
        if x.dtype.kind == "c" and self.dtype.kind != "c":
            x = x.real  # dropping the imaginary part is the point (a complex adjoint of a real x)
        return x.astype(self.dtype, copy=False)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """op(xb): the op keeps every axis"""
        return self(xs[0])

    def transpose(self, node: Node, g: Node) -> Node:
        """x̄ = cast(g, x.dtype)"""
        return cast(g, node.inputs[0].dtype)


@dataclass(frozen=True)
class ShapeOf(ZeroDerivative):
    """The run-time shape of the operand as an int64 vector (resolves unknown dims); it does
    not depend on the values, so no derivative flows."""

    def notation(self, args: Sequence[Term]) -> Term:
        """shape(x)"""
        return call("shape", args)

    def infer(self, x: TensorType) -> TensorType:
        return TensorType((tensor(x).ndim,), np.dtype(np.int64))

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(np.shape(x), dtype=np.int64)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """shape(xb)[1:]: every example has the same shape, so the result is not batched"""
        from graphad.ops.indexing import getitem  # indexing builds on this module

        return getitem(self(xs[0]), slice(1, None))


@dataclass(frozen=True)
class Positions(ZeroDerivative):
    """np.arange(n) for n the run-time length of the operand's axis ``axis``, laid along the
    first of ``ndim`` axes (the others of length 1, to broadcast): the index of each entry
    along an axis whose length is known only at run time."""

    axis: int
    ndim: int = 1

    def infer(self, x: TensorType) -> TensorType:
        n = known_shape(x)[self.axis]
        return TensorType((n,) + (1,) * (self.ndim - 1), np.dtype(np.int64))

    def compute(self, x: np.ndarray) -> np.ndarray:
        n = np.shape(x)[self.axis]
        return np.arange(n, dtype=np.int64).reshape((n,) + (1,) * (self.ndim - 1))

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """positions along axis + 1 of xb: the same for every example, so not batched"""
        return Positions(self.axis + 1, self.ndim)(xs[0])


@dataclass(frozen=True)
class InferredShape(ZeroDerivative):
    """The run-time shape of ``op``'s result for operands of the run-time shapes it is given
    (int64 vectors, one per operand of type ``types``): ``op``'s shape rule asked when the
    values run, so a shape is known without computing the value it belongs to."""

    op: Op
    types: tuple[TensorType, ...] = field(repr=False)

    def infer(self, *shapes: ValueType) -> TensorType:
        out = self.op.infer(*self.types)
        return TensorType((tensor(out).ndim,), np.dtype(np.int64))

    def compute(self, *shapes: np.ndarray) -> np.ndarray:
        return _inferred(self, tuple(tuple(s.tolist()) for s in shapes))


@functools.lru_cache(maxsize=1024)
def _inferred(op: InferredShape, shapes: tuple[tuple[int, ...], ...]) -> np.ndarray:
    """The shape ``op`` infers for operands of ``shapes``: asked once per shapes, as a plan
    runs again on inputs of the same shapes (the rule costs more than the lookup)."""
    types = [TensorType(s, t.dtype) for s, t in zip(shapes, op.types)]
    out = op.op.infer(*types)
    if not isinstance(out, TensorType) or not out.is_static:
        raise ExecutionError(f"{op.op.name}: its shape rule gives {out} for {types}")
    shape = np.asarray(out.shape, dtype=np.int64)
    shape.flags.writeable = False  # shared by every run that asks it
    return shape


def shape_from_operands(node: Node, shape: Callable[[Node], Node]) -> Node | None:
    """A node computing ``node``'s run-time shape from its operands' (``shape(x)`` makes
    each) without computing ``node``: its op's shape rule, asked at run time, when that rule
    gives every dim for operands of known shapes; else the run-time shape operand that sets
    it (a reshape or broadcast to ``shape_of(like)`` has like's shape); else None."""
    xs = node.inputs
    if not isinstance(node.type, TensorType) or node.ndim is None:
        return None
    types = tuple(t for x in xs if isinstance(t := x.type, TensorType) and t.ndim is not None)
    if not xs or len(types) < len(xs):
        return None
    # is the rule static given static operands?  Asked with the unknown dims set to 1 (which
    # broadcasts), to each dim the operands know (which an unknown one may have to equal)
    known = sorted({d for t in types for d in known_shape(t) if d is not None})
    for probe in (1, *known, 7):
        try:
            out = node.op.infer(*(_probed(t, probe) for t in types))
        except GraphError:
            continue
        if isinstance(out, TensorType) and out.is_static:
            return InferredShape(node.op, types)(*(shape(x) for x in xs))
        break
    last = xs[-1]
    if isinstance(last.op, ShapeOf) and last.shape == (node.ndim,) and len(xs) > 1:
        return shape(last.inputs[0])
    return None


def _probed(t: TensorType, size: int) -> TensorType:
    return TensorType(tuple(size if d is None else d for d in known_shape(t)), t.dtype)


def zeros_like(x: Any) -> Node:
    """Zeros with the shape and dtype of ``x``."""
    return ZerosLike()(as_node(x))


def or_zeros(t: Node | None, like: Node) -> Node:
    """The tangent ``t``, or zeros like ``like`` where ``t`` is None (a zero tangent): for
    rules that must select or stack tangents rather than add them."""
    return zeros_like(like) if t is None else t


def ones_like(x: Any) -> Node:
    """Ones with the shape and dtype of ``x``."""
    return OnesLike()(as_node(x))


def stop_gradient(x: Any) -> Node:
    """``x`` itself, but derivatives treat it as a constant."""
    return StopGradient()(as_node(x))


def cast(x: Any, dtype: Any) -> Node:
    """``x.astype(dtype)``; a no-op node is not made when the dtype already matches."""
    x = as_node(x)
    try:
        dt = as_dtype(dtype)
    except DTypeError as e:
        raise DTypeError(f"cast({x.type}): {e} ({user_location()})") from None
    if isinstance(x.type, TensorType) and x.type.dtype == dt:
        return x
    return Cast(dt)(x)


def cast_exact(value: Any, dtype: np.dtype) -> Node:
    """``value`` (a node or an array-like) as a node of ``dtype``, as a feed of that dtype
    would be: cast where NumPy's ``same_kind`` rule allows it and, for a value given as an
    array, every entry fits; else a DTypeError saying what would be lost (an imaginary part,
    a fraction, a value out of range).  For arguments that stand for a placeholder's value
    or tangent (a ``vmap`` batch, a tangent, a seed), where ``cast`` would drop the
    imaginary part in silence."""
    x = as_node(value)
    if not isinstance(x.type, TensorType):
        raise DTypeError(f"is a structure {x.type}, not a tensor of {dtype.name}")
    if not np.can_cast(x.dtype, dtype, casting="same_kind"):
        why = "would drop its imaginary part" if x.dtype.kind == "c" else "is not same_kind"
        raise DTypeError(f"is {x.dtype.name}, but a cast to {dtype.name} {why}")
    if isinstance(x.op, Constant) and not fits(x.op.value, dtype):
        raise DTypeError(f"holds {x.dtype.name} values that do not fit in {dtype.name}")
    return cast(x, dtype)


def shape_of(x: Any) -> Node:
    """The run-time shape of ``x``, an int64 vector of length ``x.ndim``."""
    return ShapeOf()(as_node(x))
