"""The largest error of ``graphad/runtime/numba_math.py``'s functions, in ulp of the
correctly rounded result (mpmath at 40 digits), with NumPy's beside it (needs mpmath).

    python scripts/math_accuracy.py [points per function, default 200000]

Each function is measured on a dense sweep of its main interval and on random samples of
its whole float64 range (every binade, both signs where the function takes them).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import mpmath as mp
import numba
import numpy as np

from graphad.runtime import numba_math

mp.mp.dps = 40


def run(f: Callable[[float], float]) -> Callable[[np.ndarray], np.ndarray]:
    @numba.njit(error_model="numpy")
    def loop(x: np.ndarray, out: np.ndarray) -> None:
        for i in range(x.size):
            out[i] = f(x[i])

    def call(x: np.ndarray) -> np.ndarray:
        out = np.empty_like(x)
        loop(x, out)
        return out

    return call


def wide(rng: np.random.Generator, n: int, low: float, high: float, signed: bool) -> np.ndarray:
    """n samples whose logarithm is uniform: every binade from e^low to e^high."""
    x = np.exp(rng.uniform(low, high, n))
    return x * rng.choice([-1.0, 1.0], n) if signed else x


CASES: dict[str, tuple[Any, Any, Callable[[np.random.Generator, int], np.ndarray]]] = {
    "exp": (
        mp.exp,
        np.exp,
        lambda g, n: np.concatenate(
            [np.linspace(-745, 709.7, n // 2), g.uniform(-745, 709, n // 2)]
        ),
    ),
    "expm1": (
        mp.expm1,
        np.expm1,
        lambda g, n: np.concatenate([np.linspace(-3, 3, n // 2), wide(g, n // 2, -700, 6.5, True)]),
    ),
    "log": (
        mp.log,
        np.log,
        lambda g, n: np.concatenate(
            [np.linspace(0.5, 2, n // 2), wide(g, n // 2, -744, 709, False)]
        ),
    ),
    "log1p": (
        mp.log1p,
        np.log1p,
        lambda g, n: np.concatenate(
            [
                np.linspace(-0.999, 2, n // 2),
                wide(g, n // 4, -700, 709, False),
                -wide(g, n // 4, -700, -1e-9, False),
            ]
        ),
    ),
    "sin": (
        mp.sin,
        np.sin,
        lambda g, n: np.concatenate(
            [np.linspace(-10, 10, n // 2), wide(g, n // 2, -700, np.log(numba_math.REDUCED), True)]
        ),
    ),
    "cos": (
        mp.cos,
        np.cos,
        lambda g, n: np.concatenate(
            [np.linspace(-10, 10, n // 2), wide(g, n // 2, -700, np.log(numba_math.REDUCED), True)]
        ),
    ),
    "tanh": (
        mp.tanh,
        np.tanh,
        lambda g, n: np.concatenate([np.linspace(-3, 3, n // 2), wide(g, n // 2, -700, 3.2, True)]),
    ),
}


def ulp_error(got: np.ndarray, exact: list[Any]) -> np.ndarray:
    """|got − exact| in ulp of the correctly rounded value."""
    rounded = np.array([float(e) for e in exact])
    spacing = np.spacing(np.abs(rounded))
    spacing[spacing == 0] = np.spacing(0.0)
    diff = np.array([float(abs(mp.mpf(float(g)) - e)) for g, e in zip(got, exact, strict=True)])
    return diff / spacing


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    rng = np.random.default_rng(0)
    print(f"{'function':10}{'points':>10}{'ours':>10}{'NumPy':>10}   (max error, ulp)")
    for name, (exact_fn, numpy_fn, draw) in CASES.items():
        x = draw(rng, n)
        ours = run(getattr(numba_math, name))(x)
        theirs = numpy_fn(x)
        exact = [exact_fn(mp.mpf(float(v))) for v in x]
        e_ours, e_theirs = ulp_error(ours, exact), ulp_error(theirs, exact)
        print(f"{name:10}{x.size:>10}{e_ours.max():>10.3f}{e_theirs.max():>10.3f}")


if __name__ == "__main__":
    main()
