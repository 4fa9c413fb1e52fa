"""A recurrent model trained with loops: one ``ga.scan`` node, whatever the sequence length.

h₍ₜ₊₁₎ = tanh(W·hₜ + U·xₜ) over a sequence, a readout at every step, squared error against a
target sequence.  The gradient with respect to (W, U) is a backward scan; a few steps of
gradient descent run on one Executor.  Then the same gradient with ``checkpoint="sqrt"``:
the same numbers, from a fraction of the memory.  Last, a while loop (Newton's method for
√a, stopped by its tolerance) differentiated through, which needs ``max_steps``.
"""

from __future__ import annotations

import tracemalloc

import numpy as np

import graphad as ga

rng = np.random.default_rng(0)
H, X, T = 6, 3, 2000
W = ga.placeholder("W", (H, H))
U = ga.placeholder("U", (H, X))
xs = ga.placeholder("xs", (None, X))  # any length: the trip count is the rows fed
targets = ga.placeholder("targets", (None,))


def loss_of(checkpoint: object = None) -> ga.Node:
    def step(h: ga.Node, x: ga.Node) -> tuple[ga.Node, ga.Node]:
        h = ga.tanh(W @ h + U @ x)
        return h, ga.sum(h) / H  # the readout of each step, stacked

    _, readout = ga.scan(step, np.zeros(H), xs, checkpoint=checkpoint)
    return ga.mean((readout - targets) ** 2)


loss = loss_of()
grads = ga.gradients(loss, [W, U])
print("graph:", ga.graph_stats([loss, *grads]))

train = ga.Executor([loss, *grads])
seq = rng.normal(size=(T, X))
feeds = {xs: seq, targets: np.sin(np.arange(T) / 20.0), W: rng.normal(size=(H, H)) * 0.3}
feeds[U] = rng.normal(size=(H, X)) * 0.3
for epoch in range(5):
    value, gw, gu = train.run(feeds)
    print(f"epoch {epoch}: loss {value:.5f}")
    feeds[W] = feeds[W] - 0.5 * gw
    feeds[U] = feeds[U] - 0.5 * gu

checkpointed = ga.Executor(ga.gradients(loss_of("sqrt"), [W, U]))
for name, ex in (("every step stored", ga.Executor(grads)), ("sqrt checkpoints", checkpointed)):
    ex.run(feeds)
    tracemalloc.start()
    ex.run(feeds)
    print(f"{name}: peak {tracemalloc.get_traced_memory()[1] / 1024:.0f} KiB")
    tracemalloc.stop()
for a_grad, b_grad in zip(checkpointed.run(feeds), train.run(feeds)[1:]):
    np.testing.assert_allclose(a_grad, b_grad, rtol=1e-12)  # the same gradient

a = ga.placeholder("a", ())
root = ga.while_loop(
    lambda r: ga.abs(r * r - a) > 1e-12, lambda r: 0.5 * (r + a / r), a, max_steps=100
)
value, slope = ga.evaluate([root, ga.gradients(root, a)], {a: 2.0})
print(f"sqrt(2) = {value:.12f}, d/da = {slope:.12f} (1 / (2 sqrt 2) = {0.5 / np.sqrt(2):.12f})")
