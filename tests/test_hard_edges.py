"""Regression tests for the hard edges of issue 7: each item fails loudly, typed and named.

Silent wrong results, a hang, a race and bare exceptions, found by probing the library as a
demanding user would; one test (or a table of cases) per item, named after it.
"""

from __future__ import annotations

import collections
import copy
import multiprocessing
import pickle
import sys
import threading

import numpy as np
import pytest

import graphad as ga
from graphad.ir import topo_sort

HERE = "test_hard_edges.py"


def _line() -> int:
    return sys._getframe(1).f_lineno


# -- 1: feeds are range-checked against the target dtype ---------------------------
@pytest.mark.parametrize(
    ("dtype", "value"),
    [
        ("int64", np.array([2**63, 1], dtype=np.uint64)),
        ("int32", np.array([2**31], dtype=np.int64)),
        ("int8", np.array([-129], dtype=np.int16)),
        ("uint8", np.array([-1], dtype=np.int8)),
        ("uint32", np.array([2**32], dtype=np.uint64)),
        ("float32", np.array([1e300])),
    ],
)
def test_1_a_fed_value_outside_the_placeholder_dtype_is_refused(dtype: str, value) -> None:
    p = ga.placeholder("p", shape=(None,), dtype=dtype)
    line = _line() + 2
    with pytest.raises(ga.FeedError) as info:
        ga.evaluate(p, {p: value})
    message = str(info.value)
    assert "'p'" in message and dtype in message and f"{HERE}:{line}" in message


def test_1_values_at_the_limits_of_the_target_dtype_are_fed_exactly() -> None:
    p = ga.placeholder("p", shape=(2,), dtype="int64")
    edge = np.array([2**63 - 1, 0], dtype=np.uint64)
    np.testing.assert_array_equal(ga.evaluate(p, {p: edge}), [2**63 - 1, 0])
    q = ga.placeholder("q", shape=(2,), dtype="uint8")
    np.testing.assert_array_equal(
        ga.evaluate(q, {q: np.array([0, 255], dtype=np.uint64)}), [0, 255]
    )


# -- 6: fetched arrays are the caller's own and share no memory ------------------
def test_6_fetched_arrays_never_share_memory() -> None:
    x = ga.placeholder("x", shape=(2, 3))
    t = x * 2
    fetches = [t, ga.stop_gradient(t), t, t[0], ga.reshape(t, (3, 2)), x, t.T]
    values = ga.evaluate(fetches, {x: np.ones((2, 3))})
    for i, a in enumerate(values):
        assert a.flags.writeable
        for b in values[i + 1 :]:
            assert not np.shares_memory(a, b)
    values[0][...] = 7
    assert np.all(values[1] == 2) and np.all(values[2] == 2)


def test_6_fetches_inside_structures_share_no_memory() -> None:
    x = ga.placeholder("x", shape=(3,))
    t = ga.exp(x)
    got = ga.evaluate({"a": t, "b": ga.make_tuple(t, ga.stop_gradient(t))}, {x: np.zeros(3)})
    a, (b, c) = got["a"], got["b"]
    assert not np.shares_memory(a, b) and not np.shares_memory(b, c)


# -- 7: pickling and copying ----------------------------------------------------
Pair = collections.namedtuple("Pair", "value grad")


def _graph() -> tuple[ga.Node, ga.Node, ga.Node, ga.Node]:
    x = ga.placeholder("x", shape=(3,))
    shared = ga.sin(x) * ga.constant(np.arange(3.0))
    y = ga.sum(shared * shared) + ga.sum(shared)
    return x, shared, y, ga.gradients(y, x)


def _same_graph(a: ga.Node, b: ga.Node) -> None:
    order_a, order_b = topo_sort([a]), topo_sort([b])
    assert len(order_a) == len(order_b)
    for m, n in zip(order_a, order_b):
        assert m is not n
        assert (m.op.name, m.type, m.name, m.origin) == (n.op.name, n.type, n.name, n.origin)


@pytest.mark.parametrize(
    "round_trip", [lambda v: pickle.loads(pickle.dumps(v)), copy.deepcopy], ids=["pickle", "deep"]
)
def test_7_graphs_round_trip_with_sharing_kept(round_trip) -> None:
    x, shared, y, g = _graph()
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


def test_7_a_loaded_constant_is_read_only_again() -> None:
    c = pickle.loads(pickle.dumps(ga.constant(np.arange(3.0))))
    assert not c.op.value.flags.writeable


def test_7_copy_of_an_immutable_node_is_itself() -> None:
    _, _, y, _ = _graph()
    assert copy.copy(y) is y


def test_7_a_long_chain_pickles_and_deep_copies_without_recursion() -> None:
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


def test_7_executors_pickle_and_copy_and_keep_their_fetch_structure() -> None:
    _, _, y, g = _graph()
    ex = ga.Executor({"out": Pair(y, g), "again": [y]})
    v = np.array([0.1, 0.2, 0.3])
    want = ex.run({"x": v})
    for clone in (pickle.loads(pickle.dumps(ex)), copy.copy(ex), copy.deepcopy(ex)):
        got = clone.run({"x": v})
        assert isinstance(got["out"], Pair) and isinstance(got["again"], list)
        np.testing.assert_allclose(got["out"].grad, want["out"].grad)
        np.testing.assert_allclose(got["again"][0], want["again"][0])


def test_7_a_spawn_pool_runs_an_executor_in_two_workers() -> None:
    _, _, y, g = _graph()
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


# -- 8: one Executor, many threads ------------------------------------------------
def test_8_an_executor_is_safe_to_run_from_many_threads() -> None:
    x = ga.placeholder("x", shape=(None, 2))
    w = ga.placeholder("w", shape=(2,))
    y = ga.sum(ga.tanh(x * w), axis=1)
    ex = ga.Executor([y, ga.gradients(ga.sum(y), w)])
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def hammer(seed: int) -> None:
        rng = np.random.default_rng(seed)
        start.wait()
        try:
            for i in range(400):
                n = 1 + (seed * 400 + i) % 150  # many more distinct shapes than the cache holds
                xv, wv = rng.standard_normal((n, 2)), rng.standard_normal(2)
                yv, gv = ex.run({x: xv, w: wv})
                np.testing.assert_allclose(yv, np.tanh(xv * wv).sum(axis=1))
                d = (1 - np.tanh(xv * wv) ** 2) * xv
                np.testing.assert_allclose(gv, d.sum(axis=0))
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=hammer, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# -- 9: one dtype check for every entry point -------------------------------------
BAD_DTYPES = [object, "U5", "S3", "datetime64[s]", "timedelta64", "V8"]


@pytest.mark.parametrize("dtype", BAD_DTYPES)
def test_9_non_numeric_dtypes_are_refused_everywhere(dtype) -> None:
    x = ga.placeholder("x", shape=(2,))
    line = _line() + 2
    with pytest.raises(ga.DTypeError) as info:
        ga.placeholder("p", shape=(2,), dtype=dtype)
    assert "'p'" in str(info.value) and f"{HERE}:{line}" in str(info.value)
    line = _line() + 2
    with pytest.raises(ga.DTypeError) as info:
        ga.cast(x, dtype)
    assert "cast" in str(info.value) and f"{HERE}:{line}" in str(info.value)
    with pytest.raises(ga.DTypeError):
        ga.TensorType((2,), dtype)
    with pytest.raises(ga.DTypeError):
        ga.constant(np.zeros(2, dtype=dtype))


@pytest.mark.parametrize("dtype", ["nope", 3.5, "float33"])
def test_9_unknown_dtypes_are_a_dtype_error(dtype) -> None:
    with pytest.raises(ga.DTypeError, match="unknown dtype"):
        ga.TensorType((2,), dtype)
    with pytest.raises(ga.DTypeError, match="'p'"):
        ga.placeholder("p", shape=(2,), dtype=dtype)


# -- 10: every feed is checked, needed or not -----------------------------------
def test_10_an_unneeded_placeholder_fed_by_node_is_checked() -> None:
    x = ga.placeholder("x", shape=(3,))
    z = ga.placeholder("z", shape=(3,))
    with pytest.raises(ga.FeedError, match="'z'"):
        ga.evaluate(x, {x: np.ones(3), z: "garbage"})
    with pytest.raises(ga.FeedError, match="'z'"):
        ga.evaluate(x, {x: np.ones(3), z: np.ones(4)})
    # a well-typed extra feed is still allowed, as in TensorFlow
    np.testing.assert_array_equal(ga.evaluate(x, {x: np.ones(3), z: np.ones(3)}), np.ones(3))
