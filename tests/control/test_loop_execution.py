"""How loops run: the forward loop once for a value and its gradient, the body as generated
Python inside one ``for``, checkpointing's memory, ``debug=True`` naming the step, Dask
stepping lazily, and Executors with loops pickling."""

from __future__ import annotations

import pickle
import re
import tracemalloc
from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.ir import topo_sort
from tests.control.counting import CALLS, Count, reset_calls  # noqa: F401 (an autouse fixture)

RNG = np.random.default_rng(186)


def rnn(steps: int | None, checkpoint: Any = None) -> tuple[list[ga.Node], ga.Node]:
    w = ga.placeholder("w", (4, 4))
    h0 = ga.placeholder("h0", (4,))
    xs = ga.placeholder("xs", (steps, 4))

    def step(h: ga.Node, x: ga.Node) -> tuple[ga.Node, ga.Node]:
        h = ga.tanh(w @ Count("body")(h) + x)
        return h, ga.sum(h)

    h, ys = ga.scan(step, h0, xs, checkpoint=checkpoint)
    return [w, h0, xs], ga.sum(h * h) + ga.sum(ys)


def feeds(steps: int, ps: list[ga.Node]) -> dict[ga.Node, np.ndarray]:
    w, h0, xs = ps
    return {
        w: RNG.normal(size=(4, 4)) * 0.4,
        h0: RNG.normal(size=4),
        xs: RNG.normal(size=(steps, 4)),
    }


def loops(*fetches: ga.Node) -> list[ga.Node]:
    return [n for n in topo_sort(list(fetches)) if n.op.control == "loop"]


def test_a_value_and_its_gradient_run_the_forward_loop_once() -> None:
    ps, y = rnn(6)
    g = ga.gradients(y, ps[0])
    ex = ga.Executor([y, g])
    ex.run(feeds(6, ps))
    assert CALLS["body"] == 6  # not 12: the loop saving residuals is the value's loop
    assert len(loops(*ex.order)) == 2  # one forward loop, one backward loop
    CALLS.clear()
    ga.Executor([y, g], optimize=False).run(feeds(6, ps))  # as built: the twin runs apart
    assert CALLS["body"] == 12


def test_value_gradient_and_hessian_vector_product_share_one_forward_loop() -> None:
    ps, y = rnn(5)
    w = ps[0]
    g = ga.gradients(y, w)
    hv = ga.jvp(g, w, np.ones((4, 4)))
    ex = ga.Executor([y, g, hv])
    ex.run(feeds(5, ps))
    assert CALLS["body"] <= 2 * 5  # the loop over (carry, tangent) runs the body once more


def test_checkpointing_replays_the_forward_steps_once_more() -> None:
    ps, y = rnn(9, checkpoint=3)
    g = ga.gradients(y, ps)
    plain_ps, plain_y = rnn(9)
    values = feeds(9, ps)
    got = ga.Executor([y, *g]).run(values)
    assert CALLS["body"] == 18  # 9 forward steps, then each stretch of 3 replayed once
    want = ga.Executor([plain_y, *ga.gradients(plain_y, plain_ps)]).run(
        dict(zip(plain_ps, values.values()))
    )
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)  # the same operations in the same order


def test_checkpointing_holds_a_fraction_of_the_memory() -> None:
    steps = 4000
    peaks = {}
    for policy in (None, "sqrt"):
        ps, y = rnn(steps, checkpoint=policy)
        w = ps[0]
        ex = ga.Executor(ga.gradients(y, w))
        values = feeds(steps, ps)
        ex.run(values)  # compiled and warm
        tracemalloc.start()
        ex.run(values)
        peaks[policy] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    # every carry (and per-step value) is stored without; ~2√T rows of them with
    assert peaks["sqrt"] < 0.2 * peaks[None], peaks


def test_the_loop_is_a_python_for_over_the_bodys_generated_code() -> None:
    _ps, y = rnn(5)
    ex = ga.Executor(y)
    (loop,) = loops(*ex.order)
    source = loop.op.program.stepper.general[0].source
    assert "for j in range(n):" in source
    assert "slots" not in source  # locals, not a slot list
    assert "Y0[j] = " in source  # the per-step output into its preallocated row
    assert "np_tanh(" in source and "np_add(" in source  # ufuncs called directly


def test_a_reversed_unrolled_loop_runs_its_steps_in_groups() -> None:
    xs = ga.placeholder("xs", (None,))
    c, ys = ga.scan(lambda c, x: (c * 2.0 + x, c), 0.0, xs, reverse=True, unroll=4)
    ex = ga.Executor([c, ys])
    for steps in (0, 3, 4, 9):
        xv = RNG.normal(size=steps)
        got_c, got_ys = ex.run({xs: xv})
        want, rows = 0.0, np.zeros(steps)
        for t in reversed(range(steps)):
            rows[t] = want
            want = want * 2.0 + xv[t]
        assert got_c == want
        np.testing.assert_array_equal(got_ys, rows)


def test_debug_names_the_step_where_a_nan_appears() -> None:
    xs = ga.placeholder("xs", (None,))
    c, _ = ga.scan(lambda c, x: (c + ga.log(x), c), 0.0, xs)
    values = {xs: np.array([1.0, 2.0, -1.0, 3.0])}
    assert np.isnan(ga.Executor(c).run(values))  # NumPy's semantics: NaN, no error
    with pytest.raises(ga.ExecutionError, match=r"scan made at .*, step 2: log made NaN"):
        ga.Executor(c, debug=True).run(values)


def test_debug_names_the_step_in_a_gradients_backward_loop() -> None:
    xs = ga.placeholder("xs", (None,))
    c, _ = ga.scan(lambda c, x: (c * ga.sqrt(x), None), 1.0, xs)
    g = ga.gradients(c, xs)
    with pytest.raises(ga.ExecutionError, match=r"step 1: .*made NaN or inf") as e:
        ga.Executor(g, debug=True).run({xs: np.array([1.0, 0.0, 4.0])})
    assert "reverse pass, order 1" in str(e.value)


def test_debug_and_generated_runs_agree_on_loops_of_every_kind() -> None:
    ps, y = rnn(4, checkpoint=2)
    x = ga.placeholder("x", ())
    w = ga.while_loop(lambda v: v < 9.0, lambda v: v * 1.7 + 0.1, x, max_steps=30)
    fetches = [y, *ga.gradients(y, ps), w, ga.gradients(w, x)]
    values = {**feeds(4, ps), x: np.array(0.2)}
    fast = ga.Executor(fetches).run(values)
    checked = ga.Executor(fetches, debug=True).run(values)
    for a, b in zip(fast, checked):
        np.testing.assert_allclose(a, b, rtol=1e-14)


def test_an_executor_with_loops_pickles_and_runs_alike() -> None:
    ps, y = rnn(None, checkpoint="sqrt")
    ex = ga.Executor([y, ga.gradients(y, ps[0])])
    values = feeds(7, ps)
    copy = pickle.loads(pickle.dumps(ex))
    by_name = {p.name: v for p, v in values.items()}
    for a, b in zip(ex.run(values), copy.run(by_name)):
        np.testing.assert_array_equal(a, b)
    (loop,) = loops(*ex.order)[:1]
    program = pickle.loads(pickle.dumps(loop.op.program))  # the compiled loop on its own
    names = re.compile(r"\b([ckd])\d+")  # constants and kernels are named by node ids

    def source(p: Any) -> str:
        return names.sub(r"\1", p.stepper.general[0].source)

    assert source(program) == source(loop.op.program)


def test_dask_runs_loops_step_by_step_lazily() -> None:
    da = pytest.importorskip("dask.array")
    ps, y = rnn(5, checkpoint=2)
    x = ga.placeholder("x", ())
    w = ga.while_loop(lambda v: v < 9.0, lambda v: v * 1.7 + 0.1, x, max_steps=30)
    fetches = [y, *ga.gradients(y, ps), w, ga.gradients(w, x)]
    values = {**feeds(5, ps), x: np.array(0.2)}
    want = ga.Executor(fetches).run(values)
    ex = ga.Executor(fetches, backend="dask")
    lazy = ex.run({k: da.from_array(v) for k, v in values.items()})
    assert all(hasattr(v, "__dask_graph__") for v in lazy)  # the steps built a graph
    got = ex.run(values, compute=True)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-13)
