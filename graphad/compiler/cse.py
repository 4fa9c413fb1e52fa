"""Common-subexpression elimination: two nodes with equal ops and the same inputs are one.

The key of a node is its op (a value: class and attributes; a constant by its bytes,
hashed once) and the identities of its inputs, which CSE has already made canonical
bottom-up.  For ops that declare themselves ``commutative`` the two inputs of a node are
keyed as a set, so ``a*b`` and ``b*a`` merge (IEEE addition and multiplication are
commutative, bit for bit).  More inputs are keyed as a multiset only under ``fast_math``:
``add_n`` sums from the left, and the same terms in another order are another
association, which rounds differently and can overflow where the other does not
(1e308 + 1e308 - 1e308 is inf, -1e308 + 1e308 + 1e308 is 1e308).
"""

from __future__ import annotations

import functools
from collections.abc import Hashable

from graphad.ir import Node, Placeholder


def cse_key(node: Node, fast_math: bool = False) -> Hashable | None:
    """What makes ``node`` equal to another, or ``None`` when it must stay distinct
    (placeholders; ops whose attributes cannot be hashed)."""
    op = node.op
    if type(op) is Placeholder:
        return None
    cls: type = type(op)  # (not type[Op]: mypy takes a class object for unhashable)
    ids = tuple([x.id for x in node.inputs])  # a list first: no generator per node
    if op.commutative and (len(ids) == 2 or fast_math):
        ids = tuple(sorted(ids))
    # an op without attributes equals every op of its class: key on the class, which
    # hashes in C, rather than on the op, whose dataclass __hash__ and __eq__ run Python
    return (cls, ids) if _stateless(cls) else (cls, op, ids)


@functools.cache
def _stateless(cls: type) -> bool:
    fields = getattr(cls, "__dataclass_fields__", None)
    eq: object = cls.__eq__  # the function, compared by identity with object's own
    return fields is not None and not fields and eq is not object.__eq__


def lookup(table: dict[Hashable, Node], node: Node, fast_math: bool = False) -> Node:
    """The first node seen with ``node``'s key (recording ``node`` if it is the first)."""
    key = cse_key(node, fast_math)
    if key is None:
        return node
    try:
        return table.setdefault(key, node)
    except (TypeError, ValueError):  # attributes that cannot be hashed or compared (arrays)
        return node
