"""Reverse mode through a dictionary: the adjoint of a dict is a dict.

The notes' example: d = {"cat": a0, "dog": a1}, b = d["cat"].  Only "cat"
took part in b, so the adjoint of d carries b̄ under "cat" alone; asked for
zeros of the unused entries, graphad fills "dog" with zeros of its type.
"""

from __future__ import annotations

import numpy as np

import graphad as ga

a0 = ga.placeholder("a0", shape=(2,))
a1 = ga.placeholder("a1", shape=(3,))
d = ga.make_dict({"cat": a0, "dog": a1})
b = ga.sum(ga.exp(d["cat"]))

feeds = {a0: np.array([0.0, 1.0]), a1: np.array([1.0, 2.0, 3.0])}
sparse = ga.gradients(b, d, unconnected="none")  # only the keys that took part
dense = ga.gradients(b, d)  # every key, zeros where b does not look
print("d̄ (keys that took part):", ga.evaluate(sparse, feeds))
print("d̄ (padded with zeros):  ", ga.evaluate(dense, feeds))

# A structured placeholder, fed with a dict of arrays, and a second derivative through it.
params = ga.placeholder(
    "params", type={"w": ga.TensorType((3,)), "b": ga.TensorType(()), "unused": ga.TensorType((4,))}
)
x = ga.constant(np.array([1.0, -2.0, 0.5]))
loss = ga.square(ga.sum(params["w"] * x) + params["b"])
grads = ga.gradients(loss, params)
curvature = ga.gradients(grads["b"], params, unconnected="none")
value = {"w": np.array([0.1, 0.2, 0.3]), "b": np.array(0.5), "unused": np.zeros(4)}
g, h = ga.evaluate([grads, curvature], {params: value})
print("∂loss/∂params:", g)
print("∂²loss/∂b∂params:", h)
r = value["w"] @ np.array([1.0, -2.0, 0.5]) + 0.5
assert np.allclose(g["w"], 2 * r * np.array([1.0, -2.0, 0.5])) and np.isclose(g["b"], 2 * r)
assert set(h) == {"w", "b"} and np.isclose(h["b"], 2.0)
