"""Custom ops, the documented way: a frozen dataclass subclass of ``ga.Op``.

A user's softplus (infer, compute, vjp, jvp built from graphad ops) must
take part in every pass like a built-in op: gradients to third order,
jvp, hessian, check_gradients at order 2.  A missing rule or a failing shape
rule must be reported by the op's name and the user's line.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest

import graphad as ga
from graphad.numerical import check_gradients, numerical_gradient

RNG = np.random.default_rng(7)


def _line() -> int:
    return sys._getframe(1).f_lineno


@dataclass(frozen=True)
class Softplus(ga.Op):
    """log(1 + eˣ), computed as logaddexp(0, x) so that large |x| neither overflow nor lose 0."""

    def infer(self, x: ga.TensorType) -> ga.TensorType:
        if not isinstance(x, ga.TensorType) or x.dtype.kind != "f":
            raise ga.DTypeError(f"softplus needs a float tensor, got {x}")
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.logaddexp(0, x)

    def vjp(self, node: ga.Node, g: ga.Node) -> tuple[ga.Node]:
        """x̄ = g·σ(x)"""
        return (g * ga.sigmoid(node.inputs[0]),)

    def jvp(self, node: ga.Node, t: Sequence[ga.Node | None]) -> ga.Node | None:
        """ẏ = σ(x)·ẋ"""
        return None if t[0] is None else t[0] * ga.sigmoid(node.inputs[0])


def softplus(x: ga.Node) -> ga.Node:
    return Softplus()(x)


def _sigma(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


POINTS = np.array([-30.0, -2.0, -0.5, 0.0, 0.7, 3.0, 30.0])


# -- the softplus takes part in every pass -----------------------------------------------
def test_value_is_stable_for_large_arguments() -> None:
    x = ga.placeholder("x", shape=(4,))
    y = softplus(x)
    assert y.type == x.type and y.op.name == "softplus"
    xv = np.array([-800.0, 0.0, 1.0, 800.0])
    got = ga.evaluate(y, {x: xv})
    np.testing.assert_allclose(got, [0.0, np.log(2.0), np.log1p(np.e), 800.0], rtol=1e-15)
    assert np.all(np.isfinite(got))


def test_gradients_to_third_order_against_closed_forms() -> None:
    x = ga.placeholder("x", shape=POINTS.shape)
    d1 = ga.gradients(ga.sum(softplus(x)), x)
    d2 = ga.gradients(ga.sum(d1), x)
    d3 = ga.gradients(ga.sum(d2), x)
    got1, got2, got3 = ga.evaluate([d1, d2, d3], {x: POINTS})
    s = _sigma(POINTS)
    np.testing.assert_allclose(got1, s, rtol=1e-14)
    np.testing.assert_allclose(got2, s * (1 - s), rtol=1e-12)
    np.testing.assert_allclose(got3, s * (1 - s) * (1 - 2 * s), rtol=1e-10, atol=1e-300)
    # and independently of the closed forms: each order is the difference quotient of the last
    for lower, higher in [(ga.sum(softplus(x)), got1), (d1, got2), (d2, got3)]:
        fd = numerical_gradient(lower, x, {x: POINTS})
        np.testing.assert_allclose(higher, fd, rtol=1e-6, atol=1e-9)


def test_jvp_to_second_order() -> None:
    x = ga.placeholder("x", shape=POINTS.shape)
    v = RNG.standard_normal(POINTS.shape)
    t1 = ga.jvp(softplus(x), x, v)
    t2 = ga.jvp(t1, x, v)
    got1, got2 = ga.evaluate([t1, t2], {x: POINTS})
    s = _sigma(POINTS)
    np.testing.assert_allclose(got1, s * v, rtol=1e-14)
    np.testing.assert_allclose(got2, s * (1 - s) * v * v, rtol=1e-12, atol=1e-300)


def test_hessian_of_a_composite_is_a_transpose_d_a() -> None:
    """y = Σ softplus(A x): H = Aᵀ diag(σ'(Ax)) A, with a non-square A."""
    a = RNG.standard_normal((4, 3))
    x = ga.placeholder("x", shape=(3,))
    y = ga.sum(softplus(ga.constant(a) @ x))
    xv = RNG.standard_normal(3)
    z = a @ xv
    s = _sigma(z)
    want = a.T @ np.diag(s * (1 - s)) @ a
    h, h_rev = ga.evaluate([ga.hessian(y, x), ga.hessian(y, x, mode="reverse")], {x: xv})
    np.testing.assert_allclose(h, want, rtol=1e-12)
    np.testing.assert_allclose(h_rev, want, rtol=1e-12)
    hv = ga.evaluate(ga.hvp(y, x, np.array([1.0, -2.0, 0.5])), {x: xv})
    np.testing.assert_allclose(hv, want @ [1.0, -2.0, 0.5], rtol=1e-12)


def test_check_gradients_at_second_order_in_a_larger_graph() -> None:
    x = ga.placeholder("x", shape=(2, 3))
    w = ga.placeholder("w", shape=(3,))
    y = ga.sum(softplus(x * w) * ga.sin(x)) + ga.sum(softplus(-ga.square(w)))
    feeds = {x: RNG.standard_normal((2, 3)), w: RNG.standard_normal(3)}
    for order in (1, 2):
        report = check_gradients(y, [x, w], feeds, order=order)
        assert report, str(report)


# -- an op with an attribute and two broadcast inputs --------------------------------------
@dataclass(frozen=True)
class ScaledHypot(ga.Op):
    """k·sqrt(a² + b²) with NumPy broadcasting; its rules return broadcast-shaped adjoints."""

    k: float

    def infer(self, a: ga.TensorType, b: ga.TensorType) -> ga.TensorType:
        shape = np.broadcast_shapes(a.shape, b.shape)  # static shapes suffice for the test
        return ga.TensorType(shape, np.result_type(a.dtype, b.dtype))

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self.k * np.hypot(a, b)

    def vjp(self, node: ga.Node, g: ga.Node) -> tuple[ga.Node, ga.Node]:
        """ā = g·k²·a/y, b̄ = g·k²·b/y   (in y's shape; the pass sums them down)"""
        a, b = node.inputs
        scale = g * (self.k**2) / node
        return scale * a, scale * b

    def jvp(self, node: ga.Node, t: Sequence[ga.Node | None]) -> ga.Node | None:
        """ẏ = k²·(a·ȧ + b·ḃ)/y"""
        parts = [ti * x for ti, x in zip(t, node.inputs) if ti is not None]
        if not parts:
            return None
        total = parts[0] if len(parts) == 1 else parts[0] + parts[1]
        return total * (self.k**2) / node


def test_ops_are_values_compared_by_class_and_attributes() -> None:
    assert ScaledHypot(2.0) == ScaledHypot(2.0)
    assert hash(ScaledHypot(2.0)) == hash(ScaledHypot(2.0))
    assert ScaledHypot(2.0) != ScaledHypot(3.0)
    assert Softplus() == Softplus()
    assert str(ScaledHypot(2.0)) == "scaled_hypot(k=2.0)"


def test_an_attribute_and_broadcast_inputs_are_handled_by_the_pass() -> None:
    a = ga.placeholder("a", shape=(2, 3))
    b = ga.placeholder("b", shape=(3,))
    y = ScaledHypot(2.5)(a, b)
    assert y.shape == (2, 3)
    feeds = {a: RNG.standard_normal((2, 3)), b: RNG.uniform(0.5, 1.0, 3)}
    ga_, gb = ga.evaluate(ga.gradients(ga.sum(y), [a, b]), feeds)
    assert ga_.shape == (2, 3) and gb.shape == (3,)
    hyp = np.hypot(feeds[a], feeds[b])
    np.testing.assert_allclose(ga_, 2.5 * feeds[a] / hyp, rtol=1e-14)
    np.testing.assert_allclose(gb, np.sum(2.5 * feeds[b] / hyp, axis=0), rtol=1e-14)
    np.testing.assert_allclose(gb, numerical_gradient(y, b, feeds), rtol=1e-8)
    target = ga.sum(y * ga.sin(a))
    for order in (1, 2):
        report = check_gradients(target, [a, b], feeds, order=order)
        assert report, str(report)


# -- missing rules and failing shape rules ---------------------------------------------
@dataclass(frozen=True)
class DoubleNoJvp(ga.Op):
    """2x, with a vjp but no jvp."""

    def infer(self, x: ga.TensorType) -> ga.TensorType:
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        return 2 * x

    def vjp(self, node: ga.Node, g: ga.Node) -> tuple[ga.Node]:
        return (2.0 * g,)


@dataclass(frozen=True)
class DoubleNoVjp(ga.Op):
    """2x, with neither rule."""

    def infer(self, x: ga.TensorType) -> ga.TensorType:
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        return 2 * x


def test_an_op_without_jvp_works_in_reverse_mode_and_names_itself_in_forward_mode() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.sum(DoubleNoJvp()(x) * x)
    np.testing.assert_allclose(ga.evaluate(ga.gradients(y, x), {x: np.ones(3)}), [4.0, 4.0, 4.0])
    for forward in (
        lambda: ga.jvp(y, x, np.ones(3)),
        lambda: ga.hvp(y, x, np.ones(3)),
        lambda: ga.jacobian(DoubleNoJvp()(x), x, mode="forward"),
    ):
        with pytest.raises(ga.DifferentiationError, match=r"double_no_jvp: no jvp rule"):
            forward()


def test_an_op_without_vjp_names_itself_in_reverse_mode() -> None:
    x = ga.placeholder("x", shape=(3,))
    with pytest.raises(ga.DifferentiationError, match=r"double_no_vjp: no vjp rule"):
        ga.gradients(ga.sum(DoubleNoVjp()(x)), x)
    assert ga.evaluate(DoubleNoVjp()(x), {x: np.ones(3)}).tolist() == [2.0, 2.0, 2.0]


@dataclass(frozen=True)
class MatrixOnly(ga.Op):
    """Accepts rank-2 tensors only."""

    def infer(self, x: ga.TensorType) -> ga.TensorType:
        if x.ndim != 2:
            raise ga.ShapeError(f"needs a matrix, got rank {x.ndim}")
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        return x


def test_a_failing_shape_rule_names_the_op_the_operand_and_the_line() -> None:
    x = ga.placeholder("x", shape=(3,))
    line = _line() + 2
    with pytest.raises(ga.GraphError) as e:
        MatrixOnly()(x)
    msg = str(e.value)
    assert isinstance(e.value, ga.ShapeError)
    assert msg.startswith("matrix_only((3,):float64): needs a matrix, got rank 1")
    assert f"test_custom_ops.py:{line}" in msg
    with pytest.raises(ga.DTypeError, match=r"softplus\(\(3,\):int64\): softplus needs a float"):
        softplus(ga.placeholder("i", shape=(3,), dtype="int64"))


@dataclass(frozen=True)
class WrongArity(ga.Op):
    """A vjp that returns two adjoints for one input."""

    def infer(self, x: ga.TensorType) -> ga.TensorType:
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        return x

    def vjp(self, node: ga.Node, g: ga.Node) -> tuple[ga.Node, ga.Node]:
        return g, g


def test_a_vjp_with_the_wrong_number_of_adjoints_is_reported() -> None:
    x = ga.placeholder("x", shape=(3,))
    with pytest.raises(ga.DifferentiationError, match="wrong_arity: vjp returned 2 adjoints for 1"):
        ga.gradients(ga.sum(WrongArity()(x)), x)
