"""Differentiation passes: reverse mode (``gradients``) and forward mode (``jvp``)."""

from graphad.autodiff.forward import jvp
from graphad.autodiff.reverse import Sweep, gradients, sweep

__all__ = ["Sweep", "gradients", "jvp", "sweep"]
