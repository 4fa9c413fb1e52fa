"""Gradients through ops that run as one task on Dask (sort, take_along_axis, and slices
into the linalg factorisations) where a dim is unknown until run time: their adjoint is a
scatter-add whose shape is a run-time operand, which a lazy backend reads from the value
of that operand (``Op.run_type``) before the task runs.  Every Executor way agrees with
the graph built on static shapes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphad as ga

rng = np.random.default_rng(16)
ROWS = rng.standard_normal((6, 3))
MATRIX = rng.standard_normal((6, 4)) + 4 * np.eye(6, 4)
WEIGHTS = np.arange(1.0, 4.0)

CASES: dict[str, tuple[Callable[[ga.Node], ga.Node], np.ndarray]] = {
    "sort": (lambda x: ga.sum(ga.sort(x, axis=0) * WEIGHTS), ROWS),
    "take_along_axis": (
        lambda x: ga.sum(ga.take_along_axis(x, ga.argsort(x, axis=0), axis=0) ** 2 * WEIGHTS),
        ROWS,
    ),
    "inv": (lambda a: ga.sum(ga.linalg.inv(a[:4]) * a[:4]), MATRIX),
    "solve": (lambda a: ga.sum(ga.linalg.solve(a[:4], a[:4, 0])), MATRIX),
    "det": (lambda a: ga.linalg.det(a[:4]), MATRIX),
    "eigh": (lambda a: ga.sum(ga.linalg.eigh(a[:4] + a[:4].T)[0] ** 3), MATRIX),
}


@pytest.mark.parametrize("name", list(CASES))
def test_gradient_with_an_unknown_dim_equals_the_static_one(run: Any, name: str) -> None:
    build, value = CASES[name]
    static = ga.placeholder("x", value.shape)
    expected = ga.evaluate(ga.gradients(build(static), static), {static: value})
    x = ga.placeholder("x", (None, value.shape[1]))
    got = run(ga.gradients(build(x), x), {x: value})
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_a_scatter_add_of_a_lazy_shape_says_so() -> None:
    from graphad.ops.indexing import ScatterAdd

    da = pytest.importorskip("dask.array")
    op = ScatterAdd((("slice", None, 2, None),), (None,))
    g = ga.placeholder("g", (2,))
    shape = ga.placeholder("shape", (1,), np.int64)
    y = op(g, shape)
    lazy = {g: da.ones(2, chunks=1), shape: da.from_array(np.array([5]))}
    known = r"scatter_add: the shape of the result is not known before it computes"
    made = r"\(node scatter_add_\d+, made at .*test_unknown_dims_gradients.py:\d+\)"
    with pytest.raises(ga.ExecutionError, match=f"{known} {made}"):
        ga.Executor(y).run(lazy)
