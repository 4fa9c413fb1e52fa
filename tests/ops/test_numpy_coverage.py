"""What the op table cannot check for the NumPy-coverage functions: integer results,
exact values at special points, and the errors that bad arguments raise."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.ir import Constant

RNG = np.random.default_rng(7)


def run(node: Any, feeds: dict[ga.Node, np.ndarray]) -> Any:
    return ga.evaluate(node, feeds)


# -- ordering --------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [-1, 0, None])
def test_argsort_is_numpys_stable_argsort(axis: int | None) -> None:
    values = RNG.integers(0, 3, (4, 5)).astype(float)  # many ties: stability decides
    x = ga.placeholder("x", (4, 5))
    out = run(ga.argsort(x, axis=axis), {x: values})
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, np.argsort(values, axis=axis, kind="stable"))


def test_argpartition_puts_kth_in_place() -> None:
    values = RNG.standard_normal((3, 8))
    x = ga.placeholder("x", (3, 8))
    idx = run(ga.argpartition(x, [2, -1], axis=1), {x: values})
    taken = np.take_along_axis(values, idx, axis=1)
    np.testing.assert_array_equal(taken[:, [2, 7]], np.sort(values, axis=1)[:, [2, 7]])


def test_sort_at_ties_sends_each_share_through_the_stable_permutation() -> None:
    x = ga.placeholder("x", (4,))
    w = ga.constant([1.0, 2.0, 3.0, 4.0])
    g = run(ga.gradients(ga.sum(ga.sort(x) * w), x), {x: np.array([2.0, 1.0, 2.0, 0.0])})
    np.testing.assert_array_equal(g, [3.0, 2.0, 4.0, 1.0])


def test_sort_refuses_fields() -> None:
    x = ga.placeholder("x", (3,))
    with pytest.raises(ga.GraphError, match=r"sort.*order=.*test_numpy_coverage"):
        ga.sort(x, order="f")  # complex values sort: tests/ops/test_complex_order.py


# -- scans -----------------------------------------------------------------------------
def test_cumprod_is_exact_at_zeros_to_second_order() -> None:
    x = ga.placeholder("x", (4,))
    v = np.array([2.0, 0.0, 3.0, 0.0])
    y = ga.sum(ga.cumprod(x))
    g = ga.gradients(y, x)
    h = ga.hessian(y, x)
    gv, hv = run([g, h], {x: v})
    # y = x0 + x0x1 + x0x1x2 + x0x1x2x3
    np.testing.assert_array_equal(gv, [1.0, 2.0 + 6.0, 0.0, 0.0])
    expected = np.zeros((4, 4))
    expected[0, 1] = expected[1, 0] = 1 + 3
    expected[1, 2] = expected[2, 1] = 2
    expected[1, 3] = expected[3, 1] = 2 * 3
    np.testing.assert_array_equal(hv, expected)


# cumprod of an axis of unknown length: the op table's unknown-dims rows (cumprod[...])


def test_gradient_errors_name_the_function() -> None:
    x = ga.placeholder("x", (2, 3))
    with pytest.raises(ga.ShapeError, match=r"gradient.*too short for edge_order=2"):
        ga.gradient(x, axis=0, edge_order=2)
    with pytest.raises(ga.ShapeError, match=r"gradient.*3 spacings for 2 axes"):
        ga.gradient(x, 1.0, 2.0, 3.0)


# -- building --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "build, match",
    [
        (lambda x: ga.pad(x, 1, mode="median"), "mode must be one of"),
        (lambda x: ga.pad(x, ((1, 2, 3),)), "do not fit rank 2"),
        (lambda x: ga.repeat(x, [1, 2], axis=1), "2 repeats for an axis of length 3"),
        (lambda x: ga.rot90(x, axes=(0, 0)), "repeated axis"),
        (lambda x: ga.moveaxis(x, [0, 1], [0]), "do not pair up"),
        (lambda x: ga.dsplit(x, 2), "needs rank ≥ 3"),
        (lambda x: ga.flip(x, axis=2), "axis 2 is out of range"),
        (lambda x: ga.select([x > 0], [x, x]), "1 conditions but 2 choices"),
    ],
)
def test_bad_arguments_are_shape_errors_naming_the_line(build: Any, match: str) -> None:
    x = ga.placeholder("x", (2, 3))
    with pytest.raises(ga.ShapeError, match=match) as info:
        build(x)
    assert "test_numpy_coverage.py" in str(info.value)


def test_linspace_endpoint_is_stop_exactly() -> None:
    a, b = ga.placeholder("a", ()), ga.placeholder("b", ())
    out = run(ga.linspace(a, b, 7), {a: np.array(0.1), b: np.array(0.7)})
    assert out[-1] == 0.7
    np.testing.assert_allclose(out, np.linspace(0.1, 0.7, 7), rtol=1e-15)


# -- tensor products -------------------------------------------------------------------
def test_einsum_sublist_form_from_the_issue() -> None:
    x, y = ga.placeholder("x", (2, 3)), ga.placeholder("y", (3, 4))
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 4))
    out = run(ga.einsum(x, [0, 1], y, [1, 2]), {x: a, y: b})
    np.testing.assert_allclose(out, a @ b, rtol=1e-12)


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda x: ga.einsum("...j->j", x), "needs '...' for the broadcast dims"),
        (lambda x: ga.einsum("ij,jk", x), "names 2 operands, got 1"),
        (lambda x: ga.einsum(x, [0, 99]), "sublists hold ints below 52"),
        (lambda x: ga.einsum("ijk", x), "has shape"),
        (lambda x: ga.tensordot(x, x, 3), "cannot contract 3 axes"),
        (lambda x: ga.tensordot(x, x, ([0, 1], [0])), "pair 2 with 1 axes"),
        (lambda x: ga.cross(x, x, axis=0), "takes 3-vectors"),
        (lambda x: ga.diagonal(x, axis1=1, axis2=-1), "axis1 and axis2 are both 1"),
        (lambda x: ga.tril(ga.sum(x, 0)), "needs rank ≥ 2"),
    ],
)
def test_product_errors_name_the_function(build: Any, match: str) -> None:
    x = ga.placeholder("x", (2, 3))
    with pytest.raises(ga.ShapeError, match=match) as info:
        build(x)
    assert "test_numpy_coverage.py" in str(info.value)


def test_diag_keeps_inf_without_nan_beside_it() -> None:
    v = ga.placeholder("v", (3,))
    out = run(ga.diag(v, 1), {v: np.array([1.0, np.inf, -2.0])})
    np.testing.assert_array_equal(out, np.diag([1.0, np.inf, -2.0], 1))


def test_eye_and_identity_are_constants() -> None:
    assert isinstance(ga.eye(3).op, Constant)
    np.testing.assert_array_equal(run(ga.eye(3, 4, k=-1, dtype=int), {}), np.eye(3, 4, -1, int))
    np.testing.assert_array_equal(run(ga.identity(3), {}), np.identity(3))


# -- ga.linalg -------------------------------------------------------------------------
def test_np_linalg_functions_dispatch_to_ga_linalg() -> None:
    a = ga.placeholder("a", (3, 3))
    m = RNG.standard_normal((3, 3)) + 3 * np.eye(3)
    sign, logdet = np.linalg.slogdet(a)
    fetches = [np.linalg.norm(a, "nuc"), sign, logdet, np.linalg.inv(a), np.linalg.pinv(a)]
    out = run(fetches, {a: m})
    expected = [
        np.linalg.norm(m, "nuc"),
        *np.linalg.slogdet(m),
        np.linalg.inv(m),
        np.linalg.pinv(m),
    ]
    for got, want in zip(out, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    with pytest.raises(ga.GraphError, match=r"np\.linalg\.eig: graphad has no such function"):
        np.linalg.eig(a)


def test_eigh_derivative_ignores_the_upper_triangle_as_numpy_does() -> None:
    a = ga.placeholder("a", (3, 3))
    g = run(ga.gradients(ga.sum(ga.linalg.eigvalsh(a) ** 2), a), {a: np.diag([1.0, 2.0, 3.0])})
    np.testing.assert_allclose(g, np.diag([2.0, 4.0, 6.0]))  # the trace of A²: 2A, lower part
    lower = run(ga.gradients(ga.sum(ga.linalg.eigvalsh(a) ** 2), a), {a: np.ones((3, 3))})
    np.testing.assert_allclose(np.triu(lower, 1), 0.0)


@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda a: ga.linalg.svd(a), ga.ShapeError, "full_matrices=False"),
        (lambda a: ga.linalg.eigh(a), ga.ShapeError, "matrices must be square"),
        (lambda a: ga.linalg.qr(a, mode="complete"), ga.ShapeError, "mode='reduced'"),
        (lambda a: ga.linalg.norm(a, "bad"), ga.ShapeError, "invalid matrix norm order"),
        (lambda a: ga.linalg.norm(a, axis=(0, 1, 1)), ga.ShapeError, "out of range or repeated"),
        (lambda a: ga.linalg.matrix_power(a, 2), ga.ShapeError, "matrices must be square"),
        (lambda a: ga.linalg.svd(ga.cast(a, complex), False), ga.DTypeError, "complex matrices"),
        (lambda a: ga.linalg.slogdet(a), ga.ShapeError, "matrices must be square"),
        (lambda a: ga.linalg.slogdet(ga.cast(a[:, :2], complex)), ga.DTypeError, "complex"),
        (lambda a: ga.gradients(ga.sum(ga.linalg.qr(a).R), a), ga.DifferentiationError, "M ≥ N"),
    ],
)
def test_linalg_errors(build: Any, error: type, match: str) -> None:
    a = ga.placeholder("a", (2, 3))
    with pytest.raises(error, match=match):
        build(a)


def test_matrix_power_zero_is_the_identity_with_a_zero_derivative() -> None:
    a = ga.placeholder("a", (2, 2))
    p = ga.linalg.matrix_power(a, 0)
    value, grad = run([p, ga.gradients(ga.sum(p), a)], {a: np.ones((2, 2))})
    np.testing.assert_array_equal(value, np.eye(2))
    np.testing.assert_array_equal(grad, np.zeros((2, 2)))


def test_linspace_floors_into_integer_dtypes_as_numpy_does() -> None:
    a = ga.placeholder("a", ())
    for start, stop in [(-3.7, 2.2), (0.0, 10.0)]:
        y = ga.linspace(a, stop, 7, dtype=np.int64)
        assert y.dtype == np.int64
        np.testing.assert_array_equal(
            run(y, {a: np.array(start)}), np.linspace(start, stop, 7, dtype=np.int64)
        )
    with pytest.raises(ga.DTypeError, match=r"linspace.*number dtype, got bool"):
        ga.linspace(a, 1.0, 4, dtype=bool)
