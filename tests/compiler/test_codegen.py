"""Generated code: what it runs, how it fails, and the interpreted path beside it."""

from __future__ import annotations

import pickle
import threading
from dataclasses import dataclass

import numpy as np
import pytest

import graphad as ga
from graphad.compiler.codegen import Program
from graphad.compiler.plan import Plan
from graphad.ir import Node, Op, TensorType


@dataclass(frozen=True)
class Fails(Op):
    """A kernel that raises."""

    def infer(self, x: TensorType) -> TensorType:
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        raise ValueError("boom")


@dataclass(frozen=True)
class Liar(Op):
    """Declares its operand's type and returns five entries."""

    def infer(self, x: TensorType) -> TensorType:
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.zeros(5)


@dataclass(frozen=True)
class Doubled(Op):
    """A custom op that keeps its contract."""

    def infer(self, x: TensorType) -> TensorType:
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        return 2.0 * x


def test_a_kernel_error_inside_generated_code_names_the_node_and_the_users_line() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.sin(Fails()(ga.exp(x)))  # this line
    line = y.inputs[0].origin.location
    assert line.startswith("test_codegen.py:")
    with pytest.raises(ga.ExecutionError) as info:
        ga.Executor(y).run({x: np.ones(3)})
    message = str(info.value)
    assert "fails failed on inputs of shape (3,): boom" in message
    assert y.inputs[0].name in message and line in message
    assert isinstance(info.value.__cause__, ValueError)


def test_a_numpy_error_in_a_generated_ufunc_line_names_its_node() -> None:
    a = ga.placeholder("a", shape=(None,))
    b = ga.placeholder("b", shape=(None,))
    s = ga.sin(a)
    y = s + ga.cos(b)  # shapes (2,) and (3,) meet only at run time
    with pytest.raises(ga.GraphError) as info:
        ga.evaluate(y, {a: np.ones(2), b: np.ones(3)})
    assert "test_codegen.py" in str(info.value)


def test_a_custom_op_that_breaks_its_own_infer_is_named() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = Liar()(x) * 2.0
    for debug in (False, True):
        with pytest.raises(ga.ExecutionError, match=r"liar returned shape \(5,\) where it "):
            ga.Executor(y, debug=debug).run({x: np.ones(3)})


def test_debug_names_the_node_that_first_made_a_nan() -> None:
    x = ga.placeholder("x", shape=(2,))
    y = ga.exp(ga.log(x) * 2.0)
    g = ga.gradients(ga.sum(y), x)
    v = np.array([1.0, -1.0])
    assert np.isnan(ga.evaluate(g, {x: v})[1])  # the generated path computes quietly
    with pytest.raises(ga.ExecutionError) as info:
        ga.Executor(g, debug=True).run({x: v})
    message = str(info.value)
    assert message.startswith("log made NaN or inf from finite inputs")
    assert "user code" in message and "test_codegen.py" in message


def test_scalar_float_code_falls_back_to_numpy_where_python_raises() -> None:
    x = ga.placeholder("x", shape=())
    y = ga.log(x) + 1.0 / x + ga.exp(x)
    ex = ga.Executor(y)
    assert ex._program is not None and ex._program.fast is not None
    assert "= log(v" in "".join(c.source for c in ex._program.fast)  # the scalar formula
    np.testing.assert_allclose(ex.run({x: 2.0}), np.log(2.0) + 0.5 + np.exp(2.0), rtol=1e-15)
    assert ex.run({x: 0.0}) == -np.inf or np.isnan(ex.run({x: 0.0}))  # NumPy's answer
    with np.errstate(all="ignore"):
        want = np.log(np.float64(0.0)) + np.float64(1.0) / np.float64(0.0) + 1.0
    np.testing.assert_equal(ex.run({x: 0.0}), want)
    assert isinstance(ex.run({x: 2.0}), np.float64)


def test_buffers_are_reused_only_where_nobody_else_sees_them() -> None:
    x = ga.placeholder("x", shape=(1000,))
    a = ga.sin(x)
    b = ga.exp(a) * 2.0
    kept = ga.reshape(a, (10, 100))  # a view of a: a's buffer must not be overwritten
    ex = ga.Executor([b + 1.0, kept])
    source = "".join(c.source for c in ex._program.general)
    v = np.linspace(0, 1, 1000)
    got_b, got_kept = ex.run({x: v})
    np.testing.assert_allclose(got_b, np.exp(np.sin(v)) * 2 + 1)
    np.testing.assert_allclose(got_kept, np.sin(v).reshape(10, 100))
    assert "out=" in source  # b's buffers are reused
    chain = ga.Executor(ga.tanh(ga.exp(ga.sin(x)) * 3.0))
    assert "".join(c.source for c in chain._program.general).count("out=") == 3
    np.testing.assert_allclose(chain.run({x: v}), np.tanh(np.exp(np.sin(v)) * 3))
    np.testing.assert_array_equal(v, np.linspace(0, 1, 1000))  # the feed is untouched


def test_programs_keep_no_code_in_their_state_and_compile_again() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.sin(x) * 2.0
    program = Program(Plan([y, ga.sum(Doubled()(x))]))  # a custom op: its kernel is checked
    state = program.__getstate__()
    assert not any(k.startswith("_fn") for k in state)
    pickle.dumps(state["namespace"])  # kernels (checked ones too), ufuncs, constants
    again = Program.__new__(Program)
    again.__setstate__(state)
    slots = list(again.plan.initial)
    slots[again.plan.slot[again.plan.placeholders[0]]] = np.ones(3)
    again.run(slots)
    np.testing.assert_allclose(slots[again.plan.fetch_slots[0]], 2 * np.sin(np.ones(3)))


def test_many_threads_may_run_one_executor() -> None:
    x = ga.placeholder("x", shape=(50,))
    y = ga.sum(ga.tanh(ga.sin(x) * 1.5) ** 2)
    ex = ga.Executor([y, ga.gradients(y, x)])
    errors: list[BaseException] = []

    def work(k: int) -> None:
        v = np.linspace(-1, 1, 50) * k
        try:
            for _ in range(50):
                got, _ = ex.run({x: v})
                assert np.isclose(got, np.sum(np.tanh(np.sin(v) * 1.5) ** 2))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(1, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_long_chains_are_chunked_and_huge_ones_interpreted() -> None:
    x = ga.placeholder("x", shape=(2,))
    y: Node = x
    for _ in range(1500):
        y = ga.cos(y)
    ex = ga.Executor(y)
    assert ex._program is not None and len(ex._program.general) == 3
    v = np.array([0.1, 0.2])
    want = v
    for _ in range(1500):
        want = np.cos(want)
    np.testing.assert_allclose(ex.run({x: v}), want)
    assert ex.peak_live <= 3


def test_a_chain_past_the_codegen_limit_is_optimised_planned_and_interpreted() -> None:
    x = ga.placeholder("x", shape=(3,))
    y: Node = x
    for i in range(25_000):
        y = ga.sin(y) if i % 2 else y * 1.0001
    ex = ga.Executor(y)
    assert len(ex.steps) == 25_000 and ex._program is None  # interpreted, not compiled
    assert ex.peak_live <= 3
    assert np.all(np.isfinite(ex.run({x: np.ones(3)})))


def test_cond_branches_are_rewritten_and_lowered_into_the_code_around_them() -> None:
    w = ga.placeholder("w", shape=())
    x = ga.placeholder("x", shape=(3,))
    y = ga.cond(
        w > 0, lambda a, b: ga.sum(ga.sin(b) * 1.0) * a, lambda a, b: ga.sum(b + 0.0), [w, x]
    )
    optimised = ga.optimize(y)
    true, false = optimised.op.branches
    assert "multiply" not in [n.op.name for n in ga.ir.topo_sort([true.output]) if n.inputs][:2]
    assert [n.op.name for n in ga.ir.topo_sort([false.output]) if n.inputs] == ["sum"]
    ex = ga.Executor([y, ga.gradients(y, x)])
    source = "".join(c.source for c in ex._program.general)
    assert "if " in source and "np_sin(" in source  # the branch's ops are generated code
    v = np.array([0.5, -1.0, 2.0])
    got, g = ex.run({w: 2.0, x: v})
    np.testing.assert_allclose([got, *g], [2 * np.sum(np.sin(v)), *(2 * np.cos(v))])
    got, g = ex.run({w: -2.0, x: v})
    np.testing.assert_allclose([got, *g], [np.sum(v), 1.0, 1.0, 1.0])


def test_an_error_inside_a_lowered_branch_names_the_branch_node_and_its_line() -> None:
    w = ga.placeholder("w", shape=())
    x = ga.placeholder("x", shape=(3,))
    y = ga.cond(w > 0, lambda b: ga.sum(Fails()(b)), lambda b: ga.sum(b), [x])
    with pytest.raises(ga.ExecutionError, match=r"fails failed on inputs of shape \(3,\)") as info:
        ga.evaluate(y, {w: 1.0, x: np.ones(3)})
    assert "test_codegen.py" in str(info.value)
    assert ga.evaluate(y, {w: -1.0, x: np.ones(3)}) == 3.0
