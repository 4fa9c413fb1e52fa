"""What a node is called in a drawing or a derivation: ``v₂``, ``v̄₂``, ``v̄₂→₄``, ``ẋ``, ``x̿``.

A node's name gives its label (``v2`` is written ``v₂``); a node left unnamed is
called ``v`` with its position in the drawing as subscript, never by its
process-wide id, so the same graph built again is labelled the same.  A
derivative node's label is derived from the node it belongs to: the adjoint
of ``v₂`` is ``v̄₂``, the partial adjoint that its consumer ``v₄`` sent is
``v̄₂→₄``, a tangent is ``v̇₂``; an adjoint of an adjoint is ``v̿₂``; what ``vmap``
made of ``v₂`` is ``v₂ᴮ``; a Jacobian is ``∂y/∂x`` and a Hessian ``∂²y/∂x²``.
Which node a derivative belongs to is a fact of the pass that made it (one node can
be ``v̄₃`` and ``v̄₂→₃`` at once), recorded on the node (``node.roles``); an
:class:`Adjoints` or a ``{node: derivative}`` mapping given to a drawing overrides it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from graphad.autodiff import Adjoints
from graphad.ir import Constant, GraphError, Node, Role, Term, topo_sort, user_location

BAR = "\u0304"  # combining macron: x̄
DOT = "\u0307"  # combining dot above: ẋ
DOUBLE_BAR = "\u033f"  # combining double overline: x̿, the adjoint of x̄
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_INDEXED = re.compile(r"^(?P<stem>[^\W\d_]+)_?(?P<index>\d+)$")
_MARKS = BAR + DOT + DOUBLE_BAR
_DIGITS = "₀₁₂₃₄₅₆₇₈₉"
BATCH = "ᴮ"  # what vmap made of a node: v₂ᴮ
ELLIPSIS = "…"
# roles in the order their labels are listed: the whole first (a Hessian, then the
# Jacobian it also is), the total before the partials it also is (v̄₃ = v̄₂→₃)
_RANK = {"hessian": 0, "jacobian": 1, "adjoint": 2, "tangent": 3, "batch": 4, "partial": 5}


def clip(text: str, width: int = 40) -> str:
    """``text`` cut to ``width`` characters, ending in … when cut: a label that fits its box."""
    return text if len(text) <= width else text[: width - 1] + ELLIPSIS


def subscript(digits: str | int) -> str:
    return str(digits).translate(_SUBSCRIPTS)


def is_auto_named(node: Node) -> bool:
    """Whether ``node`` kept the name graphad made up for it (``exp_12``: op and number),
    also after a rewrite rebuilt it (then the number is that of the node it replaces)."""
    return node._name is None or isinstance(node._name, int)


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
        if role not in known:
            known.append(role)

    for i, group in enumerate(groups):
        if isinstance(group, Adjoints):
            for node, adjoint in group.items():
                add(adjoint.total, Role("adjoint", node))
                for consumer, partial in adjoint.partials:
                    if consumer is not None:
                        add(partial, Role("partial", node, consumer))
        elif isinstance(group, Mapping):
            for node, derivative in group.items():
                if not isinstance(node, Node) or not isinstance(derivative, Node):
                    raise GraphError(
                        f"derivatives[{i}]: expected {{node: derivative node}}, got "
                        f"{type(node).__name__}: {type(derivative).__name__} ({user_location()})"
                    )
                kind = "tangent" if derivative.origin.kind == "forward" else "adjoint"
                add(derivative, Role(kind, node))
        else:
            raise GraphError(
                f"derivatives[{i}]: expected ga.adjoints(...) or a {{node: derivative}} dict, "
                f"got {type(group).__name__} ({user_location()})"
            )
    return {n: ranked(rs) for n, rs in found.items()}


def ranked(found: Iterable[Role]) -> list[Role]:
    """Roles in the order their labels are listed (the total first: v̄₃ = v̄₂→₃)."""
    return sorted(found, key=lambda r: _RANK.get(r.kind, len(_RANK)))


def _targets(role: Role) -> list[Node]:
    return [n for n in (role.of, role.consumer, role.wrt) if n is not None]


class Namer:
    """Labels for the nodes of one drawing or derivation (positions are local to it).

    A node's roles are those ``node_roles`` gives it, else those its pass recorded
    (``node.roles``; ``recorded=False`` ignores them).  Nodes the roles refer to that are
    not among ``order`` are numbered after it, so a label never depends on a process-wide
    id.  ``shown``: the nodes drawn, when not all of ``order`` (a summarised drawing): only
    their roles and their operands' are looked up.
    """

    def __init__(
        self,
        order: Iterable[Node],
        node_roles: Mapping[Node, list[Role]] | None = None,
        recorded: bool = True,
        shown: Iterable[Node] | None = None,
    ) -> None:
        nodes = list(order)
        given = {} if node_roles is None else node_roles
        found: dict[Node, list[Role]] = {}
        # roles refer to nodes, whose own roles refer to more: follow them all, once
        inside = set(nodes)
        extra = [n for n in given if n not in inside]  # numbered after the drawing's own
        if shown is None:
            asked = nodes
        else:  # the nodes drawn and their operands, named in the drawn nodes' labels
            wanted = set(shown)
            wanted.update(x for n in list(wanted) for x in n.inputs)
            asked = [n for n in nodes if n in wanted]
        stack = list(reversed([*asked, *extra]))
        seen = set(stack)
        while stack:
            node = stack.pop()
            own = given.get(node)
            if own is None and recorded and node.roles:
                own = ranked(node.roles)
            if own:
                found[node] = list(own)
            for role in own or ():
                for target in _targets(role):
                    if target not in seen:
                        seen.add(target)
                        extra.append(target)
                        stack.append(target)
        beyond = [n for n in topo_sort(extra) if n not in inside] if extra else []
        self.position = {n: i for i, n in enumerate([*nodes, *beyond])}
        self.roles: dict[Node, list[Role]] = found
        self._names: dict[Node, str] = {}
        self._taken = {pretty(n.name) for n in seen if not is_auto_named(n)}

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
            self._names[node] = self.role(found[0], node) if found else self.base(node)
        return self._names[node]

    def role(self, role: Role, node: Node | None = None) -> str:
        """The label of ``role`` played by ``node`` (whose order tells a second pass over
        the same graph apart: v̄₂⁽²⁾)."""
        order = role.of.origin.order + 1 if node is None else node.origin.order
        return self._label(role, order)

    def _label(self, role: Role, order: int) -> str:
        of = self.name(role.of)
        if role.kind in ("jacobian", "hessian"):
            wrt = "?" if role.wrt is None else self.name(role.wrt)
            return f"∂{of}/∂{wrt}" if role.kind == "jacobian" else f"∂²{of}/∂{wrt}²"
        if role.kind == "batch":
            return of + BATCH
        # a second pass over the forward graph makes v̄₂ again, of order 2: v̄₂⁽²⁾
        skip = order - role.of.origin.order > 1
        tag = f"⁽{str(order).translate(_SUPERSCRIPTS)}⁾" if skip else ""
        if role.kind == "tangent":
            return accent(of, DOT) + tag
        label = accent(of, BAR) + tag
        return sent_by(label, self.name(role.consumer)) if role.consumer is not None else label

    def adjoint(self, of: Node, order: int = 1) -> str:
        """``v̄₂``: the adjoint of ``of`` made at ``order`` (whatever else its node is called)."""
        return self._label(Role("adjoint", of), order)

    def partial(self, of: Node, consumer: Node, order: int = 1) -> str:
        """``v̄₂→₄``: the partial adjoint of ``of`` that ``consumer`` sent."""
        return self._label(Role("partial", of, consumer), order)

    def names(self, node: Node) -> list[str]:
        """Every name the node goes by (``v̄₃ = v̄₂→₃``): its roles', else its own."""
        found = self.roles.get(node)
        return [self.role(r, node) for r in found] if found else [self.base(node)]

    def term(self, node: Node) -> Term:
        """How ``node`` is written as an operand in another node's label: its name, or the
        value of a constant nobody named (``x + 1.0``, not ``x + v₃``) when it is short."""
        if isinstance(node.op, Constant) and is_auto_named(node) and node not in self.roles:
            term = node.op.notation(())
            if len(term.text) <= 12:
                return term
        return Term(self.name(node))

    def expression(self, node: Node) -> str:
        """What ``node`` computes, in its op's notation over its operands' names: ``x̄*cos(x)``."""
        return node.op.notation([self.term(x) for x in node.inputs]).text
