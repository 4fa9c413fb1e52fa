"""Laws of products and quotients: factors of one, minus one and zero, the strong-zero
products (``multiply_no_nan``, ``xdivy``), scales that combine, negations that rise out
of products, small powers, and small factors multiplied before a large one.

Negation is exact in IEEE arithmetic, and rounding is symmetric, so negations move freely.
Reassociating products is not exact: ``(x·1e300)·1e-300`` is inf at x = 1e10 where
``x·(1e300·1e-300)`` is 1e10.  Scales combine only when their product is exact and both
scale the same way (|c| ≥ 1, or ≤ 1); other reassociations are ``fast_math`` laws.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from graphad.compiler.patterns import (
    Uses,
    filled,
    is_splat,
    keeps,
    rule,
    same,
    single_use,
    smaller,
    splat,
    static_type,
)
from graphad.ir import Constant, Node, Op, constant
from graphad.ops import elementwise as ew


def _zero_of(c: Node, node: Node) -> bool:
    """c is 0 everywhere, and node's shape is static."""
    return is_splat(c, 0) and static_type(node) is not None


def _finite_nonzero(node: Node) -> bool:
    v = splat(node)
    return v is not None and bool(np.isfinite(v) and v != 0)


# -- factors of zero and one -----------------------------------------------------
@rule(ew.Xdivy)
def xdivy_of_zero(node: Node, uses: Uses) -> Node | None:
    """xdivy(0, y) -> 0   (exact: it is the op's law)"""
    match node.inputs:
        case (c, _) if is_splat(c, 0) and static_type(node) is not None:
            return filled(0, node)
    return None


@rule(ew.MultiplyNoNan)
def mul_no_nan_by_zero(node: Node, uses: Uses) -> Node | None:
    """multiply_no_nan(x, 0) -> 0,  multiply_no_nan(0, x) -> 0   (exact: it is the op's law)"""
    match node.inputs:
        case (a, b) if (is_splat(a, 0) or is_splat(b, 0)) and static_type(node) is not None:
            return filled(0, node)
    return None


@rule(ew.Multiply, ew.MultiplyNoNan)
def mul_by_one(node: Node, uses: Uses) -> Node | None:
    """x * 1 -> x,  1 * x -> x   (not when the 1 broadcasts or casts x; for
    multiply_no_nan too, as x·1 is 0 exactly where x is)"""
    match node.inputs:
        case (x, c) if is_splat(c, 1) and keeps(x, c, node):
            return x
        case (c, x) if is_splat(c, 1) and keeps(x, c, node):
            return x
    return None


@rule(ew.Multiply)
def mul_by_minus_one(node: Node, uses: Uses) -> Node | None:
    """x · (-1) -> -x,  (-1) · x -> -x   (not when the -1 broadcasts or casts x)"""
    match node.inputs:
        case (x, c) if is_splat(c, -1) and keeps(x, c, node):
            return ew.Negative()(x)
        case (c, x) if is_splat(c, -1) and keeps(x, c, node):
            return ew.Negative()(x)
    return None


@rule(ew.Multiply)
def mul_by_zero(node: Node, uses: Uses) -> Node | None:
    """x * 0 -> 0,  0 * x -> 0   only for integer and bool x: a float x may be inf or NaN,
    and inf·0 = NaN"""
    match node.inputs:  # whether x is an integer is asked first: it is cheapest
        case (x, c) if x.dtype.kind in "biu" and _zero_of(c, node):
            return filled(0, node)
        case (c, x) if x.dtype.kind in "biu" and _zero_of(c, node):
            return filled(0, node)
    return None


@rule(ew.Divide, ew.Xdivy)
def div_by_one(node: Node, uses: Uses) -> Node | None:
    """x / 1 -> x   (not when the 1 broadcasts or casts x)"""
    match node.inputs:
        case (x, c) if is_splat(c, 1) and keeps(x, c, node):
            return x
    return None


@rule(ew.Xdivy)
def xdivy_by_nonzero(node: Node, uses: Uses) -> Node | None:
    """xdivy(c, y) -> c / y   for a finite nonzero splat c and a real y (xdivy differs from /
    only where x is 0, or both are infinite; a complex y with an infinite part can make c / y
    NaN where xdivy gives 0)"""
    match node.inputs:
        case (c, y) if y.dtype.kind != "c" and _finite_nonzero(c):
            return ew.Divide()(c, y)
    return None


@rule(ew.MultiplyNoNan)
def mul_no_nan_by_finite(node: Node, uses: Uses) -> Node | None:
    """multiply_no_nan(x, c) -> x · c   for a finite nonzero splat c (0 exactly where x is)"""
    match node.inputs:
        case (a, b) if _finite_nonzero(a) or _finite_nonzero(b):
            return ew.Multiply()(a, b)
    return None


# -- scales --------------------------------------------------------------------
def _scaled(node: Node) -> tuple[Node, Any] | None:
    """(x, c) when node is x · c (either order) for a splat c that leaves x's type as it is."""
    a, b = node.inputs
    for x, c in ((a, b), (b, a)):
        v = splat(c)
        if v is not None and keeps(x, c, node) and c.dtype == node.dtype:
            return x, v
    return None


@rule(ew.Multiply, operands=(ew.Negative,))
def negation_scaled(node: Node, uses: Uses) -> Node | None:
    """(-x) · c -> x · (-c)   for a splat c that broadcasts nothing"""
    match _scaled(node):
        case (Node(op=Op(ew.Negative), inputs=(x,)), c):
            return ew.Multiply()(x, constant(np.negative(c, dtype=node.dtype)))
    return None


def exact_scale(c1: Any, c2: Any, dtype: np.dtype) -> Any:
    """c₁·c₂ in ``dtype`` when (x·c₁)·c₂ and x·(c₁·c₂) agree for every x up to one rounding,
    else ``None``: integers always (their wrapping product is associative); real floats
    when c₁·c₂ is exact (not rounded), finite, and both scale the same way (|c| ≥ 1, or
    ≤ 1), so that neither order overflows, underflows or makes 0·inf where the other does
    not.  ``(x·1e300)·1e-300`` is inf at x = 1e10, ``x·(1e300·1e-300)`` is not."""
    with np.errstate(all="ignore"):  # an overflow is found below, and refused
        product = np.multiply(c1, c2, dtype=dtype)
    if dtype.kind in "iu":
        return product
    if dtype.kind != "f":
        return None
    a, b, p = float(c1), float(c2), float(product)
    if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(p)):
        return None
    if Fraction(a) * Fraction(b) != Fraction(p):
        return None
    growing, shrinking = abs(a) >= 1 and abs(b) >= 1, abs(a) <= 1 and abs(b) <= 1
    return product if growing or shrinking else None


def _same_for(x: Node, c1: Any, c2: Any, c: Any) -> bool:
    """x is a constant on which (x·c₁)·c₂ and x·c give the same bits (an identity matrix
    halved and doubled)."""
    if type(x.op) is not Constant:
        return False
    v = x.op.value
    with np.errstate(all="ignore"):
        twice = np.multiply(np.multiply(v, c1, dtype=x.dtype), c2, dtype=x.dtype)
        return bool(twice.tobytes() == np.multiply(v, c, dtype=x.dtype).tobytes())


@rule(ew.Multiply, operands=(ew.Multiply,))
def scale_of_scaled(node: Node, uses: Uses) -> Node | None:
    """(x · c₁) · c₂ -> x · (c₁·c₂)   for splats c that broadcast nothing, whose product is
    exact and which scale the same way (``exact_scale``), or for a constant x on which both
    give the same values (a seed of ones broadcast and scaled twice becomes x · 1, then x)"""
    match _scaled(node):
        case (Node(op=Op(ew.Multiply)) as inner, c2) if (found := _scaled(inner)) is not None:
            x, c1 = found
            c = exact_scale(c1, c2, node.dtype)
            if c is None:
                with np.errstate(all="ignore"):
                    c = np.multiply(c1, c2, dtype=node.dtype)
                if not _same_for(x, c1, c2, c):
                    return None
            return ew.Multiply()(x, constant(c))
    return None


@rule(ew.Multiply, operands=(ew.Multiply,), fast_math=True)
def reassociate_scales(node: Node, uses: Uses) -> Node | None:
    """(x · c₁) · c₂ -> x · (c₁·c₂)   for any splats c that broadcast nothing (fast_math:
    ``(x·1e300)·1e-300`` overflows where ``x·1`` does not)"""
    match _scaled(node):
        case (Node(op=Op(ew.Multiply)) as inner, c2) if (found := _scaled(inner)) is not None:
            x, c1 = found
            return ew.Multiply()(x, constant(np.multiply(c1, c2, dtype=node.dtype)))
    return None


# -- negations rise to where they cancel or become subtractions ------------------
def _rises(node: Node, negation: Node, other: Node, uses: Uses) -> bool:
    """The negation, an operand of node beside ``other``, may rise out of it: nothing else
    uses it, and it is not the -a of V · (-a) for a small a (neg_of_small_scale put it
    there: it runs over fewer entries than V)."""
    if not single_use(negation, uses):
        return False
    match node.op:
        case Op(ew.Multiply):
            return not (smaller(negation, other) and same(other, node))
    return True


@rule(ew.Multiply, ew.MultiplyNoNan, ew.Divide, operands=(ew.Negative,))
def negations_cancel(node: Node, uses: Uses) -> Node | None:
    """(-a)·(-b) -> a·b   (also for / and multiply_no_nan; negations with no other consumer)"""
    match node.inputs:
        case (
            Node(op=Op(ew.Negative), inputs=(a,)) as m,
            Node(op=Op(ew.Negative), inputs=(b,)) as n,
        ) if single_use(m, uses) and single_use(n, uses):
            return type(node.op)()(a, b)
    return None


@rule(ew.Multiply, ew.MultiplyNoNan, ew.Divide, ew.Xdivy, operands=(ew.Negative,))
def negation_out_of_left(node: Node, uses: Uses) -> Node | None:
    """(-a)·b -> -(a·b)   (also for /, xdivy and multiply_no_nan; the negation has no other
    consumer)"""
    match node.inputs:
        case (Node(op=Op(ew.Negative), inputs=(a,)) as m, b) if _rises(node, m, b, uses):
            return ew.Negative()(type(node.op)()(a, b))
    return None


@rule(ew.Multiply, ew.MultiplyNoNan, ew.Divide, operands=(ew.Negative,))
def negation_out_of_right(node: Node, uses: Uses) -> Node | None:
    """a·(-b) -> -(a·b)   (also for / and multiply_no_nan, not xdivy, whose law is about its
    numerator; the negation has no other consumer)"""
    match node.inputs:
        case (a, Node(op=Op(ew.Negative), inputs=(b,)) as m) if _rises(node, m, a, uses):
            return ew.Negative()(type(node.op)()(a, b))
    return None


@rule(ew.Negative, operands=(ew.Multiply,))
def neg_of_scaled(node: Node, uses: Uses) -> Node | None:
    """-(x · c) -> x · (-c)   for a scalar constant c (no new node per derivative order)"""
    match node.inputs:
        case (Node(op=Op(ew.Multiply), inputs=(a, c)),) if (
            c.ndim == 0 and (v := splat(c)) is not None
        ):
            return ew.Multiply()(a, constant(-np.asarray(v, dtype=c.dtype)))
    return None


@rule(ew.Negative, operands=(ew.Multiply, ew.MultiplyNoNan))
def neg_of_small_scale(node: Node, uses: Uses) -> Node | None:
    """-(V · a) -> V · (-a)   where a is smaller than V and V has the result's type (the
    negation runs over the small factor; IEEE negation is exact; multiply_no_nan too, as
    -a is 0 where a is)"""
    match node.inputs:
        case (Node(op=Op(ew.Multiply | ew.MultiplyNoNan) as op, inputs=(p, q)) as x,) if single_use(
            x, uses
        ):
            for v, a in ((p, q), (q, p)):
                if same(v, node) and smaller(a, v) and splat(a) is None:
                    return type(op)()(v, ew.Negative()(a))
    return None


# -- reassociation and quotients of quotients --------------------------------------
@rule(ew.Multiply, ew.MultiplyNoNan, operands=(ew.Multiply, ew.MultiplyNoNan), fast_math=True)
def reassociate_small(node: Node, uses: Uses) -> Node | None:
    """(V · a) · b -> V · (a · b)   where a and b are smaller than V and the result keeps
    V's type: the small factors multiply once (both products of one kind, plain or strong:
    0 stays 0 either way; fast_math: a·b may overflow or underflow where (V·a)·b does not)"""
    kind = type(node.op)
    for i in (0, 1):
        inner, b = node.inputs[i], node.inputs[1 - i]
        if type(inner.op) is not kind or not single_use(inner, uses) or not same(inner, node):
            continue
        p, q = inner.inputs
        for v, a in ((p, q), (q, p)):
            if same(v, node) and smaller(a, v) and smaller(b, v):
                return kind()(v, kind()(a, b))
    return None


@rule(ew.Xdivy, operands=(ew.Xdivy,), fast_math=True)
def xdivy_of_xdivy(node: Node, uses: Uses) -> Node | None:
    """xdivy(xdivy(a, b), c) -> xdivy(a, b·c)   (both 0 exactly where a is; the inner
    quotient used nowhere else; repeated divisors then share their products; fast_math:
    b·c may overflow to inf, or underflow to 0, where (a/b)/c is finite)"""
    match node.inputs:
        case (Node(op=Op(ew.Xdivy), inputs=(a, b)) as inner, c) if (
            single_use(inner, uses) and same(inner, node) and b.type == c.type == node.type
        ):
            return ew.Xdivy()(a, ew.Multiply()(b, c))
    return None


# -- powers --------------------------------------------------------------------
@rule(ew.Power)
def power_of_one(node: Node, uses: Uses) -> Node | None:
    """x ** 1 -> x   (derivatives of x ** 2 leave it behind)"""
    match node.inputs:
        case (x, p) if keeps(x, p, node) and is_splat(p, 1):
            return x
    return None


@rule(ew.Power)
def power_of_two(node: Node, uses: Uses) -> Node | None:
    """x ** 2 -> square(x)   (NumPy computes x ** 2.0 as x·x too)"""
    match node.inputs:
        case (x, p) if keeps(x, p, node) and is_splat(p, 2):
            return ew.Square()(x)
    return None
