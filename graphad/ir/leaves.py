"""Leaves of the graph: placeholders (fed at run time) and constants."""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphad.ir.errors import DTypeError, GraphError, ShapeError
from graphad.ir.node import Node, Origin, current_origin, make_node, user_location, users_own
from graphad.ir.notation import Term, atom, call, literal, number, shape_text
from graphad.ir.op import Op
from graphad.ir.types import (
    DictType,
    Shape,
    TensorType,
    TupleType,
    ValueType,
    as_dtype,
    as_type,
)


@dataclass(frozen=True, eq=False)
class Placeholder(Op):
    """A value fed at run time; every placeholder is distinct, whatever its name."""

    type: ValueType
    label: str

    def infer(self) -> ValueType:
        return self.type

    def compute(self) -> Any:
        raise GraphError(f"placeholder {self.label!r} was not fed")

    def __str__(self) -> str:
        return f"placeholder({self.label!r})"

    def notation(self, args: Sequence[Term]) -> Term:
        """its name"""
        return atom(self.label)


# a small constant is checked entry by entry for being one value everywhere; a large one is
# not (derivative graphs splat scalars, and the check would cost a pass over its memory)
SPLAT_CHECK_LIMIT = 64
_INLINE_BYTES = 64


@dataclass(frozen=True, eq=False)
class Constant(Op):
    """A value stored in the graph; equal when dtype, shape and bytes are equal.

    ``splat``: the one value every entry holds, for a constant of at most
    ``SPLAT_CHECK_LIMIT`` entries that holds one (never NaN, which equals nothing); else
    ``None``.  The rewrite laws ask it of every operand (``x * 1``, ``x + 0``); it is a fact
    of the value, found when the constant is made, as its hash is.
    """

    value: np.ndarray = field(repr=False)
    splat: Any = field(init=False, repr=False, compare=False)
    # facts of the value, found once in __post_init__ (see there)
    _type: TensorType = field(init=False, repr=False, compare=False)
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        value = np.array(self.value)  # own copy: a constant never aliases user memory
        value.setflags(write=False)
        object.__setattr__(self, "value", value)
        # typed once (every node of this constant shares one type object), which also
        # refuses a dtype graphad does not compute with
        object.__setattr__(self, "_type", TensorType.of_array(value))
        # hashed once: CSE keys every node on its op; a large constant's bytes by a digest (not
        # kept twice), a small one's (the scalars of derivative graphs) as they are, cheaper
        if value.nbytes <= _INLINE_BYTES:
            data = value.tobytes()
        else:
            data = hashlib.blake2b(np.ascontiguousarray(value).data, digest_size=16).digest()
        object.__setattr__(self, "_hash", hash((value.dtype, value.shape, data)))
        object.__setattr__(self, "splat", _splat(value))

    def __reduce__(self) -> tuple[Any, ...]:
        # through __post_init__: read-only and hashed again after loading (hashes of str
        # differ between processes, so a pickled _hash would be wrong in a spawned worker)
        return (Constant, (self.value,))

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Constant) or self._hash != other._hash:
            return False
        a, b = self.value, other.value
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()

    def __hash__(self) -> int:
        return self._hash

    def infer(self) -> TensorType:
        return self._type

    def compute(self) -> np.ndarray:
        return self.value

    def notation(self, args: Sequence[Term]) -> Term:
        """``2.0``, ``-1.0``; ``full((3,), 0.5)`` for one value everywhere; ``eye(3)`` for an
        identity matrix (a Hessian's seed); ``[1.0, 2.0]`` for a few values; else
        ``array((3, 4), float64)``."""
        value = self.value
        if value.ndim == 0:
            return number(value)
        if self.splat is not None or (value.size and (value == value.flat[0]).all()):
            fill = number(value.flat[0]).text
            return call("full", [atom(shape_text(value.shape)), atom(fill)])
        n = value.shape[0]
        square = value.shape == (n, n)  # ones on the diagonal, nothing else: no n×n copy made
        if square and np.count_nonzero(value) == n and (np.diagonal(value) == 1).all():
            return call("eye", [atom(str(n))])
        return atom(literal(value))

    def __str__(self) -> str:
        if self.value.size <= 4:
            return f"constant({np.array2string(self.value, separator=', ')})"
        return f"constant({self.value.shape})"


def _splat(v: np.ndarray) -> Any:
    """The one value all of v's entries hold (a NumPy scalar), or ``None``."""
    n = v.size
    if n == 0 or n > SPLAT_CHECK_LIMIT:
        return None
    first = v.flat[0]
    if first != first:
        return None
    if n > 1:  # Python's count over a few numbers: a sixth of np.all(v == first)'s cost
        entries = v.ravel().tolist()
        if entries.count(entries[0]) != n:
            return None
    return first


def placeholder(
    name: str,
    shape: Shape | Sequence[int | None] = None,
    dtype: Any = "float64",
    type: Any = None,
) -> Node:
    """An input fed at run time, e.g. ``placeholder("x", shape=(None, 3))``.

    ``shape=None`` leaves the rank unknown; ``None`` entries are unknown dims.
    A structured input gives ``type`` instead: a ``TupleType``/``DictType`` or a
    nested tuple/dict of ``TensorType``, e.g.
    ``placeholder("d", type={"cat": TensorType((3,)), "dog": TensorType((2, 2))})``,
    fed with a tuple/dict of arrays of the same keys.
    """
    if not isinstance(name, str) or not name:
        raise GraphError(f"placeholder: name must be a non-empty string, got {name!r}")
    if type is not None:
        try:
            declared = as_type(type)
        except TypeError as e:
            raise GraphError(f"placeholder {name!r}: {e} ({user_location()})") from None
        if declared is None or _has_absent(declared):
            raise GraphError(f"placeholder {name!r}: every entry needs a type ({user_location()})")
        ph = Placeholder(declared, name)
        return Node(ph, (), declared, name=name)
    try:
        dt = as_dtype(dtype)
    except DTypeError as e:
        raise DTypeError(f"placeholder {name!r}: {e} ({user_location()})") from None
    try:
        shp = None if shape is None else tuple(shape)
        ph = Placeholder(TensorType(shp, dt), name)
    except (TypeError, GraphError) as e:
        raise ShapeError(
            f"placeholder {name!r}: shape must be a tuple of ints or None, got {shape!r} "
            f"({e}) ({user_location()})"
        ) from None
    return Node(ph, (), ph.type, name=name)


def _has_absent(t: ValueType | None) -> bool:
    if t is None:
        return True
    if isinstance(t, TupleType):
        return any(_has_absent(i) for i in t.items)
    if isinstance(t, DictType):
        return any(_has_absent(i) for _, i in t.items)
    return False


def constant(value: Any, dtype: Any = None, name: str | None = None) -> Node:
    """A constant node holding a copy of ``value`` (array-like)."""
    try:
        op = Constant(_array(value, dtype))
    except GraphError as e:
        raise type(e)(f"constant: {e} ({user_location()})") from None
    return make_node(op, (), op.infer(), name, current_origin())


def as_array(value: Any) -> np.ndarray:
    """``value`` as a numeric NumPy array, or a typed error saying why it is not one (None,
    a ragged list, strings, a node, a masked array with entries masked out): the one check
    of a value given where an array is expected, outside a feed (which has its own)."""
    return _array(value)


def _array(value: Any, dtype: Any = None) -> np.ndarray:
    """``value`` as a numeric array, or a typed error saying why it is not one."""
    if isinstance(value, Node):
        raise GraphError(
            f"{value.name} is a node, not a value; pass the node itself where a node is "
            "expected, or evaluate it first"
        )
    if value is None:
        raise DTypeError("None is not a value: give an array, a number or a node")
    dt = None if dtype is None else as_dtype(dtype)
    if isinstance(value, np.ma.MaskedArray) and np.ma.is_masked(value):  # np.asarray: no mask
        raise GraphError(
            "a masked array with entries masked out has no value there; fill or drop them first"
        )
    try:
        array = np.asarray(value, dtype=dt)
    except OverflowError as e:  # np.asarray(1000, "int8"): NumPy's own words, typed
        raise DTypeError(str(e)) from None
    except (TypeError, ValueError) as e:
        raise GraphError(f"cannot make an array of {value!r}: {e}") from None
    if array.dtype.kind not in "biufc":
        raise DTypeError(
            f"{value!r} makes an array of {array.dtype}; only bool and numbers are supported"
        )
    return array


def as_node(value: Any, like: Sequence[Node] = (), *, origin: Origin | None = None) -> Node:
    """A node for ``value``; Python scalars take the dtype NumPy would give them beside ``like``.

    NumPy 2 treats Python scalars as weak (NEP 50), so ``x32 * 2.0`` stays float32.
    A list or tuple holding nodes is an array-like, as in NumPy: its entries (nodes,
    scalars, arrays, nested lists) are stacked along a new first axis.  A value that is no
    number raises a typed GraphError naming the user's line (an op adds its name).
    ``origin``: that of the constant made, when the caller has looked it up already.
    """
    if isinstance(value, Node):
        return value
    kind: Any = value.__class__
    if kind in _SCALARS:  # a Python number, the operand of most scalar arithmetic
        dtypes = tuple([n.type.dtype for n in like if isinstance(n.type, TensorType)])
        sign = math.copysign(1.0, value) if kind is float else 1.0
        try:
            op = _scalar_constant(kind, value, sign, dtypes)
        except GraphError as e:
            raise _operand_error(e, value) from None
        return _scalar_node(op, current_origin() if origin is None else origin)
    if isinstance(value, (list, tuple)) and _holds_node(value):
        from graphad.ops.shape import stack  # ops build on ir: resolved when called

        nodes = [v for v in value if isinstance(v, Node)] or list(like)
        return stack([as_node(v, nodes) for v in value])
    dtype = None
    if isinstance(value, (bool, int, float, complex)):
        tensors = [n.dtype for n in like if isinstance(n.type, TensorType)]
        if tensors:
            dtype = np.result_type(*tensors, value)
    try:
        op = Constant(_array(value, dtype))
    except GraphError as e:
        raise _operand_error(e, value) from None
    return make_node(op, (), op.infer(), None, current_origin() if origin is None else origin)


def _operand_error(e: GraphError, value: Any) -> GraphError:
    """``e`` with the user's line, marked as about the operand ``value`` (GraphError's
    ``operand``), for the public function that was given it to name the argument."""
    error = type(e)(f"{e} ({user_location()})")
    error.operand = value
    return error


_SCALARS = frozenset({bool, int, float})  # exactly these: NumPy's scalars are not weak


@functools.lru_cache(maxsize=1024)
def _scalar_constant(kind: type, value: Any, sign: float, dtypes: tuple[np.dtype, ...]) -> Constant:
    """The constant op of a Python number beside operands of ``dtypes``, made once per
    number, kind (``1``, ``1.0`` and ``True`` are equal keys), sign (``-0.0 == 0.0``) and
    dtypes: ``h * 1.0001`` in a loop shares one read-only op instead of making a new array,
    hash and type per step.  Ops are values, so sharing one is not observable."""
    return Constant(_array(value, np.result_type(*dtypes, value) if dtypes else None))


# the last node made of each shared scalar op (see _scalar_node); cleared when it holds as many
# as _scalar_constant keeps ops, so it stays a few hundred leaf nodes at most
_scalar_nodes: dict[Constant, Node] = {}


def _scalar_node(op: Constant, origin: Origin) -> Node:
    """The constant node of a Python number an op was given on the user's line ``origin``:
    one node for the number and the line while the user builds, so that ``h * 1.0001 +
    0.1`` in a loop of 10⁵ steps makes two constant nodes, not 2·10⁵ that every rewrite
    walks and merges into two (and rebuilds every consumer of).  The node is a leaf, and
    immutable: sharing it is CSE done where it costs nothing.  Inside graphad's own passes
    (derivations, rewrites) each use gets a node of its own, as every node those passes
    make is theirs alone to name and to record a role on."""
    if users_own():
        node = _scalar_nodes.get(op)
        if node is not None and node.origin is origin:
            return node
    node = make_node(op, (), op.infer(), None, origin)
    if users_own():
        if len(_scalar_nodes) >= 1024:
            _scalar_nodes.clear()
        _scalar_nodes[op] = node
    return node


def _holds_node(value: Sequence[Any]) -> bool:
    return any(
        isinstance(v, Node) or (isinstance(v, (list, tuple)) and _holds_node(v)) for v in value
    )


def as_nodes(*values: Any, origin: Origin | None = None) -> tuple[Node, ...]:
    """Convert operands together, so Python scalars adopt the node operands' dtypes."""
    nodes = [v for v in values if isinstance(v, Node)]
    return tuple([v if isinstance(v, Node) else as_node(v, nodes, origin=origin) for v in values])


def is_constant(node: Node, value: Any = None) -> bool:
    """Whether ``node`` is a constant (equal everywhere to ``value``, when given)."""
    if not isinstance(node.op, Constant):
        return False
    return value is None or bool(np.all(node.op.value == value))
