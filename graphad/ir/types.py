"""Static types of node values: tensors with partly known shapes, and structures.

A shape is ``None`` (unknown rank) or a tuple whose entries are ``int`` or
``None`` (unknown dimension).  Broadcasting and dtype promotion follow NumPy;
whatever cannot be decided statically is left unknown and checked at run time.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, SupportsIndex, TypeGuard, cast, overload

import numpy as np
from numpy.typing import DTypeLike

from graphad.ir.errors import DTypeError, ShapeError
from graphad.ir.pattern import Pattern

Dims = tuple[int | None, ...]  # a shape of known rank, dims possibly unknown
Shape = Dims | None
_FLOAT64 = np.dtype(np.float64)
_NUMERIC = "biufc"  # bool, signed and unsigned integers, floats, complex


def as_dtype(dtype: DTypeLike) -> np.dtype:
    """``dtype`` as a NumPy dtype graphad computes with: bool, integer, float or complex.

    The one dtype check behind placeholders, constants, casts and ``TensorType``: object,
    string, bytes, datetime and void arrays have no arithmetic to differentiate.
    """
    if isinstance(dtype, np.dtype) and dtype.kind in _NUMERIC:  # the common case, kept cheap
        return dtype
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        raise DTypeError(f"unknown dtype {dtype!r}") from None
    if dt.kind not in _NUMERIC:
        raise DTypeError(f"dtype {dt} is not supported, only bool and numbers")
    return dt


@dataclass(frozen=True, slots=True)  # slots: one object per type, not two (10⁵-node graphs)
class TensorType:
    """An n-d array type: ``shape`` (dims may be ``None``) and a NumPy ``dtype``."""

    shape: Shape
    dtype: np.dtype = _FLOAT64

    def __post_init__(self) -> None:
        object.__setattr__(self, "dtype", as_dtype(self.dtype))
        if self.shape is not None and not _plain(self.shape):
            try:
                shape = tuple(None if d is None else operator.index(d) for d in self.shape)
            except TypeError:
                raise ShapeError(f"a shape holds ints or None, got {self.shape!r}") from None
            if any(d is not None and d < 0 for d in shape):
                raise ShapeError(f"negative dimension in shape {shape}")
            object.__setattr__(self, "shape", shape)

    @classmethod
    def of_array(cls, value: np.ndarray) -> TensorType:
        """The type of a NumPy array: its shape (a tuple of ints, valid by construction) is
        taken as it is and only its dtype checked, at a third of the checked constructor's
        cost (every constant a rewrite folds makes one)."""
        t = object.__new__(cls)
        object.__setattr__(t, "shape", value.shape)
        object.__setattr__(t, "dtype", as_dtype(value.dtype))
        return t

    @property
    def ndim(self) -> int | None:
        return None if self.shape is None else len(self.shape)

    @property
    def is_static(self) -> bool:
        """True when every dimension is known."""
        return self.shape is not None and None not in self.shape

    @property
    def size(self) -> int | None:
        # math.prod of the int dims: np.prod of a tuple costs microseconds, and rules ask this
        # of every node they look at
        shape = self.shape
        return math.prod(shape) if is_static(shape) else None

    @property
    def is_float(self) -> bool:
        return self.dtype.kind in "fc"

    def accepts(self, shape: tuple[int, ...]) -> bool:
        """Whether a concrete ``shape`` is an instance of this (partial) shape."""
        if self.shape is None:
            return True
        return len(shape) == len(self.shape) and all(
            d is None or d == s for d, s in zip(self.shape, shape)
        )

    def __str__(self) -> str:
        return f"{format_shape(self.shape)}:{self.dtype.name}"


@dataclass(frozen=True)
class TupleType:
    """A tuple of value types.

    An item may be ``None``: an absent entry (value ``None``), which is how a
    sparse adjoint says "zero here" without building zeros.
    """

    items: tuple[ValueType | None, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(as_type(t) for t in self.items))

    def __str__(self) -> str:
        parts = ["∅" if t is None else str(t) for t in self.items]
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


@dataclass(frozen=True)
class DictType:
    """A dict of value types with string keys, kept in insertion order.

    A sparse adjoint leaves out the keys that carry zero.
    """

    items: tuple[tuple[str, ValueType], ...]

    def __post_init__(self) -> None:
        pairs = self.items.items() if isinstance(self.items, dict) else self.items
        items = tuple((k, as_type(t)) for k, t in pairs)
        for k, _ in items:
            if not isinstance(k, str):
                raise TypeError(f"dict keys must be strings, got {k!r}")
        object.__setattr__(self, "items", items)

    def keys(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.items)

    def __contains__(self, key: object) -> bool:
        return any(k == key for k, _ in self.items)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __getitem__(self, key: str) -> ValueType:
        return dict(self.items)[key]

    def __str__(self) -> str:
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in self.items) + "}"


@dataclass(frozen=True)
class SparseType:
    """A 2-D sparse matrix whose pattern is known when the graph is built.

    Its value is a ``scipy.sparse.csr_array`` holding exactly the entries of ``pattern``
    (rows sorted, as the pattern's): what ``jacobian(..., sparse=True)`` evaluates to.
    Dense ops refuse it (their operands must be tensors); ``todense`` and
    ``sparse_values`` turn it into tensors.
    """

    pattern: Pattern
    dtype: np.dtype = _FLOAT64

    def __post_init__(self) -> None:
        object.__setattr__(self, "dtype", as_dtype(self.dtype))

    @property
    def shape(self) -> tuple[int, int]:
        return self.pattern.shape

    @property
    def nnz(self) -> int:
        return self.pattern.nnz

    @property
    def is_static(self) -> bool:
        return True  # a pattern's shape is known

    def __str__(self) -> str:
        return f"sparse({self.shape[0]}, {self.shape[1]}; {self.nnz} stored):{self.dtype.name}"


def _plain(shape: object) -> bool:
    """Already a tuple of non-negative Python ints and None: the common case, kept cheap."""
    if type(shape) is not tuple:
        return False
    # a loop, not all() over a generator (SIM110): this is asked for every node made
    for d in shape:  # noqa: SIM110
        if d is not None and (type(d) is not int or d < 0):
            return False
    return True


def as_type(t: object) -> ValueType | None:
    """A value type from a type, or from a (nested) Python tuple/dict of types."""
    if t is None or isinstance(t, (TensorType, TupleType, DictType, SparseType)):
        return t
    if isinstance(t, dict):
        return DictType(tuple(t.items()))
    if isinstance(t, (tuple, list)):
        return TupleType(tuple(t))
    raise TypeError(f"not a value type: {t!r}")


ValueType = TensorType | TupleType | DictType | SparseType


def format_shape(shape: Shape) -> str:
    """``(2, None)`` prints as ``(2, ?)``; unknown rank prints as ``(...)``."""
    if shape is None:
        return "(...)"
    dims = ["?" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


@overload
def broadcast_shapes(*shapes: Dims) -> Dims: ...
@overload
def broadcast_shapes(*shapes: Shape) -> Shape: ...
def broadcast_shapes(*shapes: Shape) -> Shape:
    """NumPy broadcasting over partly known shapes.

    ``None`` meets 1 as ``None`` and meets ``k > 1`` as ``k``: if the unknown
    dim turns out neither 1 nor k, the run-time check reports it.
    """
    if len(shapes) == 2:  # the case of every binary op, a graph's most common node
        a, b = shapes
        if a is None or b is None:
            return None
        if a == b or not b:  # a scalar stretches to any shape
            return a
        if not a:
            return b
    ranked = [s for s in shapes if s is not None]
    if len(ranked) < len(shapes):
        return None
    if all(s == ranked[0] for s in ranked[1:]):  # the common case: nothing to broadcast
        return ranked[0] if ranked else ()
    ndim = max((len(s) for s in ranked), default=0)
    result: list[int | None] = []
    for axis in range(-ndim, 0):
        dims = [s[axis] for s in ranked if len(s) >= -axis]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ShapeError(
                "shapes " + ", ".join(format_shape(s) for s in ranked) + " do not broadcast"
            )
        if known:
            result.append(known.pop())
        elif any(d is None for d in dims):
            result.append(None)
        else:
            result.append(1)
    return tuple(result)


def normalize_axes(axis: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    """Axes as a sorted tuple of non-negative ints; ``None`` means all."""
    from graphad.ir.errors import AxisError

    if axis is None:
        return tuple(range(ndim))
    # one axis unless a sequence of them: a float or a string is one bad axis, named below
    axes: tuple[object, ...]
    if isinstance(axis, (Sequence, np.ndarray)) and not isinstance(axis, str):
        axes = tuple(axis)
    else:
        axes = (axis,)
    out = []
    for entry in axes:
        a = as_index(entry, "axis", AxisError)
        if not -ndim <= a < ndim:
            raise AxisError(f"axis {a} is out of range for rank {ndim}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise AxisError(f"repeated axis in {axes}")
    return tuple(sorted(out))


def as_index(value: object, what: str, error: type[Exception] = TypeError) -> int:
    """``value`` as a Python int (``operator.index``: ints and NumPy integers, never floats
    or strings), or ``error`` saying that ``what`` must be an int."""
    try:
        # the cast states what operator.index checks: a value without __index__ raises
        return operator.index(cast(SupportsIndex, value))
    except TypeError:
        raise error(f"{what} must be an int, got {value!r}") from None


def is_static(shape: Shape) -> TypeGuard[tuple[int, ...]]:
    """Whether ``shape`` is fully known: its rank and every dimension."""
    return shape is not None and None not in shape


class Typed(Protocol):
    """Anything with a value type: a node."""

    @property
    def type(self) -> ValueType: ...


def known_shape(x: Typed | ValueType | None, what: str = "operand") -> Dims:
    """The shape of the tensor ``x`` (a node or a type), whose rank the caller needs: a
    ShapeError when the rank is unknown, a DTypeError when ``x`` is a structure."""
    t = x if x is None or isinstance(x, (TensorType, TupleType, DictType, SparseType)) else x.type
    if not isinstance(t, TensorType):
        raise DTypeError(f"{what} must be a tensor, got {t}")
    if t.shape is None:
        raise ShapeError(f"{what} needs a known rank, got shape (...)")
    return t.shape


def static_shape(x: Typed | ValueType | None, what: str = "operand") -> tuple[int, ...]:
    """The shape of the tensor ``x``, every dimension of which the caller needs when the
    node is built: a ShapeError naming the unknown ones otherwise."""
    shape = known_shape(x, what)
    if not is_static(shape):
        raise ShapeError(f"{what} needs a static shape, got {format_shape(shape)}")
    return shape


def result_dtype(*dtypes: np.dtype | type) -> np.dtype:
    """NumPy's promotion of array dtypes."""
    return np.result_type(*dtypes)


def float_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype a transcendental function returns: floats keep theirs, ints go to float64."""
    dtype = np.dtype(dtype)
    return dtype if dtype.kind in "fc" else np.dtype(np.float64)


def shapes_compatible(a: Shape, b: Shape) -> bool:
    """Whether two partly known shapes can be the same shape at run time."""
    if a is None or b is None:
        return True
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


def fits(array: np.ndarray, dtype: np.dtype) -> bool:
    """Whether every value of ``array`` is representable in ``dtype``, a target NumPy's
    ``same_kind`` rule allows (a float narrowed to float32, an int to int8).

    Integer ranges are compared with the target's limits as Python ints; comparing after
    a round trip through the target would restore a wrapped value (2⁶³ → -2⁶³ → 2⁶³).
    A float that overflows the narrower type becomes inf, unless it was inf already.
    """
    if np.can_cast(array.dtype, dtype, casting="safe") or array.size == 0:
        return True
    if dtype.kind in "iu":
        limits = np.iinfo(dtype)
        return limits.min <= int(array.min()) and int(array.max()) <= limits.max
    if dtype.kind in "fc":
        with np.errstate(over="ignore", invalid="ignore"):
            narrowed = array.astype(dtype)
        return bool(np.all(np.isfinite(narrowed) | ~np.isfinite(array)))
    return True


def dims_product(dims: Iterable[int | None]) -> int | None:
    total = 1
    for d in dims:
        if d is None:
            return None
        total *= d
    return total


def is_differentiable(t: ValueType | None) -> bool:
    """Whether a derivative can flow through a value of type ``t``: a float or complex tensor
    (or sparse matrix), or a structure with one somewhere inside."""
    if isinstance(t, (TensorType, SparseType)):
        return t.dtype.kind in "fc"
    if isinstance(t, TupleType):
        return any(is_differentiable(i) for i in t.items)
    if isinstance(t, DictType):
        return any(is_differentiable(i) for _, i in t.items)
    return False
