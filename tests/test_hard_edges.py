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
# the Executor's three ways to run: generated code of the optimised graph (the default), of
# the graph as built, and the interpreter that checks every node (also used past CODEGEN_LIMIT)
MODES = [{}, {"optimize": False}, {"debug": True}]
MODE_IDS = ["optimized", "as built", "debug"]


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_6_fetched_arrays_never_share_memory(mode) -> None:
    x = ga.placeholder("x", shape=(2, 3))
    t = x * 2
    fetches = [t, ga.stop_gradient(t), t, t[0], ga.reshape(t, (3, 2)), x, t.T]
    values = ga.Executor(fetches, **mode).run({x: np.ones((2, 3))})
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


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_7_executors_pickle_and_copy_and_keep_their_fetch_structure(mode) -> None:
    _, _, y, g = _graph()
    ex = ga.Executor({"out": Pair(y, g), "again": [y]}, **mode)
    v = np.array([0.1, 0.2, 0.3])
    want = ex.run({"x": v})
    for clone in (pickle.loads(pickle.dumps(ex)), copy.copy(ex), copy.deepcopy(ex)):
        assert (clone.optimized, clone.debug) == (ex.optimized, ex.debug)
        assert (clone._program is None) == (ex._program is None)
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
def _hammer(ex: ga.Executor, feed, check, threads: int, runs: int) -> list[BaseException]:
    """Run ``ex`` from ``threads`` threads at once, ``runs`` times each; what they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(seed: int) -> None:
        rng = np.random.default_rng(seed)
        start.wait()
        try:
            for _ in range(runs):
                values = feed(rng)
                check(values, ex.run(values))
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so that a race shows within seconds
    try:
        workers = [threading.Thread(target=work, args=(s,)) for s in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    return errors


def test_8_the_feed_signature_cache_is_safe_under_many_threads() -> None:
    # more distinct shapes than the cache holds, drawn at random: hits and evictions race
    # (before the lock: KeyError from move_to_end within a second on this machine)
    x = ga.placeholder("x", shape=(None,))
    ex = ga.Executor(x * 2)
    arrays = [np.arange(float(n)) for n in range(1, 90)]

    def check(feed, got) -> None:
        np.testing.assert_array_equal(got, 2 * feed["x"])

    assert _hammer(ex, lambda rng: {"x": arrays[rng.integers(0, 89)]}, check, 16, 1500) == []


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_8_an_executor_is_safe_to_run_from_many_threads(mode) -> None:
    x = ga.placeholder("x", shape=(None, 2))
    w = ga.placeholder("w", shape=(2,))
    y = ga.sum(ga.tanh(x * w), axis=1)
    ex = ga.Executor([y, ga.gradients(ga.sum(y), w)], **mode)

    def feed(rng) -> dict:
        return {
            "x": rng.standard_normal((int(rng.integers(1, 100)), 2)),
            "w": rng.standard_normal(2),
        }

    def check(feed, got) -> None:
        t = np.tanh(feed["x"] * feed["w"])
        np.testing.assert_allclose(got[0], t.sum(axis=1))
        np.testing.assert_allclose(got[1], ((1 - t**2) * feed["x"]).sum(axis=0))

    assert _hammer(ex, feed, check, 8, 200) == []


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


@pytest.mark.parametrize("dtype", [*BAD_DTYPES, "nope"])
def test_9_ops_that_take_a_dtype_use_the_same_check(dtype) -> None:
    x = ga.placeholder("x", shape=(3,))
    for name, make in [
        ("eye", lambda: ga.eye(3, dtype=dtype)),
        ("eye", lambda: ga.identity(3, dtype=dtype)),  # identity is eye's
        ("linspace", lambda: ga.linspace(x, x + 1.0, 4, dtype=dtype)),
        ("cumsum", lambda: ga.cumsum(x, dtype=dtype)),
        ("trace", lambda: ga.trace(ga.reshape(x, (3, 1)), dtype=dtype)),
    ]:
        with pytest.raises(ga.DTypeError) as info:
            make()
        assert name in str(info.value) and HERE in str(info.value)


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


# -- 2: indexing has a shape rule per item; every mismatch is named when the node is made
X = np.arange(4 * 5 * 6 * 7, dtype=float).reshape(4, 5, 6, 7)
INDICES = [
    (0,),
    (slice(1, 3),),
    (None, 0),
    (Ellipsis, 1),
    (0, Ellipsis, slice(None, None, -2)),
    ([0, 1],),
    (0, [1, 2]),
    ([0, 1], 0),
    ([[0], [1]], slice(None), [0, 2, 3]),
    (slice(None), [0, 1], [1, 2]),
    (slice(None), [0, 1], slice(None), [1, 2]),
    (None, [0], None, [1]),
    (Ellipsis, [0, 1]),
    (1, slice(None), [0, 1]),
    (np.array([True, False, True, True]),),
    (slice(None), np.arange(30).reshape(5, 6) % 3 == 0),
    (np.ones((4, 5), bool), 0),
    (0, slice(None), np.array([True, False] * 3), [1]),
    (slice(-10, 10),),
    (slice(3, 1),),
    ([],),
]


@pytest.mark.parametrize("index", INDICES, ids=str)
@pytest.mark.parametrize("shape", [(4, 5, 6, 7), (None, 5, None, 7), (4, None, 6, None)])
def test_2_index_shapes_follow_numpy(index, shape) -> None:
    x = ga.placeholder("x", shape=shape)
    y = x[index]
    want = X[index]
    assert len(y.shape) == want.ndim
    assert all(d is None or d == w for d, w in zip(y.shape, want.shape))
    np.testing.assert_array_equal(ga.evaluate(y, {x: X}), want)


@pytest.mark.parametrize(
    ("index", "words"),
    [
        (np.array([True, False, False]), ["boolean index", "axis 0", "size of axis is 2"]),
        (np.array([True]), ["boolean index", "axis 0"]),
        (np.array([[True, False]]), ["boolean index", "axis 0"]),
        ((slice(None), np.array([True, False])), ["boolean index", "axis 1", "is 3"]),
        ((0, 0, 0), ["too many indices"]),
        ((2,), ["index 2 is out of bounds for axis 0 with size 2"]),
        ((0, -4), ["index -4 is out of bounds for axis 1 with size 3"]),
        (([0, 1], [0, 1, 2]), ["could not be broadcast", "(2,) (3,)"]),
        ((Ellipsis, 0, Ellipsis), ["single ellipsis"]),
        ([0, [1, 2]], ["not a valid index"]),
    ],
)
def test_2_bad_indices_are_named_when_the_node_is_made(index, words) -> None:
    a = ga.placeholder("a", shape=(2, 3))
    line = _line() + 2
    with pytest.raises(ga.IndexingError) as info:
        a[index]
    message = str(info.value)
    for word in [*words, "getitem", f"{HERE}:{line}"]:
        assert word in message, message
    with pytest.raises((IndexError, ValueError)):
        np.zeros((2, 3))[index]  # NumPy refuses each of them too


def test_2_a_mask_against_an_unknown_dim_is_checked_when_values_arrive() -> None:
    a = ga.placeholder("a", shape=(None, 3))
    y = a[np.array([True, False])]
    np.testing.assert_array_equal(ga.evaluate(y, {a: np.ones((2, 3))}), np.ones((1, 3)))
    with pytest.raises(ga.GraphError, match="boolean index"):
        ga.evaluate(y, {a: np.ones((3, 3))})


# -- 3: one axis rule: a float axis is an AxisError everywhere ------------------------
def _a() -> ga.Node:
    return ga.placeholder("a", shape=(2, 3))


AXIS_TAKERS = {
    "concatenate": lambda ax: ga.concatenate([_a(), _a()], axis=ax),
    "stack": lambda ax: ga.stack([_a(), _a()], axis=ax),
    "softmax": lambda ax: ga.softmax(_a(), axis=ax),
    "log_softmax": lambda ax: ga.log_softmax(_a(), axis=ax),
    "sum": lambda ax: ga.sum(_a(), axis=ax),
    "swapaxes": lambda ax: ga.swapaxes(_a(), ax, 1),
    "trace": lambda ax: ga.trace(_a(), 0, ax, 0),  # np.trace(a, offset, axis1, axis2)
    "expand_dims": lambda ax: ga.expand_dims(_a(), ax),
    "split": lambda ax: ga.split(_a(), 2, axis=ax),
    "argmax": lambda ax: ga.argmax(_a(), axis=ax),
    # the NumPy-coverage families go through the same helper
    "cumsum": lambda ax: ga.cumsum(_a(), axis=ax),
    "cumprod": lambda ax: ga.cumprod(_a(), axis=ax),
    "diff": lambda ax: ga.diff(_a(), axis=ax),
    "gradient": lambda ax: ga.gradient(_a(), axis=ax),
    "sort": lambda ax: ga.sort(_a(), axis=ax),
    "argsort": lambda ax: ga.argsort(_a(), axis=ax),
    "partition": lambda ax: ga.partition(_a(), 1, axis=ax),
    "take_along_axis": lambda ax: ga.take_along_axis(_a(), np.zeros((2, 3), int), ax),
    "flip": lambda ax: ga.flip(_a(), axis=ax),
    "roll": lambda ax: ga.roll(_a(), 1, axis=ax),
    "moveaxis": lambda ax: ga.moveaxis(_a(), ax, 0),
    "rollaxis": lambda ax: ga.rollaxis(_a(), ax),
    "repeat": lambda ax: ga.repeat(_a(), 2, axis=ax),
    "append": lambda ax: ga.append(_a(), _a(), axis=ax),
    "array_split": lambda ax: ga.array_split(_a(), 2, axis=ax),
    "diagonal": lambda ax: ga.diagonal(_a(), 0, ax, 0),
    "norm": lambda ax: ga.linalg.norm(_a(), axis=ax),
    "linspace": lambda ax: ga.linspace(_a(), _a(), 3, axis=ax),
}


@pytest.mark.parametrize("name", list(AXIS_TAKERS))
@pytest.mark.parametrize("axis", [1.7, 1.0, "1"])
def test_3_a_non_integer_axis_is_an_axis_error(name: str, axis) -> None:
    with pytest.raises(ga.AxisError) as info:
        AXIS_TAKERS[name](axis)
    assert name in str(info.value) and HERE in str(info.value)


OFFSET_TAKERS = {  # counts that are not axes: int() would read 1.7 as 1 just the same
    "roll": lambda k: ga.roll(_a(), k, axis=1),
    "trace": lambda k: ga.trace(_a(), k),
    "diagonal": lambda k: ga.diagonal(_a(), k),
    "eye": lambda k: ga.eye(3, k=k),
    "tril": lambda k: ga.tril(_a(), k),
}


@pytest.mark.parametrize("name", list(OFFSET_TAKERS))
@pytest.mark.parametrize("k", [1.7, 1.0])
def test_3_a_non_integer_offset_or_shift_is_refused(name: str, k) -> None:
    with pytest.raises(ga.GraphError) as info:
        OFFSET_TAKERS[name](k)
    assert name in str(info.value) and HERE in str(info.value)


def test_3_a_fractional_ddof_is_numpys_not_truncated() -> None:
    a = _a()
    value = np.arange(6.0).reshape(2, 3) ** 2
    for fn in (ga.var, ga.std):
        got = ga.evaluate(fn(a, axis=1, ddof=1.5), {a: value})
        np.testing.assert_allclose(got, getattr(np, fn.__name__)(value, axis=1, ddof=1.5))
    with pytest.raises(ga.DTypeError, match="ddof"):
        ga.var(a, ddof="1")


def test_3_concatenate_axis_none_flattens_as_numpy() -> None:
    a, b = ga.placeholder("a", shape=(2, 3)), ga.placeholder("b", shape=(4,))
    va, vb = np.arange(6.0).reshape(2, 3), np.arange(4.0)
    y = ga.concatenate([a, b], axis=None)
    assert y.shape == (10,)
    np.testing.assert_array_equal(
        ga.evaluate(y, {a: va, b: vb}), np.concatenate([va, vb], axis=None)
    )
    g = ga.gradients(ga.sum(y * y), a)
    np.testing.assert_allclose(ga.evaluate(g, {a: va, b: vb}), 2 * va)


# -- 4: add_n computes in the dtype it declares ---------------------------------------
@pytest.mark.parametrize(
    "dtypes",
    [("float32", "float32", "float64"), ("int64", "int64", "float64"), ("int8", "int64")],
)
@pytest.mark.parametrize("shape", [(), (2,)])
def test_4_add_n_of_mixed_dtypes_returns_the_declared_dtype(dtypes, shape) -> None:
    ps = [ga.placeholder(f"p{i}", shape=shape, dtype=d) for i, d in enumerate(dtypes)]
    y = ga.add_n(*ps)
    value = ga.evaluate(y, {p: np.ones(shape, dtype=p.dtype) for p in ps})
    assert y.dtype == np.result_type(*dtypes) == value.dtype
    np.testing.assert_array_equal(value, np.full(shape, len(dtypes)))


# -- 11: arguments are checked before deciding that nothing depends --------------------
def test_11_a_bad_grad_y_is_refused_even_when_y_does_not_depend_on_x() -> None:
    x, z = ga.placeholder("x", shape=(3,)), ga.placeholder("z", shape=(3,))
    for bad in ("oops", np.ones(4), ga.placeholder("w", shape=(5,))):
        with pytest.raises(ga.DifferentiationError, match="grad_y"):
            ga.gradients(ga.sum(x), z, grad_y=bad)
        with pytest.raises(ga.DifferentiationError, match="grad_y"):
            ga.gradients(x * 2, z, grad_y=bad)


# -- 12: every bad argument is a GraphError, never a bare exception --------------------
def _bad_calls() -> dict[str, tuple[type, object]]:
    a, m, x = ga.placeholder("a", (2, 3)), ga.placeholder("m", (3, 3)), ga.placeholder("x", (3,))
    i8, p = ga.placeholder("i8", (2,), dtype="int8"), ga.placeholder("p", (), dtype=bool)
    ex = ga.Executor(x)
    return {
        "run(array)": (ga.FeedError, lambda: ex.run(np.ones(3))),
        "run(list)": (ga.FeedError, lambda: ex.run([x])),
        "swapaxes(a, 0.0, 1)": (ga.AxisError, lambda: ga.swapaxes(a, 0.0, 1)),
        "trace(m, 0, 0.0, 1)": (ga.AxisError, lambda: ga.trace(m, 0, 0.0, 1)),
        "trace(m, 0.0)": (ga.AxisError, lambda: ga.trace(m, 0.0)),
        "split(a, 1.5)": (ga.AxisError, lambda: ga.split(a, 1.5)),
        "reshape(a, None)": (ga.ShapeError, lambda: ga.reshape(a, None)),
        "reshape(a, 'ab')": (ga.ShapeError, lambda: ga.reshape(a, "ab")),
        "transpose(a, 1)": (ga.AxisError, lambda: ga.transpose(a, 1)),
        "sum_to(a, None)": (ga.ShapeError, lambda: ga.sum_to(a, None)),
        "sum_to(a, 4)": (ga.ShapeError, lambda: ga.sum_to(a, 4)),
        "einsum(3, a)": (ga.GraphError, lambda: ga.einsum(3, a)),
        "a[[0, [1, 2]]]": (ga.IndexingError, lambda: a[[0, [1, 2]]]),
        "int8 + 1000": (ga.DTypeError, lambda: i8 + 1000),
        "constant(1000, int8)": (ga.DTypeError, lambda: ga.constant([1000], dtype="int8")),
        "TensorType nope": (ga.DTypeError, lambda: ga.TensorType((2,), "nope")),
        "jvp(5.0, x, t)": (ga.DifferentiationError, lambda: ga.jvp(5.0, x, np.ones(3))),
        "jvp(x, [x], 5)": (ga.DifferentiationError, lambda: ga.jvp(x, [x], 5.0)),
        "cond(p, 3, f)": (ga.GraphError, lambda: ga.cond(p, 3, lambda v: v, [x])),
        "concatenate(a)": (ga.ShapeError, lambda: ga.concatenate(a)),
        "add_n()": (ga.ShapeError, lambda: ga.add_n()),
    }


@pytest.mark.parametrize("case", list(_bad_calls()))
def test_12_bad_arguments_raise_typed_errors(case: str) -> None:
    error, call = _bad_calls()[case]
    with pytest.raises(error) as info:
        call()
    if not case.startswith("TensorType"):  # a type is a value, made anywhere: no line to name
        assert HERE in str(info.value), str(info.value)


def test_12_namedtuple_fetches_come_back_as_the_namedtuple() -> None:
    x = ga.placeholder("x", shape=(3,))
    got = ga.evaluate(Pair(ga.sum(x), ga.gradients(ga.sum(x * x), x)), {x: np.ones(3)})
    assert isinstance(got, Pair) and got.value == 3.0
    np.testing.assert_array_equal(got.grad, 2 * np.ones(3))


# -- 13: messages that name the op and the user's line ---------------------------------
def test_13_add_n_accepts_a_list_as_tensorflow_does() -> None:
    x = ga.placeholder("x", shape=(3,))
    np.testing.assert_array_equal(ga.evaluate(ga.add_n([x, x, x]), {x: np.ones(3)}), 3.0)


def test_13_feeding_a_node_as_a_value_says_so() -> None:
    x, z = ga.placeholder("x", shape=(3,)), ga.placeholder("z", shape=(3,))
    line = _line() + 2
    with pytest.raises(ga.FeedError) as info:
        ga.evaluate(x, {x: z})
    message = str(info.value)
    assert "'x'" in message and "node z" in message and f"{HERE}:{line}" in message


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("exp", lambda: ga.exp(None)),
        ("add", lambda: ga.add(ga.placeholder("x", (2,)), "s")),
        ("derivative", lambda: ga.derivative(ga.sin(_s()), _s(), order=-1)),
        ("jacobian", lambda: ga.jacobian(ga.sin(_s()), _s(), mode="x")),
        ("no_rules", lambda: ga.gradients(ga.sum(NoRules()(_s())), _s())),
        ("no_rules", lambda: ga.jvp(ga.sum(NoRules()(_s())), _s(), 1.0)),
    ],
)
def test_13_errors_name_the_op_and_the_line(name: str, call) -> None:
    with pytest.raises(ga.GraphError) as info:
        call()
    message = str(info.value)
    assert name in message and HERE in message, message


_S = ga.placeholder("s", shape=())


def _s() -> ga.Node:
    return _S


class NoRules(ga.Op):
    """A custom op with a kernel and a shape rule but no derivative rules."""

    def infer(self, x: ga.TensorType) -> ga.TensorType:
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        return x + 0


# -- found by probing again -------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_probe_a_cond_pickles_and_deep_copies_with_its_branches(mode) -> None:
    # optimised, the cond is lowered into the generated code; in debug, Branch.run interprets
    x = ga.placeholder("x", shape=(3,))
    p = ga.placeholder("p", shape=(), dtype=bool)
    y = ga.cond(p, lambda v: ga.sin(v), lambda v: ga.cos(v), [x])
    g = ga.gradients(ga.sum(y), x)
    v = np.array([0.1, 0.2, 0.3])
    for clone in (
        pickle.loads(pickle.dumps(ga.Executor([y, g], **mode))),
        copy.deepcopy(ga.Executor([y, g], **mode)),
        copy.copy(ga.Executor([y, g], **mode)),
    ):
        for flag, f, df in ((True, np.sin, np.cos), (False, np.cos, lambda u: -np.sin(u))):
            yv, gv = clone.run({"x": v, "p": flag})
            np.testing.assert_allclose(yv, f(v))
            np.testing.assert_allclose(gv, df(v))


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda a: a[::0], ga.IndexingError),
        (lambda a: ga.broadcast_to(a, None), ga.ShapeError),
        (lambda a: ga.evaluate(a, {(1,): 1}), ga.FeedError),
    ],
    ids=["slice step 0", "broadcast_to None", "tuple feed key"],
)
def test_probe_more_bad_arguments_are_typed_and_located(call, error) -> None:
    a = ga.placeholder("a", shape=(2, 3))
    with pytest.raises(error) as info:
        call(a)
    assert HERE in str(info.value)
