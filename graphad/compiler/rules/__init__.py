"""Algebraic simplification: the laws of the rewrite stage, one module per family.

Each law is a :class:`~graphad.compiler.patterns.Rule`: a function ``(node, uses) ->
Node | None`` with its law as docstring, made a rule, with the op classes it applies to,
where it is defined.  A rule returns the node that replaces ``node`` (an existing one or
new graph) or ``None`` when its law does not apply.  No rule changes a value beyond
floating-point rounding and the sign of a zero (``-0.0 + 0.0`` is ``+0.0`` in IEEE, so
``x + 0 -> x`` may turn a ``+0.0`` into the ``-0.0`` that x held): none turns a finite value
into inf or NaN or back.  A law that would, for some values, because it reassociates or
factors floating-point arithmetic, is a ``fast_math`` rule: tried on float nodes only under
that opt-in (on integer nodes always).  A rule that would change a shape or dtype (``x * 1``
where the 1 broadcasts x, or casts it) does not fire.

The families, in the order their rules are tried (within one, in the order defined):

- :mod:`.constants`: operands known to be one value everywhere, static shapes;
- :mod:`.sums`: add, subtract, negative and add_n;
- :mod:`.products`: multiply, divide, the strong-zero products and powers;
- :mod:`.shapes`: reshapes, broadcasts, sums to a shape, transposes, casts;
- :mod:`.loops`: work moved across a loop's boundary (loop-invariant values hoisted).

Nothing is registered when they are imported: :func:`all_rules` reads the modules when a
rewrite asks.
"""

from __future__ import annotations

from graphad.compiler.patterns import Rule
from graphad.compiler.rules import constants, loops, products, shapes, sums
from graphad.ir import Node

FAMILIES = (constants, sums, products, shapes, loops)


def all_rules() -> tuple[Rule, ...]:
    """Every rule the family modules define, in the order they are tried."""
    return tuple(
        r
        for module in FAMILIES
        for r in vars(module).values()
        if isinstance(r, Rule) and r.apply.__module__ == module.__name__
    )


def rules_for(cls: type, rules: tuple[Rule, ...] | None = None) -> tuple[Rule, ...]:
    """The rules of op class ``cls`` (of ``rules``, default all), in order: those stated
    for exactly that class, and for graphad's own ops of a family it is in."""
    return tuple(r for r in (all_rules() if rules is None else rules) if r.applies_to(cls))


def rules_tried_on(node: Node, rules: tuple[Rule, ...] | None = None) -> tuple[Rule, ...]:
    """The rules tried on ``node``, in order: its op class's, less those that ask for an
    operand class none of its inputs has."""
    operands = [type(x.op) for x in node.inputs]
    found = all_rules() if rules is None else rules
    return tuple(r for r in found if r.tried_on(type(node.op), operands))
