"""Long batches of short rows laid out batch last (``graphad.ops._buffers.batch_last``): every op
of the table, batched over 1400 examples, and its VJP, give the values they give in NumPy's
C order (bit for bit but for the rounding of sums of 8 or more terms, which NumPy adds in
another order along a strided axis)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import graphad as ga
from graphad.ops import _buffers
from tests.ops.cases import CASES, Case

B = 1400  # rows of 3 to 16 entries, 4096 or more in all: laid out batch last
REAL = [c for c in CASES if c.dtype == "float64"]


def batched(case: Case) -> tuple[list[ga.Node], ga.Node, list[np.ndarray], ga.Node]:
    """The case batched over B examples in its first input, and its VJP with a cotangent."""
    xs = [ga.placeholder(f"x{i}", s, case.dtype) for i, s in enumerate(case.shapes)]
    y = case.build(*xs)
    xb = ga.placeholder("xb", (B, *case.shapes[0]), case.dtype)
    yb = ga.vmap(y, {xs[0]: xb})
    rng = np.random.default_rng(zlib.crc32(case.id.encode()))
    draws = [case.sample(rng) for _ in range(B)]
    values = [np.stack([d[0] for d in draws]), *draws[0][1:]]
    inputs = [xb, *xs[1:]]
    derivative = ga.gradients(ga.sum(yb * np.cos(np.arange(yb.size).reshape(yb.shape))), xb)
    return inputs, yb, values, derivative


@pytest.mark.parametrize("case", REAL, ids=[c.id for c in REAL])
def test_values_laid_out_batch_last_are_numpys(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    inputs, yb, values, derivative = batched(case)
    fetches = [yb, derivative] if case.differentiable else [yb]
    feeds = dict(zip(inputs, values))
    laid_out = ga.Executor(fetches).run(feeds)
    monkeypatch.setattr(_buffers, "BATCH_MIN", 1 << 60)  # C order everywhere
    plain = ga.Executor(fetches).run(feeds)
    for got, expected in zip(laid_out, plain):
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-13)


def test_a_long_batch_of_short_rows_is_laid_out_batch_last() -> None:
    x = ga.placeholder("x", (None, 3))
    w = ga.placeholder("w", (None, 1))
    y = x * w + 1.0  # (p, 3) * (p, 1): NumPy's inner loop would be 3 entries long
    ex = ga.Executor(ga.sin(y) * y)  # a temporary between, so the ufuncs lay out results
    xv, wv = np.ones((5000, 3)), np.full((5000, 1), 2.0)
    out = ex.run({x: xv, w: wv})
    np.testing.assert_array_equal(out, np.sin(xv * wv + 1.0) * (xv * wv + 1.0))
    assert _buffers.batch_last((5000, 3)) and not _buffers.batch_last((5000, 40))
    assert not _buffers.batch_last((30, 3)) and not _buffers.batch_last((5000,))


def test_ufunc_into_lines_operands_of_every_rank_up() -> None:
    a = np.arange(800 * 2 * 3, dtype=float).reshape(800, 2, 3)
    for other in (np.float64(2.0), np.arange(3.0), np.ones((2, 3)), np.ones((800, 1, 3)), a):
        got = _buffers.ufunc_into(np.multiply, None, np.dtype(np.float64), a, other)
        np.testing.assert_array_equal(got, a * other)
        assert got.strides[0] == 8  # batch last


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # 0 · inf, then mended
def test_strong_products_are_laid_out_as_products_are() -> None:
    """multiply_no_nan (the chain rule's product) runs as multiply does: batch last, and
    still 0 where a 0 meets an inf."""
    a = np.arange(800 * 2 * 3, dtype=float).reshape(800, 2, 3)
    b = np.full((800, 1, 3), 2.0)
    op = ga.ops.elementwise.MultiplyNoNan()
    got = op.compute(a, b)
    assert got.strides[0] == 8  # batch last
    np.testing.assert_array_equal(got, a * b)
    b[0, 0, 0] = np.inf
    mended = op.compute(a, b)  # a[0, 0, 0] is 0
    assert mended[0, 0, 0] == 0.0
    np.testing.assert_array_equal(mended[1:], a[1:] * b[1:])


def test_a_concatenation_into_long_rows_is_c_ordered() -> None:
    """Blocks laid out batch last, joined into rows too long to be: C order, which the
    reshape after it (BA's Jacobian values) reads without a copy."""
    parts = [np.moveaxis(np.empty((2, k, 3000)), -1, 0) for k in (11, 3, 1)]
    for k, part in enumerate(parts):
        part[...] = k + np.arange(part.size).reshape(part.shape)
        assert _buffers.is_batch_last(part)
    x = [ga.placeholder(f"x{k}", p.shape) for k, p in enumerate(parts)]
    joined = ga.ops.shape.Concatenate(2).compute(*parts)
    assert joined.flags.c_contiguous
    np.testing.assert_array_equal(joined, np.concatenate([np.array(p) for p in parts], 2))
    short = ga.ops.shape.Concatenate(2).compute(parts[1], parts[2])  # rows of 8: batch last
    assert _buffers.is_batch_last(short)
    assert ga.Executor(ga.concatenate(x, axis=2)).run(dict(zip(x, parts))).shape == (3000, 2, 15)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf / inf, then mended
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # 0 / 0, then mended
def test_strong_quotients_are_laid_out_as_quotients_are() -> None:
    """xdivy (the chain rule's quotient) runs as divide does, and is still 0 where x is 0
    (of either sign) or y is infinite."""
    a = np.arange(1.0, 800 * 2 * 3 + 1).reshape(800, 2, 3)
    b = np.full((800, 2, 3), 4.0)
    op = ga.ops.elementwise.Xdivy()
    got = op.compute(a, b)
    assert got.strides[0] == 8  # batch last
    np.testing.assert_array_equal(got, a / b)
    a[0, 0, 0], a[0, 0, 1], b[0, 0, 2], a[0, 0, 2] = -0.0, 0.0, np.inf, np.inf
    b[0, 0, 1] = 0.0
    mended = op.compute(a, b)
    assert mended[0, 0, 0] == 0.0 and not np.signbit(mended[0, 0, 0])
    assert mended[0, 0, 1] == 0.0 and mended[0, 0, 2] == 0.0
    np.testing.assert_array_equal(mended[1:], a[1:] / b[1:])


def test_assign_reads_batch_last_rows_along_the_batch() -> None:
    """assign copies a batch-last array into a C-ordered one (or a view of one) one row
    position at a time: np.copyto's values, whatever the layouts and dtypes."""
    batch = np.moveaxis(np.arange(2 * 3 * 900, dtype=float).reshape(2, 3, 900), -1, 0)
    assert _buffers.is_batch_last(batch)
    whole = np.empty((900, 2, 7))
    _buffers.assign(whole[:, :, 2:5], batch)  # a strided view of a C-ordered array
    np.testing.assert_array_equal(whole[:, :, 2:5], np.array(batch))
    integers = np.moveaxis(np.arange(2 * 900).reshape(2, 900), -1, 0)
    into = np.empty((900, 2))
    _buffers.assign(into, integers)  # cast as np.copyto casts
    np.testing.assert_array_equal(into, np.array(integers, dtype=float))
    for source in (np.array(batch), batch[:40]):  # C order; a batch too short: np.copyto's
        out = np.empty(source.shape)
        _buffers.assign(out, source)
        np.testing.assert_array_equal(out, source)


def test_a_concatenation_of_mixed_layouts_is_numpys() -> None:
    """Batch-last and C-ordered blocks joined into long rows: np.concatenate's values; an
    operand that does not fit fails as np.concatenate fails."""
    a = np.moveaxis(np.arange(2 * 11 * 700, dtype=float).reshape(2, 11, 700), -1, 0)
    b = np.arange(700 * 2 * 4, dtype=float).reshape(700, 2, 4)
    joined = ga.ops.shape.Concatenate(2).compute(a, b, a)
    assert joined.flags.c_contiguous
    np.testing.assert_array_equal(joined, np.concatenate([np.array(a), b, np.array(a)], 2))
    with pytest.raises(ValueError):
        ga.ops.shape.Concatenate(2).compute(a, b[:, :1])
