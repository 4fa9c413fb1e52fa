"""Common-subexpression elimination: two nodes with equal ops and the same inputs are one.

The key of a node is its op (a value: class and attributes; a constant by its bytes,
hashed once) and the identities of its inputs, which CSE has already made canonical
bottom-up.  For ops that declare themselves ``commutative`` the inputs are keyed as a
multiset, so ``a*b`` and ``b*a`` merge (IEEE addition and multiplication are commutative,
bit for bit; ``add_n`` of the same terms in another order agrees to rounding).
"""

from __future__ import annotations

import functools
from collections.abc import Hashable

from graphad.ir import Node, Placeholder


def cse_key(node: Node) -> Hashable | None:
    """What makes ``node`` equal to another, or ``None`` when it must stay distinct
    (placeholders; ops whose attributes cannot be hashed)."""
    op = node.op
    if type(op) is Placeholder:
        return None
    cls: type = type(op)  # (not type[Op]: mypy takes a class object for unhashable)
    ids = tuple([x.id for x in node.inputs])  # a list first: no generator per node
    if op.commutative:
        ids = tuple(sorted(ids))
    # an op without attributes equals every op of its class: key on the class, which
    # hashes in C, rather than on the op, whose dataclass __hash__ and __eq__ run Python
    return (cls, ids) if _stateless(cls) else (cls, op, ids)


@functools.cache
def _stateless(cls: type) -> bool:
    fields = getattr(cls, "__dataclass_fields__", None)
    eq: object = cls.__eq__  # the function, compared by identity with object's own
    return fields is not None and not fields and eq is not object.__eq__


def lookup(table: dict[Hashable, Node], node: Node) -> Node:
    """The first node seen with ``node``'s key (recording ``node`` if it is the first)."""
    key = cse_key(node)
    if key is None:
        return node
    try:
        return table.setdefault(key, node)
    except (TypeError, ValueError):  # attributes that cannot be hashed or compared (arrays)
        return node
