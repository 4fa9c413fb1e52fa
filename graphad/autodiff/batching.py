"""Batching as a graph transform: ``vmap`` gives every node that depends on a batched
input one more leading axis.

Like ``gradients`` and ``jvp`` it walks the graph once and answers with new nodes
of the same graph, so a batched graph can be differentiated, drawn, run and
batched again.  Each op says how it acts on a batch in its ``batch`` rule, one
per family (elementwise ops broadcast, reductions and shape ops shift their axes,
matmul/einsum/linalg use their stacked forms, indexing by a batched index adds
arange(B) beside it); an op without one (a user's op) runs once per
example, which needs a static batch size and makes the graph grow with it.

The batch size B may be unknown until run time (a batch placeholder of shape
``(None, ...)``): the rules then take it from the batched values' run-time shapes, so one
graph serves every batch size.  A rule may answer a value of the node's own rank: the same
for every example (``shape_of`` a batched value is its shape without the batch axis); the
nodes built on such values are rebuilt, not batched, and an output of that kind is
repeated over the batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graphad.ir import (
    Derivation,
    DictType,
    DTypeError,
    GraphError,
    Node,
    Origin,
    Role,
    TensorType,
    TupleType,
    as_node,
    pass_origin,
    rebuild,
    running_transform,
    shapes_compatible,
    tagged,
    topo_sort,
    transform,
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
    outputs: list[Node] = [ys] if isinstance(ys, Node) else list(ys)
    for i, y in enumerate(outputs):
        if not isinstance(y, Node):
            raise BatchingError(f"vmap: ys[{i}] must be a Node ({user_location()})")
    inside = running_transform() is not None
    with transform("vmap"):
        result = _batched(outputs, batches, inside)
    return result[0] if single else result


def _batched(outputs: list[Node], batches: Mapping[Node, Any], inside: bool) -> list[Node]:
    """The pass proper.  Called by the user, it is a pass of its own: each batched node is
    the ``batch`` of the node it batches, in a group per pass and order it batches (the
    batch of a gradient stays order 1).  Inside another transform (a Jacobian batching its
    basis), it is that transform's way of running all directions at once: each batched
    node keeps the origin and roles of the node it batches."""
    first = Derivation(pass_origin("user", 0))  # what this pass makes comes after
    origins: dict[tuple[str, int], Origin] = {}

    def origin_of(node: Node) -> Origin:
        if inside:
            return node.origin
        key = (node.origin.kind, node.origin.order)
        if key not in origins:
            origins[key] = pass_origin(*key)
        return origins[key]

    def note(node: Node, batch: Node) -> None:
        for role in node.roles if inside else (Role("batch", node),):
            first.note(batch, role)

    with tagged(first.origin):
        new, size = _inputs(batches)
    for x, xb in new.items():
        note(x, xb)
    like = next(iter(new.values()))  # a batched value: B at run time when it is unknown
    same: dict[Node, Node] = {}  # nodes rebuilt on values that are the same for every example
    for node in topo_sort(outputs):
        if node in new:
            continue
        batched = [x in new for x in node.inputs]
        if not any(batched) and not any(x in same for x in node.inputs):
            continue
        xs = [new[x] if x in new else same.get(x, x) for x in node.inputs]
        with tagged(origin_of(node)):
            if not any(batched):  # rebuilt on values that are the same for every example
                same[node] = rebuild(node, tuple(xs))
                continue
            out = _batch(node, xs, batched, size)
        if _unbatched(out, node):
            same[node] = out
        else:
            new[node] = out
            note(node, out)
    result = []
    for y in outputs:
        if y not in new:
            with tagged(origin_of(y)):
                new[y] = materialize(same.get(y, y), like)
            note(y, new[y])
        result.append(new[y])
    return result


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
        shape, batch_shape = x.shape, xb.shape
        if (
            not isinstance(xb.type, TensorType)
            or batch_shape is None
            or shape is None
            or len(batch_shape) != len(shape) + 1
            or not shapes_compatible(batch_shape[1:], shape)
        ):
            raise BatchingError(
                f"vmap: the batch of {x.name} is {xb.type} but should have shape {expected} "
                f"({user_location()})"
            )
        if batch_shape[0] is not None:
            sizes.add(batch_shape[0])
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


def _unbatched(out: Node, node: Node) -> bool:
    """Whether a rule answered a value of the node's own rank: the same for every example."""
    made, shape = out.shape, node.shape
    return (
        isinstance(node.type, TensorType)
        and made is not None
        and shape is not None
        and len(made) == len(shape)
    )


def _batch(node: Node, xs: list[Node], batched: list[bool], size: int | None) -> Node:
    """``node`` for the batch: its op's batch rule, or the op run once per example."""
    out = node.op.batch(node, xs, batched)
    if out is None:
        out = _per_example(node, xs, batched, size)
    made, shape = out.shape, node.shape
    if (
        isinstance(node.type, TensorType)
        and made is not None
        and shape is not None
        and not (len(made) == len(shape) + 1 and shapes_compatible(made[1:], shape))
        and not (len(made) == len(shape) and shapes_compatible(made, shape))
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


# a sparse matrix is batched by its ops' rules (a batch of them is their values, (B, nnz)),
# never example by example
_PER_EXAMPLE_SPARSE = "vmap: a sparse matrix value cannot be run once per example"


def _example(x: Node, i: int) -> Node:
    """Example i of a batched value: x[i], entry by entry for a structure."""
    t = x.type
    if isinstance(t, TensorType):
        return getitem(x, i)
    if isinstance(t, TupleType):
        return make_tuple(
            *(None if e is None else _example(get(x, k), i) for k, e in enumerate(t.items))
        )
    if not isinstance(t, DictType):
        raise BatchingError(_PER_EXAMPLE_SPARSE)
    return make_dict({k: _example(get(x, k), i) for k in t})


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
    if not isinstance(t, DictType):
        raise BatchingError(_PER_EXAMPLE_SPARSE)
    return make_dict({k: _stacked([get(x, k) for x in examples]) for k in t})
