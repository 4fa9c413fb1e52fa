"""Constant folding: an op of graphad's own whose inputs are all constants becomes a constant.

Folding reuses the op's ``compute``, so it cannot disagree with running the graph.  It is
bounded: a result of more than ``FOLD_LIMIT`` entries stays a node, so that a broadcast
of a scalar is never turned into a large array stored in the graph.
"""

from __future__ import annotations

import numpy as np

from graphad.compiler.patterns import is_own, static_type
from graphad.ir import Constant, Node, Placeholder, constant

FOLD_LIMIT = 1 << 16
SMALL = 64


def fold(node: Node) -> Node | None:
    """op(c₁, …, cₙ) -> constant(op.compute(c₁, …, cₙ))   (graphad's ops, small results)"""
    inputs = node.inputs
    if not inputs or type(inputs[0].op) is not Constant:
        return None
    if not all(type(x.op) is Constant for x in inputs):
        return None
    t = static_type(node)
    if t is None or t.size > FOLD_LIMIT or not is_own(node):  # type: ignore[operator]
        return None
    if t.size > max(SMALL, *(x.op.value.size for x in node.inputs)):  # type: ignore[operator]
        return None
    if isinstance(node.op, (Placeholder, Constant)) or node.op.branches:
        return None  # an op with sub-graphs is rewritten inside, not run here
    try:
        with np.errstate(all="ignore"):
            value = node.op.compute(*(x.op.value for x in node.inputs))
    except Exception:  # the same error will be raised, and reported, when the graph runs
        return None
    if not isinstance(value, (np.ndarray, np.generic, int, float, complex, bool)):
        return None
    array = np.asarray(value)
    if array.shape != t.shape or not np.can_cast(array.dtype, t.dtype, "same_kind"):
        return None
    return constant(array.astype(t.dtype, copy=False))
