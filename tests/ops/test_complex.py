"""Complex numbers under JAX's and autograd's convention, at the points docs/conventions.md states:
the adjoint is the transpose under Re Σ a·b, so the gradient of a real f of z is
∂f/∂Re z - i·∂f/∂Im z.  The op table checks every complex row against finite differences
in both modes and at second order; these are the closed forms and the errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphad as ga

Z = np.array([1 + 2j, -0.5 + 0.3j, 2 - 1j])
DZ = np.array([0.3 - 0.7j, 1 + 1j, -0.2 + 0.5j])


@pytest.fixture
def z() -> ga.Node:
    return ga.placeholder("z", (3,), "complex128")


def test_abs_forward_is_re_of_conj_z_times_tangent_and_reverse_is_not_conjugated_twice(
    z: ga.Node,
) -> None:
    a = ga.abs(z)
    tangent, grad = ga.evaluate([ga.jvp(a, z, DZ), ga.gradients(ga.sum(a), z)], {z: Z})
    np.testing.assert_allclose(tangent, np.real(np.conj(Z) * DZ) / np.abs(Z), rtol=1e-15)
    np.testing.assert_allclose(grad, np.conj(Z) / np.abs(Z), rtol=1e-15)
    assert tangent.dtype == np.float64


def test_gradient_of_a_real_function_is_d_re_minus_i_d_im(z: ga.Node) -> None:
    """f = |z|² = a² + b²: ∂f/∂a - i·∂f/∂b = 2a - 2ib = 2·conj(z)."""
    f = ga.sum(ga.real(z * ga.conj(z)))
    np.testing.assert_allclose(ga.evaluate(ga.gradients(f, z), {z: Z}), 2 * np.conj(Z))


def test_holomorphic_rules_are_not_conjugated(z: ga.Node) -> None:
    """For y = z², the VJP of u is u·2z (JAX's transpose), not u·conj(2z)."""
    u = np.array([1.0 + 1j, 2.0, -1j])
    vjp = ga.evaluate(ga.gradients(ga.square(z), z, grad_y=u), {z: Z})
    np.testing.assert_allclose(vjp, u * 2 * Z)


def test_var_and_std_of_complex_input(z: ga.Node) -> None:
    v, s = ga.var(z), ga.std(z)
    out = ga.evaluate([v, s, ga.gradients(v, z), ga.jvp(s, z, DZ)], {z: Z})
    c = Z - Z.mean()
    np.testing.assert_allclose(out[0], np.var(Z))
    np.testing.assert_allclose(out[1], np.std(Z))
    np.testing.assert_allclose(out[2], 2 * np.conj(c) / 3)
    np.testing.assert_allclose(out[3], np.real(np.sum(np.conj(c) * DZ)) / 3 / np.std(Z))


def test_a_complex_output_needs_grad_y(z: ga.Node) -> None:
    x = ga.placeholder("x", (3,))
    for y, wrt in [(ga.sum(x * (1 + 2j)), x), (ga.sum(ga.exp(z)), z)]:
        with pytest.raises(ga.DifferentiationError, match=r"is complex .*give grad_y"):
            ga.gradients(y, wrt)


def test_a_complex_adjoint_of_a_real_input_keeps_its_real_part_quietly() -> None:
    x = ga.placeholder("x", (3,))
    y = ga.sum(x * (1 + 1j))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ComplexWarning would fail here
        grad = ga.evaluate(ga.gradients(y, x, grad_y=1 + 2j), {x: np.ones(3)})
    assert grad.dtype == np.float64
    np.testing.assert_array_equal(grad, np.full(3, np.real((1 + 2j) * (1 + 1j))))


def test_parts_dispatch_from_numpy(z: ga.Node) -> None:
    for fn in (np.real, np.imag, np.conj, np.conjugate, np.angle):
        np.testing.assert_allclose(ga.evaluate(fn(z), {z: Z}), fn(Z))
    x = ga.placeholder("x", (3,))
    assert np.real_if_close(x) is x  # a real input is returned as it is
    assert ga.imag(x).dtype == np.float64 and ga.real(z).dtype == np.float64


def test_real_if_close_checks_when_it_runs(z: ga.Node) -> None:
    y = ga.real_if_close(z)
    assert y.dtype == np.float64
    close = np.array([1.0, 2.0, 3.0]) + 1e-15j
    np.testing.assert_array_equal(ga.evaluate(y, {z: close}), [1.0, 2.0, 3.0])
    with pytest.raises(ga.ExecutionError, match="real_if_close: an imaginary part"):
        ga.evaluate(y, {z: Z})


def test_sign_of_complex_refuses_to_differentiate(z: ga.Node) -> None:
    np.testing.assert_allclose(ga.evaluate(ga.sign(z), {z: Z}), Z / np.abs(Z))
    with pytest.raises(ga.DifferentiationError, match=r"sign.*not holomorphic"):
        ga.gradients(ga.sum(ga.real(ga.sign(z))), z)


def test_ops_without_complex_meaning_refuse_it(z: ga.Node) -> None:
    for fn in (ga.floor, ga.deg2rad, ga.fabs):  # relu is maximum(z, 0): ordered
        with pytest.raises(ga.DTypeError, match="complex"):
            fn(z)
