"""Long chains cost work in proportion to their length.

Counted, never timed: each node is simplified once, each value planned once, a chain
step makes its nodes with one look-up of the user's line per op, shares one node per
scalar constant, its gradient makes one product per step, and the shortcuts taken for
speed give what the long way gives.
"""

from __future__ import annotations

import copy
import gc
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.compiler import driver
from graphad.compiler.patterns import splat
from graphad.compiler.plan import Plan
from graphad.ir import node as node_module
from graphad.ir import topo_sort
from graphad.ir._gc import collection_paused
from graphad.ops.elementwise import Multiply
from graphad.ops.reduction import Sum

N = 2_000


def chain(n: int) -> tuple[ga.Node, ga.Node]:
    x = ga.placeholder("x", shape=(3,))
    c = ga.constant(0.999)
    v = x
    for i in range(n):
        v = ga.sin(v) if i % 2 else v * c
    return x, ga.sum(v)


def test_rewriting_a_chain_gradient_simplifies_each_node_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x, y = chain(N)
    g = ga.gradients(y, x)
    calls = 0
    simplify = driver.simplify

    def counted(node: ga.Node, uses: Any, rules: Any, *mode: Any) -> ga.Node | None:
        nonlocal calls
        calls += 1
        return simplify(node, uses, rules, *mode)

    monkeypatch.setattr(driver, "simplify", counted)
    out = driver.rewrite([y, g])
    # every node of the result was simplified once, plus the few that rules replaced
    assert calls <= len(topo_sort([y, g])) + 10
    ex = ga.Executor(out, optimize=False)
    want = ga.Executor([y, g], optimize=False).run({x: np.ones(3)})
    np.testing.assert_allclose(ex.run({x: np.ones(3)})[1], want[1], rtol=1e-12)


def test_a_plan_frees_each_value_after_its_last_consumer_and_keeps_constants() -> None:
    x = ga.placeholder("x", shape=(3,))
    c = ga.constant(2.0)
    a = ga.sin(x) * c
    b = ga.cos(a) + a
    plan = Plan([b, a])
    freed = {i: step.out for step in plan.steps for i in step.frees}
    last = {}
    for step in plan.steps:
        for i in step.ins:
            last[i] = step.out
    slot = plan.slot
    assert plan.initial[slot[c]] is c.op.value and slot[c] not in freed
    assert slot[a] not in freed and slot[b] not in freed  # fetched
    assert freed == {i: s for i, s in last.items() if i not in (slot[c], slot[a])}


@pytest.mark.parametrize(
    "value, want",
    [(np.full(5, 3.0), 3.0), (np.array([1.0, 2.0]), None), (np.array([np.nan]), None)],
)
def test_a_constants_splat_is_found_when_it_is_made(value: np.ndarray, want: object) -> None:
    c = ga.constant(value)
    assert splat(c) == want if want is not None else splat(c) is None
    assert c.op.splat is splat(c)  # a fact the constant states: no cache written later
    big = ga.constant(np.full(65, 3.0))  # past the limit: not checked entry by entry
    assert big.op.splat is None and splat(big) is None


def test_gradients_pauses_collection_and_restores_it() -> None:
    x, y = chain(10)
    assert gc.isenabled()
    ga.gradients(y, x)
    assert gc.isenabled()
    gc.disable()
    try:
        ga.gradients(y, x)
        assert not gc.isenabled()  # a caller's own pause is left as it was
    finally:
        gc.enable()
    with pytest.raises(ga.GraphError):
        ga.gradients(y, ga.placeholder("z", shape=(2,)), unconnected="raise")
    assert gc.isenabled()


def test_topo_sort_is_first_input_first_post_order_on_a_diamond() -> None:
    x = ga.placeholder("x", shape=())
    a, b = ga.sin(x), ga.cos(x)
    ab = a * b
    d = ab + b
    assert topo_sort([d]) == [x, a, b, ab, d]
    assert topo_sort([b, d]) == [x, b, a, ab, d]


# -- what one step of a chain costs ------------------------------------------------------
def affine(n: int) -> tuple[ga.Node, ga.Node]:
    """``h = h * 1.0001 + 0.1``, n times: two ops and two scalar constants a step."""
    x = ga.placeholder("x", shape=(3,))
    h = x
    for _ in range(n):
        h = h * 1.0001 + 0.1
    return x, ga.sum(h)


def nodes_made(fn: Callable[[], object]) -> int:
    """How many nodes ``fn`` makes (node ids are drawn from one counter)."""
    before = ga.constant(0.0).id
    fn()
    return ga.constant(0.0).id - before - 1


def test_a_chain_step_makes_its_two_nodes_with_one_line_lookup_per_op(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    walks = 0
    frame = node_module._user_frame

    def counted() -> tuple[str, int]:
        nonlocal walks
        walks += 1
        return frame()

    monkeypatch.setattr(node_module, "_user_frame", counted)
    made = nodes_made(lambda: affine(N))
    assert made == 2 * N + 2 + 2  # two ops a step; its two constants once; x and the sum
    # one per op call (its scalar's constant shares it), x's and the sum's, and one for
    # each of the two probe constants of nodes_made
    assert walks == 2 * N + 2 + 2


def test_a_line_shares_the_node_of_each_scalar_other_lines_and_passes_make_their_own() -> None:
    x, y = affine(50)
    order = topo_sort([y])
    products = [n for n in order if type(n.op) is Multiply]
    scales = [n.inputs[1] for n in products]
    assert len(products) == 50 and len(set(scales)) == 1  # one node for the number and line
    assert len({id(n.type) for n in products}) == 1 and products[0].type is x.type
    assert scales[0].origin.location.startswith("test_scale.py:")
    elsewhere = (x * 1.0001).inputs[1]  # another line: its own node, the same read-only op
    assert elsewhere is not scales[0] and elsewhere.op is scales[0].op
    with node_module.derivation("reverse", 1):  # a pass's nodes are its own to annotate
        a, b = x * 2.0, x * 2.0
    assert a.inputs[1] is not b.inputs[1] and a.inputs[1].op is b.inputs[1].op


@pytest.mark.parametrize("a, b", [(0.0, -0.0), (1, 1.0), (True, 1), (2.0, np.float64(2.0))])
def test_shared_scalar_constants_keep_kind_sign_and_dtype_apart(a: object, b: object) -> None:
    for dtype in ("float32", "int32"):
        x = ga.placeholder("x", shape=(3,), dtype=dtype)
        for value in (a, b, a):  # a again: after b, from the shared ops, not confused with b
            c = (x * value).inputs[1]
            assert c.dtype == np.result_type(np.dtype(dtype), value)
            assert c.op.value == value and np.signbit(c.op.value) == np.signbit(value)
    x = ga.placeholder("x", shape=(3,))
    assert (x * 0.0).inputs[1].op is not (x * -0.0).inputs[1].op


def test_gradients_of_a_chain_make_one_product_a_step() -> None:
    x, y = affine(N)
    # x̄ of h·c is g·c; the constant c leads to no x, so no g·h is built for it
    made = nodes_made(lambda: ga.gradients(y, x))
    assert N <= made <= N + 5  # plus the seed and the sum's broadcast


def test_a_rewrite_looks_the_users_line_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = affine(200)
    g = ga.gradients(y, x)
    walks = 0
    frame = node_module._user_frame

    def counted() -> tuple[str, int]:
        nonlocal walks
        walks += 1
        return frame()

    monkeypatch.setattr(node_module, "_user_frame", counted)
    made = nodes_made(lambda: ga.optimize([y, g]))
    # it folds a constant per step, all under one walk (and one per probe of nodes_made)
    assert made > 200 and walks == 1 + 2


def test_attributeless_ops_are_one_instance_and_ops_with_attributes_are_not() -> None:
    assert Multiply() is Multiply()
    assert pickle.loads(pickle.dumps(Multiply())) is Multiply()
    assert copy.deepcopy(Multiply()) is Multiply()
    assert Sum() is not Sum() and Sum(axis=0) == Sum(axis=0)  # attributes with defaults
    x = ga.placeholder("x", shape=(3,))
    assert (x * x).op is (x * 2.0).op


def test_what_a_paused_block_made_is_handed_to_the_oldest_generation() -> None:
    assert gc.isenabled()
    with collection_paused():
        made = [[i] for i in range(1000)]
    assert any(o is made for o in gc.get_objects(generation=2))
    # a program that froze objects itself keeps them frozen
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collection_paused():
            [[i] for i in range(10)]
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
