"""The kernels' fast paths (``graphad.ops._kernels``) give NumPy's own values."""

from __future__ import annotations

import numpy as np
import pytest

import graphad as ga
from graphad.ops import _kernels

RNG = np.random.default_rng(17)


def awkward(shape: list[int], dtype: type, layout: int) -> np.ndarray:
    """Values over six orders of magnitude with -0, ±inf and NaN, in one of four layouts."""
    a = (RNG.standard_normal(shape) * 10.0 ** RNG.integers(-3, 3, shape)).astype(dtype)
    u = RNG.random(shape)
    a[u < 0.05] = -0.0
    a[(u > 0.05) & (u < 0.06)] = np.inf
    a[(u > 0.06) & (u < 0.07)] = -np.inf
    a[(u > 0.07) & (u < 0.08)] = np.nan
    if layout == 1:
        a = np.asfortranarray(a)
    elif layout == 2:
        a = a[..., ::-1]
    elif layout == 3:
        a = np.moveaxis(a, 0, -1)
    return a


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf - inf: NaN, as meant
@pytest.mark.parametrize("layout", range(4))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_short_sums_are_numpys_bit_for_bit(dtype: type, layout: int) -> None:
    for _ in range(60):
        ndim = int(RNG.integers(2, 5))
        shape = [int(d) for d in RNG.integers(2, 30, ndim)]
        axis = int(RNG.integers(-ndim, ndim))
        shape[axis] = int(RNG.integers(2, 8))  # 2 to 7 entries
        other = (axis + 1) % ndim
        shape[other] = max(shape[other], 4096 * shape[other] // int(np.prod(shape)) + 1)
        a = awkward(shape, dtype, layout)
        if layout == 3:  # moved axis 0 to the end
            axis = (axis - 1) % ndim if axis % ndim else ndim - 1
        for keepdims in (True, False):
            got = _kernels.short_sum(a, axis, keepdims)
            expected = np.sum(a, axis=axis, keepdims=keepdims)
            assert got is not None and got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected)  # NaN where NumPy has NaN
            # signs agree (a NaN's sign means nothing) but for sums of negative zeros only,
            # which IEEE makes -0
            differ = (np.signbit(got) != np.signbit(expected)) & ~np.isnan(got)
            assert np.all(got[differ] == 0) and np.all(np.signbit(got[differ]))


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf - inf: NaN, as meant
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pairwise_sums_of_a_short_last_axis_are_numpys_bit_for_bit(dtype: type) -> None:
    """8 to 15 entries along the last axis of a C-ordered array: NumPy's pairwise loop (a
    tree over the first 8, then the rest in order), signs of zeros included."""
    for k in range(8, 16):
        for _ in range(6):
            ndim = int(RNG.integers(1, 4))
            shape = [int(d) for d in RNG.integers(2, 30, ndim - 1)]
            shape = [max(2, 4096 // max(1, int(np.prod(shape)) * k) + 1), *shape, k]
            a = awkward(shape, dtype, 0)
            for keepdims in (True, False):
                got = _kernels.short_sum(a, -1, keepdims)
                expected = np.sum(a, axis=-1, keepdims=keepdims)
                assert got is not None and got.dtype == expected.dtype
                np.testing.assert_array_equal(got, expected)
                same = np.signbit(got) == np.signbit(expected)
                assert np.all(same | np.isnan(got))


def test_short_sums_leave_what_they_do_not_speed_up_to_numpy() -> None:
    big = RNG.standard_normal((1000, 16))
    assert _kernels.short_sum(big, 1, True) is None  # 16 terms and more: left to NumPy
    assert _kernels.short_sum(big[:, :8].T, 0, True) is None  # 8 along a first axis
    assert _kernels.short_sum(big[:, ::2], 1, True) is None  # 8, not C-ordered
    assert _kernels.short_sum(RNG.standard_normal((10, 3)), 1, True) is None  # small
    assert _kernels.short_sum(np.ones((2000, 3), np.int32), 1, True) is None  # int32 -> int64
    assert _kernels.short_sum(big[:, :1], 1, True) is None  # one term


def test_sums_in_graphs_take_the_fast_path_with_numpys_values() -> None:
    x = ga.placeholder("x", (3000, 2, 3))
    g = ga.placeholder("g", (3000, 2, 3))
    xv, gv = RNG.standard_normal((3000, 2, 3)), RNG.standard_normal((3000, 2, 3))
    keep = ga.sum(x, axis=-1, keepdims=True)
    dropped = ga.sum(x, axis=(1,))
    un = ga.sum_to(g, (3000, 2, 1))
    got = ga.Executor([keep, dropped, un]).run({x: xv, g: gv})
    np.testing.assert_array_equal(got[0], np.sum(xv, axis=-1, keepdims=True))
    np.testing.assert_array_equal(got[1], np.sum(xv, axis=1))
    np.testing.assert_array_equal(got[2], np.sum(gv, axis=-1, keepdims=True))


def test_products_copy_operands_blas_cannot_take_only_before_numpy_2_3(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    strided = RNG.standard_normal((20, 30, 2))[:, :, 0]  # strides (480, 16): no unit stride
    b = RNG.standard_normal((30, 10))
    monkeypatch.setattr(_kernels, "COPIES_ITSELF", False)
    a2, b2 = _kernels.blas_ready(strided, b)
    assert a2.flags.c_contiguous and b2 is b
    np.testing.assert_array_equal(a2, strided)
    transposed = RNG.standard_normal((30, 20)).T  # F order: BLAS takes it transposed
    assert _kernels.blas_ready(transposed, b)[0] is transposed
    tiny = strided[:4, :4]
    assert _kernels.blas_ready(tiny, b[:4, :4])[0] is tiny  # 64 multiply-adds: not worth it
    monkeypatch.setattr(_kernels, "COPIES_ITSELF", True)
    assert _kernels.blas_ready(strided, b)[0] is strided
    x = ga.placeholder("x", (20, 30))
    np.testing.assert_allclose(ga.evaluate(x @ b, {x: strided}), strided @ b, rtol=1e-14)


def test_a_short_sum_is_laid_out_as_before_when_its_rows_cross_the_layout() -> None:
    """A C-ordered (1000, K, 10) summed over its last axis: the (1000, K) result of short
    rows is laid out batch last (as what reads it expects), its slices added in C order
    first; NumPy's values, bit for bit."""
    from graphad.ops._buffers import is_batch_last

    for k in (5, 10, 25):
        a = awkward([1000, k, 10], np.float64, 0)
        with np.errstate(invalid="ignore"):
            got = _kernels.short_sum(a, -1, False)
            expected = np.sum(a, axis=-1)
        assert got is not None and is_batch_last(got) == (k <= 16)
        np.testing.assert_array_equal(got, expected)
        assert np.all((np.signbit(got) == np.signbit(expected)) | np.isnan(got))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf - inf, log 0: as meant
def test_logsumexp_of_floats_is_the_formula_bit_for_bit() -> None:
    """compute's float path (the ufuncs' reductions, in place) against its formula written
    with np.max, np.where and np.sum, on values with ±inf, NaN and rows of -inf."""
    from graphad.ops.reduction import LogSumExp

    for shape, axis in [((5,), None), ((40, 7), 1), ((40, 7), 0), ((6, 5, 4), (0, 2))]:
        for keepdims in (False, True):
            op = LogSumExp(axis=axis, keepdims=keepdims)
            x = awkward(list(shape), np.float64, 0)
            x[0] = -np.inf
            m = np.max(x, axis=axis, keepdims=True)
            m = np.where(np.isfinite(m), m, 0)
            want = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
            if not keepdims:
                want = np.squeeze(want, axis=op.axes(x.ndim))
            got = op.compute(x)
            assert type(got) is np.ndarray and got.shape == want.shape
            np.testing.assert_array_equal(got, want)


def test_small_sums_of_a_plan_are_computes_bit_for_bit() -> None:
    """Sum and sum_to of small static shapes call np.add.reduce (their compute_for): the
    values, dtype and shape of compute's np.sum."""
    x = ga.placeholder("x", (5, 10, 10))
    for node in (ga.sum(x, axis=2), ga.sum(x, axis=(0, 2), keepdims=True), ga.sum_to(x, (10, 1))):
        fast = node.op.compute_for(node)
        assert fast != node.op.compute  # the fast path is taken
        xv = awkward([5, 10, 10], np.float64, 0)
        got, want = fast(xv), node.op.compute(xv)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
