"""Forward mode as graph extension: ``jvp`` propagates tangents in topological order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphad.autodiff.reverse import check_inputs, derivative_order
from graphad.ir import (
    DifferentiationError,
    Node,
    TensorType,
    as_node,
    derivation,
    format_shape,
    topo_sort,
    user_location,
)
from graphad.ops import broadcast_like, cast
from graphad.ops.structure import densify, is_differentiable, structure


def _fit(t: Node, node: Node) -> Node:
    """Broadcast a rule's tangent to ``node``'s shape and dtype: done once, here."""
    if not isinstance(node.type, TensorType):
        return t  # structure tangents are assembled entry by entry
    if not (node.type.is_static and t.shape == node.shape):  # type: ignore[union-attr]
        t = broadcast_like(t, node)
    return cast(t, node.dtype)


def _tangent(x: Node, t: Any, i: int) -> Node:
    if not isinstance(x.type, TensorType):
        t = structure(t)
        if not isinstance(t.type, type(x.type)):
            raise DifferentiationError(
                f"jvp: tangents[{i}] has type {t.type} but x = {x.name} is {x.type} "
                f"({user_location()})"
            )
        return t
    t = as_node(t, [x])
    xs, ts = x.shape, t.shape
    mismatch = xs is not None and ts is not None and (
        len(xs) != len(ts) or any(a is not None and b is not None and a != b for a, b in zip(xs, ts))
    )
    if mismatch:
        raise DifferentiationError(
            f"jvp: tangents[{i}] has shape {format_shape(ts)} but x = {x.name} has shape "
            f"{format_shape(xs)} ({user_location()})"
        )
    return cast(t, x.dtype)


def jvp(ys: Node | Sequence[Node], xs: Node | Sequence[Node], tangents: Any) -> Any:
    """Tangent nodes ẏ = (∂y/∂x)·ẋ for each y, built into the same graph.

    ``tangents`` has one entry per x, of x's shape (arrays become constants);
    inputs not listed have zero tangent.  A y that does not depend on any x
    gets zeros of its shape.  One node in gives one node out; a list gives a list.

        t = jvp(sin(x), x, ones_like(x))    # cos(x)
    """
    single_y = isinstance(ys, Node)
    outputs = [ys] if single_y else list(ys)
    for i, y in enumerate(outputs):
        if not isinstance(y, Node):
            raise DifferentiationError(f"jvp: ys[{i}] must be a Node ({user_location()})")
    inputs, single_x = check_inputs(xs, "jvp")
    given = [tangents] if single_x else list(tangents)
    if len(given) != len(inputs):
        raise DifferentiationError(
            f"jvp: {len(inputs)} inputs but {len(given)} tangents ({user_location()})"
        )
    order = topo_sort(outputs)
    depends = set(inputs)
    for node in order:
        if any(i in depends for i in node.inputs):
            depends.add(node)
    with derivation("forward", derivative_order([n for n in order if n in depends])):
        tangent: dict[Node, Node] = {}
        for i, (x, t) in enumerate(zip(inputs, given)):
            tangent[x] = _tangent(x, t, i)
        for node in order:
            if node in tangent or node not in depends or not is_differentiable(node.type):
                continue
            ts = [tangent.get(i) for i in node.inputs]
            if all(t is None for t in ts):
                continue
            t = node.op.jvp(node, ts)
            if t is not None:
                tangent[node] = _fit(t, node)
        result = [densify(tangent.get(y), y) for y in outputs]
    return result[0] if single_y else result
