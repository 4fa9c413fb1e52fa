"""Drawing: NetworkX attributes, DOT colours per derivative order, SVG rendering."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

import graphad as ga
from graphad import viz
from graphad.ir import topo_sort


@pytest.fixture
def graphs() -> dict[str, ga.Node]:
    x = ga.placeholder("x", shape=(3,))
    y = ga.sum(ga.sin(x) * x)
    g = ga.gradients(y, x)
    return {"x": x, "y": y, "g": g, "h": ga.gradients(g, x), "t": ga.jvp(y, x, np.ones(3))}


def test_networkx_has_every_node_and_edge_with_origins(graphs: dict[str, ga.Node]) -> None:
    order = topo_sort([graphs["g"], graphs["h"]])
    graph = viz.to_networkx([graphs["g"], graphs["h"]])
    assert graph.number_of_nodes() == len(order)
    assert graph.number_of_edges() == sum(len({x.id for x in n.inputs}) for n in order)
    assert graph.nodes[graphs["x"].id]["kind"] == "user"
    assert graph.nodes[graphs["h"].id]["order"] == 2
    assert graph.nodes[graphs["g"].id]["kind"] == "reverse"
    assert graph.nodes[graphs["g"].id]["location"].startswith("test_viz.py:")
    assert all(graph.has_edge(x.id, n.id) for n in order for x in n.inputs)


def test_dot_colours_nodes_by_derivative_order_and_pass(graphs: dict[str, ga.Node]) -> None:
    source = viz.to_dot([graphs["y"], graphs["h"], graphs["t"]]).source
    for order in (0, 1, 2):
        assert viz.ORDER_COLOURS[order] in source
    assert "dashed" in source  # forward-mode nodes
    assert "penwidth=2.5" in source  # the fetched outputs


def test_render_writes_a_valid_svg(graphs: dict[str, ga.Node], tmp_path) -> None:
    path = viz.render([graphs["y"], graphs["g"]], tmp_path / "graph.svg", title="y and dy/dx")
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    assert "y and dy/dx" in path.read_text()


def test_viz_refuses_non_nodes() -> None:
    with pytest.raises(ga.GraphError, match="expected nodes"):
        viz.to_dot([np.ones(3)])


def test_render_names_an_unknown_format(graphs: dict[str, ga.Node], tmp_path) -> None:
    with pytest.raises(ga.GraphError, match="cannot write 'nope'"):
        viz.render(graphs["y"], tmp_path / "graph.nope")
