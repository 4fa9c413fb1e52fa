"""``cond``: only the taken branch runs, and only it receives derivatives.

A counting op (the identity whose kernel counts its calls) sits inside the
branches to show what really ran.  Values are compared with NumPy for both
predicate values through one Executor; derivatives with hand-derived ones and
central differences, at first and second order and in forward mode.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.numerical import check_gradients, directional_derivative, numerical_gradient
from tests.control.counting import CALLS, Count, reset_calls  # noqa: F401 (an autouse fixture)

RNG = np.random.default_rng(5)


def _line() -> int:
    return sys._getframe(1).f_lineno


POS, NEG = np.array([1.0, 2.0, 0.5]), np.array([-1.0, 0.3, -2.0])


# -- only the taken branch runs -------------------------------------------------------
def _counted() -> tuple[ga.Node, ga.Node]:
    x = ga.placeholder("x", shape=(3,))
    y = ga.cond(
        ga.sum(x) > 0,
        lambda v: ga.sum(Count("true")(v) * 2.0),
        lambda v: ga.sum(ga.sin(Count("false")(v))),
        [x],
    )
    return x, y


def test_only_the_taken_branch_is_evaluated() -> None:
    x, y = _counted()
    ex = ga.Executor(y)
    np.testing.assert_allclose(ex.run({x: POS}), 2 * np.sum(POS))
    assert CALLS == {"true": 1}
    np.testing.assert_allclose(ex.run({x: NEG}), np.sum(np.sin(NEG)))
    assert CALLS == {"true": 1, "false": 1}
    ex.run({x: POS})
    ex.run({x: POS})
    assert CALLS == {"true": 3, "false": 1}


def test_the_gradient_graph_never_runs_the_untaken_branch() -> None:
    x, y = _counted()
    ex = ga.Executor([y, ga.gradients(y, x)])
    _, g = ex.run({x: POS})
    np.testing.assert_array_equal(g, [2.0, 2.0, 2.0])
    assert CALLS["true"] >= 1 and CALLS["false"] == 0
    true_calls = CALLS["true"]
    _, g = ex.run({x: NEG})
    np.testing.assert_allclose(g, np.cos(NEG))
    assert CALLS["true"] == true_calls and CALLS["false"] >= 1


def test_nested_cond_runs_one_innermost_branch() -> None:
    w = ga.placeholder("w", shape=())

    def inner(a: ga.Node) -> ga.Node:
        return ga.cond(
            a > 1, lambda b: Count("big")(b) * 10.0, lambda b: Count("small")(b) ** 2, [a]
        )

    y = ga.cond(w > 0, inner, lambda a: -Count("negative")(a), [w])
    ex = ga.Executor([y, ga.gradients(y, w)])
    cases = [(2.0, "big", 20.0, 10.0), (0.5, "small", 0.25, 1.0), (-3.0, "negative", 3.0, -1.0)]
    for wv, tag, value, slope in cases:
        CALLS.clear()
        got, g = ex.run({w: np.array(wv)})
        assert got == value and g == slope
        assert set(CALLS) == {tag}, (wv, CALLS)


# -- values against NumPy ------------------------------------------------------------
def test_values_against_numpy_for_both_predicate_values_with_one_executor() -> None:
    x = ga.placeholder("x", shape=(2, 3))
    z = ga.placeholder("z", shape=(3,))
    flag = ga.placeholder("flag", shape=(), dtype=bool)
    y = ga.cond(
        flag,
        lambda a, b: (ga.sum(ga.exp(a) * b, axis=0), ga.max(a)),
        lambda a, b: (ga.mean(a, axis=0) - b, ga.min(a) * 2.0),
        [x, z],
    )
    assert isinstance(y, tuple) and len(y) == 2
    ex = ga.Executor(list(y))
    for _ in range(3):
        xv, zv = RNG.standard_normal((2, 3)), RNG.standard_normal(3)
        first, second = ex.run({x: xv, z: zv, flag: True})
        np.testing.assert_allclose(first, np.sum(np.exp(xv) * zv, axis=0))
        np.testing.assert_allclose(second, np.max(xv))
        first, second = ex.run({x: xv, z: zv, flag: np.array(False)})
        np.testing.assert_allclose(first, np.mean(xv, axis=0) - zv)
        np.testing.assert_allclose(second, 2 * np.min(xv))


def test_branches_returning_dicts_are_unpacked_as_dicts() -> None:
    w = ga.placeholder("w", shape=())
    x = ga.placeholder("x", shape=(3,))
    d = ga.cond(
        w > 0,
        lambda a, v: {"p": a * v, "q": ga.sum(v)},
        lambda a, v: {"p": v, "q": a},
        [w, x],
    )
    assert isinstance(d, dict) and list(d) == ["p", "q"]
    z = ga.sum(d["p"]) * d["q"]
    ex = ga.Executor([d["p"], d["q"], *ga.gradients(z, [w, x])])
    xv = np.array([1.0, 2.0, 3.0])
    p, q, gw, gx = ex.run({w: np.array(0.5), x: xv})  # z = w·(Σx)²
    np.testing.assert_allclose(p, 0.5 * xv)
    np.testing.assert_allclose(q, 6.0)
    np.testing.assert_allclose(gw, 36.0)
    np.testing.assert_allclose(gx, np.full(3, 2 * 0.5 * 6.0))
    p, q, gw, gx = ex.run({w: np.array(-0.5), x: xv})  # z = w·Σx
    np.testing.assert_allclose(p, xv)
    np.testing.assert_allclose(q, -0.5)
    np.testing.assert_allclose(gw, 6.0)
    np.testing.assert_allclose(gx, np.full(3, -0.5))


# -- reverse mode ------------------------------------------------------------------
def _routing() -> tuple[list[ga.Node], ga.Node]:
    """Operand x in both branches; w captured by the true branch only, u by the false one."""
    x = ga.placeholder("x", shape=(3,))
    w = ga.placeholder("w", shape=())
    u = ga.placeholder("u", shape=())
    p = ga.placeholder("p", shape=())
    y = ga.cond(p > 0, lambda v: ga.sum(v * w), lambda v: ga.sum(v * v) * u, [x])
    return [x, w, u, p], y


def test_gradient_flows_only_into_the_taken_branch() -> None:
    (x, w, u, p), y = _routing()
    ex = ga.Executor(ga.gradients(y, [x, w, u, p]))
    xv, wv, uv = np.array([1.0, -2.0, 0.5]), np.array(1.5), np.array(-0.7)
    gx, gw, gu, gp = ex.run({x: xv, w: wv, u: uv, p: np.array(1.0)})
    np.testing.assert_array_equal(gx, np.full(3, wv))
    np.testing.assert_array_equal(gw, np.sum(xv))
    assert gu == 0.0 and gp == 0.0
    gx, gw, gu, gp = ex.run({x: xv, w: wv, u: uv, p: np.array(-1.0)})
    np.testing.assert_allclose(gx, 2 * xv * uv)
    np.testing.assert_allclose(gu, np.sum(xv**2))
    assert gw == 0.0 and gp == 0.0


@pytest.mark.parametrize("pv", [1.0, -1.0], ids=["true", "false"])
def test_gradient_against_finite_differences(pv: float) -> None:
    (x, w, u, p), y = _routing()
    feeds = {x: np.array([1.0, -2.0, 0.5]), w: np.array(1.5), u: np.array(-0.7), p: np.array(pv)}
    grads = ga.evaluate(ga.gradients(y, [x, w, u]), feeds)
    for node, g in zip([x, w, u], grads):
        np.testing.assert_allclose(g, numerical_gradient(y, node, feeds), rtol=1e-8, atol=1e-10)


def test_captured_computed_outer_node_passes_its_adjoint_on() -> None:
    x = ga.placeholder("x", shape=(3,))
    w = ga.placeholder("w", shape=())
    s = ga.sin(w) * 2.0  # made outside, used inside the true branch
    y = ga.cond(w > 0, lambda v: ga.sum(v * s), lambda v: ga.sum(v) * w * w, [x])
    ex = ga.Executor([y, *ga.gradients(y, [x, w])])
    xv = np.array([1.0, 2.0, 3.0])
    for wv in (0.7, -0.7):
        feeds = {x: xv, w: np.array(wv)}
        got, gx, gw = ex.run(feeds)
        if wv > 0:
            np.testing.assert_allclose(got, 6 * 2 * np.sin(wv))
            np.testing.assert_allclose(gx, np.full(3, 2 * np.sin(wv)))
            np.testing.assert_allclose(gw, 6 * 2 * np.cos(wv))
        else:
            np.testing.assert_allclose(gx, np.full(3, wv**2))
            np.testing.assert_allclose(gw, 6 * 2 * wv)
        np.testing.assert_allclose(gw, numerical_gradient(y, w, feeds), rtol=1e-8)


@pytest.mark.parametrize("xv", [-1.0, 0.0, -0.0, 2.0])
def test_the_nan_branch_does_not_poison_the_gradient(xv: float) -> None:
    x = ga.placeholder("x", shape=())
    y = ga.cond(x > 0, ga.log, ga.zeros_like, [x])
    g1 = ga.gradients(y, x)
    g2 = ga.gradients(g1, x)
    got = ga.evaluate([y, g1, g2], {x: np.array(xv)})
    want = [np.log(xv), 1 / xv, -1 / xv**2] if xv > 0 else [0.0, 0.0, 0.0]
    for a, b in zip(got, want):
        assert np.isfinite(a)
        np.testing.assert_allclose(a, b, rtol=1e-14)


def test_the_nan_branch_does_not_poison_a_vector_gradient() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.cond(x[0] > 0, lambda v: ga.sum(ga.log(v)), lambda v: ga.sum(v * 0.0), [x])
    g = ga.gradients(y, x)
    ex = ga.Executor([y, g])
    got, gv = ex.run({x: np.array([-1.0, 0.0, 3.0])})
    assert got == 0.0
    np.testing.assert_array_equal(gv, np.zeros(3))
    got, gv = ex.run({x: np.array([1.0, 2.0, 4.0])})
    np.testing.assert_allclose(gv, [1.0, 0.5, 0.25])


# -- higher order and forward mode ---------------------------------------------------
def test_second_order_through_cond() -> None:
    w = ga.placeholder("w", shape=())
    y = ga.cond(w > 0, lambda a: a**3, ga.sin, [w])
    g1 = ga.gradients(y, w)
    g2 = ga.gradients(g1, w)
    g3 = ga.gradients(g2, w)
    ex = ga.Executor([g1, g2, g3])
    np.testing.assert_allclose(ex.run({w: np.array(2.0)}), [12.0, 12.0, 6.0])
    v = -2.0
    np.testing.assert_allclose(ex.run({w: np.array(v)}), [np.cos(v), -np.sin(v), -np.cos(v)])


def test_hessian_and_check_gradients_through_cond() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.cond(
        ga.sum(x) > 0,
        lambda v: ga.sum(v**3) * v[0],
        lambda v: ga.sum(ga.sin(v) * v),
        [x],
    )
    h = ga.hessian(y, x)
    ex = ga.Executor(h)
    np.testing.assert_allclose(ex.run({x: NEG}), np.diag(2 * np.cos(NEG) - NEG * np.sin(NEG)))
    # y = x₀⁴ + x₀x₁³ + x₀x₂³: ∂²/∂x₀² = 12x₀², ∂²/∂x₀∂xᵢ = 3xᵢ², ∂²/∂xᵢ² = 6x₀xᵢ
    x0, x1, x2 = POS
    want = np.array(
        [
            [12 * x0**2, 3 * x1**2, 3 * x2**2],
            [3 * x1**2, 6 * x0 * x1, 0.0],
            [3 * x2**2, 0.0, 6 * x0 * x2],
        ]
    )
    np.testing.assert_allclose(ex.run({x: POS}), want)
    for v in (POS, NEG):
        report = check_gradients(y, x, {x: v}, order=2)
        assert report, str(report)


def test_jvp_through_cond_for_operands_and_captured_nodes() -> None:
    (x, w, u, p), y = _routing()
    tx, tw, tu = np.array([1.0, 0.5, -1.0]), np.array(2.0), np.array(-3.0)
    t = ga.jvp(y, [x, w, u], [tx, tw, tu])
    ex, fy = ga.Executor(t), ga.Executor(y)
    xv, wv, uv = np.array([1.0, -2.0, 0.5]), np.array(1.5), np.array(-0.7)
    for pv in (1.0, -1.0):
        got = ex.run({x: xv, w: wv, u: uv, p: np.array(pv)})

        def f(a: np.ndarray, b: np.ndarray, c: np.ndarray, pv: float = pv) -> Any:
            return fy.run({x: a, w: b, u: c, p: np.array(pv)})

        fd = directional_derivative(f, [xv, wv, uv], [tx, tw, tu])
        np.testing.assert_allclose(got, fd, rtol=1e-8)
        if pv > 0:
            np.testing.assert_allclose(got, np.sum(tx * wv) + np.sum(xv) * tw)
        else:
            np.testing.assert_allclose(got, np.sum(2 * xv * tx) * uv + np.sum(xv**2) * tu)


def test_jvp_and_hvp_of_a_scalar_cond() -> None:
    w = ga.placeholder("w", shape=())
    y = ga.cond(w > 0, lambda a: a**3, ga.sin, [w])
    t1 = ga.jvp(y, w, 1.0)
    t2 = ga.jvp(t1, w, 1.0)
    hv = ga.hvp(y, w, np.array(2.0))
    ex = ga.Executor([t1, t2, hv])
    np.testing.assert_allclose(ex.run({w: np.array(2.0)}), [12.0, 12.0, 24.0])
    v = -1.0
    np.testing.assert_allclose(ex.run({w: np.array(v)}), [np.cos(v), -np.sin(v), -2 * np.sin(v)])


# -- structured results and operands ---------------------------------------------------
def test_gradient_of_one_entry_of_a_tuple_result() -> None:
    """Only t[0] is used: the cotangent of the cond's tuple has an absent entry."""
    w = ga.placeholder("w", shape=())
    t = ga.cond(w > 0, lambda a: (a * 2.0, ga.sin(a)), lambda a: (a * a, ga.cos(a)), [w])
    ex = ga.Executor([ga.gradients(t[0], w), ga.gradients(t[1], w)])
    np.testing.assert_allclose(ex.run({w: np.array(3.0)}), [2.0, np.cos(3.0)])
    np.testing.assert_allclose(ex.run({w: np.array(-3.0)}), [-6.0, np.sin(3.0)])


def test_gradient_and_jvp_of_a_product_of_tuple_entries() -> None:
    w = ga.placeholder("w", shape=())
    t = ga.cond(w > 0, lambda a: (a * 2.0, ga.sin(a)), lambda a: (a * a, ga.cos(a)), [w])
    z = t[0] * t[1]
    g = ga.gradients(z, w)
    ex = ga.Executor([z, g, ga.gradients(g, w), ga.jvp(z, w, 1.0)])
    for v in (0.5, -0.5):
        got = ex.run({w: np.array(v)})
        if v > 0:  # 2a·sin a
            want = [2 * v * np.sin(v), 2 * np.sin(v) + 2 * v * np.cos(v)]
            want.append(4 * np.cos(v) - 2 * v * np.sin(v))
        else:  # a²·cos a
            want = [v**2 * np.cos(v), 2 * v * np.cos(v) - v**2 * np.sin(v)]
            want.append(2 * np.cos(v) - 4 * v * np.sin(v) - v**2 * np.cos(v))
        np.testing.assert_allclose(got, [*want, want[1]], rtol=1e-12)


def test_structured_operand_with_a_sparse_tangent() -> None:
    p = ga.placeholder("p", type={"a": ga.TensorType(()), "b": ga.TensorType((2,))})
    y = ga.cond(p["a"] > 0, lambda q: ga.sum(q["b"]) * q["a"], lambda q: ga.sum(q["b"] ** 2), [p])
    grad = ga.gradients(y, p)
    t_b = ga.jvp(y, p, {"b": np.array([1.0, -1.0])})  # no tangent for "a"
    t_a = ga.jvp(y, p, {"a": np.array(1.0)})
    ex = ga.Executor([y, grad, t_b, t_a])
    bv = np.array([1.0, 3.0])
    got, g, tb, ta = ex.run({p: {"a": np.array(2.0), "b": bv}})
    assert got == 8.0 and tb == 0.0 and ta == 4.0
    np.testing.assert_array_equal(g["a"], 4.0)
    np.testing.assert_array_equal(g["b"], [2.0, 2.0])
    got, g, tb, ta = ex.run({p: {"a": np.array(-2.0), "b": bv}})
    assert got == 10.0 and tb == 2 * 1.0 - 2 * 3.0 and ta == 0.0
    np.testing.assert_array_equal(g["a"], 0.0)
    np.testing.assert_array_equal(g["b"], 2 * bv)


def test_an_integer_operand_gets_no_adjoint_but_the_float_one_does() -> None:
    w = ga.placeholder("w", shape=())
    n = ga.placeholder("n", shape=(), dtype="int64")
    y = ga.cond(w > 0, lambda a, k: a * ga.cast(k, "float64"), lambda a, k: a, [w, n])
    got, g = ga.evaluate([y, ga.gradients(y, w)], {w: np.array(2.0), n: np.array(3)})
    assert got == 6.0 and g == 3.0
    with pytest.raises(ga.DifferentiationError, match="integer or bool"):
        ga.gradients(y, n)


def test_a_branch_that_ignores_its_operand_sends_it_zero() -> None:
    w = ga.placeholder("w", shape=())
    y = ga.cond(w > 0, lambda a: a * 2.0, lambda a: ga.constant(np.array(5.0)), [w])
    ex = ga.Executor([y, ga.gradients(y, w)])
    assert ex.run({w: np.array(-2.0)}) == [5.0, 0.0]
    assert ex.run({w: np.array(2.0)}) == [4.0, 2.0]


# -- bad input --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("false_fn", "types"),
    [
        (lambda a: a[0], ("(3,):float64", "():float64")),
        (lambda a: ga.cast(a, "float32"), ("(3,):float64", "(3,):float32")),
        (lambda a: (a, a), ("(3,):float64", "((3,):float64, (3,):float64)")),
        (lambda a: {"q": a}, ("(3,):float64", "{'q': (3,):float64}")),
    ],
    ids=["shape", "dtype", "tuple", "dict"],
)
def test_branches_of_different_types_fail_naming_both(false_fn: Any, types: Any) -> None:
    x = ga.placeholder("x", shape=(3,))
    line = _line() + 2
    with pytest.raises(ga.GraphError, match="branches return different types") as e:
        ga.cond(ga.sum(x) > 0, lambda a: a, false_fn, [x])
    msg = str(e.value)
    assert f"{types[0]} and {types[1]}" in msg
    assert f"test_cond.py:{line}" in msg


def test_dict_branches_with_different_keys_fail() -> None:
    w = ga.placeholder("w", shape=())
    with pytest.raises(ga.GraphError, match=re.escape("{'p': ():float64} and {'q': ():float64}")):
        ga.cond(w > 0, lambda a: {"p": a}, lambda a: {"q": a}, [w])


@pytest.mark.parametrize(
    ("make_pred", "shown"),
    [(lambda x, w: x > 0, "(3,):bool"), (lambda x, w: w, "():float64")],
    ids=["not scalar", "not bool"],
)
def test_the_predicate_must_be_a_bool_scalar(make_pred: Any, shown: str) -> None:
    x = ga.placeholder("x", shape=(3,))
    w = ga.placeholder("w", shape=())
    line = _line() + 2
    with pytest.raises(ga.DTypeError, match="the predicate must be a bool scalar") as e:
        ga.cond(make_pred(x, w), ga.sin, ga.cos, [w])
    msg = str(e.value)
    assert msg.startswith("cond(") and f"got {shown}" in msg
    assert f"test_cond.py:{line}" in msg
    assert "Branch" not in msg  # the op is named, not printed with its traced graphs


def test_an_error_while_tracing_says_which_branch() -> None:
    x = ga.placeholder("x", shape=(3,))
    with pytest.raises(ga.ShapeError, match="cond: tracing the false branch: add"):
        ga.cond(ga.sum(x) > 0, ga.sin, lambda a: a + ga.constant(np.ones(4)), [x])
