"""Reverse mode as graph extension: ``gradients`` and the sweep behind it.

Seed, prune, reverse sweep, un-broadcast, accumulate, answer.  Each consumer's
partial adjoint stays its own node until they are summed once (v̄₂ = v̄₂→₄ +
v̄₂→₃), so they can be inspected and drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from graphad.autodiff._checks import check_inputs, check_target, derivative_order, node_name
from graphad.ir import (
    DifferentiationError,
    GraphError,
    Node,
    Op,
    TensorType,
    as_node,
    derivation,
    descendants,
    format_shape,
    shapes_compatible,
    topo_sort,
    user_location,
)
from graphad.ir._gc import collection_paused
from graphad.ops import cast, sum_to
from graphad.ops._util import is_float
from graphad.ops.shape import full_like
from graphad.ops.structure import accumulate, densify, is_differentiable


@dataclass
class Sweep:
    """What one reverse sweep built: every adjoint, its partials, and where paths were cut."""

    adjoint: dict[Node, Node] = field(default_factory=dict)
    partials: dict[Node, list[tuple[Node | None, Node]]] = field(default_factory=dict)
    cut: list[tuple[Node, Node]] = field(default_factory=list)  # (consumer, input it cut)
    depends: set[Node] = field(default_factory=set)


def unbroadcast(g: Node, x: Node, consumer: Node) -> Node:
    """Sum ``g`` down to ``x``'s shape and cast it to ``x``'s dtype: the one un-broadcast."""
    t = x.type
    if not isinstance(t, TensorType):
        return g  # a structure's adjoint is assembled entry by entry, already in shape
    gt = g.type
    if isinstance(gt, TensorType) and gt.shape == t.shape and gt.dtype == t.dtype and t.is_static:
        return g  # most adjoints: nothing to sum and nothing to cast, asked cheaply
    same = t.is_static and g.shape == x.shape
    if not same and not (g.shape == x.shape and _cannot_stretch(x, consumer)):
        g = sum_to(g, x)
    return cast(g, x.dtype)


def _cannot_stretch(x: Node, consumer: Node) -> bool:
    """No other input of ``consumer`` can broadcast ``x`` to a larger shape at run time.

    Then an adjoint whose static shape equals x's (unknown dims included) has x's
    run-time shape, and the run-time ``sum_to`` (which would keep x's value alive just
    for its shape) is not needed: each other input has no more dims than x, and each
    of its dims is 1 or lines up with a known dim of x.
    """
    if x.shape is None:
        return False
    for other in consumer.inputs:
        if other is x:
            continue
        shape = other.shape if isinstance(other.type, TensorType) else None
        if shape is None or len(shape) > len(x.shape):
            return False
        lined_up = zip(reversed(shape), reversed(x.shape))
        if any(d != 1 and xd is None for d, xd in lined_up):
            return False
    return True


def _seed(y: Node, g: Any) -> Node:
    if not isinstance(y.type, TensorType):  # a structure: its cotangent is a structure too
        if not isinstance(g, Node) or type(g.type) is not type(y.type):
            raise DifferentiationError(
                f"gradients: y = {node_name(y)} is a structure {y.type}; give grad_y, a "
                f"structure of the same kind ({user_location()})"
            )
        return g
    if g is None:
        # with a static shape, not ones_like(y): the gradient graph must not have to compute
        # y (nor need the feeds of branches that reach no x) just to learn y's shape
        return full_like(y, 1)
    try:
        g = as_node(g)
    except GraphError as e:
        raise DifferentiationError(f"gradients: grad_y: {e}") from None
    ys, gs = y.shape, g.shape
    if not isinstance(g.type, TensorType) or not shapes_compatible(ys, gs):
        raise DifferentiationError(
            f"gradients: grad_y has shape {format_shape(gs)} but y = {node_name(y)} has "
            f"shape {format_shape(ys)} ({user_location()})"
        )
    return cast(g, y.dtype)


def sweep(y: Node, xs: Sequence[Node], g: Any = None) -> Sweep:
    """Run the reverse sweep from ``y`` to ``xs`` seeded with the cotangent ``g`` (``None``:
    ones), building adjoint nodes."""
    order = topo_sort([y])
    result = Sweep()
    result.depends = descendants(order, xs)
    with derivation("reverse", derivative_order([n for n in order if n in result.depends])):
        seed = _seed(y, g)  # checked even when y depends on no x: a bad seed is an error
        if y not in result.depends:
            return result
        result.partials[y] = [(None, seed)]
        partials, adjoint = result.partials, result.adjoint
        for node in reversed(order):
            parts = partials.get(node)
            if parts is None:
                continue
            # most values have one consumer: their adjoint is its partial, no list to sum
            g = parts[0][1] if len(parts) == 1 else accumulate([p for _, p in parts], node.type)
            adjoint[node] = g
            if not node.inputs:
                continue
            _propagate(node, g, result)
    return result


def _propagate(node: Node, g: Node, result: Sweep) -> None:
    """Send ``node``'s adjoint ``g`` to those of its inputs that lead to some x."""
    if type(node.op).vjp is Op.vjp:
        raise DifferentiationError(
            f"{node.op.name}: no vjp rule, so reverse mode cannot pass through "
            f"{node_name(node)}; give {type(node.op).__name__} a vjp method ({user_location()})"
        )
    inputs, depends = node.inputs, result.depends
    wanted = [x in depends for x in inputs]
    contributions = tuple(node.op.vjp_wanted(node, g, wanted))
    if len(contributions) != len(inputs):
        raise DifferentiationError(
            f"{node.op.name}: vjp returned {len(contributions)} adjoints for {len(inputs)} inputs"
        )
    partials = result.partials
    for x, gx, w in zip(inputs, contributions, wanted):
        if not w:
            continue
        if gx is None or not is_differentiable(x.type):
            result.cut.append((node, x))
            continue
        part = (node, unbroadcast(gx, x, node))
        parts = partials.get(x)
        if parts is None:
            partials[x] = [part]
        else:
            parts.append(part)


def _unconnected_error(y: Node, x: Node, result: Sweep) -> DifferentiationError:
    msg = f"gradients: y = {node_name(y)} does not depend on x = {node_name(x)}"
    downstream = descendants(topo_sort([y]), [x])
    # name the op where each path stopped carrying a derivative: the one that refused a
    # float input (stop_gradient), or the one that made a bool/int value from a float
    # (a comparison), not the op downstream that received that value (where, cast)
    cuts = [c for c, i in result.cut if i in downstream and is_float(i.type)]
    cuts += [
        n
        for n in downstream
        if not is_float(n.type) and any(i in downstream and is_float(i.type) for i in n.inputs)
    ]
    if cuts:
        where = ", ".join(f"{c.op.name} {node_name(c)}" for c in cuts)
        msg += f": every path is cut by a non-differentiable op: {where}"
    return DifferentiationError(msg + f" ({user_location()})")


def gradients(
    y: Node, xs: Node | Sequence[Node], grad_y: Any = None, unconnected: str = "zero"
) -> Any:
    """Adjoint nodes ∂y/∂x for each x, built into the same graph.

    ``y``: a float tensor (a complex one needs ``grad_y``).  With ``grad_y=None``
    the seed is ones, so a non-scalar ``y`` gives the gradient of ``sum(y)`` (as
    TensorFlow 1 and the dlsys API do); a ``grad_y`` of y's shape gives the
    vector-Jacobian product ``grad_yᵀ·∂y/∂x``.  Each result has its x's shape and dtype.  An x that
    y does not depend on gets zeros (``unconnected="zero"``), ``None``
    (``"none"``) or a DifferentiationError (``"raise"``).  One node in gives
    one node out; a list gives a list.  The result is ordinary graph, so it
    can be differentiated again::

        gx = gradients(sum(x ** 3), x)      # 3x²
        hx = gradients(gx, x)               # 6x  (gradient of sum(gx))
    """
    if unconnected not in ("zero", "none", "raise"):
        raise DifferentiationError(
            f"gradients: unconnected must be 'zero', 'none' or 'raise', got {unconnected!r}"
        )
    if isinstance(y, Node) and not isinstance(y.type, TensorType) and grad_y is None:
        raise DifferentiationError(
            f"gradients: y = {node_name(y)} is a structure {y.type}; give grad_y, a structure "
            f"of the same kind, to seed it ({user_location()})"
        )
    if grad_y is None or isinstance(getattr(y, "type", None), TensorType):
        y = check_target(y)  # a structured y is allowed with a structured grad_y
    if grad_y is None and y.dtype.kind == "c":
        # JAX and autograd refuse too: a ones seed would silently take the real part
        raise DifferentiationError(
            f"gradients: y = {node_name(y)} is complex ({y.type}); give grad_y, or "
            f"differentiate a real function of it such as real(y) or abs(y) ({user_location()})"
        )
    items, single = check_inputs(xs, "gradients")
    with collection_paused():  # a sweep adds nodes to a graph that all stays alive: see _gc
        result = sweep(y, items, grad_y)
    out: list[Node | None] = []
    for x in items:
        adjoint = result.adjoint.get(x)
        if adjoint is None and unconnected == "raise":
            raise _unconnected_error(y, x, result)
        if unconnected == "zero" and (adjoint is None or not isinstance(x.type, TensorType)):
            with derivation("reverse", derivative_order([y])):
                adjoint = densify(adjoint, x)  # zeros for x, or for the entries of x y skips
        out.append(adjoint)
    return out[0] if single else out
