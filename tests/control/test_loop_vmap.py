"""``vmap`` of loops: a loop over the batched body, compared with the loop run on each
example; per-example gradients and Jacobians through loops; a while loop whose condition
differs between the examples runs until every example is done."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.ir import topo_sort

RNG = np.random.default_rng(184)
B = 3


def loops(*fetches: ga.Node) -> list[ga.Node]:
    return [n for n in topo_sort(list(fetches)) if n.op.control == "loop"]


def rnn() -> tuple[ga.Node, ga.Node, ga.Node, ga.Node, ga.Node]:
    w = ga.placeholder("w", (3, 3))
    h0 = ga.placeholder("h0", (3,))
    xs = ga.placeholder("xs", (4, 3))

    def step(h: ga.Node, x: ga.Node) -> tuple[ga.Node, ga.Node]:
        h = ga.tanh(w @ h + x)
        return h, ga.sum(h)

    h, ys = ga.scan(step, h0, xs)
    return w, h0, xs, h, ys


def per_example(fetch: ga.Node, feeds: dict[ga.Node, Any], batched: dict[ga.Node, Any]) -> Any:
    ex = ga.Executor(fetch)
    rows = [ex.run({**feeds, **{k: v[b] for k, v in batched.items()}}) for b in range(B)]
    return np.stack(rows)


@pytest.mark.parametrize("which", ["xs", "h0", "w", "all"])
def test_vmap_of_a_scan_is_the_scan_of_each_example(which: str) -> None:
    w, h0, xs, h, ys = rnn()
    values = {w: RNG.normal(size=(3, 3)), h0: RNG.normal(size=3), xs: RNG.normal(size=(4, 3))}
    chosen = [w, h0, xs] if which == "all" else [{"xs": xs, "h0": h0, "w": w}[which]]
    batched = {p: RNG.normal(size=(B, *values[p].shape)) for p in chosen}
    bh, bys = ga.vmap([h, ys], batched)
    assert len(loops(bh, bys)) == 1  # one loop over the batched body, not B loops
    fixed = {p: v for p, v in values.items() if p not in batched}
    got_h, got_ys = ga.evaluate([bh, bys], fixed)
    np.testing.assert_allclose(got_h, per_example(h, fixed, batched), rtol=1e-13)
    np.testing.assert_allclose(got_ys, per_example(ys, fixed, batched), rtol=1e-13)
    assert got_ys.shape == (B, 4)


def test_per_example_gradients_through_a_loop() -> None:
    w, h0, xs, h, ys = rnn()
    loss = ga.sum(h * h) + ga.sum(ys)
    g = ga.gradients(loss, w)
    batch = RNG.normal(size=(B, 4, 3))
    per = ga.vmap(g, {xs: batch})
    feeds = {w: RNG.normal(size=(3, 3)) * 0.5, h0: RNG.normal(size=3)}
    np.testing.assert_allclose(
        ga.evaluate(per, feeds), per_example(g, feeds, {xs: batch}), rtol=1e-12
    )


@pytest.mark.parametrize("which", ["xs", "h0", "w", "all"])
def test_one_graph_serves_a_batch_of_any_size(which: str) -> None:
    """A batch of unknown size (issue 21): the loop's unbatched carries and outputs are
    repeated over the batch its batched values have at run time."""
    w, h0, xs, h, ys = rnn()
    loss = ga.sum(h * h) + ga.sum(ys)
    g = ga.gradients(loss, w)
    values = {w: RNG.normal(size=(3, 3)) * 0.5, h0: RNG.normal(size=3), xs: RNG.normal(size=(4, 3))}
    chosen = [w, h0, xs] if which == "all" else [{"xs": xs, "h0": h0, "w": w}[which]]
    holders = {p: ga.placeholder(f"{p.name}_b", (None, *p.shape)) for p in chosen}
    ex = ga.Executor(ga.vmap([h, ys, g], holders))
    fixed = {p: v for p, v in values.items() if p not in holders}
    for size in (1, B, 5):
        batched = {p: RNG.normal(size=(size, *values[p].shape)) for p in chosen}
        got = ex.run(fixed | {holders[p]: v for p, v in batched.items()})
        for value, fetch in zip(got, [h, ys, g]):
            ex1 = ga.Executor(fetch)
            rows = [ex1.run(fixed | {p: v[b] for p, v in batched.items()}) for b in range(size)]
            np.testing.assert_allclose(value, np.stack(rows), rtol=1e-12)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_through_a_loop(mode: str) -> None:
    w, h0, xs, _h, ys = rnn()
    jac = ga.jacobian(ys, h0, mode=mode)
    feeds = {w: RNG.normal(size=(3, 3)), h0: RNG.normal(size=3), xs: RNG.normal(size=(4, 3))}
    got = ga.evaluate(jac, feeds)
    f = ga.Executor(ys)
    eps = 1e-6
    want = np.stack(
        [
            (f.run({**feeds, h0: feeds[h0] + eps * e}) - f.run({**feeds, h0: feeds[h0] - eps * e}))
            / (2 * eps)
            for e in np.eye(3)
        ],
        axis=1,
    )
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)


def test_a_while_loop_runs_until_every_example_is_done() -> None:
    x = ga.placeholder("x", ())
    limit = ga.placeholder("limit", ())
    out = ga.while_loop(lambda c: c[0] < limit, lambda c: (c[0] * 2.0, c[1] + 1), (x, 0))
    xb = np.array([1.0, 0.3, 50.0])
    bv, bn = ga.evaluate(list(ga.vmap(list(out), {x: xb})), {limit: 10.0})
    for b in range(B):
        v, n = xb[b], 0
        while v < 10.0:
            v, n = v * 2.0, n + 1
        assert bv[b] == v and bn[b] == n
    # the limit batched instead: each example has its own condition
    lb = np.array([5.0, 100.0, 0.0])
    bv, bn = ga.evaluate(list(ga.vmap(list(out), {limit: lb})), {x: 1.0})
    np.testing.assert_array_equal(bv, [8.0, 128.0, 1.0])
    np.testing.assert_array_equal(bn, [3, 7, 0])


def test_a_while_loop_with_an_unbatched_condition_stays_one_loop_for_all() -> None:
    x = ga.placeholder("x", (2,))
    out = ga.while_loop(lambda c: c[1] < 3, lambda c: (c[0] * 2.0, c[1] + 1), (x, 0))
    bv = ga.evaluate(ga.vmap(out[0], {x: np.ones((B, 2))}))
    np.testing.assert_array_equal(bv, np.full((B, 2), 8.0))


def test_gradient_of_a_while_loop_batched_over_its_cotangent() -> None:
    """jacobian in reverse mode batches only the backward scan; the forward loop is shared."""
    x = ga.placeholder("x", (2,))
    out = ga.while_loop(
        lambda c: ga.sum(c * c) < 10.0, lambda c: c * 1.5 + ga.sin(c), x, max_steps=40
    )
    jac = ga.jacobian(out, x, mode="reverse")
    xv = np.array([0.3, 0.2])
    f = ga.Executor(out)
    eps = 1e-6
    want = np.stack(
        [(f.run({x: xv + eps * e}) - f.run({x: xv - eps * e})) / (2 * eps) for e in np.eye(2)],
        axis=1,
    )
    np.testing.assert_allclose(ga.evaluate(jac, {x: xv}), want, rtol=1e-6)


def test_a_batched_trip_count_is_refused_clearly() -> None:
    n = ga.placeholder("n", (), "int64")
    out = ga.fori_loop(0, n, lambda i, v: v * 2.0, ga.constant(1.0))
    with pytest.raises(ga.BatchingError, match="trip count differs between the examples"):
        ga.vmap(out, {n: np.array([1, 2, 3])})
