"""The Dask backend: every op-table case lazily on Dask arrays, equal to NumPy.

Graphs are built under a scheduler that refuses to run (a kernel that would compute a
Dask array on the way, as ``np.asarray`` does, fails the test), then computed with the
threaded scheduler, on one chunk and on several chunks per axis.  Every case runs: ops
with no chunked Dask form (``chunking = "whole"``) run as one lazy task.
The gradients run too, as they hold ops the forward graphs lack (scatter-add, sum_to).
"""

from __future__ import annotations

import subprocess
import sys
import zlib
from typing import Any

import numpy as np
import pytest

import graphad as ga

from .cases import CASES, Case

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


def refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a kernel computed a Dask array while the graph was being built")


def chunked(value: np.ndarray, several: bool) -> Any:
    chunks = tuple(max(1, (n + 1) // 2) for n in value.shape) if several else value.shape
    return da.from_array(value, chunks=chunks or ())


def leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in leaves(v)]
    if isinstance(value, (tuple, list)):
        return [x for v in value for x in leaves(v)]
    return [value]


@pytest.mark.parametrize("several", [False, True], ids=["one-chunk", "chunks"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_on_dask_equals_numpy(case: Case, several: bool) -> None:
    rng = np.random.default_rng(zlib.crc32(case.id.encode()))
    xs = [ga.placeholder(f"x{i}", s, case.dtype) for i, s in enumerate(case.shapes)]
    y = case.build(*xs)
    values = [v.astype(case.dtype) for v in case.sample(rng)]
    same_on_dask(y, xs, values, several)


DIFFERENTIABLE = [c for c in CASES if c.differentiable and c.dtype == "float64"]


@pytest.mark.parametrize("case", DIFFERENTIABLE, ids=[c.id for c in DIFFERENTIABLE])
def test_gradient_on_dask_equals_numpy(case: Case) -> None:
    rng = np.random.default_rng(zlib.crc32(case.id.encode()))
    xs = [ga.placeholder(f"x{i}", s, case.dtype) for i, s in enumerate(case.shapes)]
    y = case.build(*xs)
    values = case.sample(rng)
    u = rng.standard_normal(y.shape)
    gs = ga.gradients(ga.sum(y * u), xs)
    same_on_dask(gs, xs, values, several=True)


def same_on_dask(y: Any, xs: list[ga.Node], values: list[np.ndarray], several: bool) -> None:
    expected = ga.Executor(y).run(dict(zip(xs, values)))
    ex = ga.Executor(y, backend="dask")
    with dask.config.set(scheduler=refuse):
        lazy = ex.run({x: chunked(v, several) for x, v in zip(xs, values)})
    for leaf in leaves(lazy):
        assert leaf is None or isinstance(leaf, da.Array), type(leaf)
    with dask.config.set(scheduler="threads"):
        got = dask.compute(lazy)[0]
    for g, e in zip(leaves(got), leaves(expected)):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)
        assert np.asarray(g).dtype == np.asarray(e).dtype
        assert np.shape(g) == np.shape(e)


def test_import_graphad_does_not_import_dask() -> None:
    code = "import sys, graphad; assert 'dask' not in sys.modules, 'dask imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
