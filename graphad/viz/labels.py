"""What a node is called in a drawing or a derivation: ``v₂``, ``v̄₂``, ``v̄₂→₄``, ``ẋ``, ``x̿``.

A node's name gives its label (``v2`` is written ``v₂``); a node left unnamed is
called ``v`` with its position in the drawing as subscript, never by its
process-wide id, so the same graph built again is labelled the same.  A
derivative node's label is derived from the node it belongs to: the adjoint
of ``v₂`` is ``v̄₂``, the partial adjoint that its consumer ``v₄`` sent is
``v̄₂→₄``, a tangent is ``v̇₂``; an adjoint of an adjoint is ``v̿₂``.  Which
node a derivative belongs to is a fact of the pass that made it (one node can
be ``v̄₃`` and ``v̄₂→₃`` at once), so the roles come from an :class:`Adjoints`
or a ``{node: derivative}`` mapping, not from the node.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphad.autodiff import Adjoints
from graphad.ir import GraphError, Node, user_location

BAR = "\u0304"  # combining macron: x̄
DOT = "\u0307"  # combining dot above: ẋ
DOUBLE_BAR = "\u033f"  # combining double overline: x̿, the adjoint of x̄
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_INDEXED = re.compile(r"^(?P<stem>[^\W\d_]+)_?(?P<index>\d+)$")
_MARKS = BAR + DOT + DOUBLE_BAR
_DIGITS = "₀₁₂₃₄₅₆₇₈₉"


def subscript(digits: str | int) -> str:
    return str(digits).translate(_SUBSCRIPTS)


def is_auto_named(node: Node) -> bool:
    """Whether ``node`` kept the name graphad made up for it (``exp_12``: op and id)."""
    return node.name == f"{node.op.name}_{node.id}"


def pretty(name: str) -> str:
    """``v2`` and ``v_2`` are written ``v₂``; other names as they are."""
    m = _INDEXED.match(name)
    return m["stem"] + subscript(m["index"]) if m else name


def _split(label: str) -> tuple[str, str]:
    """``v̄₂→₄`` → (``v̄``, ``₂→₄``): the leading stem with its accents, and the rest."""
    i = 0
    while i < len(label) and label[i] not in _DIGITS + "→[":
        i += 1
    return label[:i], label[i:]


def accent(label: str, mark: str) -> str:
    """``label`` with ``mark`` over its stem: ``v₂`` → ``v̄₂``, ``x̄`` → ``x̿`` (a double
    bar), and the adjoint of the partial ``v̄₂→₄`` is ``v̿₂→₄``."""
    stem, rest = _split(label)
    if mark == BAR and stem.endswith(BAR) and not stem.endswith(BAR + BAR):
        return stem[:-1] + DOUBLE_BAR + rest  # one glyph: stacked macrons overprint
    return stem + mark + rest


def sent_by(label: str, consumer: str) -> str:
    """The partial ``v̄₂→₄``: ``→₄`` when the consumer ``v₄`` shares the stem, else ``→name``."""
    stem, _ = _split(label)
    other_stem, other_index = _split(consumer)
    plain_index = other_index and all(c in _DIGITS for c in other_index)
    if plain_index and other_stem == stem.rstrip(_MARKS):
        return f"{label}→{other_index}"
    return f"{label}→{consumer}"


@dataclass(frozen=True, eq=False)
class Role:
    """What a derivative node is: the ``adjoint`` or ``tangent`` of ``of``, or the
    ``partial`` adjoint of ``of`` sent by ``consumer``."""

    kind: str
    of: Node
    consumer: Node | None = None
    order: int = 1  # the derivative order of the node that plays the role

    def key(self) -> tuple[str, int, int | None]:
        # by identity: Node.__eq__ builds an ``equal`` node, as in NumPy
        return (self.kind, id(self.of), None if self.consumer is None else id(self.consumer))


Derivatives = Adjoints | Mapping[Node, Node]


def roles(derivatives: Derivatives | Sequence[Derivatives] | None) -> dict[Node, list[Role]]:
    """Every derivative node's roles, from adjoints (totals and partials) and mappings
    ``{node: derivative}`` (an adjoint when reverse mode made it, else a tangent)."""
    if derivatives is None:
        return {}
    groups = [derivatives] if isinstance(derivatives, Mapping) else list(derivatives)
    found: dict[Node, list[Role]] = {}

    def add(node: Any, role: Role) -> None:
        known = found.setdefault(node, [])
        if all(r.key() != role.key() for r in known):
            known.append(role)

    for i, group in enumerate(groups):
        if isinstance(group, Adjoints):
            for node, adjoint in group.items():
                total = adjoint.total
                add(total, Role("adjoint", node, None, total.origin.order))
                for consumer, partial in adjoint.partials:
                    if consumer is not None:
                        add(partial, Role("partial", node, consumer, partial.origin.order))
        elif isinstance(group, Mapping):
            for node, derivative in group.items():
                if not isinstance(node, Node) or not isinstance(derivative, Node):
                    raise GraphError(
                        f"derivatives[{i}]: expected {{node: derivative node}}, got "
                        f"{type(node).__name__}: {type(derivative).__name__} ({user_location()})"
                    )
                kind = "tangent" if derivative.origin.kind == "forward" else "adjoint"
                add(derivative, Role(kind, node, None, derivative.origin.order))
        else:
            raise GraphError(
                f"derivatives[{i}]: expected ga.adjoints(...) or a {{node: derivative}} dict, "
                f"got {type(group).__name__} ({user_location()})"
            )
    rank = {"adjoint": 0, "tangent": 1, "partial": 2}  # the total first: v̄₃ = v̄₃→₄
    return {n: sorted(rs, key=lambda r: rank[r.kind]) for n, rs in found.items()}


class Namer:
    """Labels for the nodes of one drawing or derivation (positions are local to it)."""

    def __init__(self, order: Iterable[Node], node_roles: Mapping[Node, list[Role]]) -> None:
        self.position = {n: i for i, n in enumerate(order)}
        self.roles = node_roles
        self._names: dict[Node, str] = {}
        named = [*self.position, *(r.of for rs in node_roles.values() for r in rs)]
        self._taken = {pretty(n.name) for n in named if not is_auto_named(n)}

    def base(self, node: Node) -> str:
        """The node's own name: ``v₂`` for ``v2``; ``v₇`` (position 7) when it has none, or
        ``exp₇`` where a node the user named is already called ``v₇``."""
        if not is_auto_named(node):
            return pretty(node.name)
        index = subscript(self.position.get(node, node.id))
        return "v" + index if "v" + index not in self._taken else node.op.name + index

    def name(self, node: Node) -> str:
        """The first role's label for a derivative node, else its own name."""
        if node not in self._names:
            found = self.roles.get(node)
            self._names[node] = self.role(found[0]) if found else self.base(node)
        return self._names[node]

    def role(self, role: Role) -> str:
        of = self.name(role.of)
        # a second pass over the forward graph makes v̄₂ again, of order 2: v̄₂⁽²⁾
        skip = role.order - role.of.origin.order > 1
        tag = f"⁽{str(role.order).translate(_SUPERSCRIPTS)}⁾" if skip else ""
        if role.kind == "tangent":
            return accent(of, DOT) + tag
        label = accent(of, BAR) + tag
        return sent_by(label, self.name(role.consumer)) if role.consumer is not None else label

    def adjoint(self, of: Node, order: int = 1) -> str:
        """``v̄₂``: the adjoint of ``of`` made at ``order`` (whatever else its node is called)."""
        return self.role(Role("adjoint", of, None, order))

    def partial(self, of: Node, consumer: Node, order: int = 1) -> str:
        """``v̄₂→₄``: the partial adjoint of ``of`` that ``consumer`` sent."""
        return self.role(Role("partial", of, consumer, order))

    def names(self, node: Node) -> list[str]:
        """Every name the node goes by (``v̄₃ = v̄₂→₃``): its roles', else its own."""
        found = self.roles.get(node)
        return [self.role(r) for r in found] if found else [self.base(node)]
