"""Executor speed against hand-written NumPy, on this machine, in this run.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_executor.py

Each case times the same computation twice: run by a graphad ``Executor`` and
written by hand in NumPy, and prints the ratio (graphad time / NumPy time).
BLAS is pinned to one thread (extra threads make small NumPy products much
slower on a 2-core machine and would blur the comparison).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import timeit
from collections.abc import Callable

import numpy as np

import graphad as ga


def best(fn: Callable[[], object], repeat: int = 7) -> float:
    """Best time of one call, in seconds, over ``repeat`` batches."""
    number = max(1, int(0.05 / max(timeit.timeit(fn, number=1), 1e-7)))
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def mlp(batch: int = 256, d_in: int = 64, hidden: int = 128, classes: int = 10) -> tuple:
    """Cross-entropy of a 2-layer tanh MLP and its gradients in both weights."""
    rng = np.random.default_rng(0)
    xv = rng.standard_normal((batch, d_in))
    w1v = rng.standard_normal((d_in, hidden)) / 8
    w2v = rng.standard_normal((hidden, classes)) / 8
    onehot = np.eye(classes)[rng.integers(0, classes, batch)]

    x = ga.placeholder("x", shape=(batch, d_in))
    w1 = ga.placeholder("w1", shape=(d_in, hidden))
    w2 = ga.placeholder("w2", shape=(hidden, classes))
    logits = ga.tanh(x @ w1) @ w2
    loss = -ga.mean(ga.sum(ga.constant(onehot) * ga.log_softmax(logits, axis=1), axis=1))
    g1, g2 = ga.gradients(loss, [w1, w2])
    ex = ga.Executor([loss, g1, g2])
    feeds = {x: xv, w1: w1v, w2: w2v}

    def by_hand() -> tuple:
        h = np.tanh(xv @ w1v)
        z = h @ w2v
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        value = -np.mean(np.sum(onehot * logp, axis=1))
        dz = (np.exp(logp) - onehot) / batch
        dw2 = h.T @ dz
        dh = (dz @ w2v.T) * (1 - h * h)
        return value, xv.T @ dh, dw2

    ours = ex.run(feeds)
    ref = by_hand()
    assert all(np.allclose(a, b) for a, b in zip(ours, ref)), "graphad and NumPy disagree"
    return "MLP loss + 2 gradients (256x64x128x10)", lambda: ex.run(feeds), by_hand, len(ex.order)


def small_chain(n: int = 200) -> tuple:
    """A chain of n cheap elementwise ops on 16 numbers: the per-node overhead."""
    xv = np.linspace(0.1, 1.0, 16)
    x = ga.placeholder("x", shape=(16,))
    y = x
    for _ in range(n):
        y = ga.sin(y) * 0.5 + 0.25
    ex = ga.Executor(y)
    feeds = {x: xv}

    def by_hand() -> np.ndarray:
        v = xv
        for _ in range(n):
            v = np.sin(v) * 0.5 + 0.25
        return v

    assert np.allclose(ex.run(feeds), by_hand())
    return f"chain of {3 * n} ops on 16 floats", lambda: ex.run(feeds), by_hand, len(ex.order)


def hessian_vector(n: int = 500) -> tuple:
    """H·v of f(x) = sum(log(1 + exp(A x))) (forward-over-reverse) against the closed form."""
    rng = np.random.default_rng(1)
    av = rng.standard_normal((n, n)) / np.sqrt(n)
    xv, vv = rng.standard_normal(n), rng.standard_normal(n)
    x = ga.placeholder("x", shape=(n,))
    f = ga.sum(ga.log1p(ga.exp(ga.constant(av) @ x)))
    ex = ga.Executor(ga.hvp(f, x, ga.constant(vv)))
    feeds = {x: xv}

    def by_hand() -> np.ndarray:
        s = 1 / (1 + np.exp(-(av @ xv)))
        return av.T @ (s * (1 - s) * (av @ vv))

    assert np.allclose(ex.run(feeds), by_hand())
    return f"Hessian-vector product, n = {n}", lambda: ex.run(feeds), by_hand, len(ex.order)


def main() -> None:
    print(f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, numpy {np.__version__}")
    print(f"{'case':42s} {'nodes':>6s} {'graphad':>11s} {'numpy':>11s} {'ratio':>7s}")
    for case in (mlp(), small_chain(), hessian_vector()):
        name, ours, theirs, nodes = case
        t_ours, t_np = best(ours), best(theirs)
        print(
            f"{name:42s} {nodes:6d} {t_ours * 1e6:9.1f}µs {t_np * 1e6:9.1f}µs {t_ours / t_np:6.2f}x"
        )


if __name__ == "__main__":
    main()
