"""benchmarks/bench_loops.py runs at a small size: graphad, the hand-written loop and the
checkpointed run agree (the benchmark asserts it), and the report and targets are made.
Values only: no timing is asserted."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_loops.py"


def _module() -> Any:
    spec = importlib.util.spec_from_file_location("bench_loops", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_loops"] = module
    spec.loader.exec_module(module)
    return module


def test_the_loop_benchmark_runs_and_checks_its_values() -> None:
    bench = _module()
    rows = bench.main(["--steps", "20", "50", "--repeat", "1", "--no-jax"])
    assert [r["steps"] for r in rows] == [20, 50]
    assert rows[0]["nodes"] == rows[1]["nodes"] and rows[0]["body"] > 0
    assert all(r["memory"] > 0 and r["memory sqrt"] > 0 for r in rows)
    names = [text for text, _ in bench.targets(rows)]
    assert names[0] == "graph size independent of T"
