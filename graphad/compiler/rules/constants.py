"""Laws on values known before the run: operands that are one value everywhere (splats),
and shapes known statically."""

from __future__ import annotations

import numpy as np

from graphad.compiler.patterns import Uses, filled, is_own, rule, splat, static_type
from graphad.ir import Node, constant
from graphad.ops._ufunc import Binary, Unary
from graphad.ops.utility import OnesLike, ShapeOf, ZerosLike


@rule(Unary, Binary, family=True)
def splat_arithmetic(node: Node, uses: Uses) -> Node | None:
    """f(c₁, c₂) -> c   where every entry of each operand is one known value
    (sums and products of constants, broadcast or not; graphad's elementwise ops only)"""
    values = []
    for x in node.inputs:  # most operands are not splats: ask that first, it is cheapest
        v = splat(x)
        if v is None:
            return None
        values.append(v)
    if static_type(node) is None or not is_own(node):
        return None
    try:
        with np.errstate(all="ignore"):
            value = node.op.compute(*(np.asarray(v, x.dtype) for v, x in zip(values, node.inputs)))
    except Exception:  # left for the run, which reports it with the node and the line
        return None
    return filled(np.asarray(value).astype(node.dtype), node)


@rule(ZerosLike)
def zeros_like_static(node: Node, uses: Uses) -> Node | None:
    """zeros_like(x) -> 0   broadcast to x's static shape (x is not needed)"""
    return None if static_type(node) is None else filled(0, node)


@rule(OnesLike)
def ones_like_static(node: Node, uses: Uses) -> Node | None:
    """ones_like(x) -> 1   broadcast to x's static shape (x is not needed)"""
    return None if static_type(node) is None else filled(1, node)


@rule(ShapeOf)
def shape_of_static(node: Node, uses: Uses) -> Node | None:
    """shape_of(x) -> constant(x.shape)   when x's shape is static"""
    match node.inputs:
        case (x,) if (t := static_type(x)) is not None:
            return constant(np.asarray(t.shape, dtype=np.int64).reshape(-1))
    return None
