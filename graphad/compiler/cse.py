"""Common-subexpression elimination: two nodes with equal ops and the same inputs are one.

The key of a node is its op (a value: class and attributes; a constant by its bytes,
hashed once) and the identities of its inputs, which CSE has already made canonical
bottom-up.  For commutative ops the inputs are keyed as a multiset, so ``a*b`` and
``b*a`` merge (IEEE addition and multiplication are commutative, bit for bit).
"""

from __future__ import annotations

from collections.abc import Hashable

from graphad.ir import Node, Placeholder
from graphad.ops.elementwise import Add, Multiply, MultiplyNoNan
from graphad.ops.selection import Maximum, Minimum

COMMUTATIVE = frozenset({Add, Multiply, MultiplyNoNan, Maximum, Minimum})


def cse_key(node: Node) -> Hashable | None:
    """What makes ``node`` equal to another, or ``None`` when it must stay distinct
    (placeholders; ops whose attributes cannot be hashed)."""
    op = node.op
    if type(op) is Placeholder:
        return None
    ids = tuple(x.id for x in node.inputs)
    if type(op) in COMMUTATIVE:
        ids = tuple(sorted(ids))
    return (type(op), op, ids)


def lookup(table: dict[Hashable, Node], node: Node) -> Node:
    """The first node seen with ``node``'s key (recording ``node`` if it is the first)."""
    key = cse_key(node)
    if key is None:
        return node
    try:
        return table.setdefault(key, node)
    except (TypeError, ValueError):  # attributes that cannot be hashed or compared (arrays)
        return node
