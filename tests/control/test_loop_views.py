"""Seeing loops: drawings hold each loop's body once, in a cluster labelled with its trip
count (the backward loop of a gradient likewise); ``graph_stats`` counts a body once;
``adjoints`` and ``explain`` work on graphs with loops, a loop's partial adjoints one
entry."""

from __future__ import annotations

import re

import numpy as np

import graphad as ga


def recurrence(steps: int | None) -> tuple[ga.Node, ga.Node, ga.Node]:
    w = ga.placeholder("w", ())
    xs = ga.placeholder("xs", (steps,))
    c, ys = ga.scan(lambda c, x: (ga.sin(c * w) + x, c), 1.0, xs)
    return w, xs, c * 2.0 + ga.sum(ys)


def clusters(source: str) -> dict[str, str]:
    """Each loop cluster's label, by cluster name."""
    found = re.findall(r"subgraph (cluster_n[\d_]+) \{\s*color=\S+ label=\"([^\"]*)\"", source)
    return dict(found)


def test_a_loop_is_drawn_as_one_cluster_holding_its_body_once() -> None:
    sources = []
    for steps in (3, 1000):
        _, _, y = recurrence(steps)
        source = ga.to_dot(y).source
        (label,) = clusters(source).values()
        assert label == f"scan body, × {steps}"
        sources.append(re.sub(r"\d+", "#", source))
    assert sources[0] == sources[1]  # the same drawing whatever the trip count


def test_a_gradients_backward_loop_is_drawn_likewise() -> None:
    w, _, y = recurrence(None)
    both = ga.optimize([y, ga.gradients(y, w)])  # the value's loop is the gradient's
    labels = sorted(clusters(ga.to_dot(both).source).values())
    assert labels == [
        "scan body (reverse pass, order 1), reversed, × T (rows of xs)",
        "scan body, × T (rows of xs)",
    ]


def test_while_loops_checkpoints_and_nested_loops_in_drawings() -> None:
    x = ga.placeholder("x", ())
    out = ga.while_loop(lambda v: v < 5.0, lambda v: v * 2.0, x, max_steps=50)
    assert list(clusters(ga.to_dot(out).source).values()) == [
        "while_loop body, while its condition holds, at most 50 steps"
    ]
    m = ga.placeholder("m", (4, 3))

    def row(t: ga.Node, r: ga.Node) -> tuple[ga.Node, None]:
        inner, _ = ga.scan(lambda p, v: (p * v, None), t, r)
        return inner, None

    total, _ = ga.scan(row, 1.0, m, checkpoint=2)
    source = ga.to_dot(total).source
    labels = list(clusters(source).values())
    assert labels == ["scan body, × 4, checkpoint every 2", "scan body, × 3"]
    assert source.index("cluster_n") < source.rindex("subgraph cluster_n")  # one inside


def test_graph_stats_counts_a_body_once_and_reports_it() -> None:
    stats = []
    for steps in (10, 10_000):
        w, _, y = recurrence(steps)
        stats.append(ga.graph_stats([y, ga.gradients(y, w)]))
    assert stats[0] == stats[1]
    s = stats[0]
    assert s.by_op["scan"] == s.loops == 3  # the loop, its twin, the backward loop
    assert s.body_nodes > 0
    w, _, y = recurrence(5)
    optimised = ga.graph_stats(ga.optimize([y, ga.gradients(y, w)]))
    assert optimised.loops == 2 and optimised.body_nodes < s.body_nodes


def test_adjoints_hold_a_loops_partials_as_one_entry() -> None:
    w, xs, y = recurrence(3)
    adj = ga.adjoints(y, [w, xs])
    (loop,) = [n for n in adj if n.op.name == "scan"]
    entry = adj[loop]
    assert len(entry.partials) == 2  # from c and from ys: one tuple-valued adjoint each
    values = ga.evaluate(adj.fetches(), {w: 0.5, xs: np.array([0.1, 0.2, 0.3])})
    total = values[loop.name]["total"]
    assert total[0] == 2.0 and np.array_equal(total[1], np.ones(3))
    gw = ga.evaluate(ga.gradients(y, w), {w: 0.5, xs: np.array([0.1, 0.2, 0.3])})
    assert values["w"]["total"] == gw


def test_explain_writes_out_a_sweep_through_a_loop_with_its_values() -> None:
    w, xs, y = recurrence(3)
    text = ga.explain(y, w, values={w: 0.5, xs: np.array([0.1, 0.2, 0.3])})
    assert re.search(r"v₁ = scan\(1.0, xs, w\) = \([\d.]+, \[1. ", text)
    assert re.search(r"v̄₁ = v̄₁→\S+ \+ v̄₁→\S+ = \(2, \[1., 1., 1.\]\)", text)
    assert re.search(r"w̄ = v̄₁·∂v₁/∂w = .* = 3.743", text)
