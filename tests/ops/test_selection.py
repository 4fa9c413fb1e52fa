"""Selection and cut paths: max/min/argmax, where and its NaN problem, strong zeros, stop_gradient.

Where derivatives are exact routing (a 1 or a share of ties), values are compared
exactly.  Where a function is smooth, against central differences.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

import graphad as ga
from graphad.numerical import check_gradients, numerical_gradient

RNG = np.random.default_rng(6)
TIES = np.array([[1.0, 5.0, 5.0], [2.0, 2.0, 2.0]])


# -- max / min: the adjoint goes to the selected entries, ties share it equally ---------
@pytest.mark.parametrize(
    ("reduce", "axis", "value", "grad"),
    [
        (ga.max, None, 5.0, [[0, 0.5, 0.5], [0, 0, 0]]),
        (ga.max, 0, [2.0, 5.0, 5.0], [[0, 1, 1], [1, 0, 0]]),
        (ga.max, 1, [5.0, 2.0], [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]]),
        (ga.min, None, 1.0, [[1, 0, 0], [0, 0, 0]]),
        (ga.min, 0, [1.0, 2.0, 2.0], [[1, 0, 0], [0, 1, 1]]),
        (ga.min, 1, [1.0, 2.0], [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]]),
    ],
    ids=["max", "max-axis0", "max-axis1", "min", "min-axis0", "min-axis1"],
)
def test_max_min_adjoint_goes_to_the_selected_entries_and_ties_split(
    reduce: Callable[..., ga.Node], axis: int | None, value: object, grad: object
) -> None:
    x = ga.placeholder("x", shape=(2, 3))
    y = reduce(x, axis=axis)
    got, g = ga.evaluate([y, ga.gradients(y, x)], {x: TIES})
    np.testing.assert_array_equal(got, value)
    np.testing.assert_array_equal(g, np.array(grad, dtype=float))  # exact shares


def test_max_jvp_averages_the_tangents_of_tied_entries() -> None:
    x = ga.placeholder("x", shape=(2, 3))
    v = np.arange(6.0).reshape(2, 3)
    t = ga.evaluate(ga.jvp(ga.max(x, axis=1), x, v), {x: TIES})
    np.testing.assert_allclose(t, [(1.0 + 2.0) / 2, (3.0 + 4.0 + 5.0) / 3], rtol=1e-15)


def test_max_keepdims_with_an_upstream_cotangent() -> None:
    x = ga.placeholder("x", shape=(2, 3))
    y = ga.max(x, axis=1, keepdims=True)
    assert y.shape == (2, 1)
    g = ga.evaluate(ga.gradients(y, x, grad_y=np.array([[2.0], [-3.0]])), {x: TIES})
    np.testing.assert_array_equal(g, [[0.0, 1.0, 1.0], [-1.0, -1.0, -1.0]])


def test_max_without_ties_matches_finite_differences_and_has_zero_curvature() -> None:
    x = ga.placeholder("x", shape=(3, 4))
    y = ga.sum(ga.max(x, axis=0) * ga.min(x, axis=1)[0])
    xv = RNG.standard_normal((3, 4))
    g = ga.gradients(y, x)
    got, h = ga.evaluate([g, ga.gradients(ga.sum(g * g), x)], {x: xv})
    np.testing.assert_allclose(got, numerical_gradient(y, x, {x: xv}), rtol=1e-7, atol=1e-9)
    assert check_gradients(y, x, {x: xv}, order=2)
    assert np.count_nonzero(got) <= 4 + 1  # one per column, plus the row-0 minimum
    assert np.all(np.isfinite(h))


def test_elementwise_maximum_and_minimum_split_ties() -> None:
    a = ga.placeholder("a", shape=(3,))
    b = ga.placeholder("b", shape=(3,))
    feeds = {a: np.array([1.0, 2.0, 3.0]), b: np.array([3.0, 2.0, 1.0])}
    ga_max, gb_max = ga.evaluate(ga.gradients(ga.maximum(a, b), [a, b]), feeds)
    ga_min, gb_min = ga.evaluate(ga.gradients(ga.minimum(a, b), [a, b]), feeds)
    np.testing.assert_array_equal(ga_max, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(gb_max, [1.0, 0.5, 0.0])
    np.testing.assert_array_equal(ga_min, [1.0, 0.5, 0.0])
    np.testing.assert_array_equal(gb_min, [0.0, 0.5, 1.0])


# -- argmax: an integer result that cuts the path, but can select ------------------------
def test_argmax_is_int64_and_cuts_the_gradient_naming_itself() -> None:
    x = ga.placeholder("x", shape=(2, 3))
    i = ga.argmax(x, axis=1)
    assert i.type == ga.TensorType((2,), np.int64)
    np.testing.assert_array_equal(ga.evaluate(i, {x: TIES}), [1, 0])  # the first of ties
    y = ga.sum(ga.cast(i, "float64"))
    cut = rf"cut by a non-differentiable op: argmax {i.name}"
    with pytest.raises(ga.DifferentiationError, match=cut):
        ga.gradients(y, x, unconnected="raise")
    np.testing.assert_array_equal(ga.evaluate(ga.gradients(y, x), {x: TIES}), np.zeros((2, 3)))
    assert ga.gradients(y, x, unconnected="none") is None


def test_indexing_by_argmax_routes_the_adjoint_to_the_selected_entry_only() -> None:
    x = ga.placeholder("x", shape=(4,))
    y = x[ga.argmax(x)] * 3.0
    xv = np.array([0.5, 4.0, -1.0, 2.0])
    got, g = ga.evaluate([y, ga.gradients(y, x)], {x: xv})
    assert got == 12.0
    np.testing.assert_array_equal(g, [0.0, 3.0, 0.0, 0.0])


# -- where: the untaken branch receives an exact zero -------------------------------------
def test_where_routes_each_entry_to_one_branch_exactly() -> None:
    c = ga.placeholder("c", shape=(3,), dtype=bool)
    a = ga.placeholder("a", shape=(3,))
    b = ga.placeholder("b", shape=())  # broadcast: its adjoint sums the entries it won
    y = ga.where(c, a, b)
    feeds = {c: np.array([True, False, False]), a: np.array([1.0, np.inf, np.nan])}
    feeds[b] = np.array(2.0)
    grads = ga.gradients(y, [a, b], grad_y=np.array([5.0, 7.0, 11.0]))
    got, (g_a, g_b) = ga.evaluate([y, grads], feeds)
    np.testing.assert_array_equal(got, [1.0, 2.0, 2.0])
    np.testing.assert_array_equal(g_a, [5.0, 0.0, 0.0])
    assert g_b == 18.0
    t = ga.evaluate(ga.jvp(y, [a, b], [np.array([1.0, 2.0, 3.0]), np.array(10.0)]), feeds)
    np.testing.assert_array_equal(t, [1.0, 10.0, 10.0])


def _recip(v: ga.Node) -> ga.Node:
    return 1.0 / v


def _half_power(v: ga.Node) -> ga.Node:
    return v**0.5


def _neg_power(v: ga.Node) -> ga.Node:
    return v**-1.5


# (function, its NumPy reference, the mask where it is taken, points incl. the bad ones)
OUTSIDE_ONE = np.array([1.0, -1.0, 0.5, 2.0, -3.0])
NONPOSITIVE = np.array([0.0, -0.0, -1.0, 2.0, 0.25])
GUARDED = {
    "log": (ga.log, np.log, "positive", NONPOSITIVE),
    "sqrt": (ga.sqrt, np.sqrt, "positive", NONPOSITIVE),
    "1/x": (_recip, np.reciprocal, "positive", NONPOSITIVE),
    "x**0.5": (_half_power, np.sqrt, "positive", NONPOSITIVE),
    "x**-1.5": (_neg_power, lambda v: v**-1.5, "positive", NONPOSITIVE),
    "arcsin": (ga.arcsin, np.arcsin, "inside", OUTSIDE_ONE),
    "arccos": (ga.arccos, np.arccos, "inside", OUTSIDE_ONE),
}


def _guarded(name: str) -> tuple[ga.Node, ga.Node, np.ndarray, np.ndarray]:
    """x, the elementwise where(taken, f(x), 0), the points, and where f is taken."""
    f, _, domain, points = GUARDED[name]
    x = ga.placeholder("x", shape=points.shape)
    taken = x > 0 if domain == "positive" else ga.abs(x) < 1
    mask = points > 0 if domain == "positive" else np.abs(points) < 1
    return x, ga.where(taken, f(x), 0.0), points, mask


@pytest.mark.parametrize("name", list(GUARDED))
def test_where_guard_gives_exact_zero_derivatives_at_every_order_and_mode(name: str) -> None:
    x, yv, points, mask = _guarded(name)
    y, ones = ga.sum(yv), np.ones(points.shape)
    g1 = ga.gradients(y, x)
    g2 = ga.gradients(ga.sum(g1), x)
    g3 = ga.gradients(ga.sum(g2), x)
    t1 = ga.jvp(yv, x, ones)  # elementwise, so the tangent is the derivative entry by entry
    t2 = ga.jvp(t1, x, ones)
    hv = ga.hvp(y, x, ones)
    rev_over_fwd = ga.gradients(ga.sum(t1), x)
    fetch = {"g1": g1, "g2": g2, "g3": g3, "t1": t1, "t2": t2, "hvp": hv, "rev-fwd": rev_over_fwd}
    got = ga.evaluate(fetch, {x: points})
    for key, value in got.items():
        assert np.all(np.isfinite(value)), (key, value)
        np.testing.assert_array_equal(value[~mask], 0.0, err_msg=key)
    # first and second order agree across modes where the branch is taken
    np.testing.assert_allclose(got["t1"], got["g1"], rtol=1e-14)
    for key in ("t2", "hvp", "rev-fwd"):
        np.testing.assert_allclose(got[key], got["g2"], rtol=1e-12, err_msg=key)


@pytest.mark.parametrize("name", list(GUARDED))
def test_where_guard_is_right_where_the_branch_is_taken(name: str) -> None:
    x, yv, points, mask = _guarded(name)
    y = ga.sum(yv)
    _, ref, _, _ = GUARDED[name]
    g1 = ga.gradients(y, x)
    got, g, d2 = ga.evaluate([y, g1, ga.gradients(ga.sum(g1), x)], {x: points})
    with np.errstate(all="ignore"):
        want = np.sum(np.where(mask, ref(points), 0.0))
    np.testing.assert_allclose(got, want, rtol=1e-14)
    inside = points[mask]

    def f(v: np.ndarray) -> float:
        return float(np.sum(ref(v)))

    np.testing.assert_allclose(g[mask], numerical_gradient(f, inside), rtol=1e-7)
    # f is elementwise, so the second derivative is the difference quotient of g1's sum
    fd2 = numerical_gradient(g1, x, {x: points})
    np.testing.assert_allclose(d2[mask], fd2[mask], rtol=1e-7)


@pytest.mark.parametrize("xv", [0.0, -0.0, -1.0, -np.inf])
def test_where_log_at_nonpositive_points_scalar(xv: float) -> None:
    """The issue's case, one point at a time: value 0, every derivative exactly 0."""
    x = ga.placeholder("x", shape=())
    y = ga.where(x > 0, ga.log(x), 0.0)
    g1 = ga.gradients(y, x)
    got = ga.evaluate([y, g1, ga.gradients(g1, x), ga.jvp(y, x, 1.0)], {x: np.array(xv)})
    assert [float(v) for v in got] == [0.0, 0.0, 0.0, 0.0]


# -- strong zeros: multiply_no_nan and xdivy ----------------------------------------------
def test_multiply_no_nan_and_xdivy_values() -> None:
    p = ga.placeholder("p", shape=(5,))
    q = ga.placeholder("q", shape=(5,))
    pv = np.array([0.0, 0.0, 2.0, 0.0, -3.0])
    qv = np.array([np.inf, np.nan, 4.0, 0.0, 0.0])
    m, d = ga.evaluate([ga.multiply_no_nan(p, q), ga.xdivy(p, q)], {p: pv, q: qv})
    np.testing.assert_array_equal(m, [0.0, 0.0, 8.0, 0.0, -0.0])
    np.testing.assert_array_equal(d, [0.0, 0.0, 0.5, 0.0, -np.inf])
    q0 = np.array([0.0, 3.0, 0.0, 0.0, 1.0])  # multiply_no_nan is 0 where either side is 0
    m = ga.evaluate(ga.multiply_no_nan(p, q), {p: np.array([np.inf, 0, np.nan, 1, 2]), q: q0})
    np.testing.assert_array_equal(m, [0.0, 0.0, 0.0, 0.0, 2.0])


def test_strong_zero_derivatives_where_the_other_operand_is_zero() -> None:
    p = ga.placeholder("p", shape=(3,))
    q = ga.placeholder("q", shape=(3,))
    feeds = {p: np.array([0.0, 0.0, 2.0]), q: np.array([np.inf, 0.0, 4.0])}
    # ∂(p·q)/∂q = p: exactly 0 where p = 0 even when q is inf
    dm_dq = ga.evaluate(ga.gradients(ga.sum(ga.multiply_no_nan(p, q)), q), feeds)
    np.testing.assert_array_equal(dm_dq, [0.0, 0.0, 2.0])
    # ∂(p/q)/∂q = -p/q²: exactly 0 where p = 0 even when q is 0
    dd_dq = ga.evaluate(ga.gradients(ga.sum(ga.xdivy(p, q)), q), feeds)
    np.testing.assert_array_equal(dd_dq, [0.0, 0.0, -2.0 / 16.0])


@pytest.mark.parametrize("op", [ga.multiply_no_nan, ga.xdivy], ids=["multiply_no_nan", "xdivy"])
def test_strong_zero_ops_match_finite_differences_where_smooth(
    op: Callable[[ga.Node, ga.Node], ga.Node],
) -> None:
    p = ga.placeholder("p", shape=(2, 3))
    q = ga.placeholder("q", shape=(3,))  # broadcast
    y = ga.sum(ga.sin(op(p, q)) * op(q, p))
    feeds = {p: RNG.uniform(0.5, 2.0, (2, 3)), q: RNG.uniform(-2.0, -0.5, 3)}
    gp, gq = ga.evaluate(ga.gradients(y, [p, q]), feeds)
    np.testing.assert_allclose(gp, numerical_gradient(y, p, feeds), rtol=1e-7)
    np.testing.assert_allclose(gq, numerical_gradient(y, q, feeds), rtol=1e-7)
    report = check_gradients(y, [p, q], feeds, order=2)
    assert report, str(report)


# -- stop_gradient and paths that carry no derivative -------------------------------------
def test_stop_gradient_is_the_identity_that_cuts_one_path() -> None:
    x = ga.placeholder("x", shape=(3,))
    xv = np.array([1.0, -2.0, 3.0])
    s = ga.stop_gradient(x)
    y = ga.sum(x * s)  # d/dx through x only: s
    got, g, t = ga.evaluate([s, ga.gradients(y, x), ga.jvp(y, x, np.ones(3))], {x: xv})
    np.testing.assert_array_equal(got, xv)
    np.testing.assert_array_equal(g, xv)
    assert t == np.sum(xv)
    line_msg = rf"cut by a non-differentiable op: stop_gradient {s.name}"
    with pytest.raises(ga.DifferentiationError, match=line_msg):
        ga.gradients(ga.sum(s * 2.0), x, unconnected="raise")
    np.testing.assert_array_equal(ga.evaluate(ga.jvp(ga.sum(s), x, np.ones(3)), {x: xv}), 0.0)


@pytest.mark.parametrize(
    ("build", "op_name"),
    [
        (lambda x: ga.cast(x > 0, "float64"), "greater"),
        (lambda x: ga.cast(ga.cast(x, "int64"), "float64"), "cast"),
        (lambda x: ga.where(ga.less(x, 1.0), 1.0, -1.0), "less"),
        (lambda x: ga.cast(ga.logical_not(ga.equal(x, 0.0)), "float64"), "equal"),
        (lambda x: ga.cast(ga.argmax(x), "float64"), "argmax"),
    ],
    ids=["comparison", "cast-to-int", "where-condition", "bool-logic", "argmax"],
)
def test_non_differentiable_paths_carry_no_gradient_and_raise_names_the_cut(
    build: Callable[[ga.Node], ga.Node], op_name: str
) -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.sum(build(x))
    xv = np.array([0.5, -2.0, 3.0])
    np.testing.assert_array_equal(ga.evaluate(ga.gradients(y, x), {x: xv}), np.zeros(3))
    assert ga.gradients(y, x, unconnected="none") is None
    np.testing.assert_array_equal(ga.evaluate(ga.jvp(y, x, np.ones(3)), {x: xv}), 0.0)
    with pytest.raises(ga.DifferentiationError) as e:
        ga.gradients(y, x, unconnected="raise")
    msg = str(e.value)
    assert "every path is cut by a non-differentiable op" in msg
    assert re.search(rf"\b{op_name} {op_name}_\d+ \(test_selection\.py:\d+\)", msg), msg


def test_integer_and_bool_tensors_cannot_be_differentiated_against() -> None:
    x = ga.placeholder("x", shape=(3,))
    i = ga.placeholder("i", shape=(3,), dtype="int64")
    b = ga.placeholder("b", shape=(3,), dtype=bool)
    y = ga.sum(x * i * ga.cast(b, "float64"))
    for bad in (i, b):
        with pytest.raises(ga.DifferentiationError, match="cannot differentiate with respect to"):
            ga.gradients(y, bad)
        with pytest.raises(ga.DifferentiationError, match="cannot differentiate with respect to"):
            ga.jvp(y, bad, np.ones(3))
    feeds = {x: np.ones(3), i: np.array([1, 2, 3]), b: np.array([True, False, True])}
    np.testing.assert_array_equal(ga.evaluate(ga.gradients(y, x), feeds), [1.0, 0.0, 3.0])


def test_a_cut_path_beside_a_live_one_is_not_reported() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.sum(ga.cast(x > 0, "float64") * x)  # the comparison is cut, x itself is not
    g = ga.gradients(y, x, unconnected="raise")
    np.testing.assert_array_equal(ga.evaluate(g, {x: np.array([1.0, -1.0, 2.0])}), [1, 0, 1])


def test_xlogy_makes_entropy_terms_finite_at_zero_to_second_order() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.sum(ga.xlogy(x, x))  # x·log x, as in an entropy
    g = ga.gradients(y, x)
    h = ga.gradients(g, x)
    xv = np.array([0.0, 0.5, 2.0])
    yv, gv, hv = ga.evaluate([y, g, h], {x: xv})
    assert np.isclose(yv, 0.5 * np.log(0.5) + 2 * np.log(2.0))
    np.testing.assert_allclose(gv[1:], np.log(xv[1:]) + 1)
    assert gv[0] == -np.inf  # the true slope of x·log x at 0+
    np.testing.assert_allclose(hv[1:], 1 / xv[1:])
    guarded = ga.gradients(ga.sum(ga.where(x > 0, ga.xlogy(x, x), 0.0)), x)
    hguarded = ga.gradients(guarded, x)
    gg, hh = ga.evaluate([guarded, hguarded], {x: xv})
    assert gg[0] == 0.0 and hh[0] == 0.0
    np.testing.assert_allclose(gg[1:], np.log(xv[1:]) + 1)


def test_plain_product_keeps_numpys_nan_where_xlogy_does_not() -> None:
    """The value x·log(x) at 0 is NumPy's NaN, xlogy's is 0; through an untaken where, the
    zero adjoint stays 0 in either (every rule's products have strong zeros)."""
    x = ga.placeholder("x", shape=())
    pv, sv = ga.evaluate([x * ga.log(x), ga.xlogy(x, x)], {x: 0.0})
    assert np.isnan(pv) and sv == 0.0
    plain = ga.gradients(ga.where(x > 0, x * ga.log(x), 0.0), x)
    strong = ga.gradients(ga.where(x > 0, ga.xlogy(x, x), 0.0), x)
    assert ga.evaluate([plain, strong], {x: 0.0}) == [0.0, 0.0]
