"""Finite differences and check_gradients: accuracy, defaults, and localising a wrong rule.

The wrong rules are defined here, as frozen-dataclass subclasses of real ops whose ``vjp``
is deliberately wrong, and used in the middle of a chain of correct ops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

import graphad as ga
from graphad import Node
from graphad.numerical import (
    check_gradients,
    default_eps,
    directional_derivative,
    numerical_gradient,
    numerical_jacobian,
)
from graphad.ops.elementwise import Multiply, Sin, Tanh

RNG = np.random.default_rng(7)
A43 = RNG.standard_normal((4, 3))
X3 = np.array([0.1, -0.4, 0.7])
W3 = np.array([0.5, 0.2, -0.3])
EPS64 = np.finfo(np.float64).eps
EPS32 = float(np.finfo(np.float32).eps)


def exp_error(method: str, eps: float | None = None) -> float:
    """|finite difference - exact| of exp at 1.0 (h is not scaled there: |x| = 1)."""
    fd = directional_derivative(np.exp, [np.array(1.0)], [np.array(1.0)], method, eps)
    return abs(float(fd) - math.e)


# -- step sizes -------------------------------------------------------------------------------
def test_default_eps_is_sqrt_eps_forward_and_cbrt_eps_central() -> None:
    assert default_eps("forward") == pytest.approx(EPS64**0.5, rel=1e-15)
    assert default_eps("forward") == 2.0**-26
    assert default_eps("central") == pytest.approx(EPS64 ** (1 / 3), rel=1e-14)
    assert default_eps("forward", np.float32) == pytest.approx(EPS32**0.5, rel=1e-15)
    assert default_eps("central", np.float32) == pytest.approx(EPS32 ** (1 / 3), rel=1e-14)
    assert default_eps("central", "float32") == default_eps("central", np.float32)
    # integers are differentiated as float64
    assert default_eps("central", np.int32) == default_eps("central", np.float64)


def test_default_eps_rejects_an_unknown_method() -> None:
    with pytest.raises(ga.GraphError, match="sideways"):
        default_eps("sideways")


def test_central_difference_is_much_more_accurate_at_the_defaults() -> None:
    forward, central = exp_error("forward"), exp_error("central")
    assert forward < 1e-7
    assert central < 1e-9
    assert central < forward / 100


def test_forward_error_is_first_order_and_central_second_order() -> None:
    # shrinking h tenfold divides the truncation error by 10 (O(h)) and by 100 (O(h²))
    assert exp_error("forward", 1e-2) / exp_error("forward", 1e-3) == pytest.approx(10, rel=0.05)
    assert exp_error("central", 1e-2) / exp_error("central", 1e-3) == pytest.approx(100, rel=0.05)
    # the leading terms: h/2·f'' and h²/6·f''' with f = exp at 1
    assert exp_error("forward", 1e-3) == pytest.approx(1e-3 / 2 * math.e, rel=1e-2)
    assert exp_error("central", 1e-3) == pytest.approx(1e-6 / 6 * math.e, rel=1e-2)


def test_the_step_scales_with_the_magnitude_of_x() -> None:
    # at x = 1e6 the step is ∛ε·|x| ≈ 6; the unscaled ∛ε ≈ 6e-6 would drown in rounding
    x0, v = np.array(1e6), np.array(1.0)
    scaled = float(directional_derivative(np.square, [x0], [v]))
    unscaled = float(directional_derivative(np.square, [x0], [v], eps=default_eps("central") / 1e6))
    assert abs(scaled - 2e6) / 2e6 < 1e-10
    assert abs(unscaled - 2e6) / 2e6 > 1e-8


# -- differences of known functions -------------------------------------------------------------
@pytest.mark.parametrize(("method", "rtol"), [("central", 1e-9), ("forward", 1e-6)])
def test_directional_derivative_of_known_functions(method: str, rtol: float) -> None:
    fd = directional_derivative(np.sin, [np.array(0.3)], [np.array(1.0)], method)
    assert float(fd) == pytest.approx(math.cos(0.3), rel=rtol)

    def f(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a * np.exp(b)

    a, b, va, vb = X3, W3, np.array([1.0, 0.0, 2.0]), np.array([0.5, -1.0, 1.0])
    fd = directional_derivative(f, [a, b], [va, vb], method)
    np.testing.assert_allclose(fd, va * np.exp(b) + a * np.exp(b) * vb, rtol=rtol, atol=rtol)


@pytest.mark.parametrize(("method", "rtol"), [("central", 1e-9), ("forward", 1e-6)])
def test_numerical_gradient_of_a_python_function(method: str, rtol: float) -> None:
    grad = numerical_gradient(lambda x: np.sum(x**3), X3, method=method)
    np.testing.assert_allclose(grad, 3 * X3**2, rtol=rtol, atol=rtol)
    # a vector-valued f: the gradient of its sum
    grad = numerical_gradient(np.sin, X3, method=method)
    np.testing.assert_allclose(grad, np.cos(X3), rtol=rtol, atol=rtol)


def test_numerical_jacobian_of_a_python_function() -> None:
    jac = numerical_jacobian(lambda x: A43 @ np.tanh(x), X3)
    assert jac.shape == (4, 3)
    np.testing.assert_allclose(jac, A43 * (1 - np.tanh(X3) ** 2), rtol=1e-8, atol=1e-10)
    m = RNG.standard_normal((2, 3))
    jac = numerical_jacobian(lambda x: np.sum(x**2, axis=0), m)  # (2, 3) -> (3,)
    assert jac.shape == (3, 2, 3)
    np.testing.assert_allclose(
        jac,
        np.einsum("jk,i->ijk", 2 * m, np.ones(3)) * np.eye(3)[:, None, :],
        rtol=1e-8,
        atol=1e-10,
    )


def test_numerical_jacobian_and_gradient_of_a_graph() -> None:
    x = ga.placeholder("x", shape=(3,))
    w = ga.placeholder("w", shape=(3,))
    y = ga.sin(x) * w
    expected = np.diag(np.cos(X3) * W3)
    # the other placeholder fed first, as a node; then everything by name
    for feeds in ({w: W3, x: X3}, {x: X3, w: W3}, {"w": W3, "x": X3}):
        np.testing.assert_allclose(numerical_jacobian(y, x, feeds), expected, atol=1e-10)
        np.testing.assert_allclose(
            numerical_gradient(y, x, feeds), np.cos(X3) * W3, rtol=1e-9, atol=1e-10
        )
    np.testing.assert_allclose(
        numerical_gradient(ga.sum(y), w, {x: X3, w: W3}, method="forward"), np.sin(X3), rtol=1e-6
    )


def test_numerical_differences_of_a_float32_graph_use_a_float32_step() -> None:
    # float32 rounding (1e-7) over float64's step (6e-6) would leave a 2% error
    x = ga.placeholder("x", shape=(3,), dtype=np.float32)
    y = ga.sum(ga.sin(x))
    x0 = np.array([1.0, -0.5, 2.0], dtype=np.float32)
    grad = numerical_gradient(y, x, {x: x0})
    np.testing.assert_allclose(grad, np.cos(x0.astype(float)), rtol=1e-4, atol=1e-4)
    jac = numerical_jacobian(ga.exp(x), x, {x: x0})
    np.testing.assert_allclose(jac, np.diag(np.exp(x0.astype(float))), rtol=1e-4, atol=1e-4)


def test_numerical_differences_of_a_graph_need_a_fed_placeholder() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.sin(x)
    with pytest.raises(ga.GraphError, match="placeholder"):
        numerical_gradient(y, y, {x: X3})
    with pytest.raises(ga.GraphError, match="'x'"):
        numerical_jacobian(y, x, {})


# -- check_gradients on correct graphs ------------------------------------------------------------
def chain(x: Node, w: Node) -> Node:
    a = ga.sin(x) * w
    b = ga.tanh(ga.matmul(ga.constant(A43), a))
    return ga.sum(ga.exp(0.5 * b) * ga.sigmoid(b)) + ga.sum(x * x * w)


@pytest.mark.parametrize("order", [1, 2])
def test_check_gradients_passes_on_a_correct_graph(order: int) -> None:
    x = ga.placeholder("x", shape=(3,))
    w = ga.placeholder("w", shape=(3,))
    result = check_gradients(chain(x, w), [x, w], {x: X3, w: W3}, order=order)
    assert bool(result)
    assert result.ok and result.order == order
    assert result.tolerance == 1e-5
    expected = {"reverse", "forward"} | ({"symmetry"} if order == 2 else set())
    assert set(result.errors) == expected
    assert all(e < 1e-8 for e in result.errors.values()), result.errors
    assert result.suspect is None and result.culprit is None
    assert "passed" in str(result)


def test_check_gradients_of_a_non_scalar_y_with_named_feeds() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.matmul(ga.constant(A43), ga.tanh(x))  # reduced to ⟨u, y⟩ with a random u
    result = check_gradients(y, x, {"x": X3}, order=2)
    assert result, str(result)


def test_check_gradients_in_float32_uses_a_looser_tolerance() -> None:
    x = ga.placeholder("x", shape=(3,), dtype=np.float32)
    y = ga.sum(ga.tanh(x) * ga.exp(x))
    result = check_gradients(y, x, {x: X3.astype(np.float32)}, order=2)
    assert result, str(result)
    assert result.tolerance == 1e-2
    # with a float32 step the differences are good to ~1e-5, far inside the tolerance
    assert all(e < 1e-4 for e in result.errors.values()), result.errors


def test_check_gradients_rejects_bad_arguments() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.sum(ga.sin(x))
    with pytest.raises(ga.GraphError, match="order"):
        check_gradients(y, x, {x: X3}, order=3)
    with pytest.raises(ga.GraphError, match="placeholder"):
        check_gradients(y, ga.sin(x), {x: X3})


# -- check_gradients on deliberately wrong rules --------------------------------------------------
@dataclass(frozen=True)
class WrongTanh(Tanh):
    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = g·(1 + tanh²x): the sign of tanh² is wrong"""
        return (g * (1 + ga.square(node)),)


@dataclass(frozen=True)
class FrozenSin(Sin):
    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = g·cos(x), right in value, but cos(x) is hidden from the next derivative"""
        return (g * ga.stop_gradient(ga.cos(node.inputs[0])),)


@dataclass(frozen=True)
class SkewedMultiply(Multiply):
    def vjp(self, node: Node, g: Node) -> tuple[Node, Node]:
        """ā = g·b, b̄ = 2·g·a: not the gradient of anything, so its "Hessian" is not symmetric"""
        a, b = node.inputs
        return (g * b, 2.0 * g * a)


@pytest.mark.parametrize("order", [1, 2])
def test_check_gradients_localises_a_wrong_rule_in_a_chain(order: int) -> None:
    x = ga.placeholder("x", shape=(3,))
    w = ga.placeholder("w", shape=(3,))
    a = ga.sin(x) * w
    b = WrongTanh()(ga.matmul(ga.constant(A43), a))
    y = ga.sum(ga.exp(0.5 * b) * x[0]) + ga.sum(ga.square(w))
    result = check_gradients(y, [x, w], {x: X3, w: W3}, order=order)
    assert not result
    assert result.errors["reverse"] > result.tolerance
    assert result.errors["forward"] < 1e-8  # the jvp rule is the right one
    assert result.culprit is b
    assert result.suspect is b.inputs[0]
    message = str(result)
    assert "FAILED" in message
    assert "wrong_tanh" in message and b.name in message


def test_check_gradients_localises_a_wrong_partial_of_a_binary_op() -> None:
    x = ga.placeholder("x", shape=(3,))
    w = ga.placeholder("w", shape=(3,))
    product = SkewedMultiply()(x, w)
    y = ga.sum(ga.sin(product))
    result = check_gradients(y, [x, w], {x: X3, w: W3})
    assert not result
    assert result.culprit is product and result.suspect is w  # x's partial is right
    assert "skewed_multiply" in str(result)


def test_check_gradients_order_2_catches_an_asymmetric_hessian() -> None:
    x = ga.placeholder("x", shape=(3,))
    w = ga.placeholder("w", shape=(3,))
    y = ga.sum(ga.sin(SkewedMultiply()(x, w)))
    result = check_gradients(y, [x, w], {x: X3, w: W3}, order=2)
    assert not result
    assert result.errors["symmetry"] > 1e-2


def test_only_the_second_order_check_catches_a_rule_that_is_not_differentiable() -> None:
    x = ga.placeholder("x", shape=(3,))
    inner = x * 1.5
    s = FrozenSin()(inner)
    y = ga.sum(ga.exp(0.3 * s) * x)
    feeds = {x: X3}
    first = check_gradients(y, x, feeds, order=1)
    assert first, str(first)
    assert all(e < 1e-8 for e in first.errors.values())
    second = check_gradients(y, x, feeds, order=2)
    assert not second
    assert second.errors["reverse"] > 1e-3 and second.errors["forward"] > 1e-3
    assert second.errors["symmetry"] < 1e-8  # consistently wrong, but symmetric
    # the first adjoint that goes wrong is that of the rule's input: the path through
    # the hidden cos(x) is missing from it
    assert second.suspect is inner
    assert inner.name in str(second)
