"""numba_math's vectorised functions: NumPy's values to a few ulp, its special values
exactly, sin and cos of huge arguments through C's functions, and packed instructions in
the loop that calls them."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

numba = pytest.importorskip("numba")

import graphad as ga  # noqa: E402 - after the skip
from graphad.runtime import numba_math  # noqa: E402

FUNCTIONS: dict[str, tuple[Callable[..., Any], Any, int]] = {
    # name: (ours, NumPy's, ulp bound against NumPy: ours is within 1 ulp of the correctly
    # rounded value (2 for expm1 and tanh), and NumPy's own functions may be 1 ulp off)
    "exp": (numba_math.exp, np.exp, 2),
    "expm1": (numba_math.expm1, np.expm1, 3),
    "log": (numba_math.log, np.log, 2),
    "log1p": (numba_math.log1p, np.log1p, 2),
    "sin": (numba_math.sin, np.sin, 2),
    "cos": (numba_math.cos, np.cos, 2),
    "tanh": (numba_math.tanh, np.tanh, 3),
}
TINY = np.nextafter(0.0, 1.0)
SPECIAL = np.array(
    [
        *(
            0.0,
            -0.0,
            np.inf,
            -np.inf,
            np.nan,
            TINY,
            -TINY,
            1e-310,
            -1e-310,
            2.2250738585072014e-308,
        ),
        *(1e-300, 1e-20, -1e-20, 1e-8, 0.5, 0.55, 0.5499999999999999, 1.0, -1.0, 2.0, np.pi),
        *(np.pi / 2, -np.pi / 4, 19.0, 20.0, 21.0, -22.0, 40.0, 709.78, 709.782712893384, 709.79),
        *(710.0, -708.4, -745.1, -745.13, -745.14, -746.0, -0.9999999999999999, -1.0000000001),
        *(1e300, -1e300, 1.7976931348623157e308, 823549.0, -823549.0, 1e5 * np.pi),
    ]
)


def vectorised(f: Callable[..., Any]) -> Callable[[np.ndarray], np.ndarray]:
    @numba.njit(error_model="numpy")
    def loop(x: np.ndarray, out: np.ndarray) -> None:
        for i in range(x.size):
            out[i] = f(x[i])

    def run(x: np.ndarray) -> np.ndarray:
        out = np.empty_like(x, dtype=np.float64)
        loop(x, out)
        return out

    return run


def ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """|got − want| in units of want's last place; 0 where both are the same (NaN too)."""
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    finite = np.isfinite(got) & np.isfinite(want) & ~same
    out = np.where(same, 0.0, np.inf)
    spacing = np.spacing(np.abs(want[finite]))
    out[finite] = np.abs(got[finite] - want[finite]) / spacing
    return out


def samples(name: str) -> np.ndarray:
    rng = np.random.default_rng(20)
    x = np.concatenate(
        [
            rng.uniform(-3, 3, 20000),
            rng.uniform(-40, 40, 20000),
            # every binade of the whole range, both signs
            np.exp(rng.uniform(-745, 709, 40000)) * rng.choice([-1.0, 1.0], 40000),
            SPECIAL,
        ]
    )
    if name in ("sin", "cos"):
        x = x[~(np.abs(x) > numba_math.REDUCED)]
    return x


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_values_are_numpys_to_a_few_ulp(name: str) -> None:
    ours, theirs, bound = FUNCTIONS[name]
    x = samples(name)
    with np.errstate(all="ignore"):
        want = theirs(x)
    got = vectorised(ours)(x)
    error = ulps(got, want)
    worst = int(np.argmax(error))
    assert error[worst] <= bound, f"{name}({x[worst]!r}) = {got[worst]!r}, NumPy {want[worst]!r}"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_special_values_are_numpys_exactly(name: str) -> None:
    """NaN, ±inf, overflow to inf, underflow to 0, and the sign of every zero."""
    ours, theirs, _ = FUNCTIONS[name]
    x = SPECIAL[~(np.abs(SPECIAL) > numba_math.REDUCED)] if name in ("sin", "cos") else SPECIAL
    with np.errstate(all="ignore"):
        want = theirs(x)
    got = vectorised(ours)(x)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    for g, w, v in zip(got, want, x, strict=True):
        if not np.isfinite(w) or w == 0:
            assert g == w or (np.isnan(g) and np.isnan(w)), f"{name}({v!r}): {g!r}, not {w!r}"
            if not np.isnan(w):
                assert np.signbit(g) == np.signbit(w), f"{name}({v!r}): {g!r}, not {w!r}"


def test_subnormal_results_are_rounded_once() -> None:
    x = np.linspace(-745.0, -708.5, 20001)
    got = vectorised(numba_math.exp)(x)
    assert ulps(got, np.exp(x)).max() <= 1  # within 1 ulp of a subnormal, as NumPy's


def test_far_marks_what_the_reduction_cannot_reach() -> None:
    far = numba.njit(numba_math.far)
    assert not far(numba_math.REDUCED) and not far(-1e5) and not far(np.nan)
    assert far(np.nextafter(numba_math.REDUCED, np.inf)) and far(np.inf) and far(-1e300)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_huge_arguments_of_sin_and_cos_are_cs_through_the_backend(
    dtype: type, tmp_path: Path
) -> None:
    """An argument beyond the exact reduction reruns the nest on C's functions: the same
    values as NumPy's, and as the nest without such an argument gives elsewhere."""
    x = ga.placeholder("x", (3000,), dtype=dtype)
    y = ga.sum(ga.sin(x) * ga.cos(2.0 * x))
    ex = ga.Executor([y, ga.gradients(y, x)], backend="numba", cache_dir=tmp_path)
    xv = np.random.default_rng(1).uniform(-3, 3, 3000).astype(dtype)
    xv[[7, 2000]] = [1e10, -3e38 if dtype == np.float32 else -1e300]
    want = ga.Executor([y, ga.gradients(y, x)]).run({x: xv})
    got = ex.run({x: xv})
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got[1], want[1], rtol=rtol, atol=rtol)
    np.testing.assert_allclose(got[0], want[0], rtol=rtol)
    assert got[1].dtype == want[1].dtype
    small = np.sin(xv[[7, 2000]].astype(np.float64))
    np.testing.assert_allclose(np.sin(xv[[7, 2000]]), small.astype(dtype), rtol=rtol)


def test_the_fused_loop_is_vectorised(tmp_path: Path) -> None:
    """W4's loop compiles to packed fused multiply-adds: no call of C's sin in it."""
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    if " fma" not in flags or " avx2" not in flags:
        pytest.skip("no AVX2 and FMA here")
    x = ga.placeholder("x", (10000,))
    y = ga.sum(ga.sin(x) * ga.exp(-x * x) + ga.tanh(x) ** 2)
    ex = ga.Executor([y, ga.gradients(y, x)], backend="numba", cache_dir=tmp_path)
    ex.run({x: np.linspace(-2, 2, 10000)})
    (region,) = ex._native.regions
    asm = "\n".join(region.kernel.fn.inspect_asm().values())
    assert re.search(r"vfmadd\w*pd\s+[^\n]*%[yz]mm", asm), "no packed fma in the kernel"
