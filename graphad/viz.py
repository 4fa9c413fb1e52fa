"""Drawing graphs: Graphviz DOT/SVG and a NetworkX ``DiGraph`` with the same attributes.

Forward nodes and derivative nodes are told apart by colour, one per
derivative order (0: the user's graph, 1: first derivatives, ...), and by
border style per pass (solid: reverse mode, dashed: forward mode).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import graphviz
import networkx as nx

from graphad.ir import Constant, GraphError, Node, Placeholder, topo_sort

# fill colour per derivative order (ColorBrewer Blues-free, print-friendly pastels)
ORDER_COLOURS = ("#ffffff", "#fdd49e", "#fc8d59", "#d7301f", "#990000")


def _nodes(outputs: Node | Iterable[Node]) -> list[Node]:
    outs = [outputs] if isinstance(outputs, Node) else list(outputs)
    for o in outs:
        if not isinstance(o, Node):
            raise GraphError(f"viz: expected nodes, got {type(o).__name__}")
    return outs


def attributes(node: Node) -> dict[str, Any]:
    """What a drawing or an analysis needs to know about one node."""
    return {
        "name": node.name,
        "op": str(node.op),
        "type": str(node.type),
        "kind": node.origin.kind,
        "order": node.origin.order,
        "location": node.origin.location,
    }


def to_networkx(outputs: Node | Iterable[Node]) -> nx.DiGraph:
    """The graph behind ``outputs`` as a DiGraph: one vertex per node (keyed by node id),
    an edge input → consumer labelled with the input's position."""
    graph = nx.DiGraph()
    for node in topo_sort(_nodes(outputs)):
        graph.add_node(node.id, **attributes(node))
        for position, x in enumerate(node.inputs):
            graph.add_edge(x.id, node.id, position=position)
    return graph


def _label(node: Node) -> str:
    if isinstance(node.op, Placeholder):
        return f"{node.name}\n{node.type}"
    if isinstance(node.op, Constant):
        return f"{node.op}"
    return f"{node.op}\n{node.type}"


def to_dot(outputs: Node | Iterable[Node], title: str | None = None) -> graphviz.Digraph:
    """A Graphviz drawing of every node ``outputs`` depend on; the outputs get a bold border."""
    outs = _nodes(outputs)
    dot = graphviz.Digraph(graph_attr={"rankdir": "BT", "fontname": "Helvetica"})
    dot.attr("node", fontname="Helvetica", fontsize="10", style="filled")
    if title:
        dot.attr(label=title, labelloc="t")
    fetched = set(outs)
    for node in topo_sort(outs):
        order = min(node.origin.order, len(ORDER_COLOURS) - 1)
        style = "filled,dashed" if node.origin.kind == "forward" else "filled"
        shape = "ellipse" if isinstance(node.op, Placeholder) else "box"
        if isinstance(node.op, Constant):
            shape = "note"
        dot.node(
            str(node.id),
            _label(node),
            shape=shape,
            fillcolor=ORDER_COLOURS[order],
            style=style,
            penwidth="2.5" if node in fetched else "1",
            tooltip=f"{node.name} made at {node.origin.location} ({node.origin.kind})",
        )
        for position, x in enumerate(node.inputs):
            label = str(position) if len(node.inputs) > 1 else ""
            dot.edge(str(x.id), str(node.id), label=label, fontsize="8")
    return dot


def render(outputs: Node | Sequence[Node], path: str | Path, title: str | None = None) -> Path:
    """Draw ``outputs`` to ``path``; the suffix picks the format (``.svg``, ``.png``, ``.pdf``).

    Needs Graphviz's ``dot`` program (Debian: ``apt-get install graphviz``).
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".") or "svg"
    if fmt not in graphviz.FORMATS:
        raise GraphError(f"render: Graphviz cannot write {fmt!r} files (try .svg, .png or .pdf)")
    try:
        data = to_dot(outputs, title).pipe(format=fmt)
    except graphviz.ExecutableNotFound as e:
        raise GraphError(
            "render needs Graphviz's 'dot' program on PATH (Debian: apt-get install graphviz)"
        ) from e
    path.write_bytes(data)
    return path
