"""Fixtures shared by the test layers."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest

import graphad as ga


@pytest.fixture
def shared_graph() -> tuple[ga.Node, ga.Node, ga.Node, ga.Node]:
    """``x``, a sub-graph ``s`` used twice, ``y = Σ s² + Σ s`` and ``∂y/∂x``."""
    x = ga.placeholder("x", shape=(3,))
    shared = ga.sin(x) * ga.constant(np.arange(3.0))
    y = ga.sum(shared * shared) + ga.sum(shared)
    return x, shared, y, ga.gradients(y, x)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--numba-table",
        action="store_true",
        help="compile every op-table case with numba (tests/ops/test_numba_table.py), not "
        "only a sample of every native form: ten minutes",
    )


MODES = ["optimized", "as built", "debug", "dask"]


def run_in(mode: str, fetches: object, feeds: dict[object, object]) -> object:
    """``fetches`` run on ``feeds`` in one of the Executor's ways: generated code of the
    optimised graph, of the graph as built, the checking interpreter, or lazily on Dask
    (array feeds made Dask arrays of two chunks along their first axis, computed at once)."""
    if mode == "dask":
        da = pytest.importorskip("dask.array")
        lazy = {
            k: da.from_array(v, chunks=max(1, (len(v) + 1) // 2) if np.ndim(v) else ())
            if isinstance(v, np.ndarray)
            else v
            for k, v in feeds.items()
        }
        return ga.Executor(fetches, backend="dask").run(lazy, compute=True)
    options = {"optimized": {}, "as built": {"optimize": False}, "debug": {"debug": True}}[mode]
    return ga.Executor(fetches, **options).run(feeds)  # type: ignore[arg-type]


@pytest.fixture(params=MODES)
def run(request: pytest.FixtureRequest) -> Any:
    """``run(fetches, feeds)`` in each way an Executor runs a graph, Dask included (see
    ``run_in``)."""
    return functools.partial(run_in, str(request.param))
