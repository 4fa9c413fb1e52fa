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


@jit
def dot(a: Any, b: Any) -> Any:
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
