"""Graph walks: topological order of the nodes that outputs depend on, iteratively."""

from __future__ import annotations

from collections.abc import Container, Iterable

from graphad.ir.node import Node, _restore


def topo_sort(outputs: Iterable[Node]) -> list[Node]:
    """Every node the ``outputs`` depend on, inputs before consumers.

    Iterative depth-first post-order (first input first), so chains of any length work.
    """
    order: list[Node] = []
    done: set[Node] = set()
    expanded: set[Node] = set()  # inputs already pushed: the next time on top, it is ready
    append, add, expand = order.append, done.add, expanded.add
    for root in outputs:
        if root in done:
            continue
        stack = [root]
        push, pop = stack.append, stack.pop
        while stack:
            node = pop()
            if node in done:
                continue
            if node in expanded:  # every input was pushed above it, so all are done now
                add(node)
                append(node)
                continue
            expand(node)
            push(node)
            for x in reversed(node.inputs):  # pushed in reverse: the first input runs first
                if x not in done:
                    push(x)
    return order


def descendants(order: Iterable[Node], sources: Iterable[Node]) -> set[Node]:
    """The nodes of ``order`` (inputs before consumers) that are a source or depend on one."""
    found = set(sources)
    add = found.add
    for node in order:
        for x in node.inputs:  # loops, not any() over a generator made per node
            if x in found:
                add(node)
                break
    return found


def adopt(new: Node, old: Node, known: Container[Node]) -> Node:
    """Give ``new``, and every node under it not in ``known``, the origin of ``old``;
    ``new`` also takes its name and roles (unless it is itself known).  A rebuilt node stands for
    the node it replaces: a derivative node stays one (drawings colour by ``origin``),
    and errors name the user's line that made the original.  Only nodes nobody else has
    seen yet are touched.
    """
    if new in known:
        return new
    stack = [new]
    seen = {new}
    while stack:
        node = stack.pop()
        object.__setattr__(node, "origin", old.origin)
        for x in node.inputs:
            if x not in known and x not in seen:
                seen.add(x)
                stack.append(x)
    object.__setattr__(new, "name", old.name)
    object.__setattr__(new, "_roles", old._roles)
    return new


def rebuild(node: Node, inputs: tuple[Node, ...]) -> Node:
    """``node.op`` applied to new ``inputs``, keeping the node's name, origin and roles.

    The type is inferred again only when an input's type changed.
    """
    for a, b in zip(inputs, node.inputs):
        if a.type is not b.type and a.type != b.type:
            break
    else:
        # the node's own type still holds; made directly, as looking up the user's line
        # for an origin that is then replaced dominated rewriting long chains.  Its name is
        # kept as it is held (a default one as the number it was made with: same op, same
        # name), not spelled out for each node rebuilt
        name = node._name
        return _restore(
            node.op, inputs, node.type, node.id if name is None else name, node.origin, node._roles
        )
    new = node.op(*inputs)
    object.__setattr__(new, "name", node.name)
    object.__setattr__(new, "origin", node.origin)
    object.__setattr__(new, "_roles", node._roles)
    return new


def substitute(outputs: Iterable[Node], mapping: dict[Node, Node]) -> list[Node]:
    """Rebuild ``outputs`` with each key of ``mapping`` replaced by its value.

    Nodes that depend on no replaced node are kept as they are; the others are
    remade with the same ops, names and origins (types are inferred again when an
    input's type changed).  Nothing is mutated.
    """
    outputs = list(outputs)
    new: dict[Node, Node] = dict(mapping)
    for node in topo_sort(outputs):
        if node in new:
            continue
        inputs = tuple(new.get(x, x) for x in node.inputs)
        unchanged = all(a is b for a, b in zip(inputs, node.inputs))
        new[node] = node if unchanged else rebuild(node, inputs)
    return [new[o] for o in outputs]
