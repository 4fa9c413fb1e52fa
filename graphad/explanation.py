"""``explain(y, xs)``: the reverse sweep written out, one line per adjoint, as in the notes.

    v̄₄ = 1
    v̄₃ = v̄₄·∂v₄/∂v₃ = v̄₄·v₂
    v̄₂ = v̄₂→₄ + v̄₂→₃

It reads the nodes that :func:`graphad.adjoints` built, so what it prints is
the graph ``gradients`` would run, not a separate derivation: each partial is
written as the expression its nodes compute, in terms of the named forward
nodes and the adjoints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from graphad.autodiff import Adjoints, adjoints
from graphad.ir import Constant, GraphError, Node, Placeholder, topo_sort, user_location
from graphad.runtime import evaluate
from graphad.viz.labels import Namer, is_auto_named, roles

# the chain rule's products and quotients have strong zeros (0·inf is 0): written as · and /
_INFIX = {
    "add": (" + ", 1),
    "subtract": (" - ", 1),
    "multiply": ("·", 2),
    "multiply_no_nan": ("·", 2),
    "divide": ("/", 2),
    "xdivy": ("/", 2),
}
_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_ATOM = 9
_DEFAULTS = (None, False, ())  # attributes not worth a word: sum(v₁), not sum(v₁, axis=None)


def _constant(node: Node) -> str:
    value = node.op.value  # type: ignore[attr-defined]
    if value.size and np.all(value == value.flat[0]):
        scalar = value.flat[0].item()
        text = f"{scalar:g}" if isinstance(scalar, float) else str(scalar)
        return text if value.ndim == 0 else f"{text}{list(value.shape)}"
    return f"constant{list(value.shape)}"


class _Writer:
    """Expressions of derivative nodes in terms of the nodes that have names."""

    def __init__(self, namer: Namer, forward: set[Node]) -> None:
        self.namer = namer
        self.forward = forward

    def named(self, node: Node) -> bool:
        return node in self.forward or node in self.namer.roles

    def write(self, node: Node, expand: bool = False) -> tuple[str, int]:
        """(text, precedence) of ``node``; named nodes are written by name unless ``expand``."""
        if isinstance(node.op, Constant) and node not in self.namer.roles and is_auto_named(node):
            return _constant(node), _ATOM
        if isinstance(node.op, Placeholder) or (self.named(node) and not expand):
            return self.namer.name(node), _ATOM
        if isinstance(node.op, Constant):
            return _constant(node), _ATOM
        op = node.op.name
        args = [self.write(x) for x in node.inputs]
        if op in _INFIX and len(args) == 2:
            symbol, level = _INFIX[op]
            left = self._wrap(args[0], level)
            right = self._wrap(args[1], level + (op in ("subtract", "divide")))
            return f"{left}{symbol}{right}", level
        if op == "add_n":
            return " + ".join(a for a, _ in args), 1
        if op == "negative":
            return f"-{self._wrap(args[0], 3)}", 3
        if op == "power" and isinstance(node.inputs[1].op, Constant):
            exponent = _constant(node.inputs[1])
            if exponent.lstrip("-").isdigit():
                return f"{self._wrap(args[0], _ATOM)}{exponent.translate(_SUPERSCRIPTS)}", 4
        if op == "transpose" and node.ndim == 2:
            return f"{self._wrap(args[0], _ATOM)}ᵀ", _ATOM
        attrs = [f"{k}={v!r}" for k, v in node.op.attributes().items() if v not in _DEFAULTS]
        return f"{op}({', '.join([*(a for a, _ in args), *attrs])})", _ATOM

    @staticmethod
    def _wrap(arg: tuple[str, int], level: int) -> str:
        text, own = arg
        return f"({text})" if own < level else text


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
    array = np.asarray(value)
    if array.ndim == 0:
        return f"{array.item():.6g}"
    with np.printoptions(precision=4, suppress=True):
        return np.array2string(array, separator=", ").replace("\n", "")


def explain(
    y: Node,
    xs: Node | Sequence[Node],
    values: Mapping[Any, Any] | None = None,
    grad_y: Any = None,
) -> str:
    """The reverse sweep from ``y`` to ``xs`` as text: the forward nodes, then one line per
    adjoint in the order the sweep makes them (``v̄₂ = v̄₂→₄ + v̄₂→₃``, each partial
    ``v̄₂→₄ = v̄₄·∂v₄/∂v₂ = …`` on its own line).  With ``values`` (a feed dict) every
    line ends with its number.

        print(explain(v4, x, values={x: 0.0}))
    """
    adj: Adjoints = adjoints(y, xs, grad_y)
    forward = topo_sort([y])
    namer = Namer(forward, roles(adj))
    writer = _Writer(namer, set(forward))
    sweep = list(reversed(list(adj)))  # y first, as the sweep visits them
    partials = [p for n in sweep for _, p in adj[n].partials]
    needed = [*forward, *partials, *(adj[n].total for n in sweep)]
    numbers = _values(list(dict.fromkeys(needed)), values)

    def line(left: str, *steps: str, node: Node) -> str:
        parts = [left, *dict.fromkeys(s for s in steps if s and s != left)]
        if node in numbers and not isinstance(node.op, Constant):
            parts.append(_number(numbers[node]))
        return " = ".join(parts)

    lines = ["forward:"]
    for node in forward:
        if node.inputs:
            body = writer.write(node, expand=True)[0]
            lines.append("  " + line(namer.name(node), body, node=node))
        elif node in numbers and isinstance(node.op, Placeholder):
            lines.append("  " + line(namer.name(node), node=node))
    lines.append("reverse:")
    if not sweep:
        lines.append(f"  {namer.name(y)} does not depend on the xs: every adjoint is zero")
    printed: dict[Node, str] = {}  # a node already written out is referred to by that name

    def rule(consumer: Node, node: Node) -> str:
        """``v̄₄·∂v₄/∂v₂``: the chain rule for the partial ``consumer`` sends ``node``."""
        sender = namer.adjoint(consumer, adj[consumer].total.origin.order)
        return f"{sender}·∂{namer.name(consumer)}/∂{namer.name(node)}"

    def body(partial: Node) -> str:
        return printed.get(partial) or writer.write(partial, expand=True)[0]

    for node in sweep:
        entry = adj[node]
        total = namer.adjoint(node, entry.total.origin.order)
        sent = [(c, p) for c, p in entry.partials if c is not None]
        if not sent:  # the seed
            seed = writer.write(entry.total, expand=True)[0]
            lines.append("  " + line(total, seed, node=entry.total))
            printed.setdefault(entry.total, total)
            continue
        if len(sent) == 1:
            consumer, partial = sent[0]
            lines.append("  " + line(total, rule(consumer, node), body(partial), node=entry.total))
            printed.setdefault(entry.total, total)
            continue
        names = [namer.partial(node, c, p.origin.order) for c, p in sent]
        if len({id(c) for c, _ in sent}) < len(sent):  # x·x: one consumer, two uses
            names = [f"{n}[{i}]" for i, n in enumerate(names)]
        lines.append("  " + line(total, " + ".join(names), node=entry.total))
        printed.setdefault(entry.total, total)
        for (consumer, partial), name in zip(sent, names):
            lines.append("    " + line(name, rule(consumer, node), body(partial), node=partial))
            printed.setdefault(partial, name)
    return "\n".join(lines)
