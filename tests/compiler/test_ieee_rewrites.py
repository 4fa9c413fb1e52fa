"""The rewrites of issue 16, item 1 that changed overflow, underflow and NaN, at their
root: each example gives NumPy's answer (the graph as built) in every Executor mode, and
the inexact algebra runs only under ``fast_math=True`` (Executor, optimize, function)."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from runtime.modes import in_every_mode

import graphad as ga


def as_numpy(fetch: Any, feeds: dict[ga.Node, Any]) -> Any:
    with np.errstate(all="ignore"):
        return ga.Executor(fetch, optimize=False).run(feeds)


def example_scales_overflow() -> tuple[Any, dict, Any]:
    x = ga.placeholder("x", (1,))
    return x * 1e300 * 1e-300, {x: [1e10]}, [np.inf]


def example_scales_underflow() -> tuple[Any, dict, Any]:
    x = ga.placeholder("x", (1,))
    return x * 1e-300 * 1e300, {x: [5e-324]}, [0.0]


def example_float32_scales() -> tuple[Any, dict, Any]:
    x = ga.placeholder("x", (1,), "float32")
    return x * np.float32(1e30) * np.float32(1e-30), {x: [3e38]}, [np.inf]


def example_small_factors() -> tuple[Any, dict, Any]:
    x, a, b = ga.placeholder("x", (3,)), ga.placeholder("a", ()), ga.placeholder("b", ())
    return (x * a) * b, {x: [1e300] * 3, a: 1e300, b: 1e-300}, [np.inf] * 3


def example_common_factor() -> tuple[Any, dict, Any]:
    x, a, b = ga.placeholder("x", (3,)), ga.placeholder("a", ()), ga.placeholder("b", ())
    g = ga.gradients(ga.sum(ga.exp(x) * a + ga.exp(x) * b), x)
    return g, {x: [500.0] * 3, a: 1e200, b: -1e200}, [np.nan] * 3


def example_add_n_factor() -> tuple[Any, dict, Any]:
    p, q, f = (ga.placeholder(n, (2,)) for n in "pqf")
    y = ga.add_n([p * f, q * f, p])
    return y, {p: [1e200, 1.0], q: [-1e200, 2.0], f: [1e200, 3.0]}, [np.nan, 10.0]


EXAMPLES: dict[str, Callable[[], tuple[Any, dict, Any]]] = {
    "x*1e300*1e-300": example_scales_overflow,
    "x*1e-300*1e300": example_scales_underflow,
    "float32": example_float32_scales,
    "(V*a)*b": example_small_factors,
    "common_factor": example_common_factor,
    "add_n_factor": example_add_n_factor,
}


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_issues_examples_give_numpys_answer_in_every_mode(name: str) -> None:
    fetch, feeds, want = EXAMPLES[name]()
    np.testing.assert_array_equal(as_numpy(fetch, feeds), want)
    for mode, got in in_every_mode(fetch, feeds, skip=("debug",)).items():
        np.testing.assert_array_equal(got, want, err_msg=mode)
    try:  # debug=True stops where a node first overflows, as it is meant to
        got = ga.Executor(fetch, debug=True).run(feeds)
    except ga.ExecutionError as e:
        assert "made NaN or inf from finite inputs" in str(e)
    else:
        np.testing.assert_array_equal(got, want)


def test_fast_math_is_an_opt_in_everywhere_an_executor_is_made() -> None:
    x = ga.placeholder("x", (1,))
    y = x * 1e300 * 1e-300
    feeds = {x: [1e10]}
    assert ga.Executor(y).run(feeds) == np.inf
    assert ga.Executor(y, fast_math=True).run(feeds) == 1e10  # x·1: what fast_math allows
    assert ga.evaluate(ga.optimize(y, fast_math=True), feeds) == 1e10
    assert ga.function(x, y, fast_math=True)([1e10]) == 1e10
    assert ga.function(x, y)([1e10]) == np.inf
    again = pickle.loads(pickle.dumps(ga.Executor(y, fast_math=True)))
    assert again.fast_math and again.run({"x": [1e10]}) == 1e10  # its own copy of x
    off = ga.Executor(y, optimize=False, fast_math=True)  # nothing is rewritten at all
    assert off.run(feeds) == np.inf


def test_a_power_of_one_half_does_not_depend_on_the_exponents_layout() -> None:
    """NumPy takes a scalar or broadcast exponent of 0.5 as a square root (-inf → NaN) but
    an exponent array through pow (-inf → inf); folding materialises broadcasts, so power
    gives the square root's answer for every layout (found probing item 2's -inf ** 0.5)."""
    x, p = ga.placeholder("x", (3,)), ga.placeholder("p", (3,))
    xv = np.array([-np.inf, -0.0, 4.0])
    want = np.array([np.nan, -0.0, 2.0])
    folded = ga.power(ga.broadcast_to(ga.constant(-np.inf), (3,)), ga.broadcast_to(0.5, (3,)))
    for fetch, feeds in [
        (x**0.5, {x: xv}),
        (ga.power(x, ga.broadcast_to(0.5, (3,))), {x: xv}),
        (ga.power(x, p), {x: xv, p: np.full(3, 0.5)}),
    ]:
        for mode, got in in_every_mode(fetch, feeds, skip=("debug",)).items():
            np.testing.assert_array_equal(got, want, err_msg=mode)
            assert np.signbit(got[1]), mode
    for mode, got in in_every_mode(folded, {}, skip=("debug",)).items():
        assert np.all(np.isnan(got)), mode


def test_maximum_and_minimum_of_signed_zeros_are_not_merged_across_orders() -> None:
    """NumPy's maximum and minimum return the second of equal operands, so maximum(-0.0,
    0.0) is 0.0 and maximum(0.0, -0.0) is -0.0, and 1/y is inf or -inf: CSE must not merge
    the two orders (the ops are not commutative bit for bit; found probing the trait)."""
    x, y = ga.placeholder("x", ()), ga.placeholder("y", ())
    for f in (ga.maximum, ga.minimum):
        fetches = [1.0 / f(x, y), 1.0 / f(y, x)]
        want = [np.inf, -np.inf]
        for mode, got in in_every_mode(fetches, {x: -0.0, y: 0.0}, skip=("debug",)).items():
            assert list(got) == want, (f.__name__, mode, got)
