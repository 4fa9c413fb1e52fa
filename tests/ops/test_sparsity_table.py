"""Every op's sparsity rule, driven by ``CASES``, in random sparse graphs.

Each case's inputs are made from one vector x: input k is its own block of x, permuted at
random and reshaped (so x holds the case's sampled values, in the case's domain, and the
op meets a gather in front of it).  Then, at that point:

- the pattern detected from the graph contains every nonzero of the Jacobian ∂y/∂x, and
  the pattern of the gradient graph every nonzero of the Hessian of ⟨u, y⟩; the dense
  references are built without compression (reverse mode), so a rule that missed an
  entry could not hide it;
- ``jacobian(y, x, sparse=True)`` and ``hessian(⟨u, y⟩, x, sparse=True)`` equal them;
- no graphad op is left without a rule (an index computed at run time may still fall
  back to the dense pattern, and says so).
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import graphad as ga
from graphad.autodiff.sparsity import detect, hessian_pattern

from .cases import CASES, Case

REAL = [c for c in CASES if c.dtype == "float64" and not c.dyadic and c.differentiable]


class Sparse:
    """A case's op behind a random permutation of its inputs' entries, on one vector x."""

    def __init__(self, case: Case) -> None:
        rng = np.random.default_rng(zlib.crc32(f"sparsity/{case.id}".encode()))
        values = case.sample(rng)
        sizes = [int(np.prod(s, dtype=np.int64)) for s in case.shapes]
        self.x = ga.placeholder("x", (sum(sizes),))
        inputs, flat, start = [], [], 0
        for shape, size, value in zip(case.shapes, sizes, values):
            perm = rng.permutation(size)
            inputs.append(ga.reshape(self.x[start + perm], shape))
            block = np.empty(size)
            block[perm] = np.ravel(value)  # x[start + perm] is the sampled value, raveled
            flat.append(block)
            start += size
        self.value = np.concatenate(flat)
        self.y = case.build(*inputs)
        self.u = ga.constant(rng.standard_normal(self.y.shape))
        self.s = ga.sum(self.y * self.u)


def covers(pattern: ga.Pattern, dense: np.ndarray) -> list[tuple[int, int]]:
    """The nonzeros of ``dense`` (2-D) outside ``pattern``."""
    missed = (dense != 0) & ~pattern.to_dense()
    return [tuple(int(i) for i in ij) for ij in np.argwhere(missed)]  # type: ignore[misc]


@pytest.mark.parametrize("case", REAL, ids=[c.id for c in REAL])
def test_detected_patterns_hold_the_derivatives(case: Case) -> None:
    p = Sparse(case)
    m, n = p.y.type.size, p.x.shape[0]  # type: ignore[union-attr,index]
    found = detect([p.y], [p.x])
    second = hessian_pattern(p.s, [p.x], "hessian")
    assert found.no_rule == () and second.no_rule == ()
    fetches = {
        "jacobian": ga.jacobian(p.y, p.x, mode="reverse"),
        "hessian": ga.hessian(p.s, p.x, mode="reverse"),
        "sparse_jacobian": ga.jacobian(p.y, p.x, sparse=True),
        "sparse_hessian": ga.hessian(p.s, p.x, sparse=True),
    }
    got = ga.evaluate(fetches, {p.x: p.value})
    jac = np.reshape(got["jacobian"], (m, n))
    assert covers(found.pattern, jac) == []
    assert covers(second.pattern, got["hessian"]) == []
    assert got["sparse_jacobian"].shape == (m, n)
    np.testing.assert_allclose(got["sparse_jacobian"].toarray(), jac, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(
        got["sparse_hessian"].toarray(), got["hessian"], rtol=1e-9, atol=1e-9
    )
