"""Compressed Jacobians and Hessians: one product per colour, the entries read back by a gather.

Given the pattern of J = ∂y/∂x (m × n, detected from the graph or given) and a colouring
(:mod:`graphad.autodiff.coloring`), the graph computes the c compressed products as one
batched derivative (``vmap`` over the c seed vectors, ``batch_size`` at a time):

- forward, columns coloured: C = J·S, one JVP per colour, C[c, i] = Σ_{colour(j) = c} J[i, j],
  so J[i, j] = C[colour(j), i];
- reverse, rows coloured: R = Sᵀ·J, one VJP per colour, J[i, j] = R[colour(i), j];
- star (a symmetric Hessian, forward over reverse): B = H·S, H[i, j] = B[colour(j), i]
  when colour(j) is alone in row i, else B[colour(i), j].

The stored entries are one gather from the products (its index, ``Coloring.sources``, is a
constant of nnz entries), so the graph's node count depends on neither n nor c, and its
work is c derivative passes instead of n.  The result is a sparse matrix node
(``SparseType``: a ``scipy.sparse.csr_array`` when run) or, for the dense ``jacobian``,
the dense array filled from the same gather.  With several x the columns are theirs side
by side; y's entries are the rows (both flattened in C order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphad.autodiff._checks import check_inputs, check_target
from graphad.autodiff.batching import vmap
from graphad.autodiff.coloring import (
    ORDERS,
    Order,
    column_coloring,
    row_coloring,
    star_coloring,
    star_sources,
)
from graphad.autodiff.forward import jvp
from graphad.autodiff.reverse import gradients
from graphad.autodiff.sparsity import (
    Detection,
    TooDense,
    check_scalar,
    detect,
    hessian_pattern,
    scipy_sparse,
    warn_conservative,
)
from graphad.ir import (
    DifferentiationError,
    Node,
    Pattern,
    TensorType,
    constant,
    format_shape,
    placeholder,
    user_location,
)
from graphad.ir.dependence import entry_count, static_shape
from graphad.ops import add_n, concatenate, getitem, reshape
from graphad.ops import sum as sum_
from graphad.ops.indexing import ScatterAdd
from graphad.ops.sparse import ToSparse


@dataclass(frozen=True, eq=False)
class Coloring:
    """How a sparse matrix of ``pattern`` is compressed into ``count`` products.

    ``mode``: ``"forward"`` (the colours group columns: one JVP per colour) or
    ``"reverse"`` (rows: one VJP per colour); ``kind``: ``"column"``, ``"row"`` or
    ``"star"`` (a symmetric Hessian's columns, read back directly); ``colors``: the colour
    of each column (forward) or row (reverse).  ``no_rule`` and ``fallbacks``: where
    detection took the dense pattern (see :class:`~graphad.autodiff.sparsity.Detection`).
    """

    pattern: Pattern
    mode: str
    kind: str
    colors: np.ndarray = field(repr=False)
    no_rule: tuple[str, ...] = ()
    fallbacks: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        """The number of colours: of JVPs or VJPs the matrix costs."""
        return int(self.colors.max()) + 1 if self.colors.size else 0

    def seeds(self, dtype: Any = np.float64) -> np.ndarray:
        """S (count, n) forward, (count, m) reverse: S[c, j] = 1 where colour(j) = c."""
        return (self.colors[None, :] == np.arange(self.count)[:, None]).astype(dtype)

    def sources(self) -> np.ndarray:
        """For each stored entry, in the pattern's order, its place in the products
        (count, m) forward or (count, n) reverse, flattened."""
        p = self.pattern
        rows, cols = p.row_ids(), p.indices
        if self.kind == "star":
            color, row = star_sources(p, self.colors)
            if np.any(row < 0):
                raise DifferentiationError(
                    f"the colouring does not recover every entry directly ({user_location()})"
                )
            return color * p.shape[0] + row
        if self.mode == "forward":
            return self.colors[cols] * p.shape[0] + rows
        return self.colors[rows] * p.shape[1] + cols


def choose(
    found: Detection,
    fn: str,
    mode: str = "auto",
    kind: str = "auto",
    order: Order = "largest_first",
    symmetric: bool = False,
) -> Coloring:
    """The colouring with the fewest colours among those allowed: for a Jacobian a column
    (forward) or row (reverse) colouring, ties to forward; for a symmetric Hessian a star
    or a column colouring, ties to the column colouring, in the pass ``mode`` asks."""
    if order not in ORDERS:
        raise DifferentiationError(
            f"{fn}: order must be one of {', '.join(ORDERS)}, got {order!r} ({user_location()})"
        )
    p = found.pattern
    made: list[tuple[str, str, np.ndarray]] = []
    if symmetric:
        if kind not in ("auto", "star", "column"):
            raise DifferentiationError(
                f"{fn}: coloring must be 'auto', 'star' or 'column', got {kind!r} "
                f"({user_location()})"
            )
        # forward over reverse by default; a Hessian's rows are its columns, so "reverse"
        # colours the same way and sweeps reverse over reverse
        pass_mode = "reverse" if mode == "reverse" else "forward"
        if kind in ("auto", "column"):
            made.append((pass_mode, "column", column_coloring(p, order)))
        if kind in ("auto", "star"):
            made.append((pass_mode, "star", star_coloring(p, order)))
    else:
        if mode in ("auto", "forward"):
            made.append(("forward", "column", column_coloring(p, order)))
        if mode in ("auto", "reverse"):
            made.append(("reverse", "row", row_coloring(p, order)))
    # min keeps the first of equals: forward before reverse, column before star
    chosen = min(made, key=lambda m: int(m[2].max()) + 1 if m[2].size else 0)
    if symmetric and chosen[0] == "reverse" and chosen[1] == "column":
        chosen = ("reverse", "row", chosen[2])  # a symmetric matrix: its rows, coloured alike
    return Coloring(p, chosen[0], chosen[1], chosen[2], found.no_rule, found.fallbacks)


# -- the compressed graph ------------------------------------------------------------
def _flat(nodes: Sequence[Node], count: int) -> Node:
    """Batched nodes (count, *shape) side by side as one (count, Σ sizes)."""
    parts = [reshape(n, (count, -1)) for n in nodes]
    return parts[0] if len(parts) == 1 else concatenate(parts, axis=1)


def _tensor(node: Node) -> TensorType:
    """A tensor's type (the callers checked that it is one)."""
    assert isinstance(node.type, TensorType)
    return node.type


def products(
    outputs: Sequence[Node], xs: Sequence[Node], coloring: Coloring, batch_size: int | None
) -> Node:
    """The compressed products, flattened to one vector: of (count, m) for the forward
    mode, (count, n) for the reverse mode, as one vmap per chunk of ``batch_size`` colours."""
    count = coloring.count
    if coloring.mode == "forward":
        seeds = [placeholder(f"tangent_{k}", type=x.type) for k, x in enumerate(xs)]
        made = jvp(list(outputs), list(xs), seeds)
        split = [_tensor(x) for x in xs]
    else:
        seeds = [placeholder(f"cotangent_{k}", type=y.type) for k, y in enumerate(outputs)]
        if len(outputs) == 1:
            made = gradients(outputs[0], list(xs), grad_y=seeds[0])
        else:  # the VJP of several outputs: the gradient of Σₖ ⟨gₖ, yₖ⟩
            made = gradients(add_n(*(sum_(g * y) for g, y in zip(seeds, outputs))), list(xs))
        split = [_tensor(y) for y in outputs]
    basis = coloring.seeds(np.result_type(*(t.dtype for t in split)))
    bounds = np.cumsum([0] + [entry_count(t) for t in split])
    step = count if batch_size is None else batch_size
    chunks = []
    for lo in range(0, count, step):
        hi = min(lo + step, count)
        batch = {
            s: constant(basis[lo:hi, a:b].reshape((hi - lo, *static_shape(t))).astype(t.dtype))
            for s, t, a, b in zip(seeds, split, bounds, bounds[1:])
        }
        chunks.append(reshape(_flat(vmap(made, batch), hi - lo), (-1,)))
    return chunks[0] if len(chunks) == 1 else concatenate(chunks)


def assemble(
    outputs: Sequence[Node],
    xs: Sequence[Node],
    coloring: Coloring,
    batch_size: int | None,
    sparse: bool,
) -> Node:
    """The matrix from its compressed products: a sparse matrix node, or (``sparse=False``)
    the dense (m, n) array with zeros outside the pattern."""
    p = coloring.pattern
    dtype = np.result_type(*(y.dtype for y in outputs))
    if coloring.count == 0:  # nothing depends on x
        values = constant(np.zeros(0, dtype))
    else:
        values = getitem(products(outputs, xs, coloring, batch_size), coloring.sources())
    if sparse:
        return ToSparse(p)(values)
    # the dense array: zeros with the values put at their (row, column), an index of nnz
    # entries rather than one of m·n
    at = (("array", 0), ("array", 1))
    put = ScatterAdd(at, p.shape, advanced=True, n_arrays=2)
    return put(values, constant(p.row_ids()), constant(p.indices))


# -- the public functions ------------------------------------------------------------
def _given(pattern: Any, shape: tuple[int, int], fn: str) -> Detection:
    try:
        return Detection(Pattern.of(pattern, shape))
    except (ValueError, TypeError) as e:
        raise DifferentiationError(f"{fn}: pattern: {e} ({user_location()})") from None


def _check_mode(mode: Any, fn: str, allowed: tuple[str, ...]) -> None:
    if mode not in allowed:
        raise DifferentiationError(
            f"{fn}: mode must be {', '.join(map(repr, allowed))}, got {mode!r} ({user_location()})"
        )


def _static_size(node: Node, what: str, fn: str) -> int:
    if not isinstance(node.type, TensorType) or not node.type.is_static:
        raise DifferentiationError(
            f"{fn}: {what} = {node.name} needs a fully known shape, got "
            f"{format_shape(node.shape)} ({user_location()})"
        )
    return entry_count(node.type)


def jacobian_coloring(
    y: Node, x: Any, mode: str = "auto", pattern: Any = None, order: Order = "largest_first"
) -> tuple[Coloring, list[Node]]:
    """The colouring a sparse ``jacobian(y, x)`` uses, and the list of x."""
    fn = "jacobian"
    _check_mode(mode, fn, ("auto", "forward", "reverse"))
    y = check_target(y)
    xs, _ = check_inputs(x, fn)
    m = _static_size(y, "y", fn)
    n = sum(_static_size(xi, "x", fn) for xi in xs)
    found = detect([y], xs) if pattern is None else _given(pattern, (m, n), fn)
    warn_conservative(found, fn)
    return choose(found, fn, mode, order=order), xs


def hessian_coloring(
    y: Node,
    x: Any,
    mode: str = "forward",
    pattern: Any = None,
    kind: str = "auto",
    order: Order = "largest_first",
) -> tuple[Coloring, list[Node], list[Node]]:
    """The colouring a sparse ``hessian(y, x)`` uses, the list of x and the gradients."""
    fn = "hessian"
    _check_mode(mode, fn, ("forward", "reverse"))
    y = check_target(y)
    xs, _ = check_inputs(x, fn)
    n = sum(_static_size(xi, "x", fn) for xi in xs)
    check_scalar(y, fn)
    grads = gradients(y, xs)
    if pattern is None:
        found = hessian_pattern(y, xs, fn, grads)
    else:
        given = _given(pattern, (n, n), fn).pattern
        found = Detection(Pattern.union([given, given.T], given.shape))  # symmetric
    warn_conservative(found, fn)
    return choose(found, fn, mode, kind, order, symmetric=True), xs, grads


def sparse_jacobian(
    y: Node, x: Any, mode: str, batch_size: int | None, sparse: bool, pattern: Any
) -> Node:
    """``jacobian(y, x, sparse=True)`` (or with a ``pattern``): see :func:`assemble`."""
    if sparse:
        scipy_sparse("jacobian(..., sparse=True)")
    coloring, xs = jacobian_coloring(y, x, mode, pattern)
    out = assemble([y], xs, coloring, batch_size, sparse)
    if sparse or len(xs) > 1:
        return out
    return reshape(out, (*static_shape(y.type), *static_shape(xs[0].type)))


def sparse_hessian(
    y: Node, x: Any, mode: str, batch_size: int | None, sparse: bool, pattern: Any, kind: str
) -> Node:
    """``hessian(y, x, sparse=True)``: the compressed Jacobian of the gradient graph."""
    if sparse:
        scipy_sparse("hessian(..., sparse=True)")
    coloring, xs, grads = hessian_coloring(y, x, mode, pattern, kind)
    out = assemble(grads, xs, coloring, batch_size, sparse)
    if sparse or len(xs) > 1:
        return out
    return reshape(out, (*static_shape(xs[0].type), *static_shape(xs[0].type)))


def compressed_jacobian(y: Node, x: Node, batch_size: int | None) -> Node | None:
    """The dense forward-mode ``jacobian(y, x)`` from fewer JVPs than x has entries, when
    the graph shows a pattern that needs fewer colours (a band, a stencil, blocks); None
    when it does not, or when detection would cost more than the basis it saves."""
    n, m = entry_count(x.type), entry_count(y.type)
    try:
        # a pattern of more entries than a few per row and column would not compress much
        found = detect([y], [x], limit=16 * (m + n) + 4096)
    except (TooDense, DifferentiationError):
        return None
    coloring = choose(found, "jacobian", "forward")
    if coloring.count >= n:
        return None
    out = assemble([y], [x], coloring, batch_size, sparse=False)
    return reshape(out, (*static_shape(y.type), *static_shape(x.type)))


def coloring(
    y: Node,
    x: Node | Sequence[Node],
    hessian: bool = False,
    mode: str | None = None,
    pattern: Any = None,
    kind: str = "auto",
    order: Order = "largest_first",
) -> Coloring:
    """The colouring ``jacobian(y, x, sparse=True)`` (``hessian=True``: ``hessian``) uses:
    its pattern, mode, kind and colours, ``count`` products in all.

        c = ga.coloring(energy, u, hessian=True)
        c.count, c.kind          # 5, 'star' for a 5-point stencil
    """
    if hessian:
        return hessian_coloring(y, x, mode or "forward", pattern, kind, order)[0]
    return jacobian_coloring(y, x, mode or "auto", pattern, order)[0]
