"""Shape ops: reshape, transpose, expand_dims, squeeze, broadcast_to, sum_to,
concatenate, stack, split.

Ops that produce a target shape keep what is known statically as their
``shape`` attribute (``None`` for unknown dims); when a dim is unknown, the
node gets one more input, the run-time shape of a reference node, which the
kernel uses instead.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphad.ir import (
    AxisError,
    DifferentiationError,
    Node,
    ShapeError,
    TensorType,
    as_node,
    as_nodes,
    broadcast_shapes,
    constant,
    format_shape,
    is_static,
    known_shape,
    normalize_axes,
    result_dtype,
)
from graphad.ir.dependence import (
    SAME,
    Dependences,
    Detect,
    grouped,
    numbering,
    routed,
    static_shape,
)
from graphad.ir.native import SUM, Call, Fold, fold
from graphad.ir.notation import ATOM, Term, atom, call, literal, shape_text, wrap
from graphad.ops._batching import BatchingError, rank, shift
from graphad.ops._buffers import assign, batch_last, empty, is_batch_last
from graphad.ops._kernels import SUMMED, may_sum_short, short_sum
from graphad.ops._linear import JointlyLinear, Linear
from graphad.ops._placing import is_pending, made, put
from graphad.ops._util import as_int, axes_tuple, building, known_ndim, tensor
from graphad.ops.indexing import getitem
from graphad.ops.utility import shape_of

Dims = tuple[int | None, ...]


def _axes_text(axes: tuple[int, ...]) -> str:
    """``0`` for one axis, ``(0, 2)`` for several, as NumPy's ``axis`` reads them."""
    return str(axes[0]) if len(axes) == 1 else literal(axes)


def _run_shape(static: Dims | None, rest: Sequence[np.ndarray]) -> tuple[int, ...]:
    """The target shape: the run-time shape input if there is one, else the static shape
    (an op without that input was made with every dimension known)."""
    if rest:
        return tuple(int(d) for d in rest[0])
    if not is_static(static):
        raise ShapeError(f"target shape {format_shape(static)} without its run-time shape")
    return static


def _batched_target(
    shape: Dims | None, xb: Node, rest: Sequence[Node]
) -> tuple[Dims | None, tuple[Node, ...]]:
    """The target (B, *shape) of a shape op on the batch ``xb``: what is known of it
    statically, and the run-time shape input it needs when that is not everything: B from
    ``xb``'s run-time shape, the rest from ``rest`` (the op's own run-time shape input, the
    same for every example) or from ``shape``."""
    size = known_shape(xb, "a batched operand")[0]
    dims = None if shape is None else (size, *shape)
    if not rest and is_static(dims):
        return dims, ()
    if rest:
        tail = rest[0]
    elif shape is not None and is_static(shape):
        tail = constant(np.asarray(shape, dtype=np.int64))
    else:  # an op without a shape input has a static shape
        raise BatchingError(f"a target shape {format_shape(shape)} without its run-time shape")
    return dims, (concatenate([batch_dim(xb), tail]),)


def batch_dim(xb: Node) -> Node:
    """B as an int64 vector of one entry: a constant when it is known, else ``xb``'s run-time
    shape's first entry."""
    size = known_shape(xb, "a batched operand")[0]
    if size is not None:
        return constant(np.asarray([size], dtype=np.int64))
    return getitem(shape_of(xb), slice(0, 1))


def _target(like: Node) -> tuple[Dims | None, tuple[Node, ...]]:
    """What is known of ``like``'s shape (``None``: not even the rank), and the run-time
    shape input the op needs when that is not everything."""
    shape = like.shape
    if shape is not None and all(d is not None for d in shape):
        return tuple(shape), ()
    return shape, (shape_of(like),)


@dataclass(frozen=True)
class Reshape(Linear):
    """x.reshape(shape); ``shape`` is fully resolved except for unknown dims (or rank)."""

    placing = True  # writes x into a given array: place, placed_shape

    shape: Dims | None

    def notation(self, args: Sequence[Term]) -> Term:
        """reshape(x, (2, 2))"""
        return call("reshape", [args[0], atom(shape_text(self.shape))])

    def infer(self, x: TensorType, *rest: TensorType) -> TensorType:
        tensor(x)
        if x.is_static and is_static(self.shape) and x.size != math.prod(self.shape):
            raise ShapeError(
                f"cannot reshape {format_shape(x.shape)} ({x.size} elements) "
                f"into {format_shape(self.shape)}"
            )
        return TensorType(self.shape, x.dtype)

    def compute(self, x: np.ndarray, *rest: np.ndarray) -> np.ndarray:
        return np.reshape(made(x), _run_shape(self.shape, rest))

    def placed_shape(self, x: Any, *rest: np.ndarray) -> tuple[int, ...]:
        """the target shape, its -1 resolved from x's size"""
        shape = list(_run_shape(self.shape, rest))
        size = math.prod(x.shape)
        if -1 in shape:
            known = math.prod(d for d in shape if d != -1)
            shape[shape.index(-1)] = size // known if known else 0
        if math.prod(shape) != size:
            raise ValueError(f"cannot reshape an array of size {size} into shape {tuple(shape)}")
        return tuple(shape)

    def place(self, out: np.ndarray, x: Any, *rest: np.ndarray) -> None:
        """x's entries in C order into ``out``'s: x itself where the shapes agree, through a
        view of ``out`` in x's shape where there is one (``out`` C-contiguous), else x made
        and reshaped"""
        if tuple(x.shape) == out.shape:  # nothing to reshape (a batch's run-time shape)
            put(out, x)
        elif out.flags.c_contiguous:
            put(out.reshape(x.shape), x)
        else:
            assign(out, np.reshape(made(x), out.shape))

    def native(self, node: Node) -> Call | None:
        """x.reshape(shape), of a contiguous copy of x where x is not contiguous (a known
        shape only)"""
        if len(node.inputs) > 1 or self.shape is None or None in self.shape:
            return None
        shape = tuple(self.shape)
        if node.inputs[0].ndim == 0:  # a scalar: one entry, in an array of the shape
            return Call(f"np.full({shape}, {{0}})")
        if not shape:
            return Call("np.ascontiguousarray({0}).reshape(1)[0]")
        return Call(f"np.ascontiguousarray({{0}}).reshape({shape})", view=True)

    def code(self, node: Node, args: Sequence[str], kernel: str) -> str | None:
        """x.reshape(shape), when the shape is static"""
        return f"{args[0]}.reshape({self.shape})" if len(args) == 1 else None

    def transpose(self, node: Node, g: Node) -> Node:
        """x̄ = reshape(g, x.shape)"""
        return reshape_like(g, node.inputs[0])

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """entry i on entry i: the entries keep their order (C order)"""
        return (SAME, *(None for _ in node.inputs[1:]))

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """reshape(xb, (B, *shape)), B (and unknown dims) resolved at run time"""
        xb, shape = xs[0], self.shape
        if (
            len(xs) == 1
            and known_shape(xb, "a batched operand")[0] is None
            and is_static(shape)
            and math.prod(shape) > 0
        ):  # -1 stands for B: no run-time shape to compute
            return Reshape((None, *shape))(xb, constant(np.asarray((-1, *shape), np.int64)))
        dims, extra = _batched_target(shape, xb, xs[1:])
        return Reshape(dims)(xb, *extra)


@dataclass(frozen=True)
class Transpose(Linear):
    """np.transpose(x, axes)"""

    axes: tuple[int, ...]

    def notation(self, args: Sequence[Term]) -> Term:
        """x.T when every axis is reversed, else transpose(x, (0, 2, 1))"""
        if self.axes == tuple(reversed(range(len(self.axes)))):
            return atom(f"{wrap(args[0], ATOM)}.T")
        return call("transpose", [args[0], atom(literal(self.axes))])

    def infer(self, x: TensorType) -> TensorType:
        shape = known_shape(x)
        if sorted(self.axes) != list(range(len(shape))):
            raise AxisError(f"axes {self.axes} are not a permutation of rank {len(shape)}")
        return TensorType(tuple(shape[a] for a in self.axes), x.dtype)

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.transpose(x, self.axes)

    def native(self, node: Node) -> Call | None:
        """np.transpose(x, axes): a view (x.T for the reversal, which numba compiles in a
        tenth of the time its transpose with axes takes)"""
        if not self.axes:
            return None
        if self.axes == tuple(reversed(range(len(self.axes)))):
            return Call("{0}.T", view=True)
        return Call(f"np.transpose({{0}}, {self.axes})", view=True)

    def code(self, node: Node, args: Sequence[str], kernel: str) -> str:
        """x.transpose(axes)"""
        return f"{args[0]}.transpose({self.axes})"

    def transpose(self, node: Node, g: Node) -> Node:
        """x̄ = transpose(g, argsort(axes))"""
        return Transpose(tuple(int(i) for i in np.argsort(self.axes)))(g)

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """each entry is one entry of x, moved"""
        return routed(self, node, (0,))

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """transpose(xb, (0, *(axes + 1)))"""
        return Transpose((0, *shift(self.axes)))(xs[0])


@dataclass(frozen=True)
class ExpandDims(Linear):
    """np.expand_dims(x, axes)"""

    axes: tuple[int, ...]

    def notation(self, args: Sequence[Term]) -> Term:
        """expand_dims(x, 0), expand_dims(x, (0, 2))"""
        return call("expand_dims", [args[0], atom(_axes_text(self.axes))])

    def infer(self, x: TensorType) -> TensorType:
        dims = iter(known_shape(x))
        ndim = known_ndim(x) + len(self.axes)
        axes = normalize_axes(self.axes, ndim)
        return TensorType(tuple(1 if i in axes else next(dims) for i in range(ndim)), x.dtype)

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.expand_dims(x, self.axes)

    def native(self, node: Node) -> Call | None:
        """x[:, None, …]: a view (a scalar x fills an array of ones' shape)"""
        if node.inputs[0].ndim == 0:
            return Call(f"np.full({node.shape}, {{0}})")
        ndim = known_ndim(node)
        axes = normalize_axes(self.axes, ndim)
        index = ", ".join("None" if a in axes else ":" for a in range(ndim))
        return Call(f"{{0}}[{index}]", view=True)

    def code(self, node: Node, args: Sequence[str], kernel: str) -> str | None:
        """x[:, None, …]: a new axis of length 1 at each of ``axes``"""
        if not self.axes:
            return None
        axes = normalize_axes(self.axes, rank(node))
        index = ", ".join("None" if i in axes else ":" for i in range(rank(node)))
        return f"{args[0]}[{index},]"

    def transpose(self, node: Node, g: Node) -> Node:
        """x̄ = squeeze(g, axes)"""
        return squeeze(g, self.axes)

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """entry i on entry i: the entries keep their order (C order)"""
        return (SAME, *(None for _ in node.inputs[1:]))

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """expand_dims(xb, axes + 1), the axes counted in the unbatched result"""
        return ExpandDims(shift(normalize_axes(self.axes, rank(node))))(xs[0])


@dataclass(frozen=True)
class Squeeze(Linear):
    """np.squeeze(x, axes) for axes of length 1."""

    axes: tuple[int, ...]

    def notation(self, args: Sequence[Term]) -> Term:
        """squeeze(x, 0), squeeze(x, (0, 2))"""
        return call("squeeze", [args[0], atom(_axes_text(self.axes))])

    def infer(self, x: TensorType) -> TensorType:
        shape = known_shape(x)
        axes = normalize_axes(self.axes, len(shape))
        for a in axes:
            if shape[a] not in (1, None):
                raise ShapeError(f"cannot squeeze axis {a} of length {shape[a]}")
        return TensorType(
            tuple(d for i, d in enumerate(shape) if i not in axes),
            x.dtype,
        )

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.squeeze(x, self.axes)

    def native(self, node: Node) -> Call | None:
        """x[:, 0, …]: a view, or the one entry"""
        ndim = node.inputs[0].ndim
        if not ndim:
            return None
        axes = normalize_axes(self.axes, ndim)
        index = ", ".join("0" if a in axes else ":" for a in range(ndim))
        return Call(f"{{0}}[{index}]", view=node.ndim != 0)

    def code(self, node: Node, args: Sequence[str], kernel: str) -> str | None:
        """x.reshape(shape), when the result's shape is static"""
        t = node.type
        if isinstance(t, TensorType) and t.is_static:
            return f"{args[0]}.reshape({t.shape})"
        return None

    def transpose(self, node: Node, g: Node) -> Node:
        """x̄ = expand_dims(g, axes)"""
        ndim = known_ndim(node.inputs[0])
        return ExpandDims(normalize_axes(self.axes, ndim))(g)

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """entry i on entry i: the entries keep their order (C order)"""
        return (SAME, *(None for _ in node.inputs[1:]))

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """squeeze(xb, axes + 1)"""
        return Squeeze(shift(normalize_axes(self.axes, rank(node.inputs[0]))))(xs[0])


@dataclass(frozen=True)
class BroadcastTo(Linear):
    """np.broadcast_to(x, shape); ``shape`` may hold unknown dims (or be unknown)."""

    shape: Dims | None

    def notation(self, args: Sequence[Term]) -> Term:
        """broadcast_to(x, (2, 3))"""
        return call("broadcast_to", [args[0], atom(shape_text(self.shape))])

    def infer(self, x: TensorType, *rest: TensorType) -> TensorType:
        tensor(x)
        if self.shape is None:
            return TensorType(None, x.dtype)
        if x.ndim is not None and x.ndim > len(self.shape):
            raise ShapeError(f"cannot broadcast rank {x.ndim} to {format_shape(self.shape)}")
        out = broadcast_shapes(x.shape, self.shape)
        if out is not None and any(
            a is not None and b is not None and a != b for a, b in zip(out, self.shape)
        ):
            raise ShapeError(
                f"cannot broadcast {format_shape(x.shape)} to {format_shape(self.shape)}"
            )
        return TensorType(self.shape, x.dtype)

    def compute(self, x: np.ndarray, *rest: np.ndarray) -> np.ndarray:
        return np.broadcast_to(x, _run_shape(self.shape, rest))

    def native(self, node: Node) -> Call | None:
        """np.broadcast_to(x, shape), a read-only view (a known shape only)"""
        if len(node.inputs) > 1 or self.shape is None or None in self.shape:
            return None
        shape = tuple(self.shape)
        if not shape:
            return Call("{0}")
        if node.inputs[0].ndim == 0:
            return Call(f"np.full({shape}, {{0}})")
        return Call(f"np.broadcast_to({{0}}, {shape})", view=True)

    def transpose(self, node: Node, g: Node) -> Node:
        """x̄ = sum_to(g, x.shape), applied by the reverse pass's un-broadcast"""
        return g

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """each entry is one entry of x, moved"""
        return routed(self, node, (0,))

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node | None:
        """broadcast_to(lift(xb), (B, *shape))"""
        if self.shape is None:
            return None  # of unknown rank: the operand cannot be lifted
        dims, extra = _batched_target(self.shape, xs[0], xs[1:])
        return BroadcastTo(dims)(lift(xs[0], len(self.shape)), *extra)


@dataclass(frozen=True)
class SumTo(Linear):
    """Sum g over the axes that broadcasting added or stretched, down to ``shape``."""

    shape: Dims | None

    def notation(self, args: Sequence[Term]) -> Term:
        """sum_to(g, (3,))"""
        return call("sum_to", [args[0], atom(shape_text(self.shape))])

    def infer(self, g: TensorType, *rest: TensorType) -> TensorType:
        tensor(g)
        if self.shape is not None and g.shape is not None:
            # each target dim is 1 (summed, kept) or the dim of g it lines up with
            lined_up = zip(reversed(self.shape), reversed(g.shape))
            if len(g.shape) < len(self.shape) or any(
                t not in (1, None) and d is not None and t != d for t, d in lined_up
            ):
                raise ShapeError(
                    f"cannot sum {format_shape(g.shape)} to {format_shape(self.shape)}"
                )
        return TensorType(self.shape, g.dtype)

    def compute(self, g: np.ndarray, *rest: np.ndarray) -> np.ndarray:
        shape = _run_shape(self.shape, rest)
        if g.shape == shape:
            return g
        lead = g.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, d in enumerate(shape) if d == 1 and g.shape[lead + i] != 1
        )
        # one axis of a few entries (a (p, 2, 3) adjoint of a (p, 2, 1) operand): slice
        # additions, NumPy's values at a fraction of its reduction's time
        out = short_sum(g, axes[0], True) if len(axes) == 1 else None
        if out is None:
            out = np.sum(g, axis=axes, keepdims=True)
        return out.reshape(shape)

    def compute_for(self, node: Node) -> Callable[..., Any]:
        """A float sum of static shapes over axes ``short_sum`` never takes: compute's own
        call, ``np.sum``'s reduction, without np.sum's Python layers (4-6 µs a call)"""
        g = node.inputs[0]
        shape, target = g.shape, self.shape
        if len(node.inputs) > 1 or target is None or shape is None:
            return self.compute
        if not (is_static(shape) and is_static(target)) or shape == target:
            return self.compute
        if g.dtype not in SUMMED:
            return self.compute
        lead = len(shape) - len(target)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, d in enumerate(target) if d == 1 and shape[lead + i] != 1
        )
        if may_sum_short(shape, axes[:1]) and len(axes) == 1:
            return self.compute
        compute, out_shape = self.compute, tuple(target)

        def summed(g: np.ndarray, *rest: np.ndarray) -> Any:
            if type(g) is not np.ndarray:
                return compute(g, *rest)
            return np.add.reduce(g, axis=axes, keepdims=True).reshape(out_shape)

        return summed

    def native(self, node: Node) -> Fold | None:
        """The sum over the leading axes and those summed to 1, as a fold (known shapes)"""
        g = node.inputs[0]
        shape = g.shape
        if len(node.inputs) > 1 or self.shape is None or not is_static(shape):
            return None
        if g.dtype.kind != "f":
            return None
        lead = len(shape) - len(self.shape)
        kept = tuple(lead + i for i, d in enumerate(self.shape) if d == 1 and shape[lead + i] != 1)
        return fold(SUM, tuple(range(lead)) + kept, kept)

    def transpose(self, node: Node, g: Node) -> Node:
        """x̄ = broadcast_to(g, x.shape)"""
        return broadcast_like(g, node.inputs[0])

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """each entry of g into the entry it is summed to (the transpose of a broadcast)"""
        shape = static_shape(node.inputs[0].type)
        return grouped(np.broadcast_to(numbering(node.type), shape), node)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node | None:
        """sum_to(gb, (B, *shape)), the axes it drops moved in front of the batch axis"""
        if self.shape is None:
            return None  # of unknown rank: which axes it drops is not known
        dims, extra = _batched_target(self.shape, xs[0], xs[1:])
        lead = rank(xs[0]) - 1 - len(self.shape)
        return SumTo(dims)(move_from_front(xs[0], lead), *extra)


@dataclass(frozen=True)
class Concatenate(JointlyLinear):
    """np.concatenate(xs, axis)"""

    placing = True  # writes each operand into its part of a given array: place, placed_shape

    axis: int

    def notation(self, args: Sequence[Term]) -> Term:
        """concatenate([a, b], axis=0)"""
        return call("concatenate", [atom(f"[{', '.join(a.text for a in args)}]")], axis=self.axis)

    def infer(self, *xs: TensorType) -> TensorType:
        if not xs:
            raise ShapeError("need at least one array to concatenate")
        ndims = {known_ndim(x) for x in xs}
        if len(ndims) != 1:
            raise ShapeError("all inputs must have the same rank")
        ndim = ndims.pop()
        (axis,) = normalize_axes(self.axis, ndim)
        out: list[int | None] = []
        for i in range(ndim):
            dims = [known_shape(x)[i] for x in xs]
            if i == axis:
                sizes = [d for d in dims if d is not None]
                out.append(sum(sizes) if len(sizes) == len(dims) else None)
                continue
            known = {d for d in dims if d is not None}
            if len(known) > 1:
                raise ShapeError(f"dimension {i} differs: {sorted(known)}")
            out.append(known.pop() if known else None)
        return TensorType(tuple(out), result_dtype(*(x.dtype for x in xs)))

    def compute(self, *xs: np.ndarray) -> np.ndarray:
        arrays = all(type(x) is np.ndarray for x in xs)
        if not arrays and not any(is_pending(x) for x in xs):  # lazy (Dask) arrays
            return np.concatenate(xs, axis=self.axis)
        shape = self.placed_shape(*xs)
        # into a buffer of the run's pool, batch last only where the result's own shape
        # asks for it: a batch of long rows (BA's (p, 2, 15) Jacobian blocks) is read in C
        # order next (a reshape, a product), and writing it so here costs 0.6 ms where the
        # reshape's copy out of the batch-last layout cost 2 ms
        layout = "auto" if batch_last(shape) else "C"
        out = empty(shape, np.result_type(*(x.dtype for x in xs)), like=xs[0], layout=layout)
        if arrays and (is_batch_last(out) or not any(is_batch_last(x) for x in xs)):
            return np.concatenate(xs, axis=self.axis, out=out)
        # batch-last operands into a C-ordered result are written by assign, which reads
        # them along the batch axis (np.concatenate's copy takes 2-3x the time); pending
        # operands place their own operands there
        self.place(out, *xs)
        return out

    def placed_shape(self, *xs: Any) -> tuple[int, ...]:
        """The operands' common shape, their lengths along the axis summed"""
        axis = self.axis % xs[0].ndim
        shape = list(xs[0].shape)
        shape[axis] = sum(x.shape[axis] for x in xs)
        for x in xs:
            if len(x.shape) != len(shape) or any(
                d != j for i, (d, j) in enumerate(zip(x.shape, shape)) if i != axis
            ):
                raise ValueError(
                    f"concatenate: an operand of shape {tuple(x.shape)} does not fit the others "
                    f"(joined along axis {axis}: {tuple(shape)})"
                )
        return tuple(shape)

    def place(self, out: np.ndarray, *xs: Any) -> None:
        """each operand into its slice of ``out`` along the axis"""
        axis = self.axis % out.ndim
        start = 0
        for x in xs:
            stop = start + x.shape[axis]
            put(out[(slice(None),) * axis + (slice(start, stop),)], x)
            start = stop

    def native(self, node: Node) -> Call | None:
        """np.concatenate of arrays of the result's dtype"""
        return _joined("concatenate", node, self.axis)

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """each entry is one entry of one input, moved"""
        return routed(self, node, range(len(node.inputs)))

    def transpose(self, node: Node, g: Node) -> tuple[Node, ...]:
        """x̄ᵢ = g[offsetᵢ : offsetᵢ + nᵢ] along axis; one size may be unknown until run
        time (a pad's operand between two blocks): the pieces after it are sliced from the
        end, and it takes what lies between"""
        (axis,) = normalize_axes(self.axis, known_ndim(node))
        sizes = [known_shape(x)[axis] for x in node.inputs]
        if sizes.count(None) > 1:
            raise DifferentiationError(
                "concatenate: the adjoint needs all but one of the sizes along the axis to be known"
            )
        unknown = sizes.index(None) if None in sizes else len(sizes)
        known = [0 if size is None else size for size in sizes]  # the unknown one: never summed
        ends = list(itertools.accumulate(known[:unknown], initial=0))  # offsets from the start
        tails = list(itertools.accumulate(reversed(known[unknown + 1 :]), initial=0))[::-1]
        outs = []
        for i in range(len(sizes)):
            if i < unknown:
                piece = slice(ends[i], ends[i + 1])
            elif i == unknown:
                piece = slice(ends[i], -tails[0] if tails[0] else None)
            elif known[i] == 0:  # nothing: -0 would count from the start
                piece = slice(0, 0)
            else:  # counted from the end: -tail .. -next tail
                k = i - unknown - 1
                piece = slice(-tails[k], -tails[k + 1] if tails[k + 1] else None)
            outs.append(getitem(g, (slice(None),) * axis + (piece,)))
        return tuple(outs)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """concatenate(xbᵢ, axis + 1), unbatched operands repeated over the batch"""
        (axis,) = normalize_axes(self.axis, rank(node))
        return Concatenate(axis + 1)(*all_batched(xs, batched))


@dataclass(frozen=True)
class Stack(JointlyLinear):
    """np.stack(xs, axis)"""

    axis: int

    def notation(self, args: Sequence[Term]) -> Term:
        """stack([a, b], axis=0)"""
        return call("stack", [atom(f"[{', '.join(a.text for a in args)}]")], axis=self.axis)

    def infer(self, *xs: TensorType) -> TensorType:
        if not xs:
            raise ShapeError("need at least one array to stack")
        ndim = known_ndim(xs[0])
        dims = []
        for i in range(ndim):
            known = {d for x in xs if x.ndim == ndim and (d := known_shape(x)[i]) is not None}
            if any(known_ndim(x) != ndim for x in xs) or len(known) > 1:
                raise ShapeError("all inputs must have the same shape")
            dims.append(known.pop() if known else None)
        (axis,) = normalize_axes(self.axis, ndim + 1)
        dims.insert(axis, len(xs))
        return TensorType(tuple(dims), result_dtype(*(x.dtype for x in xs)))

    def compute(self, *xs: np.ndarray) -> np.ndarray:
        return np.stack(xs, axis=self.axis)

    def native(self, node: Node) -> Call | None:
        """np.stack of arrays of the result's dtype"""
        return _joined("stack", node, self.axis)

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """each entry is one entry of one input, moved"""
        return routed(self, node, range(len(node.inputs)))

    def transpose(self, node: Node, g: Node) -> tuple[Node, ...]:
        """x̄ᵢ = g[..., i, ...] along axis"""
        (axis,) = normalize_axes(self.axis, known_ndim(node))
        return tuple(getitem(g, (slice(None),) * axis + (i,)) for i in range(len(node.inputs)))

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """stack(xbᵢ, axis + 1), unbatched operands repeated over the batch"""
        (axis,) = normalize_axes(self.axis, rank(node))
        return Stack(axis + 1)(*all_batched(xs, batched))


# -- batching helpers ----------------------------------------------------------
def lift(x: Node, ndim: int) -> Node:
    """A batched ``x`` with length-1 axes inserted after the batch axis, up to ``ndim``
    axes besides it: it then broadcasts against unbatched operands of rank ≤ ndim."""
    missing = ndim - (rank(x) - 1)
    return ExpandDims(tuple(range(1, 1 + missing)))(x) if missing > 0 else x


def materialize(x: Node, like: Node) -> Node:
    """An unbatched ``x`` repeated along the batch axis of the batched ``like`` (of a length
    known statically or at run time)."""
    shape, size = x.shape, known_shape(like, "a batched operand")[0]
    if shape is None:
        raise BatchingError(
            f"{x.name}: broadcasting an unbatched value over the batch needs its rank"
        )
    expanded = ExpandDims((0,))(x)
    if size is not None and is_static(shape):
        return BroadcastTo((size, *shape))(expanded)
    tail = constant(np.asarray(shape, np.int64)) if is_static(shape) else shape_of(x)
    return BroadcastTo((size, *shape))(expanded, concatenate([batch_dim(like), tail]))


def reshape_batch(xb: Node, shape: Sequence[int]) -> Node:
    """The batch ``xb`` reshaped to (B, *shape), ``shape`` static but for at most one -1,
    B known statically or not."""
    size = known_shape(xb, "a batched operand")[0]
    if size is not None:
        return reshape(xb, (size, *shape))
    if -1 not in shape and math.prod(shape) > 0:
        return reshape(xb, (-1, *shape))
    # B from the run-time shape; NumPy resolves the -1 (a batch of none cannot)
    tail = constant(np.asarray(shape, np.int64))
    target = (None, *(None if d == -1 else d for d in shape))
    return Reshape(target)(xb, concatenate([batch_dim(xb), tail]))


def all_batched(xs: Sequence[Node], batched: Sequence[bool]) -> list[Node]:
    """Every input batched: the unbatched ones repeated over the batch."""
    like = next(x for x, b in zip(xs, batched) if b)
    return [x if b else materialize(x, like) for x, b in zip(xs, batched)]


def move_to_front(x: Node, axis: int) -> Node:
    """``x`` with its axis ``axis`` moved to position 0."""
    if axis == 0:
        return x
    perm = (axis, *(i for i in range(rank(x)) if i != axis))
    return Transpose(perm)(x)


def move_from_front(x: Node, axis: int) -> Node:
    """``x`` with its axis 0 moved to position ``axis``."""
    if axis == 0:
        return x
    perm = list(range(1, rank(x)))
    perm.insert(axis, 0)
    return Transpose(tuple(perm))(x)


# -- public functions ----------------------------------------------------------
def _resolve_reshape(x: TensorType, shape: Sequence[int]) -> Dims:
    shape = tuple(as_int(d, "a reshape dimension") for d in shape)
    if sum(d == -1 for d in shape) > 1 or any(d < -1 for d in shape):
        raise ShapeError(f"invalid target shape {shape}")
    if -1 not in shape:
        return shape
    known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
    size = x.size
    if size is None:
        return tuple(None if d == -1 else d for d in shape)
    if known == 0 or size % known:
        raise ShapeError(f"cannot reshape {format_shape(x.shape)} into {shape}")
    return tuple(size // known if d == -1 else d for d in shape)


def _dims(shape: Any, what: str, unknown: bool = False) -> tuple[Any, ...]:
    """A shape argument as a tuple: one int, or a sequence of ints (and None if ``unknown``)."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        return (int(shape),)
    if not isinstance(shape, (Sequence, np.ndarray)) or isinstance(shape, str):
        raise ShapeError(f"a {what} shape is an int or a sequence of ints, got {shape!r}")
    return tuple(d if unknown and d is None else as_int(d, f"a {what} dimension") for d in shape)


def reshape(x: Any, shape: Sequence[int] | int) -> Node:
    """x.reshape(shape); one dim may be -1."""
    x = as_node(x)
    with building("reshape", x):
        shape = _dims(shape, "reshape")
        dims = _resolve_reshape(tensor(x.type), shape)
    if None not in dims:
        return Reshape(dims)(x)
    # unknown size: let NumPy resolve the -1 at run time from a constant target
    return Reshape(dims)(x, constant(np.asarray(shape, dtype=np.int64)))


def reshape_like(x: Node, like: Node) -> Node:
    """Reshape ``x`` to the (possibly run-time) shape of ``like``."""
    shape, extra = _target(like)
    if x.type == like.type and not extra:
        return x
    return Reshape(shape)(x, *extra)


def transpose(x: Any, axes: Sequence[int] | None = None) -> Node:
    """np.transpose(x, axes); ``axes=None`` reverses them."""
    x = as_node(x)
    with building("transpose", x):
        ndim = known_ndim(x.type, "transpose operand")
        if axes is None:
            perm = tuple(range(ndim))[::-1]
        else:  # negative axes count from the end; out-of-range ones are left for infer
            given = axes_tuple(axes)
            given = (given,) if isinstance(given, int) else given
            perm = tuple(a + ndim if -ndim <= a < 0 else a for a in given)
    return Transpose(perm)(x)


def swapaxes(x: Any, a: int, b: int) -> Node:
    x = as_node(x)
    with building("swapaxes", x):
        ndim = known_ndim(x.type)
        perm = list(range(ndim))
        (a,), (b,) = normalize_axes(a, ndim), normalize_axes(b, ndim)
        perm[a], perm[b] = perm[b], perm[a]
    return Transpose(tuple(perm))(x)


def matrix_transpose(x: Any) -> Node:
    """Swap the last two axes (x.mT)."""
    return swapaxes(x, -2, -1)


def expand_dims(x: Any, axis: int | Sequence[int]) -> Node:
    x = as_node(x)
    with building("expand_dims", x):
        axes = axes_tuple(axis)
    return ExpandDims((axes,) if isinstance(axes, int) else axes)(x)


def squeeze(x: Any, axis: int | Sequence[int] | None = None) -> Node:
    """np.squeeze; with ``axis=None`` the dims statically known to be 1."""
    x = as_node(x)
    with building("squeeze", x):
        if axis is None:
            axes = tuple(i for i, d in enumerate(known_shape(x)) if d == 1)
        else:
            given = axes_tuple(axis)
            axes = (given,) if isinstance(given, int) else given
    return Squeeze(axes)(x) if axes else x


def broadcast_to(x: Any, shape: Sequence[int]) -> Node:
    """np.broadcast_to(x, shape) for a static ``shape``."""
    x = as_node(x)
    with building("broadcast_to", x):
        dims = _dims(shape, "broadcast_to")
    return BroadcastTo(dims)(x)


def full_like(x: Node, value: float) -> Node:
    """``value`` everywhere in ``x``'s shape and dtype.

    With a static shape this is a broadcast scalar constant, so it does not
    need ``x``'s value (nor the feeds behind it); otherwise ``x``'s run-time shape.
    """
    one = constant(np.asarray(value, dtype=x.dtype))
    shape = x.shape
    if is_static(shape):
        return broadcast_to(one, shape) if shape else one
    return broadcast_like(one, x)


def broadcast_like(x: Node, like: Node) -> Node:
    """Broadcast ``x`` to the (possibly run-time) shape of ``like``."""
    shape, extra = _target(like)
    if not extra and x.shape == shape:
        return x
    return BroadcastTo(shape)(x, *extra)


def sum_to(x: Any, shape: Sequence[int | None] | Node) -> Node:
    """Sum ``x`` down to ``shape`` (or to the shape of a node): un-broadcasting."""
    x = as_node(x)
    if isinstance(shape, Node):
        target, extra = _target(shape)
    else:
        with building("sum_to", x):
            target, extra = _dims(shape, "sum_to", unknown=True), ()
            if None in target:
                raise ShapeError("give a node instead of a shape with unknown dims")
    if not extra and x.shape == target:
        return x
    return SumTo(target)(x, *extra)


def _operands(name: str, xs: Any) -> tuple[Node, ...]:
    """The arrays of ``concatenate``/``stack``: a list or tuple of operands."""
    if isinstance(xs, Node) or not isinstance(xs, Sequence) or isinstance(xs, str):
        with building(name):
            raise ShapeError(f"expects a list or tuple of arrays, got {type(xs).__name__}")
    return as_nodes(*xs)


def concatenate(xs: Sequence[Any], axis: int | None = 0) -> Node:
    """np.concatenate(xs, axis); ``axis=None`` flattens every array first, as NumPy does."""
    nodes = _operands("concatenate", xs)
    if axis is None:
        return Concatenate(0)(*(reshape(x, (-1,)) for x in nodes))
    with building("concatenate", *nodes):
        axis = as_int(axis, "axis")
    return Concatenate(axis)(*nodes)


def stack(xs: Sequence[Any], axis: int = 0) -> Node:
    """np.stack(xs, axis): a new axis ``axis`` of length len(xs)."""
    nodes = _operands("stack", xs)
    with building("stack", *nodes):
        axis = as_int(axis, "axis")
    return Stack(axis)(*nodes)


def split(x: Any, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Node]:
    """np.split: a list of slices of ``x`` along ``axis`` (each an ordinary getitem)."""
    x = as_node(x)
    with building("split", x):
        shape = known_shape(x)
        (ax,) = normalize_axes(axis, len(shape))
        n = shape[ax]
        bounds: list[int | None]  # None: to the end of an axis of unknown length
        if isinstance(indices_or_sections, (int, np.integer)):
            sections = int(indices_or_sections)
            if n is None or sections <= 0 or n % sections:
                raise ShapeError(
                    f"axis {ax} of length {n} cannot be split into {sections} equal parts"
                )
            bounds = [i * (n // sections) for i in range(sections + 1)]
        elif isinstance(indices_or_sections, (Sequence, np.ndarray)):
            bounds = [0, *(as_int(i, "a split index") for i in indices_or_sections), n]
        else:
            as_int(indices_or_sections, "the number of sections")  # raises: 1.5, None, "2"
            bounds = []
    return [
        getitem(x, (slice(None),) * ax + (slice(lo, hi),)) for lo, hi in itertools.pairwise(bounds)
    ]


def _joined(function: str, node: Node, axis: int) -> Call | None:
    """``np.<function>((x0, x1, ...), axis)`` where every operand is an array of the
    result's dtype (numba joins only arrays of one dtype and rank)."""
    xs = node.inputs
    if not xs or any(not x.ndim or x.dtype != node.dtype for x in xs):
        return None
    operands = ", ".join(f"{{{i}}}" for i in range(len(xs)))
    return Call(f"np.{function}(({operands},), {axis})")
