"""``vmap`` of ``cond``: an unbatched predicate keeps one cond over batched branches, a batched
one becomes a select of both branches batched; either way for a batch whose size is known or
not, with the per-example values and derivatives."""

from __future__ import annotations

import numpy as np
import pytest

import graphad as ga
from graphad.ir import topo_sort

RNG = np.random.default_rng(11)


def graph() -> tuple[ga.Node, ga.Node, ga.Node]:
    """cond(Σc > 0, sin(x)·c, log(x)): the false branch is singular where x ≤ 0."""
    x, c = ga.placeholder("x", (3,)), ga.placeholder("c", (3,))
    y = ga.cond(ga.sum(c) > 0, lambda a, b: ga.sin(a) * b, lambda a, b: ga.log(a), [x, c])
    return x, c, y


def per_example(fetch: object, x: ga.Node, c: ga.Node, xv: np.ndarray, cv: np.ndarray) -> list:
    ex = ga.Executor(fetch)
    cs = cv if cv.ndim == 2 else [cv] * len(xv)
    return [ex.run({x: a, c: b}) for a, b in zip(xv, cs)]


@pytest.mark.parametrize("size", [4, None])
@pytest.mark.parametrize("batched_pred", [False, True])
def test_batched_cond_equals_the_loop(size: int | None, batched_pred: bool) -> None:
    x, c, y = graph()
    xb = ga.placeholder("xb", (size, 3))
    batches = {x: xb}
    xv = RNG.uniform(0.5, 2.0, (4, 3))
    cv = RNG.standard_normal((4, 3)) if batched_pred else RNG.standard_normal(3)
    feeds: dict[ga.Node, np.ndarray] = {xb: xv}
    if batched_pred:
        cb = ga.placeholder("cb", (size, 3))
        batches[c] = cb
        feeds[cb] = cv
    else:
        feeds[c] = cv
    yb = ga.vmap(y, batches)
    kinds = {n.op.name for n in topo_sort([yb])}
    assert ("where" in kinds) == batched_pred and ("cond" in kinds) != batched_pred
    grads = ga.gradients(ga.sum(yb * yb), list(batches.values()))
    got_y, got_g = ga.Executor([yb, grads]).run(feeds)
    np.testing.assert_allclose(got_y, np.stack(per_example(y, x, c, xv, cv)), rtol=1e-14)
    per_g = per_example(ga.gradients(ga.sum(y * y), [x, c]), x, c, xv, cv)
    np.testing.assert_allclose(got_g[0], np.stack([g[0] for g in per_g]), rtol=1e-13)
    if batched_pred:
        np.testing.assert_allclose(got_g[1], np.stack([g[1] for g in per_g]), rtol=1e-13)


def test_a_batched_predicate_keeps_the_untaken_branch_out_of_the_derivative() -> None:
    """log(x) at x ≤ 0 is computed and dropped by the select; its infinite partial meets a
    zero cotangent, which graphad's strong zeros keep 0 (not NaN)."""
    x, c, y = graph()
    xb, cb = ga.placeholder("xb", (None, 3)), ga.placeholder("cb", (None, 3))
    yb = ga.vmap(y, {x: xb, c: cb})
    xv = np.array([[0.0, -1.0, 2.0], [0.5, 1.0, 1.5]])
    cv = np.array([[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]])  # example 0 takes sin(x)·c
    g = ga.evaluate(ga.gradients(ga.sum(yb), xb), {xb: xv, cb: cv})
    np.testing.assert_allclose(g, [np.cos(xv[0]) * cv[0], 1.0 / xv[1]], rtol=1e-14)


def test_a_branch_that_reads_no_batched_operand_is_repeated_over_the_batch() -> None:
    x, c = ga.placeholder("x", (3,)), ga.placeholder("c", (3,))
    y = ga.cond(ga.sum(c) > 0, lambda a, b: b * 2.0, lambda a, b: a + b, [x, c])
    xb = ga.placeholder("xb", (None, 3))
    xv, cv = RNG.standard_normal((5, 3)), np.ones(3)
    got = ga.evaluate(ga.vmap(y, {x: xb}), {xb: xv, c: cv})
    np.testing.assert_array_equal(got, np.tile(cv * 2.0, (5, 1)))
