"""The NumPy that compiled regions call: numba functions cached on disk, once per machine.

numba compiles its own implementation of a NumPy function into every function that calls
it, in every process, and some cost seconds: ``np.dot`` about one for each new signature,
``np.transpose`` with axes several.  A region's source calls them through this module
(it is the region's ``np``): each is a numba function of its own, cached by numba beside
this file (or in ``NUMBA_CACHE_DIR``), so its compiled code is made once for each signature
on a machine and loaded from disk by every process after that.  The other names a region
uses (dtypes, ``empty``, ``full``, ``inf``, ``nan``) are NumPy's, which numba compiles
quickly.  The regions' own source does not change: with numba's ``DISABLE_JIT`` these are
NumPy's functions run as Python.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy
from numpy import bool_, empty, float32, float64, full, inf, nan

__all__ = [
    "ascontiguousarray",
    "bool_",
    "broadcast_shapes",
    "broadcast_to",
    "dot",
    "empty",
    "float32",
    "float64",
    "full",
    "inf",
    "nan",
    "transpose",
]

jit = numba.njit(cache=True, error_model="numpy", nogil=True)


# a product of at most this many multiplications is a loop: BLAS's call costs more there
# (about 0.1 µs, and numba's checks of the operands' layout), as in a loop step h = W·h
SMALL_DOT = 1024


@jit
def dot(a: Any, b: Any) -> Any:
    """``numpy.dot`` of vectors and matrices; small products as loops.  Each entry is the
    sum of its products from the first, as BLAS's may differ from it only by rounding."""
    # a.ndim and b.ndim are constants to numba: each signature compiles one branch
    if a.ndim == 1 and b.ndim == 1:
        k = a.shape[0]
        if 0 < k <= SMALL_DOT:
            s = a[0] * b[0]
            for p in range(1, k):
                s += a[p] * b[p]
            return s
    elif a.ndim == 2 and b.ndim == 1:
        m, k = a.shape
        if k > 0 and m * k <= SMALL_DOT:
            v = numpy.empty(m, a.dtype)
            for i in range(m):
                s = a[i, 0] * b[0]
                for p in range(1, k):
                    s += a[i, p] * b[p]
                v[i] = s
            return v
    elif a.ndim == 1 and b.ndim == 2:
        k, n = b.shape
        if k > 0 and k * n <= SMALL_DOT:
            v = numpy.empty(n, a.dtype)
            for j in range(n):
                v[j] = a[0] * b[0, j]
            for p in range(1, k):
                for j in range(n):
                    v[j] += a[p] * b[p, j]
            return v
    elif a.ndim == 2 and b.ndim == 2:
        m, k = a.shape
        n = b.shape[1]
        if k > 0 and m * k * n <= SMALL_DOT:
            c = numpy.empty((m, n), a.dtype)
            for i in range(m):
                for j in range(n):
                    c[i, j] = a[i, 0] * b[0, j]
                for p in range(1, k):
                    for j in range(n):
                        c[i, j] += a[i, p] * b[p, j]
            return c
    return numpy.dot(a, b)


@jit
def transpose(a: Any, axes: Any) -> Any:
    return numpy.transpose(a, axes)


@jit
def broadcast_to(a: Any, shape: Any) -> Any:
    return numpy.broadcast_to(a, shape)


@jit
def ascontiguousarray(a: Any) -> Any:
    return numpy.ascontiguousarray(a)


@jit
def broadcast_shapes(*shapes: Any) -> Any:
    return numpy.broadcast_shapes(*shapes)
