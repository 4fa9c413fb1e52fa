"""Graphs pickle, copy and deep-copy with their sharing kept, however long they are."""

from __future__ import annotations

import copy
import pickle
import sys

import numpy as np
import pytest

import graphad as ga
from graphad.ir import topo_sort

Graph = tuple[ga.Node, ga.Node, ga.Node, ga.Node]


def _same_graph(a: ga.Node, b: ga.Node) -> None:
    order_a, order_b = topo_sort([a]), topo_sort([b])
    assert len(order_a) == len(order_b)
    for m, n in zip(order_a, order_b):
        assert m is not n
        assert (m.op.name, m.type, m.name, m.origin) == (n.op.name, n.type, n.name, n.origin)


@pytest.mark.parametrize(
    "round_trip", [lambda v: pickle.loads(pickle.dumps(v)), copy.deepcopy], ids=["pickle", "deep"]
)
def test_graphs_round_trip_with_sharing_kept(round_trip, shared_graph: Graph) -> None:
    x, shared, y, g = shared_graph
    x2, shared2, y2, g2 = round_trip([x, shared, y, g])
    _same_graph(y, y2)
    _same_graph(g, g2)
    # identity inside one pickled graph is kept: the shared sub-graph is one node
    assert shared2 in set(topo_sort([y2])) and shared2 in set(topo_sort([g2]))
    assert x2 in set(topo_sort([g2]))
    assert x2 is not x  # a new, distinct placeholder
    v = np.array([0.3, -1.0, 2.0])
    want = ga.evaluate([y, g], {x: v})
    got = ga.evaluate([y2, g2], {x2: v})
    for a, b in zip(want, got):
        np.testing.assert_allclose(a, b)


def test_a_loaded_constant_is_read_only_again() -> None:
    c = pickle.loads(pickle.dumps(ga.constant(np.arange(3.0))))
    assert not c.op.value.flags.writeable


def test_copy_of_an_immutable_node_is_itself(shared_graph: Graph) -> None:
    _, _, y, _ = shared_graph
    assert copy.copy(y) is y


def test_a_long_chain_pickles_and_deep_copies_without_recursion() -> None:
    x = ga.placeholder("x", shape=())
    v = x
    for _ in range(10_000):
        v = ga.sin(v)
    limit = sys.getrecursionlimit()
    for loaded in (pickle.loads(pickle.dumps(v)), copy.deepcopy(v)):
        assert len(topo_sort([loaded])) == 10_001
    assert sys.getrecursionlimit() == limit
    ex = pickle.loads(pickle.dumps(ga.Executor(v)))
    assert np.isclose(ex.run({"x": 0.5}), ga.evaluate(v, {x: 0.5}))
