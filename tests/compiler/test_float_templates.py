"""The 0-d float path against NumPy at special values (issue 16, item 2).

Generated code runs 0-d float64 ops as their ``scalar`` formulas on Python floats, with
each function bound to :mod:`math`.  Where NumPy gives inf or NaN, Python raises instead
(``1.0 / 0.0``, ``math.log(0.0)``, ``math.exp(1e3)``) and the run falls back to NumPy;
nowhere may the formula *return* something else.  Every formula is checked against its
op's ``compute`` at ±0, ±inf, NaN, subnormals, the largest finite values and the edges of
each function's domain (±1, where exp, sinh and cosh overflow, where exp underflows, ...),
alone and through an Executor in each of its modes.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

import numpy as np
import pytest
from runtime.modes import in_every_mode

import graphad as ga
from graphad.compiler import floats
from graphad.ir import Op

TINY = 5e-324  # the smallest subnormal
NORMAL = 2.2250738585072014e-308  # the smallest normal
HUGE = 1.7976931348623157e308  # the largest finite
ONE_UP, ONE_DOWN = math.nextafter(1.0, 2.0), math.nextafter(1.0, 0.0)
EDGES = [
    0.5,
    2.0,
    3.0,
    0.3,
    1e-17,
    ONE_UP,
    ONE_DOWN,
    709.782712893384,  # exp's last finite
    709.7827128933841,  # exp overflows
    710.4758600739439,  # sinh and cosh's last finite
    745.1332191019411,  # -x: exp underflows to 0 below it
    math.pi / 2,
    1e300,
]
SPECIAL = [0.0, -0.0, math.inf, -math.inf, math.nan, 1.0, -1.0, TINY, -TINY, NORMAL, HUGE]
SPECIAL += [-HUGE, -NORMAL] + EDGES + [-e for e in EDGES]


def formula_ops() -> list[Op]:
    """One instance of every graphad op class whose scalar formula the float path runs:
    float64 in and out (the formulas of comparisons, logic and where, on bools, are the
    numba backend's, tested in tests/ops/test_numba_table.py)."""
    classes: set[type[Op]] = set()
    todo = list(Op.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("graphad.") and cls.scalar is not None:
            classes.add(cls)
    return sorted(
        (op for op in (cls() for cls in classes) if on_floats(op)), key=lambda op: op.name
    )


def on_floats(op: Op) -> bool:
    try:
        node = op(*(ga.placeholder(f"a{i}", ()) for i in range(arity(op))))
    except ga.GraphError:  # where's condition is a bool
        return False
    return floats.lowers(node)


def arity(op: Op) -> int:
    return 1 + max(int(k) for k in re.findall(r"\{(\d+)\}", op.scalar or "{0}"))


FORMULAS = formula_ops()


def points(op: Op) -> list[tuple[float, ...]]:
    return list(itertools.product(SPECIAL, repeat=arity(op)))


def same(got: float, want: float) -> bool:
    """Equal to NumPy's: both NaN, or equal with the same sign of zero, or finite and
    within 4 ulp (math's functions and NumPy's may round differently)."""
    if math.isnan(want) or math.isnan(got):
        return math.isnan(want) and math.isnan(got)
    if got == want:
        return math.copysign(1.0, got) == math.copysign(1.0, want)
    return math.isfinite(want) and math.isclose(got, want, rel_tol=4 * 2.0**-52, abs_tol=0.0)


def numpy_value(op: Op, args: tuple[float, ...]) -> float:
    with np.errstate(all="ignore"):
        return float(op.compute(*(np.array(a) for a in args)))


@pytest.mark.parametrize("op", FORMULAS, ids=[op.name for op in FORMULAS])
def test_a_formula_returns_numpys_value_or_raises_for_the_fallback(op: Op) -> None:
    code = op.scalar_code([f"_{i}" for i in range(arity(op))])
    compiled = compile(code, f"<{op.name}>", "eval")
    wrong = []
    for args in points(op):
        try:
            got = eval(compiled, dict(floats.NAMESPACE), {f"_{i}": a for i, a in enumerate(args)})
        except floats.FALLBACK_ERRORS:
            continue  # the run falls back to NumPy
        want = numpy_value(op, args)
        if not same(float(got), want):
            wrong.append((args, got, want))
    assert not wrong, f"{op.name}: {code} differs from NumPy at {wrong[:5]}"


@pytest.mark.parametrize("op", FORMULAS, ids=[op.name for op in FORMULAS])
def test_generated_code_gives_numpys_value_at_special_values(op: Op) -> None:
    """Through an Executor, fallback included: the float path where Python has an answer,
    NumPy's where it raises, one result either way."""
    xs = [ga.placeholder(f"a{i}", ()) for i in range(arity(op))]
    y = op(*xs)
    for optimize in (True, False):
        ex = ga.Executor(y, optimize=optimize)
        assert ex._program is not None and ex._program.fast is not None  # the float path
        wrong = []
        for args in points(op):
            got = float(ex.run(dict(zip(xs, args))))
            want = numpy_value(op, args)
            if not same(got, want):
                wrong.append((args, got, want))
        assert not wrong, f"{op.name} (optimize={optimize}): {wrong[:5]}"


def test_the_square_root_of_minus_infinity_is_nan_in_every_mode() -> None:
    """s ** 0.5 at -inf: NumPy takes a 0-d exponent of 0.5 as a square root (NaN there),
    where math.pow gives inf; the formula does as NumPy does."""
    s = ga.placeholder("s", ())
    fetches = [s**0.5, ga.power(s, 0.5), ga.sqrt(s)]
    with np.errstate(invalid="ignore"):
        want = np.power(np.array(-np.inf), 0.5)
    assert np.isnan(want)
    for mode, values in in_every_mode(fetches, {s: -np.inf}).items():
        assert all(np.isnan(v) for v in values), (mode, values)
    for mode, values in in_every_mode(fetches, {s: -0.0}).items():
        assert all(v == 0.0 and math.copysign(1.0, v) == -1.0 for v in values), (mode, values)


def test_strong_zero_products_keep_the_sign_of_a_zero_as_numpy_does() -> None:
    a, b = ga.placeholder("a", ()), ga.placeholder("b", ())
    y = ga.multiply_no_nan(a, b)
    cases: list[tuple[Any, Any]] = [(-0.0, 5.0), (0.0, -5.0), (-0.0, np.inf), (np.nan, -0.0)]
    for args in cases:
        want = numpy_value(y.op, args)
        for mode, got in in_every_mode(y, dict(zip((a, b), args))).items():
            assert same(float(got), want), (mode, args, got, want)
