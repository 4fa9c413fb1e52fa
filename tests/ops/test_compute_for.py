"""``Op.compute_for``: a kernel specialised to its node (static shapes, constant indices)
gives the bits ``compute`` gives, and checks once what ``compute`` checks on every run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.ir import Node
from graphad.ops.accumulation import ScatterSum
from graphad.ops.elementwise import AddN, MultiplyNoNan
from graphad.ops.indexing import GetItem, ScatterAdd


def _both(node: Node, *values: Any) -> tuple[Any, Any]:
    """The node's op on ``values``: its specialised kernel's result, and compute's."""
    return node.op.compute_for(node)(*values), node.op.compute(*values)


def _same_bits(a: Any, b: Any) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


def test_take_by_a_constant_index_is_compute_and_is_checked_once() -> None:
    x = ga.placeholder("x", shape=(3, 7))
    index = np.array([6, -7, 2, 2])
    node = x[:, index]
    fn = node.op.compute_for(node)
    assert fn != node.op.compute  # the range was checked when the plan was made
    xv = np.random.default_rng(0).normal(size=(3, 7))
    _same_bits(*_both(node, xv, index))
    # x[:, [0, 7]] fails when it is made; the op made directly reaches the plan
    out_of_range = GetItem((("slice", None, None, None), ("array", 0)), True)(
        x, ga.constant(np.array([0, 7]))
    )
    assert out_of_range.op.compute_for(out_of_range) == out_of_range.op.compute
    with pytest.raises(IndexError):
        out_of_range.op.compute(xv, np.array([0, 7]))


def test_take_by_a_computed_index_keeps_the_run_time_check() -> None:
    x, i = ga.placeholder("x", shape=(5,)), ga.placeholder("i", shape=(2,), dtype=np.int64)
    node = x[i]
    assert isinstance(node.op, GetItem)
    assert node.op.compute_for(node) == node.op.compute


def test_a_basic_index_is_written_as_a_view() -> None:
    x = ga.placeholder("x", shape=(4, 5))
    node = x[1:, None, ::2]
    code = node.op.code(node, ["v"], "k")
    assert code == "v[1:, None, ::2,]"
    xv = np.arange(20.0).reshape(4, 5)
    view = eval(code, {"v": xv})
    _same_bits(view, node.op.compute(xv))
    assert np.shares_memory(view, xv)


@pytest.mark.parametrize("repeated", [False, True])
def test_scatter_add_at_constant_indices(repeated: bool) -> None:
    rows = np.array([0, 1, 2, 0 if repeated else 3])
    cols = np.array([1, 0, 2, 1 if repeated else 3])
    node = ScatterAdd((("array", 0), ("array", 1)), (4, 4), True, 2)(
        ga.placeholder("g", shape=(4,)), ga.constant(rows), ga.constant(cols)
    )
    assert (node.op.compute_for(node) == node.op.compute) is repeated  # repeats accumulate
    g = np.array([-0.0, 1.5, np.nan, 2.0])  # -0.0 into zeros is 0.0, as np.add.at adds it
    _same_bits(*_both(node, g, rows, cols))


def test_scatter_add_and_scatter_sum_of_basic_indices() -> None:
    g = ga.placeholder("g", shape=(3, 4))
    node = ScatterAdd((("slice", None, None, None), ("slice", 1, None, None)), (3, 5))(g)
    gv = np.random.default_rng(1).normal(size=(3, 4))
    gv[0, 0] = -0.0
    _same_bits(*_both(node, gv))
    parts = ((("slice", None, None, None), ("slice", None, -1, None)), None)
    h = ga.placeholder("h", shape=(3, 5))
    summed = ScatterSum((parts[0], None), (3, 5))(g, h)
    _same_bits(*_both(summed, gv, np.ones((3, 5))))
    first_whole = ScatterSum((None, parts[0]), (3, 5))(h, g)
    _same_bits(*_both(first_whole, np.full((3, 5), -0.0), gv))


def test_small_products_and_sums() -> None:
    x, y = ga.placeholder("x", shape=(2, 3)), ga.placeholder("y", shape=(3,))
    product = ga.multiply_no_nan(x, y)
    assert isinstance(product.op, MultiplyNoNan)
    xv = np.array([[0.0, 1.0, -0.0], [2.0, np.inf, 3.0]])
    yv = np.array([np.inf, 0.0, np.nan])
    with np.errstate(invalid="ignore"):  # 0·inf: the NaN that the product then mends
        _same_bits(*_both(product, xv, yv))
    total = AddN()(x, x, x)
    _same_bits(*_both(total, xv, xv, xv))


def test_a_large_result_keeps_the_pool_path() -> None:
    x = ga.placeholder("x", shape=(300, 300))
    product = ga.multiply_no_nan(x, x)
    assert product.op.compute_for(product) == product.op.compute


def test_a_new_compute_drops_the_inherited_specialisation() -> None:
    class Doubled(MultiplyNoNan):
        def compute(self, x: Any, y: Any) -> Any:
            return 2 * np.multiply(x, y)

    node = Doubled()(ga.placeholder("x", shape=(2,)), ga.placeholder("y", shape=(2,)))
    assert node.op.compute_for(node) == node.op.compute


def test_scatter_sums_whose_parts_tile_the_result() -> None:
    """Terms that tile the result along one axis (ints and slices, disjoint, covering it)
    are written in place plus 0.0, without a fill of zeros: compute's bits, -0.0 made 0.0
    as there; a gap, an overlap or a whole term keeps compute."""
    rng = np.random.default_rng(2)
    full = ("slice", None, None, None)
    at = [(full, ("ellipsis",), ("slice", 2, 4, None)), (full, ("ellipsis",), ("int", -1))]
    at.append((full, full, ("slice", None, 2, None)))
    terms = [ga.placeholder(f"t{k}", shape=(None, 3, n)) for k, n in enumerate((2, 0, 2))]
    terms[1] = ga.placeholder("t1", shape=(None, 3))
    node = ScatterSum(tuple(at), (None, 3, 5))(*terms)
    kernel = node.op.compute_for(node)
    assert kernel != node.op.compute
    for p in (7, 900):  # C order; a long batch, laid out batch last
        values = [rng.normal(size=(p, 3, 2)), rng.normal(size=(p, 3)), rng.normal(size=(p, 3, 2))]
        values[0][0, 0, 0] = values[1][1, 1] = -0.0
        if p > 64:
            values = [np.moveaxis(np.array(np.moveaxis(v, 0, -1)), -1, 0) for v in values]
        _same_bits(*_both(node, *values))
    h = ga.placeholder("h", shape=(None, 3, 5))
    t0, t1, t2 = terms
    gap = ScatterSum((at[0], at[2]), (None, 3, 5))(t0, t2)
    overlap = ScatterSum((at[0], at[0], at[1], at[2]), (None, 3, 5))(t0, t0, t1, t2)
    whole = ScatterSum((at[0], at[1], at[2], None), (None, 3, 5))(t0, t1, t2, h)
    for other in (gap, overlap, whole):
        assert other.op.compute_for(other) == other.op.compute
