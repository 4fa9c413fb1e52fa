"""Piecewise elementwise functions: rounding, remainders, fabs, copysign, heaviside,
nan_to_num.

Rounding (``floor``, ``ceil``, ``trunc``, ``round``) is piecewise constant: its
derivative is 0 almost everywhere and undefined at the jumps, so no derivative
flows through it (:class:`~graphad.ops._constant.ZeroDerivative`), in either mode
and at every order.  The remainders are x minus a piecewise-constant multiple of
the divisor, so their partials are 1 and minus that multiple; ``heaviside`` passes
a derivative only to its value at 0; ``nan_to_num`` only where it kept x.  At the
jumps themselves the one-sided derivative is taken, as NumPy's value is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from graphad.ir import DTypeError, Node, TensorType, as_node
from graphad.ops._constant import ZeroDerivative
from graphad.ops._ufunc import Binary, FloatUnary, Unary, binary, unary
from graphad.ops._util import building, tensor
from graphad.ops.comparison import equal
from graphad.ops.elementwise import Elementwise, Partial, divide, sign


@dataclass(frozen=True)
class Rounding(ZeroDerivative, Unary):
    """An op that rounds to whole numbers: piecewise constant, so no derivative flows."""


@dataclass(frozen=True)
class Floor(Rounding):
    ufunc = np.floor


@dataclass(frozen=True)
class Ceil(Rounding):
    ufunc = np.ceil


@dataclass(frozen=True)
class Trunc(Rounding):
    ufunc = np.trunc


@dataclass(frozen=True)
class Round(Rounding):
    """np.round(x, decimals): half to even, keeping x's dtype."""

    decimals: int = 0

    def infer(self, x: TensorType) -> TensorType:
        if tensor(x).dtype.kind == "b":
            raise DTypeError("round is not defined on bool")
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.round(x, self.decimals)


@dataclass(frozen=True)
class _Remainder(Elementwise, Binary):
    """a - q(a/b)·b for a rounding q (floor: remainder, trunc: fmod)."""

    rounding: ClassVar[type[Rounding]] = Floor

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂a = 1, ∂/∂b = -q(a/b) (q piecewise constant)"""
        a, b = node.inputs
        return 1, -self.rounding()(divide(a, b))


@dataclass(frozen=True)
class Remainder(_Remainder):
    """a mod b = a - floor(a/b)·b, the sign of b (Python's %)"""

    ufunc = np.remainder
    operator = "%"
    rounding = Floor


@dataclass(frozen=True)
class Fmod(_Remainder):
    """fmod(a, b) = a - trunc(a/b)·b, the sign of a (C's fmod)"""

    ufunc = np.fmod
    rounding = Trunc


@dataclass(frozen=True)
class Fabs(Elementwise, FloatUnary):
    ufunc = np.fabs

    def infer(self, x: TensorType) -> TensorType:
        if tensor(x).dtype.kind == "c":
            raise DTypeError("fabs is not defined on complex numbers; use abs")
        return super().infer(x)

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = sign(x) (0 at 0)"""
        return (sign(node.inputs[0]),)


@dataclass(frozen=True)
class Copysign(Elementwise, Binary):
    ufunc = np.copysign

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """y = |a|·±1: ∂/∂a = sign(a)·sign(y) (0 at a = 0), ∂/∂b = 0 (a sign)"""
        a, _ = node.inputs
        return sign(a) * sign(node), None


@dataclass(frozen=True)
class Heaviside(Elementwise, Binary):
    ufunc = np.heaviside

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂x1 = 0 (a step), ∂/∂x2 = [x1 = 0] (x2 is the value there)"""
        x1, _ = node.inputs
        return None, equal(x1, 0)


@dataclass(frozen=True)
class NanToNum(Elementwise, Unary):
    """np.nan_to_num: NaN and ±inf replaced by finite numbers."""

    nan: float = 0.0
    posinf: float | None = None
    neginf: float | None = None

    def infer(self, x: TensorType) -> TensorType:
        return tensor(x)

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.nan_to_num(x, copy=True, nan=self.nan, posinf=self.posinf, neginf=self.neginf)

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = [y = x]: 1 where x was kept, 0 where it was replaced"""
        return (equal(node, node.inputs[0]),)


# -- public functions ----------------------------------------------------------
def floor(x: Any) -> Node:
    """The largest whole number ≤ x; derivative 0 (piecewise constant)."""
    return unary(Floor(), x)


def ceil(x: Any) -> Node:
    """The smallest whole number ≥ x; derivative 0 (piecewise constant)."""
    return unary(Ceil(), x)


def trunc(x: Any) -> Node:
    """x rounded towards 0; derivative 0 (piecewise constant)."""
    return unary(Trunc(), x)


def round(a: Any, decimals: int = 0) -> Node:  # noqa: A001 - NumPy's name
    """np.round: to ``decimals`` places, halves to even; derivative 0 (piecewise constant)."""
    x = as_node(a)
    with building("round", x):
        if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)):
            raise DTypeError(f"decimals must be an int, got {decimals!r}")
    return Round(int(decimals))(x)


def around(a: Any, decimals: int = 0) -> Node:
    """np.around, another name of :func:`round`."""
    return round(a, decimals)


def remainder(x1: Any, x2: Any) -> Node:
    """x1 mod x2 with the sign of x2 (Python's %), broadcasting."""
    return binary(Remainder(), x1, x2)


def mod(x1: Any, x2: Any) -> Node:
    """np.mod, another name of :func:`remainder`."""
    return remainder(x1, x2)


def fmod(x1: Any, x2: Any) -> Node:
    """The remainder of x1/x2 with the sign of x1 (C's fmod), broadcasting."""
    return binary(Fmod(), x1, x2)


def fabs(x: Any) -> Node:
    """|x| for real x, as a float; the derivative at 0 is taken as 0."""
    return unary(Fabs(), x)


def copysign(x1: Any, x2: Any) -> Node:
    """|x1| with the sign of x2, broadcasting."""
    return binary(Copysign(), x1, x2)


def heaviside(x1: Any, x2: Any) -> Node:
    """0 where x1 < 0, x2 where x1 = 0, 1 where x1 > 0, broadcasting."""
    return binary(Heaviside(), x1, x2)


def nan_to_num(
    x: Any,
    copy: bool = True,
    nan: float = 0.0,
    posinf: float | None = None,
    neginf: float | None = None,
) -> Node:
    """np.nan_to_num: NaN → ``nan``, ±inf → ``posinf``/``neginf`` (default: the largest
    finite numbers); the derivative is 1 where x was kept and 0 where it was replaced.
    ``copy`` is accepted for NumPy's signature (nodes are never changed in place)."""
    return NanToNum(
        float(nan),
        None if posinf is None else float(posinf),
        None if neginf is None else float(neginf),
    )(as_node(x))
