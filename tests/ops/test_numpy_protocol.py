"""NumPy functions and ndarray methods called on nodes, and lists of nodes as array-likes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphad as ga

X = np.arange(24.0).reshape(2, 3, 4) / 7 - 1.3


@pytest.fixture
def x() -> ga.Node:
    return ga.placeholder("x", (2, 3, 4))


@pytest.mark.parametrize(
    "call",
    [
        lambda m, a: m.sum(a),
        lambda m, a: m.sum(a, axis=(0, -1), keepdims=True),
        lambda m, a: m.sum(a, 1, None, None, True),  # NumPy's positional order
        lambda m, a: m.max(a, axis=-1),
        lambda m, a: m.min(a, 0),
        lambda m, a: m.prod(a, axis=1),
        lambda m, a: m.mean(a, axis=(1, 2)),
        lambda m, a: m.std(a, axis=0, ddof=1),
        lambda m, a: m.var(a, None, None, None, 1),
        lambda m, a: m.argmax(a, axis=2),
        lambda m, a: m.concatenate([a, a], axis=-1),
        lambda m, a: m.stack([a, 2 * a], axis=1),
        lambda m, a: m.transpose(a, (2, 0, 1)),
        lambda m, a: m.reshape(a, (4, -1)),
        lambda m, a: m.swapaxes(a, 0, -1),
        lambda m, a: m.ravel(a),
        lambda m, a: m.clip(a, -0.5, 0.5),
        lambda m, a: m.squeeze(m.expand_dims(a, 1)),
        lambda m, a: m.einsum("ijk,ijk->j", a, a),
    ],
)
def test_numpy_functions_build_the_graphad_node(x: ga.Node, call: Any) -> None:
    node = call(np, x)
    assert isinstance(node, ga.Node)
    np.testing.assert_allclose(ga.evaluate(node, {x: X}), call(np, X), rtol=1e-12)


@pytest.mark.parametrize(
    "call",
    [
        lambda a: a.sum(),
        lambda a: a.sum(axis=-1, keepdims=True),
        lambda a: a.mean(0),
        lambda a: a.prod(axis=(0, 1)),
        lambda a: a.max(axis=1),
        lambda a: a.min(),
        lambda a: a.std(0, None, None, 1),  # ddof=1 by position, as ndarray.std
        lambda a: a.var(axis=2, ddof=2, keepdims=True),
        lambda a: a.argmin(axis=-1),
        lambda a: a.ravel(),
        lambda a: a.flatten(),
        lambda a: a.squeeze(),
        lambda a: a.swapaxes(0, 2),
        lambda a: a.clip(-0.3, 0.2),
        lambda a: a.sum(dtype=np.float32),
    ],
)
def test_methods_take_numpys_arguments(x: ga.Node, call: Any) -> None:
    expected = call(X)
    out = ga.evaluate(call(x), {x: X})
    assert out.dtype == expected.dtype
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_static_facts(x: ga.Node) -> None:
    assert (x.size, x.ndim, np.shape(x), np.ndim(x), np.size(x)) == (24, 3, (2, 3, 4), 3, 24)
    assert ga.placeholder("u", (None, 3)).size is None


def test_gradients_flow_through_numpy_calls(x: ga.Node) -> None:
    y = np.sum(np.exp(x) * np.mean(x, axis=0))
    g = ga.evaluate(ga.gradients(y, x), {x: X})
    m = X.mean(axis=0)
    expected = np.exp(X) * m + np.exp(X).sum(axis=0) / 2
    np.testing.assert_allclose(g, expected, rtol=1e-12)


def test_out_is_refused_by_name(x: ga.Node) -> None:
    with pytest.raises(ga.GraphError, match=r"np\.sum: out= is not supported.*test_numpy"):
        np.sum(x, out=np.zeros(()))
    with pytest.raises(ga.GraphError, match=r"np\.max: out="):
        x.max(out=np.zeros(()))


def test_missing_functions_are_named(x: ga.Node) -> None:
    with pytest.raises(ga.GraphError, match=r"np\.fft\.fft: graphad has no such function"):
        np.fft.fft(x)
    with pytest.raises(ga.GraphError, match=r"np\.unique: graphad has no such function"):
        np.unique(x)
    with pytest.raises(ga.GraphError, match=r"where\(.*give both x and y, or neither"):
        np.where(x > 0, x)
    with pytest.raises(ga.GraphError, match=r"np\.sum: where= is not supported"):
        np.sum(x, where=np.ones(X.shape, bool))


def test_sort_method_would_be_in_place(x: ga.Node) -> None:
    with pytest.raises(ga.GraphError, match=r"in place.*ga\.sort"):
        x.sort()


# -- lists and tuples of nodes as array-likes ------------------------------------------
def test_list_of_nodes_is_stacked() -> None:
    x = ga.placeholder("x", (3,))
    m = ga.mean([x, x + 2])
    v = ga.var((x, 2 * x, np.ones(3)), axis=0)
    s = ga.std([[x, x], [x, -x]], axis=(0, 1))
    xv = np.array([0.5, -1.0, 2.0])
    out = ga.evaluate([m, v, s, ga.gradients(m, x)], {x: xv})
    np.testing.assert_allclose(out[0], np.mean([xv, xv + 2]))
    np.testing.assert_allclose(out[1], np.var([xv, 2 * xv, np.ones(3)], axis=0))
    np.testing.assert_allclose(out[2], np.std([[xv, xv], [xv, -xv]], axis=(0, 1)))
    np.testing.assert_allclose(out[3], np.full(3, 1 / 3))


def test_scalars_in_a_list_take_the_nodes_dtype() -> None:
    x = ga.placeholder("x", (), "float32")
    y = ga.sum([x, 2.0, 3])
    assert y.dtype == np.float32
    assert ga.evaluate(y, {x: np.float32(1.5)}) == np.float32(6.5)
