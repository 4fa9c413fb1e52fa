"""Argument checks shared by the passes, and the derivative order of a pass."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphad.ir import DifferentiationError, Node, descendants, topo_sort, user_location
from graphad.ops._util import is_float
from graphad.ops.structure import is_differentiable


def node_name(node: Node) -> str:
    """A node as errors name it: its name and the line that made it."""
    return f"{node.name} ({node.origin.location})"


def derivative_order(nodes: Sequence[Node]) -> int:
    """The order of a pass over ``nodes``: one more than the highest order among them."""
    return 1 + max((n.origin.order for n in nodes), default=0)


def pass_order(y: Node | Sequence[Node], x: Node | Sequence[Node]) -> int:
    """The order of a pass from ``x`` to ``y`` (or from several to several): one more than
    the highest order among the nodes on a path between them (what ``gradients(y, x)`` and
    ``jvp(y, x, t)`` make)."""
    order = topo_sort([y] if isinstance(y, Node) else list(y))
    between = descendants(order, [x] if isinstance(x, Node) else list(x))
    return derivative_order([n for n in order if n in between])


def check_target(y: Any, what: str = "y") -> Node:
    """``y`` itself, when it is a float tensor node."""
    if not isinstance(y, Node):
        raise DifferentiationError(
            f"{what} must be a Node, got {type(y).__name__} ({user_location()})"
        )
    if not is_float(y.type):
        raise DifferentiationError(
            f"{what} = {node_name(y)} has type {y.type}; only float tensors are differentiable"
        )
    return y


def check_inputs(xs: Any, fn: str) -> tuple[list[Node], bool]:
    """``xs`` as a list, and whether it was a single node."""
    single = isinstance(xs, Node)
    if not single and not isinstance(xs, (list, tuple)):
        raise DifferentiationError(
            f"{fn}: xs must be a Node or a list of Nodes, got {type(xs).__name__} "
            f"({user_location()})"
        )
    items = [xs] if single else list(xs)
    for i, x in enumerate(items):
        if not isinstance(x, Node):
            raise DifferentiationError(
                f"{fn}: xs[{i}] must be a Node, got {type(x).__name__} ({user_location()})"
            )
        if not is_differentiable(x.type):
            raise DifferentiationError(
                f"{fn}: x = {node_name(x)} has type {x.type}; cannot differentiate with respect "
                "to an integer or bool value"
            )
    return items, single
