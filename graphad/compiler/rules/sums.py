"""Laws of sums and negations: zeros that add nothing, negations that cancel or become
subtractions, and the terms of ``add_n`` (zeros, repeats, nested sums, signs, factors).

``add_n`` sums its terms from the left, and floating-point addition is not associative:
1e308 + 1e308 - 1e308 is inf, 1e308 - 1e308 + 1e308 is 1e308.  So a law that keeps the
order of the additions is exact (a leading run of one term, a leading inner sum, one
negated term at the end); one that regroups terms is a ``fast_math`` law, and so is
factoring (``a·f + b·f`` is NaN where ``(a + b)·f`` is 0 when both products overflow).
"""

from __future__ import annotations

import numpy as np

from graphad.compiler.patterns import (
    Uses,
    filled,
    is_splat,
    keeps,
    negated,
    rule,
    same,
    single_use,
    static_type,
)
from graphad.ir import Node, Op, constant
from graphad.ops import accumulation as acc
from graphad.ops import elementwise as ew
from graphad.ops import indexing as ix


# -- add, subtract, negative -------------------------------------------------------
@rule(ew.Add)
def add_zero(node: Node, uses: Uses) -> Node | None:
    """x + 0 -> x,  0 + x -> x   (not when the 0 broadcasts or casts x)"""
    match node.inputs:
        case (x, c) if is_splat(c, 0) and keeps(x, c, node):
            return x
        case (c, x) if is_splat(c, 0) and keeps(x, c, node):
            return x
    return None


@rule(ew.Add, operands=(ew.Negative,))
def add_negative(node: Node, uses: Uses) -> Node | None:
    """x + (-y) -> x - y,  (-x) + y -> y - x"""
    match node.inputs:
        case (x, Node(op=Op(ew.Negative), inputs=(y,))):
            return ew.Subtract()(x, y)
        case (Node(op=Op(ew.Negative), inputs=(x,)), y):
            return ew.Subtract()(y, x)
    return None


@rule(ew.Subtract)
def sub_zero(node: Node, uses: Uses) -> Node | None:
    """x - 0 -> x   (not when the 0 broadcasts or casts x)"""
    match node.inputs:
        case (x, c) if is_splat(c, 0) and keeps(x, c, node):
            return x
    return None


@rule(ew.Subtract)
def zero_minus(node: Node, uses: Uses) -> Node | None:
    """0 - x -> -x   (not when the 0 broadcasts or casts x)"""
    match node.inputs:
        case (c, x) if is_splat(c, 0) and keeps(x, c, node):
            return ew.Negative()(x)
    return None


@rule(ew.Subtract, operands=(ew.Negative,))
def sub_negative(node: Node, uses: Uses) -> Node | None:
    """x - (-y) -> x + y"""
    match node.inputs:
        case (x, Node(op=Op(ew.Negative), inputs=(y,))):
            return ew.Add()(x, y)
    return None


@rule(ew.Negative, operands=(ew.Negative,))
def double_negation(node: Node, uses: Uses) -> Node | None:
    """-(-x) -> x"""
    match node.inputs:
        case (Node(op=Op(ew.Negative), inputs=(x,)),):
            return x
    return None


@rule(ew.Negative, operands=(ew.Subtract,))
def neg_of_difference(node: Node, uses: Uses) -> Node | None:
    """-(a - b) -> b - a   (the difference has no other consumer)"""
    match node.inputs:
        case (Node(op=Op(ew.Subtract), inputs=(a, b)) as d,) if single_use(d, uses):
            return ew.Subtract()(b, a)
    return None


# -- add_n ---------------------------------------------------------------------
@rule(ew.AddN)
def add_n_zeros(node: Node, uses: Uses) -> Node | None:
    """add_n(…, 0, …) -> add_n(…)   (zeros that broadcast nothing; all zeros: 0)"""
    if static_type(node) is None:  # a zero of unknown dims may be what sets the shape
        return None
    terms = [x for x in node.inputs if not (is_splat(x, 0) and same(x, node))]
    if len(terms) == len(node.inputs):
        return None
    if not terms:
        return filled(0, node)
    if len(terms) == 1:
        return terms[0] if same(terms[0], node) else None
    return ew.AddN()(*terms)


@rule(ew.AddN)
def add_n_of_one(node: Node, uses: Uses) -> Node | None:
    """add_n(x) -> x"""
    match node.inputs:
        case (x,) if static_type(node) is None or same(x, node):
            return x
    return None


def _times(x: Node, k: int) -> Node:
    return ew.Multiply()(x, constant(np.asarray(k, dtype=x.dtype)))


@rule(ew.AddN)
def add_n_leading_repeats(node: Node, uses: Uses) -> Node | None:
    """add_n(x, x, …, x, y, …) -> add_n(x · k, y, …)   for a leading run of k copies of x
    (x + x is 2x exactly, 2x + x rounds as 3x does: the additions after it keep their
    order)"""
    terms = node.inputs
    x = terms[0]
    k = 1
    while k < len(terms) and terms[k] is x:
        k += 1
    if k == 1 or node.dtype is None or node.dtype.kind not in "fc" or not same(x, node):
        return None
    if k == len(terms):
        return _times(x, k)
    return ew.AddN()(_times(x, k), *terms[k:])


@rule(ew.AddN, fast_math=True)
def add_n_repeated(node: Node, uses: Uses) -> Node | None:
    """add_n(x, y, x) -> add_n(x · 2, y)   (a term that occurs k times is scaled by k;
    fast_math: the sum is regrouped)"""
    counts: dict[Node, int] = {}
    for x in node.inputs:
        counts[x] = counts.get(x, 0) + 1
    if len(counts) == len(node.inputs) or node.dtype is None or node.dtype.kind not in "fc":
        return None
    terms = [x if k == 1 else _times(x, k) for x, k in counts.items()]
    if len(terms) > 1:
        return ew.AddN()(*terms)
    return terms[0] if same(terms[0], node) else None


@rule(ew.AddN, operands=(ew.AddN,))
def add_n_flatten(node: Node, uses: Uses) -> Node | None:
    """add_n(add_n(a, b), c) -> add_n(a, b, c)   (a leading inner sum with no other
    consumer: (a + b) + c is the order add_n sums in)"""
    match node.inputs:
        case (Node(op=Op(ew.AddN), inputs=terms) as inner, *rest) if single_use(
            inner, uses
        ) and same(inner, node):
            return ew.AddN()(*terms, *rest)
    return None


@rule(ew.AddN, operands=(ew.AddN,), fast_math=True)
def add_n_regroup(node: Node, uses: Uses) -> Node | None:
    """add_n(a, add_n(b, c)) -> add_n(a, b, c)   (inner sums anywhere, with no other
    consumer; fast_math: a + (b + c) becomes (a + b) + c)"""
    flat: list[Node] = []
    for x in node.inputs:
        match x:
            case Node(op=Op(ew.AddN), inputs=terms) if single_use(x, uses) and same(x, node):
                flat.extend(terms)
            case _:
                flat.append(x)
    return ew.AddN()(*flat) if len(flat) != len(node.inputs) else None


@rule(ew.AddN, operands=(ew.Negative,))
def add_n_all_negated(node: Node, uses: Uses) -> Node | None:
    """add_n(-a, -b, …) -> -add_n(a, b, …)   (negations with no other consumer)"""
    minus = [negated(x, uses) for x in node.inputs]
    if len(minus) < 2 or any(m is None or m.type != node.type for m in minus):
        return None
    return ew.Negative()(ew.AddN()(*minus))


@rule(ew.AddN, operands=(ew.Negative,))
def add_n_last_negated(node: Node, uses: Uses) -> Node | None:
    """add_n(a, …, -b) -> add_n(a, …) - b,  add_n(-b, a) -> a - b   (one negation with no
    other consumer, the last term or one of two: the additions keep their order)"""
    terms = node.inputs
    last = negated(terms[-1], uses)
    if last is not None:
        rest = terms[:-1]
        if last.type == node.type and all(t.type == node.type for t in rest):
            return ew.Subtract()(rest[0] if len(rest) == 1 else ew.AddN()(*rest), last)
    if len(terms) == 2:
        first = negated(terms[0], uses)
        if first is not None and last is None and first.type == terms[1].type == node.type:
            return ew.Subtract()(terms[1], first)
    return None


@rule(ew.AddN, operands=(ew.Negative,), fast_math=True)
def add_n_negated_terms(node: Node, uses: Uses) -> Node | None:
    """add_n(a, …, -b, -c, …) -> add_n(a, …) - add_n(b, c, …)   (negations with no other
    consumer: two or more of them, or one beside one other term; fast_math: the terms
    are regrouped)"""
    plus: list[Node] = []
    minus: list[Node] = []
    for x in node.inputs:
        y = negated(x, uses)
        if y is None:
            plus.append(x)
        else:
            minus.append(y)
    if not plus or not minus or (len(minus) < 2 and len(plus) != 1):
        return None
    if any(t.type != node.type for t in (*plus, *minus)):
        return None
    negative = minus[0] if len(minus) == 1 else ew.AddN()(*minus)
    positive = plus[0] if len(plus) == 1 else ew.AddN()(*plus)
    return ew.Subtract()(positive, negative)


@rule(ew.AddN, operands=(ew.Multiply,), fast_math=True)
def common_factor(node: Node, uses: Uses) -> Node | None:
    """add_n(a·f, b·f, c) -> add_n((a + b)·f, c)   (plain products of node's type that have
    no other consumer; fast_math: a·f + b·f is NaN where both products overflow and
    (a + b)·f may be finite, and the terms are regrouped)"""
    products: list[Node] = []
    for x in node.inputs:
        match x:
            case Node(op=Op(ew.Multiply), inputs=(a, b)) if (
                single_use(x, uses) and same(a, node) and same(b, node)
            ):
                products.append(x)
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
    summed = ew.Multiply()(ew.AddN()(*rest), factor)
    others = [x for x in node.inputs if not any(x is p for p in group)]
    return ew.AddN()(summed, *others) if others else summed


@rule(ew.AddN, operands=(ix.ScatterAdd, acc.ScatterSum))
def scatters_into_one(node: Node, uses: Uses) -> Node | None:
    """add_n(a, scatter(g at i), scatter(h at j), …) -> a + g at i + h at j + … in one buffer
    (scatter_sum: each scattered term added where it lands, the terms in their order; the
    scatters at basic indices into node's shape, with no other consumer; a leading
    scatter_sum of that shape with no other consumer is taken apart)"""
    shape: tuple[int | None, ...] | None = None
    extra: tuple[Node, ...] | None = None  # the scatters' run-time shape input, if any
    terms: list[tuple[Node, acc.Part]] = []
    scattered = 0
    for k, x in enumerate(node.inputs):
        op = x.op
        found: list[tuple[Node, acc.Part]] | None = None
        if type(op) is ix.ScatterAdd and not op.advanced and single_use(x, uses):
            found, parts, rest = [(x.inputs[0], op.items)], op.shape, x.inputs[1:]
        elif type(op) is acc.ScatterSum and k == 0 and single_use(x, uses):
            n = len(op.parts)
            found, parts, rest = list(zip(x.inputs[:n], op.parts)), op.shape, x.inputs[n:]
        if found is None or x.type != node.type or (shape is not None and parts != shape):
            if x.type != node.type:
                return None  # a term that broadcasts or casts: add_n's own business
            terms.append((x, None))
            continue
        if extra is not None and rest != extra:
            terms.append((x, None))  # another run-time shape: keep it a term of its own
            continue
        shape, extra = parts, rest
        terms.extend(found)
        scattered += 1
    if shape is None or extra is None or scattered < 1:
        return None
    out = acc.ScatterSum(tuple(p for _, p in terms), shape)(*(t for t, _ in terms), *extra)
    return out if out.type == node.type else None
