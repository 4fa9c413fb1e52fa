"""Full Hessians (issue 9, W2): graph size, build time and per-call time against NumPy.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_hessian.py [--per-element]

Two functions: the tanh model ``sum(tanh(A x)) + ½ x·x`` (n = 10, 100, 400) and
the chained Rosenbrock function (n = 100).  For each: the node count of the
Hessian graph and of the gradient graph, the build time (graph, derivatives and
the Executor's plan), and the best per-call time of the Executor against a
hand-written NumPy Hessian, as a ratio, in the same run with one BLAS thread.
``--per-element`` also builds the construction batching replaced (one JVP per
input element, stacked) for comparison.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import math
import sys
import time
import timeit
from collections.abc import Callable

import numpy as np

import graphad as ga
from graphad.ir import topo_sort


def best(fn: Callable[[], object], repeat: int = 7) -> float:
    """Best time of one call, in seconds, over ``repeat`` batches."""
    number = max(1, int(0.05 / max(timeit.timeit(fn, number=1), 1e-7)))
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def tanh_model(n: int) -> tuple[Callable[[ga.Node], ga.Node], Callable[[np.ndarray], np.ndarray]]:
    a = np.random.default_rng(n).standard_normal((n, n)) / math.sqrt(n)
    eye = np.eye(n)

    def build(x: ga.Node) -> ga.Node:
        return ga.sum(ga.tanh(ga.constant(a) @ x)) + 0.5 * ga.sum(x * x)

    def by_hand(x: np.ndarray) -> np.ndarray:
        t = np.tanh(a @ x)
        return (a.T * (-2 * t * (1 - t * t))) @ a + eye

    return build, by_hand


def rosenbrock(n: int) -> tuple[Callable[[ga.Node], ga.Node], Callable[[np.ndarray], np.ndarray]]:
    def build(x: ga.Node) -> ga.Node:
        head, tail = x[:-1], x[1:]
        return ga.sum(100.0 * (tail - head**2) ** 2 + (1.0 - head) ** 2)

    def by_hand(x: np.ndarray) -> np.ndarray:
        h = np.zeros((n, n))
        i = np.arange(n - 1)
        h[i, i] = 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
        h[i + 1, i + 1] += 200
        h[i, i + 1] = h[i + 1, i] = -400 * x[:-1]
        return h

    return build, by_hand


def per_element_hessian(y: ga.Node, x: ga.Node) -> ga.Node:
    """The construction batching replaced: one JVP of the gradient per basis vector."""
    g = ga.gradients(y, x)
    n = x.shape[0]
    return ga.stack([ga.jvp(g, x, np.eye(n)[i]) for i in range(n)], axis=-1)


def measure(name: str, n: int, make: Callable, construct: Callable) -> None:
    build, by_hand = make(n)
    xv = np.random.default_rng(1).uniform(-1, 1, n)
    t0 = time.perf_counter()
    x = ga.placeholder("x", shape=(n,))
    y = build(x)
    h = construct(y, x)
    ex = ga.Executor(h)
    built = time.perf_counter() - t0
    np.testing.assert_allclose(ex.run({x: xv}), by_hand(xv), rtol=1e-10, atol=1e-10)
    nodes = len(topo_sort([h]))
    grad_nodes = len(topo_sort([ga.gradients(y, x)]))
    t_graph = best(lambda: ex.run({x: xv}))
    t_numpy = best(lambda: by_hand(xv))
    print(
        f"{name:10s} n={n:4d}  nodes {nodes:5d} (gradient {grad_nodes:3d})  "
        f"build {built * 1e3:7.1f} ms  graphad {t_graph * 1e6:9.1f} us  "
        f"numpy {t_numpy * 1e6:8.1f} us  ratio {t_graph / t_numpy:6.1f}x"
    )


def main() -> None:
    constructions = [("batched", ga.hessian)]
    if "--per-element" in sys.argv:
        constructions.append(("per-elem", per_element_hessian))
    for label, construct in constructions:
        print(f"-- {label}")
        for n in (10, 100, 400):
            measure("tanh", n, tanh_model, construct)
        measure("rosenbrock", 100, rosenbrock, construct)


if __name__ == "__main__":
    main()
