"""The rest of NumPy's elementwise math at the points the op table avoids: jumps, kinks,
the origin, NaN, and exact zeros where an op is constant; NumPy's dispatch and errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import graphad as ga


def grad_and_tangent(y: ga.Node, x: ga.Node, value: np.ndarray) -> tuple[np.ndarray, ...]:
    """The value, gradient of sum(y) and JVP along ones of y at x = value."""
    g = ga.gradients(ga.sum(y), x)
    t = ga.jvp(y, x, np.ones(x.shape))
    return tuple(ga.Executor([y, g, t]).run({x: value}))


UFUNCS = [np.fabs, np.reciprocal, np.log2, np.log10, np.exp2, np.arcsinh, np.arctanh]
UFUNCS += [np.deg2rad, np.rad2deg, np.degrees, np.radians, np.floor, np.ceil, np.trunc]
BINARY_UFUNCS = [np.mod, np.remainder, np.fmod, np.arctan2, np.hypot, np.logaddexp]
BINARY_UFUNCS += [np.logaddexp2, np.fmax, np.fmin, np.heaviside, np.copysign]


@pytest.mark.parametrize("fn", UFUNCS + BINARY_UFUNCS, ids=lambda f: f.__name__)
def test_numpy_ufuncs_dispatch_to_graphad(fn: Any) -> None:
    """np.<ufunc>(node) builds graphad's op of that name (NumPy's operands either side)."""
    x = ga.placeholder("x", (3,))
    value = np.array([0.3, 0.6, 0.8])  # in every domain (log, arctanh)
    args = (x,) if fn.nin == 1 else (x, 0.7)
    y = fn(*args)
    assert isinstance(y, ga.Node)
    expected = fn(value) if fn.nin == 1 else fn(value, 0.7)
    np.testing.assert_array_equal(ga.evaluate(y, {x: value}), expected)
    if fn.nin == 2:  # reflected: the array on the left
        np.testing.assert_array_equal(ga.evaluate(fn(0.7, x), {x: value}), fn(0.7, value))


@pytest.mark.parametrize("fn", [np.floor, np.ceil, np.trunc, np.round, np.around])
def test_rounding_dispatches_and_has_no_derivative(fn: Any) -> None:
    x = ga.placeholder("x", (5,))
    value = np.array([-1.5, -0.5, 0.5, 1.5, 2.0])  # halves and integers: the jumps themselves
    y, g, t = grad_and_tangent(fn(x), x, value)
    np.testing.assert_array_equal(y, fn(value))
    np.testing.assert_array_equal(g, np.zeros(5))
    np.testing.assert_array_equal(t, np.zeros(5))


def test_rounding_keeps_integer_dtypes() -> None:
    n = ga.placeholder("n", (3,), "int64")
    for f in (ga.floor, ga.ceil, ga.trunc, ga.round):
        assert f(n).dtype == np.int64
    assert ga.round(ga.placeholder("h", (3,), "float32"), 2).dtype == np.float32


def test_remainder_operators_follow_python() -> None:
    x = ga.placeholder("x", (4,))
    value = np.array([-3.5, -1.0, 2.25, 7.0])
    a, b = ga.evaluate([x % 2.0, 5.0 % x], {x: value})
    np.testing.assert_array_equal(a, value % 2.0)
    np.testing.assert_array_equal(b, 5.0 % value)
    np.testing.assert_array_equal(ga.evaluate(np.fmod(x, 2.0), {x: value}), np.fmod(value, 2.0))


def test_heaviside_passes_a_derivative_only_to_its_value_at_zero() -> None:
    x1, x2 = ga.placeholder("x1", (3,)), ga.placeholder("x2", (3,))
    y = ga.heaviside(x1, x2)
    g1, g2 = ga.gradients(ga.sum(y), [x1, x2])
    feeds = {x1: np.array([-1.0, 0.0, 2.0]), x2: np.array([0.5, 0.5, 0.5])}
    value, d1, d2 = ga.evaluate([y, g1, g2], feeds)
    np.testing.assert_array_equal(value, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(d1, np.zeros(3))
    np.testing.assert_array_equal(d2, [0.0, 1.0, 0.0])


def test_nan_to_num_derivative_is_zero_where_it_replaced() -> None:
    x = ga.placeholder("x", (4,))
    value = np.array([np.nan, np.inf, -np.inf, 1.5])
    y, g, t = grad_and_tangent(np.nan_to_num(x, nan=1.0), x, value)
    np.testing.assert_array_equal(y, np.nan_to_num(value, nan=1.0))
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(t, [0.0, 0.0, 0.0, 1.0])


def test_fmax_fmin_take_the_other_operand_of_a_nan() -> None:
    a, b = ga.placeholder("a", (2,)), ga.placeholder("b", (2,))
    feeds = {a: np.array([np.nan, 1.0]), b: np.array([3.0, np.nan])}
    for f in (ga.fmax, ga.fmin):
        y = f(a, b)
        value, ga_, gb = ga.evaluate([y, *ga.gradients(ga.sum(y), [a, b])], feeds)
        np.testing.assert_array_equal(value, [3.0, 1.0])
        np.testing.assert_array_equal(ga_, [0.0, 1.0])
        np.testing.assert_array_equal(gb, [1.0, 0.0])


def test_sinc_is_exact_at_zero_to_second_order_in_every_mode() -> None:
    x = ga.placeholder("x", (3,))
    y = ga.sum(ga.sinc(x))
    g = ga.gradients(y, x)
    h_rr = ga.gradients(ga.sum(g), x)  # the Hessian is diagonal: its row sums
    h_fr = ga.jvp(g, x, np.ones(3))
    h_ff = ga.jvp(ga.jvp(ga.sinc(x), x, np.ones(3)), x, np.ones(3))
    value = np.array([0.0, 1e-9, -0.3])
    out = ga.evaluate([ga.sinc(x), g, h_rr, h_fr, h_ff], {x: value})
    # the Taylor series at 0 and 1e-9; the closed forms f' = (cos πx - f)/x and
    # f'' = (-π sin πx - 2f')/x at -0.3, where they do not cancel
    f, c, s = np.sinc(value), np.cos(math.pi * value), np.sin(math.pi * value)
    with np.errstate(invalid="ignore", divide="ignore"):
        first = np.where(value == 0, 0.0, (c - f) / value)
        first[1] = -(math.pi**2) / 3 * value[1]
        second = (-math.pi * s - 2 * first) / value
    second[:2] = -(math.pi**2) / 3
    np.testing.assert_allclose(out[0], f, rtol=1e-15)
    np.testing.assert_allclose(out[1], first, rtol=1e-13, atol=1e-300)
    for h in out[2:]:
        np.testing.assert_allclose(h, second, rtol=1e-13)


def test_arctan2_and_hypot_have_zero_partials_at_the_origin() -> None:
    """The tie rule of abs at the cone's tip (second derivatives are infinite there)."""
    a, b = ga.placeholder("a", ()), ga.placeholder("b", ())
    for f in (ga.arctan2, ga.hypot):
        y = f(a, b)
        grads = ga.gradients(y, [a, b])
        tangent = ga.jvp(y, [a, b], [1.0, 1.0])
        feeds = {a: np.array(0.0), b: np.array(0.0)}
        assert ga.evaluate([*grads, tangent], feeds) == [0.0, 0.0, 0.0]


def test_errors_name_the_op() -> None:
    n = ga.placeholder("n", (3,), "int64")
    with pytest.raises(ga.DTypeError, match=r"reciprocal.*truncates integer"):
        ga.reciprocal(n)
    with pytest.raises(ga.DTypeError, match="fabs is not defined on complex"):
        ga.fabs(ga.placeholder("z", (3,), "complex128"))
    with pytest.raises(ga.DTypeError, match=r"round\(.*decimals must be an int"):
        ga.round(ga.placeholder("x", (3,)), 1.5)
    with pytest.raises(ga.DTypeError, match="remainder"):
        ga.remainder(ga.placeholder("z", (3,), "complex128"), 2.0)
