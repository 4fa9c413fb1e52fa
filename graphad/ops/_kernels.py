"""NumPy calls made faster where NumPy's generic loops handle a shape poorly, with the values
NumPy's own call gives.

- ``short_sum``: a sum over one axis of fewer than 8 entries.  NumPy's reduction runs its
  inner loop once per output entry, at about 10 ns an entry whatever the axis's length:
  summing a (31843, 2, 3) array over its last axis takes 1.7 ms, three slice additions
  0.07 ms.  NumPy sums fewer than 8 terms in order (pairwise summation starts at 8), so
  adding the slices in order gives the same values bit for bit (checked on random arrays
  with infinities and NaNs in every layout, ``tests/ops/test_kernels.py``); a sum of
  negative zeros only is -0 (IEEE's), where NumPy's loop in some layouts starts from +0.
  The last axis of a C-ordered array of 8 to 15 entries is summed as NumPy's pairwise loop
  sums it, ((x₀ + x₁) + (x₂ + x₃)) + ((x₄ + x₅) + (x₆ + x₇)) + x₈ + … in that order: GMM's
  (1000, 25, 10) over its last axis 0.35 ms in NumPy, 0.13 ms as slice additions.
- ``blas_ready``: a matrix product's operand copied to C order when NumPy would hand it to
  its own loop instead of BLAS (matrices neither of whose last two axes has unit stride) and
  the product is large enough for BLAS to pay the copy back.  NumPy before 2.3 runs such a
  product in its own loop: at m·k·n = 16³ 1.35x the copy and BLAS, 24³ 2.2x, 64³ 7x, 128³
  55x, (1000 x 64) @ (64 x 250) 32x; at 8³ the copy costs more (0.9x).  NumPy 2.3 copies
  such operands itself (the same times either way), so there the operands pass as they are.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from graphad.ops._buffers import empty, is_batch_last

SHORT = 8  # NumPy sums this many terms or more pairwise: other roundings
PAIRWISE = 16  # below it, NumPy's pairwise loop adds 8 terms as a tree, then the rest in order
SUM_MIN_SIZE = 4096  # below it, np.sum's call costs less than k slice additions
SUMMED = (np.dtype(np.float32), np.dtype(np.float64))  # np.sum keeps these dtypes


def short_sum(x: Any, axis: int, keepdims: bool) -> np.ndarray | None:
    """Σ over ``axis`` as slice additions in NumPy's order, when that is NumPy's value and
    faster: ``x`` a float32/float64 ndarray of at least ``SUM_MIN_SIZE`` entries, the axis of
    length 2 to 7, or the last axis of a C-ordered array of 8 to 15 (pairwise); else None."""
    if not isinstance(x, np.ndarray) or x.dtype not in SUMMED or x.size < SUM_MIN_SIZE:
        return None
    k = x.shape[axis]
    pairwise = SHORT <= k < PAIRWISE and axis % x.ndim == x.ndim - 1 and x.flags.c_contiguous
    if not (2 <= k < SHORT or pairwise):
        return None
    index: list[Any] = [slice(None)] * x.ndim

    def part(i: int) -> np.ndarray:
        index[axis] = slice(i, i + 1) if keepdims else i
        return x[tuple(index)]

    first = part(0)
    out = empty(first.shape, x.dtype, like=first)
    # a result laid out batch last (short rows) from slices that are not (a C-ordered x):
    # added into it, each slice's rows cross its layout (GMM's (1000, 10, 10) over its last
    # axis 101 µs); added in C order and laid out by one copy, 60 µs, the same values
    crossed = is_batch_last(out) and not is_batch_last(first)
    total = np.empty(first.shape, x.dtype) if crossed else out
    if pairwise:  # NumPy's tree over the first 8 (its loop's 8 accumulators), then the rest
        _pair(part, 0, total)
        right = _pair(part, 4, np.empty_like(total))
        np.add(total, right, out=total)
        for i in range(SHORT, k):
            np.add(total, part(i), out=total)
    else:
        np.add(first, part(1), out=total)
        for i in range(2, k):
            np.add(total, part(i), out=total)
    if crossed:
        np.copyto(out, total)
    return out


def may_sum_short(shape: tuple[int, ...], axes: tuple[int, ...]) -> bool:
    """Whether :func:`short_sum` may take Σ over ``axes`` (normalised) of a float array of
    ``shape`` (known when a plan is made: elsewhere a kernel calls NumPy's reduction)."""
    if len(axes) != 1 or math.prod(shape) < SUM_MIN_SIZE:
        return False
    return 2 <= shape[axes[0]] < PAIRWISE


def _pair(part: Any, i: int, out: np.ndarray) -> np.ndarray:
    """(xᵢ + xᵢ₊₁) + (xᵢ₊₂ + xᵢ₊₃) into ``out``."""
    np.add(part(i), part(i + 1), out=out)
    right = np.add(part(i + 2), part(i + 3))
    return np.add(out, right, out=out)


BLAS_MIN_WORK = 1 << 12  # m·k·n below which NumPy's own loop costs less than a copy
COPIES_ITSELF = np.lib.NumpyVersion(np.__version__) >= "2.3.0"


def blas_ready(a: Any, b: Any) -> tuple[Any, Any]:
    """``a`` and ``b`` for ``a @ b``, an operand copied to C order when its matrices (last two
    axes) are not laid out for BLAS and the product does m·k·n ≥ ``BLAS_MIN_WORK``
    multiply-adds per matrix (before NumPy 2.3, which copies them itself)."""
    if COPIES_ITSELF or not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        return a, b
    if a.ndim < 2 or b.ndim < 2 or a.dtype.kind not in "fc":
        return a, b
    work = a.shape[-2] * a.shape[-1] * b.shape[-1]
    if work < BLAS_MIN_WORK:
        return a, b
    return _blasable(a), _blasable(b)


def _blasable(x: np.ndarray) -> np.ndarray:
    """``x`` itself when NumPy's matmul hands its matrices to BLAS (one of the last two axes
    of unit stride, the other's stride a whole number of entries at least that axis's
    extent: a matrix or its transpose with a leading dimension), else a C-ordered copy."""
    unit = x.itemsize
    rows, cols = x.strides[-2], x.strides[-1]
    m, n = x.shape[-2], x.shape[-1]
    if cols == unit and rows % unit == 0 and rows // unit >= n:
        return x
    if rows == unit and cols % unit == 0 and cols // unit >= m:
        return x
    return np.ascontiguousarray(x)
