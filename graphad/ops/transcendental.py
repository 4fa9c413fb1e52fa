"""More smooth elementwise functions: base-2 and base-10 logs and powers, inverse hyperbolics,
arctan2, hypot, logaddexp, sinc, the angle conversions and the angle of a complex number.

Each op states its partials once (:class:`~graphad.ops.elementwise.Elementwise`) and
has NumPy's kernel, so values are NumPy's to the bit.  ``deg2rad``/``rad2deg`` are
products with a constant: NumPy's kernels are that same product (x·(π/180)), so the
composition is exact and costs one multiply.  At the origin, where ``arctan2`` and
``hypot`` have no derivative, their partials are taken as 0 (the tie rule of ``abs``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphad.ir import Node, TensorType, as_node
from graphad.ops._ufunc import Binary, FloatUnary, Unary, binary, unary
from graphad.ops._util import building, tensor, ufunc_dtype
from graphad.ops.comparison import less
from graphad.ops.complex_parts import conj, is_complex, real_dtype
from graphad.ops.elementwise import (
    Elementwise,
    Over,
    Partial,
    abs,
    cos,
    divide,
    exp,
    multiply,
    sqrt,
    square,
    xdivy,
)
from graphad.ops.selection import where

LN2 = math.log(2.0)
LN10 = math.log(10.0)


@dataclass(frozen=True)
class Log2(Elementwise, FloatUnary):
    ufunc = np.log2

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 1/(x·ln 2)"""
        return (divide(1 / LN2, node.inputs[0]),)


@dataclass(frozen=True)
class Log10(Elementwise, FloatUnary):
    ufunc = np.log10

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 1/(x·ln 10)"""
        return (divide(1 / LN10, node.inputs[0]),)


@dataclass(frozen=True)
class Exp2(Elementwise, FloatUnary):
    ufunc = np.exp2

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 2^x·ln 2: reuse the forward node"""
        return (node * LN2,)


@dataclass(frozen=True)
class Arcsinh(Elementwise, FloatUnary):
    ufunc = np.arcsinh

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 1/sqrt(1 + x²)"""
        return (Over(sqrt(1 + square(node.inputs[0]))),)


@dataclass(frozen=True)
class Arccosh(Elementwise, FloatUnary):
    ufunc = np.arccosh

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 1/sqrt(x² - 1)"""
        return (Over(sqrt(square(node.inputs[0]) - 1)),)


@dataclass(frozen=True)
class Arctanh(Elementwise, FloatUnary):
    ufunc = np.arctanh

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 1/(1 - x²)"""
        return (Over(1 - square(node.inputs[0])),)


@dataclass(frozen=True)
class Arctan2(Elementwise, Binary):
    ufunc = np.arctan2

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂y = x/(x² + y²), ∂/∂x = -y/(x² + y²); both 0 at the origin"""
        y, x = node.inputs
        r2 = square(x) + square(y)
        return xdivy(x, r2), -xdivy(y, r2)


@dataclass(frozen=True)
class Hypot(Elementwise, Binary):
    ufunc = np.hypot

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂a = a/hypot, ∂/∂b = b/hypot; both 0 at the origin"""
        a, b = node.inputs
        return xdivy(a, node), xdivy(b, node)


@dataclass(frozen=True)
class LogAddExp(Elementwise, Binary):
    name = "logaddexp"
    ufunc = np.logaddexp

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂a = exp(a - y), ∂/∂b = exp(b - y): the softmax of (a, b), from the output"""
        a, b = node.inputs
        return exp(a - node), exp(b - node)


@dataclass(frozen=True)
class LogAddExp2(Elementwise, Binary):
    name = "logaddexp2"
    ufunc = np.logaddexp2

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂a = 2^(a - y), ∂/∂b = 2^(b - y)"""
        a, b = node.inputs
        return exp2(a - node), exp2(b - node)


# sinc'(x) = Σₖ₌₁ (-1)ᵏ·2k·π²ᵏ·x²ᵏ⁻¹/(2k+1)!, the coefficients of x²ᵏ⁻¹; eight terms are
# exact to rounding for |x| < SERIES (the ninth is below 1e-22 there)
SINC_SERIES = tuple(
    (-1) ** k * 2 * k * math.pi ** (2 * k) / math.factorial(2 * k + 1) for k in range(1, 9)
)
SERIES = 0.1


@dataclass(frozen=True)
class Sinc(Elementwise, FloatUnary):
    """np.sinc: sin(πx)/(πx), 1 at 0."""

    ufunc = np.sin  # the dtype rule of a float function

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.sinc(x)

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = (cos(πx) - sinc(x))/x; near 0 its Taylor series, so that every order is
        exact at and around 0, where the quotient cancels"""
        x = node.inputs[0]
        z = square(x)
        poly: Any = SINC_SERIES[-1]
        for c in reversed(SINC_SERIES[:-1]):
            poly = poly * z + c
        quotient = xdivy(cos(math.pi * x) - node, x)  # 0 at 0 in the branch where untaken
        return (where(less(abs(x), SERIES), x * poly, quotient),)


@dataclass(frozen=True)
class Angle(Elementwise, Unary):
    """np.angle in radians: arctan2(Im z, Re z)."""

    def infer(self, x: TensorType) -> TensorType:
        dtype = real_dtype(tensor(x).dtype)
        return TensorType(x.shape, dtype if dtype.kind == "f" else np.dtype(np.float64))

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(np.angle(x), self.infer(TensorType(x.shape, x.dtype)).dtype)

    def partials(self, node: Node) -> tuple[Partial]:
        """P = -i/z = -i·z̄/|z|² (ẏ = Im(ż/z)), 0 at z = 0; none for real z (0 or π)"""
        z = node.inputs[0]
        if not is_complex(z):
            return (None,)
        return (xdivy(conj(z), square(abs(z))) * -1j,)


# -- public functions ----------------------------------------------------------
def log2(x: Any) -> Node:
    return unary(Log2(), x)


def log10(x: Any) -> Node:
    return unary(Log10(), x)


def exp2(x: Any) -> Node:
    """2 ** x"""
    return unary(Exp2(), x)


def arcsinh(x: Any) -> Node:
    return unary(Arcsinh(), x)


def arccosh(x: Any) -> Node:
    return unary(Arccosh(), x)


def arctanh(x: Any) -> Node:
    return unary(Arctanh(), x)


def arctan2(x1: Any, x2: Any) -> Node:
    """The angle of the point (x2, x1), broadcasting (NumPy's argument order: y, then x)."""
    return binary(Arctan2(), x1, x2)


def hypot(x1: Any, x2: Any) -> Node:
    """sqrt(x1² + x2²) without overflow, broadcasting."""
    return binary(Hypot(), x1, x2)


def logaddexp(x1: Any, x2: Any) -> Node:
    """log(exp(x1) + exp(x2)) without overflow, broadcasting."""
    return binary(LogAddExp(), x1, x2)


def logaddexp2(x1: Any, x2: Any) -> Node:
    """log2(2**x1 + 2**x2) without overflow, broadcasting."""
    return binary(LogAddExp2(), x1, x2)


def sinc(x: Any) -> Node:
    """np.sinc: sin(πx)/(πx), the normalised sinc; 1 at 0, smooth to every order there."""
    return unary(Sinc(), x)


def _scaled(ufunc: Any, x: Any, factor: float) -> Node:
    """x·factor, for the real dtypes NumPy's ``ufunc`` (deg2rad, rad2deg) accepts."""
    x = as_node(x)
    with building(ufunc.__name__, x):
        ufunc_dtype(ufunc, tensor(x.type).dtype)
    return multiply(x, factor)


def deg2rad(x: Any) -> Node:
    """x·(π/180), the product NumPy's kernel computes."""
    return _scaled(np.deg2rad, x, math.pi / 180.0)


def rad2deg(x: Any) -> Node:
    """x·(180/π), the product NumPy's kernel computes."""
    return _scaled(np.rad2deg, x, 180.0 / math.pi)


def radians(x: Any) -> Node:
    """np.radians, another name of :func:`deg2rad`."""
    return deg2rad(x)


def degrees(x: Any) -> Node:
    """np.degrees, another name of :func:`rad2deg`."""
    return rad2deg(x)


def angle(z: Any, deg: bool = False) -> Node:
    """The argument of z in (-π, π] (degrees with ``deg``); 0 or π for real z."""
    y = unary(Angle(), z)
    return y * (180.0 / np.pi) if deg else y
