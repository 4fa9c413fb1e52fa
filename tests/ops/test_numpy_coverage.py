"""What the op table cannot check for the NumPy-coverage functions: integer results,
exact values at special points, and the errors that bad arguments raise."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphad as ga

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


def test_sort_refuses_fields_and_complex() -> None:
    x = ga.placeholder("x", (3,))
    with pytest.raises(ga.GraphError, match=r"sort.*order=.*test_numpy_coverage"):
        ga.sort(x, order="f")
    with pytest.raises(ga.ShapeError, match="complex values have no order"):
        ga.sort(ga.placeholder("z", (3,), "complex128"))


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


def test_cumprod_needs_the_axis_length() -> None:
    with pytest.raises(ga.ShapeError, match=r"cumprod.*length of axis 0"):
        ga.cumprod(ga.placeholder("x", (None, 3)), axis=0)


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
