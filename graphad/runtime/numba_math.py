"""exp, expm1, log, log1p, sin, cos and tanh as arithmetic that LLVM vectorises.

numba compiles ``math.exp`` and its kin into calls of the C library's scalar functions: a
call per entry (several ns each), and a call LLVM cannot vectorise, so a fused loop that
makes one ``sin`` runs one entry at a time.  These are the same functions written as
branch-free float64 arithmetic, inlined where they are called, so the loop around them
compiles to packed instructions (``vfmadd…pd``), several entries at once.  IEEE semantics
are kept without fastmath: every special case (NaN, ±inf, ±0, overflow, underflow,
subnormal inputs and results) is a select on the computed value, not a branch, and gives
NumPy's result.  A float32 argument is computed in float64 and rounded by the caller.

Each function reduces its argument to a small interval and evaluates a polynomial there,
with exact fused multiply-adds (:func:`fma`, LLVM's ``llvm.fma``: one rounding, as IEEE
754 defines it; it is not fastmath's contraction):

- ``exp``: x = k·ln2 + r, |r| ≤ ln2/2 (Cody–Waite: r = x − k·ln2₁ − k·ln2₂, the first
  exact with an fma); exp(r) = 1 + r + r²·P(r); 2ᵏ is made from its bits, in two factors so
  that results near overflow and in the subnormal range are rounded once.  ``expm1``:
  2ᵏ·(expm1(r) + 1) − 1 as one fma, exact for k = 0.
- ``log``: x = 2ᵉ·m, m ∈ [√½, √2), f = m − 1, s = f/(2 + f); log(1 + f) = 2·atanh(s) =
  f − f²/2 + s·(f²/2 + z·L(z)), z = s²; plus e·ln2 in two pieces.  Subnormal x is scaled
  by 2⁵⁴ first.  ``log1p``: the same on u = 1 + x, plus the rounding error of u,
  (x − (u − 1))/u.
- ``sin``, ``cos``: x = n·π/2 + y, y a double-double (Cody–Waite in three rounds of
  33-bit pieces of π/2, each product exact, the subtractions' errors carried), |y| ≤ π/4;
  sin(y) = y + y³·S(y²), cos(y) = 1 − y²/2 + y⁴·C(y²), chosen and signed by n mod 4.  The
  reduction is exact for |x| ≤ 2¹⁹·π/2 (:data:`REDUCED`); beyond it (and at ±inf)
  :func:`far` is true, and the code that calls these runs the C library's functions
  instead (a second pass, so the common path stays vectorised).
- ``tanh``: x + x³·T(x²) for |x| < 0.55, else ±(1 − 2/(exp(2|x|) + 1)), which loses no
  bits there (the result is over ½); ±1 beyond |x| = 20.

The polynomials P, S, C, T, L are minimax (Remez exchange, weighted to the error relative
to the function's value, coefficients rounded to float64): ``scripts/math_coefficients.py``
derives them and the split constants.  Measured against mpmath over dense sweeps and
random samples of each function's whole range (``docs/numba.md``), every function is
within 1 ulp of the correctly rounded result, except expm1 and tanh within 2.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from numba.core import types
from numba.extending import intrinsic, register_jitable

from graphad.compiler.native_code import Library

__all__ = ["LIBRARY", "cos", "exp", "expm1", "far", "log", "log1p", "sin", "tanh"]

# the functions of graphad.ir.scalar written here, and for those exact only on part of
# their domain, the test of an argument beyond it (where the caller uses C's instead)
LIBRARY = Library(
    "graphad.runtime.numba_math",
    frozenset({"exp", "expm1", "log", "log1p", "sin", "cos", "tanh"}),
    (("cos", "far"), ("sin", "far")),
)

# inlined into the code that calls them (at numba's IR, so LLVM sees one loop body); an
# overload rather than a jitted function, so that it is one whatever numba's DISABLE_JIT
# said when this module was imported (Python calls the plain function)
inline = register_jitable(inline="always")


@intrinsic
def _fma(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
    """a·b + c rounded once (IEEE 754's fusedMultiplyAdd, LLVM's ``llvm.fma.f64``)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.fma(*args)

    return sig, codegen


def _bitcast(source: Any, target: Any) -> Any:
    """An intrinsic giving the ``target`` value whose bits are those of a ``source`` value
    (LLVM's bitcast: float64 to int64 or back)."""

    @intrinsic
    def cast_bits(typingctx: Any, x: Any) -> Any:
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            return builder.bitcast(args[0], context.get_value_type(target))

        return target(source), codegen

    return cast_bits


_bits = _bitcast(types.float64, types.int64)  # the bits of a float64 as an int64
_from_bits = _bitcast(types.int64, types.float64)  # the float64 whose bits are an int64


# as the inlined functions call them (numba resolves the names to the intrinsics)
fma = cast(Callable[[float, float, float], float], _fma)
bits = cast(Callable[[float], int], _bits)
from_bits = cast(Callable[[int], float], _from_bits)

# x + SHIFT − SHIFT is x rounded to an integer (|x| < 2⁵¹, rounding to nearest even), and
# the low bits of x + SHIFT are that integer: a rint and its int64 without a call
SHIFT = 6755399441055744.0  # 1.5·2⁵²
SHIFT_BITS = 0x4338000000000000
SIGN = -0x8000000000000000  # the sign bit
LOG2E = 1.4426950408889634
LN2_HI, LN2_LO = 0.6931471805599453, 2.3190468138462996e-17  # ln2 = hi + lo (+ 2⁻¹²⁴)
LN2_42, LN2_42_LO = 0.6931471805598903, 5.497923018708371e-14  # hi of 42 bits: e·hi exact
TWO_OVER_PI = 0.6366197723675814
# π/2 as PIO2_1 + PIO2_2 + PIO2_3 (33 bits each: n·PIO2_i exact for n < 2²⁰) + PIO2_3T
PIO2_1, PIO2_2, PIO2_3 = 1.5707963267341256, 6.077100506303966e-11, 2.0222662487111665e-21
PIO2_3T = 8.4784276603689e-32
REDUCED = 823549.6654502985  # 2¹⁹·π/2: sin and cos reduce exactly up to here
SQRT2 = 1.4142135623730951
INF, NAN = float("inf"), float("nan")

# minimax coefficients, constant term first (scripts/math_coefficients.py)
P0, P1, P2, P3, P4 = (
    0.5000000000000011,
    0.16666666666666405,
    0.04166666666652714,
    0.008333333333498085,
    0.0013888888944539712,
)
P5, P6, P7, P8, P9 = (
    0.00019841269500931821,
    2.4801492055719458e-05,
    2.755758938718189e-06,
    2.7630651857267367e-07,
    2.4999760804594514e-08,
)
S0, S1, S2, S3, S4, S5 = (
    -0.1666666666666663,
    0.008333333333321974,
    -0.0001984126982946967,
    2.7557313578360506e-06,
    -2.505074081421932e-08,
    1.5895815754845296e-10,
)
C0, C1, C2, C3, C4, C5 = (
    0.041666666666666595,
    -0.001388888888887285,
    2.480158728871976e-05,
    -2.755731414021106e-07,
    2.087569540320902e-09,
    -1.1358248662179694e-11,
)
T0, T1, T2, T3, T4, T5 = (
    -0.3333333333333333,
    0.13333333333333067,
    -0.05396825396804401,
    0.02186948852784002,
    -0.00886323533654572,
    0.0035921251666926526,
)
T6, T7, T8, T9, T10, T11 = (
    -0.0014558058811571406,
    0.0005898332142370347,
    -0.00023821464488255352,
    9.396817181598949e-05,
    -3.2966730764330086e-05,
    7.449006901364446e-06,
)
L0, L1, L2, L3, L4, L5, L6 = (
    0.6666666666666735,
    0.39999999999410496,
    0.2857142874340852,
    0.22222198459801865,
    0.18183570640481805,
    0.15313878758249377,
    0.1479776652949343,
)


@inline
def _pow2(k: int) -> float:
    """2ᵏ for -1022 ≤ k ≤ 1023, from its bits."""
    return from_bits((k + 1023) << 52)


@inline
def _expm1_reduced(x: float) -> tuple[int, float]:
    """k and expm1(r) for x = k·ln2 + r, |r| ≤ ln2/2 (|x| < 2⁵⁰)."""
    t = fma(x, LOG2E, SHIFT)
    fk = t - SHIFT
    k = bits(t) - SHIFT_BITS
    r = fma(-fk, LN2_HI, x)  # exact
    r = fma(-fk, LN2_LO, r)
    p = fma(fma(fma(fma(fma(P9, r, P8), r, P7), r, P6), r, P5), r, P4)
    p = fma(fma(fma(fma(fma(p, r, P3), r, P2), r, P1), r, P0), r * r, r)
    return k, p


@inline
def exp(x: float) -> float:
    """eˣ (within 1 ulp)."""
    x = float(x)
    # beyond these the result is inf or 0: clamped, so that k's factors stay finite
    c = 710.0 if x > 710.0 else x
    c = -746.0 if c < -746.0 else c  # NaN stays NaN: it fails both tests
    k, p = _expm1_reduced(c)
    half = k >> 1
    # rounded once: 1 + p is exact in its scaling by the first factor, a normal number
    return (1.0 + p) * _pow2(half) * _pow2(k - half)


@inline
def expm1(x: float) -> float:
    """eˣ − 1 (within 2 ulp)."""
    x = float(x)
    c = 709.8 if x > 709.8 else x
    c = -60.0 if c < -60.0 else c  # below, the result is −1
    k, p = _expm1_reduced(c)
    s = _pow2(k if k < 1023 else 1023)
    # 2ᵏ·(p + 1) − 1 in one rounding; 2ᵏ − 1 is exact for |k| ≤ 53, its rounding negligible
    # beyond
    y = fma(s, p, s - 1.0)
    y = (1.0 + p) * s * 2.0 if k > 1023 else y  # k = 1024: 2ᵏ itself would overflow
    y = INF if x > 709.782712893384 else y  # where eˣ overflows
    return x if x == 0.0 else y  # the sign of a zero


@inline
def _log(u: float, c: float) -> float:
    """log(u) + c for u > 0 finite and |c| tiny (the caller mends the rest)."""
    sub = u < 2.2250738585072014e-308
    u = u * 18014398509481984.0 if sub else u  # 2⁵⁴: a subnormal made normal
    b = bits(u)
    e = ((b >> 52) & 0x7FF) - (1077 if sub else 1023)
    m = from_bits((b & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)  # [1, 2)
    big = m > SQRT2
    m = m * 0.5 if big else m
    e = e + 1 if big else e
    f = m - 1.0  # exact
    s = f / (2.0 + f)
    z = s * s
    r = z * fma(fma(fma(fma(fma(fma(L6, z, L5), z, L4), z, L3), z, L2), z, L1), z, L0)
    hfsq = 0.5 * f * f
    d = float(e)
    return d * LN2_42 - ((hfsq - (s * (hfsq + r) + (d * LN2_42_LO + c))) - f)


@inline
def log(x: float) -> float:
    """The natural logarithm (within 1 ulp)."""
    x = float(x)
    y = _log(x, 0.0)
    y = -INF if x == 0.0 else y
    y = x if x == INF else y
    y = NAN if x < 0.0 else y
    return x if x != x else y


@inline
def log1p(x: float) -> float:
    """log(1 + x) (within 1 ulp)."""
    x = float(x)
    u = 1.0 + x
    # the rounding error of u, as its effect on the logarithm: log(u + d) = log u + d/u
    y = _log(u, (x - (u - 1.0)) / u)
    y = -INF if x == -1.0 else y
    y = x if x == INF else y
    y = NAN if x < -1.0 else y
    y = x if x == 0.0 else y  # the sign of a zero
    return x if x != x else y


@inline
def _reduce(x: float) -> tuple[int, float, float]:
    """n and y₀ + y₁ = x − n·π/2 (|y| ≤ π/4), for |x| ≤ REDUCED."""
    t = fma(x, TWO_OVER_PI, SHIFT)
    fn = t - SHIFT
    n = bits(t) - SHIFT_BITS
    r = x - fn * PIO2_1  # exact: the product is, and x is close to it
    w = fn * PIO2_2  # exact
    a = r - w
    e1 = (r - a) - w  # the rounding error of a (exact: |r| ≥ |w| or a is exact)
    w = fn * PIO2_3
    b = a - w
    e2 = (a - b) - w
    w = fn * PIO2_3T - (e1 + e2)
    y0 = b - w
    return n, y0, (b - y0) - w


@inline
def _sin_cos(x: float, shift: int) -> float:
    """sin(x + shift·π/2)."""
    x = float(x)
    n, y0, y1 = _reduce(x)
    z = y0 * y0
    # sin(y₀ + y₁) = y₀ + y₀³·S(y₀²) + y₁·(1 − y₀²/2)
    p = fma(fma(fma(fma(fma(S5, z, S4), z, S3), z, S2), z, S1), z, S0)
    s = y0 + fma(z * y0, p, fma(-0.5 * z, y1, y1))
    # cos(y₀ + y₁) = 1 − y₀²/2 + y₀⁴·C(y₀²) − y₀·y₁, 1 − y₀²/2 with its rounding error
    q = fma(fma(fma(fma(fma(C5, z, C4), z, C3), z, C2), z, C1), z, C0)
    h = 0.5 * z
    w = 1.0 - h
    c = w + (((1.0 - w) - h) + fma(z * z, q, -y0 * y1))
    quadrant = n + shift
    v = c if quadrant & 1 else s
    return -v if quadrant & 2 else v


@inline
def sin(x: float) -> float:
    """sin x (within 1 ulp) for |x| ≤ REDUCED; beyond, :func:`far` says so."""
    y = _sin_cos(x, 0)
    return x if x == 0.0 else y  # the sign of a zero


@inline
def cos(x: float) -> float:
    """cos x (within 1 ulp) for |x| ≤ REDUCED; beyond, :func:`far` says so."""
    return _sin_cos(x, 1)


@inline
def far(x: float) -> bool:
    """Whether sin and cos of x are beyond the reduction here (|x| > 2¹⁹·π/2, or ±inf):
    the C library's functions give them."""
    return abs(x) > REDUCED


@inline
def tanh(x: float) -> float:
    """tanh x (within 2 ulp)."""
    x = float(x)
    a = abs(x)
    z = x * x
    p = fma(fma(fma(fma(fma(fma(T11, z, T10), z, T9), z, T8), z, T7), z, T6), z, T5)
    p = fma(fma(fma(fma(fma(p, z, T4), z, T3), z, T2), z, T1), z, T0)
    small = fma(x * z, p, x)
    c = 20.0 if a > 20.0 else a  # tanh is 1 in float64 beyond 19.06; NaN stays NaN
    k, q = _expm1_reduced(2.0 * c)
    e = (1.0 + q) * _pow2(k)  # e^(2c), no overflow
    large = from_bits(bits(1.0 - 2.0 / (e + 1.0)) | (bits(x) & SIGN))
    y = small if a < 0.55 else large
    return x if x == 0.0 else y  # the sign of a zero
