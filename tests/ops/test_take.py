"""``ga.take`` / ``np.take(node)`` / ``node.take``: what the op table cannot check (indices
computed in the graph, their modes, batched indices, the layout of the result, errors)."""

from __future__ import annotations

import numpy as np
import pytest

import graphad as ga

RNG = np.random.default_rng(5)


@pytest.mark.parametrize("mode", ["raise", "wrap", "clip"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_indices_computed_in_the_graph_follow_numpy(axis: int | None, mode: str) -> None:
    x = ga.placeholder("x", (4, 5))
    i = ga.placeholder("i", (2, 3), np.int64)
    xv = RNG.standard_normal((4, 5))
    n = 20 if axis is None else xv.shape[axis]
    iv = (
        np.array([[0, -1, n + 2], [3, 2, -n - 1]])
        if mode != "raise"
        else np.array([[0, -1, 1]] * 2)
    )
    got = ga.evaluate(np.take(x, i, axis=axis, mode=mode), {x: xv, i: iv})
    np.testing.assert_array_equal(got, np.take(xv, iv, axis=axis, mode=mode))
    g = ga.evaluate(ga.gradients(ga.sum(ga.take(x, i, axis, mode) ** 2), x), {x: xv, i: iv})
    # x̄ = 2·take(x) scattered back to where it came from, repeats accumulating
    wrapped = np.mod(iv, n) if mode == "wrap" else np.clip(iv, 0, n - 1) if mode == "clip" else iv
    expected = np.zeros(xv.size if axis is None else xv.shape)
    at = (wrapped,) if axis is None else (slice(None),) * (axis % 2) + (wrapped,)
    np.add.at(expected, at, 2 * np.take(xv, iv, axis=axis, mode=mode))
    np.testing.assert_allclose(g, expected.reshape(xv.shape), rtol=1e-14)


def test_the_method_and_the_protocol_give_the_same_node() -> None:
    x = ga.placeholder("x", (3, 4))
    xv = RNG.standard_normal((3, 4))
    for node in (x.take([2, 0], axis=1), np.take(x, [2, 0], axis=1), ga.take(x, [2, 0], 1)):
        np.testing.assert_array_equal(ga.evaluate(node, {x: xv}), xv[:, [2, 0]])


def test_a_gather_after_slices_is_laid_out_contiguously() -> None:
    """x[:, idx] runs as np.take: C-contiguous, where NumPy's indexing puts idx's dims
    outermost in memory (what made GMM's matrix product miss BLAS)."""
    x = ga.placeholder("x", (6, 7))
    idx = RNG.integers(0, 7, (3, 4, 2))
    xv = RNG.standard_normal((6, 7))
    for node in (x[:, idx], ga.take(x, idx, axis=1)):
        out = ga.Executor(node).run({x: xv})
        assert out.flags.c_contiguous
        np.testing.assert_array_equal(out, xv[:, idx])


def test_batched_indices_gather_per_example() -> None:
    x = ga.placeholder("x", (5, 3))
    i = ga.placeholder("i", (2,), np.int64)
    y = ga.take(x, i, axis=0, mode="wrap")
    ib = ga.placeholder("ib", (None, 2), np.int64)
    xb = ga.placeholder("xb", (None, 5, 3))
    xv, iv = RNG.standard_normal((4, 5, 3)), RNG.integers(-9, 9, (4, 2))
    got = ga.evaluate(ga.vmap(y, {x: xb, i: ib}), {xb: xv, ib: iv})
    np.testing.assert_array_equal(
        got, np.stack([np.take(a, b, 0, mode="wrap") for a, b in zip(xv, iv)])
    )


def test_bad_arguments_are_named() -> None:
    x = ga.placeholder("x", (3, 4))
    with pytest.raises(
        ga.IndexingError, match=r"^take\(\(3, 4\):float64\): index 5 is out of bounds.*test_take"
    ):
        ga.take(x, [5], axis=0)
    with pytest.raises(ga.DTypeError, match=r"^take.*indices must be integer, got float64"):
        ga.take(x, [0.5], axis=0)
    with pytest.raises(ga.DTypeError, match=r"^take.*indices must be integer"):
        ga.take(x, ga.placeholder("f", (2,)), axis=0)
    with pytest.raises(ga.IndexingError, match=r"^take.*mode must be one of"):
        ga.take(x, [0], mode="nearest")
    with pytest.raises(ga.AxisError, match=r"^take.*axis 2 is out of range"):
        ga.take(x, [0], axis=2)
    with pytest.raises(ga.ShapeError, match=r"^take.*mode='wrap' needs the length of axis 0"):
        ga.take(ga.placeholder("u", (None, 4)), [0], axis=0, mode="wrap")
    with pytest.raises(ga.GraphError, match=r"out= is not supported"):
        np.take(x, [0], out=np.empty(4))
