"""The Graphviz drawing of a graph: a box per pass, colour per derivative order, a legend.

Ids in the DOT text are the nodes' positions in the drawing's topological
order, so the same graph, built again in this process or another, gives the
same text; no user string is ever an id.  Every text that is drawn (names,
labels, tooltips, titles) goes through :func:`dot_string`, which makes Graphviz
draw it verbatim.

A node is labelled with its names (``x̄ = v̄₂→₄``: what the pass that made it recorded,
``node.roles``, or what ``derivatives=`` says), what it computes in its op's notation over
its operands' names (``v̄₃*cos(x)``), and its type.  Nodes are grouped in one box per pass
(:func:`group_of`: the user's graph, each transform's reverse or forward pass at each
order); a drawing of more than :data:`~graphad.viz.summary.LIMIT` nodes is summarised
(:mod:`graphad.viz.summary`), and a tall one wraps into columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import graphviz
import numpy as np

from graphad.ir import Constant, GraphError, Node, Origin, Placeholder, topo_sort, user_location
from graphad.viz.display import Drawing
from graphad.viz.labels import Derivatives, Namer, clip, is_auto_named, roles
from graphad.viz.legend import Marks
from graphad.viz.legend import legend as draw_legend
from graphad.viz.style import (
    DARK,
    FETCHED_PEN,
    FOLD_STYLE,
    FORWARD_STYLE,
    LINK_STYLE,
    SHAPES,
    dot_string,
    order_colour,
)
from graphad.viz.summary import HIDDEN, LIMIT, Summary, summarise

_NAMES_SHOWN = 3
_WIDTH = 40  # characters a label line may have before it is cut with …
WRAP = 40  # ranks in one column of a tall drawing; the next ones start a new column
# Graphviz's own choices, measured (benchmarks/bench_render.py): operand positions as head
# labels (an edge label becomes a node of the layout, which made a 200-node drawing take
# 10 to 50 times longer); newrank ranks the boxes of the passes together, not one after the
# other (a 200-node gradient drawing 30 % smaller, no slower)
LAYOUT = {"newrank": "true"}


def as_nodes(outputs: Node | Iterable[Node], fn: str = "viz") -> list[Node]:
    """``outputs`` as a list of nodes, or a GraphError naming what else was given."""
    outs = [outputs] if isinstance(outputs, Node) else list(outputs)
    for i, o in enumerate(outs):
        if not isinstance(o, Node):
            raise GraphError(
                f"{fn}: expected nodes, got {type(o).__name__} at position {i} ({user_location()})"
            )
    return outs


def kind_of(node: Node) -> str:
    if isinstance(node.op, Placeholder):
        return "placeholder"
    return "constant" if isinstance(node.op, Constant) else "op"


def group_of(node: Node) -> Origin:
    """The box a node is drawn in: its pass (one box for all of the user's own nodes)."""
    origin = node.origin
    if origin.kind == "user" and not origin.transform:
        return Origin()
    return origin


def group_title(group: Origin) -> list[str]:
    """``your graph``; ``order 1, reverse mode: gradients`` over ``(f.py:3)``."""
    if group == Origin():
        return ["your graph"]
    what = group.transform or "made"
    if group.kind == "user":
        return [f"batched: {what}", f"({group.location})"]
    return [f"order {group.order}, {group.kind} mode: {what}", f"({group.location})"]


def neighbourhood(order: Sequence[Node], around: Node, depth: int) -> set[Node]:
    """The nodes of ``order`` at most ``depth`` edges from ``around``, either direction."""
    inside = set(order)
    consumers: dict[Node, list[Node]] = {}
    for node in order:
        for x in node.inputs:
            consumers.setdefault(x, []).append(node)
    found, frontier = {around}, [around]
    for _ in range(depth):
        step = [m for n in frontier for m in (*n.inputs, *consumers.get(n, ())) if m in inside]
        frontier = [m for m in dict.fromkeys(step) if m not in found]
        found.update(frontier)
    return found


def format_value(value: Any) -> str:
    array = np.asarray(value)
    if array.size > 6:
        return f"{array.dtype}{list(array.shape)}, mean {array.mean():.4g}"
    with np.printoptions(precision=4, suppress=True):
        return np.array2string(array, separator=", ").replace("\n", "")


def _check_options(
    order: list[Node], around: Node | None, depth: int, values: Any, title: Any, limit: Any
) -> None:
    if title is not None and not isinstance(title, str):
        raise GraphError(
            f"to_dot: title must be a string, got {type(title).__name__} ({user_location()})"
        )
    if around is not None and around not in set(order):
        name = around.name if isinstance(around, Node) else type(around).__name__
        raise GraphError(f"to_dot: around={name} is not among the nodes drawn ({user_location()})")
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
        raise GraphError(f"to_dot: depth must be an int >= 0, got {depth!r} ({user_location()})")
    if values is not None and not isinstance(values, Mapping):
        raise GraphError(
            f"to_dot: values must be a {{node: value}} dict, got {type(values).__name__} "
            f"({user_location()})"
        )
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise GraphError(f"to_dot: limit must be an int >= 1, got {limit!r} ({user_location()})")


def to_dot(
    outputs: Node | Iterable[Node],
    title: str | None = None,
    *,
    derivatives: Derivatives | Sequence[Derivatives] | None = None,
    values: Mapping[Node, Any] | None = None,
    link_adjoints: bool = False,
    cluster: bool | None = None,
    around: Node | None = None,
    depth: int = 2,
    collapse_constants: bool = False,
    legend: bool = True,
    full: bool = False,
    limit: int = LIMIT,
) -> Drawing:
    """A Graphviz drawing of every node ``outputs`` depend on; the outputs get a bold border.

    Derivative nodes are labelled after the nodes they belong to (``v̄₂``, ``v̄₂→₄``,
    ``ẋ``, ``∂²f/∂p²``), as the transform that made them recorded; ``derivatives``
    (``ga.adjoints(y, xs)`` results or ``{node: derivative}`` dicts) overrides that for its
    nodes, and draws them too.  ``values``: ``{node: value}`` from a run, shown in the
    labels.  ``link_adjoints``: a dashed arrow from each derivative to its node.
    ``cluster``: one box per pass (default: when derivatives are drawn).
    ``around``/``depth``: only the nodes within ``depth`` edges of ``around``.
    ``collapse_constants``: constants are written into their consumers' labels.  More
    than ``limit`` nodes are drawn summarised, with a note saying how; ``full=True``
    draws them all.  The result shows itself in Jupyter, with or without Graphviz's
    programs.  A loop's body is drawn once, in a cluster labelled with its trip count
    (:mod:`graphad.viz.loops`).

        to_dot([f, ga.gradients(f, x)])
    """
    outs = as_nodes(outputs, "to_dot")
    given = roles(derivatives)
    order = topo_sort([*outs, *given])
    _check_options(order, around, depth, values, title, limit)
    fetched = set(outs)
    shown = neighbourhood(order, around, depth) if around is not None else set(order)
    summary = summarise(
        order, shown, fetched, len(order) + 1 if full else limit, collapse_constants
    )
    drawn = [n for n in order if n in summary.shown]
    namer = Namer(order, given, shown=summary.shown)
    if cluster is None:
        cluster = any(group_of(n) != Origin() for n in drawn)

    dot = Drawing(graph_attr={"rankdir": "BT", "fontname": "Helvetica", **LAYOUT})
    dot.attr("node", fontname="Helvetica", fontsize="10")
    dot.attr("edge", fontname="Helvetica", fontsize="8")
    heading = [t for t in (title, summary.note) if t]
    if heading:
        dot.attr(label=dot_string(*heading), labelloc="t")
    marks = Marks(fetched=any(n in fetched for n in drawn))
    ids = {n: f"n{i}" for i, n in enumerate(order)}

    def end(node: Node) -> str | None:
        """The id of the box that draws ``node``: its own, a stand-in's, or none."""
        if node in summary.shown:
            return ids[node]
        fold = summary.stand_in.get(node)
        return None if fold is None else fold.key

    rank = _ranks(order, end)
    boxes = _Boxes(dot, cluster, max(rank.values(), default=0) >= WRAP)
    for node in drawn:
        target = boxes.target(group_of(node), rank[ids[node]] // WRAP, ids[node])
        _draw_node(target, node, ids[node], namer, values or {}, node in fetched, summary, marks)
    marks.groups = bool(boxes.groups)
    for fold in summary.folds:
        marks.folded = True
        if fold.key != HIDDEN:  # the nodes hidden behind the outputs: a stub per reader
            target = boxes.target(None, rank.get(fold.key, 0) // WRAP, fold.key)
            text = dot_string(*(clip(line, _WIDTH) for line in fold.text.split(": ")))
            target.node(fold.key, text, shape="box", style=FOLD_STYLE)
    _draw_edges(dot, order, end, rank, summary, marks, boxes)
    boxes.close()
    from graphad.viz import loops  # beside this module: it draws with its helpers

    loops.clusters(dot, order, {n: ids[n] for n in order if n in summary.shown})
    if link_adjoints:
        _link(dot, drawn, namer, ids, summary, marks)
    if legend:
        dot.subgraph(draw_legend(marks))
    return dot


class _Boxes:
    """The clusters nodes are drawn in: one per pass (``cluster``), and in a drawing taller
    than :data:`WRAP` ranks one per column within it, which keeps each column's nodes
    together (the loops of issue 18 add theirs here)."""

    def __init__(self, dot: graphviz.Digraph, cluster: bool, tall: bool) -> None:
        self.dot = dot
        self.cluster = cluster
        self.tall = tall
        self.groups: dict[Origin, graphviz.Digraph] = {}
        self.columns: dict[tuple[Origin | None, int], graphviz.Digraph] = {}
        self.placed: dict[str, graphviz.Digraph] = {}

    def target(self, group: Origin | None, column: int, key: str) -> graphviz.Digraph:
        """Where the box ``key`` of ``group`` (``None``: a stand-in) in ``column`` is drawn
        (remembered: a stub goes where its reader went)."""
        self.placed[key] = box = self._target(group, column)
        return box

    def _target(self, group: Origin | None, column: int) -> graphviz.Digraph:
        outer = self.dot
        if self.cluster and group is not None:
            if group not in self.groups:
                box = graphviz.Digraph(name=f"cluster_group{len(self.groups)}")
                title = dot_string(*(clip(line, 60) for line in group_title(group)))
                box.attr(label=title, style="rounded", labelloc="b", color="#777777")
                box.attr(fontsize="9")
                self.groups[group] = box
            outer = self.groups[group]
        else:
            group = None
        if not self.tall:
            return outer
        key = (group if self.cluster else None, column)
        if key not in self.columns:
            box = graphviz.Digraph(name=f"cluster_column{len(self.columns)}")
            box.attr(style="invis")
            self.columns[key] = box
        return self.columns[key]

    def close(self) -> None:
        """Nest the columns in their groups, and the groups in the drawing."""
        for (group, _), box in self.columns.items():
            (self.groups[group] if group is not None else self.dot).subgraph(box)
        for box in self.groups.values():
            self.dot.subgraph(box)


def _draw_node(
    target: graphviz.Digraph,
    node: Node,
    key: str,
    namer: Namer,
    values: Mapping[Node, Any],
    fetched: bool,
    summary: Summary,
    marks: Marks,
) -> None:
    kind = kind_of(node)
    names = namer.names(node)
    if len(names) > _NAMES_SHOWN:  # the first few; explain() writes out the rest
        names = [*names[:_NAMES_SHOWN], "…"]
    own = namer.roles.get(node, [])
    marks.roles.update(r.kind for r in own)
    for role in own:  # the names of the nodes a role refers to are notation too
        marks.roles.update(r.kind for r in namer.roles.get(role.of, []))
    lines = [" = ".join(names)]
    if kind == "constant":
        value = node.op.notation(()).text
        lines = [value] if is_auto_named(node) and not own else [*lines, value]
    elif kind == "op":
        lines.append(namer.expression(node))
    if kind != "constant" or not is_auto_named(node) or own:
        lines.append(str(node.type))
    if node in values:
        lines.append("= " + format_value(values[node]))
    order = node.origin.order
    forward = node.origin.kind == "forward"
    marks.orders.add(order)
    marks.forward |= forward
    marks.shapes.add(kind)
    described = "; ".join(_describe(r, namer) for r in own)
    origin = node.origin
    made = f"{origin.kind} pass, order {order}"
    if origin.transform:
        made += f", {origin.transform}"
    target.node(
        key,
        dot_string(*(clip(line, _WIDTH) for line in lines)),
        shape=SHAPES[kind],
        style=FORWARD_STYLE if forward else "filled",
        fillcolor=order_colour(order),
        fontcolor="white" if order >= DARK else "black",
        penwidth=FETCHED_PEN if fetched else "1",
        tooltip=dot_string(
            *([described] if described else []),
            f"{made}, made at {origin.location}",
            kind="tooltip",
        ),
    )


def _describe(role: Any, namer: Namer) -> str:
    """``adjoint of x``, ``partial adjoint of v₂ sent by v₄``: a role in words."""
    text = f"{role.kind} of {namer.name(role.of)}"
    if role.consumer is not None:
        text += f" sent by {namer.name(role.consumer)}"
    if role.wrt is not None:
        text += f" with respect to {namer.name(role.wrt)}"
    return text


def _draw_edges(
    dot: graphviz.Digraph,
    order: Sequence[Node],
    end: Callable[[Node], str | None],
    rank: dict[str, int],
    summary: Summary,
    marks: Marks,
    boxes: _Boxes,
) -> None:
    """Input -> consumer, the operand's position at the head when there are several; a
    stand-in takes the place of the nodes it hides (the hidden ones behind the outputs, a
    small stub ⋯ below each node that reads them), and a tall drawing wraps (see
    :func:`_ranks`)."""
    shown = summary.shown
    drawn: set[tuple[str, str, int]] = set()
    for node in order:
        head = end(node)
        if head is None or head == HIDDEN:
            continue
        for position, x in enumerate(node.inputs):
            tail = end(x)
            if tail is None or tail == head:
                continue
            if tail == HIDDEN:
                tail = f"{head}_more"
                if tail not in boxes.placed:
                    boxes.placed[tail] = boxes.placed[head]
                    boxes.placed[tail].node(tail, "⋯", shape="plaintext", fontsize="9")
                rank[tail] = rank[head] - 1
            labelled = len(node.inputs) > 1 and node in shown
            edge = (tail, head, position if labelled else -1)
            if edge in drawn:
                continue
            drawn.add(edge)
            attrs: dict[str, str] = {}
            if labelled:
                attrs["headlabel"] = str(position)
                attrs["labelfontsize"] = "7"
                marks.operands = True
            if rank[tail] // WRAP != rank[head] // WRAP:
                attrs["constraint"] = "false"  # the next column starts at the bottom again
            dot.edge(tail, head, **attrs)


def _ranks(order: Sequence[Node], end: Callable[[Node], str | None]) -> dict[str, int]:
    """Each drawn box's rank (edges on the longest path up to it).  A drawing more than
    :data:`WRAP` ranks tall is cut into columns of WRAP ranks: the edges that cross from
    one column to the next do not constrain the layout, so each column starts at the
    bottom again, beside the one before (a 250-node chain is seven columns, not one)."""
    rank: dict[str, int] = {}
    above: dict[str, list[str]] = {}  # each box's consumers
    for node in order:
        key = end(node)
        if key is None:
            continue
        below = [k for x in node.inputs if (k := end(x)) is not None and k != key]
        rank[key] = max(rank.get(key, 0), 1 + max((rank[k] for k in below), default=-1))
        for k in below:
            above.setdefault(k, []).append(key)
    # a leaf (an input, a constant) sits just below its first consumer, in its column
    leaves = {k for k, r in rank.items() if r == 0}
    for key in leaves:
        if key in above:
            rank[key] = max(min(rank[c] for c in above[key]) - 1, 0)
    return rank


def _link(
    dot: graphviz.Digraph,
    drawn: Sequence[Node],
    namer: Namer,
    ids: dict[Node, str],
    summary: Summary,
    marks: Marks,
) -> None:
    """A dashed arrow from each derivative drawn to the node it is a derivative of."""
    for node in drawn:
        for of in dict.fromkeys(r.of for r in namer.roles.get(node, [])):
            if of in summary.shown:
                dot.edge(ids[node], ids[of], constraint="false", **LINK_STYLE)
                marks.links = True
