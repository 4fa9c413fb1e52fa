"""benchmarks/compare_commits.py compares a commit with itself on one small workload: both
workers import their own export of graphad, build, agree with each other and with NumPy,
and are timed in turn.  Values only: no timing is asserted."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks" / "compare_commits.py"


def _module() -> Any:
    spec = importlib.util.spec_from_file_location("compare_commits", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["compare_commits"] = module
    spec.loader.exec_module(module)
    return module


def test_a_commit_compared_with_itself_agrees_and_is_timed(capsys: pytest.CaptureFixture) -> None:
    inside = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True)
    if inside.returncode != 0:
        pytest.skip("not a git checkout: there are no commits to export")
    bench = _module()
    args = ["HEAD", "HEAD", "W5", "--builds", "2", "--repeat", "1", "--budget", "0.001"]
    (row,) = bench.main(args)
    assert "error" not in row, row
    assert row["agree"] and row["old_hand"] and row["new_hand"]
    assert row["old_nodes"] == row["new_nodes"] > 0
    assert row["old"] > 0 and row["new"] > 0 and row["old_build"] > 0
    assert "W5" in capsys.readouterr().out


def test_an_unknown_commit_is_refused() -> None:
    bench = _module()
    with pytest.raises(subprocess.CalledProcessError):
        bench.main(["no-such-commit-here", "HEAD", "W5"])
