"""Elementwise arithmetic and transcendental functions, with NumPy broadcasting and dtype rules.

Each op states its derivative once, as its local partials ∂y/∂xᵢ
(:class:`Elementwise`); its ``vjp`` (x̄ᵢ = g·∂ᵢ) and ``jvp`` (ẏ = Σ ẋᵢ·∂ᵢ) follow.
Rules return adjoints in the broadcast (output) shape; the reverse pass
un-broadcasts them once.  Comparisons and logic live in
:mod:`~graphad.ops.comparison`; maximum, minimum, clip and where in
:mod:`~graphad.ops.selection`; rounding and remainders in :mod:`~graphad.ops.piecewise`;
more smooth functions in :mod:`~graphad.ops.transcendental`; complex parts (and the
complex convention) in :mod:`~graphad.ops.complex_parts`.

Strong zeros, in one place: a zero cotangent or tangent stays an exact zero.
Ops whose partial can be infinite (log, sqrt, divide, power, arcsin, arccos,
and the strong-zero products themselves) are ``singular``: both rules
multiply by the partial with ``multiply_no_nan``, so 0·∞ is 0, not NaN, in
reverse mode, in forward mode and at every order.  That is the answer to the
classic ``where`` NaN problem: the untaken branch of ``where(x > 0, log(x), 0)``
receives a zero adjoint (or tangent), and ``log`` keeps it 0 at x = 0.  A plain
product keeps NumPy's 0·inf = NaN (and its speed): write x·log(x) as ``xlogy(x, x)``.

Tie rule: ``abs``, ``relu`` and ``sign`` use 0 as the derivative at 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from graphad.ir import (
    DifferentiationError,
    DTypeError,
    Node,
    Op,
    ShapeError,
    TensorType,
    as_nodes,
    broadcast_shapes,
    is_constant,
    shapes_compatible,
    user_location,
)
from graphad.ops._ufunc import Binary, FloatUnary, Unary, binary, unary
from graphad.ops._util import Tangents, add_tangents, tensor
from graphad.ops.comparison import equal, greater
from graphad.ops.complex_parts import conj, is_complex, real_tangent
from graphad.ops.selection import where
from graphad.ops.shape import all_batched
from graphad.ops.utility import zeros_like


@dataclass(frozen=True)
class Over:
    """The partial ±num/den, stated as a quotient so that v·∂ is built as ±(v/den)·num: one
    division that sibling partials over the same den share (``xdivy`` where singular, which
    keeps a zero v an exact 0), and no reciprocal node."""

    den: Node
    num: Node | None = None
    negate: bool = False


# A local partial derivative ∂y/∂xᵢ: a float node (a factor), a bool node (an
# indicator: the product is the operand where it holds and an exact 0 elsewhere),
# a number (1, -1, 2, 0: a constant factor, built without a node where it can be),
# an ``Over`` (a quotient) or None (no derivative flows into that input).
Partial = Node | Over | float | None


@dataclass(frozen=True)
class Elementwise(Op):
    """An elementwise op whose derivative is stated once, by ``partials``.

    vjp: x̄ᵢ = g·∂ᵢ;  jvp: ẏ = Σᵢ ẋᵢ·∂ᵢ (its real part for a real y of complex inputs, whose
    ∂ is ∂y/∂Re x - i·∂y/∂Im x: see :mod:`~graphad.ops.complex_parts`).  ``singular``: some
    ∂ᵢ can be infinite, so both products go through ``multiply_no_nan`` (a zero g or ẋ stays 0).
    """

    singular: ClassVar[bool] = False

    def is_singular(self, node: Node) -> bool:
        """Whether some partial of ``node`` can be infinite (the class's ``singular``)."""
        return self.singular

    def partials(self, node: Node) -> tuple[Partial, ...]:
        """∂y/∂xᵢ for each input, in the output's (broadcast) shape or broadcastable to it."""
        raise NotImplementedError(f"{self.name}: no partials")

    def times(
        self, v: Node, d: Partial, singular: bool, shared: dict[tuple[int, int], Node] | None = None
    ) -> Node | None:
        """v·∂ with the op's strong zeros: the one product both rules use.  ``shared`` holds
        the quotients v/den already built for sibling partials."""
        if d is None:
            return None
        if isinstance(d, Over):
            shared = {} if shared is None else shared
            key = (v.id, d.den.id)
            if key not in shared:
                shared[key] = xdivy(v, d.den) if singular else v / d.den
            q = shared[key]
            if d.num is not None:
                q = multiply_no_nan(q, d.num) if singular else q * d.num
            return -q if d.negate else q
        if isinstance(d, Node):
            if d.dtype.kind == "b":
                return where(d, v, 0)
            return multiply_no_nan(v, d) if singular else v * d
        if d == 1:
            return v
        if d == -1:
            return -v
        return zeros_like(v) if d == 0 else v * d

    def vjp(self, node: Node, g: Node) -> tuple[Node | None, ...]:
        """x̄ᵢ = g·∂ᵢ"""
        return self._vjp(node, g, (True,) * len(node.inputs))

    def vjp_wanted(self, node: Node, g: Node, wanted: Sequence[bool]) -> Sequence[Node | None]:
        """x̄ᵢ = g·∂ᵢ for the wanted inputs only (``x * c`` builds no adjoint for the constant c)"""
        if type(self).vjp is not Elementwise.vjp:  # a subclass's own vjp is the rule
            return self.vjp(node, g)
        return self._vjp(node, g, wanted)

    def _vjp(self, node: Node, g: Node, wanted: Sequence[bool]) -> tuple[Node | None, ...]:
        singular = self.is_singular(node)
        shared: dict[tuple[int, int], Node] = {}
        pairs = zip(self.partials(node), wanted)
        return tuple([self.times(g, d, singular, shared) if w else None for d, w in pairs])

    def jvp(self, node: Node, t: Tangents) -> Node | None:
        """ẏ = Σᵢ ẋᵢ·∂ᵢ"""
        singular = self.is_singular(node)
        pairs = zip(t, self.partials(node))
        terms = [self.times(ti, d, singular) for ti, d in pairs if ti is not None]
        return real_tangent(node, sum_terms([term for term in terms if term is not None]))


def sum_terms(terms: list[Node]) -> Node | None:
    """The sum of tangent terms: one ``add_n`` node when they share a shape, as partial
    adjoints are summed, else broadcasting adds."""
    if len(terms) > 2 and all(t.type == terms[0].type for t in terms):
        return AddN()(*terms)
    return add_tangents(*terms)


def reciprocal(x: Any) -> Node:
    """1 / x, the division NumPy's kernel does (so the composition is exact and one op).
    Integers are refused: NumPy's reciprocal truncates them (1/2 -> 0)."""
    x = as_nodes(x)[0]
    if x.dtype is not None and x.dtype.kind in "biu":
        raise DTypeError(
            f"reciprocal({x.type}): NumPy truncates integer reciprocals to 0 or ±1; "
            f"cast to float first ({user_location()})"
        )
    return divide(1, x)


# -- arithmetic ----------------------------------------------------------------
@dataclass(frozen=True)
class Add(Elementwise, Binary):
    ufunc = np.add

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂a = 1, ∂/∂b = 1"""
        return 1, 1


@dataclass(frozen=True)
class Subtract(Elementwise, Binary):
    ufunc = np.subtract

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂a = 1, ∂/∂b = -1"""
        return 1, -1


@dataclass(frozen=True)
class Multiply(Elementwise, Binary):
    ufunc = np.multiply

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂a = b, ∂/∂b = a"""
        a, b = node.inputs
        return b, a


@dataclass(frozen=True)
class Divide(Elementwise, Binary):
    ufunc = np.true_divide
    singular = True

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂a = 1/b, ∂/∂b = -(a/b)/b"""
        _, b = node.inputs
        return Over(b), Over(b, node, negate=True)


def _constant_exponent(node: Node) -> float | None:
    """p of x**p when p is a constant scalar, as a Python float of x's dtype."""
    p = node.inputs[1]
    if not is_constant(p) or p.shape != () or p.dtype.kind not in "fiu":
        return None
    return float(p.op.value)  # type: ignore[attr-defined]


def _safe_log(x: Node) -> Node:
    """log(x) with log(0) replaced by 0, so 0**p has a finite derivative in p."""
    return log(where(equal(x, 0), 1, x))


@dataclass(frozen=True)
class Power(Elementwise, Binary):
    ufunc = np.power
    singular = True

    def is_singular(self, node: Node) -> bool:
        """x^(p-1) is finite for a constant p ≥ 1: then plain products will do"""
        return _constant_exponent(node) is None or _constant_exponent(node) < 1  # type: ignore[operator]

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂x = p·x^(p-1), ∂/∂p = x^p·log(x)   (log 0 taken as 0)"""
        x, p = node.inputs
        c = _constant_exponent(node)
        if c is not None:  # x**2, x**0.5: the exponent's arithmetic done once, here
            dx = 1 if c == 1 else (c * x if c == 2 else c * x ** (c - 1))
            return dx, None
        # p·x^(p-1) with 0·x^(-1) = 0: once the exponent of x**2 has fallen to 0, the next
        # order multiplies (p-1) = 0 by 0^(-1) = inf, which must stay 0, not NaN
        return multiply_no_nan(p, x ** (p - 1)), node * _safe_log(x)


@dataclass(frozen=True)
class MultiplyNoNan(Elementwise, Binary):
    """x·y, but exactly 0 wherever x or y is 0 (even if the other is inf or NaN)."""

    ufunc = np.multiply
    singular = True

    def compute(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = np.multiply(x, y)
        nan = np.isnan(out)  # 0·inf and 0·NaN are the only products that must change
        # a lazy (Dask) array cannot say whether it holds a NaN without computing: mend always
        if not isinstance(nan, (np.ndarray, np.generic)) or nan.any():
            zero = np.broadcast_to((x == 0) | (y == 0), out.shape)
            out = np.where(nan & zero, np.zeros((), out.dtype), out)
        return out

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂x = y, ∂/∂y = x, with the same strong zeros"""
        x, y = node.inputs
        return y, x


@dataclass(frozen=True)
class Xdivy(Elementwise, Binary):
    """x / y, but exactly 0 wherever x is 0 (even where y is 0)."""

    ufunc = np.true_divide
    singular = True

    def compute(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = np.true_divide(x, y)
        return np.where(x == 0, np.zeros((), out.dtype), out)

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂x = 1/y, ∂/∂y = -(x/y)/y, 0 where x is 0"""
        _, y = node.inputs
        return Over(y), Over(y, node, negate=True)


@dataclass(frozen=True)
class Xlogy(Elementwise, Binary):
    """x·log(y), but exactly 0 wherever x is 0 (as in SciPy and TensorFlow)."""

    ufunc = np.true_divide  # the dtype rule of a float function of two operands
    singular = True

    def compute(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = np.multiply(x, np.log(y))
        return np.where(x == 0, np.zeros((), out.dtype), out)

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂x = log(y), ∂/∂y = x/y, 0 where x is 0"""
        x, y = node.inputs
        return log(y), xdivy(x, y)


@dataclass(frozen=True)
class AddN(Elementwise):
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
        total = np.add(xs[0], xs[1], dtype=dtype) if len(xs) > 1 else xs[0].astype(dtype)
        for x in xs[2:]:  # a 0-d sum is a NumPy scalar, which has no buffer to add into
            total = np.add(total, x, out=total) if isinstance(total, np.ndarray) else total + x
        return total

    def partials(self, node: Node) -> tuple[Partial, ...]:
        """∂/∂xᵢ = 1"""
        return (1,) * len(node.inputs)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """add_n(xbᵢ): operands of one shape, the unbatched ones repeated over the batch"""
        return AddN()(*all_batched(xs, batched))

    def jvp(self, node: Node, t: Tangents) -> Node | None:
        """ẏ = ẋ₁ + … + ẋₙ, one add_n node"""
        present = [ti for ti in t if ti is not None]
        return AddN()(*present) if len(present) > 1 else (present[0] if present else None)


@dataclass(frozen=True)
class Negative(Elementwise, Unary):
    ufunc = np.negative

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = -1"""
        return (-1,)


# -- transcendental ------------------------------------------------------------
@dataclass(frozen=True)
class Exp(Elementwise, FloatUnary):
    ufunc = np.exp

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = exp(x): reuse the forward node rather than rebuild it"""
        return (node,)


@dataclass(frozen=True)
class Log(Elementwise, FloatUnary):
    ufunc = np.log
    singular = True

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 1/x"""
        return (Over(node.inputs[0]),)


@dataclass(frozen=True)
class Log1p(Elementwise, FloatUnary):
    ufunc = np.log1p
    singular = True

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 1/(1 + x)"""
        return (Over(1 + node.inputs[0]),)


@dataclass(frozen=True)
class Expm1(Elementwise, FloatUnary):
    ufunc = np.expm1

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = expm1(x) + 1"""
        return (node + 1,)


@dataclass(frozen=True)
class Sqrt(Elementwise, FloatUnary):
    ufunc = np.sqrt
    singular = True

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 1/(2·sqrt(x))"""
        return (Over(2 * node),)


@dataclass(frozen=True)
class Square(Elementwise, Unary):
    ufunc = np.square

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 2x"""
        return (2 * node.inputs[0],)


@dataclass(frozen=True)
class Abs(Elementwise, Unary):
    ufunc = np.abs

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = sign(x); for complex x, z̄/|z| (ẏ = Re(z̄·ż)/|z|); 0 at 0"""
        x = node.inputs[0]
        return (xdivy(conj(x), node),) if is_complex(x) else (sign(x),)


@dataclass(frozen=True)
class Sign(Elementwise, Unary):
    ufunc = np.sign

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 0 (piecewise constant); z/|z| of a complex z is not, and is refused"""
        if is_complex(node.inputs[0]):
            raise DifferentiationError(
                "sign: z/|z| of a complex z is not holomorphic; differentiate z / abs(z) "
                f"instead ({user_location()})"
            )
        return (0,)


@dataclass(frozen=True)
class Sin(Elementwise, FloatUnary):
    ufunc = np.sin

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = cos(x)"""
        return (cos(node.inputs[0]),)


@dataclass(frozen=True)
class Cos(Elementwise, FloatUnary):
    ufunc = np.cos

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = -sin(x)"""
        return (-sin(node.inputs[0]),)


@dataclass(frozen=True)
class Tan(Elementwise, FloatUnary):
    ufunc = np.tan

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 1 + tan²x"""
        return (1 + square(node),)


@dataclass(frozen=True)
class Arcsin(Elementwise, FloatUnary):
    ufunc = np.arcsin
    singular = True

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 1/sqrt(1 - x²)"""
        return (Over(sqrt(1 - square(node.inputs[0]))),)


@dataclass(frozen=True)
class Arccos(Elementwise, FloatUnary):
    ufunc = np.arccos
    singular = True

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = -1/sqrt(1 - x²)"""
        return (divide(-1, sqrt(1 - square(node.inputs[0]))),)


@dataclass(frozen=True)
class Arctan(Elementwise, FloatUnary):
    ufunc = np.arctan

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 1/(1 + x²)"""
        return (Over(1 + square(node.inputs[0])),)


@dataclass(frozen=True)
class Sinh(Elementwise, FloatUnary):
    ufunc = np.sinh

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = cosh(x)"""
        return (cosh(node.inputs[0]),)


@dataclass(frozen=True)
class Cosh(Elementwise, FloatUnary):
    ufunc = np.cosh

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = sinh(x)"""
        return (sinh(node.inputs[0]),)


@dataclass(frozen=True)
class Tanh(Elementwise, FloatUnary):
    ufunc = np.tanh

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 1 - tanh²x"""
        return (1 - square(node),)


@dataclass(frozen=True)
class Sigmoid(Elementwise, FloatUnary):
    def compute(self, x: np.ndarray) -> np.ndarray:
        if x.dtype.kind == "c":  # no order to branch on: the formula itself
            return 1 / (1 + np.exp(-x))
        # exp of -|x| never overflows; both branches are then exact
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(e.dtype, copy=False)

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = σ(x)·(1 - σ(x))"""
        return (node * (1 - node),)


@dataclass(frozen=True)
class Relu(Elementwise, Unary):
    def infer(self, x: TensorType) -> TensorType:
        if tensor(x).dtype.kind in "bc":
            raise DTypeError(f"relu is not defined on {x.dtype.name}")
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0).astype(x.dtype, copy=False)

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = [x > 0]"""
        return (greater(node.inputs[0], 0),)


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
