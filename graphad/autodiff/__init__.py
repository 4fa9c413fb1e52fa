"""Graph transforms: reverse mode (``gradients``), forward mode (``jvp``), batching (``vmap``),
sparsity detection (``sparsity``) and their compositions.

Builds on :mod:`graphad.ops` and :mod:`graphad.ir`, calling each op's rules (``vjp``, ``jvp``,
``batch``); its answers are nodes of the same graph.  It does not import the compiler, its
peer (rewriting is a later stage), nor anything above.
"""

from graphad.autodiff.batching import vmap
from graphad.autodiff.compression import Coloring, coloring
from graphad.autodiff.forward import jvp
from graphad.autodiff.reverse import Sweep, gradients, sweep
from graphad.autodiff.sparsity import SparsityWarning, hessian_sparsity, sparsity
from graphad.autodiff.transforms import (
    Adjoint,
    Adjoints,
    adjoints,
    derivative,
    hessian,
    hvp,
    jacobian,
    vjp,
)

__all__ = [
    "Adjoint",
    "Adjoints",
    "Coloring",
    "SparsityWarning",
    "Sweep",
    "adjoints",
    "coloring",
    "derivative",
    "gradients",
    "hessian",
    "hessian_sparsity",
    "hvp",
    "jacobian",
    "jvp",
    "sparsity",
    "sweep",
    "vjp",
    "vmap",
]
