"""Errors: one hierarchy, raised at construction or before any kernel runs, with their content."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.ir import Op, TensorType

HERE = "test_errors.py"


def _line() -> int:
    return sys._getframe(1).f_lineno


@dataclass(frozen=True)
class Counted(Op):
    """The identity (as a fresh array) that logs each kernel call in ``calls``."""

    calls: list[str] = field(compare=False, hash=False, repr=False)

    def infer(self, x: TensorType) -> TensorType:
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        self.calls.append("ran")
        return np.array(x, copy=True)


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


# -- at run time, before anything runs -----------------------------------------
def _graph() -> tuple[list[str], dict[str, ga.Node], ga.Node]:
    calls: list[str] = []
    ph = {
        "x": ga.placeholder("x", shape=(3,)),
        "w": ga.placeholder("w", shape=(3,)),
        "n": ga.placeholder("n", shape=(), dtype="int64"),
    }
    y = Counted(calls)(ph["x"]) * ph["w"] + ph["n"]
    return calls, ph, y


def test_all_missing_feeds_are_named_at_once() -> None:
    calls, _, y = _graph()
    with pytest.raises(ga.FeedError) as info:
        ga.evaluate(y, {"w": np.ones(3)})
    message = str(info.value)
    assert "missing" in message and "'x'" in message and "'n'" in message
    assert "'w'" not in message
    assert calls == []


def test_unknown_feed_names() -> None:
    calls, _, y = _graph()
    feed = {"x": np.ones(3), "w": np.ones(3), "n": 1, "wieght": np.ones(3), "bias": 0.0}
    with pytest.raises(ga.FeedError) as info:
        ga.evaluate(y, feed)
    message = str(info.value)
    assert "'wieght'" in message and "'bias'" in message
    assert calls == []


def test_wrong_feed_shape() -> None:
    calls, ph, y = _graph()
    with pytest.raises(ga.FeedError) as info:
        ga.evaluate(y, {ph["x"]: np.ones(3), ph["w"]: np.ones((3, 1)), ph["n"]: 1})
    message = str(info.value)
    assert "'w'" in message and "(3,)" in message and "(3, 1)" in message
    assert calls == []


def test_wrong_feed_dtype() -> None:
    calls, ph, y = _graph()
    with pytest.raises(ga.FeedError) as info:
        ga.evaluate(y, {ph["x"]: np.ones(3), ph["w"]: np.ones(3), ph["n"]: 1.5})
    message = str(info.value)
    assert "'n'" in message and "int64" in message and "float64" in message
    assert calls == []


def test_fed_shape_that_contradicts_the_graph_fails_before_any_kernel() -> None:
    calls: list[str] = []
    p = ga.placeholder("p", shape=(None, 3))
    q = ga.placeholder("q", shape=(None, 2))
    line = _line() + 1
    y = Counted(calls)(p) @ q
    with pytest.raises(ga.GraphError) as info:
        ga.evaluate(y, {p: np.ones((2, 3)), q: np.ones((4, 2))})
    message = str(info.value)
    for part in ("matmul", "(2, 3)", "(4, 2)", f"{HERE}:{line}"):
        assert part in message, message
    assert calls == []
    np.testing.assert_array_equal(ga.evaluate(y, {p: np.ones((2, 3)), q: np.ones((3, 2))}), 3.0)


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
