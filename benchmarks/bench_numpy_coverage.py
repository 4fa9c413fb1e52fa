"""The NumPy-coverage ops against hand-written NumPy, on this machine, in this run.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_numpy_coverage.py

Each case computes a value and its gradient with a graphad ``Executor`` and
by hand in NumPy (the adjoint written out), and prints the ratio.  ``cumprod``
is the case to watch: graphad builds it from pairwise products (exact at
zeros, to every order), NumPy's hand gradient divides by x (wrong at zeros).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from functools import partial

import numpy as np
from bench_executor import best

import graphad as ga

RNG = np.random.default_rng(0)


def cumsum(n: int = 1000, m: int = 100) -> tuple:
    xv, gv = RNG.standard_normal((n, m)), RNG.standard_normal((n, m))
    x = ga.placeholder("x", (n, m))
    y = ga.cumsum(x, axis=0)
    ex = ga.Executor([y, ga.gradients(y, x, grad_y=ga.constant(gv))])

    def by_hand() -> tuple:
        return np.cumsum(xv, axis=0), np.cumsum(gv[::-1], axis=0)[::-1]

    return f"cumsum + vjp ({n}x{m}, axis 0)", ex, {x: xv}, by_hand


def cumprod(n: int = 1000, m: int = 100) -> tuple:
    xv = RNG.uniform(0.99, 1.01, (n, m))
    gv = RNG.standard_normal((n, m))
    x = ga.placeholder("x", (n, m))
    y = ga.cumprod(x, axis=0)
    ex = ga.Executor([y, ga.gradients(y, x, grad_y=ga.constant(gv))])

    def by_hand() -> tuple:  # by division: not exact at zeros
        yv = np.cumprod(xv, axis=0)
        return yv, np.cumsum((gv * yv)[::-1], axis=0)[::-1] / xv

    return f"cumprod + vjp ({n}x{m}, axis 0)", ex, {x: xv}, by_hand


def sort(n: int = 512, m: int = 256) -> tuple:
    xv, gv = RNG.standard_normal((n, m)), RNG.standard_normal((n, m))
    x = ga.placeholder("x", (n, m))
    y = ga.sort(x, axis=-1)
    ex = ga.Executor([y, ga.gradients(y, x, grad_y=ga.constant(gv))])

    def by_hand() -> tuple:
        order = np.argsort(xv, axis=-1, kind="stable")
        back = np.zeros_like(xv)
        np.put_along_axis(back, order, gv, axis=-1)
        return np.take_along_axis(xv, order, axis=-1), back

    return f"sort + vjp ({n}x{m}, last axis)", ex, {x: xv}, by_hand


def pad(n: int = 256) -> tuple:
    xv = RNG.standard_normal((n, n))
    x = ga.placeholder("x", (n, n))
    ex = ga.Executor([ga.pad(x, 8, mode="reflect")])

    def by_hand() -> tuple:
        return (np.pad(xv, 8, mode="reflect"),)

    return f"pad reflect ({n}x{n}, width 8), value", ex, {x: xv}, by_hand


def eigh(n: int = 200) -> tuple:
    b = RNG.standard_normal((n, n))
    av = b + b.T
    x = ga.placeholder("a", (n, n))
    w = ga.linalg.eigvalsh(x)
    f = ga.sum(w * w * w)
    ex = ga.Executor([f, ga.gradients(f, x)])

    def by_hand() -> tuple:
        wv, v = np.linalg.eigh(av)
        g = (v * 3 * wv**2) @ v.T
        return np.sum(wv**3), np.tril(g + g.T) - np.diag(np.diag(g))

    return f"eigh: sum(w³) + gradient ({n}x{n})", ex, {x: av}, by_hand


def nuclear(m: int = 200, n: int = 150) -> tuple:
    av = RNG.standard_normal((m, n))
    x = ga.placeholder("a", (m, n))
    f = ga.linalg.norm(x, "nuc")
    ex = ga.Executor([f, ga.gradients(f, x)])

    def by_hand() -> tuple:
        u, s, vh = np.linalg.svd(av, full_matrices=False)
        return np.sum(s), u @ vh

    return f"nuclear norm + gradient ({m}x{n})", ex, {x: av}, by_hand


def sinc(n: int = 1_000_000) -> tuple:
    xv, gv = RNG.uniform(-3, 3, n), RNG.standard_normal(n)
    x = ga.placeholder("x", (n,))
    y = ga.sinc(x)
    ex = ga.Executor([y, ga.gradients(y, x, grad_y=ga.constant(gv))])

    def by_hand() -> tuple:  # the quotient alone: cancels near 0, where graphad uses a series
        yv = np.sinc(xv)
        return yv, gv * (np.cos(np.pi * xv) - yv) / xv

    return f"sinc + vjp ({n})", ex, {x: xv}, by_hand


def logaddexp(n: int = 1_000_000) -> tuple:
    av, bv, gv = RNG.standard_normal(n), RNG.standard_normal(n), RNG.standard_normal(n)
    a, b = ga.placeholder("a", (n,)), ga.placeholder("b", (n,))
    y = ga.logaddexp(a, b)
    ex = ga.Executor([y, *ga.gradients(y, [a, b], grad_y=ga.constant(gv))])

    def by_hand() -> tuple:
        yv = np.logaddexp(av, bv)
        return yv, gv * np.exp(av - yv), gv * np.exp(bv - yv)

    return f"logaddexp + vjp ({n})", ex, {a: av, b: bv}, by_hand


def complex_std(n: int = 1000, m: int = 1000) -> tuple:
    zv = RNG.standard_normal((n, m)) + 1j * RNG.standard_normal((n, m))
    z = ga.placeholder("z", (n, m), "complex128")
    f = ga.sum(ga.std(z, axis=0))
    ex = ga.Executor([f, ga.gradients(f, z)])

    def by_hand() -> tuple:
        c = zv - zv.mean(axis=0)
        s = np.std(zv, axis=0)
        return np.sum(s), np.conj(c) / (n * s)

    return f"complex std + gradient ({n}x{m}, axis 0)", ex, {z: zv}, by_hand


def main() -> None:
    print(f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, numpy {np.__version__}")
    print(f"{'case':42s} {'nodes':>6s} {'graphad':>11s} {'numpy':>11s} {'ratio':>7s}")
    cases = (cumsum(), cumprod(), sort(), pad(), eigh(), nuclear(), sinc(), logaddexp())
    for name, ex, feeds, by_hand in (*cases, complex_std()):
        for ours, ref in zip(ex.run(feeds), by_hand()):
            assert np.allclose(ours, ref, rtol=1e-7, atol=1e-9), f"{name}: graphad and NumPy differ"
        t_ours, t_np = best(partial(ex.run, feeds)), best(by_hand)
        print(
            f"{name:42s} {len(ex.order):6d} {t_ours * 1e6:9.1f}µs {t_np * 1e6:9.1f}µs "
            f"{t_ours / t_np:6.2f}x"
        )


if __name__ == "__main__":
    main()
