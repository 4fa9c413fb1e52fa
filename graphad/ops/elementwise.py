"""Elementwise arithmetic and transcendental functions, with NumPy broadcasting and dtype rules;
the elementwise family; ``where``; and the one sum of partial derivatives.

Each op states its derivative once, as its local partials ∂y/∂xᵢ
(:class:`Elementwise`); its ``vjp`` (x̄ᵢ = g·∂ᵢ) and ``jvp`` (ẏ = Σ ẋᵢ·∂ᵢ) follow.
Rules return adjoints in the broadcast (output) shape; the reverse pass
un-broadcasts them once.  Comparisons and logic live in
:mod:`~graphad.ops.comparison`; maximum, minimum and clip (elementwise ops whose partials
are indicators) in :mod:`~graphad.ops.selection`; rounding and remainders in
:mod:`~graphad.ops.piecewise`; more smooth functions in :mod:`~graphad.ops.transcendental`;
complex parts (and the complex convention) in :mod:`~graphad.ops.complex_parts`.
``Where`` is defined here, not in selection, because it is the product that indicator
partials are built with.

Strong zeros, in one place (:class:`Products`), the one rule of both modes: a product of a
derivative and a partial is 0 where either is 0, whatever the other holds (inf, NaN).
Both rules multiply by the partial with ``multiply_no_nan`` and divide by a quotient's
denominator with ``xdivy``, so 0·∞ is 0, not NaN, in reverse mode, in forward mode and at
every order, for every op: a partial is infinite where the derivative is (log, sqrt and
divide at 0), but also where it overflows (exp at 1000, x² at 1e200) or meets an infinite
input (cos ∞ is NaN).  That is the answer to the classic ``where`` NaN problem: the
untaken branch of ``where(x > 0, log(x), 0)`` or ``where(x < 100, exp(x), 0)`` receives a
zero adjoint (or tangent), and ``log`` or ``exp`` keeps it 0.  Because the zero may sit on
either side, the two modes agree: ``norm(x)`` at 0 sends an infinite cotangent from sqrt
into x²'s zero partial 2x in reverse mode, a zero tangent from x² into sqrt's infinite
partial in forward mode, and both give 0.  A plain product in the user's graph keeps
NumPy's 0·inf = NaN (and its speed): write x·log(x) as ``xlogy(x, x)``.  An indicator
partial (a ``Pick``) is applied with ``where``, so what v holds where the indicator is 0
(inf, NaN) never reaches the result.

Tie rule: ``abs``, ``relu`` and ``sign`` use 0 as the derivative at 0.

:func:`sum_partials` is the one sum of partial derivatives: of tangent terms (here and in
the linear families), of partial adjoints (the reverse pass), entry by entry for
structures whose adjoints have absent entries.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphad.ir import (
    Constant,
    DictType,
    DifferentiationError,
    DTypeError,
    Node,
    Op,
    ShapeError,
    TensorType,
    TupleType,
    ValueType,
    as_nodes,
    broadcast_shapes,
    shapes_compatible,
    user_location,
)
from graphad.ir.dependence import (
    Dependences,
    Detect,
    elementwise,
    known_value,
    only,
    static_shape,
)
from graphad.ir.notation import SUM, Term, atom, infix, wrap
from graphad.ops._buffers import (
    LARGEST_ITEM,
    MIN_BYTES,
    batch_last,
    empty,
    plain,
    result_shape,
    ufunc_into,
)
from graphad.ops._ufunc import Binary, FloatUnary, Unary, batch_elementwise, binary, unary
from graphad.ops._util import Tangents, tensor
from graphad.ops.comparison import equal, greater
from graphad.ops.complex_parts import conj, is_complex, real_tangent
from graphad.ops.shape import all_batched
from graphad.ops.structure import entry, make_dict, make_tuple
from graphad.ops.utility import zeros_like


@dataclass(frozen=True)
class Over:
    """The partial ±num/den, stated as a quotient so that v·∂ is built as ±(v/den)·num: one
    division that sibling partials over the same den share (``xdivy``, which keeps a zero
    v an exact 0), and no reciprocal node."""

    den: Node
    num: Node | None = None
    negate: bool = False


@dataclass(frozen=True)
class Pick:
    """The partial ``then`` where the bool ``cond`` holds and ``otherwise`` where it does not:
    an indicator ([c] is ``Pick(c)``, [¬c] is ``Pick(c, 0, 1)``) or a choice between two
    partials (a tie's share, ``Pick(c, 1, Pick(tie, 0.5, 0))``).  v·∂ is built with
    ``where``, so the side not taken adds an exact 0 whatever v holds there; the tangent
    Σ ẋᵢ·∂ᵢ of partials that pick on one ``cond`` is one ``where`` on it (a selection's
    ẏ = where(c, ȧ, ḃ))."""

    cond: Node
    then: Partial = 1
    otherwise: Partial = 0


def _finite_nonzero(d: Node) -> bool:
    """d is a constant of one finite, nonzero value (the c of x·c): v·d is 0 exactly where v
    is, so the plain product has the strong zeros already."""
    op = d.op
    if not isinstance(op, Constant):
        return False
    c = op.splat
    return c is not None and bool(np.isfinite(c) and c != 0)


# A local partial derivative ∂y/∂xᵢ: a float node (a factor), a bool node (the indicator
# ``Pick(node)``), a ``Pick``, a number (1, -1, 0.5, 0: a constant factor, built without a
# node where it can be), an ``Over`` (a quotient) or None (no derivative flows into that
# input).
Partial = Node | Over | Pick | float | None


def as_pick(d: Partial) -> Partial:
    """A bool node as the indicator it stands for, ``Pick(node)``; other partials as they are."""
    return Pick(d) if isinstance(d, Node) and d.dtype.kind == "b" else d


class Products:
    """The products v·∂ that one rule builds, with strong zeros (0 where v or ∂ is 0), and
    the quotients v/den and constant multiples v·c that sibling partials share (keyed by the
    nodes' identities).  Made once per rule call, so kept light (the 10⁵-node chains)."""

    __slots__ = ("shared",)

    def __init__(self) -> None:
        self.shared: dict[tuple[int, Any], Node] = {}

    def times(self, v: Node, d: Partial) -> Node | None:
        """v·∂; None where it is an exact zero (no partial, a constant 0, a pick of zeros).
        A constant factor c (±1, 2, 0.5: finite, not 0) is a plain product, as v·c is 0
        exactly where v is."""
        if isinstance(d, Node):
            if d.dtype.kind != "b":  # a factor: most partials
                return v * d if _finite_nonzero(d) else multiply_no_nan(v, d)
            d = Pick(d)
        if d is None:
            return None
        if isinstance(d, Pick):
            return self.pick(d.cond, self.times(v, d.then), self.times(v, d.otherwise))
        if isinstance(d, Over):
            den, num = d.den, d.num
            q = self.share(v, id(den), lambda: xdivy(v, den))
            if num is not None:
                q = multiply_no_nan(q, num)
            return -q if d.negate else q
        if d == 1:
            return v
        if d == 0:
            return None
        if d == -1:
            return -v
        c = d
        return self.share(v, float(c), lambda: v * c)

    def share(self, v: Node, key: Any, make: Callable[[], Node]) -> Node:
        """The product ``make`` builds, once per (v, key)."""
        got = self.shared.get((id(v), key))
        if got is None:
            got = self.shared[(id(v), key)] = make()
        return got

    @staticmethod
    def pick(cond: Node, a: Node | None, b: Node | None) -> Node | None:
        """where(cond, a, b), a missing side an exact 0; None when both are."""
        if a is None and b is None:
            return None
        return Where()(cond, 0 if a is None else a, 0 if b is None else b)

    def total(self, pairs: Sequence[tuple[Node, Partial]]) -> Node | None:
        """Σ vᵢ·∂ᵢ: partials that pick on one condition give one ``where`` (of the sums on
        each side), those that are one constant c give one product c·Σ vᵢ."""
        if len(pairs) == 1:  # nothing to group: most ops, or one tangent given
            return self.times(*pairs[0])
        picks: dict[int, tuple[Node, list[tuple[Node, Pick]]]] = {}  # by the cond's identity
        scaled: dict[float, list[Node]] = {}
        terms: list[Any] = []  # products, and the picks and constants in the order first met
        for v, d in pairs:
            d = as_pick(d)
            if isinstance(d, Pick):
                if id(d.cond) not in picks:
                    picks[id(d.cond)] = (d.cond, [])
                    terms.append(picks[id(d.cond)])
                picks[id(d.cond)][1].append((v, d))
            elif isinstance(d, (int, float)):
                if float(d) not in scaled:
                    scaled[float(d)] = []
                    terms.append(float(d))
                scaled[float(d)].append(v)
            else:
                terms.append(self.times(v, d))
        for i, term in enumerate(terms):
            if isinstance(term, tuple):  # one where on cond, the sums on each side in it
                cond, group = term
                then = self.total([(v, d.then) for v, d in group])
                otherwise = self.total([(v, d.otherwise) for v, d in group])
                terms[i] = self.pick(cond, then, otherwise)
            elif isinstance(term, float):
                summed = sum_partials(scaled[term])
                terms[i] = None if summed is None else self.times(summed, term)
        return sum_partials(terms)


@dataclass(frozen=True)
class Elementwise(Op):
    """An elementwise op whose derivative is stated once, by ``partials``.

    vjp: x̄ᵢ = g·∂ᵢ;  jvp: ẏ = Σᵢ ẋᵢ·∂ᵢ (its real part for a real y of complex inputs, whose
    ∂ is ∂y/∂Re x - i·∂y/∂Im x: see :mod:`~graphad.ops.complex_parts`), both with strong
    zeros: 0 where g (ẋ) or ∂ᵢ is 0, whatever the other holds (see :class:`Products`).
    """

    elementwise = True
    chunking = "blocks"  # a kernel of several NumPy calls runs whole on each block

    def partials(self, node: Node) -> tuple[Partial, ...]:
        """∂y/∂xᵢ for each input, in the output's (broadcast) shape or broadcastable to it."""
        raise NotImplementedError(f"{self.name}: no partials")

    def vjp(self, node: Node, g: Node) -> tuple[Node | None, ...]:
        """x̄ᵢ = g·∂ᵢ (zeros where ∂ᵢ is a constant 0: a derivative that is zero, not absent)"""
        return self._vjp(node, g, (True,) * len(node.inputs))

    def vjp_wanted(self, node: Node, g: Node, wanted: Sequence[bool]) -> Sequence[Node | None]:
        """x̄ᵢ = g·∂ᵢ for the wanted inputs only (``x * c`` builds no adjoint for the constant c)"""
        if type(self).vjp is not Elementwise.vjp:  # a subclass's own vjp is the rule
            return self.vjp(node, g)
        return self._vjp(node, g, wanted)

    def _vjp(self, node: Node, g: Node, wanted: Sequence[bool]) -> tuple[Node | None, ...]:
        products = Products()
        adjoints: list[Node | None] = []
        for d, w in zip(self.partials(node), wanted):
            gx = products.times(g, d) if w else None
            adjoints.append(zeros_like(g) if w and gx is None and d is not None else gx)
        return tuple(adjoints)

    def jvp(self, node: Node, t: Tangents) -> Node | None:
        """ẏ = Σᵢ ẋᵢ·∂ᵢ"""
        pairs = [(ti, d) for ti, d in zip(t, self.partials(node)) if ti is not None]
        return real_tangent(node, Products().total(pairs))


def chain(v: Node, d: Node) -> Node:
    """v·∂ for a derivative v (a cotangent or a tangent) and a partial ∂ stated as a node,
    with the strong zeros of :class:`Products` (0 where either is 0): the chain rule's
    product for families that state partials outside :class:`Elementwise` (reductions)."""
    product = Products().times(v, d)
    assert product is not None, "a node partial always makes a product"
    return product


def sum_partials(terms: Iterable[Node | None], like: ValueType | None = None) -> Node | None:
    """The sum of partial derivatives of one value: tangent terms, partial adjoints, and
    adjoints of structures, whose absent entries are zeros.

    ``None`` terms (zeros) are left out, and so is the sum of none (``None``).  Tensors of one
    type sum as one ``add_n`` node (as the notes' v̄₂ = v̄₂→₄ + v̄₂→₃), others by broadcasting
    adds; structures entry by entry, an entry no term has staying absent.  ``like``, the
    value's type, orders the keys of a dict.
    """
    present = [t for t in terms if t is not None]
    if len(present) < 2:
        return present[0] if present else None
    first = present[0].type
    if isinstance(first, TupleType):
        items = like.items if isinstance(like, TupleType) else (None,) * len(first.items)
        return make_tuple(
            *(sum_partials([entry(p, i) for p in present], t) for i, t in enumerate(items))
        )
    if isinstance(first, DictType):
        known = dict((like if isinstance(like, DictType) else first).items)
        keys = dict.fromkeys(
            [*known, *(k for p in present if isinstance(p.type, DictType) for k in p.type)]
        )
        sums = {k: sum_partials([entry(p, k) for p in present], known.get(k)) for k in keys}
        return make_dict({k: s for k, s in sums.items() if s is not None})
    if all(p.type == first for p in present):
        return AddN()(*present)
    total = present[0]
    for p in present[1:]:
        total = add(total, p)
    return total


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


@dataclass(frozen=True)
class Where(Elementwise):
    """np.where(cond, a, b); the untaken operand's adjoint (and tangent) is exactly zero."""

    def infer(self, c: TensorType, a: TensorType, b: TensorType) -> TensorType:
        if tensor(c).dtype.kind != "b":
            raise DTypeError(f"condition must be bool, got {c.dtype.name} (compare with != 0)")
        shape = broadcast_shapes(c.shape, tensor(a).shape, tensor(b).shape)
        return TensorType(shape, np.result_type(a.dtype, b.dtype))

    scalar = "({1} if {0} else {2})"

    def compute(self, c: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.where(c, a, b)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """op(lift(xᵢ)): elementwise"""
        return batch_elementwise(self, node, xs, batched)

    def partials(self, node: Node) -> tuple[Partial, ...]:
        """∂/∂a = [c], ∂/∂b = [¬c]; none for the bool c.  So ā = where(c, g, 0),
        b̄ = where(c, 0, g) and ẏ = where(c, ȧ, ḃ)"""
        c = node.inputs[0]
        return None, Pick(c), Pick(c, 0, 1)

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """elementwise; a constant condition says which of a and b each entry takes"""
        deps = elementwise(node)
        c = known_value(node.inputs[0])
        if c is None:
            return deps
        taken = np.broadcast_to(c, static_shape(node.type))
        return None, only(deps[1], taken), only(deps[2], ~taken)


# -- arithmetic ----------------------------------------------------------------
@dataclass(frozen=True)
class Add(Elementwise, Binary):
    ufunc = np.add
    commutative = True
    operator = "+"
    scalar = "({0} + {1})"

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂a = 1, ∂/∂b = 1"""
        return 1, 1


@dataclass(frozen=True)
class Subtract(Elementwise, Binary):
    ufunc = np.subtract
    operator = "-"
    scalar = "({0} - {1})"

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂a = 1, ∂/∂b = -1"""
        return 1, -1


@dataclass(frozen=True)
class Multiply(Elementwise, Binary):
    ufunc = np.multiply
    commutative = True
    scalar = "({0} * {1})"
    operator = "*"

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂a = b, ∂/∂b = a"""
        a, b = node.inputs
        return b, a


@dataclass(frozen=True)
class Divide(Elementwise, Binary):
    ufunc = np.true_divide
    scalar = "({0} / {1})"
    operator = "/"

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂a = 1/b, ∂/∂b = -(a/b)/b"""
        _, b = node.inputs
        return Over(b), Over(b, node, negate=True)


def _constant_exponent(node: Node) -> float | None:
    """p of x**p when p is a constant scalar, as a Python float of x's dtype."""
    p = node.inputs[1]
    if not isinstance(p.op, Constant) or p.shape != () or p.dtype.kind not in "fiu":
        return None
    return float(p.op.value)


def _safe_log(x: Node) -> Node:
    """log(x) with log(0) replaced by 0, so 0**p has a finite derivative in p."""
    return log(Where()(equal(x, 0), 1, x))


@dataclass(frozen=True)
class Power(Elementwise, Binary):
    """x ** p, where p = 0.5 is a square root (-inf ** 0.5 is NaN, -0.0 ** 0.5 is -0.0) as
    NumPy takes a scalar or broadcast exponent of 0.5, whatever the exponent's layout: an
    exponent array of its own goes through C's pow, whose -inf ** 0.5 is inf, and a rewrite
    that folds a broadcast exponent into an array must not change the answer."""

    ufunc = np.power
    operator = "**"
    scalar = "(sqrt({0}) if {1} == 0.5 else pow({0}, {1}))"

    def compute(self, x: np.ndarray, p: np.ndarray) -> np.ndarray:
        out = np.power(x, p)
        if np.ndim(p) == 0 or np.result_type(out).kind != "f":
            return out  # a scalar exponent of 0.5 is a square root already
        # where pow and sqrt differ: -inf and -0.0 to the power 0.5
        odd = np.equal(p, 0.5) & (np.equal(x, -np.inf) | np.equal(x, 0))
        if isinstance(odd, np.ndarray) and not odd.any():
            return out
        return np.where(odd, np.sqrt(np.asarray(x, out.dtype)), out)

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂x = p·x^(p-1), ∂/∂p = x^p·log(x)   (log 0 taken as 0)"""
        x, p = node.inputs
        c = _constant_exponent(node)
        if c is not None:  # x**2, x**0.5: the exponent's arithmetic done once, here
            # x**0 is 1 everywhere: its derivative is 0 at x = 0 too (not 0·0⁻¹ = NaN)
            dx = 0 if c == 0 else 1 if c == 1 else (c * x if c == 2 else c * x ** (c - 1))
            return dx, None
        # p·x^(p-1) with 0·x^(-1) = 0: once the exponent of x**2 has fallen to 0, the next
        # order multiplies (p-1) = 0 by 0^(-1) = inf, which must stay 0, not NaN
        return multiply_no_nan(p, x ** (p - 1)), node * _safe_log(x)


@dataclass(frozen=True)
class MultiplyNoNan(Elementwise, Binary):
    """x·y, but exactly 0 wherever x or y is 0 (even if the other is inf or NaN)."""

    ufunc = np.multiply
    commutative = True
    # the product, unless it is NaN (_p != _p) where an operand is ±0.0 (a float is false
    # exactly then): 0 there.  A product with a zero keeps its sign (-0.0·5 is -0.0) unless
    # it is NaN, as compute does.  Testing the product once, not both operands first, costs
    # a third less per product (12 ns against 16; a plain product 7): W5's 300 of them
    scalar = "(_p if (_p := {0} * {1}) == _p else 0.0 if not {0} or not {1} else _p)"
    # written x*y: the product it is, except where a 0 meets an inf or a NaN (0 there, NaN
    # in x*y); formulas of derivatives read as the maths does (see graphad.formulas)
    operator = "*"

    def compute_for(self, node: Node) -> Callable[..., Any]:
        """A product of a small static shape skips the pool's and the layout's questions."""
        return self._mended if plain(node.type, like=False) else self.compute

    def compute(self, x: np.ndarray, y: np.ndarray) -> Any:  # a NumPy scalar for 0-d x, y
        if type(x) is np.ndarray and type(y) is np.ndarray:  # as Multiply's code runs it:
            # into the run's pool, a long batch of short rows laid out batch last
            out = ufunc_into(np.multiply, None, None, x, y)  # dtype: NumPy's, if needed
        else:
            out = np.multiply(x, y)
        return self._mended(x, y, out)

    @staticmethod
    def _mended(x: np.ndarray, y: np.ndarray, out: Any = None) -> Any:
        """x·y (``out``, when computed already) with 0 where a 0 met an inf or a NaN."""
        if out is None:
            out = np.multiply(x, y)
        # 0·inf and 0·NaN are the only products that must change, so most calls end here:
        # out·out summed is NaN exactly where some product is (inf² is inf), and one BLAS
        # dot costs less than isnan and any (a derivative of small arrays makes many)
        if type(out) is np.ndarray:
            flat = out.ravel("K")  # a view in the order of memory (an F-ordered out is not C)
            total = np.dot(flat, flat)
            if total == total:
                return out
        elif isinstance(out, np.generic) and out == out:
            return out
        # a lazy (Dask) array cannot say whether it holds a NaN without computing: mend always
        nan = np.isnan(out)
        zero = np.broadcast_to((x == 0) | (y == 0), out.shape)
        return np.where(nan & zero, np.zeros((), out.dtype), out)

    def code(self, node: Node, args: Sequence[str], kernel: str) -> str | None:
        """x·y where its sum of squares is not NaN, else ``compute``: the same test as
        compute's, written out for a small float result of static shape (compute's own
        product there is NumPy's, outside the pool), which a derivative's loop body makes
        every step: 0.6 µs a product of 8 entries where calling compute costs 1.2"""
        t = node.type
        if not isinstance(t, TensorType) or not t.is_static or t.dtype.kind != "f":
            return None
        shape = static_shape(t)
        if not shape or batch_last(shape) or math.prod(shape) * LARGEST_ITEM >= MIN_BYTES:
            return None
        x, y = args
        product = f"(_p := {x} * {y})"  # NumPy's multiply, named (see ``scalar``)
        # a vector's dot with itself is its sum of squares; another shape is flattened in
        # the order of memory first, as compute does
        flat = f'(_f := {product}.ravel("K")).dot(_f)'
        total = f"{product}.dot(_p)" if len(shape) == 1 else flat
        return f"(_p if (_s := {total}) == _s else {kernel}({x}, {y}))"

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂x = y, ∂/∂y = x, with the same strong zeros"""
        x, y = node.inputs
        return y, x


@dataclass(frozen=True)
class Xdivy(Elementwise, Binary):
    """x / y, but exactly 0 wherever x is 0 (even where y is 0) or y is infinite (even where
    x is): x·(1/y) with strong zeros, the quotient of the chain rule.  (TensorFlow's xdivy
    has the first zeros only: its inf / inf is NaN.)"""

    ufunc = np.true_divide
    # as compute: 0.0 where x is ±0, or where x/y is NaN with y beyond the largest float
    # (±inf), else x/y, the sign of a zero quotient kept (1 / -inf is -0.0)
    scalar = (
        "(0.0 if not {0} else 0.0 if {0} / {1} != {0} / {1} "
        "and fabs({1}) > 1.7976931348623157e308 else {0} / {1})"
    )
    # written x/y: the quotient it is, except where x is 0 and y is 0, NaN or inf (0 there,
    # NaN in x/y); formulas of derivatives read as the maths does (see graphad.formulas)
    operator = "/"

    def compute(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if (
            type(x) is np.ndarray
            and type(y) is np.ndarray
            and x.dtype == y.dtype
            and x.dtype.kind in "fc"
        ):  # as Divide's code runs it (the run's pool, batch last); most calls end here:
            # no x is 0 and no quotient NaN (one BLAS dot says so, as multiply_no_nan's;
            # x.all() reads x at a third of np.count_nonzero's cost: 27 µs for 2·10⁵ entries)
            out = ufunc_into(np.true_divide, None, x.dtype, x, y)
            flat = out.ravel("K")
            total = np.dot(flat, flat)
            if total == total and x.all():
                return out
        else:
            out = np.true_divide(x, y)
        zero = x == 0
        nan = np.isnan(out)  # only ±inf / ±inf (and NaN / ±inf) need the infinite y's zeros
        # a lazy (Dask) array cannot say whether it holds a NaN without computing: mend always
        if not isinstance(nan, (np.ndarray, np.generic)) or nan.any():
            zero = zero | (nan & np.isinf(y))
        return np.where(zero, np.zeros((), out.dtype), out)

    def partials(self, node: Node) -> tuple[Partial, Partial]:
        """∂/∂x = 1/y, ∂/∂y = -(x/y)/y, 0 where x is 0"""
        _, y = node.inputs
        return Over(y), Over(y, node, negate=True)


@dataclass(frozen=True)
class Xlogy(Elementwise, Binary):
    """x·log(y), but exactly 0 wherever x is 0 (as in SciPy and TensorFlow)."""

    ufunc = np.true_divide  # the dtype rule of a float function of two operands

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

    commutative = True
    scalar = "({0} + {1})"  # for two operands; scalar_code sums any number

    def infer(self, *xs: TensorType) -> TensorType:
        shape = broadcast_shapes(*(tensor(x).shape for x in xs))
        if any(not shapes_compatible(x.shape, shape) for x in xs):
            raise ShapeError("add_n operands must have one shape; use add to broadcast")
        return TensorType(shape, np.result_type(*(x.dtype for x in xs)))

    def compute_for(self, node: Node) -> Callable[..., Any]:
        """A sum of a small static shape skips the pool's and the layout's questions, and
        its dtype (infer's) is found once."""
        if plain(node.type) and node.ndim and len(node.inputs) > 1:  # 0-d: as compute
            return functools.partial(self._summed, node.dtype)
        return self.compute

    @staticmethod
    def _summed(dtype: np.dtype, *xs: np.ndarray) -> Any:
        """compute's sum, in NumPy's own memory: the first sum fresh, the rest added in."""
        total = np.add(xs[0], xs[1], dtype=dtype)
        for x in xs[2:]:
            total = np.add(total, x, out=total) if isinstance(total, np.ndarray) else total + x
        return total

    def compute(self, *xs: np.ndarray) -> np.ndarray:
        # in the dtype infer declared, whatever the operands' order (in-place += would keep
        # the first pair's dtype); the first sum is fresh, so accumulating into it is safe
        dtype = np.result_type(*xs)
        if len(xs) > 1 and type(xs[0]) is np.ndarray and type(xs[1]) is np.ndarray:
            out = empty(result_shape(xs[0], xs[1]), dtype, like=xs[0])  # pool, layout
            total = np.add(xs[0], xs[1], dtype=dtype, out=out)
        else:
            total = np.add(xs[0], xs[1], dtype=dtype) if len(xs) > 1 else xs[0].astype(dtype)
        for x in xs[2:]:  # a 0-d sum is a NumPy scalar, which has no buffer to add into
            total = np.add(total, x, out=total) if isinstance(total, np.ndarray) else total + x
        return total

    def scalar_code(self, args: Sequence[str]) -> str:
        """(x₁ + x₂ + … + xₙ), summed left to right as ``compute`` sums"""
        return "(" + " + ".join(args) + ")"

    def notation(self, args: Sequence[Term]) -> Term:
        """x₁ + x₂ + … + xₙ"""
        if len(args) == 1:
            return args[0]
        terms = [wrap(a, SUM + 1) if i else wrap(a, SUM) for i, a in enumerate(args)]
        return Term(" + ".join(terms), SUM)

    def partials(self, node: Node) -> tuple[Partial, ...]:
        """∂/∂xᵢ = 1"""
        return (1,) * len(node.inputs)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """add_n(xbᵢ): operands of one shape, the unbatched ones repeated over the batch"""
        return AddN()(*all_batched(xs, batched))


@dataclass(frozen=True)
class Negative(Elementwise, Unary):
    ufunc = np.negative
    operator = "-"
    scalar = "(-{0})"

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = -1"""
        return (-1,)


# -- transcendental ------------------------------------------------------------
@dataclass(frozen=True)
class Exp(Elementwise, FloatUnary):
    ufunc = np.exp
    scalar = "exp({0})"

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = exp(x): reuse the forward node rather than rebuild it"""
        return (node,)


@dataclass(frozen=True)
class Log(Elementwise, FloatUnary):
    ufunc = np.log
    scalar = "log({0})"

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 1/x"""
        return (Over(node.inputs[0]),)


@dataclass(frozen=True)
class Log1p(Elementwise, FloatUnary):
    ufunc = np.log1p
    scalar = "log1p({0})"

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 1/(1 + x)"""
        return (Over(1 + node.inputs[0]),)


@dataclass(frozen=True)
class Expm1(Elementwise, FloatUnary):
    ufunc = np.expm1
    scalar = "expm1({0})"

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = expm1(x) + 1"""
        return (node + 1,)


@dataclass(frozen=True)
class Sqrt(Elementwise, FloatUnary):
    ufunc = np.sqrt
    scalar = "sqrt({0})"

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 1/(2·sqrt(x))"""
        return (Over(2 * node),)


@dataclass(frozen=True)
class Square(Elementwise, Unary):
    ufunc = np.square
    scalar = "({0} * {0})"

    def notation(self, args: Sequence[Term]) -> Term:
        """x**2 (computed as x·x: the same number up to rounding)"""
        return infix("**", args[0], atom("2"))

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 2x"""
        return (2 * node.inputs[0],)


@dataclass(frozen=True)
class Abs(Elementwise, Unary):
    ufunc = np.abs
    scalar = "fabs({0})"

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

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """none: the derivative is 0"""
        return (None,)


@dataclass(frozen=True)
class Sin(Elementwise, FloatUnary):
    ufunc = np.sin
    scalar = "sin({0})"

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = cos(x)"""
        return (cos(node.inputs[0]),)


@dataclass(frozen=True)
class Cos(Elementwise, FloatUnary):
    ufunc = np.cos
    scalar = "cos({0})"

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = -sin(x)"""
        return (-sin(node.inputs[0]),)


@dataclass(frozen=True)
class Tan(Elementwise, FloatUnary):
    ufunc = np.tan
    scalar = "tan({0})"

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 1 + tan²x"""
        return (1 + square(node),)


@dataclass(frozen=True)
class Arcsin(Elementwise, FloatUnary):
    ufunc = np.arcsin
    scalar = "asin({0})"

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 1/sqrt(1 - x²)"""
        return (Over(sqrt(1 - square(node.inputs[0]))),)


@dataclass(frozen=True)
class Arccos(Elementwise, FloatUnary):
    ufunc = np.arccos
    scalar = "acos({0})"

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = -1/sqrt(1 - x²)"""
        return (divide(-1, sqrt(1 - square(node.inputs[0]))),)


@dataclass(frozen=True)
class Arctan(Elementwise, FloatUnary):
    ufunc = np.arctan
    scalar = "atan({0})"

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 1/(1 + x²)"""
        return (Over(1 + square(node.inputs[0])),)


@dataclass(frozen=True)
class Sinh(Elementwise, FloatUnary):
    ufunc = np.sinh
    scalar = "sinh({0})"

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = cosh(x)"""
        return (cosh(node.inputs[0]),)


@dataclass(frozen=True)
class Cosh(Elementwise, FloatUnary):
    ufunc = np.cosh
    scalar = "cosh({0})"

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = sinh(x)"""
        return (sinh(node.inputs[0]),)


@dataclass(frozen=True)
class Tanh(Elementwise, FloatUnary):
    ufunc = np.tanh
    scalar = "tanh({0})"

    def partials(self, node: Node) -> tuple[Partial]:
        """∂/∂x = 1 - tanh²x"""
        return (1 - square(node),)


@dataclass(frozen=True)
class Sigmoid(Elementwise, FloatUnary):
    # compute's two branches: exp(-|x|) never overflows
    scalar = (
        "(1.0 / (1.0 + exp(-fabs({0}))) if {0} >= 0.0 "
        "else exp(-fabs({0})) / (1.0 + exp(-fabs({0}))))"
    )

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
    """maximum(x, 0); complex values in NumPy's lexicographic order, as maximum's."""

    scalar = "({0} if {0} > 0.0 or {0} != {0} else 0.0)"  # np.maximum(x, 0), NaN kept

    def infer(self, x: TensorType) -> TensorType:
        if tensor(x).dtype.kind == "b":
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
    """x / y with 0 / anything = 0, as TensorFlow's ``xdivy``, and anything / ±inf = 0 (the
    strong-zero quotient: x·(1/y) where 1/y is 0)."""
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
