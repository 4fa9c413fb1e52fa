"""Every op's batch rule against a Python loop over the batch, driven by ``CASES``.

For each case and two ways of batching it (every input batched; only the first
input batched, the others shared by the whole batch, so the rule meets
unbatched operands that broadcast against a batched one): the value of
``vmap(y)`` equals y computed example by example; its VJP of a batched
cotangent equals the per-example VJPs (summed over the batch for a shared
input); and forward-over-reverse of the batched graph equals the per-example
Hessian-vector products.  The per-example side uses the unbatched graph, which
``test_table.py`` checks against finite differences.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.ir import topo_sort

from .cases import CASES, Case

B = 3
MODES = ["all", "first"]


class Batch:
    """A case's graph, batched: the per-example graph, its batched twin and the values."""

    def __init__(self, case: Case, mode: str) -> None:
        rng = np.random.default_rng(zlib.crc32(f"{case.id}/{mode}".encode()))
        self.case = case
        self.xs = [ga.placeholder(f"x{i}", s, case.dtype) for i, s in enumerate(case.shapes)]
        self.y = case.build(*self.xs)
        self.batched = [mode == "all" or i == 0 for i in range(len(self.xs))]
        self.xbs = {
            x: ga.placeholder(f"xb{i}", (B, *x.shape), case.dtype)
            for i, (x, b) in enumerate(zip(self.xs, self.batched))
            if b
        }
        self.yb = ga.vmap(self.y, self.xbs)
        draws = [case.sample(rng) for _ in range(B)]
        self.values = [
            np.stack([d[i] for d in draws]) if b else draws[0][i]
            for i, b in enumerate(self.batched)
        ]
        self.u = rng.standard_normal((B, *self.y.shape))
        self.v = [rng.standard_normal(np.shape(v)) for v in self.values]

    def example(self, values: Sequence[np.ndarray], i: int) -> list[np.ndarray]:
        return [v[i] if b else v for v, b in zip(values, self.batched)]

    def feeds(self) -> dict[ga.Node, np.ndarray]:
        """The batched graph's feeds: a batch for a batched input, else the shared value."""
        return {self.xbs.get(x, x): v for x, v in zip(self.xs, self.values)}

    def inputs(self) -> list[ga.Node]:
        """The batched graph's inputs, in the order of the case's."""
        return [self.xbs.get(x, x) for x in self.xs]

    def assert_matches(self, got: Sequence[Any], per: Sequence[Any], tol: float) -> None:
        """Each input's derivative from the batched graph against the per-example ones:
        stacked for a batched input, summed over the batch for a shared one."""
        for k, b in enumerate(self.batched):
            parts = [p[k] for p in per]
            expected = np.stack(parts) if b else np.sum(parts, axis=0)
            np.testing.assert_allclose(got[k], expected, rtol=tol, atol=tol)

    def loop(self, fetches: Any, extra: dict[ga.Node, Any] | None = None) -> list[Any]:
        """``fetches`` of the unbatched graph, once per example."""
        ex = ga.Executor(fetches)
        out = []
        for i in range(B):
            feeds = dict(zip(self.xs, self.example(self.values, i)))
            for node, value in (extra or {}).items():
                feeds[node] = value[i]
            out.append(ex.run(feeds))
        return out


def real_sum(y: ga.Node, u: ga.Node) -> ga.Node:
    """Re Σ y·u: its gradient is the VJP of u under the real pairing (complex rows too)."""
    s = ga.sum(y * u)
    return ga.real(s) if s.dtype.kind == "c" else s


def by_id(cases: Sequence[Case]) -> Any:
    return pytest.mark.parametrize("case", cases, ids=[c.id for c in cases])


DIFFERENTIABLE = [c for c in CASES if c.differentiable]


@by_id(CASES)
@pytest.mark.parametrize("mode", MODES)
def test_batched_value_equals_the_loop(case: Case, mode: str) -> None:
    p = Batch(case, mode)
    assert p.yb.shape == (B, *p.y.shape)
    assert p.yb.dtype == p.y.dtype
    got = ga.Executor(p.yb).run(p.feeds())
    expected = np.stack(p.loop(p.y))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@by_id(DIFFERENTIABLE)
@pytest.mark.parametrize("mode", MODES)
def test_batched_vjp_equals_the_loop(case: Case, mode: str) -> None:
    """gradients(sum(yb·u), xs) is the per-example VJP of u[i], summed for a shared input."""
    p = Batch(case, mode)
    u = ga.placeholder("u", p.y.shape, case.dtype)
    s = real_sum(p.yb, ga.constant(p.u.astype(case.dtype)))
    got = ga.Executor(ga.gradients(s, p.inputs())).run(p.feeds())
    per = p.loop(ga.gradients(p.y, p.xs, grad_y=u), {u: p.u})
    p.assert_matches(got, per, 1e-10)


@by_id(DIFFERENTIABLE)
@pytest.mark.parametrize("mode", MODES)
def test_batched_forward_over_reverse_equals_the_loop(case: Case, mode: str) -> None:
    """The second derivative of the batched graph, along a direction of every input, is
    the per-example Hessian-vector product."""
    p = Batch(case, mode)
    u = ga.placeholder("u", p.y.shape, case.dtype)
    vs = [ga.placeholder(f"v{k}", x.shape, case.dtype) for k, x in enumerate(p.xs)]
    s = real_sum(p.yb, ga.constant(p.u.astype(case.dtype)))
    inputs = p.inputs()
    got = ga.Executor(ga.jvp(ga.gradients(s, inputs), inputs, p.v)).run(p.feeds())
    # per example i: the direction of a batched input is v[k][i]; a shared input's is v[k]
    # for every example, and its second derivative sums over them
    hv = ga.jvp(ga.gradients(real_sum(p.y, u), p.xs), p.xs, vs)
    ex = ga.Executor(hv)
    per = []
    for i in range(B):
        feeds = dict(zip(p.xs, p.example(p.values, i)))
        feeds.update(zip(vs, p.example(p.v, i)))
        feeds[u] = p.u[i]
        per.append(ex.run(feeds))
    p.assert_matches(got, per, 1e-9)


@by_id(CASES)
@pytest.mark.parametrize("mode", MODES)
def test_every_op_has_a_batch_rule(case: Case, mode: str) -> None:
    """The batched graph does not grow with B: no op fell back to the per-example loop."""

    def size(b: int) -> int:
        xs = [ga.placeholder(f"x{i}", s, case.dtype) for i, s in enumerate(case.shapes)]
        batches = {
            x: ga.placeholder(f"xb{i}", (b, *x.shape), case.dtype)
            for i, x in enumerate(xs)
            if mode == "all" or i == 0
        }
        return len(topo_sort([ga.vmap(case.build(*xs), batches)]))

    assert size(2) == size(5)
