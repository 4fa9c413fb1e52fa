"""det's derivative at singular matrices: the adjugate, computed without an inverse (issue
16, item 14).

∂det/∂A = adj(A)ᵀ, the cofactor matrix, exists everywhere (det is a polynomial); it was
det(A)·A⁻ᵀ, which fails where A⁻¹ does not exist.  The adjugate is now taken from the SVD
(c·V·diag(Πⱼ≠ᵢ sⱼ)·Uᴴ), so a zero singular value needs no division.  Checked against
cofactors and against central differences at rank n - 1 (adj has rank 1) and rank n - 2
(adj is 0, the Hessian is not), batched, in reverse and forward mode and in every
Executor mode.
"""

from __future__ import annotations

import numpy as np
import pytest
from runtime.modes import in_every_mode

import graphad as ga
from graphad.numerical import numerical_jacobian
from graphad.ops.decompositions import adjugate


def cofactors(a: np.ndarray) -> np.ndarray:
    """adj(A)ᵀ by its definition: Cᵢⱼ = (-1)^(i+j)·det(A without row i and column j)."""
    n = a.shape[-1]
    out = np.empty_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, -2), j, -1)
            out[..., i, j] = (-1) ** (i + j) * np.linalg.det(minor)
    return out


def of_rank(rank: int, shape: tuple[int, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = shape[-1]
    q1, _ = np.linalg.qr(rng.standard_normal(shape))
    q2, _ = np.linalg.qr(rng.standard_normal(shape))
    s = np.where(np.arange(n) < rank, 1.0 + np.arange(n), 0.0)
    return (q1 * s) @ np.swapaxes(q2, -1, -2)


MATRICES = {
    "rank_n-1": of_rank(2, (3, 3), 1),
    "rank_n-2": of_rank(2, (4, 4), 2),
    "zero": np.zeros((3, 3)),
    "integer_rank_n-1": np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]),
    "batched": np.stack([of_rank(1, (3, 3), 3), of_rank(2, (3, 3), 4), of_rank(3, (3, 3), 5)]),
}


@pytest.mark.parametrize("name", MATRICES)
def test_the_gradient_of_det_at_a_singular_matrix_is_the_cofactor_matrix(name: str) -> None:
    av = MATRICES[name]
    a = ga.placeholder("a", av.shape)
    d = ga.sum(ga.det(a)) if av.ndim > 2 else ga.det(a)
    tangent = np.random.default_rng(6).standard_normal(av.shape)
    fetches = {
        "reverse": ga.gradients(d, a),
        "forward": ga.jvp(d, a, tangent),
        "jacobian": ga.jacobian(d, a, mode="forward"),
    }
    want = cofactors(av)
    for mode, got in in_every_mode(fetches, {a: av}).items():
        np.testing.assert_allclose(got["reverse"], want, atol=1e-12, err_msg=mode)
        np.testing.assert_allclose(got["jacobian"], want, atol=1e-12, err_msg=mode)
        np.testing.assert_allclose(got["forward"], np.sum(want * tangent), atol=1e-12)


@pytest.mark.parametrize("name", ["rank_n-1", "rank_n-2", "zero", "batched"])
def test_the_hessian_of_det_at_a_singular_matrix_matches_central_differences(name: str) -> None:
    """The second derivative is the adjugate's derivative, also taken without dividing:
    at rank n - 2 the gradient is 0 but the Hessian is not."""
    av = MATRICES[name]
    a = ga.placeholder("a", av.shape)
    d = ga.sum(ga.det(a))
    hessian = ga.hessian(d, a)
    numeric = numerical_jacobian(cofactors, av).reshape(av.shape * 2)
    for mode, got in in_every_mode(hessian, {a: av}).items():
        np.testing.assert_allclose(got, numeric, atol=1e-7, err_msg=mode)
    if name == "rank_n-2":
        assert np.allclose(cofactors(av), 0.0) and not np.allclose(numeric, 0.0)


def test_the_adjugate_is_det_times_the_inverse_where_that_exists() -> None:
    rng = np.random.default_rng(7)
    av = rng.standard_normal((2, 4, 4))
    zv = av + 1j * rng.standard_normal((2, 4, 4))
    a, z = ga.placeholder("a", av.shape), ga.placeholder("z", zv.shape, "complex128")
    got_a, got_z = ga.evaluate([adjugate(a), adjugate(z)], {a: av, z: zv})
    for got, v in ((got_a, av), (got_z, zv)):
        want = np.linalg.det(v)[:, None, None] * np.linalg.inv(v)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    one = ga.placeholder("one", (1, 1))
    assert ga.evaluate(adjugate(one), {one: [[5.0]]}) == 1.0  # adj of a 1x1 matrix is 1
