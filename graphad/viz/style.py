"""The marks of a drawing, in one place: colours per derivative order, border styles, shapes,
and :func:`dot_string`, through which every text that is drawn passes."""

from __future__ import annotations

from typing import Literal

import graphviz

# fill colour per derivative order (print-friendly oranges; white is the user's graph)
ORDER_COLOURS = ("#ffffff", "#fdd49e", "#fc8d59", "#d7301f", "#990000")
DARK = 3  # orders from here on get white text
FORWARD_STYLE = "filled,dashed"  # forward mode's nodes; every other node is "filled"
SHAPES = {"placeholder": "ellipse", "constant": "note", "op": "box"}
FETCHED_PEN = "2.5"
LINK_STYLE = {"style": "dashed", "color": "#3182bd", "arrowhead": "empty"}
FOLD_STYLE = "filled,dotted"  # a summary's stand-in for nodes not drawn


def order_colour(order: int) -> str:
    return ORDER_COLOURS[min(order, len(ORDER_COLOURS) - 1)]


def dot_string(*lines: str, kind: Literal["label", "tooltip"] = "label") -> str:
    r"""``lines`` as a DOT string that Graphviz draws verbatim, one line under the other.

    Graphviz reads its strings as *escString*: in a label ``\N`` is the node's id,
    ``\G \E \T \H \L`` the graph, edge, tail, head and label, ``\l \r \n`` end a line,
    and ``&amp;`` is an HTML entity; a tooltip is unescaped once more before that (its
    ``\N`` needs four backslashes to be drawn).  So each backslash is written twice in a
    ``label`` (of a node, an edge, a cluster or the graph) and four times in a
    ``tooltip``, each ``&`` as ``&amp;``, and a character that cannot be shown (NUL, a
    control character, a lone surrogate, a bidirectional override) as Python writes it,
    ``\x00``.  The result is never read as an HTML-like label (``<b>``); the ``graphviz``
    package adds the quotes and escapes ``"``.

        dot_string("a\\lb", "exp")   # drawn as the two lines  a\lb  and  exp
    """
    backslash = "\\\\" if kind == "label" else "\\\\\\\\"
    shown = ("".join(_visible(c) for c in line) for line in lines)
    text = "\\n".join(s.replace("\\", backslash).replace("&", "&amp;") for s in shown)
    return graphviz.nohtml(text)


def _visible(c: str) -> str:
    return c if c.isprintable() else ascii(c)[1:-1]  # "\x00", "\u202e"
