"""Drawings that show themselves in Jupyter, with or without Graphviz's programs.

``graphviz.Digraph`` displays itself by running the system's ``dot``, and raises
``ExecutableNotFound`` where there is none.  :class:`Drawing` (what ``to_dot`` returns)
and :class:`SVG` (what ``to_svg`` returns) display through graphad's renderer instead:
the system's ``dot`` when it is there, else Graphviz compiled to WebAssembly.  Where
neither is installed, the display is a line of text that says what to install.
"""

from __future__ import annotations

from typing import Any

import graphviz

from graphad.ir import GraphError
from graphad.viz.render import pipe


class SVG(str):
    """SVG text (a ``str``) that Jupyter shows as the drawing, not as its text."""

    def _repr_svg_(self) -> str:
        return str(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"image/svg+xml": str(self), "text/plain": f"<SVG drawing, {len(self):,} chars>"}


class Drawing(graphviz.Digraph):
    """A ``graphviz.Digraph`` that draws itself with graphad's renderer: in Jupyter
    (``_repr_mimebundle_``), by :meth:`svg`, and by :meth:`pipe` in SVG."""

    def svg(self) -> SVG:
        """The drawing as SVG text."""
        return SVG(pipe(self.source, "svg").decode())

    def _repr_svg_(self) -> str | None:
        try:
            return str(self.svg())
        except GraphError:
            return None  # IPython then shows the text/plain form

    _repr_image_svg_xml = _repr_svg_  # graphviz's own name for it

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None, **_: Any
    ) -> dict[str, str]:
        try:
            return {"image/svg+xml": str(self.svg()), "text/plain": self._summary()}
        except GraphError as e:  # no renderer at all: say so, never raise in a display
            return {"text/plain": f"{self._summary()}\n{e}"}

    def _summary(self) -> str:
        nodes = sum(1 for line in self.body if line.lstrip().startswith("n") and "[" in line)
        return f"<graphad drawing of {nodes} nodes; .source has its DOT text>"

    def pipe(  # the same call, drawn by graphad's renderer
        self, format: str | None = None, *args: Any, encoding: str | None = None, **kwargs: Any
    ) -> Any:
        """``svg`` through graphad's renderer (the WebAssembly one where there is no ``dot``);
        other formats and options as ``graphviz.Digraph.pipe``."""
        if (format or self.format) != "svg" or args or kwargs:
            return super().pipe(format, *args, encoding=encoding, **kwargs)
        data = pipe(self.source, "svg")
        return data if encoding is None else data.decode(encoding)
