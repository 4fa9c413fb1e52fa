"""where with NumPy's keyword names, and its one-argument form, nonzero."""

from __future__ import annotations

import numpy as np
import pytest

import graphad as ga

VALUE = np.array([[0.5, -1.0, 0.0, 2.0], [-0.25, 3.0, 0.0, -4.0], [1.0, 0.0, -2.0, 0.5]])


@pytest.fixture
def x() -> ga.Node:
    return ga.placeholder("x", VALUE.shape)


def test_where_takes_numpys_keyword_names(x: ga.Node) -> None:
    y = ga.where(condition=x > 0, x=x, y=-x)
    np.testing.assert_array_equal(ga.evaluate(y, {x: VALUE}), np.abs(VALUE))
    assert ga.evaluate(np.where(x > 0, x, 0.0), {x: VALUE}).shape == VALUE.shape


@pytest.mark.parametrize(
    "build",
    [ga.nonzero, np.nonzero, np.where, lambda m: ga.where(m)],
    ids=["ga", "np", "np.where", "ga.where"],
)
def test_nonzero_and_one_argument_where_give_numpys_indices(x: ga.Node, build: object) -> None:
    for mask in (x > 0, x):  # a condition, and the nonzero entries of a float array
        indices = build(mask)  # type: ignore[operator]
        assert isinstance(indices, tuple) and len(indices) == 2
        assert all(i.dtype == np.int64 and i.shape == (None,) for i in indices)
        expected = np.nonzero(VALUE > 0 if mask is not x else VALUE)
        for got, want in zip(ga.evaluate(list(indices), {x: VALUE}), expected):
            np.testing.assert_array_equal(got, want)


def test_nonzero_indices_gather_and_the_gather_is_differentiable(x: ga.Node) -> None:
    picked = x[ga.nonzero(x > 0)]
    value, grad = ga.evaluate([picked, ga.gradients(ga.sum(picked**2), x)], {x: VALUE})
    np.testing.assert_array_equal(value, VALUE[VALUE > 0])
    np.testing.assert_array_equal(grad, np.where(VALUE > 0, 2 * VALUE, 0.0))


def test_nonzero_has_no_derivative(x: ga.Node) -> None:
    rows, _ = ga.nonzero(x)
    s = ga.sum(ga.cast(rows, float))
    assert ga.evaluate(ga.gradients(s, x), {x: VALUE}).tolist() == np.zeros(VALUE.shape).tolist()


def test_errors_name_the_op(x: ga.Node) -> None:
    with pytest.raises(ga.ShapeError, match=r"where\(.*give both x and y, or neither"):
        ga.where(x > 0, x)
    with pytest.raises(ga.ShapeError, match=r"nonzero.*0-d"):
        ga.nonzero(ga.placeholder("s", ()))
    with pytest.raises(ga.DTypeError, match="condition must be bool"):
        ga.where(x, x, 0.0)


def test_nonzero_under_vmap_is_a_clear_error(x: ga.Node) -> None:
    batch = ga.placeholder("xb", (2, *VALUE.shape))
    with pytest.raises(ga.BatchingError, match="nonzero: each example has its own number"):
        ga.vmap(ga.nonzero(x)[0], {x: batch})
