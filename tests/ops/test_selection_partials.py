"""where, clip and maximum/minimum/fmax/fmin as elementwise ops with indicator partials.

Their derivative is stated once (``partials`` of ``Pick``s), so both modes give the same
answer at every point, ties and NaNs included: a selection's Jacobian is diagonal in each
operand, so the adjoint of a cotangent of ones equals the tangent along that operand.
The table checks them against finite differences away from ties; here the ties, the
one-sided clips, NaNs, and the size of what the rules build.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.ir import topo_sort

NAN = np.nan


def both_modes(build: Callable[..., ga.Node], values: list[Any]) -> list[Any]:
    """For each operand k: (the vjp of a cotangent of ones into k, the jvp along ones in k).
    A selection's Jacobian in an operand of y's shape is diagonal, so the two are equal."""
    xs = [ga.placeholder(f"x{k}", np.shape(v)) for k, v in enumerate(values)]
    y = build(*xs)
    feeds = dict(zip(xs, values))
    grads = ga.evaluate(ga.gradients(y, xs), feeds)
    out = []
    for k in range(len(xs)):
        tangents = [np.ones(np.shape(v)) if j == k else None for j, v in enumerate(values)]
        out.append((grads[k], ga.evaluate(ga.jvp(y, xs, tangents), feeds)))
    return out


@pytest.mark.parametrize(
    ("build", "a", "b", "to_a"),
    [
        # a wins, tie (half each), b wins, a NaN, b NaN: the NaN's output goes to b
        (ga.maximum, [3.0, 1.0, 0.0, NAN, 1.0], [1.0, 1.0, 2.0, 1.0, NAN], [1, 0.5, 0, 0, 0]),
        (ga.minimum, [3.0, 1.0, 0.0, NAN, 1.0], [1.0, 1.0, 2.0, 1.0, NAN], [0, 0.5, 1, 0, 0]),
        # fmax/fmin take the number beside a NaN
        (ga.fmax, [3.0, 1.0, 0.0, NAN, 1.0], [1.0, 1.0, 2.0, 1.0, NAN], [1, 0.5, 0, 0, 1]),
        (ga.fmin, [3.0, 1.0, 0.0, NAN, 1.0], [1.0, 1.0, 2.0, 1.0, NAN], [0, 0.5, 1, 0, 1]),
    ],
)
def test_extrema_split_ties_and_agree_in_both_modes(
    build: Any, a: list[float], b: list[float], to_a: list[float]
) -> None:
    (ga_, ta), (gb, tb) = both_modes(build, [np.array(a), np.array(b)])
    np.testing.assert_array_equal(ga_, to_a)
    np.testing.assert_array_equal(gb, 1 - np.array(to_a))
    np.testing.assert_array_equal(ta, ga_)
    np.testing.assert_array_equal(tb, gb)


def test_clip_sends_ties_to_x_and_crossed_bounds_to_hi_in_both_modes() -> None:
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 0.5])
    lo = np.array([-1.0, -1.0, -1.0, -1.0, -1.0, 1.0])  # the last bounds cross: hi wins
    hi = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    (gx, tx), (glo, tlo), (ghi, thi) = both_modes(ga.clip, [x, lo, hi])
    np.testing.assert_array_equal(gx, [0, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(glo, [1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(ghi, [0, 0, 0, 0, 1, 1])
    for grad, tangent in ((gx, tx), (glo, tlo), (ghi, thi)):
        np.testing.assert_array_equal(tangent, grad)


def clip_below(x: Any, bound: Any) -> ga.Node:
    return ga.clip(x, bound, None)


def clip_above(x: Any, bound: Any) -> ga.Node:
    return ga.clip(x, None, bound)


@pytest.mark.parametrize(
    ("build", "numpy", "to_x"),
    [
        (clip_above, lambda x: np.clip(x, None, 1.0), [1, 1, 1, 1, 0]),
        (clip_below, lambda x: np.clip(x, -1.0, None), [0, 1, 1, 1, 1]),
    ],
    ids=["upper", "lower"],
)
def test_one_sided_clip_follows_numpy_with_the_same_tie_rule(
    build: Any, numpy: Any, to_x: list[int]
) -> None:
    """x takes the adjoint on the closed half-line, the bound beyond it."""
    xv = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    bound = np.float64(1.0 if build is clip_above else -1.0)
    x, b = ga.placeholder("x", (5,)), ga.placeholder("b", ())
    y = build(x, b)
    assert len(y.inputs) == 2  # the missing bound is no input
    np.testing.assert_array_equal(ga.evaluate(y, {x: xv, b: bound}), numpy(xv))
    (gx, tx), (gb, tb) = both_modes(build, [xv, bound])
    np.testing.assert_array_equal(gx, to_x)
    np.testing.assert_array_equal(tx, gx)
    np.testing.assert_array_equal(tb, 1 - np.array(to_x))  # y's shape: one entry each
    assert gb == np.sum(tb)  # the scalar bound's adjoint sums them
    report = ga.numerical.check_gradients(ga.sum(ga.sin(y)), x, {x: xv + 0.3, b: bound}, order=2)
    assert report, str(report)


def test_clip_of_integers_with_one_bound_keeps_their_dtype_and_without_bounds_is_x() -> None:
    i = ga.placeholder("i", (4,), "int64")
    iv = np.arange(4)
    assert ga.clip(i, None, 2).dtype == np.int64
    np.testing.assert_array_equal(ga.evaluate(ga.clip(i, None, 2), {i: iv}), np.clip(iv, None, 2))
    np.testing.assert_array_equal(ga.evaluate(ga.clip(i, 1, None), {i: iv}), np.clip(iv, 1, None))
    assert ga.clip(i) is i
    assert i.clip(max=2).dtype == np.int64  # NumPy's keyword, through the protocol


def test_where_tangent_is_one_where_and_its_adjoints_are_exact_zeros_elsewhere() -> None:
    c, a, b = ga.placeholder("c", (3,), "bool"), ga.placeholder("a", (3,)), ga.placeholder("b", ())
    y = ga.where(c, a, b)
    tangent = ga.jvp(y, [a, b], [np.ones(3), np.float64(2.0)])
    wheres = [n for n in topo_sort([tangent]) if n.op.name == "where"]
    assert wheres == [tangent]
    feeds = {c: np.array([True, False, True]), a: np.array([np.inf, 1.0, 2.0]), b: np.nan}
    ga_, gb = ga.evaluate(ga.gradients(y, [a, b], grad_y=np.array([1.0, np.inf, 3.0])), feeds)
    np.testing.assert_array_equal(ga_, [1.0, 0.0, 3.0])  # no inf·0 from the untaken entry
    assert gb == np.inf
    np.testing.assert_array_equal(ga.evaluate(tangent, feeds), [1.0, 2.0, 1.0])


@pytest.mark.parametrize(
    ("build", "conditions"),
    [
        (lambda a, b: ga.where(ga.greater(a, 0.0), a, b), 1),
        (lambda a, b: ga.maximum(a, b), 2),  # a taken, a tie
        (lambda a, b: ga.clip(a, b, 2.0), 2),  # above hi, below lo
    ],
    ids=["where", "maximum", "clip"],
)
def test_a_selections_tangent_picks_once_on_each_condition(build: Any, conditions: int) -> None:
    """ẏ = where(c, ȧ, ḃ): the tangents of all operands under one where per condition, not
    one product per operand summed."""
    a, b = ga.placeholder("a", (3,)), ga.placeholder("b", (3,))
    tangent = ga.jvp(build(a, b), [a, b], [np.ones(3), np.ones(3)])
    made = [n.op.name for n in topo_sort([tangent]) if n.origin.kind == "forward"]
    assert made.count("where") == conditions, made
    assert made.count("add") + made.count("add_n") <= 1, made  # maximum's ½(ȧ + ḃ) at ties
