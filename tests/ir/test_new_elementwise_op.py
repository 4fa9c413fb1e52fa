"""Adding an elementwise op touches one file: this one.

``SquaredDifference`` below is the whole op, as a user would write it: its dtype and
shape rule come from a ufunc base, its kernel is two NumPy calls, its derivative is
stated once (its partials), and its traits say what the compiler and the runtimes may
assume.  Nothing is registered anywhere; the tests show it working end to end: values,
gradients and forward mode to second order, ``vmap``, CSE of its commuted form, the 0-d
float path (its scalar formula in the generated code) and Dask, block by block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.compiler import optimize
from graphad.ir import Node, topo_sort
from graphad.numerical import check_gradients
from graphad.ops._ufunc import Binary
from graphad.ops.elementwise import Elementwise, Partial


@dataclass(frozen=True)
class SquaredDifference(Elementwise, Binary):
    """(a - b)², TensorFlow's ``squared_difference``."""

    ufunc = np.subtract  # Binary's infer: a - b's broadcast shape and dtype
    commutative = True  # (a - b)² = (b - a)² bit for bit: IEEE rounds ± alike
    scalar = "(({0} - {1}) * ({0} - {1}))"  # the kernel on Python floats

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        d = np.subtract(a, b)
        return np.multiply(d, d)

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂a = 2(a - b), ∂/∂b = -2(a - b)"""
        a, b = node.inputs
        d = 2 * (a - b)
        return d, -d


def squared_difference(a: Any, b: Any) -> Node:
    return SquaredDifference()(a, b)


RNG = np.random.default_rng(15)
A = RNG.standard_normal((3, 1))
B = RNG.standard_normal((4,))


def placeholders() -> tuple[Node, Node]:
    return ga.placeholder("a", (3, 1)), ga.placeholder("b", (4,))


def test_values_broadcast_as_numpy_does() -> None:
    a, b = placeholders()
    y = squared_difference(a, b)
    assert y.shape == (3, 4) and y.dtype == np.float64
    np.testing.assert_array_equal(ga.evaluate(y, {a: A, b: B}), (A - B) ** 2)
    with pytest.raises(ga.DTypeError, match="squared_difference"):
        squared_difference(ga.placeholder("p", (), "bool"), ga.placeholder("q", (), "bool"))


def test_gradients_and_forward_mode_to_second_order() -> None:
    a, b = placeholders()
    y = ga.sum(squared_difference(a, b) * ga.sin(a))
    feeds = {a: A, b: B}
    for order in (1, 2):
        check = check_gradients(y, [a, b], feeds, order=order)
        assert check, check.messages
    ga_, gb = ga.evaluate(ga.gradients(ga.sum(squared_difference(a, b)), [a, b]), feeds)
    np.testing.assert_allclose(ga_, np.sum(2 * (A - B), axis=1, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(gb, np.sum(-2 * (A - B), axis=0), rtol=1e-14)
    t = ga.evaluate(ga.jvp(squared_difference(a, b), [a, b], [np.ones((3, 1)), B]), feeds)
    np.testing.assert_allclose(t, 2 * (A - B) * (1 - B), rtol=1e-14)


def test_vmap_broadcasts_the_batch_without_running_per_example() -> None:
    a, b = placeholders()
    y = squared_difference(a, b)
    batch = RNG.standard_normal((5, 3, 1))
    yb = ga.vmap(y, {a: batch})
    assert not any(n.op.name == "stack" for n in topo_sort([yb]))  # its batch rule ran
    np.testing.assert_array_equal(ga.evaluate(yb, {b: B}), (batch - B) ** 2)


def test_cse_merges_the_commuted_form() -> None:
    a, b = placeholders()
    y = squared_difference(a, b) + squared_difference(b, a)
    names = [n.op.name for n in topo_sort([optimize(y)])]
    assert names.count("squared_difference") == 1
    np.testing.assert_array_equal(ga.evaluate(y, {a: A, b: B}), 2 * (A - B) ** 2)


def test_scalar_values_run_the_formula_as_python_floats() -> None:
    a, b = ga.placeholder("a", ()), ga.placeholder("b", ())
    y = squared_difference(a, b) * a
    ex = ga.Executor(y)
    assert ex._program is not None and ex._program.fast is not None
    source = "".join(chunk.source for chunk in ex._program.fast)
    assert "v2 = ((v0f - v1f) * (v0f - v1f))" in source  # the formula, not the kernel
    assert re.search(r"\bk\d+\(", source) is None
    got = ex.run({a: 1.5, b: -0.25})
    assert isinstance(got, np.float64) and got == (1.5 + 0.25) * (1.5 + 0.25) * 1.5


def test_dask_runs_the_kernel_block_by_block_lazily() -> None:
    da = pytest.importorskip("dask.array")
    dask = pytest.importorskip("dask")
    a, b = ga.placeholder("a", (None, 4)), ga.placeholder("b", (4,))
    y = squared_difference(a, b)
    g = ga.gradients(ga.sum(y), a)
    values = RNG.standard_normal((6, 4))

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a Dask array was computed while the graph was being built")

    ex = ga.Executor([y, g], backend="dask")
    with dask.config.set(scheduler=refuse):
        lazy = ex.run({a: da.from_array(values, chunks=(2, 2)), b: B}, compute=False)
    assert all(len(v.chunks[0]) == 3 for v in lazy)  # chunked as fed: not one task
    got_y, got_g = dask.compute(*lazy, scheduler="threads")
    np.testing.assert_array_equal(got_y, (values - B) ** 2)
    np.testing.assert_allclose(got_g, 2 * (values - B), rtol=1e-15)
