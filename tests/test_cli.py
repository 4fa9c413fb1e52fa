"""``python -m graphad``: the quick start's first command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from graphad.cli import main


def test_demo_prints_values_sizes_and_a_passing_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    for expected in ("gx =", "gW =", "hx =", "t  =", "graph sizes", "2nd order", "ok: max error"):
        assert expected in out


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out


def test_python_dash_m_runs_the_demo() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "graphad", "demo"],
        cwd=Path(__file__).resolve().parents[1],  # the README's command runs from the repo root
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "ok: max error" in done.stdout
