"""Banded Jacobians: find the band of a JVP graph statically and compress the batch to it.

A Jacobian J = ∂y/∂x of 1-D y (m,) and x (n,) is *banded* when J[k, j] = 0
unless lo ≤ j - k ≤ hi.  Then columns w = hi - lo + 1 apart never share a
row, so w seed vectors S[c] = Σ_{j ≡ c (mod w)} eⱼ recover all of J from one
JVP batched over w tangents instead of n (Curtis, Powell and Reid's column
compression): C[c, k] = Σ_{j ≡ c} J[k, j] holds the one entry of row k in
colour c, and J[k, j] = C[j mod w, k] inside the band, 0 outside.  The
batched intermediates are w·n instead of n·n, and a sum of terms each
touching a few neighbouring variables (Rosenbrock, finite-difference
stencils, any ``sum`` of elementwise terms of shifted slices) has w ≤ 3 or so.

What is exploited, exactly: the band is found by walking the JVP graph from the
tangent, conservatively.  An op that declares itself ``elementwise`` (arithmetic,
selection, ``add_n``, ``cast``, ...) whose tangent-carrying inputs all have its 1-D
shape keeps the union of their bands; a unit-step slice ``x[a:b]`` shifts the
band by a and its adjoint (``scatter_add`` into a slice) by -a.  Anything
else (reductions, matmul, broadcasting, reshapes, gathers, ranks other than 1)
makes the band unknown, and the Jacobian is built densely, batched over all n
basis vectors.  Nothing depends on values, so the band holds at every point.
"""

from __future__ import annotations

import numpy as np

from graphad.ir import Node, constant, descendants, known_shape, topo_sort
from graphad.ops import concatenate, getitem, reshape
from graphad.ops.indexing import GetItem, ScatterAdd

Band = tuple[int, int]  # (lo, hi): the offsets j - k that may be nonzero


def band(out: Node, seed: Node) -> Band | None:
    """(lo, hi) with ∂out[k]/∂seed[j] = 0 unless lo ≤ j - k ≤ hi, for 1-D ``out`` and
    ``seed``; ``None`` when the graph between them does not show it."""
    order = topo_sort([out])
    carries = descendants(order, [seed])
    bands: dict[Node, Band | None] = {seed: (0, 0)}
    for node in order:
        if node in carries and node is not seed:
            inputs = [(x, bands[x]) for x in node.inputs if x in carries]
            bands[node] = _band(node, inputs)
    return bands.get(out)


def _band(node: Node, inputs: list[tuple[Node, Band | None]]) -> Band | None:
    if node.ndim != 1 or known_shape(node)[0] is None or any(b is None for _, b in inputs):
        return None
    spans = [b for _, b in inputs if b is not None]
    op = node.op
    if op.elementwise:
        if any(x.shape != node.shape for x, _ in inputs):
            return None  # broadcast along the axis: every entry depends on one
        return min(lo for lo, _ in spans), max(hi for _, hi in spans)
    if isinstance(op, (GetItem, ScatterAdd)) and len(node.inputs) == 1:
        start = _unit_slice_start(op.items, node.inputs[0] if isinstance(op, GetItem) else node)
        if start is None:
            return None
        (lo, hi), shift = spans[0], start if isinstance(op, GetItem) else -start
        return lo + shift, hi + shift  # y[k] = x[k + a]: offsets grow by a
    return None


def _unit_slice_start(items: tuple, whole: Node) -> int | None:
    """a, for an index that is one slice a:b:1 of the 1-D ``whole``."""
    if len(items) != 1 or items[0][0] != "slice" or items[0][3] not in (None, 1):
        return None
    length = known_shape(whole)[0] if whole.ndim == 1 else None
    if length is None:
        return None
    start = items[0][1] or 0
    return max(start + length, 0) if start < 0 else min(start, length)


def seeds(n: int, width: int, dtype: np.dtype) -> np.ndarray:
    """The w compressed seed vectors: S[c, j] = 1 where j ≡ c (mod w)."""
    return (np.arange(n)[None, :] % width == np.arange(width)[:, None]).astype(dtype)


def decompress(compressed: Node, span: Band, m: int, n: int) -> Node:
    """J (m, n) from C (w, m): J[k, j] = C[j mod w, k] inside the band, 0 outside; one
    gather from C flattened, with one zero appended for the entries outside the band."""
    lo, hi = span
    width = hi - lo + 1
    cols, rows = np.arange(n)[None, :], np.arange(m)[:, None]
    inside = (cols - rows >= lo) & (cols - rows <= hi)
    index = np.where(inside, (cols % width) * m + rows, width * m)
    zero = constant(np.zeros(1, compressed.dtype))
    return getitem(concatenate([reshape(compressed, (width * m,)), zero]), index)
