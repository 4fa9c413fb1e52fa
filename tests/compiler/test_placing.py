"""Placing ops (``Op.placing``: concatenate, reshape) whose result one more placing op reads
are left pending in generated code, and that op's kernel writes their operands straight
into its own result (:mod:`graphad.ops._placing`): NumPy's values, each entry copied once."""

from __future__ import annotations

import numpy as np
import pytest

import graphad as ga
from graphad.ops._placing import Pending
from graphad.ops.shape import Concatenate, Reshape


def _source(ex: ga.Executor) -> str:
    assert ex._program is not None
    return "".join(c.source for c in ex._program.general)


def _blocks(p: int, seed: int = 0) -> tuple[list[ga.Node], list[np.ndarray]]:
    """Three blocks of p rows (shape unknown until run time), the first two laid out batch
    last as a batched derivative makes them, -0.0 and a NaN among the entries."""
    rng = np.random.default_rng(seed)
    holders = [ga.placeholder(f"b{k}", (None, 2, n)) for k, n in enumerate((11, 3, 1))]
    values = [rng.normal(size=(p, 2, n)) for n in (11, 3, 1)]
    values[0] = np.moveaxis(np.array(np.moveaxis(values[0], 0, -1)), -1, 0)
    values[1] = np.moveaxis(np.array(np.moveaxis(values[1], 0, -1)), -1, 0)
    values[0][0, 0, 0], values[1][-1, 1, 2] = -0.0, np.nan
    return holders, values


@pytest.mark.parametrize("p", [5, 3000])
def test_blocks_joined_flattened_and_joined_again_are_placed_once(p: int) -> None:
    holders, values = _blocks(p)
    w = ga.placeholder("w", (None,))
    same = ga.reshape(holders[0], (-1, 2, 11))  # a batch's reshape to its own shape
    joined = ga.concatenate([same, *holders[1:]], axis=2)
    flat = ga.concatenate([ga.reshape(joined, (-1,)), w * 2.0])
    ex = ga.Executor(flat)
    source = _source(ex)
    assert source.count("Pending(") == 3  # both reshapes and the join: made in flat's kernel
    wv = np.arange(p, dtype=float)
    got = ex.run(dict(zip([*holders, w], [*values, wv])))
    expected = np.concatenate([np.concatenate(values, axis=2).ravel(), wv * 2.0])
    np.testing.assert_array_equal(got, expected)
    assert got.tobytes() == expected.tobytes()  # -0.0 and the NaN too
    again = ex.run(dict(zip([*holders, w], [*values, wv + 1.0])))  # the pool's buffers
    np.testing.assert_array_equal(again[-p:], (wv + 1.0) * 2.0)
    np.testing.assert_array_equal(again[:-p], expected[:-p])


def test_a_result_read_elsewhere_or_fetched_is_made() -> None:
    holders, values = _blocks(4)
    values[1][-1, 1, 2] = 1.0
    joined = ga.concatenate(holders, axis=2)
    flat = ga.concatenate([ga.reshape(joined, (-1,)), ga.reshape(holders[2], (-1,))])
    feeds = dict(zip(holders, values))
    whole = np.concatenate(values, axis=2)
    expected = np.concatenate([whole.ravel(), values[2].ravel()])
    for fetches in ([flat, joined], [flat, ga.sum(joined)]):  # fetched; read by a sum too
        ex = ga.Executor(fetches)
        assert f"v{ex._slot[joined]} = Pending(" not in _source(ex)
        got, other = ex.run(feeds)
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_allclose(other, whole if other.ndim else whole.sum())


def test_a_reshape_that_ends_a_chain_makes_the_pending_join() -> None:
    holders, values = _blocks(6)
    joined = ga.concatenate(holders, axis=2)
    square = ga.reshape(joined, (6, 30))  # a static shape: written as a method, if it could
    ex = ga.Executor(ga.exp(square))
    assert "Pending(" in _source(ex)
    got = ex.run(dict(zip(holders, values)))
    np.testing.assert_array_equal(got, np.exp(np.concatenate(values, axis=2).reshape(6, 30)))


def test_operands_that_do_not_fit_fail_as_numpys_concatenate_fails() -> None:
    a, b = np.ones((5, 2, 3)), np.ones((4, 2, 3))
    joined = Pending(Concatenate(2), np.dtype(np.float64), a, a)
    with pytest.raises(ValueError, match="concatenate: an operand of shape"):
        Concatenate(0).compute(joined, b)
    flat = Pending(Reshape((-1,)), np.dtype(np.float64), b)
    with pytest.raises(ValueError, match="cannot reshape"):
        Reshape((5, 5)).compute(flat)
    np.testing.assert_array_equal(Concatenate(0).compute(flat, np.zeros(1)), np.r_[b.ravel(), 0])
