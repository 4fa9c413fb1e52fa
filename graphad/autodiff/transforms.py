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
from graphad.ops import broadcast_to, cast, concatenate, matrix_transpose, ones_like, reshape


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


def _basis_batch(
    out: Node, seed: Node, basis: np.ndarray, batch_size: int | None, d: Derivation
) -> Node:
    """``out`` for each vector of ``basis`` fed to the placeholder ``seed``, batch axis
    first: the whole basis as one batch, or in chunks of ``batch_size``; each chunk of the
    basis plays the seed's roles (the tangent of x, the adjoint of y)."""
    step = len(basis) if batch_size is None else batch_size
    chunks = []
    for i in range(0, len(basis), step):
        chunk = constant(basis[i : i + step])
        for role in seed.roles:
            d.note(chunk, role)
        chunks.append(vmap(out, {seed: chunk}))
    return chunks[0] if len(chunks) == 1 else concatenate(chunks, axis=0)


def _identity(count: int, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    return np.eye(count, dtype=dtype).reshape(count, *shape)


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


def jacobian(
    y: Node,
    x: Node,
    mode: str = "auto",
    batch_size: int | None = None,
    sparse: bool = False,
    pattern: Any = None,
) -> Node:
    """∂y/∂x as one node of shape ``y.shape + x.shape`` (static shapes).

    ``mode="forward"``: one JVP whose tangent is the batch of all x.size basis
    vectors; ``"reverse"``: one VJP whose cotangent is the batch of all y.size
    basis vectors; ``"auto"`` picks forward when x has fewer elements than y.
    Both give the same values, and the graph's size does not depend on the
    sizes.  ``batch_size=k`` runs the basis k vectors at a time, which bounds
    the memory of the batched intermediates for large inputs.  In forward mode a Jacobian
    whose pattern the graph shows to need fewer colours than x has entries (a band, a
    stencil) is computed from that many JVPs (:mod:`~graphad.autodiff.compression`).

    ``sparse=True``: a sparse matrix node of shape (y.size, x.size) (several x: their
    columns side by side) holding the pattern detected from the graph (``pattern=``: a
    known one, a SciPy sparse matrix or boolean array), evaluated to a
    ``scipy.sparse.csr_array``; it is computed from one JVP per colour of its columns
    or one VJP per colour of its rows, whichever needs fewer (``mode`` forces one).  A
    ``pattern`` without ``sparse``: the dense Jacobian computed the same way.

        J = jacobian(softmax(x), x)            # (n, n)
        S = jacobian(x[1:] * x[:-1], x, sparse=True)   # (n-1, n), 2 colours
    """
    if mode not in ("auto", "forward", "reverse"):
        raise DifferentiationError(
            f"jacobian: mode must be 'auto', 'forward' or 'reverse', got {mode!r} "
            f"({user_location()})"
        )
    _check_batch_size(batch_size, "jacobian")
    if sparse or pattern is not None:
        return sparse_jacobian(y, x, mode, batch_size, sparse, pattern)
    y = check_target(y)
    _single_x(x, "jacobian")
    with transform("jacobian"):
        return _jacobian(y, x, mode, batch_size, Role("jacobian", y, wrt=x))


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


def _jacobian(y: Node, x: Node, mode: str, batch_size: int | None, role: Role) -> Node:
    """The Jacobian proper.  Every node it makes belongs to its derivative pass (the
    basis, the batched derivative, the final transpose and reshape, the ones that hold a
    placeholder x), and the result plays ``role`` (the Jacobian of y, or the Hessian of the
    y whose gradient y is)."""
    fn = "hessian" if role.kind == "hessian" else "jacobian"
    y_shape, x_shape = _static(y, "y", fn), _static(x, "x", fn)
    n, m = int(np.prod(x_shape, dtype=np.int64)), int(np.prod(y_shape, dtype=np.int64))
    if mode == "auto":
        mode = "forward" if n < m else "reverse"
    kind = "forward" if mode == "forward" else "reverse"
    d = Derivation(pass_origin(kind, pass_order(y, x)))
    with tagged(d.origin):
        out = _jacobian_of(y, x, mode, batch_size, d, (n, m, y_shape, x_shape))
        out = _holding(out, x, y_shape + x_shape)
    d.note(out, role)
    return out


def _jacobian_of(
    y: Node,
    x: Node,
    mode: str,
    batch_size: int | None,
    d: Derivation,
    sizes: tuple[int, int, tuple[int, ...], tuple[int, ...]],
) -> Node:
    n, m, y_shape, x_shape = sizes
    if n == 0 or m == 0:
        return constant(np.zeros(y_shape + x_shape, dtype=y.dtype))
    if mode == "forward":
        compressed = compressed_jacobian(y, x, batch_size) if n > 2 else None
        if compressed is not None:  # fewer colours than columns: that many JVPs
            return compressed
        t = placeholder("tangent", type=x.type)
        d.note(t, Role("tangent", x))
        tangent = jvp(y, x, t)
        columns = _basis_batch(tangent, t, _identity(n, x_shape, x.dtype), batch_size, d)
        return reshape(matrix_transpose(reshape(columns, (n, m))), y_shape + x_shape)
    g = placeholder("cotangent", type=y.type)
    d.note(g, Role("adjoint", y))
    gx = gradients(y, x, grad_y=g)
    rows = _basis_batch(gx, g, _identity(m, y_shape, y.dtype), batch_size, d)
    return reshape(rows, y_shape + x_shape)


def hessian(
    y: Node,
    x: Node,
    mode: str = "forward",
    batch_size: int | None = None,
    sparse: bool = False,
    pattern: Any = None,
    coloring: str = "auto",
) -> Node:
    """∂²y/∂x² for a scalar y, shape ``x.shape + x.shape``.

    The Jacobian of the gradient graph: by default forward-over-reverse (one JVP of
    the gradient with the batch of basis vectors as its tangent), ``mode="reverse"``
    for reverse-over-reverse; ``batch_size`` as in :func:`jacobian`.

    ``sparse=True``: a sparse matrix node (x.size, x.size) (several x: their entries side
    by side) holding the symmetrised pattern of the gradient graph (or ``pattern=``), one
    HVP per colour: a star colouring, read back directly, or a column colouring, whichever
    needs fewer (``coloring="star"`` or ``"column"`` forces one).

        H = hessian(energy(u), u, sparse=True)      # a 5-point stencil: 5 or 6 HVPs
    """
    if sparse or pattern is not None:
        return sparse_hessian(y, x, mode, batch_size, sparse, pattern, coloring)
    _single_x(x, "hessian")
    y = check_target(y)
    if y.shape != ():
        raise DifferentiationError(
            f"hessian: y = {y.name} must be a scalar, got shape {format_shape(y.shape)} "
            f"({user_location()})"
        )
    if mode not in ("auto", "forward", "reverse"):
        raise DifferentiationError(
            f"hessian: mode must be 'forward', 'reverse' or 'auto', got {mode!r} "
            f"({user_location()})"
        )
    _check_batch_size(batch_size, "hessian")
    _static(x, "x", "hessian")
    with transform("hessian"):
        return _jacobian(gradients(y, x), x, mode, batch_size, Role("hessian", y, wrt=x))


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
