"""``formula(node)``: the expression a node computes, as text a reader (and Python) can read.

    >>> x, y = ga.placeholder("x", shape=()), ga.placeholder("y", shape=())
    >>> print(ga.formula(ga.gradients(ga.sin(x) * y, x)))
    y*cos(x)

Each op is written with its own notation (:meth:`graphad.ir.Op.notation`): Python's
operators and precedence, NumPy's function names, the user's placeholder names, constants as
literals.  The graph is first simplified as the compiler would run it (``ga.optimize``), so a
derivative reads as its simplified graph, not as the seeds of ones and sums of partials that
differentiation made.  A sub-expression used more than once is named once, on a line of its
own before its first use (``v1 = 1 + x**2``), and so is one longer than :data:`LONG`
characters; the last line is the expression itself.

What the text says about strong zeros: ``multiply_no_nan(a, b)`` and ``xdivy(a, b)``, which
derivatives use so that a zero cotangent stays an exact zero (0·∞ = 0), are written ``a*b``
and ``a/b``.  They are those values wherever the factors are finite, which is everywhere a
formula is read for; where a factor is 0 beside an inf or a NaN, the node gives 0 and the
text NaN.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphad.ir import GraphError, Node, Placeholder, topo_sort, user_location
from graphad.ir.notation import COMPARISON, LOOSE, Term, atom, wrap

LONG = 200  # characters: a longer sub-expression is named on a line of its own
SHORT = 8  # characters: a shorter repeated sub-expression is written out each time
_MADE_UP = re.compile(r"[a-z][a-z0-9_]*_\d+")  # exp_12: the name graphad gives a node
_IDENTIFIER = re.compile(r"[^\W\d]\w*")


def apply(node: Node, operands: Sequence[Term]) -> Term:
    """``node``'s op written over its operands' terms (:meth:`graphad.ir.Op.notation`): every
    text view asks the op here."""
    return node.op.notation(operands)


def user_named(node: Node) -> bool:
    """Whether the user named ``node`` (``name="v2"``), rather than graphad (``exp_12``)."""
    return _MADE_UP.fullmatch(node.name) is None


class Writer:
    """Terms of nodes, each op in its notation, the nodes in ``names`` written by name.

    ``term(node)`` walks the inputs not named (without recursion, so a 10⁵-node chain is
    fine) and remembers every term it makes; ``names`` may grow between calls, and a node
    named later is written by its name from then on.  An op with ``control = "select"``
    (``cond``) is written ``a if p else b``, its branches' outputs with their parameters
    replaced by the terms of the operands that feed them.
    """

    def __init__(self, names: dict[Node, str] | None = None) -> None:
        self.names: dict[Node, str] = {} if names is None else names
        self.terms: dict[Node, Term] = {}

    def reference(self, node: Node) -> Term:
        """The term an operand is written with: its name, else its own term."""
        name = self.names.get(node)
        return Term(name) if name is not None else self.terms[node]

    def term(self, node: Node, expand: bool = False) -> Term:
        """The term of ``node``; a named node is written by name unless ``expand``."""
        if not expand and node in self.names:
            return Term(self.names[node])
        stack = [node]
        while stack:
            top = stack[-1]
            if top in self.terms:
                stack.pop()
                continue
            missing = [x for x in top.inputs if x not in self.names and x not in self.terms]
            if missing:
                stack.extend(dict.fromkeys(missing))
                continue
            stack.pop()
            self.terms[top] = self.make(top)
        return self.terms[node]

    def make(self, node: Node) -> Term:
        """The term of ``node`` from its operands' (all written already)."""
        operands = [self.reference(x) for x in node.inputs]
        if node.op.control == "select" and len(node.op.branches) == 2:
            return self.select(node, operands)
        return apply(node, operands)

    @staticmethod
    def select(node: Node, operands: Sequence[Term]) -> Term:
        """``a if p else b`` for an op that runs ``branches[0]`` when input 0 is true, else
        ``branches[1]`` (``cond``): each branch's output written over the operands that
        feed its parameters (``params[i]`` is fed from input ``1 + slots[i]``)."""
        sides = []
        for branch in node.op.branches:
            inner = Writer()
            for param, slot in zip(branch.params, branch.slots):
                inner.terms[param] = operands[1 + slot]
            outs = [inner.term(o) for o in branch.outputs]
            side = outs[0] if len(outs) == 1 else atom(f"({', '.join(t.text for t in outs)},)")
            sides.append(wrap(side, COMPARISON))
        return Term(f"{sides[0]} if {wrap(operands[0], COMPARISON)} else {sides[1]}", LOOSE)


def _simplified(nodes: list[Node], simplify: bool) -> list[Node]:
    if not simplify:
        return nodes
    from graphad.compiler.pipeline import optimize_nodes

    return optimize_nodes(nodes)


def _outputs(outputs: Any) -> tuple[list[str | None], list[Node]]:
    """(labels, nodes) of a node, a sequence of nodes or a ``{label: node}`` mapping."""
    if isinstance(outputs, Node):
        return [None], [outputs]
    if isinstance(outputs, Mapping):
        items = list(outputs.items())
    elif isinstance(outputs, (list, tuple)):
        items = [(None, o) for o in outputs]
    else:
        raise GraphError(
            f"formula: expected a node, a list of nodes or a {{label: node}} dict, got "
            f"{type(outputs).__name__} ({user_location()})"
        )
    for label, node in items:
        if not isinstance(node, Node):
            raise GraphError(
                f"formula: expected nodes, got {type(node).__name__}"
                + (f" for {label!r}" if label is not None else "")
                + f" ({user_location()})"
            )
    return [None if k is None else str(k) for k, _ in items], [n for _, n in items]


class _Names:
    """Names for the values a formula names: the user's name of the node where it is free
    and reads as a Python name, else v1, v2, … (never one that Python reads as a name
    already used: ``ｘ`` is ``x`` to Python)."""

    def __init__(self, taken: Iterable[str]) -> None:
        self.used = {unicodedata.normalize("NFKC", t) for t in taken}
        self.count = 0

    def take(self, name: str) -> bool:
        """Take ``name`` if it is a Python name not used yet."""
        key = unicodedata.normalize("NFKC", name)
        if _IDENTIFIER.fullmatch(name) is None or key in self.used:
            return False
        self.used.add(key)
        return True

    def fresh(self, node: Node) -> str:
        if user_named(node) and self.take(node.name):
            return node.name
        while True:
            self.count += 1
            if self.take(f"v{self.count}"):
                return f"v{self.count}"


@dataclass(frozen=True)
class Line:
    """One line of a formula: ``name = text`` (``name`` None for an unlabelled output), and
    the node of the simplified graph that it computes."""

    name: str | None
    text: str
    node: Node
    named: bool  # a value named for the lines after it (v1 = ...), not an output


def formula_lines(
    outputs: Node | Sequence[Node] | Mapping[str, Node], simplify: bool = True
) -> list[Line]:
    """:func:`formula` as its lines, each with the node it computes (to be run for values)."""
    labels, nodes = _outputs(outputs)
    nodes = _simplified(nodes, simplify)
    order = topo_sort(nodes)
    uses: dict[Node, int] = {}
    for node in order:
        for x in node.inputs:
            uses[x] = uses.get(x, 0) + 1
    fetched: dict[Node, str | None] = {}
    for label, node in zip(labels, nodes):
        fetched.setdefault(node, label)
    names = _Names(n.name for n in order if isinstance(n.op, Placeholder))
    writer = Writer()
    lines = []
    said: set[Node] = set()  # outputs whose own line is the one that names them
    for node in order:
        term = writer.term(node)
        if not node.inputs:
            continue
        shared = uses.get(node, 0) + (node in fetched) >= 2 and len(term.text) >= SHORT
        if shared or (len(term.text) > LONG and node not in fetched):
            label = fetched.get(node)
            if label is not None and uses.get(node) and names.take(label):
                name = label  # f = ..., and the lines after it use f
                said.add(node)
            else:
                name = names.fresh(node)
            writer.names[node] = name
            lines.append(Line(name, term.text, node, node not in said))
    for label, node in zip(labels, nodes):
        if node not in said:
            lines.append(Line(label, writer.term(node).text, node, False))
    return lines


def formula(outputs: Node | Sequence[Node] | Mapping[str, Node], simplify: bool = True) -> str:
    """The expression ``outputs`` compute, in infix notation with NumPy's function names.

    ``outputs``: a node (the text ends with its expression), a list of nodes (one line
    each) or a ``{label: node}`` dict (lines ``label = expression``); values they share are
    named once, before the lines that use them.  ``simplify``: first rewrite the graph as
    ``ga.optimize`` does (the default), or write the nodes as they were built.

        x, y = ga.placeholder("x", shape=()), ga.placeholder("y", shape=())
        ga.formula(ga.gradients(ga.sin(x) * y, x))        # 'y*cos(x)'
    """
    lines = formula_lines(outputs, simplify)
    return "\n".join(
        line.text if line.name is None else f"{line.name} = {line.text}" for line in lines
    )
