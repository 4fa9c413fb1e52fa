"""Compositions of the two passes: jacobian, hessian, hvp, vjp, derivative, adjoints.

Cost model (n = x.size inputs, m = y.size outputs, C = cost of evaluating y):
forward mode builds one JVP per input basis vector, n passes of about 2-3·C
each; reverse mode builds one VJP per output basis vector, m passes of about
3-4·C each that share the forward values.  ``jacobian(mode="auto")`` picks
forward when n < m and reverse otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphad.autodiff._checks import check_inputs, check_target
from graphad.autodiff.forward import jvp
from graphad.autodiff.reverse import gradients, sweep
from graphad.ir import DifferentiationError, Node, constant, format_shape, user_location
from graphad.ops import reshape, stack


def _static(node: Node, what: str, fn: str) -> tuple[int, ...]:
    t = node.type
    if not getattr(t, "is_static", False):
        raise DifferentiationError(
            f"{fn}: {what} = {node.name} needs a fully known shape, got "
            f"{format_shape(node.shape)} ({user_location()})"
        )
    return t.shape  # type: ignore[union-attr,return-value]


def _single_x(x: Any, fn: str) -> None:
    """These transforms take one x; a list is a mistake worth naming."""
    if not isinstance(x, Node):
        raise DifferentiationError(
            f"{fn}: x must be a Node (a single one), got {type(x).__name__} ({user_location()})"
        )
    check_inputs(x, fn)


def _basis(shape: tuple[int, ...], dtype: Any) -> Iterator[Node]:
    """Constants e₀, e₁, … of ``shape``, one per element in C order."""
    size = int(np.prod(shape, dtype=np.int64))
    for i in range(size):
        e = np.zeros(size, dtype=dtype)
        e[i] = 1
        yield constant(e.reshape(shape))


def jacobian(y: Node, x: Node, mode: str = "auto") -> Node:
    """∂y/∂x as one node of shape ``y.shape + x.shape`` (static shapes).

    ``mode="forward"`` stacks x.size JVPs (columns), ``"reverse"`` stacks
    y.size VJPs (rows), ``"auto"`` picks forward when x has fewer elements
    than y.  Both modes give the same values.

        J = jacobian(softmax(x), x)            # (n, n)
    """
    if mode not in ("auto", "forward", "reverse"):
        raise DifferentiationError(
            f"jacobian: mode must be 'auto', 'forward' or 'reverse', got {mode!r} "
            f"({user_location()})"
        )
    y = check_target(y)
    _single_x(x, "jacobian")
    y_shape, x_shape = _static(y, "y", "jacobian"), _static(x, "x", "jacobian")
    n, m = int(np.prod(x_shape, dtype=np.int64)), int(np.prod(y_shape, dtype=np.int64))
    if n == 0 or m == 0:
        return constant(np.zeros(y_shape + x_shape, dtype=y.dtype))
    if mode == "auto":
        mode = "forward" if n < m else "reverse"
    if mode == "forward":
        columns = [jvp(y, x, e) for e in _basis(x_shape, x.dtype)]
        return reshape(stack(columns, axis=-1), y_shape + x_shape)
    rows = [gradients(y, x, grad_y=e) for e in _basis(y_shape, y.dtype)]
    return reshape(stack(rows, axis=0), y_shape + x_shape)


def hessian(y: Node, x: Node, mode: str = "forward") -> Node:
    """∂²y/∂x² for a scalar y, shape ``x.shape + x.shape``.

    The Jacobian of the gradient graph; by default forward-over-reverse
    (x.size JVPs of one gradient graph), ``mode="reverse"`` for reverse-over-reverse.
    """
    _single_x(x, "hessian")
    y = check_target(y)
    if y.shape != ():
        raise DifferentiationError(
            f"hessian: y = {y.name} must be a scalar, got shape {format_shape(y.shape)} "
            f"({user_location()})"
        )
    return jacobian(gradients(y, x), x, mode=mode)


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
    grads = gradients(y, items)
    tangents = [vs] if single else list(vs)
    out = jvp(grads, items, tangents)
    return out[0] if single else out


def vjp(y: Node, xs: Node | Sequence[Node], v: Any) -> Any:
    """Vector-Jacobian product vᵀ·∂y/∂x for each x (``v`` of y's shape)."""
    if v is None:
        raise DifferentiationError(
            f"vjp: a cotangent v of y's shape is required ({user_location()})"
        )
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
    result = sweep(y, items, grad_y)
    order = reversed(list(result.adjoint))  # the sweep filled it consumers first
    return Adjoints({n: Adjoint(n, result.adjoint[n], tuple(result.partials[n])) for n in order})
