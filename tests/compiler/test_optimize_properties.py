"""Property tests of the rewrites over random expression graphs and their derivatives.

The graphs come from the stack-machine generator of ``tests/autodiff/test_random_graphs.py``;
each is taken with its gradient and a Hessian-vector product (first and second derivatives).
"""

from __future__ import annotations

import numpy as np
from autodiff.test_random_graphs import PROPERTY, Program, instantiate, programs, scalar
from hypothesis import given

import graphad as ga
from graphad.compiler import optimize
from graphad.ir import topo_sort


def size(nodes: list[ga.Node]) -> int:
    """How many nodes the graph behind ``nodes`` has."""
    return len(topo_sort(nodes))


def fetches(program: Program) -> tuple[list[ga.Node], dict]:
    inst = instantiate(program)
    s = scalar(inst)
    gx, gw = ga.gradients(s, [inst.x, inst.w])
    v = inst.rng.standard_normal(program.x_shape)
    hv = ga.hvp(s, inst.x, v)
    return [inst.y, s, gx, gw, hv], inst.feeds


def agree(a: list, b: list, program: Program, rtol: float = 1e-9) -> None:
    for got, want in zip(a, b):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-12, err_msg=str(program))


@PROPERTY
@given(programs())
def test_optimised_and_unoptimised_agree(program: Program) -> None:
    nodes, feeds = fetches(program)
    agree(ga.evaluate(nodes, feeds), ga.evaluate(nodes, feeds, optimize=False), program)


@PROPERTY
@given(programs())
def test_optimising_never_grows_the_graph_and_is_idempotent(program: Program) -> None:
    nodes, _ = fetches(program)
    once = optimize(nodes)
    assert size(once) <= size(nodes), str(program)
    twice = optimize(once)
    assert all(a is b for a, b in zip(once, twice)), str(program)
    assert all(once[i].type == nodes[i].type for i in range(len(nodes)))


@PROPERTY
@given(programs())
def test_generated_code_and_the_interpreter_agree(program: Program) -> None:
    nodes, feeds = fetches(program)
    for optimized in (True, False):
        generated = ga.Executor(nodes, optimize=optimized)
        interpreted = ga.Executor(nodes, optimize=optimized, debug=True)
        pairs = zip(generated.steps, interpreted.steps)
        assert len(generated.steps) == len(interpreted.steps)
        # each Executor optimises afresh: equal plans, not the same node objects
        assert all(a.node.op == b.node.op and a.node.type == b.node.type for a, b in pairs)
        agree(generated.run(feeds), interpreted.run(feeds), program, rtol=1e-13)


def test_higher_derivatives_shrink_and_keep_their_values() -> None:
    x = ga.placeholder("x", shape=())
    y = ga.sin(x) * ga.exp(x) / (1 + x * x)
    d = ga.derivative(y, x, order=4)
    small = optimize(d)
    assert size([small]) < 0.6 * size([d])
    for v in (-1.3, 0.0, 0.7):
        np.testing.assert_allclose(
            ga.evaluate(small, {x: v}, optimize=False), ga.evaluate(d, {x: v}, optimize=False)
        )


def test_nested_derivatives_optimise_to_a_fixpoint_in_one_call() -> None:
    """Laws that need a single use apply once the graph has shrunk around a node: one call
    reaches what a second call would (the 4th derivative of W6's function)."""
    x = ga.placeholder("x", shape=())
    d4 = ga.derivative(ga.sin(x) * ga.exp(x) / (1 + x * x), x, order=4)
    once = optimize(d4)
    assert optimize(once) is once
    assert size([once]) < size([d4]) // 2
