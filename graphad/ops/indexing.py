"""Indexing: ``x[index]`` (basic and integer-array) and its adjoint, scatter-add.

An index is stored on the op as a tuple of hashable items; integer arrays
in it become extra inputs of the node (constants or computed), so the op
stays a small value and the index arrays stay part of the graph.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphad.ir import (
    Chunking,
    Constant,
    DTypeError,
    ExecutionError,
    GraphError,
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
    known_shape,
    normalize_axes,
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
from graphad.ops._batching import rank
from graphad.ops._buffers import batch_last, empty, plain, zeros
from graphad.ops._linear import Linear
from graphad.ops._util import tensor
from graphad.ops.utility import Positions, shape_of

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


def _taken(x: np.ndarray, index: np.ndarray, axis: int) -> np.ndarray:
    """np.take(x, index, axis) by an index in range, into a buffer of the run's pool: take's
    mode "wrap" writes there directly ("raise" buffers), the same for indices in range."""
    n = x.shape[axis]
    shape = x.shape[:axis] + index.shape + x.shape[axis + 1 :]
    if axis == 0 and index.ndim == 1 and batch_last(shape) and n <= index.size:
        # rows of a short-row table gathered for a long batch (BA's cameras and points per
        # observation): laid out batch last, as the elementwise chain that reads them is,
        # which would otherwise read each column with the row's stride and meet the
        # batch-last values it makes in mixed layouts
        out = empty(shape, x.dtype)
        rows = np.moveaxis(x, 0, -1)  # (..., n): take copies it (n <= batch)
        np.take(rows, index, axis=-1, out=np.moveaxis(out, 0, -1), mode="wrap")
        return out
    out = empty(shape, x.dtype, layout="C")  # take writes C order fastest
    return np.take(x, index, axis=axis, out=out, mode="wrap")


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
        axis = self.taken_axis()
        if axis is not None and isinstance(x, np.ndarray):
            # x[:, :, i] as np.take lays it out: C-contiguous, where NumPy's indexing puts
            # the index's dims outermost in memory (strides (8, 200, 12800)), which matrix
            # products then read without BLAS; and take is faster (4x at 1000 x 200, 7x for
            # rows of a (7776, 3) array).  Indices in range are checked first (out of
            # range: NumPy's own error below)
            index, n = np.asarray(arrays[0]), x.shape[axis]
            if not index.size or (index.min() >= -n and index.max() < n):
                return _taken(x, index, axis)
        return x[_decode(self.items, arrays)]

    def compute_for(self, node: Node) -> Callable[..., Any]:
        """``np.take`` along a known axis by a constant index: its range checked here, once;
        a small static result taken into NumPy's own memory, not the pool's."""
        axis = self.taken_axis()
        x, *arrays = node.inputs
        n = None if axis is None or x.shape is None else x.shape[axis]
        constant = None if n is None else arrays[0].op
        if axis is None or n is None or not isinstance(constant, Constant):
            return self.compute
        index = np.asarray(constant.value)
        if index.size and not (index.min() >= -n and index.max() < n):
            return self.compute  # NumPy's own error, when it runs
        return functools.partial(self._take_in_range, axis, plain(node.type, like=False))

    def _take_in_range(self, axis: int, small: bool, x: np.ndarray, index: np.ndarray) -> Any:
        """x[:, ..., index] by an index in range: ``compute_for`` checked it."""
        if type(x) is not np.ndarray:
            return self.compute(x, index)
        if small:  # C order, as the pool's buffer would be
            return np.take(x, index, axis=axis)
        return _taken(x, np.asarray(index), axis)

    def code(self, node: Node, args: Sequence[str], kernel: str) -> str | None:
        """x[1:, None, ...]: a basic index written out, a view without a call"""
        if len(args) > 1 or self.advanced:
            return None
        return f"{args[0]}[{index_text(self.items, []) + ',' if self.items else '()'}]"

    def native(self, node: Node) -> Call | None:
        """x[index] of ints, slices, None and ...: a view, or one entry"""
        if self.advanced or len(node.inputs) > 1 or not node.inputs[0].ndim:
            return None
        if not self.items:
            return Call("{0}", view=True)
        return Call(f"{{0}}[{index_text(self.items, [])},]", view=node.ndim != 0)

    def taken_axis(self) -> int | None:
        """k, when the index is k full slices then one index array (``x[:, :, i]``, what
        ``np.take(x, i, axis=k)`` gives); else None."""
        items = self.items
        if not items or items[-1][:2] != ("array", 0) or len(items[-1]) != 2:
            return None
        if any(item != _ALL for item in items[:-1]):
            return None
        return len(items) - 1

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
        x, like = xs[0], next(x for x, b in zip(xs, batched) if b)
        index = _batched_index(
            self.items, rank(node.inputs[0]), xs[1:], batched[1:], like, batched[0]
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
        if len(rest) == self.n_arrays and not is_static(self.shape):
            spanned = [] if self.advanced else full_slices(self.items, len(self.shape))
            if any(d is None and a not in dict(spanned) for a, d in enumerate(self.shape)):
                raise ShapeError(f"shape {format_shape(self.shape)} without its run-time shape")
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

    def compute_for(self, node: Node) -> Callable[..., Any]:
        """For a small static shape and constant indices, decided once: the index decoded,
        the zeros NumPy's own; an integer-array index that sends no two entries of the
        update to one place assigns them (``+ 0``, as ``np.add.at`` into zeros adds: -0.0
        becomes 0.0) rather than accumulating through ``np.add.at``."""
        if len(node.inputs) != 1 + self.n_arrays or not plain(node.type, like=False):
            return self.compute
        arrays = [a.op for a in node.inputs[1:]]
        if not all(isinstance(a, Constant) for a in arrays):
            return self.compute
        index = _decode(self.items, [a.value for a in arrays if isinstance(a, Constant)])
        shape = tuple(int(d) for d in self.shape if d is not None)
        if not self.advanced:
            return functools.partial(self._placed, shape, index, None)
        targets = numbering(node.type)[index].ravel()  # where each entry of g goes
        if np.unique(targets).size < targets.size:
            return self.compute
        return functools.partial(self._placed, shape, index, targets)

    def _placed(
        self, shape: tuple[int, ...], index: Any, targets: Any, g: np.ndarray, *rest: Any
    ) -> Any:
        """zeros(shape)[index] = g, or g + 0 at the flat ``targets`` (all different)."""
        if type(g) is not np.ndarray or (targets is not None and g.size != targets.size):
            return self.compute(g, *rest)  # (an update that broadcasts: np.add.at's)
        out = np.zeros(shape, g.dtype)
        if targets is None:
            out[index] = g
        else:
            out.reshape(-1)[targets] = np.add(g, g.dtype.type(0)).reshape(-1)
        return out

    def compute(self, g: np.ndarray, *rest: np.ndarray) -> np.ndarray:
        arrays = rest[: self.n_arrays]
        if len(rest) > self.n_arrays:
            shape = tuple(int(d) for d in rest[self.n_arrays])
        else:  # an unknown dim under a full slice is g's (infer checked there is one)
            shape = spanned_shape(self.shape, [(g, self.items)])
        out = zeros(shape, g.dtype)
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
        if self.advanced or len(node.inputs) > 1 or not is_static(self.shape):
            return None
        if g.ndim is None or g.dtype.kind != "f":
            return None
        dims = tuple(int(d) for d in self.shape if d is not None)  # is_static: all ints
        placed = placed_text(self.items, dims, g.ndim, g.dtype.name, "{0}", "0.0")
        if placed is None:
            return None
        return Call(placed, view=placed == "{0}")

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
        from graphad.ops.shape import (
            batch_dim,
            concatenate,
            materialize,
            move_from_front,
            move_to_front,
        )

        like = next(x for x, b in zip(xs, batched) if b)
        size = known_shape(like, "a batched operand")[0]
        arrays, given = xs[1 : 1 + self.n_arrays], xs[1 + self.n_arrays :]
        if any(batched[1 + self.n_arrays :]):
            return None  # a run-time shape that differs by example: never made so
        tail = given[0] if given else constant(np.asarray(self.shape, np.int64))
        if not any(batched[1 : 1 + self.n_arrays]):
            g = move_from_front(xs[0], _batch_axis(self.items, arrays))
            shape, extra = (size, *self.shape), given
            if given or (size is None and self.advanced):  # (basic: B is g's, at its ':')
                extra = (concatenate([batch_dim(like), tail]),)
            op = ScatterAdd((_ALL, *self.items), shape, self.advanced, self.n_arrays)
            return op(g, *arrays, *extra)
        index = _batched_index(self.items, len(self.shape), arrays, batched[1:], like, True)
        if index is None:
            return None
        items, lifted, axis, block = index
        g = move_from_front(xs[0] if batched[0] else materialize(xs[0], like), block)
        shape = (*self.shape[:axis], size, *self.shape[axis:])
        if size is not None and not given:
            extra = ()
        else:  # B into the run-time shape at ``axis``
            tail_dims = [
                getitem(tail, slice(0, axis)),
                batch_dim(like),
                getitem(tail, slice(axis, None)),
            ]
            extra = (concatenate(tail_dims),)
        out = ScatterAdd(items, shape, True, len(lifted))(g, *lifted, *extra)
        return move_to_front(out, axis)


_ALL = ("slice", None, None, None)  # the batch axis's item: all of it


def full_slices(items: tuple[Item, ...], ndim: int) -> list[tuple[int, int]]:
    """(axis of x, axis of x[index]) for each axis that a basic index takes whole (``:``),
    where the two have one length: an unknown length of x is the indexed value's there."""
    used = sum(_consumed(item) for item in items)
    expanded: list[Item] = []
    for item in items:
        expanded.extend([_ALL] * (ndim - used) if item[0] == "ellipsis" else [item])
    if not any(item[0] == "ellipsis" for item in items):
        expanded.extend([_ALL] * (ndim - used))
    pairs, axis, out = [], 0, 0
    for item in expanded:
        if item[0] == "new":
            out += 1
        elif item[0] == "int":
            axis += 1
        else:  # a slice
            if item == _ALL:
                pairs.append((axis, out))
            axis += 1
            out += 1
    return pairs


def spanned_shape(shape: tuple[int | None, ...], updates: Sequence[tuple[Any, Any]]) -> Any:
    """``shape`` with each unknown dim taken from an update placed there by a full slice:
    ``updates`` pairs run-time arrays with their basic indices (None: the whole array)."""
    if is_static(shape):
        return shape
    dims = list(shape)
    for value, items in updates:
        if items is None:
            return np.shape(value)
        for axis, at in full_slices(items, len(shape)):
            if dims[axis] is None:
                dims[axis] = np.shape(value)[at]
    if None in dims:
        raise ShapeError(f"shape {format_shape(shape)} without its run-time shape")
    return tuple(dims)


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
    like: Node,
    x_batched: bool,
) -> tuple[tuple[Item, ...], list[Node], int, int] | None:
    """An index with (some) batched arrays as an index of the batch: (items, arrays, axis,
    block), or None when it needs ranks that are not static.  ``like`` is a batched value,
    whose run-time length B gives arange(B) when it is not known statically.

    The batched arrays are lifted to rank 1 + R (R: the rank of the arrays' broadcast
    without the batch) so they broadcast against the shared ones.  A batched x has its
    batch axis moved to ``axis``, just before the axis of the first advanced index, and
    indexed there by arange(B), so the advanced indices stay as adjacent as they were.
    NumPy then puts the broadcast dims (B, *R) at ``block``: where it put R unbatched.
    """
    from graphad.ops.shape import lift  # shape builds on getitem

    ranks = [d for a in arrays if (d := a.ndim) is not None]
    if len(ranks) < len(arrays):
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
    if x_batched:
        size = known_shape(like, "a batched operand")[0]
        if size is None:
            steps = Positions(0, 1 + r)(like)  # arange(B) at run time
        else:
            steps = constant(np.arange(size).reshape((-1,) + (1,) * r).astype(np.int64))
        items = (*items[:first], ("array", len(lifted)), *items[first:])
        lifted.append(steps)
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
    try:
        _check_constant_bounds(x, items, arrays)
    except IndexingError as e:
        raise IndexingError(f"getitem({x.type}): {e} ({user_location()})") from None
    return GetItem(items, advanced)(x, *arrays)


TAKE_MODES = ("raise", "wrap", "clip")


def take(a: Any, indices: Any, axis: int | None = None, mode: str = "raise") -> Node:
    """np.take: the entries of ``a`` at ``indices`` along ``axis`` (of ``a`` raveled when
    ``axis`` is None), shape ``a.shape[:axis] + indices.shape + a.shape[axis + 1:]``.

    ``mode``: ``"raise"`` (negative indices count from the end; an index out of range is an
    error, at build time for constant indices), ``"wrap"`` (indices modulo the axis length n)
    or ``"clip"`` (indices clipped to [0, n - 1], negative ones to 0: NumPy's meaning).  The
    gather is ``a[:, ..., indices]``, whose adjoint scatter-adds (repeated indices
    accumulate); it runs as np.take, so the result is C-contiguous.

        rows = take(x, [2, 0, 2], axis=0)            # x[[2, 0, 2]]
        wrapped = take(v, i, mode="wrap")            # v[i % len(v)]
    """
    from graphad.ops.building import ravel  # building builds on indexing

    a = as_node(a)
    try:
        if mode not in TAKE_MODES:
            raise IndexingError(f"mode must be one of {TAKE_MODES}, got {mode!r}")
        if axis is None:
            a, ax = ravel(a), 0
        else:
            ndim = a.ndim
            if ndim is None:
                raise IndexingError("the axis of an array of unknown rank")
            if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
                raise IndexingError(f"axis must be an int or None, got {axis!r}")
            (ax,) = normalize_axes(int(axis), ndim)
        index = _take_index(indices, mode, known_shape(a)[ax], ax)
        items, arrays, _ = _encode((slice(None),) * ax + (index,))
        _check_constant_bounds(a, items, arrays)
    except GraphError as e:
        raise type(e)(f"take({a.type}): {e} ({user_location()})") from None
    return GetItem(items, True)(a, *arrays)


def _take_index(indices: Any, mode: str, n: int | None, axis: int) -> Any:
    """The indices ``take`` gathers at: as given for "raise", else wrapped or clipped into
    [0, n) (NumPy's arithmetic on constants, graph ops on a node)."""
    if isinstance(indices, Node):
        if not isinstance(indices.type, TensorType) or indices.dtype.kind not in "iu":
            raise DTypeError(f"indices must be integer, got {indices.type}")
    else:
        array = np.asarray(indices)
        if array.dtype.kind not in "iu" and not (array.dtype.kind == "f" and array.size == 0):
            raise DTypeError(f"indices must be integer, got {array.dtype.name}")
        indices = array.astype(np.int64)
    if mode == "raise":
        return indices
    if n is None:
        raise ShapeError(f"mode={mode!r} needs the length of axis {axis}, unknown until run time")
    if n == 0:
        raise IndexingError(f"cannot take from an empty axis {axis} with mode={mode!r}")
    if isinstance(indices, Node):
        from graphad.ops.piecewise import mod  # both build on indexing
        from graphad.ops.selection import clip

        return mod(indices, n) if mode == "wrap" else clip(indices, 0, n - 1)
    return np.mod(indices, n) if mode == "wrap" else np.clip(indices, 0, n - 1)


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
        raise IndexingError(str(e)) from None


def placed_text(
    items: tuple[Item, ...], dims: tuple[int, ...], ndim: int, dtype: str, operand: str, fill: str
) -> str | None:
    """A native expression: an array of shape ``dims`` holding ``operand`` (of rank
    ``ndim``; a scalar when 0-d) at the basic index ``items`` and ``fill`` elsewhere, the
    pieces joined by np.concatenate; None where the index picks along more than one axis,
    or by a step, None or ``...``."""
    whole = {("slice", None, None, None), ("slice", None, None, 1)}
    picked = [(a, item) for a, item in enumerate(items) if tuple(item) not in whole]
    if not picked:
        return operand if ndim == len(dims) else None
    if len(picked) != 1 or picked[0][1][0] not in ("int", "slice"):
        return None
    axis, item = picked[0]
    n = dims[axis]
    if item[0] == "int":
        k = item[1] + n if item[1] < 0 else item[1]
        lo, hi = k, k + 1
        lifted = (*dims[:axis], 1, *dims[axis + 1 :])
        if ndim == 0:  # a 0-d operand comes as a scalar: an array of it
            piece = f"np.full({lifted}, {operand})"
        else:
            piece = f"np.ascontiguousarray({operand}).reshape({lifted})"
    else:
        if item[3] not in (None, 1):
            return None
        lo, hi, _ = slice(item[1], item[2]).indices(n)
        piece = operand
    parts = [piece]
    if lo > 0:
        parts.insert(0, f"np.full({(*dims[:axis], lo, *dims[axis + 1 :])}, {fill}, np.{dtype})")
    if hi < n:
        parts.append(f"np.full({(*dims[:axis], n - hi, *dims[axis + 1 :])}, {fill}, np.{dtype})")
    if len(parts) == 1:
        return piece
    return f"np.concatenate(({', '.join(parts)}), {axis})"
