"""What an op's sparsity rule says: which entries of each input each output entry depends on.

An op's ``sparsity(node, detect)`` returns one :class:`Dependence` per input (or ``None``:
no derivative flows from that input).  A dependence is the op's *local pattern*, the
pattern of ∂out/∂input (out entries × input entries, each value flattened in C order and
a structure's leaves one after the other), in the cheapest form that states it:

- :data:`SAME`: entry i on entry i (elementwise, same shape);
- :class:`Gather`: entry r on input entry ``src[r]`` (or none): broadcasting, shape ops,
  indexing, slicing, concatenation, structures;
- :class:`Scatter`: input entry s into output entry ``dst[s]``: reductions, scatter-add,
  un-broadcasting (the transposes of the gathers);
- :class:`Local`: any local pattern (a sub-graph's, an index computed at run time);
- :class:`Product`: the pattern of a product over a grid of index tuples, built only when
  applied (matrix products, einsum, solve, cumulative sums);
- :class:`Dense`: every output entry on every entry of the input, the safe answer of an
  op that states no rule (``declared=False``, which detection reports) or of a rule that
  cannot do better (``declared=True``).

Detection applies each to the patterns of the input (input entries × x entries) and
unites the results: the pattern of a node is the union over inputs of local ∘ inner.
The helpers below build the common dependences from a node's static types; ``detect``
(the :class:`Detect` given to the rule) runs detection inside a sub-graph (a branch, a
body, a JVP graph), for the ops that have one.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from graphad.ir.errors import DifferentiationError
from graphad.ir.pattern import INDEX, Pattern
from graphad.ir.types import (
    SparseType,
    TensorType,
    TupleType,
    ValueType,
    is_differentiable,
    is_static,
)

if TYPE_CHECKING:
    from graphad.ir.node import Node
    from graphad.ir.op import Op


class Dependence:
    """A local pattern: how the entries of an op's output depend on those of one input."""

    def apply(self, inner: Pattern, rows: int) -> Pattern:
        """The pattern of the output (``rows`` entries) given that of the input."""
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class Same(Dependence):
    """Entry i depends on entry i."""

    def apply(self, inner: Pattern, rows: int) -> Pattern:
        return inner


SAME = Same()


@dataclass(frozen=True, eq=False)
class Gather(Dependence):
    """Output entry r depends on input entry ``src[r]`` only (none where it is -1)."""

    src: np.ndarray

    def apply(self, inner: Pattern, rows: int) -> Pattern:
        return inner.gather(self.src)


@dataclass(frozen=True, eq=False)
class Scatter(Dependence):
    """Input entry s feeds output entry ``dst[s]`` only (none where it is -1)."""

    dst: np.ndarray

    def apply(self, inner: Pattern, rows: int) -> Pattern:
        return inner.scatter(self.dst, rows)


@dataclass(frozen=True, eq=False)
class Local(Dependence):
    """The local pattern itself: output entries × input entries."""

    pattern: Pattern

    def apply(self, inner: Pattern, rows: int) -> Pattern:
        return self.pattern.compose(inner)


@dataclass(frozen=True, eq=False)
class Dense(Dependence):
    """Every output entry depends on every input entry; ``declared=False``: the op states no
    rule (detection reports it), ``why`` says what kept a rule from doing better."""

    declared: bool = True
    why: str = ""

    def apply(self, inner: Pattern, rows: int) -> Pattern:
        return inner.dense_rows(rows)


Dependences = Sequence[Dependence | None]


class Detect(Protocol):
    """Detection, offered to the rules of ops that run a sub-graph."""

    def __call__(self, outputs: Sequence[Node], inputs: Sequence[Node]) -> list[Pattern]:
        """The local pattern of the ``outputs`` (their entries one after the other) on each
        of the ``inputs`` (placeholders of the sub-graph)."""
        ...

    def through_jvp(self, node: Node) -> Dependences:
        """The dependences of ``node`` read from the graph of its op's ``jvp``."""
        ...


# -- entries of values ----------------------------------------------------------
def entry_count(t: ValueType | None) -> int:
    """How many entries a value of type ``t`` has (a structure's leaves summed, a sparse
    matrix's stored values); the shape must be static."""
    if t is None:
        return 0
    if isinstance(t, TensorType):
        return math.prod(static_shape(t))
    if isinstance(t, SparseType):
        return t.pattern.nnz
    items = t.items if isinstance(t, TupleType) else tuple(v for _, v in t.items)
    return sum(entry_count(i) for i in items)


def static_shape(t: ValueType) -> tuple[int, ...]:
    """A tensor type's shape, every dim known (as detection needs)."""
    if not isinstance(t, TensorType) or not is_static(t.shape):
        raise DifferentiationError(f"sparsity needs static shapes, got {t}")
    return t.shape


def numbering(t: ValueType | None, start: int = 0) -> Any:
    """A value of type ``t`` whose entries are their numbers start, start + 1, … (int64)."""
    if t is None:
        return None
    if isinstance(t, TensorType):
        return np.arange(start, start + entry_count(t), dtype=INDEX).reshape(static_shape(t))
    if isinstance(t, SparseType):
        raise DifferentiationError("a sparse matrix is not numbered entry by entry")
    values = []
    items = t.items if isinstance(t, TupleType) else tuple(v for _, v in t.items)
    for item in items:
        values.append(numbering(item, start))
        start += entry_count(item)
    if isinstance(t, TupleType):
        return tuple(values)
    return dict(zip(t.keys(), values))


def flat(value: Any) -> np.ndarray:
    """A value's entries in order: an array raveled, a structure's leaves one after another."""
    if value is None:
        return np.zeros(0, INDEX)
    if isinstance(value, tuple):
        return np.concatenate([np.zeros(0, INDEX)] + [flat(v) for v in value])
    if isinstance(value, dict):
        return np.concatenate([np.zeros(0, INDEX)] + [flat(v) for v in value.values()])
    return np.asarray(value).ravel()


def known_value(node: Node) -> Any:
    """The value of a constant input (an index array, a shape), else None."""
    from graphad.ir.leaves import Constant  # leaves build on the op, which builds on this

    return node.op.value if isinstance(node.op, Constant) else None


# -- the common rules -------------------------------------------------------------
def dense(node: Node, declared: bool = True, why: str = "") -> tuple[Dense | None, ...]:
    """Every output entry on every entry of each input that carries a derivative."""
    rule = Dense(declared, why)
    return tuple(rule if is_differentiable(x.type) else None for x in node.inputs)


def elementwise(node: Node) -> tuple[Dependence | None, ...]:
    """Entry i of the output on entry i of each input after broadcasting: the identity for
    an input of the output's shape, a gather by the broadcast numbering otherwise."""
    shape = static_shape(node.type)
    deps: list[Dependence | None] = []
    for x in node.inputs:
        if not is_differentiable(x.type):
            deps.append(None)
        elif x.shape == shape:
            deps.append(SAME)
        else:
            numbers = numbering(x.type)
            deps.append(Gather(np.broadcast_to(numbers, shape).ravel()))
    return tuple(deps)


# at most this many (output entries × index choices) are tried for indices computed at run time
CHOICES_LIMIT = 1 << 24


def fills(node: Node, choices: Mapping[int, int]) -> list[list[Any]] | None:
    """The values of ``node``'s inputs to run its op on, once per combination of values of
    the inputs computed at run time: a constant's value for a constant (None for the
    others), and for an input ``k`` in ``choices`` (an index computed at run time, which
    can be any of ``range(choices[k])``) every such value in turn, filling the whole
    index array (each output entry reads one of its entries, so that covers every case).
    None when there are too many combinations."""
    known = [known_value(x) for x in node.inputs]
    free = [k for k, v in enumerate(known) if v is None and k in choices]
    count = math.prod(choices[k] for k in free)
    if count * max(entry_count(node.type), 1) > CHOICES_LIMIT:
        return None
    runs = []
    for combo in itertools.product(*(range(choices[k]) for k in free)):
        values = list(known)
        for k, v in zip(free, combo):
            values[k] = np.full(static_shape(node.inputs[k].type), v, INDEX)
        runs.append(values)
    return runs


def routed(
    op: Op, node: Node, moved: Sequence[int], choices: Mapping[int, int] | None = None
) -> tuple[Dependence | None, ...]:
    """The dependences of an op each of whose output entries is a copy of one entry of the
    inputs ``moved`` (shape ops, indexing, concatenation, structures): the op run on the
    entries' numbers says which.  Its other inputs (index arrays, shapes) are constants,
    or index arrays computed at run time whose range ``choices`` gives (an output entry
    then depends on every entry such an index can reach); for any other, every entry may
    come from anywhere (dense)."""
    offsets: dict[int, tuple[int, int]] = {}
    start = 0
    for k in moved:
        size = entry_count(node.inputs[k].type)
        offsets[k] = (start, start + size)
        start += size
    unknown = [k for k, x in enumerate(node.inputs) if k not in offsets and known_value(x) is None]
    runs = fills(node, choices or {})
    if runs is None or any(k not in (choices or {}) for k in unknown):
        return dense(node, why=f"{op.name}: an index computed at run time")
    sources = []
    for values in runs:
        for k in offsets:
            values[k] = numbering(node.inputs[k].type, offsets[k][0])
        sources.append(flat(op.compute(*values)))
    deps: list[Dependence | None] = []
    for k, x in enumerate(node.inputs):
        if k not in offsets or not is_differentiable(x.type):
            deps.append(None)
            continue
        lo, hi = offsets[k]
        if len(sources) == 1:
            src = sources[0]
            deps.append(Gather(np.where((src >= lo) & (src < hi), src - lo, -1)))
            continue
        src = np.concatenate(sources)
        rows = np.tile(np.arange(sources[0].size, dtype=INDEX), len(sources))
        inside = (src >= lo) & (src < hi)
        pairs = (rows[inside], src[inside] - lo)
        deps.append(Local(Pattern.from_pairs(*pairs, (sources[0].size, hi - lo))))
    return tuple(deps)


def grouped(dst: np.ndarray, node: Node) -> tuple[Dependence | None, ...]:
    """Entry s of the first input feeds output entry ``dst[s]``; the other inputs carry none."""
    first = (
        Scatter(np.asarray(dst, INDEX).ravel()) if is_differentiable(node.inputs[0].type) else None
    )
    return (first, *(None for _ in node.inputs[1:]))


@dataclass(frozen=True, eq=False)
class Product(Dependence):
    """The local pattern of a product over a grid of index tuples: at each grid point the
    output entry numbered ``out`` depends on the operand entry numbered ``operand`` (arrays
    broadcast over the grid), except where ``mask`` is False (another factor is a
    constant zero there).  Built only when applied: an input no x reaches costs nothing."""

    out: np.ndarray
    operand: np.ndarray
    shape: tuple[int, int]  # output entries × operand entries
    mask: np.ndarray | None = None

    def local(self) -> Pattern:
        arrays = [self.out, self.operand] + ([] if self.mask is None else [self.mask])
        grid = np.broadcast_shapes(*(a.shape for a in arrays))
        rows, cols = np.broadcast_to(self.out, grid), np.broadcast_to(self.operand, grid)
        if self.mask is not None:
            keep = np.broadcast_to(self.mask, grid)
            rows, cols = rows[keep], cols[keep]
        return Pattern.from_pairs(rows, cols, self.shape)

    def apply(self, inner: Pattern, rows: int) -> Pattern:
        return self.local().compose(inner)


def only(dep: Dependence | None, keep: np.ndarray) -> Dependence | None:
    """``dep`` (the identity or a gather) for the output entries where ``keep`` holds, no
    dependence elsewhere."""
    if dep is None:
        return None
    if isinstance(dep, Same):
        src = np.arange(keep.size, dtype=INDEX)
    elif isinstance(dep, Gather):
        src = dep.src
    else:
        raise TypeError(f"only() takes the identity or a gather, got {dep!r}")
    return Gather(np.where(keep.ravel(), src, -1))
