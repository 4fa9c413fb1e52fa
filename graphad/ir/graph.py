"""Graph walks: topological order of the nodes that outputs depend on, iteratively."""

from __future__ import annotations

from collections.abc import Iterable

from graphad.ir.node import Node


def topo_sort(outputs: Iterable[Node]) -> list[Node]:
    """Every node the ``outputs`` depend on, inputs before consumers.

    Iterative depth-first post-order, so chains of any length work.
    """
    order: list[Node] = []
    done: set[Node] = set()
    for root in outputs:
        if root in done:
            continue
        stack: list[tuple[Node, int]] = [(root, 0)]
        on_stack = {root}
        while stack:
            node, i = stack[-1]
            if i < len(node.inputs):
                stack[-1] = (node, i + 1)
                child = node.inputs[i]
                if child not in done and child not in on_stack:
                    stack.append((child, 0))
                    on_stack.add(child)
            else:
                stack.pop()
                on_stack.discard(node)
                done.add(node)
                order.append(node)
    return order


def descendants(order: Iterable[Node], sources: Iterable[Node]) -> set[Node]:
    """The nodes of ``order`` (inputs before consumers) that are a source or depend on one."""
    found = set(sources)
    for node in order:
        if any(x in found for x in node.inputs):
            found.add(node)
    return found


def substitute(outputs: Iterable[Node], mapping: dict[Node, Node]) -> list[Node]:
    """Rebuild ``outputs`` with each key of ``mapping`` replaced by its value.

    Nodes that depend on no replaced node are kept as they are; the others are
    remade with the same ops (types are inferred again).  Nothing is mutated.
    """
    outputs = list(outputs)
    new: dict[Node, Node] = dict(mapping)
    for node in topo_sort(outputs):
        if node in new:
            continue
        inputs = tuple(new.get(x, x) for x in node.inputs)
        unchanged = all(a is b for a, b in zip(inputs, node.inputs))
        new[node] = node if unchanged else node.op(*inputs)
    return [new[o] for o in outputs]
