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
    values = [x.op.value for x in inputs if isinstance(x.op, Constant)]
    if len(values) < len(inputs):
        return None
    t, n = static_type(node), node.size
    if t is None or n is None or n > FOLD_LIMIT or not is_own(node):
        return None
    if n > max(SMALL, *(v.size for v in values)):
        return None
    if isinstance(node.op, (Placeholder, Constant)) or node.op.branches:
        return None  # an op with sub-graphs is rewritten inside, not run here
    try:
        with np.errstate(all="ignore"):
            value = node.op.compute(*values)
    except Exception:  # the same error will be raised, and reported, when the graph runs
        return None
    if not isinstance(value, (np.ndarray, np.generic, int, float, complex, bool)):
        return None
    array = np.asarray(value)
    if array.shape != t.shape or not np.can_cast(array.dtype, t.dtype, "same_kind"):
        return None
    return constant(array.astype(t.dtype, copy=False))
