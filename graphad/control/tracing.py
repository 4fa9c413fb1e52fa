"""Tracing a user's function into a sub-graph, and the structures (trees) of its values.

A function given to ``cond`` or a loop is called once, on placeholders, and what it returns
is a sub-graph over them.  Nodes it used from outside (the enclosing graph's values) are
*captured*: each becomes one more placeholder of the sub-graph and one more input of the
op, so derivatives flow into them like into any input.  Values made of constants only
stay inside the sub-graph (the rewrites fold them).

Loop carries and per-step values are *trees*: a node, or tuples, lists and dicts of them,
nested; a structured node (a tuple or dict value) is a tree too.  A loop works on their
tensor leaves, one parameter per leaf, and gives results back in the caller's form.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphad.ir import (
    DictType,
    GraphError,
    Node,
    Placeholder,
    SparseType,
    TensorType,
    TupleType,
    ValueType,
    as_node,
    placeholder,
    substitute,
    topo_sort,
)
from graphad.ops.structure import entry, make_dict, make_tuple


# -- trees -------------------------------------------------------------------------
@dataclass(frozen=True)
class Tree:
    """How a value is built from its tensor leaves: ``kind`` is ``"leaf"``, ``"none"``,
    ``"tuple"``, ``"list"``, ``"dict"`` (Python containers of ``children``) or ``"node"``
    (a structured node of type ``type``)."""

    kind: str
    children: tuple[Any, ...] = ()  # Trees; for a dict, (key, Tree) pairs
    type: ValueType | None = None

    def paths(self, prefix: str = "") -> list[str]:
        """Each leaf's path, ``[1]['h']``, in leaf order."""
        if self.kind == "leaf":
            return [prefix]
        if self.kind == "none":
            return []
        if self.kind == "node":
            return _type_paths(self.type, prefix)
        if self.kind == "dict":
            return [p for k, t in self.children for p in t.paths(f"{prefix}[{k!r}]")]
        return [p for i, t in enumerate(self.children) for p in t.paths(f"{prefix}[{i}]")]


def _type_paths(t: ValueType | None, prefix: str) -> list[str]:
    if t is None:
        return []
    if isinstance(t, (TensorType, SparseType)):
        return [prefix]
    if isinstance(t, DictType):
        return [p for k, item in t.items for p in _type_paths(item, f"{prefix}[{k!r}]")]
    return [p for i, item in enumerate(t.items) for p in _type_paths(item, f"{prefix}[{i}]")]


def flatten(value: Any) -> tuple[list[Node], Tree]:
    """The tensor leaves of ``value`` (arrays and numbers become constants) and its tree."""
    if value is None:
        return [], Tree("none")
    if isinstance(value, Node):
        if isinstance(value.type, TensorType):
            return [value], Tree("leaf")
        return _node_leaves(value), Tree("node", type=value.type)
    if isinstance(value, Mapping):
        leaves: list[Node] = []
        children = []
        for k, v in value.items():
            if not isinstance(k, str):
                raise GraphError(f"dict keys must be strings, got {k!r}")
            found, tree = flatten(v)
            leaves += found
            children.append((k, tree))
        return leaves, Tree("dict", tuple(children))
    if isinstance(value, (tuple, list)) and not _numbers(value):
        items: list[Node] = []
        trees: list[Tree] = []
        for v in value:
            found, tree = flatten(v)
            items += found
            trees.append(tree)
        return items, Tree("list" if isinstance(value, list) else "tuple", tuple(trees))
    return [as_node(value)], Tree("leaf")


def _numbers(value: Sequence[Any]) -> bool:
    """A list of numbers (``[1.0, 2.0]``) is one array, as NumPy reads it."""
    return isinstance(value, list) and all(
        isinstance(v, (int, float, complex)) or (isinstance(v, list) and _numbers(v)) for v in value
    )


def _node_leaves(node: Node) -> list[Node]:
    t = node.type
    if isinstance(t, (TensorType, SparseType)):
        return [node]
    keys: list[Any] = list(t.keys()) if isinstance(t, DictType) else list(range(len(t.items)))
    found: list[Node] = []
    for k in keys:
        e = entry(node, k)
        if e is not None:
            found += _node_leaves(e)
    return found


def unflatten(tree: Tree, leaves: Iterator[Node]) -> Any:
    """A value of ``tree``'s form over the next leaves of ``leaves``."""
    kind = tree.kind
    if kind == "leaf":
        return next(leaves)
    if kind == "none":
        return None
    if kind == "node":
        return _node_of(tree.type, leaves)
    if kind == "dict":
        return {k: unflatten(t, leaves) for k, t in tree.children}
    items = [unflatten(t, leaves) for t in tree.children]
    return items if kind == "list" else tuple(items)


def _node_of(t: ValueType | None, leaves: Iterator[Node]) -> Node | None:
    if t is None:
        return None
    if isinstance(t, TensorType):
        return next(leaves)
    if isinstance(t, DictType):
        return make_dict({k: _node_of(item, leaves) for k, item in t.items})
    assert isinstance(t, TupleType)
    return make_tuple(*(_node_of(item, leaves) for item in t.items))


def params_like(leaves: Sequence[Node], label: str) -> list[Node]:
    """A placeholder of each leaf's type."""
    return [placeholder(f"{label}{i}", type=x.type) for i, x in enumerate(leaves)]


# -- capture -------------------------------------------------------------------------
def captured(outputs: Sequence[Node], own: Sequence[Node]) -> list[Node]:
    """The outer nodes a traced sub-graph reads: those computed from placeholders other
    than its ``own`` that a node computed from its own uses (or that it returns)."""
    own_set = set(own)
    order = topo_sort(outputs)
    inner: set[Node] = set()  # computed from the sub-graph's own placeholders
    needs_outer: set[Node] = set()  # computed from placeholders of an enclosing graph
    for node in order:
        if node in own_set or any(x in inner for x in node.inputs):
            inner.add(node)
        elif isinstance(node.op, Placeholder) or any(x in needs_outer for x in node.inputs):
            needs_outer.add(node)
    used_inside = {x for node in order if node in inner for x in node.inputs}
    returned = set(outputs)
    return [
        n
        for n in order
        if n in needs_outer and n not in inner and (n in returned or n in used_inside)
    ]


def close_over(
    outputs: Sequence[Sequence[Node]], own: Sequence[Sequence[Node]], label: str
) -> tuple[list[list[Node]], list[Node], list[Node]]:
    """Sub-graphs ``outputs[k]`` over their ``own[k]`` placeholders, closed: the outer
    nodes any of them captures (in order of appearance), one shared placeholder for each,
    and each sub-graph's outputs with its captured nodes replaced by those placeholders."""
    found: dict[Node, None] = {}
    for outs, params in zip(outputs, own):
        found.update(dict.fromkeys(captured(outs, params)))
    outer = list(found)
    stand = [placeholder(f"{label}_captured_{i}", type=n.type) for i, n in enumerate(outer)]
    mapping = dict(zip(outer, stand))
    closed = [substitute(list(outs), mapping) for outs in outputs]
    return closed, outer, stand
