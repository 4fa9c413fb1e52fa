"""Derive the polynomial coefficients of ``graphad/runtime/numba_math.py`` (needs mpmath).

    python scripts/math_coefficients.py

Each kernel is a polynomial P of degree n in t on an interval [a, b] that approximates a
function g (the part of exp, sin, cos, tanh or log the range reduction leaves) with the
least largest weighted error max |w(t)·(P(t) − g(t))|: the Remez exchange algorithm, run
in 60-digit arithmetic on a dense Chebyshev grid.  Each step solves for the polynomial
whose weighted error alternates in sign with equal size E on n + 2 reference points, then
moves the references to the extrema of the error between its sign changes, until the
largest error is within 1e-6 of E (the equioscillation that characterises the best
approximation).  The weight makes the error relative where it matters: to the whole
function value the kernel's term adds to, not to g alone.  The coefficients are then
rounded to the nearest float64; the printed error is that of the rounded polynomial,
relative to the function's value, and lies well under 2⁻⁵³.

The constants of the range reductions (ln 2 and π/2 split into pieces with trailing zero
bits, so that a piece times a small integer is exact) are printed too.
"""

from __future__ import annotations

from collections.abc import Callable

import mpmath as mp

mp.mp.dps = 60
Fn = Callable[[mp.mpf], mp.mpf]


def remez(g: Fn, w: Fn, a: float, b: float, n: int, grid: int = 6000) -> list[mp.mpf]:
    """The degree-``n`` polynomial (coefficients, constant first) minimising max |w·(P − g)|
    on [a, b]."""
    ts = [
        mp.mpf(a) + (mp.mpf(b) - a) * (1 - mp.cos(mp.pi * (k + 0.5) / grid)) / 2
        for k in range(grid)
    ]
    gs, ws = [g(t) for t in ts], [w(t) for t in ts]
    ref = [round((grid - 1) * (1 - mp.cos(mp.pi * i / (n + 1))) / 2) for i in range(n + 2)]
    c: list[mp.mpf] = []
    for _ in range(40):
        rows = [[ts[i] ** j for j in range(n + 1)] + [(-1) ** r / ws[i]] for r, i in enumerate(ref)]
        sol = mp.lu_solve(mp.matrix(rows), mp.matrix([gs[i] for i in ref]))
        c, e = [sol[j] for j in range(n + 1)], abs(sol[n + 1])
        err = [ws[i] * (mp.polyval(c[::-1], ts[i]) - gs[i]) for i in range(grid)]
        # the extremum of each run of one sign
        runs: list[int] = []
        for i in range(grid):
            if runs and (err[i] > 0) == (err[runs[-1]] > 0):
                if abs(err[i]) > abs(err[runs[-1]]):
                    runs[-1] = i
            else:
                runs.append(i)
        while len(runs) > n + 2:  # drop the smaller end
            runs.pop(0 if abs(err[runs[0]]) < abs(err[runs[-1]]) else -1)
        if len(runs) == n + 2:
            ref = runs
        top = max(abs(x) for x in err)
        if e and top <= e * (1 + mp.mpf("1e-6")):
            break
    return c


def report(name: str, c: list[mp.mpf], g: Fn, w: Fn, a: float, b: float) -> None:
    doubles = [float(x) for x in c]
    ts = [mp.mpf(a) + (mp.mpf(b) - a) * (k + 0.5) / 4000 for k in range(4000)]
    worst = max(abs(w(t) * (mp.polyval([mp.mpf(x) for x in doubles[::-1]], t) - g(t))) for t in ts)
    print(f"# {name}: degree {len(c) - 1} on [{a}, {b}], weighted error {mp.nstr(worst, 3)}")
    print(f"{name.upper()} = (")
    for x in doubles:
        print(f"    {x!r},")
    print(")")


def split(value: mp.mpf, bits: int, pieces: int) -> list[float]:
    """``value`` as a sum of floats of ``bits`` significant bits each (the last of 53)."""
    out = []
    rest = value
    for p in range(pieces):
        b = 53 if p == pieces - 1 else bits
        e = int(mp.floor(mp.log(abs(rest), 2)))
        piece = mp.floor(rest * mp.mpf(2) ** (b - 1 - e)) / mp.mpf(2) ** (b - 1 - e)
        out.append(float(piece))
        rest -= mp.mpf(float(piece))
    return out


def main() -> None:
    def one(_: mp.mpf) -> mp.mpf:
        return mp.mpf(1)

    h = mp.log(2) / 2 + mp.mpf("1e-3")  # |r| ≤ ln2/2, and the rounding of k's product
    # exp(r) = 1 + r + r²·P(r): the error relative to exp(r) is r²·ΔP / exp(r)
    c = remez(lambda r: (mp.exp(r) - 1 - r) / r**2, lambda r: r**2 / mp.exp(r), -h, h, 9)
    report("exp_p", c, lambda r: (mp.exp(r) - 1 - r) / r**2, lambda r: r**2 / mp.exp(r), -h, h)
    # sin(r) = r + r³·S(r²) on |r| ≤ π/4 (a little beyond, for k's rounding)
    q = (mp.pi / 4 + mp.mpf("1e-3")) ** 2

    def gs(z: mp.mpf) -> mp.mpf:
        return (mp.sin(mp.sqrt(z)) - mp.sqrt(z)) / z ** mp.mpf(1.5)

    def ws(z: mp.mpf) -> mp.mpf:
        return z ** mp.mpf(1.5) / mp.sin(mp.sqrt(z))

    report("sin_s", remez(gs, ws, 1e-30, q, 5), gs, ws, 1e-30, q)

    # cos(r) = 1 − r²/2 + r⁴·C(r²)
    def gc(z: mp.mpf) -> mp.mpf:
        return (mp.cos(mp.sqrt(z)) - 1 + z / 2) / z**2

    def wc(z: mp.mpf) -> mp.mpf:
        return z**2 / mp.cos(mp.sqrt(z))

    report("cos_c", remez(gc, wc, 1e-30, q, 5), gc, wc, 1e-30, q)
    # tanh(x) = x + x³·T(x²) on |x| ≤ 0.55 (beyond it, 1 − 2/(exp(2x) + 1) loses nothing)
    t = mp.mpf("0.55") ** 2

    def gt(z: mp.mpf) -> mp.mpf:
        return (mp.tanh(mp.sqrt(z)) - mp.sqrt(z)) / z ** mp.mpf(1.5)

    def wt(z: mp.mpf) -> mp.mpf:
        return z ** mp.mpf(1.5) / mp.tanh(mp.sqrt(z))

    report("tanh_t", remez(gt, wt, 1e-30, t, 11), gt, wt, 1e-30, t)
    # log(1 + f) = 2·atanh(s) = 2s + s·R(s²), s = f / (2 + f), |s| ≤ (√2 − 1)/(√2 + 1);
    # R(z) = z·L(z), and the error relative to log(1 + f) ≈ 2s is s·z·ΔL / 2s = z·ΔL / 2
    m = ((mp.sqrt(2) - 1) / (mp.sqrt(2) + 1) + mp.mpf("1e-4")) ** 2

    def gl(z: mp.mpf) -> mp.mpf:
        s = mp.sqrt(z)
        return (2 * mp.atanh(s) / s - 2) / z

    def wl(z: mp.mpf) -> mp.mpf:
        return z / 2

    report("log_l", remez(gl, wl, 1e-30, m, 6), gl, wl, 1e-30, m)
    print("LN2 =", split(mp.log(2), 42, 2), " # 42 bits: k·LN2[0] exact for |k| < 2¹¹")
    print("LN2_FMA =", split(mp.log(2), 53, 2), " # with an fma, x − k·LN2[0] is exact")
    print("PIO2 =", split(mp.pi / 2, 33, 4), " # 33 bits: k·PIO2[i] exact for |k| < 2²⁰")
    print("LOG2E =", float(1 / mp.log(2)), " 2/π =", float(2 / mp.pi))


if __name__ == "__main__":
    main()
