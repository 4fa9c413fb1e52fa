"""Helpers shared by the op families: type checks and dtype resolution."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any, overload

import numpy as np

from graphad.ir import (
    AxisError,
    DifferentiationError,
    DTypeError,
    GraphError,
    Node,
    ShapeError,
    SparseType,
    TensorType,
    Typed,
    ValueType,
    as_index,
    known_shape,
    normalize_axes,
    user_location,
)


def tensor(t: ValueType | None, what: str = "operand") -> TensorType:
    """``t`` as a tensor type, or a DTypeError saying a structure was given."""
    if not isinstance(t, TensorType):
        # a sparse matrix (a sparse Jacobian) says how to get a tensor from it
        hint = "; ga.todense(s) makes a sparse matrix a tensor" if isinstance(t, SparseType) else ""
        raise DTypeError(f"{what} must be a tensor, got {t}{hint}")
    return t


def known_ndim(t: ValueType | Typed, what: str = "operand") -> int:
    """The rank of ``t``; ops whose rule depends on it need it statically."""
    return len(known_shape(t, what))


@lru_cache(maxsize=1024)
def ufunc_dtype(ufunc: np.ufunc, *dtypes: np.dtype) -> np.dtype:
    """The output dtype NumPy's ``ufunc`` picks for ``dtypes``, or a DTypeError."""
    try:
        resolved = ufunc.resolve_dtypes((*dtypes, None))
    except (TypeError, np.exceptions.DTypePromotionError) as e:
        names = ", ".join(d.name for d in dtypes)
        raise DTypeError(f"NumPy's {ufunc.__name__} does not accept {names}") from e
    return resolved[-1]


Tangents = Sequence[Node | None]  # one tangent per input of a node; None is a zero tangent


def as_array(value: Any) -> Any:
    """A kernel's result as an array: NumPy's 0-d results are scalars; a lazy (Dask) array
    passes as it is, where ``np.asarray`` would compute it."""
    if isinstance(value, np.ndarray) or hasattr(value, "__dask_graph__"):
        return value
    return np.asarray(value)


def is_float(t: ValueType) -> bool:
    return isinstance(t, TensorType) and t.is_float


def as_int(value: object, what: str) -> int:
    """``value`` as a Python int, refusing floats and strings as NumPy does."""
    return as_index(value, what, AxisError)


@overload
def axes_tuple(axis: None) -> None: ...
@overload
def axes_tuple(axis: int | Sequence[int]) -> tuple[int, ...] | int: ...
def axes_tuple(axis: int | Sequence[int] | None) -> tuple[int, ...] | int | None:
    """A hashable form of an ``axis`` argument (int, tuple of ints or None), so ops stay values."""
    if axis is None:
        return None
    if isinstance(axis, (Sequence, np.ndarray)) and not isinstance(axis, str):
        return tuple(as_int(a, "axis") for a in axis)
    return as_int(axis, "axis")


@contextlib.contextmanager
def building(name: str, *operands: Any) -> Iterator[None]:
    """Arguments checked before an op is made fail like the op would: with the op's name,
    the operand types and the user's line."""
    try:
        yield
    except GraphError as e:
        types = ", ".join(str(x.type) for x in operands if isinstance(x, Node))
        raise type(e)(f"{name}({types}): {e} ({user_location()})") from None


def sole_tangent(t: Tangents) -> Node:
    """The tangent of a one-input op's input: the forward pass calls a rule only when some
    input's tangent is not zero, so for one input it never is."""
    (tangent,) = t
    if tangent is None:
        raise DifferentiationError("jvp called with a zero tangent for the one input")
    return tangent


def static_dim(x: Node, axis: int, name: str) -> int:
    """The length of ``x`` along ``axis``, which ``name`` needs when the node is built."""
    d = known_shape(x, name)[axis]
    if d is None:
        raise ShapeError(f"{name} needs the length of axis {axis} when the node is built")
    return d


def one_axis(x: Node, axis: Any) -> int:
    """``axis`` of ``x`` as a non-negative int, or an AxisError."""
    (a,) = normalize_axes(as_int(axis, "axis"), known_ndim(x.type))
    return a
