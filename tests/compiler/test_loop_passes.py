"""The compiler on loops: rewrites inside bodies, loop-invariant values hoisted out (and
run once), twin loops fused (the forward loop of a gradient is the value's loop), unread
entries of a loop pruned, and an optimised graph whose size does not depend on the trip
count."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import graphad as ga
from graphad.compiler import optimize
from graphad.compiler.loop_fusion import fuse_loops, prune_loops
from graphad.ir import topo_sort
from tests.control.counting import CALLS, Count, reset_calls  # noqa: F401 (an autouse fixture)

RNG = np.random.default_rng(187)


def loops(*fetches: ga.Node) -> list[ga.Node]:
    return [n for n in topo_sort(list(fetches)) if n.op.control == "loop"]


def inner_ops(loop: ga.Node) -> list[str]:
    body = loop.op.form.body
    return [n.op.name for n in topo_sort(list(body.outputs)) if n.inputs]


def test_the_rewrites_simplify_the_body() -> None:
    xs = ga.placeholder("xs", (5, 3))
    c, _ = ga.scan(lambda c, x: ((c * 1.0 + 0.0) * x, None), ga.constant(np.ones(3)), xs)
    (before,) = loops(c)
    (after,) = loops(optimize(c))
    assert inner_ops(before) == ["multiply", "add", "multiply"]
    assert inner_ops(after) == ["multiply"]


def test_a_value_computed_from_consts_alone_runs_once_before_the_loop() -> None:
    w = ga.placeholder("w", (3, 3))
    xs = ga.placeholder("xs", (6, 3))

    def step(h: ga.Node, x: ga.Node) -> tuple[ga.Node, None]:
        return ga.tanh(w @ h + x), None

    h, _ = ga.scan(step, ga.constant(np.zeros(3)), xs)
    g = ga.gradients(ga.sum(h), xs)  # its backward body reads wᵀ: the same each step
    (back,) = [n for n in loops(g) if n.op.form.reverse]
    assert "transpose" in inner_ops(back)
    (hoisted,) = [n for n in loops(optimize(g)) if n.op.form.reverse]
    assert "transpose" not in inner_ops(hoisted)
    assert any(x.op.name == "transpose" for x in hoisted.inputs)
    values = {w: RNG.normal(size=(3, 3)), xs: RNG.normal(size=(6, 3))}
    np.testing.assert_allclose(ga.evaluate(g, values), ga.evaluate(g, values, optimize=False))


@dataclass(frozen=True)
class Times(ga.Op):
    """c·k, whose vjp reads Count(k): in a backward body, a value of the consts alone."""

    def infer(self, c: ga.TensorType, k: ga.TensorType) -> ga.TensorType:
        return c

    def compute(self, c: np.ndarray, k: np.ndarray) -> np.ndarray:
        return c * k

    def vjp(self, node: ga.Node, g: ga.Node) -> tuple[ga.Node, ga.Node]:
        """c̄ = g·k, k̄ = g·c"""
        c, k = node.inputs
        return g * Count()(k), g * c


def test_a_counted_invariant_runs_once_optimised_and_every_step_as_built() -> None:
    k = ga.placeholder("k", ())
    c0 = ga.placeholder("c0", ())
    xs = ga.placeholder("xs", (5,))
    c, _ = ga.scan(lambda c, x: (Times()(c, k) + x, None), c0, xs)
    g = ga.gradients(c, c0)  # c̄ ← c̄·Count(k) at each step
    values = {k: 0.5, c0: 1.0, xs: np.ones(5)}
    assert ga.evaluate(g, values, optimize=False) == 0.5**5
    assert CALLS["n"] == 5
    CALLS.clear()
    assert ga.evaluate(g, values) == 0.5**5
    assert CALLS["n"] == 1


def test_twin_loops_are_fused_and_different_ones_are_not() -> None:
    xs = ga.placeholder("xs", (4, 2))
    h0 = ga.placeholder("h0", (2,))

    def step(h: ga.Node, x: ga.Node) -> tuple[ga.Node, ga.Node]:
        h = ga.sin(Count()(h) + x)
        return h, ga.sum(h)

    h, ys = ga.scan(step, h0, xs)
    other, _ = ga.scan(step, h0 * 2.0, xs)  # another start: another loop
    y = ga.sum(h) + ga.sum(ys) + ga.sum(other)
    g = ga.gradients(y, h0)
    fused = fuse_loops([y, g])
    forward = [n for n in loops(*fused) if not n.op.form.reverse]
    assert len([n for n in loops(y, g) if not n.op.form.reverse]) == 4  # two, and two twins
    assert len(forward) == 2
    ex = ga.Executor([y, g])
    ex.run({xs: np.ones((4, 2)), h0: np.zeros(2)})
    assert CALLS["n"] == 8  # each distinct forward loop once: 2 x 4 steps


def test_unread_entries_of_a_loop_are_pruned() -> None:
    xs = ga.placeholder("xs", (4, 2))
    k = ga.placeholder("k", ())

    def step(c: tuple[ga.Node, ga.Node, ga.Node], x: ga.Node) -> tuple[tuple, tuple]:
        a, b, n = c
        return (a + x, b * k, n + 1), (ga.sum(a), ga.exp(b), x * k)

    (_a, _b, n), (sa, _eb, _xk) = ga.scan(step, (ga.constant(np.zeros(2)), 1.0, 0), xs)
    (loop,) = loops(sa)
    assert loop.op.form.carries == 3 and loop.op.form.outputs == 3
    (pruned,) = loops(*prune_loops([sa, n]))
    form = pruned.op.form
    assert form.carries == 2 and form.outputs == 1  # b (and k, and the others) gone
    assert form.consts == 0
    got = ga.evaluate([sa, n], {xs: np.ones((4, 2)), k: 2.0})
    np.testing.assert_array_equal(got[0], [0.0, 2.0, 4.0, 6.0])
    assert got[1] == 4


def test_a_carry_a_read_entry_needs_is_kept() -> None:
    xs = ga.placeholder("xs", (3,))
    (_a, _b), ys = ga.scan(lambda c, x: ((c[0] + c[1], c[1] * 2.0), c[0] * x), (0.0, 1.0), xs)
    (pruned,) = loops(*prune_loops([ys]))
    assert pruned.op.form.carries == 2  # ys reads a, and a reads b
    np.testing.assert_array_equal(ga.evaluate(ys, {xs: np.ones(3)}), [0.0, 1.0, 3.0])


def test_the_optimised_graph_does_not_grow_with_the_trip_count() -> None:
    sizes = []
    for steps in (10, 1000):
        w = ga.placeholder("w", (3, 3))
        xs = ga.placeholder("xs", (steps, 3))
        h, _ = ga.scan(lambda h, x, w=w: (ga.tanh(w @ h + x), None), ga.constant(np.zeros(3)), xs)
        g = ga.gradients(ga.sum(h * h), w)
        sizes.append(len(topo_sort([optimize(g)])))
    assert sizes[0] == sizes[1]
