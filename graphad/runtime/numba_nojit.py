"""The ``np`` of a region run as Python (numba's ``DISABLE_JIT``): NumPy, and the names
that :mod:`graphad.runtime.numba_numpy` adds to it as NumPy's own functions.

A region's source is the same with jit and without; its ``Call`` expressions may name
``np.blas_dot`` (``np.dot`` on BLAS whatever the size, :data:`graphad.ir.native.NUMPY`),
which NumPy lacks.  Here it is ``numpy.dot``, the function BLAS's binding in numba
implements; every other name is NumPy's.
"""

from __future__ import annotations

from typing import Any

import numpy
from numpy import dot as blas_dot

__all__ = ["blas_dot"]


def __getattr__(name: str) -> Any:
    """NumPy's ``name``: the region's other ``np.<name>`` (PEP 562)."""
    return getattr(numpy, name)
