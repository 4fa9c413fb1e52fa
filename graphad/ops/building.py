"""Building and rearranging arrays: stacks, pads, rolls, flips, repeats, splits, linspace.

Every function here is a composition of existing linear ops (reshape,
transpose, concatenate, broadcast_to, getitem, where), so each is exact, its
derivatives of every order come from rules already checked, and it batches
wherever they do.  Each one moves or copies entries without arithmetic, at
the cost of one or a few NumPy copies: what NumPy itself pays.  Where a dim they
rearrange is unknown until run time, pad, roll, tile and repeat take its length
then (:mod:`graphad.ops.dims`: a run-time shape or gather index, a run-time check);
the splits into sections still need it when the node is built.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any, Literal, get_args

import numpy as np

from graphad.ir import (
    DTypeError,
    Node,
    ShapeError,
    as_dtype,
    as_node,
    as_nodes,
    constant,
    known_shape,
    normalize_axes,
)
from graphad.ops._util import as_int, axes_tuple, building, known_ndim, one_axis, static_dim
from graphad.ops.dims import (
    axis_index,
    broadcast_to_dims,
    checked,
    dim,
    product,
    reshape_to,
)
from graphad.ops.indexing import getitem
from graphad.ops.piecewise import floor
from graphad.ops.selection import where
from graphad.ops.shape import (
    concatenate,
    expand_dims,
    reshape,
    split,
    transpose,
)
from graphad.ops.utility import cast, zeros_like


def along(x: Node, index: Any, axis: int) -> Node:
    """x[:, ..., index, ...] with ``index`` (a slice or an index array) at ``axis``."""
    return getitem(x, (slice(None),) * axis + (index,))


def ravel(a: Any, order: str = "C") -> Node:
    """np.ravel: the entries as one vector, in C (row-major) or F (column-major) order."""
    a = as_node(a)
    with building("ravel", a):
        if order not in ("C", "F", "A", "K"):
            raise ShapeError(f"order must be 'C' or 'F', got {order!r}")
        known_ndim(a.type)
    return reshape(transpose(a) if order == "F" else a, (-1,))


def _atleast(a: Node, ndim: int) -> Node:
    n = known_ndim(a.type)
    if n >= ndim:
        return a
    # NumPy's placements: 1-D (n,) -> (1, n) and (1, n, 1); 2-D (m, n) -> (m, n, 1)
    axes = {(0, 2): (0, 1), (1, 2): (0,), (0, 3): (0, 1, 2), (1, 3): (0, 2), (2, 3): (2,)}
    return expand_dims(a, axes[(n, ndim)]) if ndim > 1 else reshape(a, (1,))


def _atleast_nd(ndim: int, arys: Sequence[Any]) -> Node | list[Node]:
    nodes = [as_node(a) for a in arys]
    with building(f"atleast_{ndim}d", *nodes):
        out = [_atleast(a, ndim) for a in nodes]
    return out[0] if len(out) == 1 else out


def atleast_1d(*arys: Any) -> Node | list[Node]:
    """np.atleast_1d: scalars become (1,); a list of nodes for several arguments."""
    return _atleast_nd(1, arys)


def atleast_2d(*arys: Any) -> Node | list[Node]:
    """np.atleast_2d: () -> (1, 1), (n,) -> (1, n)."""
    return _atleast_nd(2, arys)


def atleast_3d(*arys: Any) -> Node | list[Node]:
    """np.atleast_3d: () -> (1, 1, 1), (n,) -> (1, n, 1), (m, n) -> (m, n, 1)."""
    return _atleast_nd(3, arys)


def _joined(name: str, tup: Sequence[Any], ndim: int, axis: int) -> Node:
    nodes = as_nodes(*tup)
    with building(name, *nodes):
        if not nodes:
            raise ShapeError("need at least one array")
        return concatenate([_atleast(x, ndim) for x in nodes], axis=axis)


def vstack(tup: Sequence[Any]) -> Node:
    """np.vstack: rows on top of each other, 1-D operands as rows (atleast_2d, axis 0)."""
    return _joined("vstack", tup, 2, 0)


row_stack = vstack


def hstack(tup: Sequence[Any]) -> Node:
    """np.hstack: along axis 1, or axis 0 when the operands are 1-D."""
    nodes = as_nodes(*tup)
    flat = bool(nodes) and all(x.ndim is not None and x.ndim <= 1 for x in nodes)
    return _joined("hstack", nodes, 1, 0 if flat else 1)


def dstack(tup: Sequence[Any]) -> Node:
    """np.dstack: along the third axis, after atleast_3d."""
    return _joined("dstack", tup, 3, 2)


def column_stack(tup: Sequence[Any]) -> Node:
    """np.column_stack: 1-D operands as columns, 2-D ones as they are, along axis 1."""
    nodes = as_nodes(*tup)
    with building("column_stack", *nodes):
        cols = [expand_dims(x, -1) if known_ndim(x.type) < 2 else x for x in nodes]
        return concatenate([_atleast(c, 2) for c in cols], axis=1)


def append(arr: Any, values: Any, axis: int | None = None) -> Node:
    """np.append: both raveled and joined when ``axis`` is None, else concatenated."""
    arr, values = as_nodes(arr, values)
    if axis is None:
        return concatenate([ravel(arr), ravel(values)])
    with building("append", arr, values):
        axis = one_axis(arr, axis)
    return concatenate([arr, values], axis=axis)


def repeat(a: Any, repeats: Any, axis: int | None = None) -> Node:
    """np.repeat: each entry ``repeats`` times along ``axis`` (raveled when None);
    ``repeats`` an int or one count per entry.  One count: a broadcast then a reshape, on
    any length; counts per entry: a gather, the axis checked to have one entry per count.
    Either way the adjoint sums the copies."""
    a = as_node(a)
    with building("repeat", a):
        if axis is None:
            a, ax = ravel(a), 0
        else:
            ax = one_axis(a, axis)
        counts = np.asarray(repeats)
        if counts.dtype.kind not in "iu" or counts.ndim > 1 or np.any(counts < 0):
            raise ShapeError(f"repeats must be non-negative ints, got {repeats!r}")
        if counts.ndim == 0 or counts.size == 1:
            return _repeat_each(a, ax, int(counts.reshape(-1)[0]))
        n = a.shape[ax]
        if n is not None and counts.size != n:
            raise ShapeError(f"{counts.size} repeats for an axis of length {n}")
        a = checked(a, ax, f"repeat: {counts.size} repeats", equal=counts.size)
        index = np.repeat(np.arange(counts.size), counts)
    return along(a, index, ax)


def _repeat_each(a: Node, ax: int, k: int) -> Node:
    """Each entry k times along ``ax``: (…, n, …) -> (…, n, k, …) -> (…, n·k, …)."""
    dims = [dim(a, i) for i in range(known_ndim(a.type))]
    spread = broadcast_to_dims(expand_dims(a, ax + 1), [*dims[: ax + 1], k, *dims[ax + 1 :]])
    return reshape_to(spread, [*dims[:ax], product(dims[ax], k), *dims[ax + 1 :]])


def tile(A: Any, reps: int | Sequence[int]) -> Node:
    """np.tile: ``A`` repeated ``reps`` times along each axis (leading 1s added to the
    shorter of A's shape and reps).  A broadcast then a reshape, on any lengths: its
    adjoint sums the tiles."""
    A = as_node(A)
    with building("tile", A):
        r = (
            (as_int(reps, "reps"),)
            if isinstance(reps, (int, np.integer)) or np.ndim(reps) == 0
            else tuple(as_int(k, "reps") for k in reps)
        )
        if any(k < 0 for k in r):
            raise ShapeError(f"reps must be non-negative, got {reps!r}")
        n = builtins.max(known_ndim(A.type), len(r))
        r = (1,) * (n - len(r)) + r
        x = expand_dims(A, tuple(range(n - A.ndim))) if A.ndim < n else A
    if all(k == 1 for k in r):
        return x
    dims = [dim(x, i) for i in range(n)]
    spread = expand_dims(x, tuple(range(0, 2 * n, 2)))  # (1, d₀, 1, d₁, …)
    tiled = broadcast_to_dims(spread, [k for pair in zip(r, dims) for k in pair])
    return reshape_to(tiled, [product(d, k) for k, d in zip(r, dims)])


def _pad_widths(pad_width: Any, ndim: int) -> np.ndarray:
    widths = np.asarray(pad_width)
    if widths.dtype.kind not in "iu" or np.any(widths < 0):
        raise ShapeError(f"pad widths must be non-negative ints, got {pad_width!r}")
    try:
        return np.broadcast_to(widths, (ndim, 2))
    except ValueError:
        raise ShapeError(f"pad widths {pad_width!r} do not fit rank {ndim}") from None


PadMode = Literal["constant", "edge", "reflect", "symmetric", "wrap"]
_PAD_MODES: tuple[PadMode, ...] = get_args(PadMode)


def _pad_mode(mode: object) -> PadMode:
    """``mode`` as one of the pad modes graphad has, or a ShapeError listing them."""
    for known in _PAD_MODES:
        if mode == known:
            return known
    raise ShapeError(f"mode must be one of {', '.join(_PAD_MODES)}, got {mode!r}")


def pad(array: Any, pad_width: Any, mode: str = "constant", constant_values: Any = 0) -> Node:
    """np.pad with mode 'constant', 'edge', 'reflect', 'symmetric' or 'wrap'.

    Index modes gather x at the indices NumPy's own pad of ``arange(n)`` gives, so they
    are NumPy's rule exactly (the adjoint sums the copies back), computed when values
    arrive where n is unknown until then; 'constant' joins constant blocks of the other
    dims' (run-time) lengths (``constant_values`` may be a node: it receives the blocks'
    adjoint).
    """
    x = as_node(array)
    with building("pad", x):
        kind = _pad_mode(mode)
        ndim = known_ndim(x.type)
        widths = _pad_widths(pad_width, ndim)
        fills = None
        if mode == "constant" and not isinstance(constant_values, Node):
            fills = np.broadcast_to(np.asarray(constant_values), (ndim, 2))
        for axis, (before, after) in enumerate(widths):
            if before == after == 0:
                continue
            if mode != "constant":  # a length NumPy can pad from, checked when values arrive
                if known_shape(x)[axis] is None:
                    least = 2 if mode == "reflect" else 1
                    x = checked(x, axis, f"pad: mode {mode!r}", at_least=least)
                x = along(x, axis_index(x, axis, "pad", int(before), int(after), kind), axis)
                continue
            blocks = []
            for k, width in enumerate((before, after)):
                dims = [dim(x, i) for i in range(ndim)]
                dims[axis] = int(width)
                value = constant_values if fills is None else constant(fills[axis, k], x.dtype)
                blocks.append(broadcast_to_dims(cast(value, x.dtype), dims))
            x = concatenate([blocks[0], x, blocks[1]], axis=axis)
    return x


def roll(a: Any, shift: int | Sequence[int], axis: int | Sequence[int] | None = None) -> Node:
    """np.roll: entries shifted cyclically, by two slices joined in swapped order; a gather
    at NumPy's own roll of ``arange(n)`` where n is unknown until run time."""
    a = as_node(a)
    with building("roll", a):
        if axis is None:
            flat = roll(ravel(a), shift, 0)
            return reshape_to(flat, [dim(a, i) for i in range(known_ndim(a.type))])
        shifts, axes = np.broadcast_arrays(np.asarray(shift), np.asarray(axis))
        x = a
        for s, ax in zip(shifts.ravel(), axes.ravel()):
            ax = one_axis(a, ax)  # int() would take axis 1.7 as 1
            s = as_int(s, "shift")
            n = a.shape[ax]
            if n is None:
                x = along(x, axis_index(x, ax, "roll", s), ax)
                continue
            cut = (n - s % n) % n if n else 0
            if cut:
                head = along(x, slice(cut, None), ax)
                x = concatenate([head, along(x, slice(0, cut), ax)], axis=ax)
    return x


def flip(m: Any, axis: int | Sequence[int] | None = None) -> Node:
    """np.flip: the order of entries reversed along ``axis`` (all axes when None)."""
    m = as_node(m)
    with building("flip", m):
        ndim = known_ndim(m.type)
        axes = normalize_axes(axes_tuple(axis), ndim)
    index = tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(ndim))
    return getitem(m, index)


def fliplr(m: Any) -> Node:
    """np.fliplr: reverse axis 1 (left/right); needs rank ≥ 2."""
    return _flip_checked("fliplr", m, 1)


def flipud(m: Any) -> Node:
    """np.flipud: reverse axis 0 (up/down); needs rank ≥ 1."""
    return _flip_checked("flipud", m, 0)


def _flip_checked(name: str, m: Any, axis: int) -> Node:
    m = as_node(m)
    with building(name, m):
        if known_ndim(m.type) <= axis:
            raise ShapeError(f"needs rank ≥ {axis + 1}")
    return flip(m, axis)


def rot90(m: Any, k: int = 1, axes: Sequence[int] = (0, 1)) -> Node:
    """np.rot90: rotate by 90° k times in the plane of ``axes`` (flip and transpose)."""
    m = as_node(m)
    with building("rot90", m):
        ndim = known_ndim(m.type)
        if len(axes) != 2:
            raise ShapeError(f"axes must name two axes, got {axes!r}")
        a, b = (as_int(i, "axis") % ndim if -ndim <= i < ndim else i for i in axes)
        normalize_axes((a, b), ndim)  # range and distinctness
        k = as_int(k, "k") % 4
        perm = list(range(ndim))
        perm[a], perm[b] = perm[b], perm[a]
    if k == 0:
        return m
    if k == 2:
        return flip(m, (a, b))
    if k == 1:
        return transpose(flip(m, b), perm)
    return flip(transpose(m, perm), b)


def moveaxis(a: Any, source: int | Sequence[int], destination: int | Sequence[int]) -> Node:
    """np.moveaxis: axes ``source`` moved to ``destination``, the others keep their order."""
    a = as_node(a)
    with building("moveaxis", a):
        ndim = known_ndim(a.type)
        src = [normalize_axes(s, ndim)[0] for s in np.atleast_1d(source)]
        dst = [normalize_axes(d, ndim)[0] for d in np.atleast_1d(destination)]
        if len(src) != len(dst) or len(set(src)) != len(src) or len(set(dst)) != len(dst):
            raise ShapeError(f"source {source!r} and destination {destination!r} do not pair up")
        order = [i for i in range(ndim) if i not in src]
        for d, s in sorted(zip(dst, src)):
            order.insert(d, s)
    return transpose(a, order)


def rollaxis(a: Any, axis: int, start: int = 0) -> Node:
    """np.rollaxis: ``axis`` moved to before position ``start``."""
    a = as_node(a)
    with building("rollaxis", a):
        ndim = known_ndim(a.type)
        ax = one_axis(a, axis)
        start = as_int(start, "start")
        if not -ndim <= start <= ndim:
            raise ShapeError(f"start {start} is out of range for rank {ndim}")
        start %= ndim + 1
        if ax < start:
            start -= 1
    return moveaxis(a, ax, start) if ax != start else a


def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Node]:
    """np.array_split: like split, but ``sections`` need not divide the axis (the first
    n % sections pieces get one more entry)."""
    ary = as_node(ary)
    if np.ndim(indices_or_sections) != 0:
        return split(ary, indices_or_sections, axis)
    with building("array_split", ary):
        ax = one_axis(ary, axis)
        n = static_dim(ary, ax, "array_split")
        sections = as_int(indices_or_sections, "sections")
        if sections <= 0:
            raise ShapeError(f"the number of sections must be positive, got {sections}")
        sizes = [n // sections + (i < n % sections) for i in range(sections)]
    return split(ary, list(np.cumsum(sizes)[:-1]), ax)


def _split_at(name: str, ary: Any, indices_or_sections: Any, axis: int, rank: int) -> list[Node]:
    ary = as_node(ary)
    with building(name, ary):
        if known_ndim(ary.type) < rank:
            raise ShapeError(f"needs rank ≥ {rank}")
    return split(ary, indices_or_sections, axis)


def hsplit(ary: Any, indices_or_sections: Any) -> list[Node]:
    """np.hsplit: split along axis 1 (axis 0 for 1-D)."""
    ary = as_node(ary)
    return _split_at("hsplit", ary, indices_or_sections, 1 if ary.ndim != 1 else 0, 1)


def vsplit(ary: Any, indices_or_sections: Any) -> list[Node]:
    """np.vsplit: split along axis 0; needs rank ≥ 2."""
    return _split_at("vsplit", ary, indices_or_sections, 0, 2)


def dsplit(ary: Any, indices_or_sections: Any) -> list[Node]:
    """np.dsplit: split along axis 2; needs rank ≥ 3."""
    return _split_at("dsplit", ary, indices_or_sections, 2, 3)


def linspace(
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    retstep: bool = False,
    dtype: Any = None,
    axis: int = 0,
) -> Node | tuple[Node, Node]:
    """np.linspace with node (or array) endpoints: shape (num, *broadcast(start, stop))
    with the new axis at ``axis``.  start + t·(stop - start) for the constants
    t = k/div; with ``endpoint`` the last sample is ``stop`` itself, as in NumPy."""
    start, stop = as_nodes(start, stop)
    with building("linspace", start, stop):
        num = as_int(num, "num")
        if num < 0:
            raise ShapeError(f"num must be non-negative, got {num}")
        if not start.type.is_float:
            start = cast(start, np.result_type(start.dtype, stop.dtype, float))
        div = (num - 1) if endpoint else num
        delta = stop - start
        step = delta / div if div > 0 else delta * np.nan
        steps = num - 1 if endpoint and num > 1 else num
        t = constant(np.arange(steps) / (div if div > 0 else 1), delta.dtype)
        t = reshape(t, (steps,) + (1,) * known_ndim(delta.type))
        y = expand_dims(start, 0) + t * expand_dims(delta, 0)
        if steps < num:  # the endpoint exactly
            y = concatenate([y, expand_dims(stop + zeros_like(delta), 0)], axis=0)
        if dtype is not None:
            dtype = as_dtype(dtype)
            if dtype.kind in "iu":  # NumPy floors into an integer dtype
                y = floor(y)
            elif dtype.kind not in "fc":
                raise DTypeError(f"dtype must be a number dtype, got {dtype}")
            y = cast(y, dtype)
        y = moveaxis(y, 0, axis) if as_int(axis, "axis") != 0 else y
    return (y, step) if retstep else y


def select(condlist: Sequence[Any], choicelist: Sequence[Any], default: Any = 0) -> Node:
    """np.select: the choice of the first true condition, else ``default``; nested
    wheres from the last pair out, so no adjoint reaches an unchosen entry."""
    with building("select"):
        if len(condlist) != len(choicelist):
            raise ShapeError(f"{len(condlist)} conditions but {len(choicelist)} choices")
        if not condlist:
            raise ShapeError("needs at least one condition")
    out = as_node(default, [c for c in choicelist if isinstance(c, Node)])
    for cond, choice in zip(reversed(condlist), reversed(choicelist)):
        out = where(cond, choice, out)
    return out
