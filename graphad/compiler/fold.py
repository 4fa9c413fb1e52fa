"""Constant folding: an op of graphad's own whose inputs are all constants becomes a constant.

Folding reuses the op's ``compute``, so it cannot disagree with running the graph.  An
input may also be a constant broadcast to a static shape (a seed of ones, a scale): the
kernel gets the broadcast view, as it would at run time.  Folding is bounded: a result of
more than ``FOLD_LIMIT`` entries, or of more than the constants it is made from hold
(``SMALL`` at least), stays a node, so that a broadcast of a scalar is never turned into a
large array stored in the graph.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphad.compiler.patterns import is_own, static_type
from graphad.ir import Constant, Node, Placeholder, constant, static_shape
from graphad.ops.shape import BroadcastTo

FOLD_LIMIT = 1 << 16
SMALL = 64


def _known(x: Node) -> np.ndarray | None:
    """x's value when it is a constant, or a constant broadcast to a static shape."""
    op = x.op
    if type(op) is Constant:
        return op.value
    if type(op) is BroadcastTo:
        source = x.inputs[0].op
        if type(source) is Constant and static_type(x) is not None:
            return np.broadcast_to(source.value, static_shape(x))
    return None


def _stored(x: Node) -> int:
    """How many entries the constant behind x holds (one for a broadcast scalar)."""
    source = x.op if type(x.op) is Constant else x.inputs[0].op
    assert isinstance(source, Constant)  # x is a constant or a broadcast of one (_known)
    return int(source.value.size)


def fold(node: Node) -> Node | None:
    """op(c₁, …, cₙ) -> constant(op.compute(c₁, …, cₙ))   (graphad's ops, small results)"""
    with np.errstate(all="ignore"):
        return fold_on(node, node.inputs)


def fold_on(node: Node, inputs: tuple[Node, ...]) -> Node | None:
    """``node``'s op on ``inputs`` folded to a constant, or ``None``: the constant
    ``fold`` would make of ``node`` rebuilt on ``inputs``, without rebuilding it.

    The rewrite asks this of a node whose inputs it has just replaced, before rebuilding
    it, so that a chain of constant products (an adjoint chain's seed times one scale a
    step) does not make each product only to fold it away.  ``inputs`` must have the types
    of ``node``'s inputs (so that ``node.type`` is the result's); when one differs, or the
    op may not be folded, the answer is ``None`` and the caller rebuilds.  Floating-point
    warnings are the caller's to silence (one ``np.errstate`` for a whole pass, not one per
    node): the same overflow is met, and reported, when the graph runs."""
    if not inputs:
        return None
    values: list[Any] = []
    for x in inputs:  # most inputs are not constants: ask the first, then the rest
        v = _known(x)
        if v is None:
            return None
        values.append(v)
    for a, b in zip(inputs, node.inputs):
        if a.type is not b.type and a.type != b.type:
            return None
    t, n = static_type(node), node.size
    if t is None or n is None or n > FOLD_LIMIT or not is_own(node):
        return None
    if n > max(SMALL, *(_stored(x) for x in inputs)):
        return None
    if isinstance(node.op, (Placeholder, Constant)) or node.op.branches:
        return None  # an op with sub-graphs is rewritten inside, not run here
    try:
        value = node.op.compute(*values)
    except Exception:  # the same error will be raised, and reported, when the graph runs
        return None
    if not isinstance(value, (np.ndarray, np.generic, int, float, complex, bool)):
        return None
    array = np.asarray(value)
    if array.shape != t.shape or not np.can_cast(array.dtype, t.dtype, "same_kind"):
        return None
    return constant(array.astype(t.dtype, copy=False))
