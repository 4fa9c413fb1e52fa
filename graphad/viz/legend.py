"""The legend of a drawing: one sample for each mark the drawing uses, and only those.

The marks are collected while the drawing is made (:class:`Marks`), so the legend cannot
promise what the drawing does not show, nor miss what it does.  Every sample looks like the
mark it explains and unlike every other sample: fill colours are drawn as colour swatches
(a white one has a grey outline), border and shape samples on a grey ground, edge samples as
edges.  Plain nodes, not an HTML table: the WebAssembly Graphviz has no HTML labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import graphviz

from graphad.viz.labels import BAR, BATCH, DOT
from graphad.viz.style import (
    FETCHED_PEN,
    FORWARD_STYLE,
    LINK_STYLE,
    SHAPES,
    dot_string,
    order_colour,
)

_GROUND = "#eeeeee"  # the ground of the border and shape samples: no order's colour
_PER_ROW = 4


@dataclass
class Marks:
    """What one drawing uses, noted as it is made."""

    orders: set[int] = field(default_factory=set)  # fill colours
    forward: bool = False  # dashed borders: forward mode
    fetched: bool = False  # bold borders: the nodes asked for
    shapes: set[str] = field(default_factory=set)  # "placeholder", "constant", "op"
    operands: bool = False  # operand positions at arrow heads
    links: bool = False  # dashed arrows from a derivative to its node
    groups: bool = False  # one box per pass
    roles: set[str] = field(default_factory=set)  # kinds of role named in labels
    folded: bool = False  # a summary's folded chains or hidden nodes


def order_name(k: int) -> str:
    """``your graph`` for order 0, else ``order k``: the derivative order a colour stands for."""
    return "your graph" if k == 0 else f"order {k}"


_NOTATION = {
    "adjoint": f"x{BAR} adjoint of x",
    "partial": f"x{BAR}→c part sent by c",
    "tangent": f"x{DOT} tangent of x",
    "batch": f"x{BATCH} batch of x (vmap)",
    "jacobian": "∂y/∂x Jacobian",
    "hessian": "∂²y/∂x² Hessian",
}


def legend(marks: Marks) -> graphviz.Digraph:
    """A cluster of samples, four to a row, in the order: colours, borders, shapes, edges,
    notation."""
    box = graphviz.Digraph(name="cluster_legend")
    box.attr(label=dot_string("legend"), style="rounded", fontsize="9", color="#999999")
    box.attr("node", fontsize="8", height="0.3", margin="0.12,0.04")
    box.attr("edge", fontsize="8")
    entries = list(_entries(marks))
    rows = [entries[i : i + _PER_ROW] for i in range(0, len(entries), _PER_ROW)]
    previous: str | None = None
    for r, row in enumerate(rows):
        line = graphviz.Digraph()  # anonymous, so rank=same holds (a cluster ignores it)
        line.attr(rank="same")
        first = last = None
        for i, (kind, text, attrs) in enumerate(row):
            key = f"legend{r}_{i}"
            start = f"{key}_from" if kind == "edge" else key
            first = first or start
            if last is not None:  # keeps the samples in this order, left to right
                line.edge(last, start, style="invis")
            last = key
            if kind == "edge":  # two small points joined by the edge, the text beside them
                tail, head = f"{key}_from", f"{key}_to"
                line.node(tail, "", shape="point", width="0.06")
                line.node(head, "", shape="point", width="0.06")
                line.edge(tail, head, minlen="2", **attrs)
                line.node(key, dot_string(text), shape="plaintext")
                line.edge(head, key, style="invis")
            else:
                line.node(key, dot_string(text), **attrs)
        box.subgraph(line)
        if previous is not None and first is not None:  # each row under the one before
            box.edge(first, previous, style="invis")
        previous = first
    return box


def _entries(marks: Marks) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for k in sorted(marks.orders):
        colour = order_colour(k)
        outline = "#999999" if colour.lower() == "#ffffff" else colour
        text_colour = "white" if k >= 3 else "black"
        yield (
            "node",
            order_name(k),
            {
                "shape": "box",
                "style": "filled",
                "fillcolor": colour,
                "color": outline,
                "fontcolor": text_colour,
            },
        )
    sample = {"shape": "box", "style": "filled", "fillcolor": _GROUND}
    if marks.forward:
        yield "node", "dashed: forward mode", {**sample, "style": FORWARD_STYLE}
    if marks.fetched:
        yield "node", "bold: asked for", {**sample, "penwidth": FETCHED_PEN}
    names = {"placeholder": "input", "constant": "constant", "op": "operation"}
    for kind in ("placeholder", "constant", "op"):
        if kind in marks.shapes:
            yield "node", names[kind], {**sample, "shape": SHAPES[kind]}
    if marks.groups:
        yield "node", "box: one pass", {"shape": "box", "style": "rounded", "color": "#777777"}
    if marks.folded:
        yield "node", "⋯ nodes not drawn", {**sample, "shape": "box", "style": "filled,dotted"}
    if marks.operands:
        yield "edge", "into operand 1", {"headlabel": "1", "fontsize": "7"}
    if marks.links:
        yield "edge", "derivative of", dict(LINK_STYLE)
    for kind, text in _NOTATION.items():
        if kind in marks.roles:
            yield "node", text, {"shape": "plaintext"}
