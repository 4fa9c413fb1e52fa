"""Ops on operands whose dims are known only at run time, where the type checker found them
failing: every dim a rule needs is static, the others may stay unknown."""

from __future__ import annotations

import numpy as np

import graphad as ga


def test_pad_with_a_constant_keeps_the_other_dims_unknown() -> None:
    x = ga.placeholder("x", shape=(None, 3))
    c = ga.placeholder("c", shape=())
    y = ga.pad(x, ((0, 0), (1, 2)), constant_values=c)
    assert y.shape == (None, 6)
    value = np.arange(6.0).reshape(2, 3)
    out = ga.evaluate(y, {x: value, c: 5.0})
    np.testing.assert_array_equal(out, np.pad(value, ((0, 0), (1, 2)), constant_values=5.0))
    gx, gc = ga.gradients(ga.sum(y * y), [x, c])
    gx_value, gc_value = ga.evaluate([gx, gc], {x: value, c: 5.0})
    np.testing.assert_allclose(gx_value, 2 * value)
    assert gc_value == 2 * 5.0 * (2 * 3)  # the six padded entries of each of two rows


def test_einsum_adjoint_of_a_letter_summed_away_keeps_unknown_dims() -> None:
    x = ga.placeholder("x", shape=(None, 3))
    y = ga.sum(ga.einsum("ij->i", x) ** 2)
    g = ga.gradients(y, x)
    value = np.random.default_rng(0).standard_normal((4, 3))
    expected = 2 * np.repeat(value.sum(axis=1, keepdims=True), 3, axis=1)
    np.testing.assert_allclose(ga.evaluate(g, {x: value}), expected)


def test_batched_matmul_against_a_matrix_of_unknown_columns() -> None:
    x = ga.placeholder("x", shape=(4, 5))
    b = ga.placeholder("b", shape=(5, None))
    xs = ga.placeholder("xs", shape=(3, 4, 5))
    batched = ga.vmap(x @ b, {x: xs})
    assert batched.shape == (3, 4, None)
    rng = np.random.default_rng(1)
    xs_value, b_value = rng.standard_normal((3, 4, 5)), rng.standard_normal((5, 2))
    np.testing.assert_allclose(ga.evaluate(batched, {xs: xs_value, b: b_value}), xs_value @ b_value)
