"""Indexing: ``x[index]`` (basic and integer-array) and its adjoint, scatter-add.

An index is stored on the op as a tuple of hashable items; integer arrays
in it become extra inputs of the node (constants or computed), so the op
stays a small value and the index arrays stay part of the graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphad.ir import (
    Chunking,
    Constant,
    DTypeError,
    ExecutionError,
    IndexingError,
    Node,
    Pattern,
    ShapeError,
    TensorType,
    ValueType,
    as_node,
    broadcast_shapes,
    constant,
    format_shape,
    is_static,
    shapes_compatible,
    user_location,
)
from graphad.ir.dependence import (
    Dependences,
    Detect,
    Local,
    dense,
    entry_count,
    fills,
    grouped,
    numbering,
    routed,
)
from graphad.ir.native import Call
from graphad.ir.notation import ATOM, LOOSE, SUM, Term, atom, shape_text, wrap
from graphad.ops._batching import batch_size, rank
from graphad.ops._linear import Linear
from graphad.ops._util import tensor
from graphad.ops.utility import shape_of

Item = tuple[Any, ...]  # ("int", k) | ("slice", start, stop, step) | ("new",) | ("ellipsis",)
# | ("array", position among the array inputs)
# | ("array", position, n): the positions along one axis of a constant boolean mask whose
#   extent along that axis is n, which the indexed axis must match


def _decode(items: tuple[Item, ...], arrays: Sequence[Any]) -> tuple[Any, ...]:
    index: list[Any] = []
    for item in items:
        kind = item[0]
        if kind == "int":
            index.append(item[1])
        elif kind == "slice":
            index.append(slice(*item[1:]))
        elif kind == "new":
            index.append(None)
        elif kind == "ellipsis":
            index.append(Ellipsis)
        else:
            index.append(arrays[item[1]])
    return tuple(index)


def index_text(items: tuple[Item, ...], arrays: Sequence[Term]) -> str:
    """``1, :, None`` for the items of an index, index arrays written as ``arrays`` are."""
    parts = []
    for item in items:
        kind = item[0]
        if kind == "int":
            parts.append(str(item[1]))
        elif kind == "slice":
            start, stop, step = ("" if v is None else str(v) for v in item[1:])
            parts.append(f"{start}:{stop}" + (f":{step}" if step else ""))
        elif kind == "new":
            parts.append("None")
        elif kind == "ellipsis":
            parts.append("...")
        else:
            parts.append(arrays[item[1]].text if item[1] < len(arrays) else "?")
    return ", ".join(parts)


def _consumed(item: Item) -> int:
    """How many axes of x an index item indexes."""
    return 0 if item[0] in ("new", "ellipsis") else 1


def _result_shape(
    items: tuple[Item, ...], x: TensorType, arrays: Sequence[TensorType]
) -> tuple[int | None, ...] | None:
    """NumPy's indexing rule, one item at a time, over partly known shapes.

    Basic items (int, slice, None) map axes one to one; the advanced ones (integer arrays,
    masks, and ints beside them) broadcast together, and their shape stands where they
    stand when they are adjacent, in front otherwise.  Every mismatch NumPy would raise at
    run time (too many indices, an int or mask that does not fit its axis, arrays that do
    not broadcast) is raised here, when the node is made.
    """
    if sum(item[0] == "ellipsis" for item in items) > 1:
        raise IndexingError("an index can only have a single ellipsis ('...')")
    if x.shape is None:
        return None
    ndim, used = len(x.shape), sum(_consumed(item) for item in items)
    if used > ndim:
        raise IndexingError(
            f"too many indices: the array is {ndim}-dimensional, but {used} were indexed"
        )
    fill = [("slice", None, None, None)] * (ndim - used)
    if any(item[0] == "ellipsis" for item in items):
        at = next(i for i, item in enumerate(items) if item[0] == "ellipsis")
        expanded = [*items[:at], *fill, *items[at + 1 :]]
    else:
        expanded = [*items, *fill]
    has_arrays = any(item[0] == "array" for item in expanded)
    out: list[Any] = []  # dims, and one marker where the advanced block goes
    advanced: list[tuple[int | None, ...] | None] = []
    where: list[int] = []  # positions of the advanced items in ``expanded``
    axis = 0
    for pos, item in enumerate(expanded):
        kind = item[0]
        if kind == "new":
            out.append(1)
            continue
        dims = x.shape[axis : axis + _consumed(item)]
        axis += len(dims)
        if kind == "slice":
            out.append(None if dims[0] is None else len(range(*slice(*item[1:]).indices(dims[0]))))
            continue
        if kind == "int":
            _check_int(item[1], axis - 1, dims[0])
            if not has_arrays:
                continue  # a basic int drops its axis
            advanced.append(())  # beside arrays, an int is an advanced index of shape ()
        else:
            if len(item) > 2:  # one axis of a boolean mask
                _check_mask(item[2], axis - 1, dims[0])
            advanced.append(arrays[item[1]].shape)
        if not where:
            out.append(_ADVANCED)
        where.append(pos)
    if not has_arrays:
        return tuple(out)
    ranked = [a for a in advanced if a is not None]
    if len(ranked) < len(advanced):
        return None
    try:
        block = broadcast_shapes(*ranked)
    except ShapeError:
        shapes = " ".join(format_shape(a) for a in advanced)
        raise IndexingError(
            f"shape mismatch: indexing arrays could not be broadcast together with shapes {shapes}"
        ) from None
    at = out.index(_ADVANCED)
    rest = (*out[:at], *out[at + 1 :])
    if where != list(range(where[0], where[0] + len(where))):  # not adjacent: in front
        return (*block, *rest)
    return (*out[:at], *block, *out[at + 1 :])


_ADVANCED = object()  # where the broadcast shape of the advanced items goes in the result


def _check_int(k: int, axis: int, size: int | None) -> None:
    if size is not None and not -size <= k < size:
        raise IndexingError(f"index {k} is out of bounds for axis {axis} with size {size}")


def _check_mask(extent: int, axis: int, size: int | None) -> None:
    if size is not None and size != extent:
        raise IndexingError(
            f"boolean index did not match indexed array along axis {axis}; size of "
            f"axis is {size} but size of corresponding boolean axis is {extent}"
        )


@dataclass(frozen=True)
class GetItem(Linear):
    """x[index] with NumPy semantics (ints, slices, None, ..., integer arrays)."""

    name = "getitem"

    items: tuple[Item, ...]
    advanced: bool = False

    @property
    def chunking(self) -> Chunking:
        """Slices run on Dask's chunks; index arrays need the whole array (Dask has no
        n-d fancy indexing)."""
        return "whole" if self.advanced else "dispatch"

    def notation(self, args: Sequence[Term]) -> Term:
        """x[1, :, i]"""
        return atom(f"{wrap(args[0], ATOM)}[{index_text(self.items, args[1:])}]")

    def infer(self, x: TensorType, *arrays: TensorType) -> TensorType:
        tensor(x)
        for a in arrays:
            if tensor(a, "index").dtype.kind not in "iu":
                raise DTypeError(f"index arrays must be integer, got {a.dtype.name}")
        return TensorType(_result_shape(self.items, x, arrays), x.dtype)

    def compute(self, x: np.ndarray, *arrays: np.ndarray) -> np.ndarray:
        return x[_decode(self.items, arrays)]

    def native(self, node: Node) -> Call | None:
        """x[index] of ints, slices, None and ...: a view, or one entry"""
        if self.advanced or len(node.inputs) > 1 or not node.inputs[0].ndim:
            return None
        if not self.items:
            return Call("{0}", view=True)
        return Call(f"{{0}}[{index_text(self.items, [])},]", view=node.ndim != 0)

    def transpose(self, node: Node, g: Node) -> Node:
        """x̄ = scatter_add(zeros_like(x), index, g): repeated indices accumulate"""
        x, *arrays = node.inputs
        return scatter_add(g, self, x, arrays)

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """each entry is the entry of x the index selects; an index array computed at run
        time (a sort's) may select any entry along its axis"""
        extents = _extents(self.items, node.inputs[0].shape)
        return routed(self, node, (0,), {1 + a: d for a, d in extents.items()})

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node | None:
        """xb[:, index], the batch axis moved back to the front where NumPy moves separated
        advanced indices there; batched index arrays are one more advanced index each, and
        xb's batch axis is indexed by arange(B) beside them"""
        from graphad.ops.shape import move_from_front, move_to_front  # shape builds on getitem

        if not any(batched[1:]):
            out = GetItem((_ALL, *self.items), self.advanced)(*xs)
            return move_to_front(out, _batch_axis(self.items, xs[1:]))
        x, size = xs[0], batch_size(xs, batched)
        index = _batched_index(
            self.items, rank(node.inputs[0]), xs[1:], batched[1:], size, batched[0]
        )
        if index is None:
            return None
        items, arrays, axis, block = index
        out = GetItem(items, True)(move_from_front(x, axis) if batched[0] else x, *arrays)
        return move_to_front(out, block)


@dataclass(frozen=True)
class ScatterAdd(Linear):
    """zeros(shape)[index] += g; ``shape`` may hold ``None``, resolved by a shape input."""

    chunking = "whole"  # np.add.at has no chunked form

    items: tuple[Item, ...]
    shape: tuple[int | None, ...]
    advanced: bool = False
    n_arrays: int = 0

    def notation(self, args: Sequence[Term]) -> Term:
        """scatter g into (2, 2) at [:, 0]: zeros of that shape, g added at the index"""
        at = index_text(self.items, args[1 : 1 + self.n_arrays])
        return Term(f"scatter {wrap(args[0], SUM)} into {shape_text(self.shape)} at [{at}]", LOOSE)

    def infer(self, g: TensorType, *rest: TensorType) -> TensorType:
        out = TensorType(self.shape, tensor(g).dtype)
        expect = _result_shape(self.items, out, rest[: self.n_arrays])
        if not shapes_compatible(expect, g.shape):
            raise ShapeError(
                f"update of shape {format_shape(g.shape)} does not fit index result "
                f"{format_shape(expect)}"
            )
        return out

    def run_type(self, types: Sequence[ValueType], values: Sequence[Any]) -> TensorType:
        """The shape operand's value where the shape attribute has unknown dims: a lazy
        backend knows it (it is the shape of an array it holds) before the update runs."""
        out = self.infer(*(tensor(t) for t in types))
        if out.is_static or len(values) <= 1 + self.n_arrays:
            return out
        shape = values[1 + self.n_arrays]
        if not isinstance(shape, np.ndarray):  # itself lazy: not known until it computes
            raise ExecutionError(
                f"{self.name}: the shape of the result is not known before it computes"
            )
        return TensorType(tuple(int(d) for d in shape), out.dtype)

    def compute(self, g: np.ndarray, *rest: np.ndarray) -> np.ndarray:
        arrays = rest[: self.n_arrays]
        if len(rest) > self.n_arrays:
            shape = tuple(int(d) for d in rest[self.n_arrays])
        elif is_static(self.shape):
            shape = self.shape
        else:
            raise ShapeError(f"shape {format_shape(self.shape)} without its run-time shape")
        out = np.zeros(shape, dtype=g.dtype)
        index = _decode(self.items, arrays)
        if self.advanced:
            np.add.at(out, index, g)
        else:  # basic indexing never selects an element twice
            out[index] = g
        return out

    def native(self, node: Node) -> Call | None:
        """g between zeros along the one axis the index picks from (an int, or a slice of
        step 1; the other axes whole), joined by np.concatenate (a known shape only)"""
        g = node.inputs[0]
        shape = self.shape
        if self.advanced or len(node.inputs) > 1 or not is_static(shape) or g.ndim is None:
            return None
        whole = {("slice", None, None, None), ("slice", None, None, 1)}
        picked = [(a, item) for a, item in enumerate(self.items) if tuple(item) not in whole]
        if len(picked) != 1 or picked[0][1][0] not in ("int", "slice") or g.dtype.kind != "f":
            return None
        axis, item = picked[0]
        dims = [int(d) for d in shape if d is not None]  # is_static: every dim an int
        n = dims[axis]
        if item[0] == "int":
            k = item[1] + n if item[1] < 0 else item[1]
            lo, hi = k, k + 1
            lifted = (*dims[:axis], 1, *dims[axis + 1 :])
            if g.ndim == 0:  # a 0-d g comes as a scalar: an array of it
                piece = f"np.full({lifted}, {{0}})"
            else:
                piece = f"np.ascontiguousarray({{0}}).reshape({lifted})"
        else:
            if item[3] not in (None, 1):
                return None
            lo, hi, _ = slice(item[1], item[2]).indices(n)
            piece = "{0}"
        dtype = f"np.{g.dtype.name}"
        parts = [piece]
        if lo > 0:
            parts.insert(0, f"np.zeros({(*dims[:axis], lo, *dims[axis + 1 :])}, {dtype})")
        if hi < n:
            parts.append(f"np.zeros({(*dims[:axis], n - hi, *dims[axis + 1 :])}, {dtype})")
        if len(parts) == 1:
            return Call(piece, view=True)
        return Call(f"np.concatenate(({', '.join(parts)}), {axis})")

    def transpose(self, node: Node, g: Node) -> Node:
        """ū = g[index] for the update u"""
        arrays = node.inputs[1 : 1 + self.n_arrays]
        return GetItem(self.items, self.advanced)(g, *arrays)

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """each entry of the update into the entry the index sends it to (the transpose of
        a gather); an index array computed at run time may send it anywhere along its axis"""
        extents = _extents(self.items, self.shape)
        choices = {1 + a: d for a, d in extents.items() if a < self.n_arrays}
        runs = fills(node, choices)
        if runs is None or any(v is None for v in runs[0][1 : 1 + self.n_arrays]):
            return dense(node, why="scatter_add: an index computed at run time")
        gather = GetItem(self.items, self.advanced)
        targets = [gather.compute(numbering(node.type), *v[1 : 1 + self.n_arrays]) for v in runs]
        if len(targets) == 1:
            return grouped(targets[0], node)
        size = targets[0].size
        into = np.concatenate([t.ravel() for t in targets])
        updates = np.tile(np.arange(size), len(targets))
        local = Pattern.from_pairs(into, updates, (entry_count(node.type), size))
        return (Local(local), *(None for _ in node.inputs[1:]))

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node | None:
        """zeros((B, *shape))[:, index] += gb, gb's batch axis where getitem puts it; with
        batched index arrays, the batch axis is indexed by arange(B) beside them"""
        from graphad.ops.shape import materialize, move_from_front, move_to_front

        size = batch_size(xs, batched)
        if len(xs) > 1 + self.n_arrays or size is None:
            return None
        if not any(batched[1:]):
            g = move_from_front(xs[0], _batch_axis(self.items, xs[1:]))
            op = ScatterAdd((_ALL, *self.items), (size, *self.shape), self.advanced, self.n_arrays)
            return op(g, *xs[1:])
        index = _batched_index(self.items, len(self.shape), xs[1:], batched[1:], size, True)
        if index is None:
            return None
        items, arrays, axis, block = index
        g = move_from_front(xs[0] if batched[0] else materialize(xs[0], size), block)
        shape = (*self.shape[:axis], size, *self.shape[axis:])
        return move_to_front(ScatterAdd(items, shape, True, len(arrays))(g, *arrays), axis)


_ALL = ("slice", None, None, None)  # the batch axis's item: all of it


def _batch_axis(items: tuple[Item, ...], arrays: Sequence[Node]) -> int:
    """Where x[:, index] puts the batch axis: first, unless advanced indices (arrays, and ints
    beside them) are separated, when NumPy puts their broadcast dims first."""
    if not arrays:
        return 0
    advanced = [i for i, item in enumerate(items) if item[0] in ("array", "int")]
    if advanced[-1] - advanced[0] == len(advanced) - 1:
        return 0
    return max(rank(a) for a in arrays)


def _batched_index(
    items: tuple[Item, ...],
    ndim: int,
    arrays: Sequence[Node],
    batched: Sequence[bool],
    size: int | None,
    x_batched: bool,
) -> tuple[tuple[Item, ...], list[Node], int, int] | None:
    """An index with (some) batched arrays as an index of the batch: (items, arrays, axis,
    block), or None when it needs a batch size or ranks that are not static.

    The batched arrays are lifted to rank 1 + R (R: the rank of the arrays' broadcast
    without the batch) so they broadcast against the shared ones.  A batched x has its
    batch axis moved to ``axis``, just before the axis of the first advanced index, and
    indexed there by arange(B), so the advanced indices stay as adjacent as they were.
    NumPy then puts the broadcast dims (B, *R) at ``block``: where it put R unbatched.
    """
    from graphad.ops.shape import lift  # shape builds on getitem

    ranks = [d for a in arrays if (d := a.ndim) is not None]
    if len(ranks) < len(arrays) or (x_batched and size is None):
        return None
    r = max(d - b for d, b in zip(ranks, batched))
    lifted = [lift(a, r) if b else a for a, b in zip(arrays, batched)]
    advanced = [i for i, item in enumerate(items) if item[0] in ("array", "int")]
    first = advanced[0]
    consumed = sum(item[0] in ("int", "slice", "array") for item in items)
    axis = block = 0
    for item in items[:first]:
        step = ndim - consumed if item[0] == "ellipsis" else 1
        axis += 0 if item[0] == "new" else step
        block += step
    if advanced[-1] - advanced[0] != len(advanced) - 1:  # separated: NumPy puts them first
        block = 0
    if x_batched and size is not None:  # (known when x is batched, asked above)
        steps = np.arange(size).reshape((-1,) + (1,) * r).astype(np.int64)
        items = (*items[:first], ("array", len(lifted)), *items[first:])
        lifted.append(constant(steps))
    return items, lifted, axis, block


def _extents(items: tuple[Item, ...], shape: Any) -> dict[int, int]:
    """The length of the axis of x that each index array (by its position) indexes."""
    used = sum(_consumed(item) for item in items)
    extents, axis = {}, 0
    for item in items:
        if item[0] == "ellipsis":
            axis += len(shape) - used
            continue
        if item[0] == "array":
            extents[item[1]] = shape[axis]
        axis += _consumed(item)
    return extents


def scatter_add(g: Node, index: GetItem, like: Node, arrays: Sequence[Node]) -> Node:
    """A zeros array shaped like ``like`` with ``g`` added at ``index``."""
    shape = like.shape
    if shape is None:
        raise IndexingError(f"the adjoint of {like.name}[...] needs the rank of {like.name}")
    op = ScatterAdd(index.items, shape, index.advanced, len(arrays))
    extra = () if all(d is not None for d in shape) else (shape_of(like),)
    return op(g, *arrays, *extra)


def _encode(index: Any) -> tuple[tuple[Item, ...], list[Node], bool]:
    if not isinstance(index, tuple):
        index = (index,)
    items: list[Item] = []
    arrays: list[Node] = []
    for entry in index:
        if entry is None:
            items.append(("new",))
        elif entry is Ellipsis:
            items.append(("ellipsis",))
        elif isinstance(entry, slice):
            parts = (entry.start, entry.stop, entry.step)
            if any(p is not None and not isinstance(p, (int, np.integer)) for p in parts):
                raise IndexingError(f"slice bounds must be Python ints, got {entry}")
            if parts[2] is not None and int(parts[2]) == 0:
                raise IndexingError("slice step cannot be zero")
            items.append(("slice", *(None if p is None else int(p) for p in parts)))
        elif isinstance(entry, (bool, np.bool_)):
            raise IndexingError("a bool scalar is not a valid index")
        elif isinstance(entry, (int, np.integer)):
            items.append(("int", int(entry)))
        elif isinstance(entry, str):
            raise IndexingError(
                f"a tensor is indexed by ints, slices, None, ... and integer arrays, not {entry!r}"
            )
        else:
            if isinstance(entry, Node):
                node = entry
                if isinstance(node.type, TensorType) and node.type.dtype.kind == "b":
                    raise IndexingError(
                        "a boolean mask node selects a data-dependent number of elements; "
                        "use ga.where, or index with a constant mask"
                    )
            else:
                try:
                    array = np.asarray(entry)
                except (TypeError, ValueError) as e:
                    raise IndexingError(f"{entry!r} is not a valid index array: {e}") from None
                if array.dtype.kind == "b":  # a constant mask is static: its positions are known
                    if array.ndim == 0:
                        raise IndexingError("a bool scalar is not a valid index")
                    for extent, positions in zip(array.shape, np.nonzero(array)):
                        items.append(("array", len(arrays), extent))
                        arrays.append(constant(positions.astype(np.int64)))
                    continue
                if array.dtype.kind not in "iu" and array.size:
                    raise IndexingError(f"index arrays must be integer, got {array.dtype.name}")
                node = constant(array.astype(np.int64))
            items.append(("array", len(arrays)))
            arrays.append(node)
    return tuple(items), arrays, bool(arrays)


def getitem(x: Any, index: Any) -> Node:
    """``x[index]`` with NumPy semantics; the adjoint scatter-adds (repeats accumulate).

    On a tuple- or dict-valued node it looks the entry up instead (``d["cat"]``).
    """
    if isinstance(x, Node) and not isinstance(x.type, TensorType):
        from graphad.ops.structure import get  # structure builds on shape, which needs getitem

        return get(x, index)
    x = as_node(x)
    try:
        items, arrays, advanced = _encode(index)
    except IndexingError as e:
        raise IndexingError(f"getitem({x.type}): {e} ({user_location()})") from None
    _check_constant_bounds(x, items, arrays)
    return GetItem(items, advanced)(x, *arrays)


def _check_constant_bounds(x: Node, items: tuple[Item, ...], arrays: list[Node]) -> None:
    """Index arrays that are constants are checked against x's known shape now, not at run."""
    values = [a.op.value for a in arrays if isinstance(a.op, Constant)]
    shape = x.shape
    if not arrays or len(values) < len(arrays) or not is_static(shape):
        return
    dummy = np.broadcast_to(np.empty((), np.int8), shape)
    try:
        dummy[_decode(items, values)]
    except IndexError as e:
        raise IndexingError(f"getitem({x.type}): {e} ({user_location()})") from None
