"""What the rewrite rules ask of a node: is it a known constant value, is it graphad's own op.

Rules match on exact op classes (``type(op) is Multiply``), never ``isinstance``: a law
holds for the op it was proved for, not for a user's subclass that may compute anything.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from graphad.ir import Constant, Node, TensorType, constant
from graphad.ops.shape import BroadcastTo
from graphad.ops.utility import OnesLike, ZerosLike

# a small constant is checked entry by entry for being one value everywhere; a large one
# would cost a pass over its memory per question, and derivative graphs splat scalars
_SPLAT_CHECK_LIMIT = 64


_uses: contextvars.ContextVar[Mapping[Node, int] | None] = contextvars.ContextVar(
    "graphad_rewrite_uses", default=None
)


@contextlib.contextmanager
def counting(uses: Mapping[Node, int]) -> Iterator[None]:
    """Let rules ask, within the block, how many consumers a node has (``uses``)."""
    token = _uses.set(uses)
    try:
        yield
    finally:
        _uses.reset(token)


def single_use(node: Node) -> bool:
    """Whether ``node`` has exactly one consumer in the graph being rewritten: a rule may
    then rebuild it in another form without the old one staying alive beside it."""
    uses = _uses.get()
    return uses is not None and uses.get(node, 0) == 1


def is_own(node: Node) -> bool:
    """Whether the node's op is one of graphad's own (pure, known) ops, not a user's."""
    return type(node.op).__module__.startswith("graphad.")


def splat(node: Node) -> Any:
    """The one value every entry of ``node`` has, known before it runs; else ``None``.

    Constants (small ones entry by entry), broadcasts of them, ``zeros_like`` and
    ``ones_like``.  NaN is never reported (it equals nothing, so no law may use it).
    """
    op = node.op
    cls = type(op)
    if cls is Constant:
        # rules ask this of one shared constant once per consumer, several times each:
        # answered once per constant (its value is read-only)
        found = op.__dict__.get("_splat", _UNKNOWN)
        if found is _UNKNOWN:
            found = _constant_splat(op.value)
            object.__setattr__(op, "_splat", found)
        return found
    if cls is BroadcastTo:
        return splat(node.inputs[0])
    if cls is ZerosLike or cls is OnesLike:
        return np.zeros((), node.dtype)[()] if cls is ZerosLike else np.ones((), node.dtype)[()]
    return None


_UNKNOWN = object()


def _constant_splat(v: np.ndarray) -> Any:
    if v.size == 0 or v.size > _SPLAT_CHECK_LIMIT:
        return None
    first = v.flat[0]
    if first != first or (v.size > 1 and not np.all(v == first)):
        return None
    return first


def is_splat(node: Node, value: float) -> bool:
    """Whether every entry of ``node`` is known to equal ``value``."""
    v = splat(node)
    return v is not None and bool(v == value)


def static_type(node: Node) -> TensorType | None:
    """The node's tensor type when its shape is fully known."""
    t = node.type
    return t if isinstance(t, TensorType) and t.is_static else None


def filled(value: Any, like: Node) -> Node:
    """``value`` everywhere in ``like``'s static shape and dtype: a scalar constant,
    broadcast (so a large splat costs one number of memory, not a whole array)."""
    t = static_type(like)
    assert t is not None
    one = constant(np.asarray(value, dtype=t.dtype))
    return BroadcastTo(t.shape)(one) if t.shape else one
