"""var and std at zero variance.  Where they are constant (one entry per output) the op
table's var/std[single], [axis_of_length_1] and [length_1_axes_keepdims] rows check every
derivative is 0 in every mode and order, with known and unknown dims.  Here: the other
points of zero variance, where var is smooth and std is a cone."""

from __future__ import annotations

import numpy as np

import graphad as ga


def test_var_is_smooth_at_equal_entries_and_std_takes_a_zero_subgradient() -> None:
    x = ga.placeholder("x", (4,))
    equal = np.full(4, 2.0)  # an exact mean, so x - mean(x) is exactly 0
    v, s = ga.var(x), ga.std(x)
    gv, gs = ga.gradients(v, x), ga.gradients(s, x)
    hv = ga.jvp(gv, x, np.arange(4.0))
    out = ga.evaluate([v, s, gv, gs, ga.jvp(s, x, np.ones(4)), hv], {x: equal})
    assert out[0] == 0.0 and out[1] == 0.0
    np.testing.assert_array_equal(out[2], np.zeros(4))
    np.testing.assert_array_equal(out[3], np.zeros(4))  # std: 0, a subgradient of the cone
    assert out[4] == 0.0
    d = np.arange(4.0)
    np.testing.assert_allclose(out[5], 2 * (d - d.mean()) / 4)  # var's Hessian: 2(I - 1/n)/n


def test_std_of_one_entry_is_exactly_zero_to_second_order_with_unknown_dims() -> None:
    x = ga.placeholder("x", (None, None))
    s = ga.sum(ga.std(x, axis=-1) * 3.0)
    g = ga.gradients(s, x)
    hessian_rows = ga.gradients(ga.sum(g), x)
    forward = ga.jvp(ga.jvp(ga.std(x, axis=-1), x, np.ones((3, 1))), x, np.ones((3, 1)))
    values = ga.evaluate([g, hessian_rows, forward], {x: np.array([[1.0], [-2.0], [0.5]])})
    for value in values:
        np.testing.assert_array_equal(value, np.zeros(value.shape))
