"""``python -m graphad``: the quick start's first command."""

from __future__ import annotations

import importlib
import math
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


def test_diff_prints_derivatives_to_the_order_asked(capsys, tmp_path) -> None:
    svg = tmp_path / "f.svg"
    argv = ["diff", "sin(x) * exp(y) / (1 + x**2)", "--wrt", "x,y", "--order", "2"]
    assert main([*argv, "--at", "x=0.7,y=0.1", "--explain", "--svg", str(svg)]) == 0
    out = capsys.readouterr().out
    x, y = 0.7, 0.1
    f = lambda x, y: math.sin(x) * math.exp(y) / (1 + x**2)  # noqa: E731
    fx = (math.cos(x) * (1 + x**2) - 2 * x * math.sin(x)) * math.exp(y) / (1 + x**2) ** 2
    values = dict(line.split(" = ") for line in out.splitlines()[:6])
    assert float(values["f       "]) == pytest.approx(f(x, y))
    assert float(values["∂f/∂x   "]) == pytest.approx(fx)
    assert float(values["∂²f/∂y∂y"]) == pytest.approx(f(x, y))
    assert float(values["∂²f/∂x∂y"]) == pytest.approx(fx)
    assert "reverse:" in out and "x̄ = " in out
    assert svg.read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize(
    ("expression", "column", "message"),
    [
        ("sin(x) * __import__('os')", 10, "unknown function __import__"),
        ("x.real + 1", 1, "Attribute is not allowed"),
        ("exp", 1, "exp is a function"),
        ("'a' + x", 1, "only numbers"),
    ],
)
def test_diff_refuses_a_bad_expression_with_its_column(capsys, expression, column, message):
    assert main(["diff", expression, "--at", "x=1"]) == 2
    err = capsys.readouterr().err
    assert f"column {column}: {message}" in err
    assert err.splitlines()[0].startswith("graphad diff:")


def test_diff_refuses_bad_arguments(capsys) -> None:
    assert main(["diff", "x * y", "--at", "x=1"]) == 2
    assert "no value for ['y']" in capsys.readouterr().err
    assert main(["diff", "x", "--at", "x=one"]) == 2
    assert "expected name=number" in capsys.readouterr().err
    assert main(["diff", "x", "--wrt", "z", "--at", "x=1"]) == 2
    assert main(["diff", "x", "--order", "0", "--at", "x=1"]) == 2


def test_help_shows_an_example(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert 'graphad diff "sin(x)' in capsys.readouterr().out


def test_demo_out_writes_the_notes_drawings(capsys, tmp_path) -> None:
    assert main(["demo", "--out", str(tmp_path)]) == 0
    for name in ("forward", "gradient", "hessian"):
        assert (tmp_path / f"{name}.svg").read_text().lstrip().startswith("<?xml")


def test_graphad_console_script_points_at_main() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    module, _, function = project["project"]["scripts"]["graphad"].partition(":")
    assert getattr(importlib.import_module(module), function) is main
