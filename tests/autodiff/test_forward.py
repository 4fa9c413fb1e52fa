"""Forward mode as graph extension: ``jvp`` conventions, and agreement with ``gradients``."""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
import pytest

import graphad as ga
from graphad.ir import Node, topo_sort

RNG = np.random.default_rng(3)


def _line() -> int:
    return sys._getframe(1).f_lineno


def test_single_node_in_single_node_out() -> None:
    x = ga.placeholder("x", shape=(3,))
    t = ga.jvp(ga.sin(x), x, np.ones(3))
    assert isinstance(t, Node) and t.shape == (3,)
    v = RNG.standard_normal(3)
    np.testing.assert_allclose(ga.evaluate(t, {x: v}), np.cos(v))


def test_lists_in_lists_out() -> None:
    x = ga.placeholder("x", shape=(3,))
    z = ga.placeholder("z", shape=(3,))
    tx, tz = np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.0, -1.0])
    ts = ga.jvp([ga.sin(x), z * x], [x, z], [tx, ga.constant(tz)])
    assert isinstance(ts, list) and len(ts) == 2
    one = ga.jvp([ga.sin(x)], x, tx)
    assert isinstance(one, list) and len(one) == 1
    summed = ga.jvp(ga.sum(x * z), [x, z], [tx, tz])
    assert isinstance(summed, Node)
    xv, zv = RNG.standard_normal(3), RNG.standard_normal(3)
    got = ga.evaluate([*ts, one[0], summed], {x: xv, z: zv})
    np.testing.assert_allclose(got[0], np.cos(xv) * tx)
    np.testing.assert_allclose(got[1], tz * xv + zv * tx)
    np.testing.assert_allclose(got[2], np.cos(xv) * tx)
    np.testing.assert_allclose(got[3], np.sum(tx * zv + xv * tz))


def test_inputs_not_listed_have_zero_tangent() -> None:
    x = ga.placeholder("x", shape=(2,))
    z = ga.placeholder("z", shape=(2,))
    y = ga.exp(x) * z + z**2
    t = ga.jvp(y, [x], [np.array([1.0, -1.0])])
    xv, zv = np.array([0.1, 0.2]), np.array([3.0, 4.0])
    np.testing.assert_allclose(ga.evaluate(t, {x: xv, z: zv}), np.exp(xv) * zv * [1.0, -1.0])


def test_y_that_does_not_depend_on_x_has_zero_tangent() -> None:
    x = ga.placeholder("x", shape=(2,))
    z = ga.placeholder("z", shape=(4,), dtype="float32")
    t = ga.jvp(z * 2.0, x, np.ones(2))
    assert t.shape == (4,) and t.dtype == np.float32
    value = ga.evaluate(t, {x: np.ones(2), z: np.ones(4, np.float32)})
    np.testing.assert_array_equal(value, np.zeros(4))
    assert value.dtype == np.float32


def test_tangents_must_match_the_inputs() -> None:
    x = ga.placeholder("x", shape=(3,))
    z = ga.placeholder("z", shape=(3,))
    with pytest.raises(ga.DifferentiationError, match=r"\(4,\).*\(3,\)"):
        ga.jvp(ga.sin(x), x, np.ones(4))
    with pytest.raises(ga.DifferentiationError, match="2 inputs but 1 tangents"):
        ga.jvp(ga.sin(x), [x, z], [np.ones(3)])


def test_origin_tags() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.sum(ga.exp(x) * x)
    line = _line() + 1
    t = ga.jvp(y, x, np.ones(3))
    before = set(topo_sort([y]))
    new = [n for n in topo_sort([t]) if n not in before]
    assert new
    for node in new:
        assert (node.origin.kind, node.origin.order) == ("forward", 1)
        assert node.origin.location == f"test_forward.py:{line}"
    gx = ga.gradients(y, x)
    tg = ga.jvp(gx, x, np.ones(3))  # forward over reverse: second order
    assert (tg.origin.kind, tg.origin.order) == ("forward", 2)


def test_broadcasting_and_float32() -> None:
    a = ga.placeholder("a", shape=(3, 1), dtype="float32")
    b = ga.placeholder("b", shape=(1, 4), dtype="float32")
    ta = np.arange(3, dtype=np.float32).reshape(3, 1)
    t = ga.jvp(a * b, a, ta)
    assert t.shape == (3, 4) and t.dtype == np.float32
    bv = np.arange(4, dtype=np.float32).reshape(1, 4)
    got = ga.evaluate(t, {a: np.ones((3, 1), np.float32), b: bv})
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ta * bv)


def test_unknown_dims() -> None:
    x = ga.placeholder("x", shape=(None, 2))
    t_in = ga.placeholder("t", shape=(None, 2))
    t = ga.jvp(ga.sum(ga.tanh(x), axis=1), x, t_in)
    ex = ga.Executor(t)
    for n in (1, 4):
        xv, tv = RNG.standard_normal((n, 2)), RNG.standard_normal((n, 2))
        np.testing.assert_allclose(ex.run({x: xv, t_in: tv}), ((1 - np.tanh(xv) ** 2) * tv).sum(1))


# -- agreement with reverse mode on random graphs ------------------------------
UNARY: list[Callable[[Node], Node]] = [
    ga.sin,
    ga.cos,
    ga.tanh,
    ga.sigmoid,
    ga.square,
    ga.arctan,
    lambda v: ga.exp(0.3 * v),
    lambda v: ga.log1p(v * v),
    lambda v: ga.sqrt(1.0 + v * v),
    lambda v: ga.sum(v, axis=-1, keepdims=True),
    lambda v: ga.softmax(v, axis=-1),
]
BINARY: list[Callable[[Node, Node], Node]] = [
    ga.add,
    ga.subtract,
    ga.multiply,
    ga.maximum,
    lambda a, b: a / (1.5 + ga.sin(b)),
    lambda a, b: ga.where(a > b, a * b, a - b),
]


def _random_graph(rng: np.random.Generator, inputs: list[Node], size: int) -> Node:
    pool = list(inputs)
    for _ in range(size):
        if rng.random() < 0.45:
            node = UNARY[rng.integers(len(UNARY))](pool[rng.integers(len(pool))])
        else:
            a, b = (pool[i] for i in rng.integers(len(pool), size=2))
            node = BINARY[rng.integers(len(BINARY))](a, b)
        pool.append(node)
    return pool[-1] + 0.1 * pool[len(pool) // 2]  # more than one path to the output


@pytest.mark.parametrize("seed", range(12))
def test_jvp_agrees_with_gradients_on_random_graphs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shapes = [(2, 3), (1, 3), (3,)]
    xs = [ga.placeholder(f"x{i}", shape=s) for i, s in enumerate(shapes)]
    y = _random_graph(rng, xs, size=12)
    values = [rng.standard_normal(s) for s in shapes]
    tangents = [rng.standard_normal(s) for s in shapes]
    u = rng.standard_normal(y.shape)
    feed = dict(zip(xs, values))

    t = ga.jvp(y, xs, tangents)
    grads = ga.gradients(y, xs, grad_y=u)
    got_t, *got_g = ga.evaluate([t, *grads], feed)
    assert np.any(got_t != 0)  # the graph does depend on the inputs
    # ⟨u, J·v⟩ = ⟨Jᵀ·u, v⟩
    forward = np.sum(u * got_t)
    reverse = sum(np.sum(g * v) for g, v in zip(got_g, tangents))
    np.testing.assert_allclose(forward, reverse, rtol=1e-9, atol=1e-9)

    # and both match a central difference of the graph itself
    ex = ga.Executor(y)
    eps = 1e-6
    plus = ex.run({x: v + eps * tv for x, v, tv in zip(xs, values, tangents)})
    minus = ex.run({x: v - eps * tv for x, v, tv in zip(xs, values, tangents)})
    np.testing.assert_allclose(got_t, (plus - minus) / (2 * eps), rtol=1e-5, atol=1e-6)


# -- strong zeros: forward mode keeps the exact zeros reverse mode has -------------
def _reciprocal(z: Node) -> Node:
    return 1.0 / z


def _half_power(z: Node) -> Node:
    return z**0.5


def _negative_power(z: Node) -> Node:
    return z**-1.5


# every op whose partial is infinite somewhere, at such a point
SINGULAR = {
    "log": (ga.log, 0.0),
    "log1p": (ga.log1p, -1.0),
    "sqrt": (ga.sqrt, 0.0),
    "arcsin": (ga.arcsin, 1.0),
    "arccos": (ga.arccos, -1.0),
    "divide": (_reciprocal, 0.0),
    "power[0.5]": (_half_power, 0.0),
    "power[-1.5]": (_negative_power, 0.0),
    "xdivy": (lambda z: ga.xdivy(2.0, z), 0.0),
    "xlogy": (lambda z: ga.xlogy(2.0, z), 0.0),
    "multiply_no_nan": (lambda z: ga.multiply_no_nan(z, np.inf), 0.0),
}


@pytest.mark.parametrize("name", list(SINGULAR))
def test_a_zero_tangent_through_an_infinite_partial_stays_zero(name: str) -> None:
    """jvp(sum(f(z) + x), [x, z], [1, 0]) at a point where f' is infinite is exactly the
    x part, in forward mode, in forward-over-reverse and reverse-over-forward, as the
    gradient is in reverse mode (0·∞ is 0 for a zero tangent, not NaN)."""
    f, point = SINGULAR[name]
    x = ga.placeholder("x", shape=(3,))
    z = ga.placeholder("z", shape=(3,))
    y = ga.sum(f(z) + x)
    tangents = [np.ones(3), np.zeros(3)]
    t = ga.jvp(y, [x, z], tangents)
    hx, hz = ga.hvp(y, [x, z], tangents)
    gx = ga.gradients(ga.jvp(f(z) + x, [x, z], tangents), x, grad_y=np.ones(3))
    feeds = {x: np.array([0.5, -1.0, 2.0]), z: np.full(3, point)}
    got_t, got_hx, got_hz, got_gx = ga.evaluate([t, hx, hz, gx], feeds)
    assert got_t == 3.0
    np.testing.assert_array_equal(got_hx, 0.0)
    np.testing.assert_array_equal(got_hz, 0.0)
    np.testing.assert_array_equal(got_gx, 0.0)


def test_the_issue_case_sqrt_at_zero() -> None:
    x = ga.placeholder("x", shape=())
    z = ga.placeholder("z", shape=())
    t = ga.jvp(ga.sum(ga.sqrt(z) + x), [x, z], [1.0, 0.0])
    assert ga.evaluate(t, {x: 1.0, z: 0.0}) == 1.0
