"""Elementwise arithmetic and transcendental functions, with NumPy broadcasting and dtype rules.

Rules return adjoints in the broadcast (output) shape; the reverse pass
un-broadcasts them once.  Comparisons and logic live in
:mod:`~graphad.ops.comparison`; maximum, minimum, clip and where in
:mod:`~graphad.ops.selection`.

A zero cotangent is a strong zero.  Rules whose local derivative can be
infinite (log, sqrt, divide, power, arcsin, arccos) multiply by it with
``multiply_no_nan``/``xdivy``, which give exactly 0 when the cotangent is 0.
That is the answer to the classic ``where`` NaN problem: the untaken branch
of ``where(x > 0, log(x), 0)`` receives a zero adjoint, and ``log`` turns it
into 0, not 0/0 = NaN, at x = 0, at every order.  A plain product keeps
NumPy's 0·inf = NaN (and its speed): write x·log(x) as ``xlogy(x, x)``.

Tie rule: ``abs``, ``relu`` and ``sign`` use 0 as the derivative at 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphad.ir import (
    DTypeError,
    Node,
    Op,
    ShapeError,
    TensorType,
    as_nodes,
    broadcast_shapes,
    shapes_compatible,
    user_location,
)
from graphad.ops._ufunc import Binary, FloatUnary, Unary, binary, unary
from graphad.ops._util import add_tangents, tensor
from graphad.ops.comparison import equal, greater
from graphad.ops.selection import where
from graphad.ops.utility import zeros_like

T = Sequence[Node | None]


# -- arithmetic ----------------------------------------------------------------
@dataclass(frozen=True)
class Add(Binary):
    ufunc = np.add

    def vjp(self, node: Node, g: Node) -> tuple[Node, Node]:
        """ā = g, b̄ = g"""
        return g, g

    def jvp(self, node: Node, t: T) -> Node | None:
        """ẏ = ȧ + ḃ"""
        return add_tangents(*t)


@dataclass(frozen=True)
class Subtract(Binary):
    ufunc = np.subtract

    def vjp(self, node: Node, g: Node) -> tuple[Node, Node]:
        """ā = g, b̄ = -g"""
        return g, -g

    def jvp(self, node: Node, t: T) -> Node | None:
        """ẏ = ȧ - ḃ"""
        return add_tangents(t[0], None if t[1] is None else -t[1])


@dataclass(frozen=True)
class Multiply(Binary):
    ufunc = np.multiply

    def vjp(self, node: Node, g: Node) -> tuple[Node, Node]:
        """ā = g·b, b̄ = g·a"""
        a, b = node.inputs
        return g * b, g * a

    def jvp(self, node: Node, t: T) -> Node | None:
        """ẏ = ȧ·b + a·ḃ"""
        a, b = node.inputs
        return add_tangents(None if t[0] is None else t[0] * b, None if t[1] is None else a * t[1])


@dataclass(frozen=True)
class Divide(Binary):
    ufunc = np.true_divide

    def vjp(self, node: Node, g: Node) -> tuple[Node, Node]:
        """ā = g / b, b̄ = -(g / b)·(a / b)   (0 where g is 0)"""
        _, b = node.inputs
        ga = xdivy(g, b)
        return ga, -multiply_no_nan(ga, node)

    def jvp(self, node: Node, t: T) -> Node | None:
        """ẏ = (ȧ - y·ḃ) / b"""
        _, b = node.inputs
        num = add_tangents(t[0], None if t[1] is None else -(node * t[1]))
        return None if num is None else num / b


def _safe_log(x: Node) -> Node:
    """log(x) with log(0) replaced by 0, so 0**p has a finite derivative in p."""
    return log(where(equal(x, 0), 1, x))


@dataclass(frozen=True)
class Power(Binary):
    ufunc = np.power

    def vjp(self, node: Node, g: Node) -> tuple[Node, Node]:
        """x̄ = g·p·x^(p-1), p̄ = g·x^p·log(x)  (log 0 taken as 0; 0 where g is 0)"""
        x, p = node.inputs
        return multiply_no_nan(g, _slope(x, p)), multiply_no_nan(g, node * _safe_log(x))

    def jvp(self, node: Node, t: T) -> Node | None:
        """ẏ = ẋ·p·x^(p-1) + ṗ·x^p·log(x)"""
        x, p = node.inputs
        return add_tangents(
            None if t[0] is None else multiply_no_nan(t[0], _slope(x, p)),
            None if t[1] is None else multiply_no_nan(t[1], node * _safe_log(x)),
        )


def _slope(x: Node, p: Node) -> Node:
    """p·x^(p-1) with 0·x^(-1) = 0: once the exponent of x**2 has fallen to 0, the
    next order multiplies (p-1) = 0 by 0^(-1) = inf, which must stay 0, not NaN."""
    return multiply_no_nan(p, x ** (p - 1))


@dataclass(frozen=True)
class MultiplyNoNan(Binary):
    """x·y, but exactly 0 wherever x or y is 0 (even if the other is inf or NaN)."""

    ufunc = np.multiply

    def compute(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = np.multiply(x, y)
        return np.where((x == 0) | (y == 0), np.zeros((), out.dtype), out)

    def vjp(self, node: Node, g: Node) -> tuple[Node, Node]:
        """x̄ = g·y, ȳ = g·x, both with the same strong zeros"""
        x, y = node.inputs
        return multiply_no_nan(g, y), multiply_no_nan(g, x)

    def jvp(self, node: Node, t: T) -> Node | None:
        """ż = ẋ·y + x·ẏ for z = x·y, both with the same strong zeros"""
        x, y = node.inputs
        return add_tangents(
            None if t[0] is None else multiply_no_nan(t[0], y),
            None if t[1] is None else multiply_no_nan(x, t[1]),
        )


@dataclass(frozen=True)
class Xdivy(Binary):
    """x / y, but exactly 0 wherever x is 0 (even where y is 0)."""

    ufunc = np.true_divide

    def compute(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = np.true_divide(x, y)
        return np.where(x == 0, np.zeros((), out.dtype), out)

    def vjp(self, node: Node, g: Node) -> tuple[Node, Node]:
        """x̄ = g / y, ȳ = -g·(x/y)/y, 0 where g or x is 0"""
        _, y = node.inputs
        return xdivy(g, y), -multiply_no_nan(g, xdivy(node, y))

    def jvp(self, node: Node, t: T) -> Node | None:
        """ż = ẋ / y - ẏ·(x/y)/y for z = x / y, 0 where the tangent or x is 0"""
        _, y = node.inputs
        return add_tangents(
            None if t[0] is None else xdivy(t[0], y),
            None if t[1] is None else -multiply_no_nan(t[1], xdivy(node, y)),
        )


@dataclass(frozen=True)
class Xlogy(Binary):
    """x·log(y), but exactly 0 wherever x is 0 (as in SciPy and TensorFlow)."""

    ufunc = np.true_divide  # the dtype rule of a float function of two operands

    def compute(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = np.multiply(x, np.log(y))
        return np.where(x == 0, np.zeros((), out.dtype), out)

    def vjp(self, node: Node, g: Node) -> tuple[Node, Node]:
        """x̄ = g·log(y), ȳ = g·x/y, 0 where g or x is 0"""
        x, y = node.inputs
        return multiply_no_nan(g, log(y)), multiply_no_nan(g, xdivy(x, y))

    def jvp(self, node: Node, t: T) -> Node | None:
        """ż = ẋ·log(y) + ẏ·x/y for z = x·log(y), 0 where the tangent or x is 0"""
        x, y = node.inputs
        return add_tangents(
            None if t[0] is None else multiply_no_nan(t[0], log(y)),
            None if t[1] is None else multiply_no_nan(t[1], xdivy(x, y)),
        )


@dataclass(frozen=True)
class AddN(Op):
    """x₁ + … + xₙ for operands of one type: the sum of partial adjoints."""

    def infer(self, *xs: TensorType) -> TensorType:
        shape = broadcast_shapes(*(tensor(x).shape for x in xs))
        if any(not shapes_compatible(x.shape, shape) for x in xs):
            raise ShapeError("add_n operands must have one shape; use add to broadcast")
        return TensorType(shape, np.result_type(*(x.dtype for x in xs)))

    def compute(self, *xs: np.ndarray) -> np.ndarray:
        # in the dtype infer declared, whatever the operands' order (in-place += would keep
        # the first pair's dtype); the first sum is fresh, so accumulating into it is safe
        dtype = np.result_type(*xs)
        total = np.add(xs[0], xs[1], dtype=dtype) if len(xs) > 1 else np.array(xs[0], dtype)
        for x in xs[2:]:  # a 0-d sum is a NumPy scalar, which has no buffer to add into
            total = np.add(total, x, out=total) if isinstance(total, np.ndarray) else total + x
        return total

    def vjp(self, node: Node, g: Node) -> tuple[Node, ...]:
        """x̄ᵢ = g"""
        return (g,) * len(node.inputs)

    def jvp(self, node: Node, t: T) -> Node | None:
        """ẏ = ẋ₁ + … + ẋₙ"""
        present = [ti for ti in t if ti is not None]
        return AddN()(*present) if len(present) > 1 else (present[0] if present else None)


@dataclass(frozen=True)
class Negative(Unary):
    ufunc = np.negative

    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = -g"""
        return (-g,)

    def jvp(self, node: Node, t: T) -> Node:
        """ẏ = -ẋ"""
        return -t[0]


# -- transcendental ------------------------------------------------------------
@dataclass(frozen=True)
class Exp(FloatUnary):
    ufunc = np.exp

    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = g·exp(x): reuse the forward node rather than rebuild it."""
        return (g * node,)

    def jvp(self, node: Node, t: T) -> Node:
        """ẏ = ẋ·exp(x)"""
        return t[0] * node


@dataclass(frozen=True)
class Log(FloatUnary):
    ufunc = np.log

    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = g / x   (0 where g is 0)"""
        return (xdivy(g, node.inputs[0]),)

    def jvp(self, node: Node, t: T) -> Node:
        """ẏ = ẋ / x"""
        return t[0] / node.inputs[0]


@dataclass(frozen=True)
class Log1p(FloatUnary):
    ufunc = np.log1p

    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = g / (1 + x)   (0 where g is 0)"""
        return (xdivy(g, 1 + node.inputs[0]),)

    def jvp(self, node: Node, t: T) -> Node:
        """ẏ = ẋ / (1 + x)"""
        return t[0] / (1 + node.inputs[0])


@dataclass(frozen=True)
class Expm1(FloatUnary):
    ufunc = np.expm1

    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = g·(expm1(x) + 1)"""
        return (g * (node + 1),)

    def jvp(self, node: Node, t: T) -> Node:
        """ẏ = ẋ·(expm1(x) + 1)"""
        return t[0] * (node + 1)


@dataclass(frozen=True)
class Sqrt(FloatUnary):
    ufunc = np.sqrt

    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = g / (2·sqrt(x))   (0 where g is 0)"""
        return (xdivy(g, 2 * node),)

    def jvp(self, node: Node, t: T) -> Node:
        """ẏ = ẋ / (2·sqrt(x))"""
        return t[0] / (2 * node)


@dataclass(frozen=True)
class Square(Unary):
    ufunc = np.square

    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = 2·g·x"""
        return (g * (2 * node.inputs[0]),)

    def jvp(self, node: Node, t: T) -> Node:
        """ẏ = 2·ẋ·x"""
        return t[0] * (2 * node.inputs[0])


@dataclass(frozen=True)
class Abs(Unary):
    ufunc = np.abs

    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = g·sign(x)"""
        return (g * sign(node.inputs[0]),)

    def jvp(self, node: Node, t: T) -> Node:
        """ẏ = ẋ·sign(x)"""
        return t[0] * sign(node.inputs[0])


@dataclass(frozen=True)
class Sign(Unary):
    ufunc = np.sign

    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = 0 (piecewise constant)"""
        return (zeros_like(g),)

    def jvp(self, node: Node, t: T) -> Node:
        """ẏ = 0 (piecewise constant)"""
        return zeros_like(node)


@dataclass(frozen=True)
class Sin(FloatUnary):
    ufunc = np.sin

    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = g·cos(x)"""
        return (g * cos(node.inputs[0]),)

    def jvp(self, node: Node, t: T) -> Node:
        """ẏ = ẋ·cos(x)"""
        return t[0] * cos(node.inputs[0])


@dataclass(frozen=True)
class Cos(FloatUnary):
    ufunc = np.cos

    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = -g·sin(x)"""
        return (-(g * sin(node.inputs[0])),)

    def jvp(self, node: Node, t: T) -> Node:
        """ẏ = -ẋ·sin(x)"""
        return -(t[0] * sin(node.inputs[0]))


@dataclass(frozen=True)
class Tan(FloatUnary):
    ufunc = np.tan

    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = g·(1 + tan²x)"""
        return (g * (1 + square(node)),)

    def jvp(self, node: Node, t: T) -> Node:
        """ẏ = ẋ·(1 + tan²x)"""
        return t[0] * (1 + square(node))


@dataclass(frozen=True)
class Arcsin(FloatUnary):
    ufunc = np.arcsin

    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = g / sqrt(1 - x²)   (0 where g is 0)"""
        return (xdivy(g, sqrt(1 - square(node.inputs[0]))),)

    def jvp(self, node: Node, t: T) -> Node:
        """ẏ = ẋ / sqrt(1 - x²)"""
        return t[0] / sqrt(1 - square(node.inputs[0]))


@dataclass(frozen=True)
class Arccos(FloatUnary):
    ufunc = np.arccos

    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = -g / sqrt(1 - x²)   (0 where g is 0)"""
        return (-xdivy(g, sqrt(1 - square(node.inputs[0]))),)

    def jvp(self, node: Node, t: T) -> Node:
        """ẏ = -ẋ / sqrt(1 - x²)"""
        return -t[0] / sqrt(1 - square(node.inputs[0]))


@dataclass(frozen=True)
class Arctan(FloatUnary):
    ufunc = np.arctan

    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = g / (1 + x²)"""
        return (g / (1 + square(node.inputs[0])),)

    def jvp(self, node: Node, t: T) -> Node:
        """ẏ = ẋ / (1 + x²)"""
        return t[0] / (1 + square(node.inputs[0]))


@dataclass(frozen=True)
class Sinh(FloatUnary):
    ufunc = np.sinh

    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = g·cosh(x)"""
        return (g * cosh(node.inputs[0]),)

    def jvp(self, node: Node, t: T) -> Node:
        """ẏ = ẋ·cosh(x)"""
        return t[0] * cosh(node.inputs[0])


@dataclass(frozen=True)
class Cosh(FloatUnary):
    ufunc = np.cosh

    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = g·sinh(x)"""
        return (g * sinh(node.inputs[0]),)

    def jvp(self, node: Node, t: T) -> Node:
        """ẏ = ẋ·sinh(x)"""
        return t[0] * sinh(node.inputs[0])


@dataclass(frozen=True)
class Tanh(FloatUnary):
    ufunc = np.tanh

    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = g·(1 - tanh²x)"""
        return (g * (1 - square(node)),)

    def jvp(self, node: Node, t: T) -> Node:
        """ẏ = ẋ·(1 - tanh²x)"""
        return t[0] * (1 - square(node))


@dataclass(frozen=True)
class Sigmoid(FloatUnary):
    def compute(self, x: np.ndarray) -> np.ndarray:
        # exp of -|x| never overflows; both branches are then exact
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(e.dtype, copy=False)

    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = g·σ(x)·(1 - σ(x))"""
        return (g * (node * (1 - node)),)

    def jvp(self, node: Node, t: T) -> Node:
        """ẏ = ẋ·σ(x)·(1 - σ(x))"""
        return t[0] * (node * (1 - node))


@dataclass(frozen=True)
class Relu(Unary):
    def infer(self, x: TensorType) -> TensorType:
        if tensor(x).dtype.kind == "b":
            raise DTypeError("relu is not defined on bool")
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0).astype(x.dtype, copy=False)

    def vjp(self, node: Node, g: Node) -> tuple[Node]:
        """x̄ = g·[x > 0]"""
        return (where(greater(node.inputs[0], 0), g, 0),)

    def jvp(self, node: Node, t: T) -> Node:
        """ẏ = ẋ·[x > 0]"""
        return where(greater(node.inputs[0], 0), t[0], 0)


# -- public functions ----------------------------------------------------------
def add(a: Any, b: Any) -> Node:
    """a + b, broadcasting."""
    return binary(Add(), a, b)


def add_n(*xs: Any) -> Node:
    """The sum of operands of one shape, as one node: ``add_n(a, b, c)`` or, as in
    TensorFlow, ``add_n([a, b, c])``."""
    if len(xs) == 1 and isinstance(xs[0], (list, tuple)):
        xs = tuple(xs[0])
    if not xs:
        raise ShapeError(f"add_n: needs at least one operand ({user_location()})")
    nodes = as_nodes(*xs)
    return nodes[0] if len(nodes) == 1 else AddN()(*nodes)


def subtract(a: Any, b: Any) -> Node:
    """a - b, broadcasting."""
    return binary(Subtract(), a, b)


def multiply(a: Any, b: Any) -> Node:
    """a * b, broadcasting."""
    return binary(Multiply(), a, b)


def divide(a: Any, b: Any) -> Node:
    """a / b (true division), broadcasting."""
    return binary(Divide(), a, b)


def multiply_no_nan(x: Any, y: Any) -> Node:
    """x·y with 0·anything = 0 (symmetric, unlike TensorFlow's): a strong-zero product."""
    return binary(MultiplyNoNan(), x, y)


def xdivy(x: Any, y: Any) -> Node:
    """x / y with 0 / anything = 0, as TensorFlow's ``xdivy``."""
    return binary(Xdivy(), x, y)


def xlogy(x: Any, y: Any) -> Node:
    """x·log(y) with 0·log(anything) = 0: entropy-like terms such as x·log(x) stay finite
    (and their derivatives exact zeros) at x = 0, where plain x * log(x) gives NaN."""
    return binary(Xlogy(), x, y)


def power(x: Any, p: Any) -> Node:
    """x ** p, broadcasting; differentiable in both x and p."""
    return binary(Power(), x, p)


def negative(x: Any) -> Node:
    return unary(Negative(), x)


def exp(x: Any) -> Node:
    return unary(Exp(), x)


def log(x: Any) -> Node:
    return unary(Log(), x)


def log1p(x: Any) -> Node:
    """log(1 + x), accurate for small x."""
    return unary(Log1p(), x)


def expm1(x: Any) -> Node:
    """exp(x) - 1, accurate for small x."""
    return unary(Expm1(), x)


def sqrt(x: Any) -> Node:
    return unary(Sqrt(), x)


def square(x: Any) -> Node:
    return unary(Square(), x)


def abs(x: Any) -> Node:  # noqa: A001 - NumPy's name
    """|x|; the derivative at 0 is taken as 0."""
    return unary(Abs(), x)


def sign(x: Any) -> Node:
    return unary(Sign(), x)


def sin(x: Any) -> Node:
    return unary(Sin(), x)


def cos(x: Any) -> Node:
    return unary(Cos(), x)


def tan(x: Any) -> Node:
    return unary(Tan(), x)


def arcsin(x: Any) -> Node:
    return unary(Arcsin(), x)


def arccos(x: Any) -> Node:
    return unary(Arccos(), x)


def arctan(x: Any) -> Node:
    return unary(Arctan(), x)


def sinh(x: Any) -> Node:
    return unary(Sinh(), x)


def cosh(x: Any) -> Node:
    return unary(Cosh(), x)


def tanh(x: Any) -> Node:
    return unary(Tanh(), x)


def sigmoid(x: Any) -> Node:
    """1 / (1 + exp(-x)), computed without overflow."""
    return unary(Sigmoid(), x)


def relu(x: Any) -> Node:
    """max(x, 0); the derivative at 0 is taken as 0."""
    return unary(Relu(), x)
