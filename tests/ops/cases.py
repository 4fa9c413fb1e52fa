"""The op table: one ``Case`` per op, several where an op has interesting variants.

A case names a builder (placeholder nodes -> node), a NumPy reference (arrays
-> array), input shapes whose dims all differ (so a swapped axis cannot
pass), and a domain per input: where the op is smooth, its reference exact and
a finite-difference step of ~1e-5 never crosses a kink or a tie.  Every check
in ``test_table.py`` is driven by ``CASES``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np

import graphad as ga
from graphad.ops.accumulation import scatter_sum

Shape = tuple[int, ...]
Domain = Callable[[np.random.Generator, Shape], np.ndarray]


# -- domains -------------------------------------------------------------------
def uniform(low: float, high: float) -> Domain:
    """Uniform on [low, high)."""

    def draw(rng: np.random.Generator, shape: Shape) -> np.ndarray:
        return rng.uniform(low, high, shape)

    return draw


real = uniform(-2.0, 2.0)
positive = uniform(0.5, 2.0)
unit = uniform(-0.9, 0.9)  # arcsin, arccos: away from the poles of the derivative at ±1


def signed(low: float, high: float) -> Domain:
    """low ≤ |x| < high with a random sign: away from 0 (denominators, prod)."""

    def draw(rng: np.random.Generator, shape: Shape) -> np.ndarray:
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(low, high, shape)

    return draw


def tie_free(phase: int = 0, low: float = -2.0, high: float = 2.0) -> Domain:
    """Values in [low, high) at least 1/80 from every multiple of 1/4 (so from 0), and
    at least 1/40 from every value drawn with the other phase.

    Two inputs of different phases never tie (maximum, minimum, clip's bounds),
    and no value is near 0 (abs, sign, relu), so no finite-difference step
    crosses a kink.  ``low`` must be a multiple of 1/4.
    """

    def draw(rng: np.random.Generator, shape: Shape) -> np.ndarray:
        cells = rng.integers(0, int((high - low) * 4), shape) * 0.25
        return low + cells + 0.125 * phase + rng.uniform(0.0125, 0.1125, shape)

    return draw


def distinct(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """All entries at least 0.25 apart: no ties inside a max/min reduction."""
    n = int(np.prod(shape))
    spaced = (rng.permutation(n) - n / 2) * 0.3
    return (spaced + rng.uniform(0.0, 0.05, n)).reshape(shape)


def well_conditioned(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """(..., n, n) strictly diagonally dominant matrices: invertible, condition ~2."""
    n = shape[-1]
    return rng.uniform(-0.5, 0.5, shape) + n * np.eye(n)


def with_zeros(domain: Domain, *positions: tuple[int, ...]) -> Domain:
    """``domain`` with exact zeros at ``positions`` (prod's exact derivative at zeros)."""

    def draw(rng: np.random.Generator, shape: Shape) -> np.ndarray:
        x = domain(rng, shape)
        for p in positions:
            x[p] = 0.0
        return x

    return draw


def dyadic(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Multiples of 1/16 in [-1, 1]: exact in float32, as are x ± 2⁻⁴·v for dyadic v."""
    return rng.integers(-16, 17, shape) / 16.0


# -- the case record -----------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One row of the table.

    ``dyadic``: inputs, directions and cotangents are multiples of 1/16 and the
    finite-difference step is 2⁻⁴, so float32 rounding never enters a
    difference quotient (for casts, whose derivative is exactly the identity).
    ``differentiable``: False when the op's derivative is by definition not the
    derivative of its value (``stop_gradient``); such rows are checked for value
    and types only, and their derivatives by hand in ``test_hand_values.py``.
    ``static_only``: why the case is not also run on placeholders of unknown
    dims (a documented limitation), or empty when it is.
    """

    id: str
    build: Callable[..., ga.Node]
    ref: Callable[..., Any]
    shapes: tuple[Shape, ...]
    domains: tuple[Domain, ...]
    dtype: str = "float64"
    dyadic: bool = False
    differentiable: bool = True
    static_only: str = ""

    def sample(self, rng: np.random.Generator) -> list[np.ndarray]:
        """One value per input; for a complex case both parts are drawn from the domain."""
        if np.dtype(self.dtype).kind == "c":
            return [d(rng, s) + 1j * d(rng, s) for d, s in zip(self.domains, self.shapes)]
        return [np.asarray(d(rng, s), dtype=float) for d, s in zip(self.domains, self.shapes)]


def case(
    id: str,
    build: Callable[..., ga.Node],
    ref: Callable[..., Any],
    *shapes: Shape,
    domain: Domain | Sequence[Domain] = real,
    **options: Any,
) -> Case:
    """A Case; one ``domain`` serves every input, or give one per input."""
    domains = tuple(domain) if isinstance(domain, Sequence) else (domain,) * len(shapes)
    assert len(domains) == len(shapes), id
    return Case(id, build, ref, tuple(shapes), domains, **options)


def listwise(fn: Callable[..., Any], **kw: Any) -> Callable[..., Any]:
    """``fn([x1, x2, ...], **kw)`` as a function of ``x1, x2, ...`` (concatenate, stack)."""
    return lambda *xs: fn(list(xs), **kw)


# -- elementwise ---------------------------------------------------------------
def np_sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def np_relu(a: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0.0)


UNARY = [
    ("negative", ga.negative, np.negative, real),
    ("exp", ga.exp, np.exp, real),
    ("log", ga.log, np.log, positive),
    ("log1p", ga.log1p, np.log1p, uniform(-0.5, 2.0)),
    ("expm1", ga.expm1, np.expm1, real),
    ("sqrt", ga.sqrt, np.sqrt, positive),
    ("square", ga.square, np.square, real),
    ("abs", ga.abs, np.abs, tie_free()),
    ("sign", ga.sign, np.sign, tie_free()),
    ("sin", ga.sin, np.sin, real),
    ("cos", ga.cos, np.cos, real),
    ("tan", ga.tan, np.tan, uniform(-1.2, 1.2)),
    ("arcsin", ga.arcsin, np.arcsin, unit),
    ("arccos", ga.arccos, np.arccos, unit),
    ("arctan", ga.arctan, np.arctan, real),
    ("sinh", ga.sinh, np.sinh, real),
    ("cosh", ga.cosh, np.cosh, real),
    ("tanh", ga.tanh, np.tanh, real),
    ("sigmoid", ga.sigmoid, np_sigmoid, uniform(-4.0, 4.0)),
    ("relu", ga.relu, np_relu, tie_free()),
]

ELEMENTWISE = [case(name, f, ref, (3, 4), domain=d) for name, f, ref, d in UNARY] + [
    case("exp[scalar]", ga.exp, np.exp, ()),
    case("tanh[rank3]", ga.tanh, np.tanh, (2, 3, 4)),
    case("abs[operator]", abs, np.abs, (2, 3, 4), domain=tie_free()),
    case("negative[operator]", lambda x: -x, np.negative, (3, 4)),
]

# (tag, shape of a, shape of b): same shape, rows against columns, scalar, lower rank
BROADCASTS = [
    ("same", (2, 3, 4), (2, 3, 4)),
    ("rows_cols", (3, 1), (1, 4)),
    ("scalar", (), (2, 3)),
    ("rank", (2, 3, 4), (4,)),
]


def np_xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x * np.log(y)


BINARY = [
    ("add", ga.add, np.add, (real, real)),
    ("subtract", ga.subtract, np.subtract, (real, real)),
    ("multiply", ga.multiply, np.multiply, (real, real)),
    ("divide", ga.divide, np.divide, (real, signed(0.5, 2.0))),
    ("power", ga.power, np.power, (positive, real)),
    ("maximum", ga.maximum, np.maximum, (tie_free(0), tie_free(1))),
    ("minimum", ga.minimum, np.minimum, (tie_free(0), tie_free(1))),
    # the strong-zero products: away from exact zeros they are the plain ones
    ("multiply_no_nan", ga.multiply_no_nan, np.multiply, (real, real)),
    ("xdivy", ga.xdivy, np.divide, (real, signed(0.5, 2.0))),
    ("xlogy", ga.xlogy, np_xlogy, (real, positive)),
]

for _name, _f, _ref, _domains in BINARY:
    ELEMENTWISE += [
        case(f"{_name}[{tag}]", _f, _ref, sa, sb, domain=_domains) for tag, sa, sb in BROADCASTS
    ]


def cube(x: Any) -> Any:
    return x**3


def root(x: Any) -> Any:
    return x**0.5


def inverse_power(x: Any) -> Any:
    return x**-1.5


def two_to_the(x: Any) -> Any:
    return 2.0**x


def clip_scalars(x: Any) -> Any:
    """np.clip with Python-scalar bounds (constants: no adjoint)."""
    return ga.clip(x, -0.5, 0.75) if isinstance(x, ga.Node) else np.clip(x, -0.5, 0.75)


def where_positive(c: Any, a: Any, b: Any) -> Any:
    """where(c > 0, a, b): the condition comes from an input but cuts its gradient."""
    if isinstance(c, ga.Node):
        return ga.where(ga.greater(c, 0.0), a, b)
    return np.where(c > 0.0, a, b)


def np_add_n(*xs: np.ndarray) -> np.ndarray:
    return np.sum(xs, axis=0)


BOUNDS = (tie_free(0), tie_free(1, -2.0, 0.0), tie_free(1, 0.0, 2.0))  # x, lo < 0 ≤ hi

ELEMENTWISE += [
    case("power[cube]", cube, cube, (3, 4)),  # integer exponent of negative bases
    case("power[sqrt]", root, root, (3, 4), domain=positive),
    case("power[negative]", inverse_power, inverse_power, (3, 4), domain=positive),
    case("power[constant_base]", two_to_the, two_to_the, (3, 4)),
    case("clip[scalar_bounds]", clip_scalars, clip_scalars, (3, 4), domain=tie_free()),
    case("clip[tensor_bounds]", ga.clip, np.clip, (3, 4), (3, 4), (3, 4), domain=BOUNDS),
    case("clip[broadcast_bounds]", ga.clip, np.clip, (2, 3, 4), (3, 1), (), domain=BOUNDS),
    case("where", where_positive, where_positive, (3, 4), (3, 4), (3, 4), domain=tie_free()),
    case("where[broadcast]", where_positive, where_positive, (3, 1), (1, 4), (), domain=tie_free()),
    case("add_n", ga.add_n, np_add_n, (3, 4), (3, 4), (3, 4)),
]


# -- more elementwise math (issue 10) ---------------------------------------------
def quarters(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Divisors ±1/2, ±3/4, ±5/4: a tie_free dividend (1/80 off every multiple of 1/4) is
    then 1/80 off every jump of a remainder, which sits at the multiples of the divisor."""
    return rng.choice([-1.25, -0.75, -0.5, 0.5, 0.75, 1.25], shape)


def tenths(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Within 0.04 of a multiple of 0.1: 0.01 off the jumps of round(x, 1)."""
    return rng.integers(-20, 21, shape) / 10 + rng.uniform(-0.04, 0.04, shape)


def with_nonfinite(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """``real`` with a NaN, an inf and a -inf (nan_to_num replaces them)."""
    x = real(rng, shape)
    x[0, 0], x[1, 2], x[2, 3] = np.nan, np.inf, -np.inf
    return x


def round1(x: Any) -> Any:
    return ga.round(x, 1) if isinstance(x, ga.Node) else np.round(x, 1)


def nan_to_num_bounded(x: Any) -> Any:
    """Finite replacements that float32 and float64 share (the defaults are dtype maxima)."""
    fn = ga.nan_to_num if isinstance(x, ga.Node) else np.nan_to_num
    return fn(x, nan=-7.0, posinf=1e3, neginf=-1e3)


def mod_operator(a: Any, b: Any) -> Any:
    return a % b


def rmod_operator(b: Any) -> Any:
    return 2.3 % b  # 2.3/b is at least 0.06 from a whole number for every quarters b


MORE_UNARY = [
    ("floor", ga.floor, np.floor, tie_free()),
    ("ceil", ga.ceil, np.ceil, tie_free()),
    ("trunc", ga.trunc, np.trunc, tie_free()),
    ("round", ga.round, np.round, tie_free()),
    ("around", ga.around, np.around, tie_free()),
    ("fabs", ga.fabs, np.fabs, tie_free()),
    ("reciprocal", ga.reciprocal, np.reciprocal, signed(0.5, 2.0)),
    ("log2", ga.log2, np.log2, positive),
    ("log10", ga.log10, np.log10, positive),
    ("exp2", ga.exp2, np.exp2, real),
    ("arcsinh", ga.arcsinh, np.arcsinh, real),
    ("arccosh", ga.arccosh, np.arccosh, uniform(1.2, 3.0)),
    ("arctanh", ga.arctanh, np.arctanh, unit),
    ("deg2rad", ga.deg2rad, np.deg2rad, uniform(-200.0, 200.0)),
    ("rad2deg", ga.rad2deg, np.rad2deg, real),
    ("radians", ga.radians, np.radians, uniform(-200.0, 200.0)),
    ("degrees", ga.degrees, np.degrees, real),
    ("sinc", ga.sinc, np.sinc, real),
    ("nan_to_num", ga.nan_to_num, np.nan_to_num, real),
]

MORE_BINARY = [
    ("remainder", ga.remainder, np.remainder, (tie_free(), quarters)),
    ("mod", ga.mod, np.mod, (tie_free(), quarters)),
    ("fmod", ga.fmod, np.fmod, (tie_free(), quarters)),
    ("arctan2", ga.arctan2, np.arctan2, (signed(0.5, 2.0), real)),
    ("hypot", ga.hypot, np.hypot, (signed(0.5, 2.0), real)),
    ("logaddexp", ga.logaddexp, np.logaddexp, (real, real)),
    ("logaddexp2", ga.logaddexp2, np.logaddexp2, (real, real)),
    ("fmax", ga.fmax, np.fmax, (tie_free(0), tie_free(1))),
    ("fmin", ga.fmin, np.fmin, (tie_free(0), tie_free(1))),
    ("heaviside", ga.heaviside, np.heaviside, (tie_free(), real)),
    ("copysign", ga.copysign, np.copysign, (real, tie_free())),
]

ELEMENTWISE += [case(name, f, ref, (3, 4), domain=d) for name, f, ref, d in MORE_UNARY]
ELEMENTWISE += [
    case(f"{name}[{tag}]", f, ref, sa, sb, domain=domains)
    for name, f, ref, domains in MORE_BINARY
    for tag, sa, sb in BROADCASTS
]
ELEMENTWISE += [
    case("round[decimals]", round1, round1, (3, 4), domain=tenths),
    case("floor[rank3]", ga.floor, np.floor, (2, 3, 4), domain=tie_free()),
    case("sinc[near_zero]", ga.sinc, np.sinc, (3, 4), domain=with_zeros(unit, (0, 1), (2, 2))),
    case("sinc[small]", ga.sinc, np.sinc, (3, 4), domain=uniform(-0.15, 0.15)),
    case(
        "nan_to_num[nonfinite]",
        nan_to_num_bounded,
        nan_to_num_bounded,
        (3, 4),
        domain=with_nonfinite,
    ),
    case(
        "remainder[operator]",
        mod_operator,
        mod_operator,
        (3, 4),
        (4,),
        domain=(tie_free(), quarters),
    ),
    case("remainder[reflected]", rmod_operator, rmod_operator, (3, 4), domain=quarters),
]


# -- reductions ----------------------------------------------------------------
def np_logsumexp(a: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    return np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims))


AXES = [
    ("all", {}),
    ("axis1", {"axis": 1}),
    ("axis-1_keepdims", {"axis": -1, "keepdims": True}),
    ("axes02", {"axis": (0, 2)}),
    ("axes20_keepdims", {"axis": (2, 0), "keepdims": True}),
    ("all_keepdims", {"axis": None, "keepdims": True}),
]

REDUCTIONS = [
    ("sum", ga.sum, np.sum, real),
    ("mean", ga.mean, np.mean, real),
    ("prod", ga.prod, np.prod, signed(0.6, 1.4)),
    ("max", ga.max, np.max, distinct),
    ("min", ga.min, np.min, distinct),
    ("logsumexp", ga.logsumexp, np_logsumexp, real),
    ("var", ga.var, np.var, real),
    ("std", ga.std, np.std, real),
]

REDUCTION = [
    case(f"{name}[{tag}]", partial(f, **kw), partial(ref, **kw), (2, 3, 4), domain=d)
    for name, f, ref, d in REDUCTIONS
    for tag, kw in AXES
]

# rows of one zero (0), none (1) and two zeros (2); columns of one zero (0, 1, 3) and none (2)
ZEROS_34 = with_zeros(signed(0.6, 1.4), (0, 1), (2, 0), (2, 3))

DDOF = [
    ("ddof1", {"ddof": 1}),
    ("axis1_ddof1", {"axis": 1, "ddof": 1}),
    ("axes02_keepdims_ddof2", {"axis": (0, 2), "keepdims": True, "ddof": 2}),
]

REDUCTION += [
    case(f"{name}[{tag}]", partial(f, **kw), partial(ref, **kw), (2, 3, 4))
    for name, f, ref in [("var", ga.var, np.var), ("std", ga.std, np.std)]
    for tag, kw in DDOF
]

# where var and std are constant (one entry per output): value 0, every derivative an exact 0
CONSTANT_SPREAD = [
    ("single", (1,), {}),
    ("axis_of_length_1", (2, 1, 4), {"axis": -2}),
    ("length_1_axes_keepdims", (2, 1, 1), {"axis": (1, -1), "keepdims": True}),
]

REDUCTION += [
    case(f"{name}[{tag}]", partial(f, **kw), partial(ref, **kw), shape)
    for name, f, ref in [("var", ga.var, np.var), ("std", ga.std, np.std)]
    for tag, shape, kw in CONSTANT_SPREAD
] + [
    case(
        "prod[rows_with_zeros]",
        partial(ga.prod, axis=1),
        partial(np.prod, axis=1),
        (3, 4),
        domain=ZEROS_34,
    ),
    case(
        "prod[cols_with_zeros]",
        partial(ga.prod, axis=0),
        partial(np.prod, axis=0),
        (3, 4),
        domain=ZEROS_34,
    ),
    case(
        "prod[one_zero]",
        ga.prod,
        np.prod,
        (3, 4),
        domain=with_zeros(signed(0.6, 1.4), (1, 2)),
    ),
    case(
        "prod[two_zeros]",
        ga.prod,
        np.prod,
        (3, 4),
        domain=with_zeros(signed(0.6, 1.4), (1, 2), (2, 0)),
    ),
    case("sum[vector]", ga.sum, np.sum, (5,)),
    case(
        "max[matrix_axis0]",
        partial(ga.max, axis=0),
        partial(np.max, axis=0),
        (3, 4),
        domain=distinct,
    ),
]


# -- shape ---------------------------------------------------------------------
def reshaper(shape: Shape) -> Callable[[Any], Any]:
    """x.reshape(shape), for nodes and arrays alike."""
    return lambda x: x.reshape(shape)


def transposer(axes: Shape | None) -> Callable[[Any], Any]:
    return lambda x: x.transpose(axes)


def np_sum_to(shape: Shape) -> Callable[[np.ndarray], np.ndarray]:
    """sum_to by its definition: each entry of ``a`` adds into the entry of ``shape`` that
    broadcasting would have copied it from."""

    def reference(a: np.ndarray) -> np.ndarray:
        out = np.zeros(shape, a.dtype)
        lead = a.ndim - len(shape)
        for index in np.ndindex(a.shape):
            source = tuple(0 if d == 1 else i for i, d in zip(index[lead:], shape))
            out[source] += a[index]
        return out

    return reference


def reverse_split(split: Callable[..., Any], concatenate: Callable[..., Any], **kw: Any) -> Any:
    """split, then concatenate the pieces in reverse order: every piece's adjoint is used."""

    def build(x: Any) -> Any:
        return concatenate(split(x, **kw)[::-1], axis=kw.get("axis", 0))

    return build


SIZES = "concatenate's adjoint needs the sizes along the axis statically"

SHAPE = [
    case("reshape[minus_one]", reshaper((4, -1)), reshaper((4, -1)), (2, 3, 4)),
    case("reshape[split_dims]", reshaper((2, -1, 3)), reshaper((2, -1, 3)), (3, 4)),
    case("reshape[flatten]", reshaper((-1,)), reshaper((-1,)), (2, 3, 4)),
    case("reshape[scalar]", reshaper((1, 1)), reshaper((1, 1)), ()),
    case("transpose[reverse]", ga.transpose, np.transpose, (2, 3, 4)),
    case("transpose[axes]", transposer((1, 2, 0)), transposer((1, 2, 0)), (2, 3, 4)),
    case(
        "transpose[negative_axes]",
        partial(ga.transpose, axes=(-1, 0, 1)),
        partial(np.transpose, axes=(-1, 0, 1)),
        (2, 3, 4),
    ),
    case("transpose[T]", ga.transpose, np.transpose, (3, 4)),
    case(
        "swapaxes",
        partial(ga.swapaxes, a=0, b=2),
        partial(np.swapaxes, axis1=0, axis2=2),
        (2, 3, 4),
    ),
    case("matrix_transpose", ga.matrix_transpose, np.matrix_transpose, (2, 3, 4)),
    case(
        "expand_dims[0]", partial(ga.expand_dims, axis=0), partial(np.expand_dims, axis=0), (3, 4)
    ),
    case(
        "expand_dims[-1]",
        partial(ga.expand_dims, axis=-1),
        partial(np.expand_dims, axis=-1),
        (3, 4),
    ),
    case(
        "expand_dims[tuple]",
        partial(ga.expand_dims, axis=(0, 2)),
        partial(np.expand_dims, axis=(0, 2)),
        (3, 4),
    ),
    case("squeeze[axis]", partial(ga.squeeze, axis=1), partial(np.squeeze, axis=1), (3, 1, 4)),
    case(
        "squeeze[all]",
        ga.squeeze,
        np.squeeze,
        (1, 3, 1),
        static_only="squeeze(axis=None) drops the dims statically known to be 1",
    ),
    case("squeeze[negative]", partial(ga.squeeze, axis=-1), partial(np.squeeze, axis=-1), (3, 1)),
    case(
        "broadcast_to[rows]",
        partial(ga.broadcast_to, shape=(2, 3, 4)),
        partial(np.broadcast_to, shape=(2, 3, 4)),
        (3, 1),
    ),
    case(
        "broadcast_to[scalar]",
        partial(ga.broadcast_to, shape=(2, 3)),
        partial(np.broadcast_to, shape=(2, 3)),
        (),
    ),
    case(
        "broadcast_to[rank]",
        partial(ga.broadcast_to, shape=(3, 4)),
        partial(np.broadcast_to, shape=(3, 4)),
        (4,),
    ),
    case(
        "broadcast_like",
        ga.broadcast_like,
        lambda a, b: np.broadcast_to(a, b.shape),
        (3, 1),
        (2, 3, 4),
    ),
    case("sum_to[rows]", partial(ga.sum_to, shape=(3, 1)), np_sum_to((3, 1)), (2, 3, 4)),
    case("sum_to[trailing]", partial(ga.sum_to, shape=(4,)), np_sum_to((4,)), (2, 3, 4)),
    case("sum_to[scalar]", partial(ga.sum_to, shape=()), np_sum_to(()), (3, 4)),
    case("sum_to[keep_ones]", partial(ga.sum_to, shape=(1, 4)), np_sum_to((1, 4)), (3, 4)),
    case(
        "concatenate[axis0]",
        listwise(ga.concatenate),
        listwise(np.concatenate),
        (2, 3),
        (4, 3),
        static_only=SIZES,
    ),
    case(
        "concatenate[axis1]",
        listwise(ga.concatenate, axis=1),
        listwise(np.concatenate, axis=1),
        (3, 2),
        (3, 4),
        (3, 1),
        static_only=SIZES,
    ),
    case(
        "concatenate[axis-1]",
        listwise(ga.concatenate, axis=-1),
        listwise(np.concatenate, axis=-1),
        (2, 3, 4),
        (2, 3, 1),
        static_only=SIZES,
    ),
    case("stack[axis0]", listwise(ga.stack), listwise(np.stack), (3, 4), (3, 4)),
    case(
        "stack[axis1]",
        listwise(ga.stack, axis=1),
        listwise(np.stack, axis=1),
        (3, 4),
        (3, 4),
        (3, 4),
    ),
    case("stack[axis-1]", listwise(ga.stack, axis=-1), listwise(np.stack, axis=-1), (3, 4), (3, 4)),
    case(
        "split[sections]",
        reverse_split(ga.split, ga.concatenate, indices_or_sections=3),
        reverse_split(np.split, np.concatenate, indices_or_sections=3),
        (6, 4),
        static_only="split into sections needs the length of the axis",
    ),
    case(
        "split[indices_axis1]",
        reverse_split(ga.split, ga.concatenate, indices_or_sections=[1, 3], axis=1),
        reverse_split(np.split, np.concatenate, indices_or_sections=[1, 3], axis=1),
        (3, 5),
        static_only=SIZES,
    ),
]


# -- building and rearranging --------------------------------------------------
BUILT = "a split's pieces are decided from the dims when the node is built"


def both(name: str, **kw: Any) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``ga.name`` and ``np.name`` with the same keywords."""
    return partial(getattr(ga, name), **kw), partial(getattr(np, name), **kw)


def row(
    id: str, name: str, *shapes: Shape, domain: Any = real, static_only: str = "", **kw: Any
) -> Case:
    """A case of ``ga.name`` against ``np.name`` with keywords ``kw``."""
    f, ref = both(name, **kw)
    return case(id, f, ref, *shapes, domain=domain, static_only=static_only)


def listrow(id: str, name: str, *shapes: Shape, static_only: str = SIZES, **kw: Any) -> Case:
    """A case of ``ga.name([x1, x2, ...])`` against NumPy's."""
    f, ref = both(name, **kw)
    return case(id, listwise(f), listwise(ref), *shapes, static_only=static_only)


def split_row(id: str, name: str, shape: Shape, join: int, **kw: Any) -> Case:
    """``name`` (a split), then the pieces joined in reverse order along ``join``: every
    piece's adjoint is used."""

    def build(x: Any) -> Any:
        lib = ga if isinstance(x, ga.Node) else np
        return lib.concatenate(getattr(lib, name)(x, **kw)[::-1], axis=join)

    return case(id, build, build, shape, static_only=BUILT)


def linspace_step(a: Any, b: Any) -> Any:
    """The step linspace returns with ``retstep=True``."""
    lib = ga if isinstance(a, ga.Node) else np
    return lib.linspace(a, b, 5, retstep=True)[1]


def select_signs(x: Any, a: Any, b: Any) -> Any:
    """select([x > 0.5, x < -0.5], [a, b], default=-1): conditions cut x's gradient."""
    lib = ga if isinstance(x, ga.Node) else np
    return lib.select([x > 0.5, x < -0.5], [a, b], -1.0)


BUILDING = [
    row("ravel", "ravel", (2, 3, 4)),
    row("ravel[F]", "ravel", (2, 3, 4), order="F"),
    case("ravel[method]", lambda x: x.ravel(), np.ravel, (3, 4)),
    case("flatten[method]", lambda x: x.flatten(), lambda x: x.flatten(), (3, 4)),
    row("atleast_1d[scalar]", "atleast_1d", ()),
    row("atleast_2d[scalar]", "atleast_2d", ()),
    row("atleast_2d[1d]", "atleast_2d", (4,)),
    row("atleast_3d[1d]", "atleast_3d", (4,)),
    row("atleast_3d[2d]", "atleast_3d", (3, 4)),
    row("atleast_3d[3d]", "atleast_3d", (2, 3, 4)),
    listrow("vstack[1d]", "vstack", (4,), (4,), static_only=""),
    listrow("vstack[2d]", "vstack", (2, 4), (3, 4)),
    listrow("row_stack", "vstack", (4,), (2, 4), static_only=""),
    listrow("hstack[1d]", "hstack", (3,), (4,)),
    listrow("hstack[2d]", "hstack", (3, 2), (3, 4)),
    listrow("dstack", "dstack", (3, 4), (3, 4), static_only=""),
    listrow("dstack[1d]", "dstack", (4,), (4,), static_only=""),
    listrow("column_stack", "column_stack", (3,), (3, 2), static_only=""),
    row("append[flat]", "append", (2, 3), (4,), static_only=SIZES),
    row("append[axis-1]", "append", (3, 2), (3, 4), static_only=SIZES, axis=-1),
    row("repeat[flat]", "repeat", (2, 3), repeats=2),
    row("repeat[counts_axis-1]", "repeat", (3, 4), repeats=[1, 0, 2, 3], axis=-1),
    row("repeat[axis0]", "repeat", (3, 4), repeats=2, axis=0),
    case(
        "repeat[method]",
        lambda x: x.repeat(3, axis=1),
        lambda x: x.repeat(3, axis=1),
        (2, 3),
    ),
    row("tile[rank_up]", "tile", (3, 4), reps=(2, 1, 3)),
    row("tile[vector]", "tile", (4,), reps=2),
    row("tile[short_reps]", "tile", (2, 3, 4), reps=(2, 1)),
    row(
        "pad[constant]",
        "pad",
        (3, 4),
        pad_width=((1, 2), (0, 3)),
        constant_values=1.5,
    ),
    row(
        "pad[constant_pairs]",
        "pad",
        (3, 4),
        pad_width=1,
        constant_values=((1, 2), (3, 4)),
    ),
    row("pad[edge]", "pad", (3, 4), pad_width=((2, 1), (1, 0)), mode="edge"),
    row("pad[reflect]", "pad", (3, 4), pad_width=((2, 1), (3, 5)), mode="reflect"),
    row("pad[symmetric]", "pad", (2, 3, 4), pad_width=(1, 2), mode="symmetric"),
    row("pad[wrap]", "pad", (3, 4), pad_width=((4, 1), (1, 2)), mode="wrap"),
    row("roll[flat]", "roll", (3, 4), shift=5),
    row("roll[axes]", "roll", (3, 4), shift=(1, -3), axis=(0, -1)),
    row("roll[negative_axis]", "roll", (2, 3, 4), shift=7, axis=-2),
    row("flip[all]", "flip", (2, 3, 4)),
    row("flip[axis-1]", "flip", (2, 3, 4), axis=-1),
    row("flip[axes]", "flip", (2, 3, 4), axis=(0, 2)),
    row("fliplr", "fliplr", (3, 4)),
    row("flipud", "flipud", (3, 4)),
    row("rot90", "rot90", (3, 4)),
    row("rot90[k2]", "rot90", (3, 4), k=2),
    row("rot90[k3_axes12]", "rot90", (2, 3, 4), k=3, axes=(1, 2)),
    row("rot90[k-1_negative_axes]", "rot90", (2, 3, 4), k=-1, axes=(-1, 0)),
    row("moveaxis", "moveaxis", (2, 3, 4), source=0, destination=-1),
    row("moveaxis[several]", "moveaxis", (2, 3, 4, 5), source=[0, 1], destination=[-1, 0]),
    row("rollaxis", "rollaxis", (2, 3, 4), axis=-1),
    row("rollaxis[start]", "rollaxis", (2, 3, 4), axis=0, start=3),
    split_row("array_split[uneven]", "array_split", (7, 4), 0, indices_or_sections=3),
    split_row("array_split[axis-1]", "array_split", (3, 5), -1, indices_or_sections=2, axis=-1),
    split_row("hsplit", "hsplit", (3, 6), 1, indices_or_sections=2),
    split_row("hsplit[1d]", "hsplit", (6,), 0, indices_or_sections=[1, 4]),
    split_row("vsplit", "vsplit", (4, 3), 0, indices_or_sections=[1, 3]),
    split_row("dsplit", "dsplit", (2, 3, 4), 2, indices_or_sections=2),
    row("linspace", "linspace", (), (), num=7),
    row("linspace[broadcast]", "linspace", (3,), (2, 1), num=4),
    row("linspace[axis-1_no_endpoint]", "linspace", (3,), (3,), num=5, endpoint=False, axis=-1),
    case("linspace[retstep]", linspace_step, linspace_step, (2,), (2,)),
    case("select", select_signs, select_signs, (3, 4), (3, 4), (4,), domain=tie_free()),
]


# -- scans and differences -----------------------------------------------------
def gradient_stack(**kw: Any) -> Callable[..., Any]:
    """np.gradient's per-axis list stacked into one array (one node when one axis)."""

    def build(f: Any) -> Any:
        lib = ga if isinstance(f, ga.Node) else np
        out = lib.gradient(
            f, *kw.get("varargs", ()), **{k: v for k, v in kw.items() if k != "varargs"}
        )
        return lib.stack(out) if isinstance(out, (list, tuple)) else out

    return build


def diff_prepended(x: Any, p: Any) -> Any:
    """diff along axis 0 of p's rows joined before x's: p receives an adjoint too."""
    lib = ga if isinstance(x, ga.Node) else np
    return lib.diff(x, prepend=p, axis=0)


ZEROS_345 = with_zeros(signed(0.6, 1.4), (0, 1, 2), (2, 2, 0), (2, 2, 3), (1, 0, 0))

SCANS = [
    row("cumsum[flat]", "cumsum", (2, 3, 4)),
    row("cumsum[axis-1]", "cumsum", (2, 3, 4), axis=-1),
    row("cumsum[axis0]", "cumsum", (3, 4), axis=0),
    case("cumsum[method]", lambda x: x.cumsum(1), lambda x: x.cumsum(1), (3, 4)),
    row("cumprod[flat]", "cumprod", (2, 3), domain=signed(0.6, 1.4)),
    row("cumprod[axis1]", "cumprod", (2, 5, 3), domain=signed(0.6, 1.4), axis=1),
    row("cumprod[axis-1]", "cumprod", (3, 7), domain=signed(0.6, 1.4), axis=-1),
    row("cumprod[zeros]", "cumprod", (3, 4, 5), domain=ZEROS_345, axis=-1),
    row("cumprod[zeros_axis0]", "cumprod", (3, 4, 5), domain=ZEROS_345, axis=0),
    row("diff", "diff", (3, 5)),
    row("diff[n2_axis0]", "diff", (4, 3), n=2, axis=0),
    row("diff[n3_axis-2]", "diff", (2, 5, 3), n=3, axis=-2),
    row("diff[prepend_append]", "diff", (3, 4), prepend=0.5, append=-1.0),
    case("diff[prepend_node]", diff_prepended, diff_prepended, (3, 4), (2, 4), static_only=SIZES),
    case("gradient[1d]", gradient_stack(), gradient_stack(), (6,)),
    case("gradient[2d]", gradient_stack(), gradient_stack(), (4, 5)),
    case(
        "gradient[spacing_axis-1]",
        gradient_stack(varargs=(0.5,), axis=-1),
        gradient_stack(varargs=(0.5,), axis=-1),
        (3, 5),
    ),
    case(
        "gradient[edge_order2]",
        gradient_stack(varargs=(0.3, 2.0), edge_order=2),
        gradient_stack(varargs=(0.3, 2.0), edge_order=2),
        (3, 4),
    ),
    case(
        "gradient[coordinates]",
        gradient_stack(varargs=(np.array([0.0, 0.5, 1.5, 1.75, 3.0]),), axis=1),
        gradient_stack(varargs=(np.array([0.0, 0.5, 1.5, 1.75, 3.0]),), axis=1),
        (3, 5),
    ),
    case(
        "gradient[coordinates_edge_order2]",
        gradient_stack(varargs=(np.array([0.0, 0.5, 1.5, 3.0]),), axis=0, edge_order=2),
        gradient_stack(varargs=(np.array([0.0, 0.5, 1.5, 3.0]),), axis=0, edge_order=2),
        (4, 3),
    ),
]


# -- sorting -------------------------------------------------------------------
TAKE = np.array([[2, 0, 2, 1], [0, 0, 1, 2]])


def take_rows(x: Any) -> Any:
    """take_along_axis(x, TAKE, axis=0) with repeated indices: the adjoint accumulates."""
    lib = ga if isinstance(x, ga.Node) else np
    return lib.take_along_axis(x, TAKE, axis=0)


def sort_method_free(x: Any) -> Any:
    """argsort as data: x gathered at its own argsort along axis 0."""
    lib = ga if isinstance(x, ga.Node) else np
    return lib.take_along_axis(x, lib.argsort(x, axis=0), axis=0)


SORTING = [
    row("sort", "sort", (3, 4), domain=distinct),
    row("sort[axis0]", "sort", (3, 4), domain=distinct, axis=0),
    row("sort[axis-2]", "sort", (2, 5, 3), domain=distinct, axis=-2),
    row("sort[flat]", "sort", (3, 4), domain=distinct, axis=None),
    row("partition", "partition", (3, 7), domain=distinct, kth=3),
    row(
        "partition[kths_axis0]",
        "partition",
        (6, 4),
        domain=distinct,
        kth=[0, -2],
        axis=0,
    ),
    case(
        "take_along_axis[argsort]",
        sort_method_free,
        sort_method_free,
        (4, 3),
        domain=distinct,
    ),
    case("take_along_axis", take_rows, take_rows, (3, 4)),
]


# -- indexing ------------------------------------------------------------------
def indexer(index: Any) -> Callable[[Any], Any]:
    """x[index], for nodes and arrays alike."""
    return lambda x: x[index]


MASK = np.array([[True, False, True, False], [False, False, True, True], [True] * 4])

INDICES = [
    ("int", (3, 4), 1),
    ("negative_int", (3, 4), -1),
    ("int_pair", (2, 3, 4), (1, -2)),
    ("slice_step", (5, 4), slice(None, None, 2)),
    ("negative_step", (5, 4), (slice(None, 1, -2), slice(-1, 0, -1))),
    ("slice_bounds", (3, 5), (slice(1, None), slice(-4, -1))),
    ("newaxis", (3, 4), (None, slice(None), None, 2)),
    ("ellipsis", (2, 3, 4), (Ellipsis, 1)),
    ("ellipsis_newaxis", (2, 3, 4), (None, Ellipsis, slice(None, None, -1))),
    ("array_repeated", (3, 4), [0, 2, 2, 1, 0]),
    ("array_negative", (3, 4), (slice(None), [-1, 0, -1])),
    ("array_pair_repeated", (3, 4), ([0, 1, 1, 0], [2, 2, 0, 2])),
    ("array_2d", (3, 4), np.array([[0, 1], [1, 1], [2, 0]])),
    ("int_and_array", (2, 3, 4), (1, slice(None), [3, 0, 3])),
    ("mask", (3, 4), MASK),
]

WRAPS = "mode='wrap' and 'clip' wrap or clip the indices by the axis length, known when built"


def scattered(a: Any, b: Any, c: Any) -> Any:
    """a at [:, 0:2] + b + c at [:, 3] into (3, 4): the sum the compiler makes of many
    scatters into one array (scatter_sum), the terms in their order."""
    if isinstance(a, ga.Node):
        index = (slice(None), slice(0, 2))
        return scatter_sum([(a, index), (b, None), (c, (slice(None), 3))], (3, 4))
    out = np.zeros((3, 4), np.result_type(a, b, c))
    out[:, 0:2] += a
    out += b
    out[:, 3] += c
    return out


INDEXING = [case(f"getitem[{tag}]", indexer(i), indexer(i), s) for tag, s, i in INDICES] + [
    row("take[flat]", "take", (3, 4), indices=[[0, 11], [5, 5]]),
    row("take[axis0]", "take", (3, 4), indices=[2, 0, 2], axis=0),
    row("take[axis1_2d]", "take", (2, 3, 5), indices=[[2, 0], [-1, 2], [2, 2]], axis=1),
    row("take[scalar]", "take", (3, 4), indices=2, axis=-1),
    row(
        "take[wrap]", "take", (3, 4), indices=[5, -6, 3, 4], axis=-1, mode="wrap", static_only=WRAPS
    ),
    row(
        "take[clip]",
        "take",
        (3, 4),
        indices=[[-2, 1], [9, 2]],
        axis=0,
        mode="clip",
        static_only=WRAPS,
    ),
    case("scatter_sum", scattered, scattered, (3, 2), (3, 4), (3,)),
]


# -- linear algebra ------------------------------------------------------------
def trace_last_two(x: Any) -> Any:
    return (
        ga.trace(x, axis1=1, axis2=2) if isinstance(x, ga.Node) else np.trace(x, axis1=1, axis2=2)
    )


# an operand's adjoint broadcasts over letters only it has, or puts it on a diagonal
EINSUM_SIZES = "einsum broadcasts a size-1 dim against another only when both are static"

RECTANGLE = "the trace of a non-square block needs both dims statically"


def einsum_case(subscripts: str, *shapes: Shape, static_only: str = "") -> Case:
    return case(
        f"einsum[{subscripts}]",
        partial(ga.einsum, subscripts),
        partial(np.einsum, subscripts),
        *shapes,
        static_only=static_only,
    )


MATRIX = well_conditioned


def rank_deficient(drop: int) -> Domain:
    """(..., n, n) matrices of rank n - ``drop``: singular values 1, 1.5, … and ``drop``
    zeros (det is 0; its gradient, the adjugate, has rank 1 for one zero and is 0 for
    more, and its second derivative is not 0)."""

    def draw(rng: np.random.Generator, shape: Shape) -> np.ndarray:
        n = shape[-1]
        q1, _ = np.linalg.qr(rng.standard_normal(shape))
        q2, _ = np.linalg.qr(rng.standard_normal(shape))
        s = 1.0 + 0.5 * np.arange(n)
        s[:drop] = 0.0
        return (q1 * s) @ np.swapaxes(q2, -1, -2)

    return draw


RANK_2, RANK_1 = rank_deficient(1), rank_deficient(2)  # of 3x3 matrices
# the adjugate's derivative reads the SVD, whose op needs the matrix dims (issue 16 item 18)
ADJUGATE = "det's second derivative (the adjugate's, from the SVD) needs static matrix dims"

LINALG = [
    case("matmul[1d@1d]", ga.matmul, np.matmul, (4,), (4,)),
    case("matmul[1d@2d]", ga.matmul, np.matmul, (3,), (3, 4)),
    case("matmul[2d@1d]", ga.matmul, np.matmul, (3, 4), (4,)),
    case("matmul[2d@2d]", ga.matmul, np.matmul, (2, 3), (3, 4)),
    case("matmul[batched]", ga.matmul, np.matmul, (2, 3, 4), (2, 4, 5)),
    case("matmul[batch_broadcast]", ga.matmul, np.matmul, (2, 1, 3, 4), (5, 4, 6)),
    case("matmul[batched@2d]", ga.matmul, np.matmul, (2, 3, 4), (4, 5)),
    case("matmul[batched@1d]", ga.matmul, np.matmul, (2, 3, 4), (4,)),
    case("matmul[1d@batched]", ga.matmul, np.matmul, (3,), (2, 3, 4)),
    case("matmul[operator]", lambda a, b: a @ b, np.matmul, (2, 3), (3, 4)),
    case("dot[1d]", ga.dot, np.dot, (4,), (4,)),
    case("dot[2d]", ga.dot, np.dot, (3, 4), (4, 2)),
    case("dot[scalar]", ga.dot, np.dot, (), (3, 4)),
    case("dot[3d@2d]", ga.dot, np.dot, (2, 3, 4), (4, 5)),
    case("dot[2d@3d]", ga.dot, np.dot, (3, 4), (2, 4, 5)),
    case("outer", ga.outer, np.outer, (3,), (4,)),
    case("outer[flattens]", ga.outer, np.outer, (2, 3), (4,)),
    case("trace", ga.trace, np.trace, (4, 4)),
    case("trace[axes12]", trace_last_two, trace_last_two, (2, 3, 3)),
    case("trace[rectangular]", ga.trace, np.trace, (3, 5), static_only=RECTANGLE),
    case(
        "trace[rectangular_axes12]",
        trace_last_two,
        trace_last_two,
        (2, 4, 3),
        static_only=RECTANGLE,
    ),
    einsum_case("ii->", (4, 4)),
    einsum_case("ii->i", (4, 4)),
    einsum_case("ij->i", (3, 4)),
    einsum_case("ij->ji", (3, 4)),
    einsum_case("ij->", (3, 4)),
    einsum_case("i,i->", (4,), (4,)),
    einsum_case("i,j->ij", (3,), (4,)),
    einsum_case("ij,jk->ik", (2, 3), (3, 4)),
    einsum_case("ij,ij->", (3, 4), (3, 4)),
    einsum_case("bij,bjk->bik", (2, 3, 4), (2, 4, 5)),
    einsum_case("ij,jk,kl->il", (2, 3), (3, 4), (4, 5)),
    einsum_case("iij->j", (3, 3, 4)),
    einsum_case("ijk,j->ki", (2, 3, 4), (3,)),
    case("inv", ga.inv, np.linalg.inv, (3, 3), domain=MATRIX),
    case("inv[batched]", ga.inv, np.linalg.inv, (2, 4, 4), domain=MATRIX),
    case("solve[vector]", ga.solve, np.linalg.solve, (3, 3), (3,), domain=(MATRIX, real)),
    case("solve[matrix]", ga.solve, np.linalg.solve, (3, 3), (3, 2), domain=(MATRIX, real)),
    case("solve[batched]", ga.solve, np.linalg.solve, (2, 3, 3), (2, 3, 4), domain=(MATRIX, real)),
    case("solve[broadcast_b]", ga.solve, np.linalg.solve, (3, 3), (2, 3, 4), domain=(MATRIX, real)),
    case(
        "solve[batched_a_vector_b]",
        ga.solve,
        np.linalg.solve,
        (2, 3, 3),
        (3,),
        domain=(MATRIX, real),
    ),
    case("det", ga.det, np.linalg.det, (3, 3), domain=MATRIX, static_only=ADJUGATE),
    case("det[batched]", ga.det, np.linalg.det, (2, 4, 4), domain=MATRIX, static_only=ADJUGATE),
    case("det[singular]", ga.det, np.linalg.det, (3, 3), domain=RANK_2, static_only=ADJUGATE),
    case("det[rank_1]", ga.det, np.linalg.det, (2, 3, 3), domain=RANK_1, static_only=ADJUGATE),
]


# -- tensor products and matrix structure -------------------------------------------
STRETCH = "einsum broadcasts a size-1 dim only where the sizes are known statically"


def einsum_sublists(a: Any, b: Any) -> Any:
    """The sublist form: einsum(a, [0, 1, Ellipsis], b, [1, 2], [Ellipsis, 2, 0])."""
    lib = ga if isinstance(a, ga.Node) else np
    return lib.einsum(a, [0, 1, Ellipsis], b, [1, 2], [Ellipsis, 2, 0])


def times_eye(x: Any) -> Any:
    """x · eye(3, 4, k=1): the constant from ga.eye against NumPy's."""
    lib = ga if isinstance(x, ga.Node) else np
    return x * lib.eye(3, 4, k=1, dtype=x.dtype) + lib.identity(4, x.dtype)[1:]


def plus_identity(x: Any) -> Any:
    """x + identity(3), broadcast over a batch."""
    lib = ga if isinstance(x, ga.Node) else np
    return x + lib.identity(3, x.dtype)


PRODUCTS = [
    row("tensordot[int]", "tensordot", (2, 3, 4), (3, 4, 5)),
    row("tensordot[pairs]", "tensordot", (2, 3, 4), (4, 5, 3), axes=([1, -1], [2, 0])),
    row("tensordot[zero]", "tensordot", (2, 3), (4,), axes=0),
    row("tensordot[one_axis]", "tensordot", (3, 4), (5, 3), axes=(0, -1)),
    row("inner[vectors]", "inner", (4,), (4,)),
    row("inner[nd]", "inner", (2, 3, 4), (5, 4)),
    row("inner[scalar]", "inner", (), (3, 4)),
    row("kron", "kron", (2, 3), (4, 5)),
    row("kron[ranks]", "kron", (3,), (2, 4, 1)),
    row("cross", "cross", (4, 3), (4, 3)),
    row("cross[broadcast]", "cross", (2, 1, 3), (5, 3)),
    row("cross[axes]", "cross", (3, 4), (2, 4, 3), axisa=0, axisb=-1, axisc=-2),
    row("cross[axis]", "cross", (3, 2), (3, 2), axis=0),
    row("diag[vector]", "diag", (4,)),
    row("diag[vector_k2]", "diag", (3,), k=2),
    row("diag[vector_k-1]", "diag", (3,), k=-1),
    row("diag[matrix]", "diag", (3, 5)),
    row("diag[matrix_k-1]", "diag", (4, 3), k=-1),
    row("diagonal", "diagonal", (3, 4)),
    row(
        "diagonal[offset_axes]",
        "diagonal",
        (2, 3, 4),
        offset=1,
        axis1=-1,
        axis2=0,
    ),
    row(
        "diagonal[negative_offset]",
        "diagonal",
        (5, 3, 2),
        offset=-2,
        axis1=0,
        axis2=1,
    ),
    case(
        "diagonal[method]",
        lambda x: x.diagonal(1),
        lambda x: x.diagonal(1),
        (3, 4),
    ),
    row("tril", "tril", (3, 4)),
    row("tril[k_batched]", "tril", (2, 4, 3), k=-1),
    row("triu", "triu", (4, 3)),
    row("triu[k2]", "triu", (2, 3, 5), k=2),
    case("eye", times_eye, times_eye, (3, 4)),
    case("identity", plus_identity, plus_identity, (2, 3, 3)),
    row("trace[offset]", "trace", (3, 5), offset=2),
    row("trace[offset_axes]", "trace", (2, 4, 3), offset=-1, axis1=-1, axis2=1),
    case("trace[method]", lambda x: x.trace(1), lambda x: x.trace(1), (4, 3)),
    einsum_case("...j,jk", (2, 3, 4), (4, 5)),
    einsum_case("ij,jk", (2, 3), (3, 4)),
    einsum_case("ba,bc", (3, 2), (3, 4)),
    einsum_case("i...,...->...", (2, 1, 4), (3, 1), static_only=EINSUM_SIZES),
    einsum_case("...ii->...i", (2, 3, 3)),
    einsum_case("ij,ij->i", (3, 4), (1, 4), static_only=STRETCH),
    einsum_case("ijk,kj->i", (2, 3, 4), (4, 1), static_only=EINSUM_SIZES),
    case("einsum[sublists]", einsum_sublists, einsum_sublists, (2, 3, 4), (3, 5)),
]


# -- ga.linalg: decompositions and what is built on them ---------------------------


def orthonormal(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """(..., m, k) with orthonormal columns."""
    q, _ = np.linalg.qr(rng.standard_normal(shape))
    return q


def spd(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """(..., n, n) symmetric positive definite, condition ~3."""
    b = rng.uniform(-0.5, 0.5, shape)
    return b @ np.swapaxes(b, -1, -2) + shape[-1] * np.eye(shape[-1])


def symmetric_spread(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """(..., n, n) symmetric with eigenvalues at least 0.5 apart (eigh is differentiable)."""
    n = shape[-1]
    q = orthonormal(rng, shape)
    w = np.linspace(-2.0, 2.0, n) + rng.uniform(0, 0.1, shape[:-1])
    return (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)


def singular_spread(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """(..., m, n) with singular values in [1, 3], at least 0.4 apart."""
    m, n = shape[-2:]
    k = min(m, n)
    u = orthonormal(rng, (*shape[:-2], m, k))
    v = orthonormal(rng, (*shape[:-2], n, k))
    s = np.linspace(3.0, 1.0, k) + rng.uniform(0, 0.05, (*shape[:-2], k))
    return (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)


def distinct_positive(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """distinct entries, all ≥ 0.5 (|x| has neither a kink nor a tie)."""
    x = distinct(rng, shape)
    return x - x.min() + 0.5


def gauge(v: Any) -> Any:
    """Vectors (columns) with the sign that makes their first entry positive: eigen- and
    singular vectors are only defined up to that sign, which a rule need not match."""
    lib = ga if isinstance(v, ga.Node) else np
    return v * lib.sign(v[..., :1, :])


def linalg_fn(name: str, pick: Any = None, post: Any = None, **kw: Any) -> Callable[..., Any]:
    """``linalg.name(x, **kw)`` in graphad or NumPy, then entry ``pick``, then ``post``."""

    def build(*xs: Any) -> Any:
        lib = ga if isinstance(xs[0], ga.Node) else np
        out = getattr(lib.linalg, name)(*xs, **kw)
        out = out if pick is None else out[pick]
        return out if post is None else post(out)

    return build


def la(
    id: str, name: str, *shapes: Shape, domain: Any, pick: Any = None, post: Any = None, **kw: Any
) -> Case:
    f = linalg_fn(name, pick, post, **kw)
    return case(id, f, f, *shapes, domain=domain)


def svd_row(id: str, shape: Shape, pick: int) -> Case:
    """U (pick 0) or Vh (pick 2) of the reduced SVD, each vector's sign fixed."""

    def rows_gauge(vh: Any) -> Any:
        return transposed(gauge(transposed(vh)))

    post = gauge if pick == 0 else rows_gauge
    return la(id, "svd", shape, domain=singular_spread, pick=pick, post=post, full_matrices=False)


def signed_det(a: Any) -> Any:
    """sign · exp(log|det|) from slogdet: the determinant."""
    if isinstance(a, ga.Node):
        sign, logdet = ga.linalg.slogdet(a)
        return sign * ga.exp(logdet)
    return np.linalg.det(a)


def transposed(x: Any) -> Any:
    return np.swapaxes(x, -1, -2) if isinstance(x, np.ndarray) else ga.matrix_transpose(x)


DECOMPOSITIONS = [
    la("cholesky", "cholesky", (4, 4), domain=spd),
    la("cholesky[batched]", "cholesky", (2, 3, 3), domain=spd),
    la("cholesky[upper]", "cholesky", (3, 3), domain=spd, upper=True),
    la("eigh[values]", "eigh", (4, 4), domain=symmetric_spread, pick=0),
    la("eigh[vectors]", "eigh", (4, 4), domain=symmetric_spread, pick=1, post=gauge),
    la("eigh[batched_vectors]", "eigh", (2, 3, 3), domain=symmetric_spread, pick=1, post=gauge),
    la(
        "eigh[upper_vectors]", "eigh", (3, 3), domain=symmetric_spread, pick=1, post=gauge, UPLO="U"
    ),
    la("eigvalsh", "eigvalsh", (2, 3, 3), domain=symmetric_spread),
    la("svd[S_tall]", "svd", (4, 3), domain=singular_spread, pick=1, full_matrices=False),
    svd_row("svd[U_tall]", (4, 3), 0),
    svd_row("svd[Vh_tall]", (4, 3), 2),
    svd_row("svd[U_wide]", (3, 5), 0),
    svd_row("svd[Vh_wide]", (3, 5), 2),
    la("svd[U_square_batched]", "svd", (2, 3, 3), domain=singular_spread, pick=0, post=gauge),
    la("svdvals", "svdvals", (2, 3, 5), domain=singular_spread),
    la("qr[Q_tall]", "qr", (4, 3), domain=singular_spread, pick=0),
    la("qr[R_tall]", "qr", (4, 3), domain=singular_spread, pick=1),
    la("qr[Q_batched]", "qr", (2, 3, 3), domain=singular_spread, pick=0),
    la("qr[R_batched]", "qr", (2, 3, 3), domain=singular_spread, pick=1),
    la("slogdet[logabsdet]", "slogdet", (3, 3), domain=well_conditioned, pick=1),
    la("slogdet[batched]", "slogdet", (2, 4, 4), domain=well_conditioned, pick=1),
    case(
        "slogdet[sign_times_exp]",
        signed_det,
        signed_det,
        (2, 3, 3),
        domain=well_conditioned,
    ),
    la("pinv[tall]", "pinv", (4, 3), domain=singular_spread),
    la("pinv[wide_batched]", "pinv", (2, 3, 5), domain=singular_spread),
    la("matrix_power[3]", "matrix_power", (3, 3), domain=well_conditioned, n=3),
    la("matrix_power[0]", "matrix_power", (2, 3, 3), domain=well_conditioned, n=0),
    la("matrix_power[-2]", "matrix_power", (3, 3), domain=well_conditioned, n=-2),
    la("norm", "norm", (2, 3, 4), domain=real),
    la("norm[vector_p3]", "norm", (5,), domain=distinct_positive, ord=3),
    la(
        "norm[vector_1_axis-1_keepdims]",
        "norm",
        (3, 4),
        domain=tie_free(),
        ord=1,
        axis=-1,
        keepdims=True,
    ),
    la("norm[vector_inf]", "norm", (3, 4), domain=distinct_positive, ord=np.inf, axis=0),
    la("norm[vector_-inf]", "norm", (4,), domain=distinct_positive, ord=-np.inf),
    la("norm[vector_0]", "norm", (4,), domain=tie_free(), ord=0),
    la("norm[fro_axes]", "norm", (2, 3, 4), domain=real, ord="fro", axis=(2, 0)),
    la("norm[nuc]", "norm", (3, 4), domain=singular_spread, ord="nuc"),
    la("norm[2]", "norm", (4, 3), domain=singular_spread, ord=2),
    la(
        "norm[-2_keepdims]",
        "norm",
        (2, 4, 3),
        domain=singular_spread,
        ord=-2,
        axis=(1, 2),
        keepdims=True,
    ),
    la("norm[1]", "norm", (3, 4), domain=distinct_positive, ord=1),
    la("norm[-1]", "norm", (3, 4), domain=distinct_positive, ord=-1),
    la("norm[inf_axes]", "norm", (3, 2, 4), domain=distinct_positive, ord=np.inf, axis=(-1, 0)),
    la("norm[-inf]", "norm", (3, 4), domain=distinct_positive, ord=-np.inf),
]


# -- nn and utility ------------------------------------------------------------
def np_softmax(a: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def np_log_softmax(a: np.ndarray, axis: int = -1) -> np.ndarray:
    return a - np_logsumexp(a, axis=axis, keepdims=True)


def as_float32(x: Any) -> Any:
    return ga.cast(x, "float32") if isinstance(x, ga.Node) else x.astype(np.float32)


def as_float64(x: Any) -> Any:
    return ga.cast(x, "float64") if isinstance(x, ga.Node) else x.astype(np.float64)


NN = [
    case("softmax", ga.softmax, np_softmax, (3, 4)),
    *(
        case(f"{name}[axis{axis}]", partial(f, axis=axis), partial(ref, axis=axis), (2, 3, 4))
        for name, f, ref in [
            ("softmax", ga.softmax, np_softmax),
            ("log_softmax", ga.log_softmax, np_log_softmax),
        ]
        for axis in (0, 1, -1)
    ),
]

UTILITY = [
    case("zeros_like", ga.zeros_like, np.zeros_like, (3, 4)),
    case("ones_like", ga.ones_like, np.ones_like, (3, 4)),
    case("stop_gradient", ga.stop_gradient, np.asarray, (3, 4), differentiable=False),
    case("cast[64->32]", as_float32, as_float32, (3, 4), domain=dyadic, dyadic=True),
    case(
        "cast[32->64]", as_float64, as_float64, (3, 4), domain=dyadic, dtype="float32", dyadic=True
    ),
]

# -- sparse matrices: made from their stored values (to_sparse), read back as a dense array or
# as their values; to_sparse's own result is sparse, so it is checked through these rows
SPARSE_PATTERN = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [1, 1, 0, 1]], dtype=bool)


def sparse_of(d: Any) -> Any:
    return ga.to_sparse(d, SPARSE_PATTERN)


def np_scattered(d: np.ndarray) -> np.ndarray:
    """The dense matrix of SPARSE_PATTERN whose stored entries, row by row, are d."""
    out = np.zeros(SPARSE_PATTERN.shape, d.dtype)
    out[SPARSE_PATTERN] = d
    return out


SPARSE = [
    case("todense", lambda d: ga.todense(sparse_of(d)), np_scattered, (6,)),
    case(
        "todense[tanh]",
        lambda d: ga.tanh(ga.todense(sparse_of(d * d))),
        lambda d: np.tanh(np_scattered(d * d)),
        (6,),
    ),
    case("sparse_values", lambda d: ga.sparse_values(sparse_of(ga.exp(d))), np.exp, (6,)),
]


# every row above: real inputs
REAL: list[Case] = (
    ELEMENTWISE
    + REDUCTION
    + SHAPE
    + BUILDING
    + SCANS
    + SORTING
    + PRODUCTS
    + INDEXING
    + LINALG
    + DECOMPOSITIONS
    + NN
    + UTILITY
    + SPARSE
)


# -- complex numbers -----------------------------------------------------------
# Complex rows: the real rows' builders on complex128 inputs whose real and imaginary
# parts are both drawn from the row's domain; the checks then move both parts (see
# test_table.py).  Domains keep z off every branch cut: log, sqrt, power (Re z > 0),
# arcsin/arccos/arctanh (|Re z| < 0.9, on whose cuts Im z = 0 and |Re z| > 1), arctan and
# arcsinh (|Im z| < 0.9, on whose cuts Re z = 0 and |Im z| > 1), arccosh (Im z ≥ 1.2, its
# cut being Im z = 0, Re z < 1).
def complex_of(row: Case, domain: Domain | None = None) -> Case:
    """``row`` on complex inputs, its id tagged ``complex``."""
    name, _, tag = row.id.partition("[")
    tags = f"{tag[:-1]},complex" if tag else "complex"
    domains = row.domains if domain is None else (domain,) * len(row.shapes)
    return replace(row, id=f"{name}[{tags}]", dtype="complex128", domains=domains)


def real_of_complex(z: Any) -> Any:
    """A complex array whose imaginary parts are exactly 0 (real_if_close's input)."""
    if isinstance(z, ga.Node):
        return ga.real_if_close(ga.real(z) * (1 + 0j))
    return np.real_if_close(np.real(z) * (1 + 0j))


def angle_degrees(z: Any) -> Any:
    return ga.angle(z, deg=True) if isinstance(z, ga.Node) else np.angle(z, deg=True)


HOLOMORPHIC = [
    "negative",
    "exp",
    "log",
    "log1p",
    "expm1",
    "sqrt",
    "square",
    "sin",
    "cos",
    "tan",
    "sinh",
    "cosh",
    "tanh",
    "log2",
    "log10",
    "exp2",
    "reciprocal",
    "sinc",
    "add[rows_cols]",
    "subtract[scalar]",
    "multiply[rank]",
    "divide[rows_cols]",
    "power[same]",
    "power[cube]",
    "power[sqrt]",
    "matmul[batched]",
    "matmul[1d@2d]",
    "einsum[ij,jk->ik]",
    "sum[axis1]",
    "mean[axes20_keepdims]",
    "prod[axis1]",
    "transpose[axes]",
    "reshape[split_dims]",
    "sigmoid",
    "multiply_no_nan[same]",
    "xdivy[same]",
    "xlogy[rank]",
    "add_n",
    "round",
    "around",
    "nan_to_num",
    "logsumexp[axes02]",
    "swapaxes",
    "matrix_transpose",
    "expand_dims[0]",
    "squeeze[axis]",
    "broadcast_to[rows]",
    "broadcast_like",
    "sum_to[rows]",
    "concatenate[axis0]",
    "stack[axis0]",
    "split[sections]",
    "ravel",
    "flatten[method]",
    "atleast_1d[scalar]",
    "atleast_2d[scalar]",
    "atleast_3d[1d]",
    "vstack[1d]",
    "row_stack",
    "hstack[1d]",
    "dstack",
    "column_stack",
    "append[flat]",
    "repeat[flat]",
    "tile[rank_up]",
    "pad[constant]",
    "roll[flat]",
    "flip[all]",
    "fliplr",
    "flipud",
    "rot90",
    "moveaxis",
    "rollaxis",
    "array_split[uneven]",
    "hsplit",
    "vsplit",
    "dsplit",
    "linspace",
    "select",
    "cumsum[flat]",
    "cumprod[flat]",
    "diff",
    "gradient[1d]",
    "tensordot[int]",
    "inner[vectors]",
    "kron",
    "cross",
    "diag[vector]",
    "diagonal",
    "tril",
    "triu",
    "eye",
    "identity",
    "trace[offset]",
    "getitem[int]",
    "dot[1d]",
    "outer",
    "inv",
    "solve[vector]",
    "det",
    "softmax",
    "log_softmax[axis0]",
    "zeros_like",
    "ones_like",
    "stop_gradient",
    "power[constant_base]",
    "power[negative]",
    "clip[tensor_bounds]",
]
# complex numbers have NumPy's lexicographic order, under which these select an operand
ORDERED = [
    "maximum[same]",
    "minimum[same]",
    "fmax[same]",
    "fmin[same]",
    "clip[scalar_bounds]",
    "max[all]",
    "min[all]",
    "where",
    "relu",
    "sort",
    "sort[axis0]",
    "partition",
    "take_along_axis[argsort]",
]
CUT_FREE = {
    "arccosh": uniform(1.2, 3.0),
    "arcsin": unit,
    "arccos": unit,
    "arctanh": unit,
    "arctan": unit,
    "arcsinh": unit,
}
NON_HOLOMORPHIC = [  # real-valued functions of z: the gradient is ∂f/∂Re z - i·∂f/∂Im z
    "abs",
    "abs[operator]",
    "var[all]",
    "var[axis-1_keepdims]",
    "var[axes02]",
    "var[axis1_ddof1]",
    "var[axis_of_length_1]",
    "std[all]",
    "std[axis1]",
    "std[axes20_keepdims]",
    "std[axes02_keepdims_ddof2]",
    "std[axis_of_length_1]",
    "norm",
    "norm[fro_axes]",
    "norm[vector_p3]",
    "norm[vector_1_axis-1_keepdims]",
    "norm[vector_inf]",
    "norm[1]",
]
_BY_ID = {row.id: row for row in REAL}

PARTS = [
    ("real", ga.real, np.real),
    ("imag", ga.imag, np.imag),
    ("conj", ga.conj, np.conj),
    ("conjugate", ga.conjugate, np.conjugate),
    ("angle", ga.angle, np.angle),
]

COMPLEX = (
    [complex_of(_BY_ID[i]) for i in HOLOMORPHIC + NON_HOLOMORPHIC + ORDERED]
    + [complex_of(_BY_ID[i], d) for i, d in CUT_FREE.items()]
    + [
        case(f"{n}[complex]", f, ref, (3, 4), domain=tie_free(), dtype="complex128")
        for n, f, ref in PARTS
    ]
    # on real inputs: the identity (real, conj), zeros (imag), piecewise constant (angle)
    + [case(n, f, ref, (2, 3, 4), domain=tie_free()) for n, f, ref in PARTS]
    + [
        case(
            "angle[deg,complex]",
            angle_degrees,
            angle_degrees,
            (3, 4),
            domain=tie_free(),
            dtype="complex128",
        ),
        case(
            "real_if_close[complex]", real_of_complex, real_of_complex, (3, 4), dtype="complex128"
        ),
        case("real_if_close", ga.real_if_close, np.real_if_close, (3, 4)),
    ]
)


CASES: list[Case] = REAL + COMPLEX

assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
