"""NumPy's ufunc methods and keywords on nodes, and NumPy's keywords on graphad's own
functions: what graphad has an op for takes NumPy's meaning (``dtype=``, ``np.add.reduce``,
``np.multiply.accumulate``, ``np.subtract.outer``), the rest is a GraphError naming the
function, the argument and the user's line, never NumPy's or Python's bare TypeError."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphad as ga

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
V = np.array([1.0, -2.0, 0.5, 3.0])


@pytest.fixture
def x() -> ga.Node:
    return ga.placeholder("x", (2, 3))


@pytest.fixture
def v() -> ga.Node:
    return ga.placeholder("v", (4,))


# (how to call it on a node or an array): each is NumPy's own call, so the reference is
# the same expression on X and V
SUPPORTED: dict[str, Callable[[Any, Any], Any]] = {
    "add.reduce": lambda x, v: np.add.reduce(x),
    "add.reduce[axis=None]": lambda x, v: np.add.reduce(x, axis=None),
    "add.reduce[dtype]": lambda x, v: np.add.reduce(x, axis=1, dtype=np.float32),
    "multiply.reduce[keepdims]": lambda x, v: np.multiply.reduce(x, 1, keepdims=True),
    "maximum.reduce": lambda x, v: np.maximum.reduce(x, axis=1),
    "minimum.reduce": lambda x, v: np.minimum.reduce(x),
    "add.accumulate": lambda x, v: np.add.accumulate(x),
    "multiply.accumulate[axis1]": lambda x, v: np.multiply.accumulate(x, axis=1),
    "subtract.outer": lambda x, v: np.subtract.outer(x, v),
    "maximum.outer[scalar]": lambda x, v: np.maximum.outer(x, 0.25),
    "exp[dtype]": lambda x, v: np.exp(x, dtype=np.float32),
    "add[dtype_widens_ints]": lambda x, v: np.add(np.arange(3), np.int8(2) * x, dtype=float),
    "less[dtype=bool]": lambda x, v: np.less(x, 0.3, dtype=bool),
    "sum[dtype]": lambda x, v: np.sum(x, axis=0, dtype=np.float32),
    "mean[method_dtype]": lambda x, v: x.mean(dtype=np.float32),
    "cumsum[dtype]": lambda x, v: np.cumsum(x, axis=1, dtype=np.float32),
    "concatenate[dtype]": lambda x, v: np.concatenate([x, x], axis=0, dtype=np.float32),
}


@pytest.mark.parametrize("name", list(SUPPORTED))
def test_numpy_calls_graphad_has_an_op_for_mean_what_they_mean_in_numpy(
    run: Any, x: ga.Node, v: ga.Node, name: str
) -> None:
    build = SUPPORTED[name]
    expected = build(X, V)
    node = build(x, v)
    assert isinstance(node, ga.Node)
    assert (node.shape, node.dtype) == (expected.shape, expected.dtype)
    got = run(node, {x: X, v: V})
    assert np.asarray(got).dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-6)


GRAPHAD_DTYPE: dict[str, Callable[[Any], Any]] = {
    "exp": lambda lib: lib.exp(X if lib is np else ga.constant(X), dtype=np.float32),
    "sum": lambda lib: lib.sum(X if lib is np else ga.constant(X), axis=1, dtype=np.float32),
    "add": lambda lib: lib.add(np.arange(3, dtype=np.int8), np.int8(3), dtype=np.float64),
    "prod": lambda lib: lib.prod(np.arange(1, 4), dtype=np.float32),
}


@pytest.mark.parametrize("name", list(GRAPHAD_DTYPE))
def test_graphad_functions_take_dtype_with_numpys_meaning(run: Any, name: str) -> None:
    expected = GRAPHAD_DTYPE[name](np)
    node = GRAPHAD_DTYPE[name](ga)
    assert node.dtype == expected.dtype
    got = run(node, {})
    assert np.asarray(got).dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_dtype_derivatives_flow_through_the_casts(x: ga.Node) -> None:
    g = ga.gradients(np.sum(np.exp(x, dtype=np.float32)), x)
    assert g.dtype == np.float64
    np.testing.assert_allclose(ga.evaluate(g, {x: X}), np.exp(X), rtol=1e-6)


REFUSED: dict[str, tuple[Callable[[ga.Node], Any], str]] = {
    "np.add.at": (lambda x: np.add.at(x, [0], 1.0), r"np\.add\.at: adds into its operand in"),
    "np.add.reduceat": (lambda x: np.add.reduceat(x, [0, 1]), r"np\.add\.reduceat: graphad has"),
    "np.maximum.accumulate": (
        lambda x: np.maximum.accumulate(x),
        r"np\.maximum\.accumulate: graphad has no op for it \(it has np\.add\.reduce",
    ),
    "np.sin(out=)": (lambda x: np.sin(x, out=np.zeros((2, 3))), r"np\.sin: out= would write"),
    "np.exp(where=)": (lambda x: np.exp(x, where=np.ones((2, 3), bool)), r"np\.exp: where="),
    "np.add(casting=)": (lambda x: np.add(x, 1, casting="unsafe"), r"np\.add: casting="),
    "np.add(dtype=int)": (lambda x: np.add(x, 1.0, dtype=np.int64), r"np\.add: dtype=int64: Can"),
    "np.less(dtype=float32)": (lambda x: np.less(x, 1.0, dtype=np.float32), r"np\.less: dtype="),
    "np.bitwise_and": (lambda x: np.bitwise_and(x, 1), r"np\.bitwise_and: graphad has no"),
    "np.maximum.reduce(initial=)": (
        lambda x: np.maximum.reduce(x, initial=2.0),
        r"np\.maximum\.reduce: initial= is not supported",
    ),
    "np.matmul(axes=)": (
        lambda x: np.matmul(x, x.T, axes=[(0, 1), (0, 1), (0, 1)]),
        r"np\.matmul: unexpected argument axes=; graphad's matmul takes \(a, b\)",
    ),
    "ga.sum(out=)": (lambda x: ga.sum(x, out=np.zeros(())), r"^sum: out= is not supported"),
    "ga.sum(where=)": (lambda x: ga.sum(x, where=x > 0), r"^sum: where= is not supported"),
    "ga.max(initial=)": (lambda x: ga.max(x, initial=3.0), r"^max: initial= is not supported"),
    "ga.reshape(order=F)": (lambda x: ga.reshape(x, (3, 2), order="F"), r"^reshape: order="),
    "ga.argmax(dtype=)": (lambda x: ga.argmax(x, dtype=np.int32), r"^argmax: dtype= is not an"),
    "ga.sum(foo=)": (
        lambda x: ga.sum(x, foo=1),
        r"^sum: unexpected argument foo=; graphad's sum takes \(x, axis=None, keepdims=False\)",
    ),
    "ga.sum()": (lambda x: ga.sum(), r"^sum: missing a required argument: 'x'"),
    "ga.exp(x, x)": (lambda x: ga.exp(x, x), r"^exp: too many positional arguments"),
    "ga.linalg.inv(out=)": (lambda x: ga.linalg.inv(x[:, :2], out=1), r"^inv: out= is not"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_what_graphad_cannot_do_is_refused_by_name(x: ga.Node, name: str) -> None:
    call, message = REFUSED[name]
    with pytest.raises(ga.GraphError, match=message) as info:
        call(x)
    assert "test_numpy_keywords.py:" in str(info.value)  # the user's line


def test_augmented_assignment_into_an_array_is_refused_with_the_rewrite(x: ga.Node) -> None:
    a = np.ones((2, 3))
    with pytest.raises(ga.GraphError, match=r"np\.add: out= .*write a = a \+ x"):
        a += x
    b = a.copy()
    b = b + x  # what to write instead: a node
    assert isinstance(b, ga.Node)
    np.testing.assert_allclose(ga.evaluate(b, {x: X}), 1 + X)


def test_keywords_at_their_defaults_ask_for_nothing(x: ga.Node) -> None:
    for node in (
        ga.sum(x, out=None, where=True),
        np.exp(x, casting="same_kind", order="K"),
        np.add.reduce(x, out=None, where=True),
    ):
        assert isinstance(node, ga.Node)
