"""Laws of shapes and dtypes: reshapes, broadcasts, sums and casts that change nothing,
chains of them that collapse into one, transposes that compose, and ops that are the
identity at run time."""

from __future__ import annotations

import numpy as np

from graphad.compiler.patterns import Uses, filled, rule, same, size, splat, static_type
from graphad.ir import Node, Op, known_shape
from graphad.ops import elementwise as ew
from graphad.ops import linalg as la
from graphad.ops import shape as sh
from graphad.ops.utility import Cast, StopGradient


# -- shape ops that change nothing -------------------------------------------------
@rule(sh.Reshape)
def reshape_to_same(node: Node, uses: Uses) -> Node | None:
    """reshape(x, x.shape) -> x"""
    match node.inputs:
        case (x,) if static_type(node) is not None and same(x, node):
            return x
    return None


@rule(sh.BroadcastTo)
def broadcast_to_same(node: Node, uses: Uses) -> Node | None:
    """broadcast_to(x, x.shape) -> x"""
    match node.inputs:
        case (x,) if static_type(node) is not None and same(x, node):
            return x
    return None


@rule(sh.SumTo)
def sum_to_same(node: Node, uses: Uses) -> Node | None:
    """sum_to(x, x.shape) -> x"""
    match node.inputs:
        case (x,) if static_type(node) is not None and same(x, node):
            return x
    return None


# -- chains of shape ops -------------------------------------------------------------
@rule(sh.Squeeze, operands=(sh.ExpandDims,))
def squeeze_of_expand(node: Node, uses: Uses) -> Node | None:
    """squeeze(expand_dims(x, a), a) -> x"""
    match node.inputs:
        case (Node(op=Op(sh.ExpandDims), inputs=(x,)),) if same(x, node):
            return x
    return None


@rule(sh.Squeeze, operands=(la.MatMul,))
def matrix_vector(node: Node, uses: Uses) -> Node | None:
    """squeeze(M @ expand_dims(v, -1), -1) -> M @ v   (a matrix-vector product, as NumPy's
    1-D matmul makes it: the vjp of a vector operand builds the column form)"""
    match node:
        case Node(
            op=sh.Squeeze(__class__=sh.Squeeze, axes=(-1,) | (1,)),
            inputs=(
                Node(
                    op=Op(la.MatMul),
                    inputs=(
                        m,
                        Node(
                            op=sh.ExpandDims(__class__=sh.ExpandDims, axes=(-1,) | (1,)),
                            inputs=(v,),
                        ),
                    ),
                ) as product,
            ),
        ) if m.ndim == 2 and v.ndim == 1 and product.ndim == 2:
            out = la.MatMul()(m, v)
            return out if out.type == node.type else None
    return None


@rule(sh.Reshape, sh.Squeeze, sh.ExpandDims, operands=(sh.Reshape, sh.ExpandDims, sh.Squeeze))
def reshape_of_reshape(node: Node, uses: Uses) -> Node | None:
    """reshape(reshape(x, s₁), s₂) -> reshape(x, s₂)   (expand_dims and squeeze, inside or
    outside, are reshapes too; x itself when s₂ is its shape)"""
    match node.inputs:
        case (Node(op=Op(sh.Reshape | sh.ExpandDims | sh.Squeeze), inputs=(x,)),) if (
            static_type(node) is not None and static_type(x) is not None
        ):
            return x if same(x, node) else sh.Reshape(node.shape)(x)
    return None


@rule(sh.BroadcastTo, operands=(sh.BroadcastTo,))
def broadcast_of_broadcast(node: Node, uses: Uses) -> Node | None:
    """broadcast_to(broadcast_to(x, s₁), s₂) -> broadcast_to(x, s₂)"""
    match node.inputs:
        case (Node(op=Op(sh.BroadcastTo), inputs=(x,)),) if static_type(node) is not None:
            return sh.BroadcastTo(node.shape)(x)
    return None


@rule(ew.Add, ew.Subtract, ew.Multiply, ew.Divide, ew.MultiplyNoNan, operands=(sh.BroadcastTo,))
def broadcast_operand(node: Node, uses: Uses) -> Node | None:
    """a ∘ broadcast_to(x, s) -> a ∘ x,  broadcast_to(x, s) ∘ a -> x ∘ a   when a has the
    result's type (NumPy's broadcasting makes the same operand, and the laws that move small
    factors see x's size; the values are the same; multiply_no_nan's zeros too, where the
    0 meets the inf or NaN entry by entry either way)"""
    for i in (0, 1):
        b, a = node.inputs[i], node.inputs[1 - i]
        match b:
            case Node(op=Op(sh.BroadcastTo), inputs=(x,)) if (
                static_type(node) is not None
                and same(a, node)
                and x.ndim is not None
                and x.ndim <= len(node.shape or ())
            ):
                return type(node.op)()(*((a, x) if i else (x, a)))
    return None


@rule(sh.SumTo)
def sum_of_splat(node: Node, uses: Uses) -> Node | None:
    """sum_to(broadcast_to(c, s), t) -> broadcast_to(c · |s|/|t|, t)   for a splat c
    (a sum of k equal terms is k·c up to rounding: the partial sums grow in one direction,
    so it overflows where k·c does; the sum of none is 0, even of an infinite c)"""
    match node.inputs:
        case (x,) if (c := splat(x)) is not None and x.dtype.kind in "fc":
            nx, n = size(x), size(node)
            if nx is None or n is None:
                return None
            count = nx // max(n, 1)
            return filled(np.multiply(c, count, dtype=x.dtype) if count else 0, node)
    return None


# -- transposes ------------------------------------------------------------------
@rule(sh.Transpose, operands=(sh.Transpose,))
def transpose_of_transpose(node: Node, uses: Uses) -> Node | None:
    """transpose(transpose(x, a), b) -> transpose(x, a∘b)   (x itself when a∘b is the
    identity)"""
    match node:
        case Node(
            op=sh.Transpose(__class__=sh.Transpose, axes=outer),
            inputs=(Node(op=sh.Transpose(__class__=sh.Transpose, axes=inner), inputs=(x,)),),
        ):
            composed = tuple(inner[i] for i in outer)
            return x if composed == tuple(range(len(composed))) else sh.Transpose(composed)(x)
    return None


@rule(sh.Transpose)
def identity_transpose(node: Node, uses: Uses) -> Node | None:
    """transpose(x, (0, 1, …)) -> x"""
    match node:
        case Node(op=sh.Transpose(__class__=sh.Transpose, axes=axes), inputs=(x,)) if axes == tuple(
            range(len(axes))
        ):
            return x
    return None


@rule(sh.Transpose)
def transpose_of_units(node: Node, uses: Uses) -> Node | None:
    """transpose(x, p) -> reshape(x, s)   when p moves only axes of length 1 (the others
    keep their order, so the elements keep theirs: the reshapes around it then merge)"""
    match node:
        case Node(op=sh.Transpose(__class__=sh.Transpose, axes=axes), inputs=(x,)) if (
            static_type(x) is not None
        ):
            kept = [a for a in axes if known_shape(x)[a] != 1]
            return sh.Reshape(node.shape)(x) if kept == sorted(kept) else None
    return None


# -- ops that are the identity at run time ---------------------------------------------
@rule(Cast)
def cast_to_same(node: Node, uses: Uses) -> Node | None:
    """cast(x, x.dtype) -> x"""
    match node.inputs:
        case (x,) if same(x, node):
            return x
    return None


@rule(StopGradient)
def stop_gradient_at_run_time(node: Node, uses: Uses) -> Node | None:
    """stop_gradient(x) -> x   (it only matters to the derivative passes, which ran already)"""
    match node.inputs:
        case (x,):
            return x
    return None
