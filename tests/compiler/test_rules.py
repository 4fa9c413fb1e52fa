"""One test per rewrite law: where it fires, and where it must not."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pytest

import graphad as ga
from graphad.compiler import optimize
from graphad.compiler.rules import rules_for
from graphad.ir import Constant, Node, topo_sort
from graphad.ops.elementwise import Multiply

x = ga.placeholder("x", shape=(3,))
xi = ga.placeholder("xi", shape=(3,), dtype="int64")
m = ga.placeholder("m", shape=(2, 3))


def ops(node: Node, fast_math: bool = False) -> list[str]:
    return [n.op.name for n in topo_sort([optimize(node, fast_math)]) if n.inputs]


def count_ops(node: Node) -> dict[str, int]:
    return dict(Counter(n.op.name for n in topo_sort([node])))


def same_values(before: Node, feeds: dict, fast_math: bool = False) -> None:
    after = optimize(before, fast_math)
    want = ga.evaluate(before, feeds, optimize=False)
    got = ga.evaluate(after, feeds, optimize=False)
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)  # add_n may sum in a new order
    assert after.type == before.type


FEEDS = {x: np.array([1.5, -2.0, 0.25]), xi: np.array([1, -2, 3]), m: np.arange(6.0).reshape(2, 3)}


@pytest.mark.parametrize(
    "make",
    [
        lambda: x * 1.0,
        lambda: 1.0 * x,
        lambda: x + 0.0,
        lambda: 0.0 + x,
        lambda: x - 0.0,
        lambda: x / 1.0,
        lambda: ga.negative(ga.negative(x)),
        lambda: ga.add_n(x),
        lambda: ga.stop_gradient(x),
        lambda: ga.reshape(x, (3,)),
        lambda: ga.transpose(ga.transpose(m)),
        lambda: ga.multiply_no_nan(x, np.ones(3)),
        lambda: ga.squeeze(ga.expand_dims(x, 0), 0),
        lambda: ga.reshape(ga.reshape(x, (1, 3)), (3,)),
        lambda: ga.cast(ga.cast(x, "float64"), "float64"),
        lambda: ga.broadcast_to(x, (3,)),
        lambda: ga.sum_to(x, (3,)),
        lambda: ga.add_n(x, ga.zeros_like(x)),
    ],
)
def test_identities_leave_the_operand_itself(make) -> None:
    node = make()
    out = optimize(node)
    assert out is (m if node.shape == m.shape else x)
    same_values(node, FEEDS)


def test_mul_by_one_does_not_fire_when_the_one_broadcasts_or_casts() -> None:
    wider = x * np.ones((2, 3))  # the 1 broadcasts x to (2, 3)
    assert ops(wider) == ["broadcast_to", "multiply"] or "multiply" in ops(wider)
    assert optimize(wider).shape == (2, 3)
    same_values(wider, FEEDS)
    cast = xi * 1.0  # int * float: the 1 casts x to float64
    assert "multiply" in ops(cast) and optimize(cast).dtype == np.float64
    same_values(cast, FEEDS)


def test_add_zero_does_not_fire_when_the_zero_broadcasts() -> None:
    wider = x + np.zeros((2, 3))
    assert optimize(wider).shape == (2, 3)
    same_values(wider, FEEDS)


def test_mul_by_zero_fires_for_integers_only() -> None:
    zero_int = xi * 0
    assert ops(zero_int) == []  # a small constant of zeros
    same_values(zero_int, FEEDS)
    zero_float = x * 0.0  # inf·0 and NaN·0 are NaN, not 0
    assert "multiply" in ops(zero_float)
    got = ga.evaluate(zero_float, {x: np.array([np.inf, np.nan, 1.0])})
    assert np.isnan(got[0]) and np.isnan(got[1]) and got[2] == 0.0


def test_strong_zeros_are_exact_laws() -> None:
    for node in (ga.multiply_no_nan(x, np.zeros(3)), ga.xdivy(np.zeros(3), x)):
        assert ops(node) in ([], ["broadcast_to"])
        got = ga.evaluate(node, {x: np.array([np.inf, np.nan, 0.0])})
        np.testing.assert_array_equal(got, np.zeros(3))


def test_strong_products_by_nonzero_constants_become_plain() -> None:
    assert ops(ga.multiply_no_nan(x, 2.0)) == ["multiply"]
    assert ops(ga.xdivy(2.0, x)) == ["divide"]
    assert ops(ga.multiply_no_nan(x, 0.5 * x)) == ["multiply", "multiply_no_nan"]
    assert ops(ga.xdivy(x, 2.0)) == ["xdivy"]  # x may be 0: the law is about x


def test_reshape_that_changes_the_shape_stays() -> None:
    node = ga.reshape(x, (1, 3))
    assert ops(node) == ["reshape"]
    two = ga.reshape(ga.reshape(m, (3, 2)), (6,))
    assert ops(two) == ["reshape"] and optimize(two).inputs[0] is m
    same_values(two, FEEDS)


def test_transposes_compose_and_a_real_permutation_stays() -> None:
    t3 = ga.placeholder("t3", shape=(2, 3, 4))
    node = ga.transpose(ga.transpose(t3, (1, 0, 2)), (0, 2, 1))
    out = optimize(node)
    assert ops(node) == ["transpose"] and out.op.axes == (1, 2, 0)
    v = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(ga.evaluate(out, {t3: v}), ga.evaluate(node, {t3: v}))
    assert ops(ga.transpose(m)) == ["transpose"]


def test_constants_fold_through_each_ops_own_kernel() -> None:
    c = ga.constant(np.array([1.0, 2.0, 4.0]))
    node = ga.log(c) * ga.exp(c) + ga.sum(c) * x
    out = optimize(node)
    assert [n.op.name for n in topo_sort([out])].count("constant") == 2
    same_values(node, FEEDS)


def test_folding_is_bounded_and_keeps_broadcast_scalars_small() -> None:
    big = ga.broadcast_to(ga.constant(2.0), (1000, 1000))
    out = optimize(big * big)
    assert max(n.op.value.size for n in topo_sort([out]) if isinstance(n.op, Constant)) == 1
    np.testing.assert_array_equal(ga.evaluate(out)[:2, :2], np.full((2, 2), 4.0))


def test_sums_and_products_of_constants_and_zeros_like_fold() -> None:
    node = ga.ones_like(m) * 3.0 + ga.zeros_like(m)
    assert ops(node) == []  # one small constant
    np.testing.assert_array_equal(ga.evaluate(node, FEEDS), np.full((2, 3), 3.0))
    assert ops((x * 2.0) * 3.0) == ["multiply"]
    same_values((x * 2.0) * 3.0, FEEDS)


def test_sum_to_of_a_broadcast_splat_is_a_scaled_splat() -> None:
    node = ga.sum_to(ga.broadcast_to(ga.constant(0.5), (4, 3)), (3,))
    np.testing.assert_array_equal(ga.evaluate(optimize(node)), np.full(3, 2.0))
    assert "sum_to" not in ops(node)


def test_shape_of_a_static_shape_is_a_constant() -> None:
    assert ops(ga.shape_of(m)) == []
    np.testing.assert_array_equal(ga.evaluate(optimize(ga.shape_of(m))), [2, 3])


def test_add_n_drops_zeros_and_scales_repeats() -> None:
    """A leading run of one term is scaled (x + x is 2x exactly); repeats elsewhere only
    under fast_math, as that regroups the sum."""
    leading = ga.add_n(ga.sin(x), ga.zeros_like(x), ga.sin(x), x)
    assert sorted(ops(leading)) == ["add_n", "multiply", "sin"]
    same_values(leading, FEEDS)
    node = ga.add_n(x, ga.zeros_like(x), ga.sin(x), ga.sin(x))
    assert sorted(ops(node)) == ["add_n", "sin"]
    assert sorted(ops(node, fast_math=True)) == ["add_n", "multiply", "sin"]
    same_values(node, FEEDS, fast_math=True)


def test_negations_move_into_subtractions() -> None:
    node = x + (-ga.sin(x))
    assert ops(node) == ["sin", "subtract"]
    same_values(node, FEEDS)
    assert ops(x - (-ga.sin(x))) == ["sin", "add"]


@dataclass(frozen=True)
class Scaled(Multiply):
    """A user's subclass of multiply that computes something else."""

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a * b + 1.0


def test_a_subclass_of_an_op_is_not_matched_by_its_laws() -> None:
    one = ga.constant(np.ones(3))
    node = Scaled()(x, one)
    assert optimize(node) is node
    np.testing.assert_array_equal(ga.evaluate(node, FEEDS), FEEDS[x] + 1.0)
    assert rules_for(Scaled) == ()


def test_user_ops_on_constants_are_not_folded() -> None:
    node = Scaled()(ga.constant(np.ones(3)), ga.constant(np.ones(3)))
    assert ops(node) == ["scaled"]
    np.testing.assert_array_equal(ga.evaluate(node), np.full(3, 2.0))


def test_cse_merges_equal_nodes_and_commuted_products() -> None:
    a = ga.sin(x) * ga.cos(x)
    b = ga.cos(x) * ga.sin(x)
    node = a + b
    out = optimize(node)
    assert count_ops(out) == {
        "placeholder": 1,
        "sin": 1,
        "cos": 1,
        "multiply": 1,
        "add": 1,
    }
    same_values(node, FEEDS)
    distinct = ga.placeholder("x", shape=(3,))  # placeholders are never merged
    assert count_ops(optimize(x + distinct))["placeholder"] == 2


def test_a_rebuilt_node_keeps_its_name_and_origin() -> None:
    y = ga.sum(ga.sin(x) * ga.sin(x))
    (g,) = ga.gradients(y, [x])
    h = ga.gradients(ga.sum(g), x)
    before = {n.name: n.origin for n in topo_sort([h])}
    after = topo_sort([optimize(h)])
    for n in after:
        if n.name in before and n.inputs:
            assert n.origin == before[n.name], n.name
    assert any(n.origin.kind == "reverse" and n.origin.order == 2 for n in after)


def test_negations_rise_and_cancel_when_nothing_else_uses_them() -> None:
    a, b = ga.sin(x), ga.cos(x)
    node = ga.negative(a) * ga.negative(b)
    assert ops(node) == ["sin", "cos", "multiply"]
    same_values(node, FEEDS)
    assert ops(x * -1.0) == ["negative"]
    shared = ga.negative(a)
    kept = [shared * b, shared]  # -a is fetched too: moving it would add a node
    assert len(topo_sort(optimize(kept))) <= len(topo_sort(kept))
    assert sorted(ops(ga.negative(a - b))) == ["cos", "sin", "subtract"]


def test_sums_of_negations_become_subtractions() -> None:
    """In the order add_n sums ((a - b) - c); regrouped ((a + d) - (b + c)) only under
    fast_math."""
    a, b, c = ga.sin(x), ga.cos(x), ga.exp(x)
    node = ga.add_n(a, ga.negative(b), ga.negative(c))
    assert sorted(ops(node)) == ["cos", "exp", "sin", "subtract", "subtract"]
    same_values(node, FEEDS)
    inside = ga.add_n(a, ga.negative(b), ga.negative(c), x)
    assert sorted(ops(inside)) == ["add_n", "cos", "exp", "negative", "negative", "sin"]
    assert sorted(ops(inside, True)) == ["add_n", "add_n", "cos", "exp", "sin", "subtract"]
    same_values(inside, FEEDS, fast_math=True)


def test_a_common_factor_of_plain_products_is_taken_out_under_fast_math() -> None:
    a, b, f = ga.sin(x), ga.cos(x), ga.exp(x)
    node = ga.add_n(a * f, f * b)
    assert sorted(ops(node, True)) == ["add_n", "cos", "exp", "multiply", "sin"]
    same_values(node, FEEDS, fast_math=True)
    assert sorted(ops(node)) == ["add_n", "cos", "exp", "multiply", "multiply", "sin"]
    strong = ga.add_n(ga.multiply_no_nan(a, f), ga.multiply_no_nan(b, f))
    assert ops(strong).count("multiply_no_nan") == 2  # 0·inf must stay 0 in each term


def test_a_column_matmul_squeezed_is_a_matrix_vector_product() -> None:
    a = ga.placeholder("a", shape=(4, 3))
    node = ga.squeeze(ga.matmul(a, ga.expand_dims(x, -1)), -1)
    assert ops(node) == ["matmul"] and optimize(node).inputs == (a, x)
    v = np.arange(12.0).reshape(4, 3)
    np.testing.assert_allclose(ga.evaluate(node, {a: v, x: FEEDS[x]}), v @ FEEDS[x])
    wide = ga.squeeze(ga.matmul(a, ga.expand_dims(m, -1)), -1)  # (4, 3) @ (2, 3, 1): batched
    assert "squeeze" in ops(wide)


def test_small_integer_powers_become_cheap_ops() -> None:
    assert ops(x**2.0) == ["square"]
    assert ops(x**1.0) == []
    same_values(x**2.0 + x**1.0, FEEDS)
    assert ops(x**3.0) == ["power"]
    assert ops(x ** np.full((2, 3), 2.0)) == ["power"]  # the exponent broadcasts x


def test_identities_do_not_fire_where_unknown_dims_may_broadcast() -> None:
    a = ga.placeholder("a", shape=(None,))
    b = ga.placeholder("b", shape=(None,))
    feeds = {a: np.array([2.0]), b: np.arange(3.0)}
    for node in (a + ga.zeros_like(b), a * ga.ones_like(b), a ** ga.ones_like(b)):
        assert ga.evaluate(node, feeds).shape == (3,)
        assert optimize(node) is not a
    scalar_one = a * 1.0  # a 0-d constant can never stretch a
    assert optimize(scalar_one) is a
    with pytest.raises(ga.ShapeError, match="add_n operands must have one shape"):
        ga.evaluate(ga.add_n(a, ga.zeros_like(b)), feeds)  # still checked, not dropped


def test_a_transpose_that_moves_only_unit_axes_is_a_reshape() -> None:
    t = ga.placeholder("t", shape=(2, 1, 3))
    node = ga.transpose(t, (1, 0, 2))
    assert ops(node) == ["reshape"]
    v = np.arange(6.0).reshape(2, 1, 3)
    np.testing.assert_array_equal(ga.evaluate(optimize(node), {t: v}), v.transpose(1, 0, 2))
    assert ops(ga.transpose(t, (2, 1, 0))) == ["transpose"]  # 2 and 3 swap: a real transpose
    # the batched matmul's round trip: expand, move the unit axis, reshape back, is nothing
    chain = ga.reshape(ga.transpose(ga.expand_dims(m, 2), (0, 2, 1)), (2, 3))
    assert optimize(chain) is m
    assert optimize(ga.squeeze(ga.reshape(m, (2, 3, 1)), 2)) is m


def test_small_factors_of_a_large_product_multiply_first_under_fast_math() -> None:
    y = ga.placeholder("y", shape=(3,))
    feeds = {**FEEDS, y: np.array([0.5, 3.0, -1.0])}
    node = (m * x) * y
    assert optimize(node) is node  # x·y may overflow where (m·x)·y does not
    out = optimize(node, fast_math=True)
    assert out.inputs[0] is m or out.inputs[1] is m  # m · (x·y): one pass over the large m
    same_values(node, feeds, fast_math=True)
    neg = -(m * x)
    out = optimize(neg)
    assert ops(neg) == ["negative", "multiply"] and m in out.inputs  # the negation is on x
    same_values(neg, feeds)
    shared = m * x  # used twice: moving its factor would compute m·x and m·(x·y) both
    kept = optimize([shared * y, shared], fast_math=True)
    assert kept[0].inputs[0] is kept[1] or kept[0].inputs[1] is kept[1]
    big = ga.placeholder("big", shape=(2, 3))
    big_product = optimize((m * x) * big, fast_math=True)
    assert big_product.inputs[0].op.name == "multiply"  # big is not small: stays
    inf = {**feeds, m: np.array([[np.inf, 0.0, 1.0], [1e300, -np.inf, np.nan]])}
    for n in (node, neg):  # inf and NaN stay where they were; 0·inf is NaN both ways
        a = ga.evaluate(n, inf, optimize=False)
        b = ga.evaluate(optimize(n, fast_math=True), inf, optimize=False)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_array_equal(a[~np.isnan(a)], b[~np.isnan(b)])
