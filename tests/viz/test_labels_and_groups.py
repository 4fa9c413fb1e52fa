"""A plain drawing of derivatives labels itself from what the passes recorded, and puts each
node in the box of the pass that made it; checked on the SVG the WebAssembly Graphviz draws."""

from __future__ import annotations

import re

import numpy as np
import pytest

import graphad as ga
from graphad import viz
from graphad.ir import Node, topo_sort
from tests.viz.svg import Drawn, read

pytestmark = pytest.mark.render


@pytest.fixture(autouse=True)
def _wasm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHAD_RENDERER", "wasm")


def drawn(nodes: list[Node], **options: object) -> tuple[Drawn, dict[Node, str]]:
    """The SVG read back, and each node's id in it (its position in the drawing's order)."""
    svg = viz.to_svg(nodes, **options)
    order = topo_sort(nodes)
    return read(svg), {n: f"n{i}" for i, n in enumerate(order)}


def boxes(picture: Drawn, ids: dict[Node, str], node: Node) -> list[str]:
    return picture.box_of(ids[node])


def lines(picture: Drawn, ids: dict[Node, str], node: Node) -> list[str]:
    return picture.nodes[ids[node]][0]


def test_a_plain_gradient_drawing_names_the_adjoints() -> None:
    x = ga.placeholder("x", shape=(3,))
    f = ga.sum(ga.sin(x) * x, name="f")
    gx = ga.gradients(f, x)
    picture, ids = drawn([f, gx])
    assert lines(picture, ids, gx)[0] == "x̄"
    assert lines(picture, ids, gx)[-1] == "(3,):float64"
    seed = next(n for n in topo_sort([gx]) if any(r.of is f for r in n.roles))
    assert lines(picture, ids, seed)[0] == "f̄"
    # every node the pass made sits in its box, and every one of the user's in theirs
    for node, key in ids.items():
        inside = picture.box_of(key)
        if node.origin.kind == "user":
            assert inside == ["your graph"], (node, inside)
        else:
            assert len(inside) == 1 and inside[0].startswith("order 1, reverse mode: gradients")
    for node, key in ids.items():  # every adjoint is named after its node
        first = picture.nodes[key][0][0]
        if node.roles:
            assert "\u0304" in first, (node, first)  # x̄, v̄₂, v̄₂→₄: a bar
        elif node.origin.kind != "user":
            assert re.fullmatch("v[₀-₉]+", first), (node, first)  # an intermediate value
    assert "sin(x)" in picture.texts()


def test_a_hessians_own_nodes_are_in_its_second_orders_box() -> None:
    p = ga.placeholder("p", shape=(2,))
    f = ga.sum(ga.sin(p) * p[1], name="f")
    h = ga.hessian(f, p)
    picture, ids = drawn([f, h])
    assert lines(picture, ids, h)[0] == "∂²f/∂p²"
    assert boxes(picture, ids, h) == [f"order 2, forward mode: hessian ({h.origin.location})"]
    for node in topo_sort([h]):
        if node.origin.kind == "user":
            assert boxes(picture, ids, node) == ["your graph"]
        else:
            (inside,) = boxes(picture, ids, node)
            assert inside.startswith(f"order {node.origin.order}, ")
            assert inside.endswith(f"hessian ({h.origin.location})")
    texts = picture.texts()
    for notation in ("p[1]", "sin(p)", "reshape(", ".T", "scatter "):
        assert notation in texts, notation


def test_an_hvp_is_the_tangent_of_the_gradient() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.sum(x**3, name="y")
    hv = ga.hvp(y, x, np.ones(3))
    (gx,) = [r.of for r in hv.roles]  # the gradient, which the tangent pass did not need
    picture, ids = drawn([gx, hv])
    assert lines(picture, ids, hv)[0] == "x̄̇"  # the dot over the bar: a tangent of x̄
    assert lines(picture, ids, gx)[0] == "x̄"
    (inside,) = boxes(picture, ids, hv)
    assert inside.startswith("order 2, forward mode: hvp")
    assert boxes(picture, ids, gx)[0].startswith("order 1, reverse mode: hvp")


def test_second_order_gradients_and_vmap_have_their_own_boxes() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.sum(ga.sin(x) * x, name="y")
    gx = ga.gradients(y, x)
    hx = ga.gradients(gx, x)
    picture, ids = drawn([gx, hx])
    assert lines(picture, ids, hx)[0] == "x̄⁽²⁾"  # the adjoint of x, made by a second pass
    assert boxes(picture, ids, hx)[0].startswith("order 2, reverse mode: gradients")
    assert boxes(picture, ids, gx)[0].startswith("order 1, reverse mode: gradients")

    batched = ga.vmap(y, {x: np.ones((4, 3))})
    picture, ids = drawn([batched])
    assert lines(picture, ids, batched)[0] == "yᴮ"
    assert boxes(picture, ids, batched)[0].startswith("batched: vmap")


def test_derivatives_given_still_override_the_recorded_names() -> None:
    x = ga.placeholder("x", shape=())
    y = ga.sin(x, name="y")
    t = ga.jvp(y, x, 1.0)
    picture, ids = drawn([y, t])
    assert lines(picture, ids, t)[0] == "y\u0307"  # ẏ, recorded
    source = viz.to_dot([y, t], derivatives={x: t}).source
    assert "x\u0307" in source and "y\u0307" not in source.split("cluster_legend")[0]


def test_long_labels_are_cut_to_fit() -> None:
    x = ga.placeholder("a_rather_long_input_name", shape=(3,))
    y = ga.add_n(*[x * float(i) for i in range(1, 9)], name="y")
    picture, ids = drawn([y])
    assert all(len(line) <= 40 for text, _ in picture.nodes.values() for line in text)
    assert lines(picture, ids, y)[1].endswith("…")


def test_no_clusters_for_a_forward_graph_unless_asked() -> None:
    x = ga.placeholder("x", shape=())
    y = ga.exp(x)
    assert "cluster_group" not in viz.to_dot(y).source
    assert "cluster_group0" in viz.to_dot(y, cluster=True).source
    g = ga.gradients(y, x)
    assert "cluster_group1" in viz.to_dot([y, g]).source
    assert "cluster_group" not in viz.to_dot([y, g], cluster=False).source
