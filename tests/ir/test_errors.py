"""Errors: one hierarchy, raised at construction or before any kernel runs, with their content."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import graphad as ga

HERE = "test_errors.py"


def _line() -> int:
    return sys._getframe(1).f_lineno


@pytest.mark.parametrize(
    "error",
    [
        ga.ShapeError,
        ga.DTypeError,
        ga.AxisError,
        ga.IndexingError,
        ga.FeedError,
        ga.DifferentiationError,
        ga.ExecutionError,
    ],
)
def test_every_error_derives_from_graph_error(error: type[Exception]) -> None:
    assert issubclass(error, ga.GraphError)


# -- at construction -----------------------------------------------------------
def test_matmul_of_impossible_shapes() -> None:
    a = ga.placeholder("a", shape=(2, 3))
    b = ga.placeholder("b", shape=(4, 5))
    line = _line() + 2
    with pytest.raises(ga.ShapeError) as info:
        _ = a @ b
    message = str(info.value)
    for part in ("matmul", "(2, 3)", "(4, 5)", f"{HERE}:{line}"):
        assert part in message, message


def test_broadcast_of_impossible_shapes() -> None:
    a = ga.placeholder("a", shape=(2, 3))
    line = _line() + 2
    with pytest.raises(ga.ShapeError) as info:
        ga.add(a, np.ones((4, 3)))
    message = str(info.value)
    for part in ("add", "(2, 3)", "(4, 3)", f"{HERE}:{line}"):
        assert part in message, message


def test_bad_axis() -> None:
    x = ga.placeholder("x", shape=(2, 3))
    line = _line() + 2
    with pytest.raises(ga.AxisError) as info:
        ga.sum(x, axis=5)
    message = str(info.value)
    for part in ("sum", "axis 5", "(2, 3)", f"{HERE}:{line}"):
        assert part in message, message
    with pytest.raises(ga.AxisError):
        x.mean(axis=-3)
    with pytest.raises(ga.AxisError):
        x.sum(axis=(1, 1))
    with pytest.raises(ga.AxisError):
        x.transpose(0, 2)


def test_bad_dtype() -> None:
    x = ga.placeholder("x", shape=(3,))
    line = _line() + 2
    with pytest.raises(ga.DTypeError) as info:
        ga.where(x, x, 0.0)
    message = str(info.value)
    for part in ("where", "bool", "float64", f"{HERE}:{line}"):
        assert part in message, message
    with pytest.raises(ga.DTypeError, match="exp"):
        ga.exp(x > 0)


def test_reshape_to_a_wrong_size() -> None:
    x = ga.placeholder("x", shape=(2, 3))
    line = _line() + 2
    with pytest.raises(ga.ShapeError) as info:
        x.reshape(4, 2)
    message = str(info.value)
    for part in ("reshape", "(2, 3)", "(4, 2)", f"{HERE}:{line}"):
        assert part in message, message
    with pytest.raises(ga.ShapeError):
        x.reshape(-1, 4)


def test_getitem_out_of_range() -> None:
    x = ga.placeholder("x", shape=(2, 3))
    line = _line() + 2
    with pytest.raises(ga.IndexingError) as info:
        _ = x[2]
    message = str(info.value)
    for part in ("getitem", "(2, 3)", "out of bounds", f"{HERE}:{line}"):
        assert part in message, message
    with pytest.raises(ga.IndexingError):
        _ = x[:, 3]
    with pytest.raises(ga.IndexingError):
        _ = x[0, 0, 0]


def test_errors_keep_their_python_kinds() -> None:
    x = ga.placeholder("x", shape=(2, 3))
    with pytest.raises(ValueError):  # ShapeError
        x.reshape(7)
    with pytest.raises(TypeError):  # DTypeError
        ga.where(x, x, x)
    with pytest.raises(IndexError):  # IndexingError
        _ = x[5]


# -- kernels that fail ---------------------------------------------------------
def test_singular_inverse_surfaces_as_an_execution_error() -> None:
    m = ga.placeholder("m", shape=(2, 2))
    line = _line() + 1
    y = ga.inv(m) * 2.0
    with pytest.raises(ga.ExecutionError) as info:
        ga.evaluate(y, {m: np.zeros((2, 2))})
    message = str(info.value)
    assert "inv" in message and f"{HERE}:{line}" in message, message


def test_run_time_reshape_failure_names_the_op_and_line() -> None:
    r = ga.placeholder("r", shape=(None,))
    line = _line() + 1
    y = r.reshape(-1, 2)
    np.testing.assert_array_equal(ga.evaluate(y, {r: np.arange(4.0)}).shape, (2, 2))
    with pytest.raises(ga.GraphError) as info:
        ga.evaluate(y, {r: np.arange(3.0)})
    message = str(info.value)
    assert "reshape" in message and f"{HERE}:{line}" in message, message


def test_differentiation_errors() -> None:
    x = ga.placeholder("x", shape=(2,))
    with pytest.raises(ga.DifferentiationError):
        ga.gradients(np.ones(2), x)
    with pytest.raises(ga.DifferentiationError):
        ga.gradients(ga.sum(x), [x, 3.0])
    with pytest.raises(ga.DifferentiationError):
        ga.gradients(x > 0, x)


def test_a_custom_infer_raising_a_plain_exception_is_named() -> None:
    @dataclass(frozen=True)
    class Picky(ga.Op):
        def infer(self, x: ga.TensorType) -> ga.TensorType:
            raise ValueError("no thanks")

    x = ga.placeholder("x", shape=(3,))
    with pytest.raises(
        ga.GraphError,
        match=r"picky\(\(3,\):float64\): ValueError: no thanks "
        r"\(test_errors.py:\d+\)",
    ):
        Picky()(x)


def test_a_string_index_on_a_tensor_is_an_indexing_error() -> None:
    x = ga.placeholder("x", shape=(3,))
    with pytest.raises(ga.IndexingError, match=r"getitem\(\(3,\):float64\).*'cow'.*test_errors"):
        x["cow"]


@pytest.mark.parametrize(
    "build",
    [
        lambda x: ga.sum(x, axis=(0, 1.7)),
        lambda x: ga.reshape(x, (6.0, 1)),
        lambda x: ga.argmax(x, axis=(0, 1)),
        lambda x: ga.broadcast_to(x, (None, 3)),
        lambda x: ga.swapaxes(x, 0, 5),
        lambda x: ga.trace(x, axis1=0, axis2=0),
        lambda x: ga.split(x, 5, axis=1),
    ],
    ids=["float_axis", "float_dim", "argmax_tuple", "none_dim", "swapaxes", "trace", "split"],
)
def test_argument_checks_name_the_op_and_the_line(build: Any) -> None:
    x = ga.placeholder("x", shape=(2, 3))
    with pytest.raises(ga.GraphError, match=r"\(2, 3\):float64\): .* \(test_errors.py:\d+\)"):
        build(x)


def test_sum_to_refuses_a_target_no_broadcast_made() -> None:
    g = ga.placeholder("g", shape=(2, 3))
    with pytest.raises(ga.ShapeError, match=r"cannot sum \(2, 3\) to \(4,\)"):
        ga.sum_to(g, (4,))
    assert ga.sum_to(g, (1, 3)).shape == (1, 3)


# -- every bad argument, at every layer ------------------------------------------
def _bad_calls() -> dict[str, tuple[type, object]]:
    a, m, x = ga.placeholder("a", (2, 3)), ga.placeholder("m", (3, 3)), ga.placeholder("x", (3,))
    i8, p = ga.placeholder("i8", (2,), dtype="int8"), ga.placeholder("p", (), dtype=bool)
    ex = ga.Executor(x)
    return {
        "run(array)": (ga.FeedError, lambda: ex.run(np.ones(3))),
        "run(list)": (ga.FeedError, lambda: ex.run([x])),
        "swapaxes(a, 0.0, 1)": (ga.AxisError, lambda: ga.swapaxes(a, 0.0, 1)),
        "trace(m, 0, 0.0, 1)": (ga.AxisError, lambda: ga.trace(m, 0, 0.0, 1)),
        "trace(m, 0.0)": (ga.AxisError, lambda: ga.trace(m, 0.0)),
        "split(a, 1.5)": (ga.AxisError, lambda: ga.split(a, 1.5)),
        "reshape(a, None)": (ga.ShapeError, lambda: ga.reshape(a, None)),
        "reshape(a, 'ab')": (ga.ShapeError, lambda: ga.reshape(a, "ab")),
        "transpose(a, 1)": (ga.AxisError, lambda: ga.transpose(a, 1)),
        "sum_to(a, None)": (ga.ShapeError, lambda: ga.sum_to(a, None)),
        "sum_to(a, 4)": (ga.ShapeError, lambda: ga.sum_to(a, 4)),
        "einsum(3, a)": (ga.GraphError, lambda: ga.einsum(3, a)),
        "a[[0, [1, 2]]]": (ga.IndexingError, lambda: a[[0, [1, 2]]]),
        "int8 + 1000": (ga.DTypeError, lambda: i8 + 1000),
        "constant(1000, int8)": (ga.DTypeError, lambda: ga.constant([1000], dtype="int8")),
        "TensorType nope": (ga.DTypeError, lambda: ga.TensorType((2,), "nope")),
        "jvp(5.0, x, t)": (ga.DifferentiationError, lambda: ga.jvp(5.0, x, np.ones(3))),
        "jvp(x, [x], 5)": (ga.DifferentiationError, lambda: ga.jvp(x, [x], 5.0)),
        "cond(p, 3, f)": (ga.GraphError, lambda: ga.cond(p, 3, lambda v: v, [x])),
        "concatenate(a)": (ga.ShapeError, lambda: ga.concatenate(a)),
        "add_n()": (ga.ShapeError, lambda: ga.add_n()),
    }


# issue 7 item 12: every bad argument is a GraphError, never a bare exception
@pytest.mark.parametrize("case", list(_bad_calls()))
def test_bad_arguments_raise_typed_errors(case: str) -> None:
    error, call = _bad_calls()[case]
    with pytest.raises(error) as info:
        call()
    if not case.startswith("TensorType"):  # a type is a value, made anywhere: no line to name
        assert HERE in str(info.value), str(info.value)


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("exp", lambda: ga.exp(None)),
        ("add", lambda: ga.add(ga.placeholder("x", (2,)), "s")),
        ("derivative", lambda: ga.derivative(ga.sin(_s()), _s(), order=-1)),
        ("jacobian", lambda: ga.jacobian(ga.sin(_s()), _s(), mode="x")),
        ("no_rules", lambda: ga.gradients(ga.sum(NoRules()(_s())), _s())),
        ("no_rules", lambda: ga.jvp(ga.sum(NoRules()(_s())), _s(), 1.0)),
    ],
)
def test_errors_name_the_op_and_the_line(name: str, call) -> None:
    with pytest.raises(ga.GraphError) as info:
        call()
    message = str(info.value)
    assert name in message and HERE in message, message


_S = ga.placeholder("s", shape=())


def _s() -> ga.Node:
    return _S


class NoRules(ga.Op):
    """A custom op with a kernel and a shape rule but no derivative rules."""

    def infer(self, x: ga.TensorType) -> ga.TensorType:
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        return x + 0


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda a: a[::0], ga.IndexingError),
        (lambda a: ga.broadcast_to(a, None), ga.ShapeError),
        (lambda a: ga.evaluate(a, {(1,): 1}), ga.FeedError),
    ],
    ids=["slice step 0", "broadcast_to None", "tuple feed key"],
)
def test_more_bad_arguments_are_typed_and_located(call, error) -> None:
    a = ga.placeholder("a", shape=(2, 3))
    with pytest.raises(error) as info:
        call(a)
    assert HERE in str(info.value)
