"""benchmarks/bench_sparse.py --quick: every sparse derivative it times equals its dense
reference, with the colour counts greedy colouring gives.  Values only: no timing is
asserted (the machine's load would decide it)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_sparse.py"


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    spec = importlib.util.spec_from_file_location("bench_sparse", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_sparse"] = module
    spec.loader.exec_module(module)
    return module.main(["--quick", "--no-jax"])


def by_method(rows: list[dict[str, Any]], name: str, method: str) -> dict[str, Any]:
    (row,) = [r for r in rows if r["name"].startswith(name) and r["method"].startswith(method)]
    return row


def test_sparse_results_equal_their_references(rows: list[dict[str, Any]]) -> None:
    checked = [r for r in rows if r.get("error") is not None]
    assert len(checked) >= 5
    for r in checked:
        assert r["error"] <= 1e-10, r


def test_colour_counts(rows: list[dict[str, Any]]) -> None:
    assert by_method(rows, "band", "graphad sparse")["colours"] == 3
    assert by_method(rows, "band", "graphad dense forward, compressed")["colours"] == 3
    for k in (6, 12):
        assert by_method(rows, f"grid {k}x{k}", "graphad sparse")["colours"] <= 6
    ba = by_method(rows, "BA", "graphad sparse")
    assert ba["colours"] <= 15 and "stored" in ba


def test_the_sparse_graph_is_no_larger_at_a_larger_grid(rows: list[dict[str, Any]]) -> None:
    small = by_method(rows, "grid 6x6", "graphad sparse")
    large = by_method(rows, "grid 12x12", "graphad sparse")
    assert small["nodes"] == large["nodes"]
