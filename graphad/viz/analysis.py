"""The graph as data: a NetworkX ``DiGraph`` and counts (``graph_stats``) for analysis."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from graphad.ir import Constant, Node, Placeholder, topo_sort
from graphad.viz.dot import as_nodes
from graphad.viz.loops import body_nodes


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
    for node in topo_sort(as_nodes(outputs, "to_networkx")):
        graph.add_node(node.id, **attributes(node))
        for position, x in enumerate(node.inputs):
            graph.add_edge(x.id, node.id, position=position)
    return graph


@dataclass(frozen=True)
class GraphStats:
    """Counts of the nodes ``fetches`` need: in total, by op, by pass, by derivative order."""

    nodes: int
    depth: int  # edges on the longest path from a leaf to a fetch
    placeholders: int
    constants: int
    by_op: dict[str, int] = field(default_factory=dict)
    by_pass: dict[str, int] = field(default_factory=dict)
    by_order: dict[int, int] = field(default_factory=dict)
    loops: int = 0  # loop nodes, those inside loop bodies included
    body_nodes: int = 0  # nodes of the loops' sub-graphs, each counted once (not per step)


def graph_stats(fetches: Node | Iterable[Node]) -> GraphStats:
    """Node counts of the graph behind ``fetches``, e.g. to plot its growth per order::

    [graph_stats(ga.derivative(f, x, order=k)).nodes for k in range(1, 5)]

    A loop is one node of ``nodes`` whatever its trip count; its body's nodes are counted
    once, apart, in ``body_nodes`` (and the loops, nested ones too, in ``loops``).
    """
    order = topo_sort(as_nodes(fetches, "graph_stats"))
    level: dict[Node, int] = {}
    for node in order:
        level[node] = 1 + max((level[x] for x in node.inputs), default=-1)
    loops, inside = body_nodes(order)
    return GraphStats(
        nodes=len(order),
        depth=max(level.values(), default=0),
        placeholders=sum(isinstance(n.op, Placeholder) for n in order),
        constants=sum(isinstance(n.op, Constant) for n in order),
        by_op=dict(sorted(Counter(n.op.name for n in order).items())),
        by_pass=dict(sorted(Counter(n.origin.kind for n in order).items())),
        by_order=dict(sorted(Counter(n.origin.order for n in order).items())),
        loops=loops,
        body_nodes=inside,
    )
