"""Algebraic simplification: small functions ``rule(node) -> Node | None``, each with its law.

A rule returns the node that replaces ``node`` (an existing one or new graph) or ``None``
when its law does not apply.  ``RULES`` maps an exact op class to the rules tried on its
nodes; the driver applies them bottom-up to a fixpoint.  No rule changes a value beyond
floating-point rounding and the sign of a zero (``-0.0 + 0.0`` is ``+0.0`` in IEEE, so
``x + 0 -> x`` may turn a ``+0.0`` into the ``-0.0`` that x held).  A rule that would
change a shape or dtype (``x * 1`` where the 1 broadcasts x, or casts it) does not fire.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from graphad.compiler.patterns import filled, is_own, is_splat, single_use, splat, static_type
from graphad.ir import Node, constant
from graphad.ops._ufunc import Binary, Unary
from graphad.ops.elementwise import (
    Add,
    AddN,
    Divide,
    Multiply,
    MultiplyNoNan,
    Negative,
    Power,
    Square,
    Subtract,
    Xdivy,
)
from graphad.ops.linalg import MatMul
from graphad.ops.shape import BroadcastTo, ExpandDims, Reshape, Squeeze, SumTo, Transpose
from graphad.ops.utility import Cast, OnesLike, ShapeOf, StopGradient, ZerosLike

Rule = Callable[[Node], Node | None]


def _same(x: Node, node: Node) -> bool:
    """x already has node's type: replacing node by x changes no shape and no dtype."""
    return x.type == node.type


def _keeps(x: Node, partner: Node, node: Node) -> bool:
    """``node = f(x, partner)`` has x's type and x's run-time shape: the partner cannot
    stretch x at run time (each of its dims is 1 or a known dim of x; no more dims).
    Equal static types are not enough where dims are unknown: (?,) + (?,) may be
    (1,) + (3,)."""
    if not _same(x, node):
        return False
    ps, xs = partner.shape, x.shape
    if ps is None or xs is None or len(ps) > len(xs):
        return False
    return all(p == 1 or (p is not None and p == d) for p, d in zip(reversed(ps), reversed(xs)))


# -- arithmetic ----------------------------------------------------------------
def _beside(node: Node, value: float, sides: tuple[int, ...] = (1, 0)) -> Node | None:
    """The operand of a binary node whose partner (at one of ``sides``) is a splat of
    ``value``, when that operand already has the node's type (the splat broadcasts and
    casts nothing)."""
    for i in sides:
        x = node.inputs[1 - i]
        if is_splat(node.inputs[i], value) and _keeps(x, node.inputs[i], node):
            return x
    return None


def mul_by_one(node: Node) -> Node | None:
    """x * 1 -> x,  1 * x -> x   (not when the 1 broadcasts or casts x)"""
    return _beside(node, 1)


def mul_by_minus_one(node: Node) -> Node | None:
    """x · (-1) -> -x,  (-1) · x -> -x   (not when the -1 broadcasts or casts x)"""
    x = _beside(node, -1)
    return None if x is None else Negative()(x)


def mul_by_zero(node: Node) -> Node | None:
    """x * 0 -> 0   only for integer and bool x: a float x may be inf or NaN, and inf·0 = NaN"""
    a, b = node.inputs
    for x, zero in ((a, b), (b, a)):
        integer = x.dtype is not None and x.dtype.kind in "biu"  # asked first: cheapest
        if integer and is_splat(zero, 0) and static_type(node) is not None:
            return filled(0, node)
    return None


def mul_no_nan_by_zero(node: Node) -> Node | None:
    """multiply_no_nan(x, 0) -> 0,  multiply_no_nan(0, x) -> 0   (exact: it is the op's law)"""
    a, b = node.inputs
    if (is_splat(a, 0) or is_splat(b, 0)) and static_type(node) is not None:
        return filled(0, node)
    return None


def mul_no_nan_by_one(node: Node) -> Node | None:
    """multiply_no_nan(x, 1) -> x,  multiply_no_nan(1, x) -> x   (x·1 is 0 exactly where x is)"""
    return mul_by_one(node)


def _finite_nonzero(node: Node) -> bool:
    v = splat(node)
    return v is not None and bool(np.isfinite(v) and v != 0)


def mul_no_nan_by_finite(node: Node) -> Node | None:
    """multiply_no_nan(x, c) -> x · c   for a finite nonzero splat c (0 exactly where x is)"""
    a, b = node.inputs
    if _finite_nonzero(a) or _finite_nonzero(b):
        return Multiply()(a, b)
    return None


def xdivy_by_nonzero(node: Node) -> Node | None:
    """xdivy(c, y) -> c / y   for a nonzero splat c (xdivy differs from / only where x is 0)"""
    c, y = node.inputs
    v = splat(c)
    if v is not None and v != 0:
        return Divide()(c, y)
    return None


def xdivy_of_xdivy(node: Node) -> Node | None:
    """xdivy(xdivy(a, b), c) -> xdivy(a, b·c)   (both 0 exactly where a is; the inner
    quotient used nowhere else; repeated divisors then share their products)"""
    inner, c = node.inputs
    if type(inner.op) is Xdivy and single_use(inner) and _same(inner, node):
        a, b = inner.inputs
        if b.type == c.type == node.type:
            return Xdivy()(a, Multiply()(b, c))
    return None


def xdivy_of_zero(node: Node) -> Node | None:
    """xdivy(0, y) -> 0   (exact: it is the op's law)"""
    if is_splat(node.inputs[0], 0) and static_type(node) is not None:
        return filled(0, node)
    return None


def add_zero(node: Node) -> Node | None:
    """x + 0 -> x,  0 + x -> x   (not when the 0 broadcasts or casts x)"""
    return _beside(node, 0)


def sub_zero(node: Node) -> Node | None:
    """x - 0 -> x,  0 - x -> -x   (not when the 0 broadcasts or casts x)"""
    x = _beside(node, 0, sides=(1,))
    if x is not None:
        return x
    y = _beside(node, 0, sides=(0,))
    return None if y is None else Negative()(y)


def sub_negative(node: Node) -> Node | None:
    """x - (-y) -> x + y"""
    a, b = node.inputs
    if type(b.op) is Negative:
        return Add()(a, b.inputs[0])
    return None


def add_negative(node: Node) -> Node | None:
    """x + (-y) -> x - y,  (-x) + y -> y - x"""
    a, b = node.inputs
    if type(b.op) is Negative:
        return Subtract()(a, b.inputs[0])
    if type(a.op) is Negative:
        return Subtract()(b, a.inputs[0])
    return None


def div_by_one(node: Node) -> Node | None:
    """x / 1 -> x   (not when the 1 broadcasts or casts x)"""
    return _beside(node, 1, sides=(1,))


def double_negation(node: Node) -> Node | None:
    """-(-x) -> x"""
    (x,) = node.inputs
    return x.inputs[0] if type(x.op) is Negative else None


def _negated(x: Node) -> Node | None:
    """y when x is -y and x has no other consumer (so moving the negation costs nothing)."""
    return x.inputs[0] if type(x.op) is Negative and single_use(x) else None


def hoist_negation(node: Node) -> Node | None:
    """(-a)·b -> -(a·b),  a·(-b) -> -(a·b),  (-a)·(-b) -> a·b   (also for /, xdivy,
    multiply_no_nan): negations rise to where they cancel or become subtractions"""
    a, b = node.inputs
    na, nb = _negated(a), _negated(b)
    if type(node.op) is Xdivy:
        nb = None  # xdivy's law is about its numerator
    if na is not None and nb is not None:
        return type(node.op)()(na, nb)
    if type(node.op) is Multiply:  # V·(-a) for a small a is where neg_of_small_scale put it
        na = None if na is not None and _smaller(a, b) and _same(b, node) else na
        nb = None if nb is not None and _smaller(b, a) and _same(a, node) else nb
    if na is not None:
        return Negative()(type(node.op)()(na, b))
    if nb is not None:
        return Negative()(type(node.op)()(a, nb))
    return None


def neg_of_difference(node: Node) -> Node | None:
    """-(a - b) -> b - a"""
    (x,) = node.inputs
    if type(x.op) is Subtract and single_use(x):
        a, b = x.inputs
        return Subtract()(b, a)
    return None


def add_n_signs(node: Node) -> Node | None:
    """add_n(a, -b, -c) -> a - add_n(b, c),  add_n(-a, -b) -> -add_n(a, b);
    add_n(add_n(a, b), c) -> add_n(a, b, c)   (inner nodes with no other consumer)"""
    flat: list[Node] = []
    for x in node.inputs:
        if type(x.op) is AddN and single_use(x) and _same(x, node):
            flat.extend(x.inputs)
        else:
            flat.append(x)
    if len(flat) != len(node.inputs):
        return AddN()(*flat)
    plus = [x for x in flat if _negated(x) is None]
    minus = [_negated(x) for x in flat if _negated(x) is not None]
    if len(minus) < 2 and not (minus and len(plus) == 1):
        return None
    if not all(m.type == node.type for m in minus) or not all(p.type == node.type for p in plus):
        return None
    negative = minus[0] if len(minus) == 1 else AddN()(*minus)
    if not plus:
        return Negative()(negative)
    positive = plus[0] if len(plus) == 1 else AddN()(*plus)
    return Subtract()(positive, negative)


def common_factor(node: Node) -> Node | None:
    """add_n(a·f, b·f, c) -> add_n((a + b)·f, c)   (plain products of node's type that have
    no other consumer; equal up to rounding, and inf/NaN stay inf/NaN)"""
    products = [
        x
        for x in node.inputs
        if type(x.op) is Multiply and single_use(x) and all(_same(i, node) for i in x.inputs)
    ]
    if len(products) < 2:
        return None
    seen: dict[Node, list[Node]] = {}
    for p in products:
        for f in dict.fromkeys(p.inputs):
            seen.setdefault(f, []).append(p)
    factor, group = max(seen.items(), key=lambda kv: len(kv[1]))
    if len(group) < 2:
        return None
    rest = [p.inputs[1] if p.inputs[0] is factor else p.inputs[0] for p in group]
    summed = Multiply()(AddN()(*rest), factor)
    others = [x for x in node.inputs if not any(x is p for p in group)]
    return AddN()(summed, *others) if others else summed


def neg_of_scaled(node: Node) -> Node | None:
    """-(x · c) -> x · (-c)   for a scalar constant c (no new node per derivative order)"""
    (x,) = node.inputs
    if type(x.op) is Multiply:
        a, c = x.inputs
        if c.ndim == 0 and splat(c) is not None:
            return Multiply()(a, constant(-np.asarray(splat(c), dtype=c.dtype)))
    return None


def _scaled(node: Node) -> tuple[Node, Any] | None:
    """(x, c) when node is x · c (either order) for a splat c that leaves x's type as it is."""
    a, b = node.inputs
    for x, c in ((a, b), (b, a)):
        v = splat(c)
        if v is not None and _keeps(x, c, node) and c.dtype == node.dtype:
            return x, v
    return None


def scale_of_scaled(node: Node) -> Node | None:
    """(x · c₁) · c₂ -> x · (c₁·c₂),  (-x) · c -> x · (-c)   for splats c that broadcast
    nothing (a seed of ones broadcast and scaled twice becomes x · 1, then x)"""
    outer = _scaled(node)
    if outer is None:
        return None
    a, c2 = outer
    if type(a.op) is Negative:
        return Multiply()(a.inputs[0], constant(np.negative(c2, dtype=node.dtype)))
    inner = _scaled(a) if type(a.op) is Multiply else None
    if inner is None:
        return None
    x, c1 = inner
    return Multiply()(x, constant(np.multiply(c1, c2, dtype=node.dtype)))


def small_power(node: Node) -> Node | None:
    """x ** 1 -> x,  x ** 2 -> square(x)   (NumPy computes x ** 2.0 as x·x too; derivatives
    of x ** 2 leave x ** 1 behind)"""
    x, p = node.inputs
    if not _keeps(x, p, node):
        return None
    if is_splat(p, 1):
        return x
    if is_splat(p, 2):
        return Square()(x)
    return None


def add_n_repeated(node: Node) -> Node | None:
    """add_n(x, x, y) -> add_n(x · 2, y)   (a term that occurs k times is scaled by k)"""
    counts: dict[Node, int] = {}
    for x in node.inputs:
        counts[x] = counts.get(x, 0) + 1
    if len(counts) == len(node.inputs) or node.dtype is None or node.dtype.kind not in "fc":
        return None
    terms = [
        x if k == 1 else Multiply()(x, constant(np.asarray(k, dtype=x.dtype)))
        for x, k in counts.items()
    ]
    return AddN()(*terms) if len(terms) > 1 else (terms[0] if _same(terms[0], node) else None)


def add_n_terms(node: Node) -> Node | None:
    """add_n(x) -> x,  add_n(…, 0, …) -> add_n(…)   (zeros that broadcast nothing)"""
    if static_type(node) is None:  # a zero of unknown dims may be what sets the shape
        return node.inputs[0] if len(node.inputs) == 1 else None
    terms = [x for x in node.inputs if not (is_splat(x, 0) and _same(x, node))]
    if len(terms) == len(node.inputs) and len(terms) > 1:
        return None
    if not terms:
        return filled(0, node) if static_type(node) is not None else None
    if len(terms) == 1:
        return terms[0] if _same(terms[0], node) else None
    return AddN()(*terms)


def splat_arithmetic(node: Node) -> Node | None:
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


# -- shapes and dtypes ---------------------------------------------------------
def _static_only(node: Node) -> bool:
    """A shape op whose target is fully static (no run-time shape input)."""
    return len(node.inputs) == 1 and static_type(node) is not None


def same_shape_identity(node: Node) -> Node | None:
    """reshape(x, x.shape) -> x,  broadcast_to(x, x.shape) -> x,  sum_to(x, x.shape) -> x"""
    x = node.inputs[0]
    return x if _static_only(node) and _same(x, node) else None


def reshape_of_reshape(node: Node) -> Node | None:
    """reshape(reshape(x, s₁), s₂) -> reshape(x, s₂)   (expand_dims and squeeze, inside or
    outside, are reshapes too)"""
    x = node.inputs[0]
    if _static_only(node) and type(x.op) in (Reshape, ExpandDims, Squeeze) and len(x.inputs) == 1:
        inner = x.inputs[0]
        if static_type(inner) is not None:
            return inner if _same(inner, node) else Reshape(node.shape)(inner)
    return None


def broadcast_of_broadcast(node: Node) -> Node | None:
    """broadcast_to(broadcast_to(x, s₁), s₂) -> broadcast_to(x, s₂)"""
    x = node.inputs[0]
    if _static_only(node) and type(x.op) is BroadcastTo and len(x.inputs) == 1:
        return BroadcastTo(node.shape)(x.inputs[0])
    return None


def sum_of_splat(node: Node) -> Node | None:
    """sum_to(broadcast_to(c, s), t) -> broadcast_to(c · |s|/|t|, t)   for a splat c"""
    x = node.inputs[0]
    c = splat(x)
    tx, t = static_type(x), static_type(node)
    if c is None or tx is None or t is None or not _static_only(node) or x.dtype.kind not in "fc":
        return None
    count = tx.size // max(t.size, 1)  # type: ignore[operator]
    return filled(np.multiply(c, count, dtype=x.dtype), node)


def squeeze_of_expand(node: Node) -> Node | None:
    """squeeze(expand_dims(x, a), a) -> x"""
    x = node.inputs[0]
    if type(x.op) is ExpandDims and _same(x.inputs[0], node):
        return x.inputs[0]
    return None


def matrix_vector(node: Node) -> Node | None:
    """squeeze(M @ expand_dims(v, -1), -1) -> M @ v   (a matrix-vector product, as NumPy's
    1-D matmul makes it: the vjp of a vector operand builds the column form)"""
    x = node.inputs[0]
    if type(x.op) is not MatMul or node.op.axes not in ((-1,), (1,)):  # type: ignore[attr-defined]
        return None
    m, col = x.inputs
    if type(col.op) is not ExpandDims or col.op.axes not in ((-1,), (1,)):  # type: ignore[attr-defined]
        return None
    v = col.inputs[0]
    if m.ndim != 2 or v.ndim != 1 or x.ndim != 2:
        return None
    out = MatMul()(m, v)
    return out if out.type == node.type else None


def transpose_of_transpose(node: Node) -> Node | None:
    """transpose(transpose(x, a), b) -> transpose(x, a∘b);  transpose(x, identity) -> x"""
    x = node.inputs[0]
    axes = node.op.axes  # type: ignore[attr-defined]
    if type(x.op) is Transpose:
        composed = tuple(x.op.axes[i] for i in axes)  # type: ignore[attr-defined]
        inner = x.inputs[0]
        return inner if composed == tuple(range(len(composed))) else Transpose(composed)(inner)
    if axes == tuple(range(len(axes))):
        return x
    return None


def transpose_of_units(node: Node) -> Node | None:
    """transpose(x, p) -> reshape(x, s)   when p moves only axes of length 1 (the others
    keep their order, so the elements keep theirs: the reshapes around it then merge)"""
    x = node.inputs[0]
    if static_type(x) is None:
        return None
    axes = node.op.axes  # type: ignore[attr-defined]
    kept = [a for a in axes if x.shape[a] != 1]  # type: ignore[index]
    if kept != sorted(kept):
        return None
    return Reshape(node.shape)(x)


def _size(x: Node) -> int | None:
    # math.prod on the int dims: np.prod of a tuple cost 8 µs a call, asked twice per product
    t = static_type(x)
    return None if t is None else math.prod(t.shape)  # type: ignore[arg-type]


def _smaller(c: Node, than: Node) -> bool:
    """c has fewer elements than ``than`` and the same dtype (so c broadcasts into it)."""
    sc, st = _size(c), _size(than)
    return sc is not None and st is not None and sc < st and c.dtype == than.dtype


def reassociate_small(node: Node) -> Node | None:
    """(V · a) · b -> V · (a · b)   where a and b are smaller than V and the result keeps
    V's type: the small factors multiply once (equal up to rounding; inf/NaN stay so)"""
    for i in (0, 1):
        inner, b = node.inputs[i], node.inputs[1 - i]
        if type(inner.op) is not Multiply or not single_use(inner) or not _same(inner, node):
            continue
        for j in (0, 1):
            v, a = inner.inputs[j], inner.inputs[1 - j]
            if _same(v, node) and _smaller(a, v) and _smaller(b, v):
                return Multiply()(v, Multiply()(a, b))
    return None


def neg_of_small_scale(node: Node) -> Node | None:
    """-(V · a) -> V · (-a)   where a is smaller than V and V has the result's type (the
    negation runs over the small factor; IEEE negation is exact)"""
    (x,) = node.inputs
    if type(x.op) is not Multiply or not single_use(x):
        return None
    for j in (0, 1):
        v, a = x.inputs[j], x.inputs[1 - j]
        if _same(v, node) and _smaller(a, v) and splat(a) is None:
            return Multiply()(v, Negative()(a))
    return None


def cast_to_same(node: Node) -> Node | None:
    """cast(x, x.dtype) -> x"""
    x = node.inputs[0]
    return x if _same(x, node) else None


def filled_like(node: Node) -> Node | None:
    """zeros_like(x) -> 0,  ones_like(x) -> 1   broadcast to x's static shape (x is not needed)"""
    if static_type(node) is None:
        return None
    return filled(0 if type(node.op) is ZerosLike else 1, node)


def shape_of_static(node: Node) -> Node | None:
    """shape_of(x) -> constant(x.shape)   when x's shape is static"""
    t = static_type(node.inputs[0])
    return None if t is None else constant(np.asarray(t.shape, dtype=np.int64).reshape(-1))


def stop_gradient_at_run_time(node: Node) -> Node | None:
    """stop_gradient(x) -> x   (it only matters to the derivative passes, which ran already)"""
    return node.inputs[0]


_ARITHMETIC = (splat_arithmetic,)
RULES: dict[type, tuple[Rule, ...]] = {
    Multiply: (
        *_ARITHMETIC,
        mul_by_one,
        mul_by_minus_one,
        mul_by_zero,
        scale_of_scaled,
        hoist_negation,
        reassociate_small,
    ),
    MultiplyNoNan: (
        *_ARITHMETIC,
        mul_no_nan_by_zero,
        mul_no_nan_by_one,
        mul_no_nan_by_finite,
        hoist_negation,
    ),
    Xdivy: (
        *_ARITHMETIC,
        xdivy_of_zero,
        div_by_one,
        xdivy_by_nonzero,
        hoist_negation,
        xdivy_of_xdivy,
    ),
    Add: (*_ARITHMETIC, add_zero, add_negative),
    Subtract: (*_ARITHMETIC, sub_zero, sub_negative),
    Divide: (*_ARITHMETIC, div_by_one, hoist_negation),
    Power: (*_ARITHMETIC, small_power),
    Negative: (
        *_ARITHMETIC,
        double_negation,
        neg_of_scaled,
        neg_of_difference,
        neg_of_small_scale,
    ),
    AddN: (add_n_terms, add_n_repeated, add_n_signs, common_factor),
    Reshape: (same_shape_identity, reshape_of_reshape),
    BroadcastTo: (same_shape_identity, broadcast_of_broadcast),
    SumTo: (same_shape_identity, sum_of_splat),
    Squeeze: (squeeze_of_expand, matrix_vector, reshape_of_reshape),
    ExpandDims: (reshape_of_reshape,),
    Transpose: (transpose_of_transpose, transpose_of_units),
    Cast: (cast_to_same,),
    ZerosLike: (filled_like,),
    OnesLike: (filled_like,),
    ShapeOf: (shape_of_static,),
    StopGradient: (stop_gradient_at_run_time,),
}


def rules_for(node: Node) -> tuple[Rule, ...]:
    """The rules for the node's exact op class; other graphad elementwise ops fold splats."""
    cls = type(node.op)
    found = RULES.get(cls)
    if found is not None:
        return found
    if issubclass(cls, (Unary, Binary)) and is_own(node):
        return _ARITHMETIC
    return ()
