"""Compositions of the passes: jacobian, hessian, hvp, vjp, derivative, adjoints.

Cost model (n = x.size inputs, m = y.size outputs, C = cost of evaluating y):
``jacobian`` in forward mode is one JVP whose tangent is the batch of the n
basis vectors of x's space (the identity), about 2-3·C per basis vector; in
reverse mode one VJP whose cotangent is the batch of the m basis vectors of
y's space, 3-4·C each, sharing the forward values.  Either way the graph is
one batched derivative (``vmap``), whose size does not depend on n or m;
``batch_size=k`` runs the basis in chunks of k (ceil(n/k) copies), bounding
the memory of the batched intermediates to k·n instead of n·n.
``jacobian(mode="auto")`` picks forward when n < m and reverse otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphad.autodiff._checks import check_inputs, check_target, pass_order
from graphad.autodiff.batching import vmap
from graphad.autodiff.compression import compressed_jacobian, sparse_hessian, sparse_jacobian
from graphad.autodiff.forward import as_tangent, jvp, no_tangent
from graphad.autodiff.reverse import gradients, sweep
from graphad.ir import (
    Derivation,
    DifferentiationError,
    Node,
    Placeholder,
    Role,
    constant,
    format_shape,
    is_static,
    pass_origin,
    placeholder,
    tagged,
    topo_sort,
    transform,
    user_location,
)
from graphad.ops import (
    broadcast_to,
    cast,
    concatenate,
    getitem,
    make_tuple,
    matrix_transpose,
    ones_like,
    reshape,
)


def _static(node: Node, what: str, fn: str) -> tuple[int, ...]:
    shape = node.shape
    if not is_static(shape):
        raise DifferentiationError(
            f"{fn}: {what} = {node.name} needs a fully known shape, got "
            f"{format_shape(shape)} ({user_location()})"
        )
    return shape


def _single_x(x: Any, fn: str) -> None:
    """These transforms take one x; a list is a mistake worth naming."""
    if not isinstance(x, Node):
        raise DifferentiationError(
            f"{fn}: x must be a Node (a single one), got {type(x).__name__} ({user_location()})"
        )
    check_inputs(x, fn)


def _inputs(x: Any, fn: str) -> tuple[list[Node], bool]:
    """One x or a list of them (JAX's argnums), as a list, and whether it was one."""
    if isinstance(x, (list, tuple)) and not x:
        raise DifferentiationError(f"{fn}: x is an empty list ({user_location()})")
    return check_inputs(x, fn)


def _basis_batch(
    outs: list[Node],
    seeds: Sequence[Node],
    basis: Sequence[np.ndarray],
    batch_size: int | None,
    d: Derivation,
) -> list[Node]:
    """Each of ``outs`` for each vector of the joint basis (``basis[k]`` the k-th seed's part
    of every vector, fed to the placeholder ``seeds[k]``), batch axis first: the whole basis
    as one batch, or in chunks of ``batch_size``; each chunk of a seed's part plays that
    seed's roles (the tangent of x, the adjoint of y)."""
    count = len(basis[0])
    step = count if batch_size is None else batch_size
    chunks = []
    for i in range(0, count, step):
        batches = {}
        for seed, part in zip(seeds, basis):
            chunk = constant(part[i : i + step])
            for role in seed.roles:
                d.note(chunk, role)
            batches[seed] = chunk
        chunks.append(vmap(outs, batches))
    if len(chunks) == 1:
        return list(chunks[0])
    return [concatenate([c[k] for c in chunks], axis=0) for k in range(len(outs))]


def _split_basis(shapes: Sequence[tuple[int, ...]], dtype: np.dtype) -> list[np.ndarray]:
    """The identity of the space of all the blocks (of ``shapes``) side by side, split into
    each block's part: vector i of the joint basis is eᵢ in its own block, 0 in the others."""
    sizes = [math.prod(s) for s in shapes]
    eye = np.eye(sum(sizes), dtype=dtype)
    bounds = np.cumsum([0, *sizes])
    return [eye[:, a:b].reshape(-1, *s) for a, b, s in zip(bounds, bounds[1:], shapes)]


def _block(rows: Node, start: int, count: int, total: int) -> Node:
    """Rows ``start`` to ``start + count`` of a batch of ``total`` (no node when all)."""
    return rows if count == total else getitem(rows, slice(start, start + count))


def _dense_blocks(
    out: Node, row_shapes: Sequence[tuple[int, ...]], column_shapes: Sequence[tuple[int, ...]]
) -> list[list[Node]]:
    """The (m, n) matrix ``out`` of blocks side by side cut into its blocks, block [i][k] of
    shape ``row_shapes[i] + column_shapes[k]``."""
    rows = np.cumsum([0, *(math.prod(s) for s in row_shapes)])
    columns = np.cumsum([0, *(math.prod(s) for s in column_shapes)])
    return [
        [
            reshape(getitem(out, (slice(a, b), slice(c, e))), sy + sx)
            for c, e, sx in zip(columns, columns[1:], column_shapes)
        ]
        for a, b, sy in zip(rows, rows[1:], row_shapes)
    ]


def _check_batch_size(batch_size: Any, fn: str) -> None:
    if batch_size is not None and (
        not isinstance(batch_size, (int, np.integer))
        or isinstance(batch_size, bool)
        or batch_size < 1
    ):
        raise DifferentiationError(
            f"{fn}: batch_size must be a positive int or None, got {batch_size!r} "
            f"({user_location()})"
        )


def _check_mode(mode: Any, fn: str) -> None:
    if mode not in ("auto", "forward", "reverse"):
        raise DifferentiationError(
            f"{fn}: mode must be 'auto', 'forward' or 'reverse', got {mode!r} ({user_location()})"
        )


def jacobian(
    y: Node,
    x: Node | Sequence[Node],
    mode: str = "auto",
    batch_size: int | None = None,
    sparse: bool = False,
    pattern: Any = None,
) -> Any:
    """∂y/∂x as one node of shape ``y.shape + x.shape`` (static shapes); for a list of
    inputs ``[x1, x2, ...]`` (JAX's ``argnums``), the list of blocks ∂y/∂xₖ.

    ``mode="forward"``: one JVP whose tangent is the batch of all x.size basis
    vectors (of all the xₖ together); ``"reverse"``: one VJP whose cotangent is the batch
    of all y.size basis vectors, giving every block at once; ``"auto"`` picks forward when
    the inputs have fewer elements than y, all blocks counted.  Both give the same values,
    and the graph's size does not depend on the sizes.  ``batch_size=k`` runs the basis k
    vectors at a time, which bounds the memory of the batched intermediates.  In forward
    mode a Jacobian of one x whose pattern the graph shows to need fewer colours than x has
    entries (a band, a stencil) is computed from that many JVPs
    (:mod:`~graphad.autodiff.compression`).

    ``sparse=True``: a sparse matrix node of shape (y.size, x.size) (several x: their
    columns side by side, one matrix) holding the pattern detected from the graph
    (``pattern=``: a known one, a SciPy sparse matrix or boolean array), evaluated to a
    ``scipy.sparse.csr_array``; it is computed from one JVP per colour of its columns
    or one VJP per colour of its rows, whichever needs fewer (``mode`` forces one).  A
    ``pattern`` without ``sparse``: the dense Jacobian (or its blocks) computed the same way.

        J = jacobian(softmax(x), x)                  # (n, n)
        Jc, Jp = jacobian(residual(c, p), [c, p])    # (2, 11), (2, 3): 2 VJPs, not 14 JVPs
        S = jacobian(x[1:] * x[:-1], x, sparse=True)   # (n-1, n), 2 colours
    """
    _check_mode(mode, "jacobian")
    _check_batch_size(batch_size, "jacobian")
    if sparse or pattern is not None:
        out = sparse_jacobian(y, x, mode, batch_size, sparse, pattern)
        if sparse or isinstance(x, Node):
            return out
        xs, _ = _inputs(x, "jacobian")
        y_shape = _static(y, "y", "jacobian")
        return _dense_blocks(out, [y_shape], [_static(xk, "x", "jacobian") for xk in xs])[0]
    y = check_target(y)
    xs, single = _inputs(x, "jacobian")
    roles = [[Role("jacobian", y, wrt=xk) for xk in xs]]
    with transform("jacobian"):
        (blocks,) = _jacobian([y], xs, mode, batch_size, roles)
    return blocks[0] if single else blocks


def _holding(d: Node, x: Node, shape: tuple[int, ...]) -> Node:
    """``d``, a derivative with respect to the placeholder ``x`` of static shape ``shape``,
    as a graph that holds x.

    Where d's value does not depend on x (y linear in x, or not depending on it) its graph
    would not reach x, and a feed of x by name would be an unknown feed where the same feed
    by node is accepted.  d·1, with the ones broadcast from x, is exact (-0, inf and NaN
    stay) and the compiler removes it; the Executor still knows x by name.
    """
    if not isinstance(x.op, Placeholder) or any(n is x for n in topo_sort([d])):
        return d
    return d * broadcast_to(cast(ones_like(x), d.dtype), shape)


def _jacobian(
    ys: list[Node],
    xs: list[Node],
    mode: str,
    batch_size: int | None,
    roles: Sequence[Sequence[Role]],
) -> list[list[Node]]:
    """The Jacobian proper: J[i][k] = ∂yᵢ/∂xₖ, of shape yᵢ.shape + xₖ.shape, from one
    batched JVP over the joint basis of the xₖ or one batched VJP over the joint basis of
    the yᵢ.  Every node it makes belongs to its derivative pass (the basis, the batched
    derivative, the final transposes and reshapes, the ones that hold a placeholder xₖ),
    and block [i][k] plays ``roles[i][k]`` (the Jacobian of y, or the Hessian of the y whose
    gradients the ys are)."""
    fn = "hessian" if roles[0][0].kind == "hessian" else "jacobian"
    y_shapes = [_static(y, "y", fn) for y in ys]
    x_shapes = [_static(x, "x", fn) for x in xs]
    n = sum(math.prod(s) for s in x_shapes)
    m = sum(math.prod(s) for s in y_shapes)
    if mode == "auto":
        mode = "forward" if n < m else "reverse"
    kind = "forward" if mode == "forward" else "reverse"
    d = Derivation(pass_origin(kind, pass_order(ys, xs)))
    with tagged(d.origin):
        blocks = _jacobian_of(ys, xs, mode, batch_size, d, (y_shapes, x_shapes))
        blocks = [
            [_holding(b, x, sy + sx) for b, x, sx in zip(row, xs, x_shapes)]
            for row, sy in zip(blocks, y_shapes)
        ]
    for row, row_roles in zip(blocks, roles):
        for b, role in zip(row, row_roles):
            d.note(b, role)
    return blocks


def _jacobian_of(
    ys: list[Node],
    xs: list[Node],
    mode: str,
    batch_size: int | None,
    d: Derivation,
    shapes: tuple[list[tuple[int, ...]], list[tuple[int, ...]]],
) -> list[list[Node]]:
    y_shapes, x_shapes = shapes
    n_each, m_each = [math.prod(s) for s in x_shapes], [math.prod(s) for s in y_shapes]
    n, m = sum(n_each), sum(m_each)
    if n == 0 or m == 0:
        return [
            [constant(np.zeros(sy + sx, dtype=y.dtype)) for sx in x_shapes]
            for y, sy in zip(ys, y_shapes)
        ]
    if mode == "forward":
        if len(ys) == len(xs) == 1 and n > 2:
            compressed = compressed_jacobian(ys[0], xs[0], batch_size)
            if compressed is not None:  # fewer colours than columns: that many JVPs
                return [[compressed]]
        ts = [placeholder("tangent", type=x.type) for x in xs]
        for t, x in zip(ts, xs):
            d.note(t, Role("tangent", x))
        basis = _split_basis(x_shapes, xs[0].dtype)
        columns = _basis_batch(jvp(ys, xs, ts), ts, basis, batch_size, d)
        starts = np.cumsum([0, *n_each])
        return [
            [
                reshape(matrix_transpose(_block(reshape(c, (n, m_i)), a, n_k, n)), sy + sx)
                for a, n_k, sx in zip(starts, n_each, x_shapes)
            ]
            for c, m_i, sy in zip(columns, m_each, y_shapes)
        ]
    gs = [placeholder("cotangent", type=y.type) for y in ys]
    for g, y in zip(gs, ys):
        d.note(g, Role("adjoint", y))
    if len(ys) == 1:
        adjoint = gradients(ys[0], xs, grad_y=gs[0])
    else:  # one sweep from all the ys: the tuple of them, seeded with the tuple of the gs
        adjoint = gradients(make_tuple(*ys), xs, grad_y=make_tuple(*gs))
    rows = _basis_batch(adjoint, gs, _split_basis(y_shapes, ys[0].dtype), batch_size, d)
    starts = np.cumsum([0, *m_each])
    return [
        [reshape(_block(r, a, m_i, m), sy + sx) for r, sx in zip(rows, x_shapes)]
        for a, m_i, sy in zip(starts, m_each, y_shapes)
    ]


def hessian(
    y: Node,
    x: Node | Sequence[Node],
    mode: str = "forward",
    batch_size: int | None = None,
    sparse: bool = False,
    pattern: Any = None,
    coloring: str = "auto",
) -> Any:
    """∂²y/∂x² for a scalar y, shape ``x.shape + x.shape``; for a list of inputs
    ``[x1, x2, ...]``, the nested list of blocks H[i][k] = ∂²y/∂xᵢ∂xₖ, of shape
    ``xᵢ.shape + xₖ.shape`` (JAX's ``hessian(argnums=(0, 1))``).

    The Jacobian of the gradient graph: by default forward-over-reverse (one JVP of
    the gradients with the batch of basis vectors of all the xₖ as its tangent),
    ``mode="reverse"`` for reverse-over-reverse, ``"auto"`` as :func:`jacobian` picks
    (reverse: the gradients have as many entries as the inputs); ``batch_size`` as in
    :func:`jacobian`.

    ``sparse=True``: a sparse matrix node (x.size, x.size) (several x: their entries side
    by side, one matrix) holding the symmetrised pattern of the gradient graph (or
    ``pattern=``), one HVP per colour: a star colouring, read back directly, or a column
    colouring, whichever needs fewer (``coloring="star"`` or ``"column"`` forces one).  A
    ``pattern`` without ``sparse``: the dense Hessian (or its blocks) computed the same way.

        H = hessian(f, x)                                # (n, n)
        [[Hww, Hwb], [Hbw, Hbb]] = hessian(loss, [w, b])
        H = hessian(energy(u), u, sparse=True)      # a 5-point stencil: 5 or 6 HVPs
    """
    if sparse or pattern is not None:
        out = sparse_hessian(y, x, mode, batch_size, sparse, pattern, coloring)
        if sparse or isinstance(x, Node):
            return out
        shapes = [_static(xk, "x", "hessian") for xk in _inputs(x, "hessian")[0]]
        return _dense_blocks(out, shapes, shapes)
    _check_mode(mode, "hessian")
    _check_batch_size(batch_size, "hessian")
    xs, single = _inputs(x, "hessian")
    y = check_target(y)
    if y.shape != ():
        raise DifferentiationError(
            f"hessian: y = {y.name} must be a scalar, got shape {format_shape(y.shape)} "
            f"({user_location()})"
        )
    for xk in xs:
        _static(xk, "x", "hessian")
    with transform("hessian"):
        grads = gradients(y, xs)
        # a diagonal block is the Hessian of y wrt xᵢ; one off the diagonal the Jacobian of
        # the gradient wrt xᵢ with respect to xₖ
        roles = [
            [
                Role("hessian", y, wrt=xk) if i == k else Role("jacobian", g, wrt=xk)
                for k, xk in enumerate(xs)
            ]
            for i, g in enumerate(grads)
        ]
        blocks = _jacobian(grads, xs, mode, batch_size, roles)
    return blocks[0][0] if single else blocks


def hvp(y: Node, xs: Node | Sequence[Node], vs: Any) -> Any:
    """Hessian-vector product H·v of a scalar y, forward-over-reverse.

    One gradient graph plus one tangent pass; the Hessian is never formed.
    ``vs`` matches ``xs`` (one node/array per x, of its shape).
    """
    y = check_target(y)
    if y.shape != ():
        raise DifferentiationError(
            f"hvp: y = {y.name} must be a scalar, got shape {format_shape(y.shape)} "
            f"({user_location()})"
        )
    items, single = check_inputs(xs, "hvp")
    if not single and (not isinstance(vs, (list, tuple)) or len(vs) != len(items)):
        got = len(vs) if isinstance(vs, (list, tuple)) else type(vs).__name__
        raise DifferentiationError(
            f"hvp: vs must be a list of {len(items)}, one per x, got {got} ({user_location()})"
        )
    if single and vs is None:
        raise no_tangent("hvp", items[0])
    given = [vs] if single else list(vs)
    # checked here so that a wrong v is reported as hvp's, not as the inner jvp's tangent
    tangents = [
        as_tangent(x.type, v, f"hvp: {'v' if single else f'vs[{i}]'} (for x = {x.name})")
        for i, (x, v) in enumerate(zip(items, given))
    ]
    with transform("hvp"):
        out = jvp(gradients(y, items), items, tangents)
    return out[0] if single else out


def vjp(y: Node, xs: Node | Sequence[Node], v: Any) -> Any:
    """Vector-Jacobian product vᵀ·∂y/∂x for each x (``v`` of y's shape)."""
    if v is None:
        raise DifferentiationError(
            f"vjp: a cotangent v of y's shape is required ({user_location()})"
        )
    with transform("vjp"):
        return gradients(y, xs, grad_y=v)


def derivative(y: Node, x: Node, order: int = 1) -> Node:
    """dᵏy/dxᵏ for a scalar x by nesting ``gradients`` k times (order 0 is y).

    A non-scalar y is differentiated elementwise when it depends on x elementwise
    (the seed is ones: each step differentiates the sum).
    """
    _single_x(x, "derivative")
    if x.shape != ():
        raise DifferentiationError(
            f"derivative: x = {x.name} must be a scalar, got shape {format_shape(x.shape)} "
            f"({user_location()})"
        )
    if not isinstance(order, int) or isinstance(order, bool) or order < 0:
        raise DifferentiationError(
            f"derivative: order must be an int >= 0, got {order!r} ({user_location()})"
        )
    out = check_target(y)
    with transform("derivative"):
        for _ in range(order):
            out = gradients(out, x)
    return out


@dataclass(frozen=True)
class Adjoint:
    """A node's adjoint and the partial adjoints that were summed to make it.

    ``partials`` pairs each consumer with the adjoint it sent (the seed has
    consumer ``None``): v̄₂ = v̄₂→₄ + v̄₂→₃.
    """

    node: Node
    total: Node
    partials: tuple[tuple[Node | None, Node], ...]


class Adjoints(Mapping[Node, Adjoint]):
    """Every node on a path from xs to y, mapped to its :class:`Adjoint`, in topological order."""

    def __init__(self, items: dict[Node, Adjoint]) -> None:
        self._items = items

    def __getitem__(self, node: Node) -> Adjoint:
        return self._items[node]

    def __iter__(self) -> Iterator[Node]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def keys_by_name(self) -> dict[str, Node]:
        """A unique name per node (its name, with ``#id`` where two nodes share one)."""
        names = [n.name for n in self._items]
        return {
            (n.name if names.count(n.name) == 1 else f"{n.name}#{n.id}"): n for n in self._items
        }

    def fetches(self) -> dict[str, Any]:
        """``{name: {"total": adjoint, "partials": [partial, ...]}}`` to evaluate; partials
        are in the order of ``self[node].partials`` (one per use, so ``a * a`` has two)."""
        items = self._items
        return {
            key: {"total": items[n].total, "partials": [p for _, p in items[n].partials]}
            for key, n in self.keys_by_name().items()
        }

    def format(self, values: Mapping[str, Any]) -> str:
        """A table of evaluated adjoints (``values`` is the evaluated ``fetches()``)."""
        lines = []
        for key, n in self.keys_by_name().items():
            entry = values[key]
            sources = ["seed" if c is None else c.name for c, _ in self._items[n].partials]
            parts = " + ".join(f"{v} (from {c})" for c, v in zip(sources, entry["partials"]))
            lines.append(f"adjoint of {key} = {entry['total']}  =  {parts}")
        return "\n".join(lines)


def adjoints(y: Node, xs: Node | Sequence[Node], grad_y: Any = None) -> Adjoints:
    """The adjoint of every node on a path from ``xs`` to ``y``, with its partials.

    Built by the same sweep as ``gradients(y, xs, grad_y)``, so the nodes are
    the ones ``gradients`` would build.

        adj = adjoints(v4, x)
        evaluate(adj.fetches(), {x: 1.0})
    """
    y = check_target(y)
    items, _ = check_inputs(xs, "adjoints")
    with transform("adjoints"):
        result = sweep(y, items, grad_y)
    order = reversed(list(result.adjoint))  # the sweep filled it consumers first
    return Adjoints({n: Adjoint(n, result.adjoint[n], tuple(result.partials[n])) for n in order})
