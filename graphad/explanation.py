"""``explain(y, xs)``: the reverse sweep written out, one line per adjoint, as in the notes.

    forward:
      v₂ = exp(x)
      v₃ = v₂ + 1.0
      v₄ = v₂*v₃
    reverse:
      v̄₄ = 1.0
      v̄₃ = v̄₄·∂v₄/∂v₃ = v̄₄*v₂
      v̄₂→₄ = v̄₄·∂v₄/∂v₂ = v̄₄*v₃
      v̄₂→₃ = v̄₃·∂v₃/∂v₂ = v̄₃
      v̄₂ = v̄₂→₄ + v̄₂→₃
      x̄ = v̄₂·∂v₂/∂x = v̄₂*v₂

It reads the nodes that :func:`graphad.adjoints` built, so what it prints is the graph
``gradients`` would run, not a separate derivation.  Each value is written in
:func:`graphad.formula`'s notation (each op's own, never an internal op's name: a
strong-zero product reads ``*``) in terms of the values named before it: the forward values
``v₁, v₂, …`` (numbered in the order they are listed, or the user's names) and the adjoints.
The lines follow the sweep, from y's seed down to the xs, except that a value is always
defined before a line uses it: the partials of a value come before their sum, and where
one rule built two partials from one shared quotient (a division's), the one the other
uses comes first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphad.autodiff import Adjoints, adjoints
from graphad.formulas import Writer
from graphad.ir import Constant, GraphError, Node, Placeholder, topo_sort, user_location
from graphad.runtime import evaluate
from graphad.viz.labels import Namer, Role, is_auto_named, pretty, roles, subscript


class _SweepNamer(Namer):
    """The drawing's names, with the forward values numbered v₁, v₂, … in the order they
    are listed (placeholders and constants take no number), skipping numbers the user's
    names take."""

    def __init__(self, listed: Sequence[Node], node_roles: Mapping[Node, list[Role]]) -> None:
        super().__init__(listed, node_roles)
        self.numbers: dict[Node, str] = {}
        count = 0
        for node in listed:
            if is_auto_named(node):
                count += 1
                while f"v{subscript(count)}" in self._taken:
                    count += 1
                self.numbers[node] = f"v{subscript(count)}"

    def base(self, node: Node) -> str:
        if node in self.numbers:
            return self.numbers[node]
        return pretty(node.name) if not is_auto_named(node) else super().base(node)


@dataclass
class _Line:
    """One line of the reverse section: ``defines`` is written ``name = steps…``; ``uses``
    are the values (other than ``defines``) its text refers to, ``body`` the node whose
    expression ends the line (or None: the steps say it all)."""

    defines: Node
    name: str
    steps: list[str]
    body: Node | None
    indent: str = "  "
    uses: list[Node] = field(default_factory=list)


def _values(nodes: list[Node], values: Mapping[Any, Any] | None) -> dict[Node, Any]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise GraphError(
            f"explain: values must be a feed dict {{placeholder or name: value}}, got "
            f"{type(values).__name__} ({user_location()})"
        )
    return dict(zip(nodes, evaluate(nodes, values)))


def _number(value: Any) -> str:
    if isinstance(value, tuple):  # a structure's value (a loop's, a cond's): entry by entry
        return "(" + ", ".join("∅" if v is None else _number(v) for v in value) + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_number(v)}" for k, v in value.items()) + "}"
    array = np.asarray(value)
    if array.ndim == 0:
        return f"{array.item():.6g}"
    with np.printoptions(precision=4, suppress=True):
        return np.array2string(array, separator=", ").replace("\n", "")


def _named_inputs(node: Node, named: set[Node]) -> list[Node]:
    """The named nodes ``node``'s expression refers to: reached from its inputs through
    nodes without a name."""
    found: dict[Node, None] = {}
    seen: set[Node] = set()
    stack = list(node.inputs)
    while stack:
        x = stack.pop()
        if x in seen:
            continue
        seen.add(x)
        if x in named:
            found[x] = None
        else:
            stack.extend(x.inputs)
    return list(found)


def _plan(adj: Adjoints, namer: Namer, sweep: list[Node]) -> list[_Line]:
    """The reverse section's lines in sweep order, before reordering."""
    lines: list[_Line] = []

    def rule(consumer: Node, node: Node) -> str:
        """``v̄₄·∂v₄/∂v₂``: the chain rule for the partial ``consumer`` sends ``node``."""
        sender = namer.adjoint(consumer, adj[consumer].total.origin.order)
        return f"{sender}·∂{namer.name(consumer)}/∂{namer.name(node)}"

    for node in sweep:
        entry = adj[node]
        total = namer.adjoint(node, entry.total.origin.order)
        sent = [(c, p) for c, p in entry.partials if c is not None]
        if not sent:  # the seed
            lines.append(_Line(entry.total, total, [], entry.total))
        elif len(sent) == 1:
            consumer, _ = sent[0]
            lines.append(_Line(entry.total, total, [rule(consumer, node)], entry.total))
        else:
            names = [namer.partial(node, c, p.origin.order) for c, p in sent]
            if len({id(c) for c, _ in sent}) < len(sent):  # x·x: one consumer, two uses
                names = [f"{n}[{i}]" for i, n in enumerate(names)]
            for (consumer, partial), name in zip(sent, names):
                lines.append(_Line(partial, name, [rule(consumer, node)], partial, "    "))
            parts = [p for _, p in sent]
            lines.append(_Line(entry.total, total, [" + ".join(names)], None, uses=parts))
    return lines


def _in_order(lines: list[_Line], forward: set[Node]) -> list[_Line]:
    """``lines`` with each moved up just before the first line that uses what it defines
    (depth first, without recursion): every name is defined before it is used."""
    defining: dict[Node, _Line] = {}
    for line in lines:
        defining.setdefault(line.defines, line)
    named = set(defining) | forward
    for line in lines:
        if line.body is not None:
            line.uses = [n for n in _named_inputs(line.body, named) if n not in forward]
    done: set[int] = set()
    out: list[_Line] = []
    for first in lines:
        stack = [first]
        while stack:
            line = stack[-1]
            if id(line) in done:
                stack.pop()
                continue
            waiting = [
                defining[n]
                for n in line.uses
                if n in defining and id(defining[n]) not in done and defining[n] is not line
            ]
            if waiting:
                stack.append(waiting[0])
                continue
            stack.pop()
            done.add(id(line))
            out.append(line)
    return out


def explain(
    y: Node,
    xs: Node | Sequence[Node],
    values: Mapping[Any, Any] | None = None,
    grad_y: Any = None,
) -> str:
    """The reverse sweep from ``y`` to ``xs`` as text: the forward values, then one line per
    adjoint, from y's seed to the xs, each value defined before it is used (the partials
    ``v̄₂→₄ = v̄₄·∂v₄/∂v₂ = …`` before their sum ``v̄₂ = v̄₂→₄ + v̄₂→₃``), each written in
    :func:`graphad.formula`'s notation.  With ``values`` (a feed dict) every line ends
    with its number.

        print(explain(v4, x, values={x: 0.0}))
    """
    adj: Adjoints = adjoints(y, xs, grad_y)
    forward = topo_sort([y])
    listed = [n for n in forward if n.inputs]
    namer = _SweepNamer(listed, roles(adj))
    sweep = list(reversed(list(adj)))  # y first, as the sweep visits them
    partials = [p for n in sweep for _, p in adj[n].partials]
    needed = [*forward, *partials, *(adj[n].total for n in sweep)]
    numbers = _values(list(dict.fromkeys(needed)), values)

    def line(left: str, *steps: str, node: Node) -> str:
        parts = [left, *dict.fromkeys(s for s in steps if s and s != left)]
        if node in numbers and not isinstance(node.op, Constant):
            parts.append(_number(numbers[node]))
        return " = ".join(parts)

    # every forward value goes by its name; constants are written where they are used
    printed: dict[Node, str] = {n: namer.name(n) for n in forward if not isinstance(n.op, Constant)}
    writer = Writer(printed)
    text = ["forward:"]
    for node in forward:
        if node.inputs:
            body = writer.term(node, expand=True).text
            text.append("  " + line(printed[node], body, node=node))
        elif node in numbers and isinstance(node.op, Placeholder):
            text.append("  " + line(printed[node], node=node))
    text.append("reverse:")
    if not sweep:
        text.append(f"  {namer.name(y)} does not depend on the xs: every adjoint is zero")
    plan = _plan(adj, namer, sweep)
    for entry in _in_order(plan, set(forward)):
        if entry.body is None:  # a sum of partials, written by their lines' names
            body = ""
        elif entry.body in printed:
            body = printed[entry.body]
        else:
            body = writer.term(entry.body, expand=True).text
        text.append(entry.indent + line(entry.name, *entry.steps, body, node=entry.defines))
        printed.setdefault(entry.defines, entry.name)
    return "\n".join(text)
