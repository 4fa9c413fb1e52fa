"""The Graphviz drawing of a graph: colour per derivative order, border per pass, a legend.

Ids in the DOT text are the nodes' positions in the drawing's topological
order, so the same graph, built again in this process or another, gives the
same text; no user string is ever an id.  Every text that is drawn (names,
labels, tooltips, titles) goes through :func:`dot_string`, which makes Graphviz
draw it verbatim.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import graphviz
import numpy as np

from graphad.ir import Constant, GraphError, Node, Placeholder, topo_sort, user_location
from graphad.viz.labels import Derivatives, Namer, is_auto_named, roles

# fill colour per derivative order (print-friendly oranges; white is the user's graph)
ORDER_COLOURS = ("#ffffff", "#fdd49e", "#fc8d59", "#d7301f", "#990000")
_DARK = 3  # orders from here on get white text
PASS_STYLES = {"user": "filled", "reverse": "filled", "forward": "filled,dashed"}
SHAPES = {"placeholder": "ellipse", "constant": "note", "op": "box"}
FETCHED_PEN = "2.5"
_NAMES_SHOWN = 3


def dot_string(*lines: str, kind: Literal["label", "tooltip"] = "label") -> str:
    r"""``lines`` as a DOT string that Graphviz draws verbatim, one line under the other.

    Graphviz reads its strings as *escString*: in a label ``\N`` is the node's id,
    ``\G \E \T \H \L`` the graph, edge, tail, head and label, ``\l \r \n`` end a line,
    and ``&amp;`` is an HTML entity; a tooltip is unescaped once more before that (its
    ``\N`` needs four backslashes to be drawn).  So each backslash is written twice in a
    ``label`` (of a node, an edge, a cluster or the graph) and four times in a
    ``tooltip``, each ``&`` as ``&amp;``, and a character that cannot be shown (NUL, a
    control character, a lone surrogate, a bidirectional override) as Python writes it,
    ``\x00``.  The result is never read as an HTML-like label (``<b>``); the ``graphviz``
    package adds the quotes and escapes ``"``.

        dot_string("a\\lb", "exp")   # drawn as the two lines  a\lb  and  exp
    """
    backslash = "\\\\" if kind == "label" else "\\\\\\\\"
    shown = ("".join(_visible(c) for c in line) for line in lines)
    text = "\\n".join(s.replace("\\", backslash).replace("&", "&amp;") for s in shown)
    return graphviz.nohtml(text)


def _visible(c: str) -> str:
    return c if c.isprintable() else ascii(c)[1:-1]  # "\x00", "\u202e"


def as_nodes(outputs: Node | Iterable[Node], fn: str = "viz") -> list[Node]:
    """``outputs`` as a list of nodes, or a GraphError naming what else was given."""
    outs = [outputs] if isinstance(outputs, Node) else list(outputs)
    for i, o in enumerate(outs):
        if not isinstance(o, Node):
            raise GraphError(
                f"{fn}: expected nodes, got {type(o).__name__} at position {i} ({user_location()})"
            )
    return outs


def order_colour(order: int) -> str:
    return ORDER_COLOURS[min(order, len(ORDER_COLOURS) - 1)]


def kind_of(node: Node) -> str:
    if isinstance(node.op, Placeholder):
        return "placeholder"
    return "constant" if isinstance(node.op, Constant) else "op"


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
    order: list[Node], around: Node | None, depth: int, values: Any, title: Any
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


def to_dot(
    outputs: Node | Iterable[Node],
    title: str | None = None,
    *,
    derivatives: Derivatives | Sequence[Derivatives] | None = None,
    values: Mapping[Node, Any] | None = None,
    link_adjoints: bool = False,
    cluster: bool = False,
    around: Node | None = None,
    depth: int = 2,
    collapse_constants: bool = False,
    legend: bool = True,
) -> graphviz.Digraph:
    """A Graphviz drawing of every node ``outputs`` depend on; the outputs get a bold border.

    ``derivatives``: ``ga.adjoints(y, xs)`` results or ``{node: derivative}`` dicts; their
    nodes are drawn too, labelled ``v̄₂``, ``v̄₂→₄``, ``ẋ`` after the nodes they belong to.
    ``values``: ``{node: value}`` from a run, shown in the labels.  ``link_adjoints``: a
    dashed edge from each derivative to its node.  ``cluster``: one box per derivative
    order.  ``around``/``depth``: only the nodes within ``depth`` edges of ``around``.
    ``collapse_constants``: constants are written into their consumers' labels.  A loop's
    body is drawn once, in a cluster labelled with its trip count (:mod:`graphad.viz.loops`).

        to_dot(v4, derivatives=ga.adjoints(v4, x), link_adjoints=True)
    """
    outs = as_nodes(outputs, "to_dot")
    node_roles = roles(derivatives)
    order = topo_sort([*outs, *node_roles])
    _check_options(order, around, depth, values, title)
    namer = Namer(order, node_roles)
    shown = neighbourhood(order, around, depth) if around is not None else set(order)
    if collapse_constants:
        shown = {n for n in shown if not isinstance(n.op, Constant)}
    ids = {n: f"n{i}" for i, n in enumerate(order)}
    values = {} if values is None else values

    dot = graphviz.Digraph(graph_attr={"rankdir": "BT", "fontname": "Helvetica"})
    dot.attr("node", fontname="Helvetica", fontsize="10")
    dot.attr("edge", fontname="Helvetica", fontsize="8")
    if title:
        dot.attr(label=dot_string(title), labelloc="t")
    boxes: dict[int, graphviz.Digraph] = {}
    fetched = set(outs)
    for node in order:
        if node not in shown:
            continue
        target = dot
        if cluster:
            k = node.origin.order
            if k not in boxes:
                boxes[k] = graphviz.Digraph(name=f"cluster_order{k}")
                box_title = "forward" if k == 0 else f"order {k}"
                boxes[k].attr(label=dot_string(box_title), style="rounded")
            target = boxes[k]
        names = namer.names(node)
        if len(names) > _NAMES_SHOWN:  # the first few; explain() writes out the rest
            names = [*names[:_NAMES_SHOWN], "…"]
        lines = [" = ".join(names), str(node.op)]
        if kind_of(node) == "constant" and is_auto_named(node) and node not in node_roles:
            lines = [str(node.op)]  # a number speaks for itself
        elif kind_of(node) != "constant":
            lines.append(str(node.type))
        if collapse_constants:
            lines += [f"{i}: {x.op}" for i, x in enumerate(node.inputs) if x not in shown]
        if node in values:
            lines.append("= " + format_value(values[node]))
        order_k = node.origin.order
        target.node(
            ids[node],
            dot_string(*lines),
            shape=SHAPES[kind_of(node)],
            style=PASS_STYLES.get(node.origin.kind, "filled"),
            fillcolor=order_colour(order_k),
            fontcolor="white" if order_k >= _DARK else "black",
            penwidth=FETCHED_PEN if node in fetched else "1",
            tooltip=dot_string(
                f"{node.origin.kind} pass, order {order_k}, made at {node.origin.location}",
                kind="tooltip",
            ),
        )
        for position, x in enumerate(node.inputs):
            if x in shown:
                label = str(position) if len(node.inputs) > 1 else ""
                dot.edge(ids[x], ids[node], label=dot_string(label))
    for box in boxes.values():
        dot.subgraph(box)
    from graphad.viz import loops  # beside this module: it draws with its helpers

    loops.clusters(dot, order, {n: ids[n] for n in order if n in shown})
    if link_adjoints:
        for node, found in node_roles.items():
            for of in dict.fromkeys(r.of for r in found):
                if node in shown and of in shown:
                    dot.edge(
                        ids[node],
                        ids[of],
                        style="dashed",
                        color="#3182bd",
                        constraint="false",
                        arrowhead="empty",
                    )
    if legend:
        dot.subgraph(_legend(order, shown))
    return dot


def _legend(order: Sequence[Node], shown: set[Node]) -> graphviz.Digraph:
    """One row of samples: the colours of the orders drawn, the borders of the passes drawn,
    the three shapes.  Plain nodes, not an HTML table: the WebAssembly Graphviz has no
    HTML labels."""
    drawn = [n for n in order if n in shown]
    samples: list[tuple[str, dict[str, str]]] = [
        ("forward" if k == 0 else f"order {k}", {"fillcolor": order_colour(k)})
        for k in sorted({n.origin.order for n in drawn})
    ]
    samples += [
        (f"{p} mode", {"style": PASS_STYLES[p]})
        for p in sorted({n.origin.kind for n in drawn} - {"user"})
        if p in PASS_STYLES
    ]
    samples.append(("asked for", {"penwidth": FETCHED_PEN}))
    samples += [(kind, {"shape": shape}) for kind, shape in SHAPES.items()]
    box = graphviz.Digraph(name="cluster_legend")
    box.attr(label=dot_string("legend"), style="rounded", fontsize="9", color="#999999")
    row = graphviz.Digraph()  # anonymous, so rank=same holds (a cluster ignores it)
    row.attr(rank="same")
    row.attr("node", fontsize="8", height="0.3", shape="box", style="filled", fillcolor="white")
    for i, (text, attrs) in enumerate(samples):
        row.node(f"legend{i}", dot_string(text), **attrs)
        if i:  # keeps the samples in this order, left to right
            row.edge(f"legend{i - 1}", f"legend{i}", style="invis")
    box.subgraph(row)
    return box
