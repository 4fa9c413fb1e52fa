"""Sparsity through loops: the detected pattern against the dense Jacobian's nonzeros.

Each case builds outputs of a loop (final carries, stacked per-step outputs) from
placeholders; the pattern ``ga.sparsity`` reads from the graph must hold every nonzero of
the dense Jacobian at random points (sound), and, where the rule is exact (a scan of known
length, stepped through), be the union of those nonzeros (no entry more).  Beside them:
Hessians through loops, sparse against dense; a carry that mixes everything gives the
dense pattern; a while loop's fixpoint.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import graphad as ga
from graphad.ir import DifferentiationError

RNG = np.random.default_rng(19)


def shifted(c: ga.Node) -> tuple[ga.Node, ga.Node]:
    """The left and right neighbours of each entry (zero past the ends)."""
    p = ga.pad(c, 1)
    return p[:-2], p[2:]


def stencil(c: ga.Node) -> ga.Node:
    left, right = shifted(c)
    return 0.5 * c + 0.3 * c * (left + right) + 0.1 * ga.sin(right)


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[], tuple[list[ga.Node], list[ga.Node]]]  # (outputs, inputs)
    exact: bool = True


def scan_elementwise() -> tuple[list[ga.Node], list[ga.Node]]:
    c0, xs, k = ga.placeholder("c0", (5,)), ga.placeholder("xs", (4, 5)), ga.placeholder("k", (5,))

    def step(c: ga.Node, x: ga.Node) -> tuple[ga.Node, ga.Node]:
        return ga.sin(c) * x + k * c, c * x

    c, ys = ga.scan(step, c0, xs)
    return [c, ys], [c0, xs, k]


def scan_stencil(reverse: bool) -> Callable[[], tuple[list[ga.Node], list[ga.Node]]]:
    def build() -> tuple[list[ga.Node], list[ga.Node]]:
        c0, xs = ga.placeholder("c0", (7,)), ga.placeholder("xs", (3, 7))

        def step(c: ga.Node, x: ga.Node) -> tuple[ga.Node, ga.Node]:
            return stencil(c) + x * x, c[1:] * c[:-1]

        c, ys = ga.scan(step, c0, xs, reverse=reverse)
        return [c, ys], [c0, xs]

    return build


def scan_matrix() -> tuple[list[ga.Node], list[ga.Node]]:
    w, h0, xs = (
        ga.placeholder("w", (3, 3)),
        ga.placeholder("h0", (3,)),
        ga.placeholder("xs", (4, 3)),
    )

    def step(h: ga.Node, x: ga.Node) -> tuple[ga.Node, ga.Node]:
        h = ga.tanh(w @ h + x)
        return h, ga.sum(h * x)

    h, ys = ga.scan(step, h0, xs)
    return [h, ys], [w, h0, xs]


def scan_block_matrix() -> tuple[list[ga.Node], list[ga.Node]]:
    """A constant block-diagonal matrix keeps the carry's blocks apart at every step."""
    block = np.kron(np.eye(3), RNG.uniform(0.5, 1, (2, 2)))
    h0 = ga.placeholder("h0", (6,))
    h, _ = ga.scan(lambda h, _: (ga.tanh(ga.constant(block) @ h) * h, None), h0, length=5)
    return [h], [h0]


def tuple_carry() -> tuple[list[ga.Node], list[ga.Node]]:
    """Two carries that swap their roles each step, with a dict of rows."""
    a0, b0 = ga.placeholder("a0", (4,)), ga.placeholder("b0", (4,))
    xs = {"u": ga.placeholder("u", (3, 4)), "v": ga.placeholder("v", (3, 2))}

    def step(c: tuple[ga.Node, ga.Node], x: dict[str, ga.Node]) -> tuple[object, ga.Node]:
        a, b = c
        return (b * x["u"], ga.exp(a) + ga.sum(x["v"])), a[:2] * x["v"]

    (a, b), ys = ga.scan(step, (a0, b0), xs)
    return [a, b, ys], [a0, b0, xs["u"], xs["v"]]


def fori_stencil() -> tuple[list[ga.Node], list[ga.Node]]:
    c0 = ga.placeholder("c0", (9,))
    c = ga.fori_loop(0, 3, lambda i, c: stencil(c) * ga.cast(i + 1, "float64"), c0)
    return [c], [c0]


def fori_run_time_count() -> tuple[list[ga.Node], list[ga.Node]]:
    """Bounds computed by the graph: the trip count is known only at run time (fixpoint)."""
    c0 = ga.placeholder("c0", (5,))
    upper = ga.cast(ga.constant(2.0) + 0.0 * ga.sum(c0), "int64")  # 2 at run time
    c = ga.fori_loop(0, upper, lambda i, c: c * c + 0.5, c0)
    return [c], [c0]


def while_elementwise() -> tuple[list[ga.Node], list[ga.Node]]:
    c0, k = ga.placeholder("c0", (5,)), ga.placeholder("k", (5,))
    c = ga.while_loop(lambda c: ga.sum(c * c) < 50.0, lambda c: c * 1.5 + k * k, c0, max_steps=100)
    return [c], [c0, k]


def while_stencil() -> tuple[list[ga.Node], list[ga.Node]]:
    c0 = ga.placeholder("c0", (8,))
    c = ga.while_loop(lambda c: ga.sum(c * c) < 40.0, lambda c: stencil(c) * 2.0, c0, max_steps=100)
    return [c], [c0]


def cycle() -> tuple[list[ga.Node], list[ga.Node]]:
    """A carry that rotates: more steps than entries, so the rule goes on by the fixpoint."""
    c0 = ga.placeholder("c0", (3,))

    def step(c: ga.Node, _: object) -> tuple[ga.Node, None]:
        return ga.concatenate([c[1:], c[:1]]) * 1.1, None

    c, _ = ga.scan(step, c0, length=10)
    return [c], [c0]


CASES = [
    Case("scan-elementwise", scan_elementwise),
    Case("scan-stencil", scan_stencil(False)),
    Case("scan-stencil-reverse", scan_stencil(True)),
    Case("scan-matrix", scan_matrix),
    Case("scan-block-matrix", scan_block_matrix),
    Case("scan-tuple-carry", tuple_carry),
    Case("fori-stencil", fori_stencil),
    Case("fori-run-time-count", fori_run_time_count),
    Case("while-elementwise", while_elementwise, exact=False),
    Case("while-stencil", while_stencil, exact=False),
    Case("scan-cycle", cycle, exact=False),
]


def dense_nonzeros(y: ga.Node, xs: list[ga.Node], draws: int = 3) -> np.ndarray:
    """Where the dense Jacobian of y (rows: y's entries; columns: the xs' side by side) is
    nonzero at any of a few random points."""
    blocks = [ga.reshape(ga.jacobian(y, x), (y.size, x.size)) for x in xs]
    found = np.zeros((y.size, sum(x.size for x in xs)), dtype=bool)
    for _ in range(draws):
        feeds = {x: RNG.uniform(0.2, 0.6, x.shape) for x in xs}
        found |= np.hstack(ga.evaluate(blocks, feeds)) != 0
    return found


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_pattern_holds_every_nonzero_of_the_dense_jacobian(case: Case) -> None:
    outputs, inputs = case.build()
    for y in outputs:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ga.SparsityWarning)  # a rule, not the dense default
            pattern = ga.sparsity(y, inputs).toarray()
        nonzero = dense_nonzeros(y, inputs)
        missed = nonzero & ~pattern
        assert not missed.any(), f"{case.id}: {y.name} misses {np.argwhere(missed)[:5]}"
        if case.exact:
            np.testing.assert_array_equal(pattern, nonzero)


def test_a_stencil_scan_widens_its_band_by_one_a_step() -> None:
    n, steps = 40, 6
    c0 = ga.placeholder("c0", (n,))
    c, _ = ga.scan(lambda c, _: (stencil(c), None), c0, length=steps)
    pattern = ga.sparsity(c, c0)
    rows, cols = pattern.nonzero()
    assert abs(rows - cols).max() == steps and pattern.nnz < n * (2 * steps + 1)


def test_a_carry_that_mixes_everything_saturates_to_dense() -> None:
    c0 = ga.placeholder("c0", (6,))
    c, _ = ga.scan(lambda c, _: (c * 0.5 + ga.sum(c * c), None), c0, length=3)
    assert ga.sparsity(c, c0).toarray().all()  # one step reads every entry
    c = ga.while_loop(lambda c: c[0] < 10.0, lambda c: c + ga.sum(c), c0)
    assert ga.sparsity(c, c0).toarray().all()


def test_a_while_loop_is_bounded_by_max_steps() -> None:
    c0 = ga.placeholder("c0", (12,))
    c = ga.while_loop(lambda c: ga.sum(c) < 1e3, lambda c: stencil(c) * 2.0, c0, max_steps=2)
    rows, cols = ga.sparsity(c, c0).nonzero()
    assert abs(rows - cols).max() == 2  # at most two steps: the union of 0, 1 and 2 steps


def energy(c0: ga.Node, steps: int, checkpoint: object = None) -> ga.Node:
    c, ys = ga.scan(
        lambda c, _: (stencil(c), ga.sum(c**3)), c0, length=steps, checkpoint=checkpoint
    )
    return ga.sum(c * c) + ga.sum(ys)


@pytest.mark.parametrize("checkpoint", [None, 1], ids=["stored", "checkpointed"])
def test_a_sparse_hessian_through_a_scan_equals_the_dense_one(checkpoint: object) -> None:
    n, steps = 16, 2
    c0 = ga.placeholder("c0", (n,))
    e = energy(c0, steps, checkpoint)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ga.SparsityWarning)
        pattern = ga.hessian_sparsity(e, c0)
        h = ga.hessian(e, c0, sparse=True)
    rows, cols = pattern.nonzero()
    assert abs(rows - cols).max() == 2 * steps  # c_T reads 2 neighbours a side: a band of 4
    assert ga.coloring(e, c0, hessian=True).count <= 2 * (2 * steps) + 1
    cv = RNG.uniform(-1, 1, n)
    got, expected = ga.evaluate([h, ga.hessian(e, c0)], {c0: cv})
    np.testing.assert_allclose(got.toarray(), expected, rtol=1e-12, atol=1e-14)
    assert not (expected != 0)[~pattern.toarray()].any()


def test_a_sparse_hessian_through_a_fori_loop_equals_the_dense_one() -> None:
    x = ga.placeholder("x", (20,))
    c0, w = x[:10], x[10:]
    c = ga.fori_loop(0, 3, lambda i, c: c * ga.sin(w) + 0.1 * c * c, c0)
    e = ga.sum(c**2)
    pattern = ga.hessian_sparsity(e, x).toarray()
    assert pattern.sum() == 4 * 10  # each entry of c0 and w meets only itself and its twin
    xv = RNG.uniform(-1, 1, 20)
    got, expected = ga.evaluate([ga.hessian(e, x, sparse=True), ga.hessian(e, x)], {x: xv})
    np.testing.assert_allclose(got.toarray(), expected, rtol=1e-12, atol=1e-14)


def test_the_forward_mode_loop_has_the_pattern_of_the_second_derivative() -> None:
    n = 9
    c0, t = ga.placeholder("c0", (n,)), ga.placeholder("t", (n,))
    c, _ = ga.scan(lambda c, _: (stencil(c), None), c0, length=2)
    (tangent,) = ga.jvp([c], [c0], [t])
    pattern = ga.sparsity(tangent, [c0, t]).toarray()
    nonzero = dense_nonzeros(tangent, [c0, t])
    assert not (nonzero & ~pattern).any()
    np.testing.assert_array_equal(pattern, nonzero)


def test_reverse_mode_through_a_while_loop_needs_static_shapes_to_detect() -> None:
    """The backward loop reads the carries of every step, a stack whose length is known
    only at run time: detection on the gradient graph says so (the Jacobian, which reads
    the forward loop alone, is detected)."""
    c0 = ga.placeholder("c0", (4,))
    c = ga.while_loop(lambda c: ga.sum(c) < 9.0, lambda c: c * c + 1.0, c0, max_steps=20)
    assert ga.sparsity(c, c0).toarray().sum() == 4
    with pytest.raises(DifferentiationError, match="static shapes"):
        ga.hessian_sparsity(ga.sum(c), c0)
