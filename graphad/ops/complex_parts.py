"""Parts of complex numbers: real, imag, conj, real_if_close (angle is in
:mod:`~graphad.ops.transcendental`).

Convention (JAX's and autograd's): a cotangent is paired with a tangent by the
real bilinear form Re Σ a·b, and an adjoint is the transpose under it.  So a
holomorphic op's rules are the real ones with complex partials (no conjugates),
and the gradient of a real function f of z is ∂f/∂Re z - i·∂f/∂Im z.  Under this
pairing ``real`` and ``conj`` are their own transposes (on a real cotangent ȳ,
x̄ = ȳ and x̄ = conj(ȳ)), ``imag``'s transpose is ȳ ↦ -i·ȳ, and a real-valued op
of a complex input (abs, angle, var, std) states one partial
P = ∂f/∂Re z - i·∂f/∂Im z: x̄ = g·P and ẏ = Re(ż·P).  On real inputs these ops
are the identity (real, conj) or zero (imag).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from graphad.ir import ExecutionError, Node, TensorType, as_node
from graphad.ops._linear import Linear
from graphad.ops._ufunc import Unary, unary
from graphad.ops._util import tensor
from graphad.ops.utility import zeros_like


def real_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype of the real part: complex128 -> float64, others unchanged."""
    return np.empty(0, dtype).real.dtype


def is_complex(x: Node) -> bool:
    return x.dtype is not None and x.dtype.kind == "c"


def real_tangent(node: Node, t: Node | None) -> Node | None:
    """The tangent of a real ``node``: the real part of ż·P when the inputs are complex."""
    if t is not None and is_complex(t) and not is_complex(node):
        return real(t)
    return t


@dataclass(frozen=True)
class Part(Linear, Unary):
    """The real or imaginary part: linear over the reals, with a real result."""

    part: ClassVar[Any] = None

    def infer(self, x: TensorType) -> TensorType:
        return TensorType(tensor(x).shape, real_dtype(x.dtype))

    def compute(self, x: np.ndarray) -> np.ndarray:
        return self.part(x)


@dataclass(frozen=True)
class Real(Part):
    part = staticmethod(np.real)

    def transpose(self, node: Node, g: Node) -> Node:
        """x̄ = ȳ (a real cotangent: Re(ȳ·ẋ) = ȳ·Re ẋ)"""
        return g


@dataclass(frozen=True)
class Imag(Part):
    part = staticmethod(np.imag)

    def transpose(self, node: Node, g: Node) -> Node:
        """x̄ = -i·ȳ (Re(-i·ȳ·ẋ) = ȳ·Im ẋ); 0 for a real x, whose imag is constant"""
        return g * -1j if is_complex(node.inputs[0]) else zeros_like(g)


@dataclass(frozen=True)
class Conj(Linear, Unary):
    ufunc = np.conjugate

    def transpose(self, node: Node, g: Node) -> Node:
        """x̄ = conj(ȳ) (Re(ȳ·conj ẋ) = Re(conj ȳ·ẋ))"""
        return conj(g)


@dataclass(frozen=True)
class RealIfClose(Real):
    """The real part, checked when it runs: every imaginary part within tol machine
    epsilons of 0 (NumPy would return the complex array otherwise; a graph's dtype is
    fixed when it is built)."""

    tol: float = 100.0
    chunking = "blocks"  # the value check runs on each block as it is computed

    def compute(self, x: np.ndarray) -> np.ndarray:
        eps = np.finfo(x.dtype).eps
        tol = self.tol * eps if self.tol > 1 else self.tol
        worst = float(np.max(np.abs(np.imag(x)), initial=0.0))
        if worst > tol:
            raise ExecutionError(
                f"real_if_close: an imaginary part of {worst:.3g} exceeds the tolerance "
                f"{tol:.3g}; the result's dtype is real, so use real() or keep the complex value"
            )
        return np.real(x)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """op(xb)"""
        return self(xs[0])


# -- public functions ----------------------------------------------------------
def real(val: Any) -> Node:
    """The real part (x itself for a real x); linear, its own transpose."""
    return unary(Real(), val)


def imag(val: Any) -> Node:
    """The imaginary part (zeros for a real x)."""
    return unary(Imag(), val)


def conj(x: Any) -> Node:
    """The complex conjugate (x itself for a real x)."""
    return unary(Conj(), x)


def conjugate(x: Any) -> Node:
    """np.conjugate, another name of :func:`conj`."""
    return conj(x)


def real_if_close(a: Any, tol: float = 100.0) -> Node:
    """np.real_if_close: a real x as it is; a complex x as its real part, checked at run
    time to have every imaginary part within ``tol`` (in machine epsilons when > 1)."""
    x = as_node(a)
    return RealIfClose(float(tol))(x) if is_complex(x) else x
