"""The Dask backend's overhead: one Executor run on NumPy arrays against the same run on
Dask arrays, on data that fits in memory.

    python benchmarks/bench_dask.py

For an L2-regularised logistic regression (loss, gradient and a Hessian-vector product,
one Executor), over X of n x 100 float64: the NumPy run; the Dask run with X in one chunk
(target: at most 1.5x NumPy), split into its lazy graph building and its compute; the
Dask run with X in chunks of 25,000 rows; and the same gradient written by hand with
``dask.array`` on those chunks.  BLAS is pinned to one thread, Dask's scheduler to one
worker thread, so the ratios measure overhead, not parallelism.  Best of 7 runs each.

On the reference machine (2 cores, shared): one chunk costs 1.14x NumPy at 10⁶ rows
(800 MB), 2.0x at 2·10⁵ and 8x at 2·10⁴, where Dask's fixed cost (~15-40 ms to build the
graph of 71 steps, ~10 ms to schedule it) outweighs 4 ms of NumPy; the chunked gradient
runs at 0.98-1.23x the one written by hand with dask.array.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy is imported: one BLAS thread, comparable runs

import time  # noqa: E402 - after pinning BLAS
from collections.abc import Callable  # noqa: E402 - after pinning BLAS

import dask  # noqa: E402 - after pinning BLAS
import dask.array as da  # noqa: E402 - after pinning BLAS
import numpy as np  # noqa: E402 - after pinning BLAS

import graphad as ga  # noqa: E402 - after pinning BLAS

L2 = 1e-3


def best(fn: Callable[[], object], repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def by_hand(X: da.Array, s: da.Array, w: np.ndarray) -> da.Array:
    """∇L = Xᵀ(-s·σ(-s·Xw))/n + λw"""
    m = s * (X @ w)
    return X.T @ (-s / (1.0 + da.exp(m))) / X.shape[0] + L2 * w


def row(n: int, d: int, ex: ga.Executor, grad: ga.Executor, rng: np.random.Generator) -> str:
    X = rng.standard_normal((n, d))
    s = np.sign(rng.standard_normal(n))
    w, v = rng.standard_normal(d) * 0.1, rng.standard_normal(d)
    feeds = {"X": X, "s": s, "w": w, "v": v}
    one = {**feeds, "X": da.from_array(X, chunks=-1), "s": da.from_array(s, chunks=-1)}
    rows = 25_000
    many = {**feeds, "X": da.from_array(X, chunks=(rows, d)), "s": da.from_array(s, chunks=rows)}
    g_feeds = {k: many[k] for k in ("X", "s", "w")}
    with dask.config.set(scheduler="threads", num_workers=1):
        expected = ex.run(feeds)
        for a, b in zip(ex.run(one, compute=True), expected):
            np.testing.assert_allclose(a, b, rtol=1e-10)
        t_np = best(lambda: ex.run(feeds))
        t_one = best(lambda: ex.run(one, compute=True))
        t_build = best(lambda: ex.run(one))
        lazy = ex.run(one)
        t_compute = best(lambda: dask.compute(*lazy))
        t_many = best(lambda: ex.run(many, compute=True))
        t_grad = best(lambda: grad.run(g_feeds, compute=True))
        t_hand = best(lambda: dask.compute(by_hand(many["X"], many["s"], w)))
    return (
        f"{n:>9,} {t_np * 1e3:>7.1f}ms {t_one * 1e3:>11.1f}ms {t_one / t_np:>6.2f} "
        f"{t_build * 1e3:>6.1f}ms {t_compute * 1e3:>7.1f}ms {t_many * 1e3:>7.1f}ms "
        f"{t_grad * 1e3:>7.1f}ms {t_hand * 1e3:>7.1f}ms {t_grad / t_hand:>6.2f}"
    )


def main() -> None:
    d = 100
    X_ = ga.placeholder("X", (None, d))
    s_ = ga.placeholder("s", (None,))
    w_ = ga.placeholder("w", (d,))
    v_ = ga.placeholder("v", (d,))
    loss = -ga.mean(ga.log(ga.sigmoid(s_ * (X_ @ w_)))) + 0.5 * L2 * ga.sum(w_ * w_)
    ex = ga.Executor([loss, ga.gradients(loss, w_), ga.hvp(loss, w_, v_)])
    grad = ga.Executor(ga.gradients(loss, w_))
    rng = np.random.default_rng(0)
    print(
        f"{'n':>9} {'NumPy':>9} {'Dask 1 chunk':>13} {'ratio':>6} {'(build':>8} "
        f"{'compute)':>9} {'chunked':>9} {'grad':>9} {'by hand':>9} {'ratio':>6}"
    )
    for n in (20_000, 200_000, 1_000_000):
        print(row(n, d, ex, grad, rng))


if __name__ == "__main__":
    main()
