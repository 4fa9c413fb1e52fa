"""Large drawings: summarised beyond a limit with a note that says how and how to draw all of
it; a tall one wraps into columns.  (Render times are measured in benchmarks/bench_render.py,
not here.)"""

from __future__ import annotations

import re

import pytest

import graphad as ga
from graphad import viz
from graphad.ir import topo_sort
from graphad.viz.summary import LIMIT
from tests.viz.svg import read


def chain(steps: int) -> tuple[ga.Node, ga.Node]:
    x = ga.placeholder("x", shape=(3,))
    v = x
    for i in range(steps):
        # a constant node a step (a Python scalar would make one node for the line)
        v = ga.sin(v) if i % 2 else v * ga.constant(0.5)
    return x, v


def net(layers: int) -> list[ga.Node]:
    x = ga.placeholder("x", shape=(4,))
    ws = [ga.placeholder(f"w{i}", shape=(4,)) for i in range(layers)]
    h = x
    for w in ws:
        h = ga.tanh(h * w + 0.1)
    y = ga.sum(h * h)
    return [y, *ga.gradients(y, ws)]


def boxes(source: str) -> list[str]:
    """The ids of the boxes drawn, the legend's left out."""
    body = source.partition("subgraph cluster_legend")[0]
    return re.findall(r"^\s*(\S+) \[label=", body, flags=re.M)


def test_a_long_chain_is_folded_and_says_so() -> None:
    _x, y = chain(3000)
    assert len(topo_sort([y])) > LIMIT
    source = viz.to_dot(y).source
    drawn = boxes(source)
    assert len(drawn) < 10
    assert "fold0" in drawn
    assert "⋯ 2,998 nodes\\nsin ×1,499, multiply ×1,499" in source  # x, the first, the last kept
    assert "summarised: 1,500 constants written into their consumers" in source
    assert "full=True draws every node" in source
    full = viz.to_dot(y, full=True).source
    assert len(boxes(full)) == len(topo_sort([y]))
    assert "summarised" not in full


def test_a_wide_graph_keeps_the_nodes_nearest_its_outputs() -> None:
    outputs = net(120)
    total = len(topo_sort(outputs))
    source = viz.to_dot(outputs).source
    drawn = [b for b in boxes(source) if re.fullmatch(r"n\d+", b)]
    assert len(drawn) <= LIMIT < total
    note = re.search(r"the ([\d,]+) nodes nearest the outputs drawn, ([\d,]+) others not", source)
    assert note is not None
    order = topo_sort(outputs)
    ids = {f"n{i}": n for i, n in enumerate(order)}
    kept = {ids[b] for b in drawn}
    assert all(o in kept for o in outputs)  # every output is drawn
    for consumer in order:  # what is drawn holds every consumer of what it holds: no cycles
        for x in consumer.inputs:
            if x in kept:
                assert consumer in kept, (x, consumer)
    assert re.search(r"n\d+_more -> n\d+", source)  # stubs below the nodes that read hidden ones


def test_limit_and_full_options() -> None:
    _x, y = chain(30)
    assert "summarised" in viz.to_dot(y, limit=10).source
    assert "summarised" not in viz.to_dot(y, limit=10, full=True).source
    with pytest.raises(ga.GraphError, match="limit must be an int >= 1"):
        viz.to_dot(y, limit=0)


@pytest.mark.render
def test_a_tall_chain_wraps_into_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 17: a 250-node chain was one 3831×21192-pixel column."""
    monkeypatch.setenv("GRAPHAD_RENDERER", "wasm")
    _x, y = chain(166)  # 250 nodes with its constants
    assert 240 <= len(topo_sort([y])) <= LIMIT
    source = viz.to_dot(y).source
    assert "constraint=false" in source and "cluster_column1" in source
    svg = viz.to_svg(y)
    width, height = (float(v) for v in re.search(r'width="(\d+)pt" height="(\d+)pt"', svg).groups())
    assert height < 4000 and width < 2 * height
    picture = read(svg)
    assert len([k for k in picture.nodes if re.fullmatch(r"n\d+", k)]) == len(topo_sort([y]))
