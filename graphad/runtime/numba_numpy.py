"""The NumPy that compiled regions call: numba functions cached on disk, once per machine.

numba compiles its own implementation of a NumPy function into every function that calls
it, in every process, and some cost seconds: ``np.dot`` about one for each new signature,
``np.transpose`` with axes several.  A region's source calls them through this module
(it is the region's ``np``): each is a numba function of its own, cached by numba beside
this file (or in ``NUMBA_CACHE_DIR``), so its compiled code is made once for each signature
on a machine and loaded from disk by every process after that.  The other names a region
uses (dtypes, ``empty``, ``full``, ``zeros``, ``concatenate``, ``stack``, ``inf``,
``nan`` and the functions of logsumexp's form) are NumPy's, which numba compiles quickly.
``blas_dot`` is ``np.dot`` that is BLAS's call whatever the size, for products a region
knows to be large: ``dot`` is that call behind loops for small products, which numba
compiles again at each use.  The regions' own source does not change: with numba's
``DISABLE_JIT`` their ``np`` is NumPy (:mod:`graphad.runtime.numba_nojit`), run as Python.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy
from numba.core import types
from numba.extending import overload
from numpy import (
    bool_,
    concatenate,
    empty,
    exp,
    float32,
    float64,
    full,
    inf,
    isfinite,
    log,
    nan,
    stack,
    zeros,
)
from numpy import max as max  # as np.max in a region's source
from numpy import sum as sum  # as np.sum

from graphad.ir.native import SMALL_DOT

__all__ = [
    "SMALL_DOT",
    "ascontiguousarray",
    "blas_dot",
    "bool_",
    "broadcast_shapes",
    "broadcast_to",
    "concatenate",
    "dot",
    "empty",
    "exp",
    "float32",
    "float64",
    "full",
    "inf",
    "isfinite",
    "log",
    "max",
    "nan",
    "stack",
    "sum",
    "transpose",
    "zeros",
]

jit = numba.njit(cache=True, error_model="numpy", nogil=True)


@jit
def blas_dot(a: Any, b: Any, out: Any) -> Any:
    """``numpy.dot(a, b[, out])``: BLAS, compiled once a signature on a machine.  A region
    calls it for products known to be large; ``out`` None for a new array."""
    if out is None:
        return numpy.dot(a, b)
    return numpy.dot(a, b, out)


def dot(a: Any, b: Any, out: Any = None) -> Any:
    """``numpy.dot(a, b[, out])`` of vectors and matrices.  Compiled (:func:`_dot`), small
    products are loops inlined into the caller: a call to a function compiled apart costs
    about 60 ns (its arrays' reference counts, no inlining across it), as much as the loop
    of an 8 x 8 product.  ``out``: a C-ordered array of the result's shape and dtype."""
    return numpy.dot(a, b) if out is None else numpy.dot(a, b, out)


@overload(dot, inline="always")
def _dot(a: Any, b: Any, out: Any = None) -> Any:
    """The compiled dot for the operands' ranks (known when numba types the call): each
    entry the sum of its products from the first, as BLAS's may differ from it only by
    rounding; BLAS past SMALL_DOT multiplications or for an empty inner dim."""
    fresh = out is None or isinstance(out, (types.NoneType, types.Omitted))
    ranks = (a.ndim, b.ndim)
    # sums in a local and BLAS by an early return: a store per product, or one return for
    # both ways, cost as much again (numba cannot tell the result from the operands)
    if ranks == (1, 1):

        def vv(a: Any, b: Any, out: Any = None) -> Any:
            k = a.shape[0]
            if k == 0 or k > SMALL_DOT:
                return blas_dot(a, b, None)
            s = a[0] * b[0]
            for p in range(1, k):
                s += a[p] * b[p]
            return s

        return vv
    if ranks == (2, 1):

        def mv(a: Any, b: Any, out: Any = None) -> Any:
            m, k = a.shape
            if k == 0 or m * k > SMALL_DOT:
                return blas_dot(a, b, out)
            v = _empty(m, a.dtype) if fresh else out
            for i in range(m):
                s = a[i, 0] * b[0]
                for p in range(1, k):
                    s += a[i, p] * b[p]
                v[i] = s
            return v

        return mv
    if ranks == (1, 2):

        def vm(a: Any, b: Any, out: Any = None) -> Any:
            k, n = b.shape
            if k == 0 or k * n > SMALL_DOT:
                return blas_dot(a, b, out)
            v = _empty(n, a.dtype) if fresh else out
            for j in range(n):
                s = a[0] * b[0, j]
                for p in range(1, k):
                    s += a[p] * b[p, j]
                v[j] = s
            return v

        return vm

    def mm(a: Any, b: Any, out: Any = None) -> Any:
        m, k = a.shape
        n = b.shape[1]
        if k == 0 or m * k * n > SMALL_DOT:
            return blas_dot(a, b, out)
        c = _empty((m, n), a.dtype) if fresh else out
        for i in range(m):
            for j in range(n):
                s = a[i, 0] * b[0, j]
                for p in range(1, k):
                    s += a[i, p] * b[p, j]
                c[i, j] = s
        return c

    return mm


# the arrays of small products: numba's own np.empty is compiled again in each process for
# each rank and dtype (0.03-0.07 s); its shape here is a run-time int, never a literal, so
# one signature serves every size (a region's own np.empty((64, 10), ...) would compile one
# for each size, a literal type)
@jit
def _empty(shape: Any, dtype: Any) -> Any:
    """``numpy.empty(shape, dtype)``, compiled once a signature on a machine."""
    return numpy.empty(shape, dtype)


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
