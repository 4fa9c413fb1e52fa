"""Every op's batch rule on a batch whose size is unknown until run time, driven by ``CASES``.

The batches are placeholders of shape ``(None, *x.shape)``: no rule may fall back to the
per-example loop (which needs B), and the one batched graph runs at two batch sizes, its
values, its VJP and its forward-over-reverse derivative equal to the per-example loop
(``test_batching.py`` checks the same with B known).
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import pytest

import graphad as ga

from .cases import CASES, Case
from .test_batching import MODES, by_id, real_sum

SIZES = (2, 5)
DIFFERENTIABLE = [c for c in CASES if c.differentiable]


class Unknown:
    """A case's graph batched over ``(None, ...)`` placeholders, and values for each size."""

    def __init__(self, case: Case, mode: str) -> None:
        self.case = case
        self.xs = [ga.placeholder(f"x{i}", s, case.dtype) for i, s in enumerate(case.shapes)]
        self.y = case.build(*self.xs)
        self.batched = [mode == "all" or i == 0 for i in range(len(self.xs))]
        self.xbs = {
            x: ga.placeholder(f"xb{i}", (None, *x.shape), case.dtype)
            for i, (x, b) in enumerate(zip(self.xs, self.batched))
            if b
        }
        self.yb = ga.vmap(self.y, self.xbs)
        self.inputs = [self.xbs.get(x, x) for x in self.xs]
        self.seed = zlib.crc32(f"{case.id}/{mode}".encode())

    def values(self, size: int) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
        """The batched graph's input values for ``size`` examples, and each example's."""
        rng = np.random.default_rng([self.seed, size])
        draws = [self.case.sample(rng) for _ in range(size)]
        values = [
            np.stack([d[i] for d in draws]) if b else draws[0][i]
            for i, b in enumerate(self.batched)
        ]
        examples = [[v[k] if b else v for v, b in zip(values, self.batched)] for k in range(size)]
        return values, examples

    def matches(self, got: Any, per: list[Any], tol: float) -> None:
        """A derivative per input: stacked over the batch for a batched input, summed for a
        shared one."""
        for k, b in enumerate(self.batched):
            parts = [p[k] for p in per]
            expected = np.stack(parts) if b else np.sum(parts, axis=0)
            np.testing.assert_allclose(got[k], expected, rtol=tol, atol=tol)


@by_id(CASES)
@pytest.mark.parametrize("mode", MODES)
def test_one_graph_serves_every_batch_size(case: Case, mode: str) -> None:
    p = Unknown(case, mode)
    assert p.yb.shape == (None, *p.y.shape)
    assert p.yb.dtype == p.y.dtype
    batched, plain = ga.Executor(p.yb), ga.Executor(p.y)
    for size in SIZES:
        values, examples = p.values(size)
        got = batched.run(dict(zip(p.inputs, values)))
        expected = np.stack([plain.run(dict(zip(p.xs, e))) for e in examples])
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@by_id(DIFFERENTIABLE)
@pytest.mark.parametrize("mode", MODES)
def test_derivatives_of_a_batch_of_unknown_size(case: Case, mode: str) -> None:
    """The VJP and forward-over-reverse of the batched graph equal the per-example ones."""
    p = Unknown(case, mode)
    u = ga.placeholder("u", (None, *p.y.shape), case.dtype)
    s = real_sum(p.yb, u)
    grads = ga.gradients(s, p.inputs)
    vs = [ga.placeholder(f"v{k}", x.shape, case.dtype) for k, x in enumerate(p.inputs)]
    batched = ga.Executor([grads, ga.jvp(grads, p.inputs, vs)])
    u1 = ga.placeholder("u1", p.y.shape, case.dtype)
    v1 = [ga.placeholder(f"v1{k}", x.shape, case.dtype) for k, x in enumerate(p.xs)]
    g1 = ga.gradients(real_sum(p.y, u1), p.xs)
    plain = ga.Executor([g1, ga.jvp(g1, p.xs, v1)])
    for size in SIZES:
        values, examples = p.values(size)
        rng = np.random.default_rng([p.seed, size, 1])
        uv = rng.standard_normal((size, *p.y.shape)).astype(case.dtype)
        dirs = [rng.standard_normal(np.shape(v)).astype(case.dtype) for v in values]
        feeds = dict(zip(p.inputs, values)) | {u: uv} | dict(zip(vs, dirs))
        got_g, got_h = batched.run(feeds)
        per_g, per_h = [], []
        for i, example in enumerate(examples):
            d = [v[i] if b else v for v, b in zip(dirs, p.batched)]
            out = plain.run(dict(zip(p.xs, example)) | {u1: uv[i]} | dict(zip(v1, d)))
            per_g.append(out[0])
            per_h.append(out[1])
        p.matches(got_g, per_g, 1e-10)
        p.matches(got_h, per_h, 1e-9)
