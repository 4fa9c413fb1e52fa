"""Each rewrite law on its own: build its pattern, apply that one rule (not the whole
``optimize`` pipeline, so one law cannot hide another), run the graph before and after,
check the type is kept, and show where the law must not fire.

``LAWS`` holds one row per rule; ``test_every_rule_has_a_row`` keeps it complete.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.compiler.patterns import Rule, Uses
from graphad.compiler.rules import (
    all_rules,
    constants,
    loops,
    products,
    rules_for,
    rules_tried_on,
    shapes,
    sums,
)
from graphad.control import Scan
from graphad.ir import Node, topo_sort
from graphad.ops.elementwise import AddN, Negative
from graphad.ops.loop import Body, LoopForm, slots
from graphad.ops.shape import Reshape, SumTo
from graphad.ops.utility import Cast

x = ga.placeholder("x", (3,))
y = ga.placeholder("y", (3,))
z = ga.placeholder("z", (3,))
zc = ga.placeholder("zc", (3,), "complex128")
xi = ga.placeholder("xi", (3,), "int64")
m = ga.placeholder("m", (2, 3))
m2 = ga.placeholder("m2", (2, 3))
a = ga.placeholder("a", (4, 3))
t3 = ga.placeholder("t3", (2, 3, 4))
t213 = ga.placeholder("t213", (2, 1, 3))
u = ga.placeholder("u", (None,))
w = ga.placeholder("w", (None,))
RNG = np.random.default_rng(15)
FEEDS = {
    x: np.array([1.5, -2.0, 0.25]),
    y: np.array([0.5, 3.0, -1.25]),
    z: np.array([-0.75, 1.25, 2.0]),
    zc: np.array([complex(np.inf, 0.0), 1 - 2j, 0.5j]),  # 2 / (inf+0j) is NaN, xdivy's 0
    xi: np.array([1, -2, 3]),
    m: RNG.standard_normal((2, 3)),
    m2: RNG.standard_normal((2, 3)),
    a: RNG.standard_normal((4, 3)),
    t3: RNG.standard_normal((2, 3, 4)),
    t213: RNG.standard_normal((2, 1, 3)),
    u: np.array([0.5, 2.0]),
    w: np.array([1.5, -1.0]),
}


@dataclass(frozen=True)
class MyNegative(Negative):
    """A user's subclass of negative that computes something else: no law may see it as -x."""

    def compute(self, v: np.ndarray) -> np.ndarray:
        return -v + 1.0


Built = Node | tuple[Node, Sequence[Node]]  # a node, or one and other consumers of its parts


@dataclass
class Law:
    rule: Rule
    fires: list[Callable[[], Built]]
    refuses: list[Callable[[], Built]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.rule.name


def uses_in(outputs: Sequence[Node]) -> Uses:
    """How many consumers each node has in the graph of ``outputs``, as the driver counts."""
    uses: dict[Node, int] = {}
    for node in topo_sort(list(outputs)):
        for i in node.inputs:
            uses[i] = uses.get(i, 0) + 1
    return uses


def apply(rule: Rule, built: Built) -> tuple[Node, Node | None]:
    """The one rule applied to the node built (whose op must be one of the rule's)."""
    node, others = built if isinstance(built, tuple) else (built, ())
    assert rule.applies_to(type(node.op)), f"{rule.name} is not a rule of {node.op.name}"
    return node, rule(node, uses_in([node, *others]))


def neg(v: Node) -> Node:
    return ga.negative(v)


S, C = ga.sin(x), ga.cos(x)  # operands that are neither constants nor placeholders


def at(g: Node, index: tuple[Any, ...], shape: tuple[int | None, ...] = (3,)) -> Node:
    """g scattered into zeros of ``shape`` at a basic ``index``: getitem's transpose."""
    from graphad.ops.indexing import ScatterAdd, _encode

    return ScatterAdd(_encode(index)[0], shape)(g)


def advanced() -> Node:
    """An index array's scatter (repeats add up: np.add.at), not a basic index's."""
    g = ga.gradients(ga.sum(x[[0, 0]] * y[0:2]), x)
    assert g.op.name == "scatter_add" and g.op.advanced
    return g


LAWS = [
    # -- constants
    Law(
        constants.splat_arithmetic,
        [
            lambda: ga.multiply(ga.constant(2.0), ga.broadcast_to(ga.constant(3.0), (3,))),
            lambda: ga.exp(ga.zeros_like(x)),
            lambda: ga.greater(ga.ones_like(m), 0.5),
        ],
        [lambda: x * 2.0, lambda: ga.exp(ga.zeros_like(u))],
    ),
    Law(constants.zeros_like_static, [lambda: ga.zeros_like(m)], [lambda: ga.zeros_like(u)]),
    Law(constants.ones_like_static, [lambda: ga.ones_like(m)], [lambda: ga.ones_like(u)]),
    Law(constants.shape_of_static, [lambda: ga.shape_of(m)], [lambda: ga.shape_of(u)]),
    # -- sums
    Law(
        sums.add_zero,
        [lambda: x + 0.0, lambda: 0.0 + x, lambda: x + ga.zeros_like(y)],
        [lambda: x + np.zeros((2, 3)), lambda: xi + 0.0, lambda: u + ga.zeros_like(w)],
    ),
    Law(
        sums.add_negative,
        [lambda: x + neg(y), lambda: neg(x) + y],
        [lambda: x + y, lambda: x + MyNegative()(y)],
    ),
    Law(sums.sub_zero, [lambda: x - 0.0], [lambda: 0.0 - x, lambda: x - np.zeros((2, 3))]),
    Law(sums.zero_minus, [lambda: 0.0 - x], [lambda: x - 0.0, lambda: np.zeros((2, 3)) - x]),
    Law(
        sums.sub_negative,
        [lambda: x - neg(y)],
        [lambda: neg(x) - y, lambda: x - MyNegative()(y)],
    ),
    Law(
        sums.double_negation,
        [lambda: neg(neg(x))],
        [lambda: neg(S), lambda: neg(MyNegative()(x))],
    ),
    Law(
        sums.neg_of_difference,
        [lambda: neg(x - y)],
        [lambda: neg(x + y), lambda: (neg(d := x - y), [d * 2.0])],
    ),
    Law(
        sums.add_n_zeros,
        [
            lambda: ga.add_n(x, ga.zeros_like(x), y),
            lambda: ga.add_n(ga.zeros_like(x), np.zeros(3)),
            lambda: ga.add_n(x, np.zeros(3)),
        ],
        [lambda: ga.add_n(x, y), lambda: ga.add_n(u, ga.zeros_like(u))],
    ),
    Law(sums.add_n_of_one, [lambda: AddN()(x), lambda: AddN()(u)], [lambda: ga.add_n(x, y)]),
    Law(
        sums.add_n_leading_repeats,
        [lambda: ga.add_n(x, x, y), lambda: ga.add_n(S, S), lambda: ga.add_n(S, S, S, x, S)],
        [lambda: ga.add_n(y, x, x), lambda: ga.add_n(x, y, x), lambda: ga.add_n(xi, xi)],
    ),
    Law(
        sums.add_n_repeated,
        [lambda: ga.add_n(x, x, y), lambda: ga.add_n(S, S), lambda: ga.add_n(x, y, x)],
        [lambda: ga.add_n(x, y, S), lambda: ga.add_n(xi, xi)],
    ),
    Law(
        sums.add_n_flatten,
        [lambda: ga.add_n(ga.add_n(x, y), S)],
        [
            lambda: ga.add_n(x, y, S),
            lambda: ga.add_n(S, ga.add_n(x, y)),
            lambda: (ga.add_n(i := ga.add_n(x, y), S), [i * 2.0]),
        ],
    ),
    Law(
        sums.add_n_regroup,
        [lambda: ga.add_n(ga.add_n(x, y), S), lambda: ga.add_n(S, ga.add_n(x, y))],
        [lambda: ga.add_n(x, y, S), lambda: (ga.add_n(S, i := ga.add_n(x, y)), [i * 2.0])],
    ),
    Law(
        sums.add_n_all_negated,
        [lambda: ga.add_n(neg(x), neg(y)), lambda: ga.add_n(neg(x), neg(y), neg(S))],
        [
            lambda: ga.add_n(neg(x), y),
            lambda: (ga.add_n(n := neg(x), neg(y)), [n * 2.0]),
            lambda: ga.add_n(neg(x), MyNegative()(y)),
        ],
    ),
    Law(
        sums.add_n_last_negated,
        [
            lambda: ga.add_n(x, neg(y)),
            lambda: ga.add_n(neg(y), x),
            lambda: ga.add_n(x, z, neg(y)),
            lambda: ga.add_n(x, neg(z), neg(y)),
        ],
        [
            lambda: ga.add_n(x, neg(y), z),
            lambda: ga.add_n(neg(x), y, z),
            lambda: (ga.add_n(x, n := neg(y)), [n * 2.0]),
        ],
    ),
    Law(
        sums.add_n_negated_terms,
        [
            lambda: ga.add_n(x, neg(y)),
            lambda: ga.add_n(x, neg(y), neg(S)),
            lambda: ga.add_n(x, z, neg(y), neg(S)),
        ],
        [
            lambda: ga.add_n(x, z, neg(S)),  # one negation beside two terms: no gain
            lambda: ga.add_n(neg(x), neg(y)),
            lambda: (ga.add_n(x, n := neg(y)), [n * 2.0]),
        ],
    ),
    Law(
        sums.common_factor,
        [lambda: ga.add_n(S * z, C * z), lambda: ga.add_n(S * z, z * C, y)],
        [
            lambda: ga.add_n(x * y, S * C),
            lambda: ga.add_n(ga.multiply_no_nan(S, z), ga.multiply_no_nan(C, z)),
            lambda: (ga.add_n(p := S * z, C * z), [p * 2.0]),
            lambda: ga.add_n(m * z, m2 * z),  # z is broadcast: not of the sum's type
        ],
    ),
    Law(
        sums.scatters_into_one,
        [
            lambda: ga.add_n(at(S[0:2], (slice(0, 2),)), at(C[2], (2,))),
            lambda: ga.add_n(z, at(S[0:2], (slice(0, 2),)), y, at(C[1:], (slice(1, 3),))),
            lambda: ga.add_n(ga.add_n(z, at(S[0:2], (slice(0, 2),))), at(C[0], (0,))),
            lambda: ga.add_n(at(S[0:2] * 2.0, (slice(0, 2),)), at(C[1], (1,)), y),
            lambda: ga.add_n(at(u * 2.0, (slice(None),), (None,)), w),  # unknown dims
        ],
        [
            lambda: ga.add_n(x, y),
            lambda: (ga.add_n(s := at(S[0:2], (slice(0, 2),)), y), [s * 2.0]),
            lambda: ga.add_n(advanced(), y),
        ],
    ),
    # -- products
    Law(
        products.xdivy_of_zero,
        [lambda: ga.xdivy(np.zeros(3), x)],
        [lambda: ga.xdivy(x, np.zeros(3)), lambda: ga.xdivy(ga.zeros_like(u), u)],
    ),
    Law(
        products.mul_no_nan_by_zero,
        [lambda: ga.multiply_no_nan(x, np.zeros(3)), lambda: ga.multiply_no_nan(0.0, x)],
        [lambda: ga.multiply_no_nan(x, y)],
    ),
    Law(
        products.mul_by_one,
        [lambda: x * 1.0, lambda: 1.0 * x, lambda: ga.multiply_no_nan(x, np.ones(3))],
        [lambda: x * np.ones((2, 3)), lambda: xi * 1.0, lambda: u * ga.ones_like(w)],
    ),
    Law(
        products.mul_by_minus_one,
        [lambda: x * -1.0, lambda: -1.0 * x],
        [lambda: x * np.full((2, 3), -1.0), lambda: x * -2.0],
    ),
    Law(products.mul_by_zero, [lambda: xi * 0, lambda: 0 * xi], [lambda: x * 0.0]),
    Law(
        products.div_by_one,
        [lambda: x / 1.0, lambda: ga.xdivy(x, 1.0)],
        [lambda: 1.0 / x, lambda: x / np.ones((2, 3))],
    ),
    Law(
        products.xdivy_by_nonzero,
        [lambda: ga.xdivy(2.0, x)],
        [lambda: ga.xdivy(x, 2.0), lambda: ga.xdivy(0.0, x), lambda: ga.xdivy(2.0, zc)],
    ),
    Law(
        products.mul_no_nan_by_finite,
        [lambda: ga.multiply_no_nan(x, 2.0), lambda: ga.multiply_no_nan(-0.5, x)],
        [lambda: ga.multiply_no_nan(x, y), lambda: ga.multiply_no_nan(x, np.inf)],
    ),
    Law(
        products.negation_scaled,
        [lambda: neg(x) * 2.0, lambda: 2.0 * neg(x)],
        [lambda: x * 2.0, lambda: neg(x) * y, lambda: MyNegative()(x) * 2.0],
    ),
    Law(
        products.scale_of_scaled,
        [
            lambda: (x * 2.0) * 3.0,
            lambda: 3.0 * (2.0 * x),
            lambda: (x * 0.5) * 0.25,
            lambda: (x * -1.0) * 0.1,  # |-1| scales neither way
            lambda: (xi * 3) * 5,
        ],
        [
            lambda: (x * y) * 3.0,
            lambda: (x * 2.0) * np.full((2, 3), 3.0),
            lambda: (x * 1e300) * 1e-300,  # the two scale opposite ways
            lambda: (x * 2.0) * 0.5,
            lambda: (x * 0.1) * 0.1,  # 0.1·0.1 rounds
            lambda: (x * 1e200) * 1e200,  # overflows
            lambda: (x * np.inf) * 2.0,
        ],
    ),
    Law(
        products.reassociate_scales,
        [lambda: (x * 1e300) * 1e-300, lambda: (x * 0.1) * 0.1],
        [lambda: (x * y) * 3.0, lambda: (x * 2.0) * np.full((2, 3), 3.0)],
    ),
    Law(
        products.negations_cancel,
        [
            lambda: neg(S) * neg(C),
            lambda: neg(S) / neg(C),
            lambda: ga.multiply_no_nan(neg(S), neg(C)),
        ],
        [lambda: neg(x) * y, lambda: ((n := neg(S)) * neg(C), [n * 2.0])],
    ),
    Law(
        products.negation_out_of_left,
        [lambda: neg(x) * y, lambda: neg(x) / y, lambda: ga.xdivy(neg(x), y)],
        [
            lambda: x * neg(y),
            lambda: neg(x) * m,  # V·(-a) for a small a: where neg_of_small_scale put it
            lambda: ((n := neg(x)) * y, [n * 2.0]),
        ],
    ),
    Law(
        products.negation_out_of_right,
        [lambda: x * neg(y), lambda: x / neg(y), lambda: ga.multiply_no_nan(x, neg(y))],
        [lambda: neg(x) * y, lambda: m * neg(x)],
    ),
    Law(
        products.neg_of_scaled,
        [lambda: neg(x * 2.0), lambda: neg(ga.multiply(x, ga.constant(np.int64(3))))],
        [lambda: neg(x * y), lambda: neg(x * np.full(3, 2.0))],
    ),
    Law(
        products.neg_of_small_scale,
        [lambda: neg(m * x), lambda: neg(x * m), lambda: neg(ga.multiply_no_nan(m, x))],
        [lambda: neg(x * y), lambda: neg(m * 2.0), lambda: (neg(p := m * x), [p * 2.0])],
    ),
    Law(
        products.reassociate_small,
        [
            lambda: (m * x) * y,
            lambda: y * (x * m),
            lambda: ga.multiply_no_nan(ga.multiply_no_nan(m, x), y),
        ],
        [
            lambda: (m * x) * m2,  # m2 is not small
            lambda: ((p := m * x) * y, [p * 2.0]),
            lambda: (x * y) * z,
            lambda: ga.multiply_no_nan(m * x, y),  # two kinds of product
        ],
    ),
    Law(
        products.xdivy_of_xdivy,
        [lambda: ga.xdivy(ga.xdivy(x, y), z)],
        [
            lambda: (ga.xdivy(q := ga.xdivy(x, y), z), [q * 2.0]),
            lambda: ga.xdivy(ga.xdivy(x, y), m),
        ],
    ),
    Law(products.power_of_one, [lambda: x**1.0], [lambda: x ** np.ones((2, 3)), lambda: x**2.0]),
    Law(
        products.power_of_two, [lambda: x**2.0], [lambda: x**3.0, lambda: x ** np.full((2, 3), 2.0)]
    ),
    # -- shapes
    Law(shapes.reshape_to_same, [lambda: Reshape((3,))(x)], [lambda: ga.reshape(x, (1, 3))]),
    Law(
        shapes.broadcast_to_same,
        [lambda: ga.broadcast_to(x, (3,))],
        [lambda: ga.broadcast_to(x, (2, 3))],
    ),
    Law(shapes.sum_to_same, [lambda: SumTo((3,))(x)], [lambda: ga.sum_to(m, (3,))]),
    Law(
        shapes.squeeze_of_expand,
        [lambda: ga.squeeze(ga.expand_dims(x, 0), 0)],
        [lambda: ga.squeeze(ga.reshape(x, (1, 3)), 0)],
    ),
    Law(
        shapes.matrix_vector,
        [lambda: ga.squeeze(ga.matmul(a, ga.expand_dims(x, -1)), -1)],
        [
            lambda: ga.squeeze(ga.matmul(a, ga.expand_dims(m, -1)), -1),  # batched
            lambda: ga.squeeze(ga.matmul(ga.expand_dims(x, 0), ga.transpose(a)), 0),
        ],
    ),
    Law(
        shapes.reshape_of_reshape,
        [
            lambda: ga.reshape(ga.reshape(m, (3, 2)), (6,)),
            lambda: ga.squeeze(ga.reshape(m, (2, 3, 1)), 2),
            lambda: ga.expand_dims(ga.squeeze(t213, 1), 0),
        ],
        [lambda: ga.reshape(x, (1, 3)), lambda: ga.reshape(ga.transpose(m), (6,))],
    ),
    Law(
        shapes.broadcast_of_broadcast,
        [lambda: ga.broadcast_to(ga.broadcast_to(x, (2, 3)), (4, 2, 3))],
        [lambda: ga.broadcast_to(x, (2, 3))],
    ),
    Law(
        shapes.broadcast_operand,
        [
            lambda: ga.broadcast_to(S, (2, 3)) * m,
            lambda: m - ga.broadcast_to(ga.reshape(S[0:2], (2, 1)), (2, 3)),
            lambda: ga.broadcast_to(S, (4, 3)) / a,
            lambda: ga.multiply_no_nan(ga.broadcast_to(ga.reshape(S[0:2], (2, 1)), (2, 3)), m),
        ],
        [
            lambda: ga.broadcast_to(S, (2, 3)) * x,  # x is not of the result's type
            lambda: ga.broadcast_like(ga.sin(u[0]), u) * u,  # a run-time shape
        ],
    ),
    Law(
        shapes.sum_of_splat,
        [lambda: ga.sum_to(ga.broadcast_to(ga.constant(0.5), (4, 3)), (3,))],
        [
            lambda: ga.sum_to(m, (3,)),
            lambda: ga.sum_to(ga.broadcast_to(ga.constant(np.int64(2)), (4, 3)), (3,)),
        ],
    ),
    Law(
        shapes.transpose_of_transpose,
        [
            lambda: ga.transpose(ga.transpose(t3, (1, 0, 2)), (0, 2, 1)),
            lambda: ga.transpose(ga.transpose(m)),
        ],
        [lambda: ga.transpose(m)],
    ),
    Law(shapes.identity_transpose, [lambda: ga.transpose(m, (0, 1))], [lambda: ga.transpose(m)]),
    Law(
        shapes.transpose_of_units,
        [lambda: ga.transpose(t213, (1, 0, 2)), lambda: ga.transpose(t213, (0, 2, 1))],
        [lambda: ga.transpose(t213, (2, 1, 0))],
    ),
    Law(
        shapes.cast_to_same,
        [lambda: Cast(np.dtype(np.float64))(x)],
        [lambda: Cast(np.dtype(np.float32))(x)],
    ),
    Law(shapes.stop_gradient_at_run_time, [lambda: ga.stop_gradient(x)]),
    # -- loops
    Law(
        loops.hoist_invariants,
        [
            lambda: scan_node(lambda c, r, k: c * ga.exp(k) + r),  # exp(k): the same each step
            lambda: scan_node(lambda c, r, k: c + ga.sum(k) * 2.0),
        ],
        [
            lambda: scan_node(lambda c, r, k: c * k + r),  # nothing computed from k alone
            lambda: scan_node(lambda c, r, k: c + ga.exp(ga.constant(np.ones(3)))),  # constants
            lambda: scan_node(lambda c, r, k: ga.exp(c * k) + r),  # exp(c·k) changes each step
        ],
    ),
]


def scan_node(body: Callable[[Node, Node, Node], Node]) -> Node:
    """A scan over the rows of ``a`` from x, its body reading y as the const k.  Made from
    its form: tracing ``ga.scan`` computes whatever depends on y alone outside the body
    already, so an invariant inside comes from a rule (a gradient's transposes)."""
    c, r, k = (ga.placeholder(n, (3,)) for n in "crk")
    body_graph = Body((c, r, k), slots(1, 1, 1, False), (body(c, r, k),))
    return Scan(LoopForm(body_graph, carries=1, xs=1, consts=1))(x, a, y)


def by_rule(laws: list[Law]) -> Any:
    return pytest.mark.parametrize("law", laws, ids=[law.id for law in laws])


def test_every_rule_has_a_row() -> None:
    assert [law.rule for law in LAWS] == list(all_rules())


@by_rule(LAWS)
def test_where_it_fires_the_values_and_the_type_are_kept(law: Law) -> None:
    for build in law.fires:
        node, out = apply(law.rule, build())
        assert out is not None and out is not node, f"{law.rule.law}: did not fire"
        assert law.rule in rules_tried_on(node)  # its operands are what it declared
        assert out.type == node.type
        feeds = {p: v for p, v in FEEDS.items() if p in set(topo_sort([node, out]))}
        before = ga.evaluate(node, feeds, optimize=False)
        after = ga.evaluate(out, feeds, optimize=False)
        # reordered sums may round differently: to rounding of terms of size ~1
        np.testing.assert_allclose(after, before, rtol=1e-14, atol=1e-14)
        assert np.asarray(after).dtype == np.asarray(before).dtype


@by_rule([law for law in LAWS if law.refuses])
def test_where_it_must_not_fire(law: Law) -> None:
    for build in law.refuses:
        node, out = apply(law.rule, build())
        assert out is None, f"{law.rule.law}: fired on {node.op}"


@by_rule(LAWS)
def test_a_users_subclass_of_its_ops_is_not_matched(law: Law) -> None:
    for cls in law.rule.ops:
        mine = type(f"My{cls.__name__}", (cls,), {"__module__": __name__})
        assert not law.rule.applies_to(mine)
        assert law.rule not in rules_for(mine)


def test_an_operand_of_a_users_subclass_is_not_matched_either() -> None:
    shifted = MyNegative()(y)
    for rule, node in [
        (sums.add_negative, x + shifted),
        (sums.sub_negative, x - shifted),
        (sums.double_negation, neg(MyNegative()(x))),
        (products.negation_out_of_left, MyNegative()(x) * y),
        (sums.add_n_all_negated, ga.add_n(MyNegative()(x), neg(y))),
    ]:
        assert apply(rule, node)[1] is None, rule.name
    np.testing.assert_allclose(ga.evaluate(x + shifted, FEEDS), FEEDS[x] - FEEDS[y] + 1.0)


def test_a_rule_is_a_value_with_its_law_and_ops() -> None:
    rule = products.mul_by_one
    assert rule.law.startswith("x * 1 -> x")
    assert rule.name == "mul_by_one" and rule.ops == (
        ga.ops.elementwise.Multiply,
        ga.ops.elementwise.MultiplyNoNan,
    )
    assert rule in rules_for(ga.ops.elementwise.MultiplyNoNan)
    assert rules_for(MyNegative) == ()


# -- IEEE semantics: which laws are exact (issue 16, item 1) ---------------------------
HUGE, TINY = 1e300, 1e-300
# a fast_math law is not exact: here it turns a finite value into inf or NaN, or back
NOT_EXACT: dict[str, Callable[[], tuple[Node, dict[Node, Any]]]] = {
    "reassociate_scales": lambda: ((x * HUGE) * TINY, {x: [1e10, 1.0, 2.0]}),
    "reassociate_small": lambda: (
        (m * x) * y,
        {m: np.full((2, 3), 1e10), x: [HUGE] * 3, y: [TINY] * 3},
    ),
    "xdivy_of_xdivy": lambda: (
        ga.xdivy(ga.xdivy(x, y), z),
        {x: [TINY] * 3, y: [1e-200] * 3, z: [1e-200] * 3},
    ),
    "add_n_repeated": lambda: (ga.add_n(x, y, x), {x: [1e308] * 3, y: [-1e308] * 3}),
    "add_n_regroup": lambda: (
        ga.add_n(x, ga.add_n(y, z)),
        {x: [1e308] * 3, y: [1e308] * 3, z: [-1e308] * 3},
    ),
    "add_n_negated_terms": lambda: (
        ga.add_n(x, neg(y), neg(z), x),
        {x: [1e308] * 3, y: [1e308] * 3, z: [1e308] * 3},
    ),
    "common_factor": lambda: (
        ga.add_n(y * x, z * x),
        {x: [HUGE] * 3, y: [1e200] * 3, z: [-1e200] * 3},
    ),
}


def finite(v: Any) -> np.ndarray:
    return np.isfinite(np.asarray(v, dtype=float))


def test_every_law_is_exact_or_a_fast_math_law() -> None:
    """The laws not exact in floating point are those marked fast_math, each with a case
    where it changes finiteness; every other law keeps inf, NaN and finite values."""
    assert {r.name for r in all_rules() if r.fast_math} == set(NOT_EXACT)


@pytest.mark.parametrize("name", sorted(NOT_EXACT))
def test_a_fast_math_law_can_change_finiteness(name: str) -> None:
    rule = next(r for r in all_rules() if r.name == name)
    node, feeds = NOT_EXACT[name]()
    node, out = apply(rule, node)
    assert out is not None, f"{name} did not fire"
    with np.errstate(all="ignore"):
        before = ga.evaluate(node, feeds, optimize=False)
        after = ga.evaluate(out, feeds, optimize=False)
    assert not np.array_equal(finite(before), finite(after)), (before, after)
    default = ga.Executor(node).run(feeds)  # not applied without the opt-in
    np.testing.assert_array_equal(finite(default), finite(before))


def test_fast_math_laws_apply_to_floats_only_with_the_opt_in_and_to_integers_always() -> None:
    floats = (m * x) * y
    assert ga.optimize(floats) is floats
    assert ga.optimize(floats, fast_math=True).inputs[0] is m
    ints = ga.placeholder("mi", (2, 3), "int64")
    product = (ints * xi) * xi  # wrapping integer products are associative
    assert ga.optimize(product).inputs[0] is ints
    sums = ga.add_n(x, ga.add_n(y, z))
    assert [n.op.name for n in topo_sort([ga.optimize(sums)]) if n.inputs] == ["add_n"] * 2
    flat = ga.optimize(sums, fast_math=True)
    assert [n.op.name for n in topo_sort([flat]) if n.inputs] == ["add_n"]


def test_cse_reorders_a_sum_of_three_only_under_fast_math() -> None:
    """add_n sums from the left: (a + b) + c and (c + b) + a are different associations."""
    one, other = ga.add_n(x, y, z), ga.add_n(z, y, x)
    kept = ga.optimize([one, other])
    assert kept[0] is not kept[1]
    merged = ga.optimize([one, other], fast_math=True)
    assert merged[0] is merged[1]
    pair = ga.optimize([x + y, y + x])  # two operands commute bit for bit
    assert pair[0] is pair[1]
    big = {x: [1e308] * 3, y: [1e308] * 3, z: [-1e308] * 3}
    a, b = ga.evaluate(kept, big)
    assert np.all(np.isinf(a)) and np.all(b == 1e308)  # as built: each its own order
