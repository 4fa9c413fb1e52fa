"""``ga.linalg``: the linear algebra of ``np.linalg``, differentiable, re-exported.

The ops live in :mod:`graphad.ops.linalg` (matmul, inv, solve) and
:mod:`graphad.ops.decompositions` (the factorisations and what is built on
them, det and its derivative the adjugate among them, with the conditions under which
each derivative exists).
"""

from graphad.ops.decompositions import (
    EighResult,
    QRResult,
    SlogdetResult,
    SVDResult,
    cholesky,
    det,
    eigh,
    eigvalsh,
    matrix_power,
    norm,
    pinv,
    qr,
    slogdet,
    svd,
    svdvals,
)
from graphad.ops.linalg import inv, matmul, solve
from graphad.ops.products import tensordot
from graphad.ops.shape import matrix_transpose

__all__ = [
    "EighResult",
    "QRResult",
    "SVDResult",
    "SlogdetResult",
    "cholesky",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "matmul",
    "matrix_power",
    "matrix_transpose",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "tensordot",
]

from graphad.ops._naming import named as _named

# every function takes name= and has its arguments checked, as graphad.ops' do
globals().update(
    {_fn: _named(globals()[_fn]) for _fn in __all__ if not isinstance(globals()[_fn], type)}
)
