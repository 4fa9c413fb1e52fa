"""Factorisations of matrices that hold inf or NaN return NaN instead of hanging.

LAPACK's divide-and-conquer SVD (gesdd, behind ``np.linalg.svd`` and ``np.linalg.pinv``)
never returns on a matrix with an infinite entry under OpenBLAS, and fails on a NaN one;
``svd``, ``pinv``, the norms built on them and det's gradient (the adjugate) give NaN for
such a matrix, and the others of the stack their values (found probing det's gradient at
infinite entries, issue 16)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphad as ga

BUILDS: dict[str, Callable[[ga.Node], Any]] = {
    "svd": lambda a: list(ga.linalg.svd(a, full_matrices=False)),
    "svdvals": ga.linalg.svdvals,
    "pinv": ga.linalg.pinv,
    "norm_2": lambda a: ga.linalg.norm(a, ord=2, axis=(-2, -1)),
    "det_gradient": lambda a: ga.gradients(ga.sum(ga.det(a)), a),
}


def within(seconds: float, fn: Callable[[], Any]) -> Any:
    """fn(), or a failure after ``seconds`` (the hung LAPACK call is left to its thread)."""
    out: list[Any] = []
    worker = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert out, f"no answer within {seconds} s"
    return out[0]


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan], ids=["inf", "-inf", "nan"])
@pytest.mark.parametrize("name", BUILDS)
def test_a_matrix_with_a_nonfinite_entry_factorises_to_nan(name: str, bad: float) -> None:
    a = ga.placeholder("a", (2, 3, 3))
    value = np.stack([np.eye(3) * 2.0, np.eye(3)])
    value[1, 0, 1] = bad
    with np.errstate(all="ignore"):
        got = within(30.0, lambda: ga.evaluate(BUILDS[name](a), {a: value}))
    for part in got if isinstance(got, list) else [got]:
        assert np.all(np.isnan(part[1])), part  # the matrix holding inf or NaN
        assert np.all(np.isfinite(part[0])), part  # its neighbour in the stack
