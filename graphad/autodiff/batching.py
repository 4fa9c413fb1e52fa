"""Batching as a graph transform: ``vmap`` gives every node that depends on a batched
input one more leading axis.

Like ``gradients`` and ``jvp`` it walks the graph once and answers with new nodes
of the same graph, so a batched graph can be differentiated, drawn, run and
batched again.  Each op says how it acts on a batch in its ``batch`` rule, one
per family (elementwise ops broadcast, reductions and shape ops shift their axes,
matmul/einsum/linalg use their stacked forms, indexing by a batched index adds
arange(B) beside it); an op without one (a user's op, ``cond``) runs once per
example, which needs a
static batch size and makes the graph grow with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graphad.ir import (
    DTypeError,
    GraphError,
    Node,
    TensorType,
    TupleType,
    as_node,
    derivation,
    shapes_compatible,
    topo_sort,
    user_location,
)
from graphad.ops import getitem, make_dict, make_tuple, stack
from graphad.ops._batching import BatchingError
from graphad.ops.shape import materialize
from graphad.ops.structure import get
from graphad.ops.utility import cast_exact


def vmap(ys: Node | Sequence[Node], batches: Mapping[Node, Any]) -> Any:
    """``ys`` computed for a batch, as new nodes of the same graph.

    ``batches`` maps inputs x (usually placeholders) to their batches xb of shape
    ``(B, *x.shape)`` (nodes or arrays).  Every node that depends on some x gets a
    leading axis of length B; a y that depends on none is repeated B times.  One node
    in gives one node out, a list gives a list.  Per-example gradients::

        g = gradients(loss(w, x, t), w)                  # w.shape, for one example
        per_example = vmap(g, {x: xs, t: ts})            # (B, *w.shape)
    """
    single = isinstance(ys, Node)
    outputs = [ys] if single else list(ys)
    for i, y in enumerate(outputs):
        if not isinstance(y, Node):
            raise BatchingError(f"vmap: ys[{i}] must be a Node ({user_location()})")
    new, size = _inputs(batches)
    for node in topo_sort(outputs):
        if node in new:
            continue
        batched = [x in new for x in node.inputs]
        if any(batched):  # the batched node keeps the pass and order that made the node
            with derivation(node.origin.kind, node.origin.order):
                new[node] = _batch(node, [new.get(x, x) for x in node.inputs], batched, size)
    result = [new[y] if y in new else materialize(y, size) for y in outputs]
    return result[0] if single else result


def _inputs(batches: Mapping[Node, Any]) -> tuple[dict[Node, Node], int | None]:
    """The batch node of each x (cast to x's dtype), and B when it is known statically."""
    if not isinstance(batches, Mapping) or not batches:
        raise BatchingError(
            f"vmap: batches must be a non-empty dict {{x: batch of x}} ({user_location()})"
        )
    new: dict[Node, Node] = {}
    sizes: set[int] = set()
    for x, value in batches.items():
        if not isinstance(x, Node) or not isinstance(x.type, TensorType):
            raise BatchingError(f"vmap: each key must be a tensor node, got {x!r}")
        try:
            xb = as_node(value)
        except GraphError as e:
            raise BatchingError(f"vmap: the batch of {x.name}: {e}") from None
        dims = "".join(f", {'?' if d is None else d}" for d in x.shape or ())
        expected = f"(B{dims})" if x.ndim else "(B,)"
        if (
            not isinstance(xb.type, TensorType)
            or xb.ndim is None
            or x.ndim is None
            or xb.ndim != x.ndim + 1
            or not shapes_compatible(xb.shape[1:], x.shape)  # type: ignore[index]
        ):
            raise BatchingError(
                f"vmap: the batch of {x.name} is {xb.type} but should have shape {expected} "
                f"({user_location()})"
            )
        if xb.shape[0] is not None:  # type: ignore[index]
            sizes.add(xb.shape[0])  # type: ignore[index]
        try:  # as a feed is: a batch that x's dtype cannot hold is refused, not truncated
            new[x] = cast_exact(xb, x.dtype)
        except DTypeError as e:
            raise BatchingError(
                f"vmap: the batch of {x.name} {e}; {x.name} is {x.dtype.name} ({user_location()})"
            ) from None
    if len(sizes) > 1:
        raise BatchingError(
            f"vmap: the batches differ in size: {sorted(sizes)} ({user_location()})"
        )
    return new, sizes.pop() if sizes else None


def _batch(node: Node, xs: list[Node], batched: list[bool], size: int | None) -> Node:
    """``node`` for the batch: its op's batch rule, or the op run once per example."""
    out = node.op.batch(node, xs, batched)
    if out is None:
        out = _per_example(node, xs, batched, size)
    if (
        isinstance(node.type, TensorType)
        and (
            out.ndim is not None
            and node.ndim is not None
            and (out.ndim != node.ndim + 1 or out.shape[1:] != node.shape)  # type: ignore[index]
            and None not in out.shape[1:]  # type: ignore[index]
            and None not in node.shape  # type: ignore[operator]
        )
    ):
        raise BatchingError(
            f"{node.op.name}: its batch rule made {out.type} for {node.type} "
            f"({node.origin.location})"
        )
    return out


def _per_example(node: Node, xs: list[Node], batched: list[bool], size: int | None) -> Node:
    """stack([op(x₀[i], …) for i < B]), entry by entry for structures: the fallback, which
    grows with B."""
    if size is None:
        raise BatchingError(
            f"{node.op.name}: no batch rule for this case, and running it once per example "
            f"needs a static batch size ({node.origin.location})"
        )
    examples = [
        node.op(*(_example(x, i) if b else x for x, b in zip(xs, batched))) for i in range(size)
    ]
    return _stacked(examples)


def _example(x: Node, i: int) -> Node:
    """Example i of a batched value: x[i], entry by entry for a structure."""
    t = x.type
    if isinstance(t, TensorType):
        return getitem(x, i)
    if isinstance(t, TupleType):
        return make_tuple(
            *(None if e is None else _example(get(x, k), i) for k, e in enumerate(t.items))
        )
    return make_dict({k: _example(get(x, k), i) for k in t})  # type: ignore[union-attr]


def _stacked(examples: list[Node]) -> Node:
    """The examples stacked along a new batch axis, entry by entry for structures."""
    t = examples[0].type
    if isinstance(t, TensorType):
        return stack(examples, axis=0)
    if isinstance(t, TupleType):
        return make_tuple(
            *(
                None if e is None else _stacked([get(x, k) for x in examples])
                for k, e in enumerate(t.items)
            )
        )
    return make_dict({k: _stacked([get(x, k) for x in examples]) for k in t})  # type: ignore[union-attr]
