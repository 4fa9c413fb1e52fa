"""Fixtures shared by the test layers."""

from __future__ import annotations

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
