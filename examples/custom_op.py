"""Adding an op: a numerically stable softplus, differentiated to third order.

An op is one class with four methods next to each other: the shape rule,
the NumPy kernel, and the two derivative rules built from graphad ops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import graphad as ga
from graphad.numerical import check_gradients


@dataclass(frozen=True)
class Softplus(ga.Op):
    """log(1 + exp(x)), computed as logaddexp(0, x) so large x do not overflow."""

    def infer(self, x: ga.TensorType) -> ga.TensorType:
        if not isinstance(x, ga.TensorType) or x.dtype.kind != "f":
            raise ga.DTypeError(f"softplus needs a float tensor, got {x}")
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.logaddexp(0, x)

    def vjp(self, node: ga.Node, g: ga.Node) -> tuple[ga.Node]:
        """x̄ = g·σ(x)"""
        return (g * ga.sigmoid(node.inputs[0]),)

    def jvp(self, node: ga.Node, t: list[ga.Node | None]) -> ga.Node:
        """ẏ = σ(x)·ẋ"""
        return t[0] * ga.sigmoid(node.inputs[0])


def softplus(x: ga.Node) -> ga.Node:
    return Softplus()(x)


if __name__ == "__main__":
    x = ga.placeholder("x", shape=(5,))
    y = ga.sum(softplus(x))
    d1 = ga.gradients(y, x)  # σ(x)
    d2 = ga.gradients(d1, x)  # σ(x)(1 - σ(x))
    d3 = ga.gradients(d2, x)  # σ(1-σ)(1-2σ)
    xs = np.array([-800.0, -2.0, 0.0, 3.0, 800.0])
    y_v, d1_v, d2_v, d3_v = ga.evaluate([y, d1, d2, d3], {x: xs})
    s = 1 / (1 + np.exp(-np.clip(xs, -500, 500)))
    print("softplus(x)      ", np.logaddexp(0, xs))
    print("d/dx    = σ       ", d1_v)
    print("d²/dx²  = σ(1-σ)  ", d2_v)
    print("d³/dx³            ", d3_v)
    assert np.isfinite(y_v)
    assert np.allclose(d1_v, s) and np.allclose(d2_v, s * (1 - s))
    assert np.allclose(d3_v, s * (1 - s) * (1 - 2 * s))
    report = check_gradients(y, x, {x: np.linspace(-3, 3, 5)}, order=2)
    print(report)
    assert report
