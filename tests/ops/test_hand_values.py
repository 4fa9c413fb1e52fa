"""Derivatives checked against values worked out by hand, where the table's finite
differences cannot speak: at exact zeros and ties, under stop_gradient, and for dtypes.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphad as ga


def hessian(y: ga.Node, x: ga.Node, n: int) -> list[ga.Node]:
    """The rows of ∂²y/∂x² for a vector x of length n, by reverse over reverse."""
    g = ga.gradients(y, x)
    return [ga.gradients(g[i], x) for i in range(n)]


def exclusive_pair_products(x: np.ndarray) -> np.ndarray:
    """H[i, j] = ∏_{k≠i,j} xₖ for i ≠ j and 0 on the diagonal: the Hessian of prod."""
    n = len(x)
    h = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                h[i, j] = np.prod(np.delete(x, [i, j]))
    return h


# -- prod at exact zeros -------------------------------------------------------
def test_prod_with_one_zero() -> None:
    x = ga.placeholder("x", (4,))
    feed = {x: np.array([2.0, 0.0, 3.0, 4.0])}
    y = ga.prod(x)
    value, grad = ga.evaluate([y, ga.gradients(y, x)], feed)
    assert value == 0.0
    np.testing.assert_array_equal(grad, [0.0, 24.0, 0.0, 0.0])
    h = np.array(ga.evaluate(hessian(y, x, 4), feed))
    # only pairs that include the zero leave a nonzero product of the rest
    expected = [[0, 12, 0, 0], [12, 0, 8, 6], [0, 8, 0, 0], [0, 6, 0, 0]]
    np.testing.assert_array_equal(h, expected)
    np.testing.assert_array_equal(expected, exclusive_pair_products(feed[x]))


def test_prod_with_two_zeros() -> None:
    x = ga.placeholder("x", (4,))
    feed = {x: np.array([2.0, 0.0, 3.0, 0.0])}
    y = ga.prod(x)
    value, grad = ga.evaluate([y, ga.gradients(y, x)], feed)
    assert value == 0.0
    np.testing.assert_array_equal(grad, np.zeros(4))  # every partial keeps a zero factor
    h = np.array(ga.evaluate(hessian(y, x, 4), feed))
    expected = np.zeros((4, 4))
    expected[1, 3] = expected[3, 1] = 2.0 * 3.0  # ∂²/∂x₁∂x₃ drops both zeros
    np.testing.assert_array_equal(h, expected)


def test_prod_hessian_by_forward_over_reverse() -> None:
    """Columns H·eⱼ by jvp of the gradient agree with the hand-made Hessian."""
    x = ga.placeholder("x", (4,))
    values = np.array([0.0, 5.0, 0.0, -2.0])
    g = ga.gradients(ga.prod(x), x)
    columns = ga.evaluate([ga.jvp(g, x, e) for e in np.eye(4)], {x: values})
    np.testing.assert_array_equal(np.stack(columns, axis=1), exclusive_pair_products(values))


def test_prod_third_derivative_at_three_zeros() -> None:
    """∂³/∂x₀∂x₁∂x₂ of x₀x₁x₂x₃ is x₃, even where x₀ = x₁ = x₂ = 0."""
    x = ga.placeholder("x", (4,))
    g = ga.gradients(ga.prod(x), x)
    h01 = ga.gradients(g[0], x)[1]
    t012 = ga.gradients(h01, x)[2]
    assert ga.evaluate(t012, {x: np.array([0.0, 0.0, 0.0, 7.0])}) == 7.0


def test_prod_along_rows_with_zeros() -> None:
    x = ga.placeholder("x", (3, 3))
    values = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.0, 2.0, 3.0]])
    y = ga.prod(x, axis=1)
    value, grad = ga.evaluate([y, ga.gradients(y, x)], {x: values})
    np.testing.assert_array_equal(value, [0.0, 0.0, 6.0])
    np.testing.assert_array_equal(grad, [[0, 6, 0], [0, 0, 0], [6, 3, 2]])


# -- getitem: repeated indices accumulate ----------------------------------------
def test_repeated_indices_accumulate() -> None:
    x = ga.placeholder("x", (3,))
    y = x[[0, 0, 2, 0]]
    grad = ga.gradients(y, x, grad_y=np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(ga.evaluate(grad, {x: np.zeros(3)}), [1 + 2 + 4, 0, 3])


def test_repeated_index_pairs_accumulate() -> None:
    x = ga.placeholder("x", (2, 3))
    y = x[[1, 1, 0], [2, 2, 0]]
    v = np.arange(6.0).reshape(2, 3)
    grad, tangent = ga.evaluate([ga.gradients(y, x), ga.jvp(y, x, v)], {x: np.ones((2, 3))})
    np.testing.assert_array_equal(grad, [[1, 0, 0], [0, 0, 2]])
    np.testing.assert_array_equal(tangent, [5.0, 5.0, 0.0])  # the tangent is gathered


# -- stop_gradient -------------------------------------------------------------
def test_stop_gradient_treats_its_value_as_a_constant() -> None:
    x = ga.placeholder("x", (3,))
    values, v = np.array([1.0, -2.0, 3.0]), np.array([0.5, 1.0, -1.0])
    y = ga.sum(x * ga.stop_gradient(x))
    g = ga.gradients(y, x)
    fetched = ga.evaluate(
        [y, g, ga.jvp(y, x, v), ga.gradients(ga.sum(g), x), ga.jvp(g, x, v)], {x: values}
    )
    value, grad, tangent, hessian_sum, hessian_v = fetched
    assert value == np.sum(values**2)
    np.testing.assert_array_equal(grad, values)  # not 2x: the second factor is held
    assert tangent == np.dot(values, v)
    np.testing.assert_array_equal(hessian_sum, np.zeros(3))  # g = stop_gradient(x)
    np.testing.assert_array_equal(hessian_v, np.zeros(3))


def test_stop_gradient_alone_is_unconnected() -> None:
    x = ga.placeholder("x", (3,))
    y = ga.stop_gradient(x)
    grad, tangent = ga.evaluate([ga.gradients(y, x), ga.jvp(y, x, np.ones(3))], {x: np.ones(3)})
    np.testing.assert_array_equal(grad, np.zeros(3))
    np.testing.assert_array_equal(tangent, np.zeros(3))


# -- dtypes --------------------------------------------------------------------
def test_float32_gradients_are_float32() -> None:
    x = ga.placeholder("x", (3,), "float32")
    y = ga.sum(ga.tanh(x) * x) / 3.0
    g = ga.gradients(y, x)
    hv = ga.gradients(ga.sum(g * 2.0), x)
    t = ga.jvp(y, x, np.ones(3))
    assert (y.dtype, g.dtype, hv.dtype, t.dtype) == (np.float32,) * 4
    values = ga.evaluate([y, g, hv, t], {x: np.array([0.5, -1.0, 2.0], np.float32)})
    assert [np.asarray(a).dtype for a in values] == [np.float32] * 4


def test_cast_gradients_take_the_input_dtype() -> None:
    x32 = ga.placeholder("x32", (3,), "float32")
    x64 = ga.placeholder("x64", (3,), "float64")
    up, down = ga.cast(x32, "float64"), ga.cast(x64, "float32")
    assert (up.dtype, down.dtype) == (np.float64, np.float32)
    g32, g64 = ga.gradients(up, x32), ga.gradients(down, x64)
    t64, t32 = ga.jvp(up, x32, np.ones(3)), ga.jvp(down, x64, np.ones(3))
    assert (g32.dtype, g64.dtype, t64.dtype, t32.dtype) == (
        np.float32,
        np.float64,
        np.float64,
        np.float32,
    )
    values = ga.evaluate([g32, g64], {x32: np.ones(3, np.float32), x64: np.ones(3)})
    np.testing.assert_array_equal(values[0], np.ones(3))
    np.testing.assert_array_equal(values[1], np.ones(3))


# -- the tie rules the op modules document ---------------------------------------
def test_maximum_and_minimum_split_ties_equally() -> None:
    a, b = ga.placeholder("a", (2,)), ga.placeholder("b", (2,))
    feed = {a: np.array([1.0, 2.0]), b: np.array([1.0, 3.0])}
    ga_, gb = ga.evaluate(ga.gradients(ga.maximum(a, b), [a, b]), feed)
    np.testing.assert_array_equal(ga_, [0.5, 0.0])
    np.testing.assert_array_equal(gb, [0.5, 1.0])
    ga_, gb = ga.evaluate(ga.gradients(ga.minimum(a, b), [a, b]), feed)
    np.testing.assert_array_equal(ga_, [0.5, 1.0])
    np.testing.assert_array_equal(gb, [0.5, 0.0])


def test_max_and_min_reductions_split_ties_equally() -> None:
    x = ga.placeholder("x", (4,))
    feed = {x: np.array([1.0, 3.0, 3.0, 1.0])}
    np.testing.assert_array_equal(ga.evaluate(ga.gradients(ga.max(x), x), feed), [0, 0.5, 0.5, 0])
    np.testing.assert_array_equal(ga.evaluate(ga.gradients(ga.min(x), x), feed), [0.5, 0, 0, 0.5])


def test_kinks_at_zero_have_derivative_zero() -> None:
    x = ga.placeholder("x", (3,))
    feed = {x: np.array([-1.0, 0.0, 2.0])}
    for op, expected in [(ga.abs, [-1, 0, 1]), (ga.relu, [0, 0, 1]), (ga.sign, [0, 0, 0])]:
        np.testing.assert_array_equal(ga.evaluate(ga.gradients(op(x), x), feed), expected)


def test_clip_sends_the_adjoint_to_x_on_the_closed_interval() -> None:
    x, lo, hi = (ga.placeholder(name, (4,)) for name in ("x", "lo", "hi"))
    feed = {x: np.array([-2.0, -1.0, 1.0, 2.0]), lo: -np.ones(4), hi: np.ones(4)}
    gx, glo, ghi = ga.evaluate(ga.gradients(ga.clip(x, lo, hi), [x, lo, hi]), feed)
    np.testing.assert_array_equal(gx, [0, 1, 1, 0])
    np.testing.assert_array_equal(glo, [1, 0, 0, 0])
    np.testing.assert_array_equal(ghi, [0, 0, 0, 1])


@pytest.mark.parametrize(("p", "order"), [(1, 2), (2, 3), (3, 4), (2, 5)])
def test_power_derivatives_past_the_exponent_are_zero_at_zero(p: int, order: int) -> None:
    x = ga.placeholder("x", shape=())
    reverse = ga.derivative(x**p, x, order)
    forward = x**p
    for _ in range(order):
        forward = ga.jvp(forward, x, 1.0)
    assert ga.evaluate([reverse, forward], {x: 0.0}) == [0.0, 0.0]


def test_clip_follows_numpy_when_the_bounds_cross() -> None:
    x, lo, hi = (ga.placeholder(n, shape=(3,)) for n in ("x", "lo", "hi"))
    y = ga.clip(x, lo, hi)
    feeds = {x: np.array([1.5, 0.0, 3.0]), lo: np.full(3, 2.0), hi: np.full(3, 1.0)}
    np.testing.assert_array_equal(ga.evaluate(y, feeds), np.clip(*feeds.values()))
    gx, glo, ghi = ga.evaluate(ga.gradients(y, [x, lo, hi]), feeds)
    np.testing.assert_array_equal(ghi, [1.0, 1.0, 1.0])  # np.clip returns hi everywhere here
    np.testing.assert_array_equal(gx + glo, [0.0, 0.0, 0.0])
    assert ga.evaluate(ga.jvp(y, lo, np.ones(3)), feeds).tolist() == [0.0, 0.0, 0.0]
