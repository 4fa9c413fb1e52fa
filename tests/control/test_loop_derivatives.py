"""Derivatives through loops against central differences, at first and second order.

Each case builds a scalar y from placeholders through a loop; ``check_gradients`` compares
reverse mode, forward mode and (at order 2) reverse-over-reverse, forward-over-reverse and
the symmetry of the Hessian with differences of the values.  Beside them: forward over
forward, a third derivative, Hessian-vector products, and gradients with respect to every
kind of loop input (initial carries, xs, captured values) against the hand-unrolled loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.numerical import check_gradients, directional_derivative

RNG = np.random.default_rng(181)


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[], tuple[ga.Node, list[ga.Node], dict[ga.Node, Any]]]


def rnn(steps: int, reverse: bool = False, checkpoint: Any = None, lead: Any = "static") -> Any:
    def build() -> tuple[ga.Node, list[ga.Node], dict[ga.Node, Any]]:
        w = ga.placeholder("w", (3, 3))
        h0 = ga.placeholder("h0", (3,))
        xs = ga.placeholder("xs", (steps if lead == "static" else None, 3))

        def step(h: ga.Node, x: ga.Node) -> tuple[ga.Node, ga.Node]:
            h = ga.tanh(w @ h + x)
            return h, ga.sum(h * x)

        h, ys = ga.scan(step, h0, xs, reverse=reverse, checkpoint=checkpoint)
        y = ga.sum(h * h) + ga.sum(ys * ys)
        feeds = {
            w: RNG.normal(size=(3, 3)) * 0.6,
            h0: RNG.normal(size=3),
            xs: RNG.normal(size=(steps, 3)),
        }
        return y, [w, h0, xs], feeds

    return build


def structured() -> Any:
    """Dict and tuple carries with an integer counter the body reads."""
    a0 = ga.placeholder("a0", (2,))
    b0 = ga.placeholder("b0", ())
    xs = ga.placeholder("xs", (4, 2))

    def step(c: dict[str, Any], x: ga.Node) -> tuple[dict[str, Any], Any]:
        a, (b, n) = c["a"], c["bn"]
        k = ga.cast(n, "float64")
        a = ga.sin(a * b) + x * k
        return {"a": a, "bn": (b * 0.9 + ga.sum(a) * 0.1, n + 1)}, (ga.max(a), a[0])

    c, (mx, first) = ga.scan(step, {"a": a0, "bn": (b0, ga.constant(np.int64(1)))}, xs)
    y = ga.sum(c["a"]) * c["bn"][0] + ga.sum(mx) + ga.sum(first * first)
    feeds = {a0: np.array([0.3, -0.4]), b0: np.array(0.8), xs: RNG.normal(size=(4, 2))}
    return y, [a0, b0, xs], feeds


def fori(node_bounds: bool) -> Any:
    def build() -> tuple[ga.Node, list[ga.Node], dict[ga.Node, Any]]:
        x = ga.placeholder("x", (2,))
        k = ga.placeholder("k", ())
        lo, hi = ga.placeholder("lo", (), "int64"), ga.placeholder("hi", (), "int64")

        def body(i: ga.Node, v: ga.Node) -> ga.Node:
            return v * ga.cos(k * ga.cast(i, "float64")) + ga.exp(-v * v)

        out = ga.fori_loop(lo, hi, body, x) if node_bounds else ga.fori_loop(1, 5, body, x)
        feeds: dict[ga.Node, Any] = {x: np.array([0.2, -0.5]), k: np.array(0.7)}
        if node_bounds:
            feeds.update({lo: 1, hi: 5})
        return ga.sum(out * out), [x, k], feeds

    return build


def while_bounded() -> Any:
    x = ga.placeholder("x", ())
    k = ga.placeholder("k", ())
    out = ga.while_loop(
        lambda c: c[0] < 5.0,
        lambda c: (c[0] * 1.3 + ga.sin(c[1] * k), c[1] * 0.9 + 0.1),
        (x, k),
        max_steps=50,
    )
    return out[0] * out[1], [x, k], {x: np.array(0.4), k: np.array(0.8)}


def nested() -> Any:
    m = ga.placeholder("m", (3, 4))
    s0 = ga.placeholder("s0", ())

    def row(total: ga.Node, r: ga.Node) -> tuple[ga.Node, ga.Node]:
        inner, _ = ga.scan(lambda p, v: (ga.tanh(p * v + total), None), total * 0.5, r)
        return total + inner, inner

    total, inners = ga.scan(row, s0, m)
    return total * ga.sum(inners), [m, s0], {m: RNG.normal(size=(3, 4)), s0: np.array(0.3)}


def with_cond() -> Any:
    xs = ga.placeholder("xs", (5,))
    c0 = ga.placeholder("c0", ())

    def step(c: ga.Node, x: ga.Node) -> tuple[ga.Node, ga.Node]:
        return ga.cond(x > 0, lambda a, b: a * b + 1.0, lambda a, b: ga.sin(a) - b, [c, x]), c

    c, ys = ga.scan(step, c0, xs)
    xv = np.array([0.5, -0.7, 1.2, -0.3, 0.9])
    return c * ga.sum(ys), [xs, c0], {xs: xv, c0: np.array(0.6)}


CASES = [
    Case("rnn", rnn(4)),
    Case("rnn-reverse", rnn(4, reverse=True)),
    Case("rnn-length-1", rnn(1)),
    Case("rnn-length-0", rnn(0)),
    Case("rnn-unknown-length", rnn(4, lead="unknown")),
    Case("rnn-checkpoint-2", rnn(5, checkpoint=2)),
    Case("rnn-checkpoint-sqrt-reverse", rnn(7, reverse=True, checkpoint="sqrt")),
    Case("rnn-checkpoint-unknown-length", rnn(6, checkpoint="sqrt", lead="unknown")),
    Case("structured", structured),
    Case("fori-static", fori(False)),
    Case("fori-node-bounds", fori(True)),
    Case("while-max-steps", while_bounded),
    Case("nested", nested),
    Case("cond-in-body", with_cond),
]


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_derivatives_agree_with_central_differences(case: Case, order: int) -> None:
    y, xs, feeds = case.build()
    report = check_gradients(y, xs, feeds, order=order)
    assert report, str(report)


@pytest.mark.parametrize("case", [CASES[0], CASES[5], CASES[8], CASES[11]], ids=lambda c: c.id)
def test_forward_over_forward(case: Case) -> None:
    y, xs, feeds = case.build()
    v = [RNG.normal(size=np.shape(feeds[x])) for x in xs]
    w = [RNG.normal(size=np.shape(feeds[x])) for x in xs]
    first = ga.jvp(y, xs, [ga.constant(a) for a in v])
    second = ga.jvp(first, xs, [ga.constant(b) for b in w])
    ex, ex1 = ga.Executor(second), ga.Executor(first)
    rest = {k: val for k, val in feeds.items() if k not in set(xs)}

    def f(*values: np.ndarray) -> Any:
        return ex1.run({**rest, **dict(zip(xs, values))})

    fd = directional_derivative(f, [feeds[x] for x in xs], w)
    np.testing.assert_allclose(ex.run(feeds), fd, rtol=1e-6, atol=1e-8)


def test_third_derivative_of_a_scalar_loop() -> None:
    """y = x₅ of x_{t+1} = x_t² / 2 + a·x_t: d³y/da³ against a polynomial evaluated exactly."""
    a = ga.placeholder("a", ())
    y, _ = ga.scan(lambda x, _: (x * x * 0.5 + a * x, None), 0.5, length=3)
    d1 = ga.gradients(y, a)
    d2 = ga.gradients(d1, a)
    d3 = ga.gradients(d2, a)
    j3 = ga.jvp(ga.jvp(ga.jvp(y, a, 1.0), a, 1.0), a, 1.0)
    ex = ga.Executor([d1, d2, d3, j3])
    av = 0.3

    def f(s: float) -> float:
        x = 0.5
        for _ in range(3):
            x = x * x * 0.5 + s * x
        return x

    coeffs = np.polyfit(
        av + np.linspace(-0.1, 0.1, 25), [f(av + d) for d in np.linspace(-0.1, 0.1, 25)], 12
    )
    want = [np.polyval(np.polyder(coeffs, k), av) for k in (1, 2, 3)]
    got = ex.run({a: av})
    np.testing.assert_allclose(got[:3], want, rtol=1e-7)
    np.testing.assert_allclose(got[3], want[2], rtol=1e-7)


def test_hvp_through_a_loop_is_the_hessian_times_v() -> None:
    y, xs, feeds = rnn(3)()
    _w, h0, _x = xs
    hv = ga.hvp(y, h0, np.array([1.0, 0.0, -1.0]))
    h = ga.hessian(y, h0)
    got_hv, got_h = ga.Executor([hv, h]).run(feeds)
    np.testing.assert_allclose(got_hv, got_h @ np.array([1.0, 0.0, -1.0]), rtol=1e-10)
    np.testing.assert_allclose(got_h, got_h.T, rtol=1e-10)


def test_gradients_equal_those_of_the_unrolled_loop() -> None:
    """Every kind of loop input: the initial carry, the xs, a captured outer value."""
    w = ga.placeholder("w", (3, 3))
    h0 = ga.placeholder("h0", (3,))
    xs = ga.placeholder("xs", (4, 3))
    u = ga.exp(w) * 0.1  # computed outside, captured

    def step(h: ga.Node, x: ga.Node) -> tuple[ga.Node, ga.Node]:
        h = ga.tanh(u @ h + x)
        return h, ga.sum(h)

    h, sums = ga.scan(step, h0, xs)
    loop_y = ga.sum(h * h) + ga.sum(sums * sums)
    unrolled, hh, ss = None, h0, []
    for t in range(4):
        hh, s = step(hh, xs[t])
        ss.append(s)
    unrolled = ga.sum(hh * hh) + ga.add_n(*(s * s for s in ss))
    feeds = {w: RNG.normal(size=(3, 3)), h0: RNG.normal(size=3), xs: RNG.normal(size=(4, 3))}
    got = ga.evaluate(ga.gradients(loop_y, [w, h0, xs]), feeds)
    want = ga.evaluate(ga.gradients(unrolled, [w, h0, xs]), feeds)
    for g, t in zip(got, want):
        np.testing.assert_allclose(g, t, rtol=1e-12, atol=1e-14)


def test_an_input_the_loop_does_not_depend_on_gets_zeros() -> None:
    x = ga.placeholder("x", (2,))
    z = ga.placeholder("z", (2,))
    out, _ys = ga.scan(lambda c, _: (c * 2.0, c * 0.0 + z), x, length=3)
    gz, gx = ga.evaluate(ga.gradients(ga.sum(out), [z, x]), {x: np.ones(2), z: np.ones(2)})
    np.testing.assert_array_equal(gz, 0.0)
    np.testing.assert_array_equal(gx, 8.0)


def test_integer_xs_and_carries_get_no_adjoint_but_the_floats_do() -> None:
    ks = ga.placeholder("ks", (3,), "int64")
    x = ga.placeholder("x", ())
    (v, _n), _ = ga.scan(lambda c, k: ((c[0] * ga.cast(k, "float64"), c[1] + k), None), (x, 0), ks)
    g = ga.gradients(v, x)
    assert ga.evaluate(g, {x: 2.0, ks: np.array([2, 3, 4])}) == 24.0
    with pytest.raises(ga.DifferentiationError, match="integer or bool"):
        ga.gradients(v, ks)


def test_ys_carry_the_gradient_when_no_carry_is_a_float() -> None:
    xs = ga.placeholder("xs", (4,))
    _, ys = ga.scan(lambda n, x: (n + 1, ga.sin(x) * ga.cast(n, "float64")), 0, xs)
    _, squares = ga.scan(lambda c, x: (None, x * x), None, xs)  # no carry at all
    y = ga.sum(ys * squares)
    report = check_gradients(y, xs, {xs: np.array([0.5, 1.5, -0.7, 2.0])}, order=2)
    assert report, str(report)


def test_complex_carries_follow_the_real_pairing() -> None:
    z = ga.placeholder("z", (2,), "complex128")
    w = ga.placeholder("w", (), "complex128")
    c, ys = ga.scan(lambda c, _: (ga.sin(c * w) + 1j, c), z, length=3)
    y = ga.sum(ga.abs(c) ** 2) + ga.sum(ga.real(ys))
    cc, seen = z, []
    for _ in range(3):
        seen.append(cc)
        cc = ga.sin(cc * w) + 1j
    unrolled = ga.sum(ga.abs(cc) ** 2) + ga.add_n(*(ga.sum(ga.real(s)) for s in seen))
    values = {z: np.array([1 + 2j, 0.5 - 1j]), w: np.array(0.3 + 0.4j)}
    got = ga.evaluate(ga.gradients(y, [z, w]), values)
    want = ga.evaluate(ga.gradients(unrolled, [z, w]), values)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@dataclass(frozen=True)
class Halves:
    """A checkpoint policy of one's own: two stretches, whatever the trip count."""

    def every(self, trips: int) -> int:
        return max(1, -(-trips // 2))


def test_a_checkpoint_policy_object() -> None:
    y, xs, feeds = rnn(7, checkpoint=Halves())()
    assert check_gradients(y, xs, feeds, order=2)
