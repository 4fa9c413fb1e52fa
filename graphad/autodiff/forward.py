"""Forward mode as graph extension: ``jvp`` propagates tangents in topological order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graphad.autodiff._checks import check_inputs, derivative_order, node_name
from graphad.ir import (
    DictType,
    DifferentiationError,
    DTypeError,
    GraphError,
    Node,
    Op,
    Role,
    TensorType,
    as_node,
    derivation,
    descendants,
    format_shape,
    shapes_compatible,
    topo_sort,
    transform,
    user_location,
)
from graphad.ops import broadcast_like, cast
from graphad.ops.structure import densify, is_differentiable, make_dict, make_tuple
from graphad.ops.utility import cast_exact


def fit_tangent(t: Node, node: Node) -> Node:
    """Broadcast a rule's tangent to ``node``'s shape and dtype: done once, here (and where
    the reverse pass builds a jvp to transpose it)."""
    if not isinstance(node.type, TensorType):
        return t  # structure tangents are assembled entry by entry
    if not (node.type.is_static and t.shape == node.shape):
        t = broadcast_like(t, node)
    return cast(t, node.dtype)


def as_tangent(t_type: Any, value: Any, where: str) -> Node | None:
    """A tangent node for a value of type ``t_type``; ``None`` (or a missing key) is zero.

    Tangents of structures are structures of the same kind, possibly sparse.  ``where``
    names the argument in errors, with the function the user called
    (``"jvp: tangents[0] (for x = x)"``).
    """
    if value is None:
        return None
    if isinstance(t_type, TensorType):
        try:
            t = as_node(value)
        except GraphError as e:
            raise DifferentiationError(f"{where}: {e}") from None
        if not isinstance(t.type, TensorType) or not shapes_compatible(t.shape, t_type.shape):
            raise DifferentiationError(
                f"{where} is {t.type} but should have shape {format_shape(t_type.shape)} "
                f"({user_location()})"
            )
        try:  # a tangent x's dtype cannot hold (complex for a real x) is refused, not cut
            return cast_exact(t, t_type.dtype)
        except DTypeError as e:
            raise DifferentiationError(
                f"{where} {e}; x is {t_type.dtype.name} ({user_location()})"
            ) from None
    if isinstance(value, Node):
        _check_structure(t_type, value.type, where)
        return value
    if isinstance(t_type, DictType):
        if not isinstance(value, Mapping) or any(k not in t_type for k in value):
            raise DifferentiationError(
                f"{where} must be a dict with keys among {list(t_type.keys())}, got "
                f"{list(value) if isinstance(value, Mapping) else type(value).__name__} "
                f"({user_location()})"
            )
        entries = {k: as_tangent(t_type[k], v, f"{where}[{k!r}]") for k, v in value.items()}
        return make_dict({k: e for k, e in entries.items() if e is not None})
    if not isinstance(value, (tuple, list)) or len(value) != len(t_type.items):
        raise DifferentiationError(
            f"{where} must be a tuple of {len(t_type.items)} ({user_location()})"
        )
    return make_tuple(
        *(as_tangent(i, v, f"{where}[{n}]") for n, (i, v) in enumerate(zip(t_type.items, value)))
    )


def no_tangent(fn: str, x: Node) -> DifferentiationError:
    """The error for a call that gives ``None`` as the one tangent of its one x: a zero
    tangent asked for by leaving it out reads as a mistake.  (In a list of tangents, one per
    x, and inside a structure, None stays an entry left out: zero.)"""
    return DifferentiationError(
        f"{fn}: the tangent for x = {x.name} is None; give one of x's shape "
        f"(ga.zeros_like(x) for a zero one) ({user_location()})"
    )


def _check_structure(expected: Any, got: Any, where: str) -> None:
    """A structured tangent node must fit x's type entry by entry (absent entries allowed)."""
    if got is None:
        return
    ok = type(got) is type(expected)
    if ok and isinstance(expected, TensorType):
        ok = shapes_compatible(got.shape, expected.shape)
    elif ok and isinstance(expected, DictType):
        ok = all(k in expected for k in got)
        for k, item in got.items if ok else ():
            _check_structure(expected[k], item, f"{where}[{k!r}]")
    elif ok:
        ok = len(got.items) == len(expected.items)
        for n, (e, g) in enumerate(zip(expected.items, got.items) if ok else ()):
            _check_structure(e, g, f"{where}[{n}]")
    if not ok:
        raise DifferentiationError(f"{where} is {got} but x is {expected} ({user_location()})")


def jvp(ys: Node | Sequence[Node], xs: Node | Sequence[Node], tangents: Any) -> Any:
    """Tangent nodes ẏ = (∂y/∂x)·ẋ for each y, built into the same graph.

    ``tangents`` has one entry per x, of x's shape (arrays become constants);
    inputs not listed have zero tangent.  A y that does not depend on any x
    gets zeros of its shape.  One node in gives one node out; a list gives a list.

        t = jvp(sin(x), x, ones_like(x))    # cos(x)
    """
    single_y = isinstance(ys, Node)
    if not single_y and not isinstance(ys, (list, tuple)):
        raise DifferentiationError(
            f"jvp: ys must be a Node or a list of Nodes, got {type(ys).__name__} "
            f"({user_location()})"
        )
    outputs: list[Node] = [ys] if isinstance(ys, Node) else list(ys)
    for i, y in enumerate(outputs):
        if not isinstance(y, Node):
            raise DifferentiationError(f"jvp: ys[{i}] must be a Node ({user_location()})")
    inputs, single_x = check_inputs(xs, "jvp")
    if not single_x and not isinstance(tangents, (list, tuple)):
        raise DifferentiationError(
            f"jvp: tangents must be a list, one per x, got {type(tangents).__name__} "
            f"({user_location()})"
        )
    if single_x and tangents is None:
        raise no_tangent("jvp", inputs[0])
    given = [tangents] if single_x else list(tangents)
    if len(given) != len(inputs):
        raise DifferentiationError(
            f"jvp: {len(inputs)} inputs but {len(given)} tangents ({user_location()})"
        )
    with transform("jvp"):
        result = _tangents(outputs, inputs, given)
    return result[0] if single_y else result


def _tangents(outputs: list[Node], inputs: list[Node], given: list[Any]) -> list[Node]:
    """The pass proper: each node's tangent from its inputs', in topological order; each
    tangent made records whose it is."""
    order = topo_sort(outputs)
    depends = descendants(order, inputs)
    with derivation("forward", derivative_order([n for n in order if n in depends])) as d:
        tangent: dict[Node, Node] = {}
        for i, (x, t) in enumerate(zip(inputs, given)):
            made = as_tangent(x.type, t, f"jvp: tangents[{i}] (for x = {x.name})")
            if made is not None:
                tangent[x] = made
        for node in order:
            if node in tangent or node not in depends or not is_differentiable(node.type):
                continue
            ts = [tangent.get(i) for i in node.inputs]
            if all(t is None for t in ts):
                continue
            if type(node.op).jvp is Op.jvp:
                raise DifferentiationError(
                    f"{node.op.name}: no jvp rule, so forward mode cannot pass through "
                    f"{node_name(node)}; give {type(node.op).__name__} a jvp method "
                    f"({user_location()})"
                )
            t = node.op.jvp(node, ts)
            if t is not None:
                tangent[node] = fit_tangent(t, node)
        d.note_all("tangent", tangent)
        result = [densify(tangent.get(y), y) for y in outputs]
        for y, t in zip(outputs, result):
            d.note(t, Role("tangent", y))  # a zero made for a y that depends on no x
    return result
