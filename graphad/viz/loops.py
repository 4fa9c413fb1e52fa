"""Loops in drawings and counts: a loop's body drawn once, in a cluster beside the loop node.

A loop node stands for T runs of its body, but its body is one sub-graph, and that is what
is drawn: a cluster labelled with the loop's kind and trip count (``scan, × 100``;
``scan, reversed, × T (rows of xs)``; ``while_loop, at most 50 steps``), holding the body's
nodes, its parameters named by role (carry, row, captured, step), and dashed edges from
the body's results to the loop node they become.  A gradient's backward loop is drawn
likewise, in its pass's colours; a loop inside a body gets a cluster inside its loop's.
"""

from __future__ import annotations

from collections.abc import Iterable

import graphviz

from graphad.ir import Node, TensorType, topo_sort
from graphad.ops.loop import Loop, LoopForm
from graphad.viz.dot import kind_of
from graphad.viz.style import FORWARD_STYLE, SHAPES, dot_string, order_colour


def trips(node: Node) -> str:
    """The trip count as the drawing states it."""
    op = node.op
    assert isinstance(op, Loop)
    form = op.form
    if form.cond is not None:
        bound = f"at most {form.max_steps} steps" if form.max_steps is not None else "unbounded"
        return f"while its condition holds, {bound}"
    if form.length is not None:
        return f"× {form.length}"
    if form.counted:
        return "× n (computed)"
    for i in (*form.xs_inputs(), *form.replay_inputs()[2]):
        t = node.inputs[i].type
        if isinstance(t, TensorType) and t.shape and t.shape[0] is not None:
            return f"× {t.shape[0]}"
    return "× T (rows of xs)"


def title(node: Node) -> str:
    """``scan, reversed, × 100, checkpoint every 10``: what the cluster is labelled."""
    op = node.op
    assert isinstance(op, Loop)
    form = op.form
    parts = [f"{op.name} body"]
    if node.origin.kind != "user":
        parts[0] += f" ({node.origin.kind} pass, order {node.origin.order})"
    if form.reverse:
        parts.append("reversed")
    parts.append(trips(node))
    if form.checkpoint is not None:
        parts.append(f"checkpoint every {form.checkpoint}")
    if form.replay is not None:
        parts.append("replays its checkpoints")
    return ", ".join(parts)


def roles(form: LoopForm) -> dict[Node, str]:
    """Each parameter of the body (and condition) by what feeds it."""
    found = {p: f"carry {k}" for k, p in enumerate(form.carry_params())}
    found.update({p: f"row {k}" for k, p in enumerate(form.x_params())})
    found.update({p: f"captured {k}" for k, p in enumerate(form.const_params())})
    found.update(dict.fromkeys(form.step_params(), "step"))
    return found


def clusters(dot: graphviz.Digraph, order: Iterable[Node], ids: dict[Node, str]) -> None:
    """Add a cluster for the body of each loop node of ``order`` drawn (in ``ids``)."""
    for node in order:
        if isinstance(node.op, Loop) and node in ids:
            dot.subgraph(cluster(node, ids[node], ids[node]))


def cluster(node: Node, anchor: str, prefix: str) -> graphviz.Digraph:
    """The cluster drawing ``node``'s sub-graphs once, its results feeding ``anchor``."""
    op = node.op
    assert isinstance(op, Loop)
    form = op.form
    box = graphviz.Digraph(name=f"cluster_{prefix}")
    box.attr(label=dot_string(title(node)), style="rounded,dashed", color="#6a51a3")
    named = roles(form)
    if form.replay is not None:
        named.update(roles(form.replay))
    drawn: dict[Node, str] = {}
    results: list[tuple[Node, str]] = [(o, f"carry {k}'") for k, o in enumerate(form.new_carries())]
    results += [(o, f"y {j}") for j, o in enumerate(form.per_step())]
    if form.cond is not None:
        results.append((form.cond.outputs[0], "condition"))
    outputs = [o for o, _ in results]
    if form.replay is not None:
        outputs += list(form.replay.body.outputs)
    for k, inner in enumerate(topo_sort(outputs)):
        drawn[inner] = f"{prefix}_{k}"
        lines = [named.get(inner) or str(inner.op), str(inner.type)]
        if kind_of(inner) == "constant":
            lines = [str(inner.op)]
        box.node(
            drawn[inner],
            dot_string(*lines),
            shape=SHAPES[kind_of(inner)],
            style=FORWARD_STYLE if inner.origin.kind == "forward" else "filled",
            fillcolor=order_colour(inner.origin.order),
            fontsize="9",
        )
        for position, x in enumerate(inner.inputs):
            label = str(position) if len(inner.inputs) > 1 else ""
            box.edge(drawn[x], drawn[inner], label=dot_string(label))
        if isinstance(inner.op, Loop):
            box.subgraph(cluster(inner, drawn[inner], drawn[inner]))
    for out, label in results:
        box.edge(drawn[out], anchor, label=dot_string(label), style="dashed", color="#6a51a3")
    return box


def body_nodes(order: Iterable[Node]) -> tuple[int, int]:
    """(loops, nodes of their sub-graphs): each sub-graph counted once, whatever its trip
    count, and the loops inside it too."""
    loops = nodes = 0
    for node in order:
        if isinstance(node.op, Loop):
            inner = topo_sort([o for b in node.op.branches for o in b.outputs])
            more_loops, more_nodes = body_nodes(inner)
            loops += 1 + more_loops
            nodes += len(inner) + more_nodes
    return loops, nodes
