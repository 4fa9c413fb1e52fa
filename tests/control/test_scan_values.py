"""Values of ``scan``, ``fori_loop`` and ``while_loop`` against a Python loop over the same
body, run on NumPy: carries that are tensors, tuples, dicts and structured nodes, per-step
outputs of each kind, ``reverse``, ``unroll``, captured outer values, unknown leading
dims, zero-length loops and loops of length 1.  The outer graph holds one loop node
whatever the trip count."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.ir import topo_sort

RNG = np.random.default_rng(18)


def loop_nodes(*fetches: Any) -> list[ga.Node]:
    return [n for n in topo_sort(list(fetches)) if n.op.control == "loop"]


def rnn_numpy(w: np.ndarray, h: np.ndarray, xs: np.ndarray, reverse: bool) -> Any:
    hs = []
    for t in reversed(range(len(xs))) if reverse else range(len(xs)):
        h = np.tanh(w @ h + xs[t])
        hs.append((t, h.sum()))
    sums = np.zeros(len(xs))
    for t, s in hs:
        sums[t] = s
    return h, sums


@pytest.mark.parametrize("steps", [0, 1, 2, 7])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("unroll", [1, 3])
def test_a_recurrence_equals_the_python_loop(steps: int, reverse: bool, unroll: int) -> None:
    w = ga.placeholder("w", (3, 3))
    h0 = ga.placeholder("h0", (3,))
    xs = ga.placeholder("xs", (steps, 3))

    def step(h: ga.Node, x: ga.Node) -> tuple[ga.Node, ga.Node]:
        h = ga.tanh(w @ h + x)  # w: captured from the outer graph
        return h, ga.sum(h)

    h, sums = ga.scan(step, h0, xs, reverse=reverse, unroll=unroll)
    assert sums.shape == (steps,)
    wv, hv, xv = RNG.normal(size=(3, 3)), RNG.normal(size=3), RNG.normal(size=(steps, 3))
    got_h, got_sums = ga.Executor([h, sums]).run({w: wv, h0: hv, xs: xv})
    want_h, want_sums = rnn_numpy(wv, hv, xv, reverse)
    np.testing.assert_allclose(got_h, want_h, rtol=1e-14)
    np.testing.assert_allclose(got_sums, want_sums, rtol=1e-14)
    assert got_sums.shape == (steps,)


def test_the_graph_holds_one_loop_node_whatever_the_trip_count() -> None:
    sizes = []
    for steps in (10, 10_000):
        xs = ga.placeholder("xs", (steps, 2))
        h, _ = ga.scan(lambda h, x: (h * 0.5 + x, None), ga.constant(np.zeros(2)), xs)
        sizes.append(len(topo_sort([h])))
        assert len(loop_nodes(h)) == 1
    assert sizes[0] == sizes[1]


def test_tuple_and_dict_carries_and_outputs_keep_their_form() -> None:
    xs = ga.placeholder("xs", (4, 2))
    a0 = ga.placeholder("a0", (2,))

    def step(c: dict[str, Any], x: ga.Node) -> tuple[dict[str, Any], Any]:
        a, (n, s) = c["a"], c["rest"]
        a = a * 0.5 + x
        return {"a": a, "rest": (n + 1, s + ga.sum(a))}, {"a": a, "pair": (ga.max(a), [x[0]])}

    init = {"a": a0, "rest": (ga.constant(np.int64(0)), 0.0)}
    carry, ys = ga.scan(step, init, xs)
    assert set(carry) == {"a", "rest"} and isinstance(carry["rest"], tuple)
    assert isinstance(ys["pair"], tuple) and isinstance(ys["pair"][1], list)
    av, xv = np.array([1.0, -1.0]), RNG.normal(size=(4, 2))
    got = ga.evaluate(
        [carry["a"], *carry["rest"], ys["a"], ys["pair"][0], ys["pair"][1][0]], {a0: av, xs: xv}
    )
    a, n, s, rows, maxes = av, 0, 0.0, [], []
    for t in range(4):
        a = a * 0.5 + xv[t]
        n, s = n + 1, s + a.sum()
        rows.append(a)
        maxes.append(a.max())
    for g, want in zip(got, [a, n, s, np.array(rows), np.array(maxes), xv[:, 0]]):
        np.testing.assert_allclose(g, want, rtol=1e-14)
    assert got[1].dtype == np.int64


def test_a_structured_node_carry_comes_back_as_a_node_of_its_type() -> None:
    p = ga.placeholder("p", type={"u": ga.TensorType((2,)), "v": ga.TensorType(())})

    def step(c: ga.Node, _: Any) -> tuple[ga.Node, None]:
        assert isinstance(c, ga.Node) and c.type == p.type
        return ga.make_dict({"u": c["u"] * c["v"], "v": c["v"] + 1.0}), None

    out, ys = ga.scan(step, p, length=3)
    assert isinstance(out, ga.Node) and out.type == p.type and ys is None
    got = ga.evaluate(out, {p: {"u": np.array([1.0, 2.0]), "v": np.array(2.0)}})
    np.testing.assert_allclose(got["u"], np.array([1.0, 2.0]) * 2 * 3 * 4)
    assert got["v"] == 5.0


def test_xs_of_unknown_length_run_as_many_steps_as_they_have_rows() -> None:
    xs = ga.placeholder("xs", (None, 2))
    h, ys = ga.scan(lambda h, x: (h + x, h * 2.0), ga.constant(np.zeros(2)), xs)
    assert ys.shape == (None, 2)
    ex = ga.Executor([h, ys])
    for steps in (0, 1, 5):
        xv = RNG.normal(size=(steps, 2))
        got_h, got_ys = ex.run({xs: xv})
        np.testing.assert_allclose(got_h, xv.sum(axis=0), atol=1e-15)
        want = 2 * np.concatenate([np.zeros((1, 2)), np.cumsum(xv, axis=0)])[:steps]
        np.testing.assert_allclose(got_ys, want, atol=1e-15)
        assert got_ys.shape == (steps, 2)


def test_several_xs_are_sliced_together_and_a_length_alone_counts_steps() -> None:
    a = ga.placeholder("a", (5,))
    b = ga.placeholder("b", (5, 2))
    s, _ = ga.scan(lambda c, x: (c + x[0] * ga.sum(x[1]), None), 0.0, (a, b))
    av, bv = RNG.normal(size=5), RNG.normal(size=(5, 2))
    np.testing.assert_allclose(ga.evaluate(s, {a: av, b: bv}), np.sum(av * bv.sum(axis=1)))
    c, ys = ga.scan(lambda c, _: (c * 2.0, c), 1.0, length=4)
    got_c, got_ys = ga.evaluate([c, ys])
    assert got_c == 16.0
    np.testing.assert_array_equal(got_ys, [1.0, 2.0, 4.0, 8.0])


def test_a_node_length_is_the_trip_count_at_run_time() -> None:
    n = ga.placeholder("n", (), "int64")
    c, ys = ga.scan(lambda c, _: (c + 1.0, c * c), 0.0, length=n)
    ex = ga.Executor([c, ys])
    for k in (0, 1, 4):
        got_c, got_ys = ex.run({n: k})
        assert got_c == k
        np.testing.assert_array_equal(got_ys, np.arange(k, dtype=float) ** 2)
    got_c, got_ys = ex.run({n: -3})  # no steps, as range(-3) has none
    assert got_c == 0.0 and got_ys.shape == (0,)


def test_nested_scans() -> None:
    m = ga.placeholder("m", (3, 4))

    def row(total: ga.Node, r: ga.Node) -> tuple[ga.Node, ga.Node]:
        inner, prods = ga.scan(lambda p, v: (p * v, p), 1.0, r)
        return total + inner, prods

    total, prods = ga.scan(row, 0.0, m)
    mv = RNG.uniform(0.5, 1.5, size=(3, 4))
    got_total, got_prods = ga.evaluate([total, prods], {m: mv})
    np.testing.assert_allclose(got_total, np.prod(mv, axis=1).sum())
    cum = np.cumprod(mv, axis=1)
    np.testing.assert_allclose(got_prods, np.concatenate([np.ones((3, 1)), cum[:, :-1]], 1))


def test_a_captured_value_computed_outside_is_an_input_of_the_loop() -> None:
    x = ga.placeholder("x", (3,))
    scale = ga.exp(ga.sum(x))  # made outside, used inside
    out, _ = ga.scan(lambda c, _: (c + scale, None), ga.constant(np.zeros(3)), length=2)
    (loop,) = loop_nodes(out)
    assert any(i is scale for i in loop.inputs)
    xv = np.array([0.1, -0.2, 0.3])
    np.testing.assert_allclose(ga.evaluate(out, {x: xv}), np.full(3, 2 * np.exp(0.2)))
    out, _ = ga.scan(lambda c, _: (c * 2.0 + scale, None), x, length=2)
    np.testing.assert_allclose(ga.evaluate(out, {x: xv}), 4 * xv + 3 * np.exp(0.2))


def test_a_scalar_recurrence_runs_on_python_floats() -> None:
    """The logistic map: a 0-d float64 carry stays a Python float from start to end."""
    r = ga.placeholder("r", ())
    x, xs = ga.scan(lambda x, _: (r * x * (1.0 - x), x), 0.2, length=50)
    ex = ga.Executor([x, xs])
    (loop,) = loop_nodes(*ex.order)
    assert loop.op.program.stepper.fast is not None
    got, rows = ex.run({r: 3.7})
    want, seen = 0.2, []
    for _ in range(50):
        seen.append(want)
        want = 3.7 * want * (1.0 - want)
    assert got == want and isinstance(got, np.ndarray | np.float64)
    np.testing.assert_array_equal(rows, seen)


def test_fori_loop_with_static_and_node_bounds() -> None:
    x = ga.placeholder("x", (2,))

    def body(i: ga.Node, v: ga.Node) -> ga.Node:
        return v * 0.5 + ga.cast(i, "float64")

    lo, hi = ga.placeholder("lo", (), "int64"), ga.placeholder("hi", (), "int64")
    static = ga.fori_loop(2, 6, body, x)
    dynamic = ga.fori_loop(lo, hi, body, x)
    ex = ga.Executor([static, dynamic])
    xv = np.array([1.0, -3.0])
    for a, b in [(2, 6), (0, 1), (5, 5), (7, 3)]:
        want = xv.copy()
        for i in range(a, b):
            want = want * 0.5 + i
        got_static, got = ex.run({x: xv, lo: a, hi: b})
        np.testing.assert_allclose(got, want)
    want = xv.copy()
    for i in range(2, 6):
        want = want * 0.5 + i
    np.testing.assert_allclose(got_static, want)
    assert ga.evaluate(ga.fori_loop(3, 1, body, x), {x: xv}).tolist() == xv.tolist()


def test_while_loop_values_and_trip_counts() -> None:
    x = ga.placeholder("x", ())
    k = ga.placeholder("k", ())  # captured by the condition and by the body

    def cond(c: tuple[ga.Node, ga.Node]) -> ga.Node:
        return c[0] < k

    def body(c: tuple[ga.Node, ga.Node]) -> tuple[ga.Node, ga.Node]:
        return c[0] * 1.5 + 0.25, c[1] + 1

    out = ga.while_loop(cond, body, (x, ga.constant(np.int64(0))))
    ex = ga.Executor(list(out))
    for xv, kv in [(0.1, 10.0), (20.0, 10.0), (-0.4, 0.0)]:
        v, n = xv, 0
        while v < kv:
            v, n = v * 1.5 + 0.25, n + 1
        got_v, got_n = ex.run({x: xv, k: kv})
        assert got_v == v and got_n == n


def test_max_steps_bounds_a_while_loop_and_naming_it_when_exceeded() -> None:
    x = ga.placeholder("x", ())
    out = ga.while_loop(lambda v: v < 100.0, lambda v: v * 2.0, x, max_steps=5)
    ex = ga.Executor(out)
    assert ex.run({x: 4.0}) == 128.0  # 5 steps: 4·2⁵
    assert ex.run({x: 1e6}) == 1e6  # none
    with pytest.raises(
        ga.ExecutionError,
        match=r"while_loop made at test_scan_values\.py:\d+.*"
        r"max_steps=5",
    ) as e:
        ex.run({x: 1.0})
    assert "not cut short" in str(e.value)
