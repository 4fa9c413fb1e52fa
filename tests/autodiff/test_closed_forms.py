"""Golden tests: derivatives with closed forms, built by re-applying ``gradients``."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphad as ga
from graphad.autodiff import sweep
from graphad.ops.elementwise import AddN

RNG = np.random.default_rng(0)


def test_hessian_of_quadratic_form_is_a_plus_a_transpose() -> None:
    a = np.array(
        [[1.0, 2.0, 0.0, -1.0], [5.0, 3.0, 1.0, 0.5], [0.0, 7.0, -2.0, 4.0], [3.0, -6.0, 1.5, 2.0]]
    )
    assert not np.allclose(a, a.T)  # a symmetric A would hide a transposed rule
    x = ga.placeholder("x", shape=(4,))
    f = x @ (ga.constant(a) @ x)
    g = ga.gradients(f, x)
    rows = [ga.gradients(g[i], x) for i in range(4)]
    ex = ga.Executor(rows)
    for point in (RNG.standard_normal(4), np.zeros(4)):
        assert np.allclose(np.stack(ex.run({x: point})), a + a.T, rtol=0, atol=1e-12)
    assert np.allclose(ga.evaluate(g, {x: np.arange(4.0)}), (a + a.T) @ np.arange(4.0))


def _kth(k: int, v: np.ndarray, which: str) -> np.ndarray:
    if which == "sin":
        return np.sin(v + k * np.pi / 2)
    if which == "exp2":
        return 2.0**k * np.exp(2 * v)
    return (-1) ** k * math.factorial(k) / (1 + v) ** (k + 1)


BUILDERS = {
    "sin": ga.sin,
    "exp2": lambda x: ga.exp(2 * x),
    "reciprocal": lambda x: 1 / (1 + x),
}


@pytest.mark.parametrize("which", sorted(BUILDERS))
def test_kth_derivative_by_nesting_gradients(which: str) -> None:
    x = ga.placeholder("x", shape=(5,))
    v = np.array([-0.7, -0.2, 0.0, 0.4, 1.3])
    derivatives = [BUILDERS[which](x)]
    for _ in range(5):
        # each component of f depends only on the same component of x, so the
        # gradient of sum(f) is the elementwise derivative
        derivatives.append(ga.gradients(derivatives[-1], x))
    values = ga.evaluate(derivatives, {x: v})
    for k, (node, value) in enumerate(zip(derivatives, values)):
        assert node.shape == (5,)
        assert node.origin.order == k
        np.testing.assert_allclose(value, _kth(k, v, which), rtol=1e-10, atol=1e-12)


def test_seed_example_partial_adjoints_of_v2() -> None:
    """v1 = x, v2 = exp(v1), v3 = v2 + 1, v4 = v2·v3; v̄2 = v̄4·v3 + v̄3."""
    x = ga.placeholder("x", shape=())
    v1 = x
    v2 = ga.exp(v1)
    v3 = v2 + 1
    v4 = v2 * v3
    result = sweep(v4, [x])

    adjoint_v2 = result.adjoint[v2]
    assert isinstance(adjoint_v2.op, AddN)
    partials = dict(result.partials[v2])  # consumer -> partial adjoint node
    assert set(partials) == {v3, v4}
    from_v4, from_v3 = partials[v4], partials[v3]
    assert from_v4 is not from_v3
    assert set(adjoint_v2.inputs) == {from_v4, from_v3}
    assert len(adjoint_v2.inputs) == 2

    value = 0.3
    e = np.exp(value)
    got = ga.evaluate(
        {"v2bar": adjoint_v2, "from_v4": from_v4, "from_v3": from_v3, "v3bar": result.adjoint[v3]},
        {x: value},
    )
    assert np.isclose(got["from_v4"], 1.0 * (e + 1))  # v̄4·v3 with v̄4 = 1
    assert np.isclose(got["from_v3"], got["v3bar"])  # the add passes v̄3 on unchanged
    assert np.isclose(got["v3bar"], e)  # v̄3 = v̄4·v2
    assert np.isclose(got["v2bar"], 2 * e + 1)

    gx = ga.gradients(v4, x)
    assert np.isclose(ga.evaluate(gx, {x: value}), (2 * e + 1) * e)  # d/dx (e²ˣ + eˣ)
