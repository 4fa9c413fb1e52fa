"""Kernels written as expressions in generated code (``Op.code``): each computes what the
op's ``compute`` does, on arrays and on the NumPy scalars ufuncs return for 0-d results; a
user's subclass with its own kernel loses the expression (as it loses ``scalar``); and the
generated code holds the expression, not a call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.compiler.codegen import Program
from graphad.ops.linalg import MatMul

RNG = np.random.default_rng(189)


def cases() -> list[tuple[str, Any, list[tuple[int, ...]]]]:
    return [
        ("matmul", lambda a, b: a @ b, [(2, 3), (3, 4)]),
        ("matmul-vector", lambda a, b: a @ b, [(3, 4), (4,)]),
        ("transpose", lambda a: ga.transpose(a, (1, 0, 2)), [(2, 3, 4)]),
        ("reshape", lambda a: ga.reshape(a, (6, 2)), [(3, 4)]),
        ("expand_dims", lambda a: ga.expand_dims(a, (0, 2)), [(3, 4)]),
        ("expand_dims-0d", lambda a: ga.expand_dims(a, 0), [()]),
        ("squeeze", lambda a: ga.squeeze(a, 1), [(3, 1, 4)]),
        ("squeeze-to-0d", lambda a: ga.squeeze(a), [(1, 1)]),
        ("tuple_get", lambda a: ga.make_tuple(a, a * 2.0)[1], [(3,)]),
        ("multiply_no_nan", ga.multiply_no_nan, [(5,), (5,)]),
        ("multiply_no_nan-broadcast", ga.multiply_no_nan, [(3, 1), (4,)]),
    ]


CASES = cases()


@pytest.mark.parametrize(("name", "build", "shapes"), CASES, ids=[c[0] for c in CASES])
def test_the_expression_computes_what_compute_does(name: str, build: Any, shapes: Any) -> None:
    xs = [ga.placeholder(f"x{i}", s) for i, s in enumerate(shapes)]
    y = build(*xs)
    inputs = [RNG.normal(size=s) for s in shapes]
    for values in (inputs, [v[()] if v.ndim == 0 else v for v in inputs]):  # 0-d: a scalar
        args = [f"a{i}" for i in range(len(y.inputs))]
        assert y.op.code(y, args, "k") is not None, f"{name}: no expression"
        scope = dict(zip(args, (ga.evaluate(x, dict(zip(xs, values))) for x in y.inputs)))
        want = y.op.compute(*scope.values())
        got = eval(y.op.code(y, args, "k"), {}, {**scope, "k": y.op.compute})
        np.testing.assert_array_equal(got, want)
        assert np.shape(got) == np.shape(want)
        assert np.asarray(got).dtype == np.asarray(want).dtype


@dataclass(frozen=True)
class Shifted(MatMul):
    """A user's subclass of matmul with another kernel."""

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.matmul(a, b) + 1.0


def test_a_new_kernel_drops_the_expression_it_inherited() -> None:
    a, b = ga.placeholder("a", (2, 2)), ga.placeholder("b", (2, 2))
    y = Shifted()(a, b)
    assert y.op.code(y, ["a", "b"], "k") is None
    got = ga.evaluate(y, {a: np.eye(2), b: np.eye(2)})
    np.testing.assert_array_equal(got, np.eye(2) + 1.0)


def test_generated_code_writes_the_expression() -> None:
    a, b = ga.placeholder("a", (2, 3)), ga.placeholder("b", (3, 4))
    ex = ga.Executor(ga.transpose(a @ b))
    program = ex._program
    assert isinstance(program, Program)
    source = "".join(c.source for c in program.general)
    assert " @ " in source and ".transpose((1, 0))" in source


@pytest.mark.parametrize("shape", [(8,), (2, 4)])
def test_a_strong_product_written_out_keeps_its_zeros(shape: tuple[int, ...]) -> None:
    """multiply_no_nan's expression: the product where no entry is NaN, and compute's
    answer, bit for bit, where 0 meets inf or NaN (then the expression calls the kernel)."""
    a, b = ga.placeholder("a", shape), ga.placeholder("b", shape)
    y = ga.multiply_no_nan(a, b)
    calls = []

    def kernel(x: np.ndarray, z: np.ndarray) -> Any:
        calls.append(1)
        return y.op.compute(x, z)

    x = np.array([0.0, -0.0, 1.0, 2.0, 0.0, -3.0, np.inf, 1e300]).reshape(shape)
    for z, mended in (
        (np.array([np.inf, np.nan, 3.0, -np.inf, 5.0, -0.0, 2.0, 1e300]), True),
        (np.array([1.0, 2.0, -3.0, 4.0, 5.0, 0.5, 2.0, 1e300]), False),
    ):
        z = z.reshape(shape)
        calls.clear()
        with np.errstate(invalid="ignore", over="ignore"):  # 0·inf, 1e300²: meant
            got = eval(y.op.code(y, ["x", "z"], "k"), {}, {"x": x, "z": z, "k": kernel})
            want = y.op.compute(x, z)
        assert got.view(np.int64).tolist() == want.view(np.int64).tolist()
        assert len(calls) == mended  # the kernel only where some product is NaN
    assert not np.isnan(got).any()
