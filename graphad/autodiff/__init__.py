"""Graph transforms: reverse mode (``gradients``), forward mode (``jvp``), batching (``vmap``)
and their compositions."""

from graphad.autodiff.batching import vmap
from graphad.autodiff.forward import jvp
from graphad.autodiff.reverse import Sweep, gradients, sweep
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
    "Sweep",
    "adjoints",
    "derivative",
    "gradients",
    "hessian",
    "hvp",
    "jacobian",
    "jvp",
    "sweep",
    "vjp",
    "vmap",
]
