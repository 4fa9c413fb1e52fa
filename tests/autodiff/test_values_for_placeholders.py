"""Values given for a placeholder outside a feed (a ``vmap`` batch, a tangent) are held to a
feed's rules: a dtype that cannot hold them (complex for a real x, int8 for 300) is refused
by name, never cast in silence; what a feed accepts is accepted.  A seed is a cotangent,
whose complex part the real pairing projects away, as docs/conventions.md says."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphad as ga


def test_vmap_refuses_a_complex_batch_of_a_real_placeholder() -> None:
    z = ga.placeholder("z", (2,))
    with pytest.raises(ga.GraphError, match=r"vmap: the batch of z is complex128.*imaginary"):
        ga.vmap(ga.sum(z * z), {z: np.array([[1j, 0.0], [2.0, 0.0]])})
    batch = ga.placeholder("batch", (None, 2), np.complex128)
    with pytest.raises(ga.GraphError, match="the batch of z is complex128"):
        ga.vmap(ga.sum(z * z), {z: batch})


def test_vmap_refuses_a_batch_whose_values_do_not_fit_as_a_feed_would() -> None:
    i = ga.placeholder("i", (2,), np.int8)
    with pytest.raises(ga.GraphError, match="batch of i holds int64 values that do not fit"):
        ga.vmap(ga.sum(i), {i: np.array([[300, 1]])})
    with pytest.raises(ga.FeedError, match="do not fit"):  # the same rule as a feed's
        ga.evaluate(ga.sum(i), {i: np.array([300, 1])})


def test_vmap_casts_what_a_feed_would_cast(run: Any) -> None:
    x = ga.placeholder("x", (2,), np.float32)
    y = ga.vmap(ga.sum(x * x), {x: np.array([[1.0, 2.0], [3.0, 0.5]])})  # float64, fits
    assert y.dtype == np.float32
    np.testing.assert_allclose(run(y, {}), [5.0, 9.25])


def test_vmap_of_a_ragged_list_is_a_typed_error() -> None:
    x = ga.placeholder("x", (2,))
    with pytest.raises(ga.GraphError, match=r"vmap: the batch of x: cannot make an array"):
        ga.vmap(ga.sum(x), {x: [[1.0, 2.0], [3.0]]})


def test_a_complex_tangent_of_a_real_x_is_refused_in_jvp_and_hvp() -> None:
    x = ga.placeholder("x", (2,))
    y = ga.sum(ga.sin(x))
    with pytest.raises(ga.DifferentiationError, match=r"jvp: tangents\[0\].*imaginary"):
        ga.jvp(y, x, np.array([1j, 0.0]))
    with pytest.raises(ga.DifferentiationError, match="imaginary"):
        ga.hvp(y, x, np.array([1j, 0.0]))


def test_a_complex_seed_of_a_real_y_is_projected_under_the_real_pairing(run: Any) -> None:
    """A cotangent pairs with y's tangent by Re Σ ȳ·ẏ, so for a real y only Re ȳ counts: a
    complex seed keeps its real part (as any complex adjoint of a real value does)."""
    x = ga.placeholder("x", (2,))
    g = ga.gradients(ga.sin(x), x, grad_y=np.array([1.0 + 5j, 2.0 - 1j]))
    value = np.array([0.3, -0.4])
    np.testing.assert_allclose(run(g, {x: value}), np.cos(value) * [1.0, 2.0])


def test_a_complex_tangent_of_a_complex_x_still_flows(run: Any) -> None:
    z = ga.placeholder("z", (2,), np.complex128)
    t = ga.jvp(z * z, z, np.array([1j, 1.0]))
    value = np.array([1.0 + 1j, 2.0])
    np.testing.assert_allclose(run(t, {z: value}), 2 * value * [1j, 1.0])
