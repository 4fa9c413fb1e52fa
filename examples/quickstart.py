"""Quick start: build a graph, differentiate it twice, run it, check it by finite differences.

Run from the repository root: ``python examples/quickstart.py``.
"""

import numpy as np

import graphad as ga
from graphad.numerical import numerical_gradient

x = ga.placeholder("x", shape=(3,))  # dtype float64 by default; shape may be None or contain None
W = ga.placeholder("W", shape=(3, 4))
y = ga.sum(ga.tanh(x @ W) ** 2) + 0.5 * ga.sum(x * x)
gx, gW = ga.gradients(y, [x, W])  # new nodes of the same graph
hx = ga.gradients(gx, x)  # grad of grad: d(sum gx)/dx, graph again
t = ga.jvp(y, x, ga.constant(np.ones(3)))  # forward mode: a tangent node
ex = ga.Executor([y, gx, gW, hx, t])  # also accepts a dict or a single node
yv, gxv, gWv, hxv, tv = ex.run(feed_dict={x: np.ones(3), W: np.ones((3, 4))})
gx_by_name = ga.evaluate(gx, {"x": np.ones(3), "W": np.ones((3, 4))})  # feeds by node or name

print(f"y  = {yv}\ngx = {gxv}\ngW =\n{gWv}\nhx = {hxv}\nt  = {tv}")

# Check each derivative against central differences of the graph it differentiates.
feeds = {"x": np.ones(3), "W": np.ones((3, 4))}
checks = {
    "gx": (gxv, numerical_gradient(y, x, feeds)),
    "gW": (gWv, numerical_gradient(y, W, feeds)),
    "hx": (hxv, numerical_gradient(gx, x, feeds)),  # hx is the gradient of sum(gx)
    "t": (tv, np.sum(gxv)),  # a JVP with v = ones is gx · v
}
for name, (value, reference) in checks.items():
    error = np.max(np.abs(value - reference))
    print(f"{name}: max abs error {error:.1e}")
    assert error < 1e-6, f"{name} disagrees with its reference by {error}"
assert np.array_equal(gx_by_name, gxv)
