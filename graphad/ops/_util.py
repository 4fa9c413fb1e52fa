"""Helpers shared by the op families: type checks and dtype resolution."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from graphad.ir import DTypeError, Node, ShapeError, TensorType, ValueType


def tensor(t: ValueType, what: str = "operand") -> TensorType:
    """``t`` as a tensor type, or a DTypeError saying a structure was given."""
    if not isinstance(t, TensorType):
        raise DTypeError(f"{what} must be a tensor, got {t}")
    return t


def known_ndim(t: ValueType, what: str = "operand") -> int:
    """The rank of ``t``; ops whose rule depends on it need it statically."""
    tt = tensor(t, what)
    if tt.ndim is None:
        raise ShapeError(f"{what} needs a known rank, got shape (...)")
    return tt.ndim


@lru_cache(maxsize=1024)
def ufunc_dtype(ufunc: np.ufunc, *dtypes: np.dtype) -> np.dtype:
    """The output dtype NumPy's ``ufunc`` picks for ``dtypes``, or a DTypeError."""
    try:
        resolved = ufunc.resolve_dtypes((*dtypes, None))
    except (TypeError, np.exceptions.DTypePromotionError) as e:
        names = ", ".join(d.name for d in dtypes)
        raise DTypeError(f"NumPy's {ufunc.__name__} does not accept {names}") from e
    return resolved[-1]


def add_tangents(*terms: Node | None) -> Node | None:
    """Sum of the tangent terms that are not ``None`` (zero)."""
    present = [t for t in terms if t is not None]
    if not present:
        return None
    total = present[0]
    for t in present[1:]:
        total = total + t
    return total


def is_float(t: ValueType) -> bool:
    return isinstance(t, TensorType) and t.dtype.kind in "fc"


def static_shape(node: Node) -> tuple[int, ...] | None:
    """The node's shape when every dim is known."""
    t = node.type
    return t.shape if isinstance(t, TensorType) and t.is_static else None  # type: ignore[return-value]


def axes_tuple(axis: int | Sequence[int] | None) -> tuple[int, ...] | int | None:
    """A hashable form of an ``axis`` argument, so ops stay values."""
    if axis is None or isinstance(axis, (int, np.integer)):
        return None if axis is None else int(axis)
    return tuple(int(a) for a in axis)
