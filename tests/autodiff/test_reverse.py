"""Reverse mode as graph extension: structure of the gradient graph and its conventions."""

from __future__ import annotations

import sys
from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.autodiff import sweep
from graphad.ir import Constant, Node, Op, topo_sort
from graphad.ops.elementwise import AddN

RNG = np.random.default_rng(2)


def _line() -> int:
    return sys._getframe(1).f_lineno


def _new_nodes(outputs: list[Node], old: list[Node]) -> list[Node]:
    """The nodes the outputs depend on that were not already in the graph of ``old``."""
    before = set(topo_sort(old))
    return [n for n in topo_sort(outputs) if n not in before]


# -- sharing -------------------------------------------------------------------
def test_diamond_a_plus_a() -> None:
    a = ga.placeholder("a", shape=(3,))
    ga_ = ga.gradients(ga.sum(a + a), a)
    np.testing.assert_array_equal(ga.evaluate(ga_, {a: np.ones(3)}), [2.0, 2.0, 2.0])
    v = np.array([1.0, -2.0, 3.0])
    np.testing.assert_allclose(ga.evaluate(ga.gradients(ga.sum(a * a), a), {a: v}), 2 * v)


def test_a_node_used_by_three_consumers_sums_three_partials_once() -> None:
    a = ga.placeholder("a", shape=(3,))
    b = ga.sin(a)
    c1, c2, c3 = b * 2.0, ga.exp(b), b + 1.0
    y = ga.sum(c1 + c2 * c3)
    result = sweep(y, [a])
    consumers = [consumer for consumer, _ in result.partials[b]]
    assert sorted(n.id for n in consumers) == sorted(n.id for n in (c1, c2, c3))
    adjoint = result.adjoint[b]
    assert isinstance(adjoint.op, AddN)
    assert set(adjoint.inputs) == {p for _, p in result.partials[b]}
    assert len(adjoint.inputs) == 3

    v = RNG.standard_normal(3)
    sb = np.sin(v)
    expected = (2.0 + np.exp(sb) * (sb + 1.0) + np.exp(sb)) * np.cos(v)
    np.testing.assert_allclose(ga.evaluate(ga.gradients(y, a), {a: v}), expected)


# -- long chains ---------------------------------------------------------------
N = 10_000


def test_chain_of_ten_thousand_nodes_runs_forward_in_constant_memory() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = x
    for i in range(N):
        y = ga.sin(y) if i % 2 else y * 1.0001
    ex = ga.Executor(y)
    assert len(ex.steps) == N
    assert ex.peak_live <= 3
    v = np.array([0.1, 0.5, 1.0])
    expected = v
    for i in range(N):
        expected = np.sin(expected) if i % 2 else expected * 1.0001
    np.testing.assert_allclose(ex.run({x: v}), expected, rtol=1e-12)


def test_gradient_of_a_ten_thousand_node_chain() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = x
    for _ in range(N):
        y = ga.tanh(y)
    gx = ga.gradients(ga.sum(y), x)
    ex = ga.Executor([y, gx])
    # the backward sweep needs every tanh output; nothing more may stay alive
    assert ex.peak_live <= N + 5
    v = np.array([-0.5, 0.2, 0.9])
    value, grad = v, np.ones(3)
    for _ in range(N):
        value = np.tanh(value)
        grad = grad * (1 - value**2)
    got_y, got_g = ex.run({x: v})
    np.testing.assert_allclose(got_y, value, rtol=1e-10)
    np.testing.assert_allclose(got_g, grad, rtol=1e-8)


def test_gradient_of_an_affine_chain_needs_no_forward_values() -> None:
    x = ga.placeholder("x", shape=(2,))
    y = x
    for _ in range(N):
        y = y * 0.9999 + 0.001
    gx = ga.gradients(ga.sum(y), x)
    assert x not in set(topo_sort([gx]))
    ex = ga.Executor(gx)
    assert ex.peak_live <= 3
    np.testing.assert_allclose(ex.run({}), np.full(2, 0.9999**N), rtol=1e-9)


# -- unconnected inputs --------------------------------------------------------
def test_unconnected_zero_gives_zeros_of_the_shape_and_dtype() -> None:
    x = ga.placeholder("x", shape=(2, 3), dtype="float32")
    z = ga.placeholder("z", shape=(4,))
    gx = ga.gradients(ga.sum(z * z), x)
    assert gx.shape == (2, 3) and gx.dtype == np.float32
    value = ga.evaluate(gx, {x: np.ones((2, 3), np.float32), z: np.ones(4)})
    assert value.dtype == np.float32
    np.testing.assert_array_equal(value, np.zeros((2, 3)))
    assert gx.origin.kind == "reverse"


def test_unconnected_none_gives_none() -> None:
    x = ga.placeholder("x", shape=(2,))
    z = ga.placeholder("z", shape=(2,))
    y = ga.sum(z * 3.0)
    assert ga.gradients(y, x, unconnected="none") is None
    gx, gz = ga.gradients(y, [x, z], unconnected="none")
    assert gx is None
    np.testing.assert_array_equal(ga.evaluate(gz, {z: np.ones(2)}), [3.0, 3.0])


def test_unconnected_raise_says_y_does_not_depend_on_x() -> None:
    x = ga.placeholder("the_x", shape=(2,))
    z = ga.placeholder("z", shape=(2,))
    with pytest.raises(ga.DifferentiationError, match="does not depend on") as info:
        ga.gradients(ga.sum(z), x, unconnected="raise")
    assert "the_x" in str(info.value)
    assert isinstance(info.value, ga.GraphError)


@pytest.mark.parametrize(
    ("build", "culprit"),
    [
        (lambda x, z: ga.stop_gradient(x) * z, "stop_gradient"),
        (lambda x, z: ga.where(x > 0, z, 0.0), "greater"),
        (lambda x, z: ga.cast(x <= 1.0, "float64") * z, "less_equal"),
    ],
    ids=["stop_gradient", "comparison_into_where", "comparison_into_cast"],
)
def test_unconnected_raise_names_the_op_that_cut_the_path(build: Any, culprit: str) -> None:
    x = ga.placeholder("x", shape=(2,))
    z = ga.placeholder("z", shape=(2,))
    with pytest.raises(ga.DifferentiationError, match="does not depend on") as info:
        ga.gradients(ga.sum(build(x, z)), x, unconnected="raise")
    assert culprit in str(info.value)


def test_unconnected_mode_is_checked() -> None:
    x = ga.placeholder("x", shape=(2,))
    with pytest.raises(ga.DifferentiationError, match="unconnected"):
        ga.gradients(ga.sum(x), x, unconnected="ignore")


# -- pruning and the content of the gradient graph -----------------------------
def test_no_gradient_node_for_a_branch_that_reaches_no_x() -> None:
    x = ga.placeholder("x", shape=(3,))
    w = ga.placeholder("w", shape=(3,))
    branch = ga.sum(ga.exp(w) * 3.0)
    y = ga.sum(ga.sin(x)) + branch
    gx = ga.gradients(y, x)

    branch_nodes = set(topo_sort([branch]))
    reachable = set(topo_sort([gx]))
    assert not branch_nodes & reachable
    assert y not in reachable  # not even for the seed's shape
    result = sweep(y, [x])
    assert not branch_nodes & set(result.adjoint)
    assert not branch_nodes & set(result.partials)
    v = RNG.standard_normal(3)
    np.testing.assert_allclose(ga.evaluate(gx, {x: v}), np.cos(v))  # w need not be fed


def _arrays_in(value: Any) -> bool:
    if isinstance(value, np.ndarray):
        return True
    if isinstance(value, (tuple, list)):
        return any(_arrays_in(v) for v in value)
    if isinstance(value, dict):
        return any(_arrays_in(v) for v in value.values())
    return False


def test_gradient_graph_holds_arrays_only_in_constants() -> None:
    x = ga.placeholder("x", shape=(3, 4))
    w = ga.placeholder("w", shape=(4, 2))
    h = ga.tanh(x @ w) + np.array([0.5, -0.5])
    picked = h[np.array([0, 2, 2])] * ga.relu(x[:, :2])
    y = ga.sum(ga.softmax(picked, axis=1) * ga.logsumexp(h, axis=0)) + ga.mean(ga.max(x, axis=1))
    gx, gw = ga.gradients(y, [x, w])
    (hx,) = ga.gradients(gx, [x])  # second order too
    nodes = topo_sort([gx, gw, hx])
    assert any(isinstance(n.op, Constant) for n in nodes)
    for node in nodes:
        assert isinstance(node, Node) and isinstance(node.op, Op)
        assert type(node.op).__module__.startswith("graphad.")
        if isinstance(node.op, Constant):
            continue
        assert is_dataclass(node.op)
        for f in fields(node.op):
            assert not _arrays_in(getattr(node.op, f.name)), (node, f.name)


# -- origin tags ---------------------------------------------------------------
def test_origin_tags_order_and_location() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.sum(ga.sin(x) * x)
    line = _line() + 1
    gx = ga.gradients(y, x)
    first = _new_nodes([gx], [y])
    assert first and any(n is gx for n in first)
    for node in first:
        assert (node.origin.kind, node.origin.order) == ("reverse", 1), node
        assert node.origin.location == f"test_reverse.py:{line}"
    hx = ga.gradients(gx, x)
    second = _new_nodes([hx], [gx])
    assert second
    assert all((n.origin.kind, n.origin.order) == ("reverse", 2) for n in second)
    for node in topo_sort([y]):
        assert node.origin.kind == "user" and node.origin.order == 0


# -- calling conventions -------------------------------------------------------
def test_single_node_in_single_out_and_list_in_list_out() -> None:
    x = ga.placeholder("x", shape=(2,))
    z = ga.placeholder("z", shape=(2,))
    y = ga.sum(x * z)
    single = ga.gradients(y, x)
    assert isinstance(single, Node)
    one = ga.gradients(y, [x])
    assert isinstance(one, list) and len(one) == 1
    both = ga.gradients(y, [z, x])
    assert isinstance(both, list) and len(both) == 2
    xv, zv = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    got = ga.evaluate([single, one[0], both[0], both[1]], {x: xv, z: zv})
    for value, expected in zip(got, [zv, zv, xv, zv]):
        np.testing.assert_array_equal(value, expected)


def test_grad_y_gives_a_vector_jacobian_product() -> None:
    a = RNG.standard_normal((3, 4))
    x = ga.placeholder("x", shape=(4,))
    y = ga.constant(a) @ x
    u = np.array([1.0, -2.0, 0.5])
    u_node = ga.placeholder("u", shape=(3,))
    by_array = ga.gradients(y, x, grad_y=u)
    by_node = ga.gradients(y, x, grad_y=u_node)
    got = ga.evaluate([by_array, by_node], {x: np.ones(4), u_node: u})
    np.testing.assert_allclose(got[0], a.T @ u)
    np.testing.assert_allclose(got[1], a.T @ u)
    with pytest.raises(ga.DifferentiationError, match="grad_y"):
        ga.gradients(y, x, grad_y=np.ones(4))


def test_non_scalar_y_is_seeded_with_ones() -> None:
    x = ga.placeholder("x", shape=(2, 3))
    y = ga.exp(x) * x[0]
    direct, summed = ga.gradients(y, x), ga.gradients(ga.sum(y), x)
    v = RNG.standard_normal((2, 3))
    got = ga.evaluate([direct, summed], {x: v})
    np.testing.assert_allclose(got[0], got[1])
    expected = np.exp(v) * v[0]
    expected[0] += np.exp(v).sum(axis=0)
    np.testing.assert_allclose(got[0], expected)


def test_only_float_values_are_differentiable() -> None:
    x = ga.placeholder("x", shape=(2,))
    i = ga.placeholder("i", shape=(2,), dtype="int64")
    with pytest.raises(ga.DifferentiationError):
        ga.gradients(ga.sum(x * i), i)
    with pytest.raises(ga.DifferentiationError):
        ga.gradients(ga.sum(i), x)


# -- broadcasting and unknown dims ---------------------------------------------
def test_gradients_through_broadcasting() -> None:
    a = ga.placeholder("a", shape=(3, 1))
    b = ga.placeholder("b", shape=(1, 4))
    av, bv = RNG.standard_normal((3, 1)), RNG.standard_normal((1, 4))
    grads = ga.gradients(ga.sum((a + b) * (a * b)), [a, b])
    assert [g.shape for g in grads] == [(3, 1), (1, 4)]
    # d/da of sum(a²b + ab²) = sum over j of (2ab + b²)
    expected_a = (2 * av * bv + bv**2).sum(axis=1, keepdims=True)
    expected_b = (av**2 + 2 * av * bv).sum(axis=0, keepdims=True)
    got = ga.evaluate(grads, {a: av, b: bv})
    np.testing.assert_allclose(got[0], expected_a)
    np.testing.assert_allclose(got[1], expected_b)
    plain = ga.evaluate(ga.gradients(a + b, [a, b]), {a: av, b: bv})
    np.testing.assert_array_equal(plain[0], np.full((3, 1), 4.0))
    np.testing.assert_array_equal(plain[1], np.full((1, 4), 3.0))


def test_gradients_of_a_scalar_broadcast_against_a_matrix() -> None:
    s = ga.placeholder("s", shape=())
    m = ga.placeholder("m", shape=(2, 3))
    gs, gm = ga.gradients(s * m, [s, m])
    assert gs.shape == () and gm.shape == (2, 3)
    mv = np.arange(6.0).reshape(2, 3)
    got = ga.evaluate([gs, gm], {s: 2.0, m: mv})
    assert np.isclose(got[0], mv.sum())
    np.testing.assert_array_equal(got[1], np.full((2, 3), 2.0))
    plain = ga.evaluate(ga.gradients(s + m, [s, m]), {s: 2.0, m: mv})
    assert plain[0].shape == () and plain[0] == 6.0
    np.testing.assert_array_equal(plain[1], np.ones((2, 3)))


def test_float32_gradients_stay_float32() -> None:
    x = ga.placeholder("x", shape=(3,), dtype="float32")
    gx = ga.gradients(ga.sum(ga.exp(x) * 2.0), x)
    assert gx.dtype == np.float32
    assert ga.evaluate(gx, {x: np.zeros(3, np.float32)}).dtype == np.float32


def test_unknown_dims_with_one_executor_and_two_fed_shapes() -> None:
    p = ga.placeholder("p", shape=(None, 3))
    w = ga.placeholder("w", shape=(1, 3))
    bias = ga.placeholder("bias", shape=(None, 1))
    y = ga.sum(ga.sin(p * w + bias)) + ga.mean(p)
    gp, gw, gb = ga.gradients(y, [p, w, bias])
    assert gp.shape == (None, 3) and gw.shape == (1, 3) and gb.shape == (None, 1)
    ex = ga.Executor([gp, gw, gb])
    for n in (2, 5):
        pv, wv, bv = (RNG.standard_normal(s) for s in ((n, 3), (1, 3), (n, 1)))
        got = ex.run({p: pv, w: wv, bias: bv})
        c = np.cos(pv * wv + bv)
        np.testing.assert_allclose(got[0], c * wv + 1 / (3 * n))
        np.testing.assert_allclose(got[1], (c * pv).sum(axis=0, keepdims=True))
        np.testing.assert_allclose(got[2], c.sum(axis=1, keepdims=True))


def test_higher_order_gradients_of_a_polynomial() -> None:
    x = ga.placeholder("x", shape=(3,))
    d1 = ga.gradients(ga.sum(x**4), x)
    d2 = ga.gradients(d1, x)
    d3 = ga.gradients(d2, x)
    v = np.array([-1.0, 0.5, 2.0])
    got = ga.evaluate([d1, d2, d3], {x: v})
    np.testing.assert_allclose(got, [4 * v**3, 12 * v**2, 24 * v])
    assert [d.origin.order for d in (d1, d2, d3)] == [1, 2, 3]


def test_slices_of_unknown_dims_stay_unknown_and_differentiate() -> None:
    x = ga.placeholder("x", shape=(None,))
    head, tail = x[:5], x[-2:]
    assert head.shape == (None,) and tail.shape == (None,)
    ex = ga.Executor([ga.gradients(ga.mean(head), x), ga.gradients(ga.var(tail), x)])
    for n in (3, 8):
        v = np.arange(float(n))
        g_head, g_tail = ex.run({x: v})
        k = min(n, 5)
        np.testing.assert_allclose(g_head, [1 / k] * k + [0.0] * (n - k))
        expected = np.zeros(n)
        expected[-2:] = [-0.5, 0.5]  # d var([a, b]) = (a - b) / 2, (b - a) / 2 with b - a = 1
        np.testing.assert_allclose(g_tail, expected)


def test_unknown_dims_do_not_grow_the_gradient_graph_or_its_memory() -> None:
    def chain(shape: tuple[int | None, ...]) -> ga.Executor:
        x = ga.placeholder("x", shape=shape)
        y = x
        for _ in range(50):
            y = ga.tanh(y) * 0.5 + 0.1
        return ga.Executor(ga.gradients(ga.sum(y), x), optimize=False)  # as gradients built it

    static, dynamic = chain((8, 3)), chain((None, 3))
    assert len(dynamic.order) <= len(static.order) + 5
    assert dynamic.peak_live <= static.peak_live + 2


def test_a_bad_grad_y_is_refused_even_when_y_does_not_depend_on_x() -> None:
    x, z = ga.placeholder("x", shape=(3,)), ga.placeholder("z", shape=(3,))
    for bad in ("oops", np.ones(4), ga.placeholder("w", shape=(5,))):
        with pytest.raises(ga.DifferentiationError, match="grad_y"):
            ga.gradients(ga.sum(x), z, grad_y=bad)
        with pytest.raises(ga.DifferentiationError, match="grad_y"):
            ga.gradients(x * 2, z, grad_y=bad)
