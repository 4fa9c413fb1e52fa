"""``dprint(nodes)``: a graph as an indented tree, as PyTensor's ``debugprint`` shows one.

    >>> x = ga.placeholder("x", shape=(3,))
    >>> s = ga.sin(x)
    >>> ga.dprint(s * s + 1)
    add [id A] (3,):float64
     ├─ multiply [id B] (3,):float64
     │  ├─ sin [id C] (3,):float64
     │  │  └─ x [id D] (3,):float64
     │  └─ sin [id C] (3,):float64
     │     └─ ···
     └─ 1.0 [id E] ():float64

One line per node: its op (with the attributes that set it apart in the op's own notation,
``sum(·, axis=1)``, ``getitem ·[:, 0]``; a placeholder by its name, a constant by its value),
an id, its type and, in quotes, the name the user gave it.  A node met again is shown once
more by its line, its inputs left out (``···``).  The sub-graphs of ops such as ``cond``
follow under "Inner graphs", their parameters marked with the id of the input that feeds
them.  Ids are letters (A, B, …, Z, BA, BB, …), given in the order the lines are printed.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO, Any

from graphad.formulas import apply, user_named
from graphad.ir import Constant, GraphError, Node, Placeholder, user_location
from graphad.ir.notation import atom

_BRANCH_NAMES = {2: ("true", "false")}  # a select op's two branches (cond)
HOLE = atom("·")  # an operand left out: sum(·, axis=1) is the op alone


def _letters(number: int) -> str:
    """0 → A, 25 → Z, 26 → BA: PyTensor's ids (A stands for the digit 0)."""
    digits = ""
    while True:
        number, digit = divmod(number, 26)
        digits = chr(ord("A") + digit) + digits
        if not number:
            return digits


def describe(node: Node) -> str:
    """The op of ``node`` as a line of the tree shows it: ``multiply``, ``sum(·, axis=1)``,
    ``getitem ·[:, 0]``, ``x`` (a placeholder), ``2`` (a constant)."""
    if isinstance(node.op, (Placeholder, Constant)):
        return apply(node, ()).text
    name = node.op.name
    if not node.op.changed_attributes():
        return name
    text = apply(node, [HOLE] * len(node.inputs)).text
    return text if text.startswith(f"{name}(") else f"{name} {text}"


class _Printer:
    def __init__(self, types: bool, depth: int | None) -> None:
        self.types = types
        self.depth = depth
        self.ids: dict[Node, str] = {}
        self.lines: list[str] = []
        self.inner: list[Node] = []  # nodes with sub-graphs, in the order met

    def id_of(self, node: Node) -> tuple[str, bool]:
        """(id, whether the node was shown before)."""
        if node in self.ids:
            return self.ids[node], True
        self.ids[node] = _letters(len(self.ids))
        if node.op.branches:
            self.inner.append(node)
        return self.ids[node], False

    def line(self, node: Node, ident: str, note: str = "") -> str:
        parts = [describe(node), f"[id {ident}]"]
        if self.types:
            parts.append(str(node.type))
        if user_named(node) and not isinstance(node.op, Placeholder):
            parts.append(repr(node.name))
        return " ".join(parts) + note

    def tree(
        self, root: Node, head: str = "", indent: str = " ", feeds: dict[Node, str] | None = None
    ) -> None:
        """The lines of ``root`` and its inputs, depth first, without recursion: ``head``
        starts the root's line, ``indent`` its inputs' lines; ``feeds`` marks parameters with
        the id of the node that feeds them."""
        feeds = feeds or {}
        stack: list[tuple[Node, str, str, int]] = [(root, head, indent, 0)]
        while stack:
            node, lead, indent, level = stack.pop()
            ident, seen = self.id_of(node)
            note = f" → [id {feeds[node]}]" if node in feeds else ""
            self.lines.append(lead + self.line(node, ident, note))
            if not node.inputs:
                continue
            if seen or (self.depth is not None and level + 1 >= self.depth):
                self.lines.append(f"{indent}└─ ···")
                continue
            last = len(node.inputs) - 1
            for i, x in reversed(list(enumerate(node.inputs))):
                branch, below = ("└─ ", "   ") if i == last else ("├─ ", "│  ")
                stack.append((x, indent + branch, indent + below, level + 1))

    def inner_graphs(self) -> None:
        """Each sub-graph of each op with sub-graphs met, ops met inside them included."""
        done = 0
        while done < len(self.inner):
            node = self.inner[done]
            done += 1
            self.lines += ["", self.line(node, self.ids[node])]
            names = _BRANCH_NAMES.get(len(node.op.branches), ())
            for k, branch in enumerate(node.op.branches):
                feeds = {}
                if node.op.control == "select":  # params[i] is fed from input 1 + slots[i]
                    for param, slot in zip(branch.params, branch.slots):
                        feeds[param] = self.id_of(node.inputs[1 + slot])[0]
                label = names[k] if k < len(names) else f"branch {k}"
                for output in branch.outputs:
                    self.tree(output, f" {label} ← ", " " * (len(label) + 4), feeds)


def _as_nodes(nodes: Any) -> list[Node]:
    found = [nodes] if isinstance(nodes, Node) else nodes
    if not isinstance(found, (list, tuple)) or not all(isinstance(n, Node) for n in found):
        got = type(nodes).__name__ if not isinstance(found, (list, tuple)) else "a list"
        raise GraphError(
            f"dprint: expected a node or a list of nodes, got {got} ({user_location()})"
        )
    return list(found)


def dprint(
    nodes: Node | Sequence[Node],
    *,
    file: IO[str] | str | None = None,
    types: bool = True,
    depth: int | None = None,
) -> str | None:
    """Print the graph of ``nodes`` as an indented tree (see the module's docstring), to
    ``file`` (standard output by default), or return it as text with ``file="str"``, as
    PyTensor's ``dprint`` does.  ``types``: show each node's type; ``depth``: show at most
    that many levels below each node given (deeper inputs as ``···``).

        ga.dprint([f, gx])                 # printed
        text = ga.dprint(f, file="str")    # returned
    """
    if depth is not None and (not isinstance(depth, int) or isinstance(depth, bool) or depth < 1):
        raise GraphError(f"dprint: depth must be an int >= 1, got {depth!r} ({user_location()})")
    printer = _Printer(bool(types), depth)
    for node in _as_nodes(nodes):
        printer.tree(node)
    if printer.inner:
        printer.lines += ["", "Inner graphs:"]
        printer.inner_graphs()
    text = "\n".join(printer.lines)
    if file == "str":
        return text
    if isinstance(file, str):
        raise GraphError(
            f"dprint: file must be a stream or 'str', got {file!r} ({user_location()})"
        )
    print(text, file=sys.stdout if file is None else file)
    return None
