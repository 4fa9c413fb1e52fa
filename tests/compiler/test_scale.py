"""Issue 7 item 15: long chains cost work in proportion to their length.

Counted, never timed: each node is simplified once, each value planned once, and the
shortcuts taken for speed give what the long way gives.
"""

from __future__ import annotations

import gc
from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.compiler import driver
from graphad.compiler.patterns import splat
from graphad.compiler.plan import Plan
from graphad.ir import topo_sort

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

    def counted(node: ga.Node, uses: Any, rules: Any) -> ga.Node | None:
        nonlocal calls
        calls += 1
        return simplify(node, uses, rules)

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
