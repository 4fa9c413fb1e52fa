"""Executors pickle and copy, with their plan, fetch structure and sub-graphs, and run in
other processes."""

from __future__ import annotations

import collections
import copy
import multiprocessing
import pickle
from typing import Any

import numpy as np

import graphad as ga

Pair = collections.namedtuple("Pair", "value grad")
Graph = tuple[ga.Node, ga.Node, ga.Node, ga.Node]


def test_executors_pickle_and_copy_and_keep_their_fetch_structure(
    executor_mode: dict[str, Any], shared_graph: Graph
) -> None:
    _, _, y, g = shared_graph
    ex = ga.Executor({"out": Pair(y, g), "again": [y]}, **executor_mode)
    v = np.array([0.1, 0.2, 0.3])
    want = ex.run({"x": v})
    for clone in (pickle.loads(pickle.dumps(ex)), copy.copy(ex), copy.deepcopy(ex)):
        assert (clone.optimized, clone.debug) == (ex.optimized, ex.debug)
        assert (clone._program is None) == (ex._program is None)
        got = clone.run({"x": v})
        assert isinstance(got["out"], Pair) and isinstance(got["again"], list)
        np.testing.assert_allclose(got["out"].grad, want["out"].grad)
        np.testing.assert_allclose(got["again"][0], want["again"][0])


def test_a_spawn_pool_runs_an_executor_in_two_workers(shared_graph: Graph) -> None:
    _, _, y, g = shared_graph
    ex = ga.Executor([y, g])
    feeds = [{"x": np.full(3, float(i))} for i in range(4)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        # a timeout, so that a worker dying while it unpickles fails the test, not hangs it
        results = pool.map_async(ex.run, feeds).get(timeout=120)
    for feed, (yv, gv) in zip(feeds, results):
        want_y, want_g = ex.run(feed)
        np.testing.assert_allclose(yv, want_y)
        np.testing.assert_allclose(gv, want_g)


def test_a_cond_pickles_and_deep_copies_with_its_branches(executor_mode: dict[str, Any]) -> None:
    # optimised, the cond is lowered into the generated code; in debug, Branch.run interprets
    x = ga.placeholder("x", shape=(3,))
    p = ga.placeholder("p", shape=(), dtype=bool)
    y = ga.cond(p, lambda v: ga.sin(v), lambda v: ga.cos(v), [x])
    g = ga.gradients(ga.sum(y), x)
    v = np.array([0.1, 0.2, 0.3])
    for clone in (
        pickle.loads(pickle.dumps(ga.Executor([y, g], **executor_mode))),
        copy.deepcopy(ga.Executor([y, g], **executor_mode)),
        copy.copy(ga.Executor([y, g], **executor_mode)),
    ):
        for flag, f, df in ((True, np.sin, np.cos), (False, np.cos, lambda u: -np.sin(u))):
            yv, gv = clone.run({"x": v, "p": flag})
            np.testing.assert_allclose(yv, f(v))
            np.testing.assert_allclose(gv, df(v))
