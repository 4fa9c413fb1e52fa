"""Matrix decompositions and the functions built on them: cholesky, eigh, eigvalsh,
svd, svdvals, qr, slogdet, pinv, norm, matrix_power (``ga.linalg`` re-exports them).

All take stacks of matrices (..., M, N) as NumPy does.  A decomposition with
several results is one tuple-valued op (the factorisation runs once); the
functions return NumPy's named tuples of its entries.  Each op states its derivative
once, as the standard forward rule (Murray 2016 for Cholesky, Giles 2008 and Townsend
2016 for eigh/SVD, Walter & Lehmann 2018 for QR), built from graphad ops only (matmul,
solve, tril, where), so it differentiates again; the reverse pass transposes that jvp
into the vjp (:class:`~graphad.ops._linear.JvpOnly`).

Where the derivative exists, and nowhere else:

- ``cholesky`` and ``eigh`` read the lower triangle only (``UPLO="U"`` the upper),
  as LAPACK does; their derivatives are with respect to that triangle, so a
  perturbation of the unread triangle has no effect, as on NumPy's values;
- ``eigh`` needs distinct eigenvalues, ``svd`` distinct non-zero singular values
  (the vectors are not differentiable, not even unique, at a repeat); ``svd`` is
  the reduced one (``full_matrices=True`` is refused for non-square input, whose
  extra columns are arbitrary);
- ``qr`` (reduced) needs M ≥ N and R of full rank; ``pinv`` a rank that does
  not change nearby (its cut-off keeps NumPy's ``rcond``).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, overload

import numpy as np

from graphad.ir import (
    DifferentiationError,
    DTypeError,
    Node,
    ShapeError,
    TensorType,
    TupleType,
    as_node,
    constant,
    format_shape,
    known_shape,
)
from graphad.ir.notation import Term, atom, call
from graphad.ops import elementwise as ew
from graphad.ops._batching import OnMatrices
from graphad.ops._constant import ZeroDerivative
from graphad.ops._linear import JvpOnly
from graphad.ops._util import (
    Tangents,
    as_int,
    axes_tuple,
    building,
    known_ndim,
    sole_tangent,
    ufunc_dtype,
)
from graphad.ops.building import moveaxis
from graphad.ops.comparison import equal, logical_or
from graphad.ops.complex_parts import conj, imag, real, real_dtype
from graphad.ops.dims import axis_index, checked
from graphad.ops.linalg import einsum, inv, matmul, solve, square_shape
from graphad.ops.matrices import tril
from graphad.ops.reduction import Sum, max, min, prod, sum
from graphad.ops.scan import cumsum
from graphad.ops.shape import expand_dims, matrix_transpose, squeeze
from graphad.ops.structure import get, make_tuple
from graphad.ops.utility import cast, ones_like, zeros_like

mT = matrix_transpose


class EighResult(NamedTuple):
    eigenvalues: Node
    eigenvectors: Node


class SVDResult(NamedTuple):
    U: Node
    S: Node
    Vh: Node


class QRResult(NamedTuple):
    Q: Node
    R: Node


class SlogdetResult(NamedTuple):
    sign: Node
    logabsdet: Node


def _matrices(
    a: TensorType, square: bool = False, complex: bool = False
) -> tuple[int | None, int | None]:
    """The (M, N) of a (..., M, N) stack, None where unknown until run time (then checked
    with the fed shapes, before any kernel runs, as every shape rule is); complex matrices
    only where the caller takes them."""
    shape = known_shape(a)
    if len(shape) < 2:
        raise ShapeError(f"expected a (..., M, N) stack of matrices, got {format_shape(a.shape)}")
    if a.dtype.kind == "c" and not complex:  # the rules transpose where complex ones conjugate
        raise DTypeError("complex matrices are not supported yet")
    m, n = shape[-2:]
    if square and m is not None and n is not None and m != n:
        raise ShapeError(f"matrices must be square, got {m}x{n}")
    return m, n


def _unfinished(a: np.ndarray) -> np.ndarray:
    """Which matrices of the stack hold an inf or a NaN, (..., M, N) -> (...)."""
    return ~np.isfinite(a).all(axis=(-2, -1))


def _svd(a: np.ndarray, full_matrices: bool = False) -> tuple[np.ndarray, ...]:
    """np.linalg.svd, but a matrix holding inf or NaN gets NaN factors: LAPACK's divide and
    conquer (gesdd) never returns on an infinite entry (OpenBLAS loops) and fails on a NaN
    one, where eigh and svdvals give NaN."""
    bad = _unfinished(a)
    if not bad.any():
        return tuple(np.linalg.svd(a, full_matrices=full_matrices))
    factors = np.linalg.svd(np.where(bad[..., None, None], 0, a), full_matrices=full_matrices)
    return tuple(
        np.where(np.reshape(bad, bad.shape + (1,) * (f.ndim - bad.ndim)), np.nan, f)
        for f in factors
    )


def _smaller(m: int | None, n: int | None) -> int | None:
    """K = min(M, N), when both are known."""
    return None if m is None or n is None else builtins.min(m, n)


def _float(a: TensorType) -> np.dtype:
    return ufunc_dtype(np.sqrt, a.dtype)


def _eye(x: Node) -> Node:
    """The (n, n) identity mask of x's last axis, of its run-time length if unknown."""
    n = known_shape(x)[-1]
    if n is not None:
        return constant(np.eye(n, dtype=bool))
    positions = axis_index(x, -1, "range")
    return equal(expand_dims(positions, -1), expand_dims(positions, -2))


def _diag_part(x: Node) -> Node:
    """(..., n, n) -> (..., n)"""
    return einsum("...ii->...i", x)


def _gaps(w: Node) -> Node:
    """F with F[i, j] = 1 / (w[j] - w[i]) off the diagonal and 0 on it."""
    eye = _eye(w)
    d = expand_dims(w, -2) - expand_dims(w, -1)
    return ew.Where()(eye, zeros_like(d), 1.0 / ew.Where()(eye, ones_like(d), d))


def _symmetric_tangent(t: Node) -> Node:
    """The symmetric matrix whose lower triangle is t's: what a reader of it sees."""
    return tril(t) + mT(tril(t, -1))


def _right_solve(x: Node, r: Node) -> Node:
    """x·r⁻¹"""
    return mT(solve(mT(r), mT(x)))


# -- cholesky -------------------------------------------------------------------------
@dataclass(frozen=True)
class Cholesky(JvpOnly, OnMatrices):
    """np.linalg.cholesky: lower L with L·Lᵀ = A, from A's lower triangle."""

    def infer(self, a: TensorType) -> TensorType:
        _matrices(a, square=True)
        return TensorType(a.shape, _float(a))

    def compute(self, a: np.ndarray) -> np.ndarray:
        return np.linalg.cholesky(a)

    @staticmethod
    def _phi(x: Node, like: Node) -> Node:
        """Φ(X): the lower triangle of X with its diagonal halved (X of ``like``'s shape)"""
        return ew.Where()(_eye(like), 0.5 * x, tril(x))

    def jvp(self, node: Node, t: Tangents) -> Node:
        """L̇ = L·Φ(L⁻¹·Ȧₛ·L⁻ᵀ)"""
        x = solve(node, mT(solve(node, _symmetric_tangent(sole_tangent(t)))))
        return matmul(node, self._phi(x, node))


def cholesky(a: Any, /, *, upper: bool = False) -> Node:
    """np.linalg.cholesky: (..., M, M) -> lower L (upper Lᵀ with ``upper``), reading
    the lower triangle of A."""
    out = Cholesky()(as_node(a))
    return mT(out) if upper else out


# -- eigh -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Eigh(JvpOnly, OnMatrices):
    """np.linalg.eigh from the lower triangle: (w ascending, V with A·V = V·diag(w))."""

    def infer(self, a: TensorType) -> TupleType:
        _matrices(a, square=True)
        shape, dtype = known_shape(a), _float(a)
        return TupleType((TensorType(shape[:-1], dtype), TensorType(shape, dtype)))

    def compute(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w, v = np.linalg.eigh(a)
        return w, v

    def jvp(self, node: Node, t: Tangents) -> Node:
        """K = Vᵀ·Ȧₛ·V; ẇ = diag(K), V̇ = V·(F∘K), F = 1/(wⱼ - wᵢ) off the diagonal"""
        w, v = get(node, 0), get(node, 1)
        k = matmul(mT(v), matmul(_symmetric_tangent(sole_tangent(t)), v))
        return make_tuple(_diag_part(k), matmul(v, _gaps(w) * k))


def _hermitian_input(a: Any, UPLO: str) -> Node:
    a = as_node(a)
    if UPLO not in ("L", "U"):
        raise ShapeError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    return mT(a) if UPLO == "U" else a


def eigh(a: Any, UPLO: str = "L") -> EighResult:
    """np.linalg.eigh: (eigenvalues (..., M) ascending, eigenvectors (..., M, M)) of the
    symmetric matrix A's ``UPLO`` triangle; differentiable at distinct eigenvalues."""
    node = Eigh()(_hermitian_input(a, UPLO))
    return EighResult(get(node, 0), get(node, 1))


def eigvalsh(a: Any, UPLO: str = "L") -> Node:
    """np.linalg.eigvalsh: the eigenvalues of eigh (their derivative needs the vectors)."""
    return eigh(a, UPLO).eigenvalues


# -- svd ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Svd(JvpOnly, OnMatrices):
    """np.linalg.svd(full_matrices=False): (U (..., M, K), S (..., K), Vh (..., K, N))."""

    def infer(self, a: TensorType) -> TupleType:
        m, n = _matrices(a, complex=True)  # the values: svd() refuses complex a for users
        k, batch, dtype = _smaller(m, n), known_shape(a)[:-2], _float(a)
        return TupleType(
            (
                TensorType((*batch, m, k), dtype),
                TensorType((*batch, k), real_dtype(dtype)),
                TensorType((*batch, k, n), dtype),
            )
        )

    def compute(self, a: np.ndarray) -> tuple[np.ndarray, ...]:
        u, s, vh = _svd(a)
        return u, s, vh

    def jvp(self, node: Node, t: Tangents) -> Node:
        """P = Uᵀ·Ȧ·V; ṡ = diag(P); U̇ = U·(F∘(P·S + S·Pᵀ)) + (I - U·Uᵀ)·Ȧ·V·S⁻¹;
        V̇ = V·(F∘(S·P + Pᵀ·S)) + (I - V·Vᵀ)·Ȧᵀ·U·S⁻¹, F = 1/(sⱼ² - sᵢ²) off the diagonal.
        Uᵀ·Ȧ·V is P and Vᵀ·Ȧᵀ·U is Pᵀ, so U̇ = U·(F∘(P·S + S·Pᵀ) - P·S⁻¹) + Ȧ·V·S⁻¹ (and V̇
        likewise): five matrix products, each computed once by the transpose (the vjp) too;
        S⁻¹ is one reciprocal of s, so both modes scale by products, not divisions"""
        if node.inputs[0].dtype.kind == "c":  # taken by adjugate's rule, at one order more
            raise DifferentiationError("svd: the derivative of a complex SVD is not supported")
        u, s, vh = get(node, 0), get(node, 1), get(node, 2)
        v, da = mT(vh), sole_tangent(t)
        f = _gaps(s * s)
        rows, cols = expand_dims(s, -1), expand_dims(s, -2)  # S·X scales rows, X·S columns
        inv_cols = 1.0 / cols
        av, atu = matmul(da, v), matmul(mT(da), u)
        p = matmul(mT(u), av)
        pt = mT(p)
        du = matmul(u, f * (p * cols + rows * pt) - p * inv_cols) + av * inv_cols
        dv = matmul(v, f * (rows * p + pt * cols) - pt * inv_cols) + atu * inv_cols
        return make_tuple(du, _diag_part(p), mT(dv))


@overload
def svd(
    a: Any, full_matrices: bool = ..., compute_uv: Literal[True] = ..., hermitian: bool = ...
) -> SVDResult: ...
@overload
def svd(
    a: Any, full_matrices: bool = ..., *, compute_uv: Literal[False], hermitian: bool = ...
) -> Node: ...
@overload
def svd(
    a: Any, full_matrices: bool = ..., compute_uv: bool = ..., hermitian: bool = ...
) -> SVDResult | Node: ...
def svd(
    a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False
) -> SVDResult | Node:
    """np.linalg.svd: (U (..., M, K), S (..., K) descending, Vh (..., K, N)), K = min(M, N);
    the singular values alone with ``compute_uv=False``.  Differentiable at distinct
    non-zero singular values."""
    a = as_node(a)
    with building("svd", a):
        m, n = _matrices(a.type)
        full = (
            "full_matrices=True pads U or Vh with arbitrary orthonormal columns, which "
            "have no derivative; pass full_matrices=False"
        )
        if compute_uv and full_matrices:
            if m is not None and n is not None and m != n:
                raise ShapeError(full)
            a = checked(a, -1, f"svd: {full}", equal_axis=-2)  # square, when values arrive
    node = Svd()(a)
    if not compute_uv:
        return get(node, 1)
    return SVDResult(get(node, 0), get(node, 1), get(node, 2))


def svdvals(x: Any, /) -> Node:
    """np.linalg.svdvals: the singular values (..., K), descending."""
    return svd(x, compute_uv=False)


# -- qr -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Qr(JvpOnly, OnMatrices):
    """np.linalg.qr(mode="reduced"): (Q (..., M, K), R (..., K, N))."""

    def infer(self, a: TensorType) -> TupleType:
        m, n = _matrices(a)
        k, batch, dtype = _smaller(m, n), known_shape(a)[:-2], _float(a)
        return TupleType((TensorType((*batch, m, k), dtype), TensorType((*batch, k, n), dtype)))

    def compute(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q, r = np.linalg.qr(a)
        return q, r

    @staticmethod
    def _tall(node: Node, t: Node) -> Node:
        """The tangent, once A is known to have M ≥ N: now, or when values arrive."""
        m, n = known_shape(node.inputs[0])[-2:]
        if m is not None and n is not None and m < n:
            raise DifferentiationError(f"qr: derivatives need M ≥ N, got {m}x{n}")
        return checked(t, -2, "qr: derivatives need M ≥ N", at_least_axis=-1)

    def jvp(self, node: Node, t: Tangents) -> Node:
        """X = Qᵀ·Ȧ·R⁻¹, Ω = X₋ - X₋ᵀ (X₋ strictly lower); Ṙ = (X - Ω)·R,
        Q̇ = Q·Ω + Ȧ·R⁻¹ - Q·X = Ȧ·R⁻¹ - Q·(X - Ω)"""
        da = self._tall(node, sole_tangent(t))
        q, r = get(node, 0), get(node, 1)
        ar = _right_solve(da, r)
        x = matmul(mT(q), ar)
        lower = tril(x, -1)
        rotated = x - (lower - mT(lower))
        return make_tuple(ar - matmul(q, rotated), matmul(rotated, r))


def qr(a: Any, mode: str = "reduced") -> QRResult:
    """np.linalg.qr(mode="reduced"): Q (..., M, K) with orthonormal columns, upper R (..., K, N)."""
    a = as_node(a)
    with building("qr", a):
        if mode != "reduced":
            raise ShapeError(f"only mode='reduced' is supported, got {mode!r}")
    node = Qr()(a)
    return QRResult(get(node, 0), get(node, 1))


# -- det and the adjugate -------------------------------------------------------------
def _products_but_one(s: np.ndarray) -> np.ndarray:
    """pᵢ = Πⱼ≠ᵢ sⱼ along the last axis, by products before and after i (no division, so
    exact where some sⱼ is 0)."""
    ones = np.ones_like(s[..., :1])
    before = np.cumprod(np.concatenate([ones, s[..., :-1]], -1), -1)
    after = np.cumprod(np.concatenate([ones, s[..., :0:-1]], -1), -1)[..., ::-1]
    return before * after


def _but_two(s: Node, k: Node, on_diagonal: Node) -> Node:
    """Q with Qᵢⱼ = Πₘ∉{i,j} sₘ off the diagonal and 0 on it, (..., n) -> (..., n, n), from
    k = 1, 2, …, n (built from s's run-time shape: the masks fold to constants where the
    shape is static)."""
    i, j, m = expand_dims(k, (-1, -2)), expand_dims(k, (-3, -1)), expand_dims(k, (-3, -2))
    left_out = logical_or(equal(m, i), equal(m, j))
    q = prod(ew.Where()(left_out, ones_like(m), expand_dims(s, (-3, -2))), axis=-1)
    return ew.Where()(on_diagonal, zeros_like(q), q)


@dataclass(frozen=True)
class Adjugate(JvpOnly, OnMatrices):
    """adj(A), the transposed cofactor matrix, over a stack of square matrices: det(A)·A⁻¹
    where A is invertible, and defined (a polynomial in A's entries) where it is not.

    From the SVD A = U·S·Vᴴ: adj(A) = adj(Vᴴ)·adj(S)·adj(U) = c·V·diag(p)·Uᴴ, c = det(U)·
    det(Vᴴ) (of modulus 1), pᵢ = Πⱼ≠ᵢ sⱼ: no inverse, no division, exact at rank n - 1
    (one sⱼ is 0: adj has rank 1) and rank ≤ n - 2 (adj is 0)."""

    def infer(self, a: TensorType) -> TensorType:
        square_shape(a)
        return TensorType(a.shape, _float(a))

    def compute(self, a: np.ndarray) -> np.ndarray:
        u, s, vh = _svd(a, full_matrices=True)
        c = np.linalg.det(u) * np.linalg.det(vh)
        v, uh = np.conj(np.swapaxes(vh, -1, -2)), np.conj(np.swapaxes(u, -1, -2))
        p = _products_but_one(s)
        adj = c[..., None, None] * ((v * p[..., None, :]) @ uh)
        return np.asarray(adj, dtype=ufunc_dtype(np.sqrt, a.dtype))

    def jvp(self, node: Node, t: Tangents) -> Node:
        """adj(A + Ȧ) = c·V·adj(S + F)·Uᴴ with F = Uᴴ·Ȧ·V, and to first order adj(S + F) -
        adj(S) = diag(Q·diag F) - Q∘F, Qᵢⱼ = Πₖ∉{i,j} sₖ (0 on the diagonal): the
        derivative at every A, singular ones too, from products of singular values"""
        u, s, vh = (get(Svd()(node.inputs[0]), i) for i in range(3))
        uh, v = _adjoint(u), _adjoint(vh)
        c = expand_dims(Det()(u) * Det()(vh), (-2, -1))
        f = matmul(uh, matmul(t[0], v))
        k = cumsum(ones_like(s), axis=-1)  # 1, 2, …, n
        on_diagonal = equal(expand_dims(k, -1), expand_dims(k, -2))
        q = _but_two(s, k, on_diagonal)
        diagonal = sum(q * expand_dims(sum(ew.Where()(on_diagonal, f, zeros_like(f)), -1), -2), -1)
        change = ew.Where()(on_diagonal, expand_dims(diagonal, -1), -(q * f))
        return c * matmul(v, matmul(change, uh))


def _adjoint(x: Node) -> Node:
    """xᴴ, the conjugate transpose (xᵀ for real x)."""
    return conj(mT(x)) if x.dtype.kind == "c" else mT(x)


def adjugate(a: Any) -> Node:
    """adj(A) of a (..., M, M) stack: det(A)·A⁻¹ where A is invertible, and defined where it
    is not (det's derivative: ∂det/∂A = adj(A)ᵀ)."""
    return Adjugate()(as_node(a))


@dataclass(frozen=True)
class Det(JvpOnly, OnMatrices):
    """np.linalg.det over a stack of square matrices."""

    def infer(self, a: TensorType) -> TensorType:
        return TensorType(square_shape(a)[:-2], _float(a))

    def compute(self, a: np.ndarray) -> np.ndarray:
        return np.asarray(np.linalg.det(a))

    def jvp(self, node: Node, t: Tangents) -> Node:
        """ḋ = tr(adj(A)·Ȧ) (Jacobi's formula with the adjugate, which exists where A⁻¹ does
        not: at a singular A too)"""
        return Sum((-2, -1))(ew.chain(sole_tangent(t), mT(Adjugate()(node.inputs[0]))))


def det(a: Any) -> Node:
    """Determinant of a (..., M, M) stack of matrices, shape (...); differentiable
    everywhere (its gradient is the adjugate's transpose, singular matrices included)."""
    return Det()(as_node(a))


# -- slogdet --------------------------------------------------------------------------
@dataclass(frozen=True)
class LogAbsDet(JvpOnly, OnMatrices):
    """log|det A| over a stack of square matrices."""

    def notation(self, args: Sequence[Term]) -> Term:
        """slogdet(a)[1], the name NumPy gives it"""
        return atom(call("slogdet", args).text + "[1]")

    def infer(self, a: TensorType) -> TensorType:
        if a.dtype.kind == "c":  # d log|det| = Re tr(A⁻¹·dA) there: not this rule
            raise DTypeError("complex matrices are not supported yet")
        return Det().infer(a)

    def compute(self, a: np.ndarray) -> np.ndarray:
        return np.asarray(np.linalg.slogdet(a)[1])

    def jvp(self, node: Node, t: Tangents) -> Node:
        """ẏ = tr(A⁻¹·Ȧ)"""
        return Sum((-2, -1))(ew.chain(sole_tangent(t), mT(inv(node.inputs[0]))))


@dataclass(frozen=True)
class DetSign(ZeroDerivative, OnMatrices):
    """The sign of det A (-1, 0 or 1): piecewise constant, no derivative flows."""

    def notation(self, args: Sequence[Term]) -> Term:
        """slogdet(a)[0], the name NumPy gives it"""
        return atom(call("slogdet", args).text + "[0]")

    def infer(self, a: TensorType) -> TensorType:
        return Det().infer(a)

    def compute(self, a: np.ndarray) -> np.ndarray:
        return np.asarray(np.linalg.slogdet(a)[0])


def slogdet(a: Any) -> SlogdetResult:
    """np.linalg.slogdet: (sign (...), log|det| (...)) of a (..., M, M) stack."""
    a = as_node(a)
    return SlogdetResult(DetSign()(a), LogAbsDet()(a))


# -- pinv -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Pinv(JvpOnly, OnMatrices):
    """np.linalg.pinv(a, rcond): the Moore-Penrose inverse (..., N, M)."""

    rcond: float | None = None

    def infer(self, a: TensorType) -> TensorType:
        m, n = _matrices(a)
        return TensorType((*known_shape(a)[:-2], n, m), _float(a))

    def compute(self, a: np.ndarray) -> np.ndarray:
        bad = _unfinished(a)  # NaN, where NumPy's SVD would never return (see _svd)
        safe = np.where(bad[..., None, None], 0, a) if bad.any() else a
        p = np.linalg.pinv(safe) if self.rcond is None else np.linalg.pinv(safe, self.rcond)
        return np.where(bad[..., None, None], np.nan, p) if bad.any() else p

    def jvp(self, node: Node, t: Tangents) -> Node:
        """Ṗ = -P·Ȧ·P + P·Pᵀ·Ȧᵀ·(I - A·P) + (I - P·A)·Ȧᵀ·Pᵀ·P"""
        a, p, da = node.inputs[0], node, sole_tangent(t)
        pt_p, dat = matmul(mT(p), p), mT(da)
        dat_left = matmul(dat, pt_p)
        return (
            -matmul(p, matmul(da, p))
            + matmul(matmul(p, mT(p)), dat - matmul(matmul(dat, a), p))
            + dat_left
            - matmul(p, matmul(a, dat_left))
        )


def pinv(a: Any, rcond: float | None = None, hermitian: bool = False, *, rtol: Any = None) -> Node:
    """np.linalg.pinv: (..., M, N) -> (..., N, M); singular values below
    ``rcond``·max(s) count as zero.  Differentiable where the rank does not change."""
    cut = rcond if rtol is None else rtol
    return Pinv(None if cut is None else float(cut))(as_node(a))


# -- built from the ops above -----------------------------------------------------------
def matrix_power(a: Any, n: int) -> Node:
    """np.linalg.matrix_power: A·A·…·A (n times) by repeated squaring; A⁻¹ for n < 0,
    the identity for n = 0."""
    a = as_node(a)
    with building("matrix_power", a):
        n = as_int(n, "n")
        _matrices(a.type, square=True)
    if n == 0:
        return ew.Where()(_eye(a), ones_like(a), zeros_like(a))
    base = inv(a) if n < 0 else a
    result, k = None, abs(n)
    while k:
        if k & 1:
            result = base if result is None else matmul(result, base)
        k >>= 1
        if k:
            base = matmul(base, base)
    assert result is not None  # n != 0: k had a bit set
    return result


def _abs_squared(x: Node) -> Node:
    """|x|², smooth for complex x too: Re² + Im²"""
    if x.dtype.kind == "c":
        return ew.square(real(x)) + ew.square(imag(x))
    return ew.square(x)


def _vector_norm(x: Node, ord: Any, axis: Any, keepdims: bool) -> Node:
    if ord is None or ord == 2:
        return ew.sqrt(sum(_abs_squared(x), axis, keepdims))
    if ord == np.inf:
        return max(ew.abs(x), axis, keepdims)
    if ord == -np.inf:
        return min(ew.abs(x), axis, keepdims)
    if ord == 0:
        return sum(cast(ew.sign(ew.abs(x)), x.dtype), axis, keepdims)  # how many are non-zero
    if ord == 1:
        return sum(ew.abs(x), axis, keepdims)
    if isinstance(ord, str):
        raise ShapeError(f"ord {ord!r} is a matrix norm; vectors take numbers")
    p = float(ord)
    return sum(ew.abs(x) ** p, axis, keepdims) ** (1.0 / p)


def _matrix_norm(x: Node, ord: Any, rows: int, cols: int, keepdims: bool) -> Node:
    if ord in (None, "fro"):
        out = ew.sqrt(sum(_abs_squared(x), (rows, cols), True))
    elif ord in (1, -1):
        col_sums = sum(ew.abs(x), rows, True)
        out = (max if ord == 1 else min)(col_sums, cols, True)
    elif ord in (np.inf, -np.inf):
        row_sums = sum(ew.abs(x), cols, True)
        out = (max if ord == np.inf else min)(row_sums, rows, True)
    elif ord in (2, -2, "nuc"):
        s = svdvals(moveaxis(x, (rows, cols), (-2, -1)))
        s = sum(s, -1) if ord == "nuc" else (max if ord == 2 else min)(s, -1)
        out = expand_dims(s, (rows, cols))
    else:
        raise ShapeError(f"invalid matrix norm order {ord!r}")
    return out if keepdims else squeeze(out, (rows, cols))


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Node:
    """np.linalg.norm: a vector norm over one axis (``ord`` a number, ±inf, 0) or a
    matrix norm over two ('fro', 'nuc', ±1, ±2, ±inf); with neither ``ord`` nor
    ``axis``, the 2-norm of all entries.  The 2-norm has no derivative at 0."""
    x = as_node(x)
    with building("linalg.norm", x):
        ndim = known_ndim(x.type)
        if axis is None:
            if ord is None:
                return _vector_norm(x, None, None, keepdims)
            if ndim not in (1, 2):
                raise ShapeError("an order needs a 1-D or 2-D input, or an axis")
            axis = (0,) if ndim == 1 else (0, 1)
        axes = axes_tuple(axis)  # ints only: a float or a string is an AxisError
        axes = (axes,) if isinstance(axes, int) else axes
        axes = tuple(as_int(a, "axis") % ndim if -ndim <= a < ndim else a for a in axes)
        if any(not 0 <= a < ndim for a in axes) or len(set(axes)) != len(axes):
            raise ShapeError(f"axis {axis!r} is out of range or repeated for rank {ndim}")
        if len(axes) == 1:
            return _vector_norm(x, ord, axes[0], keepdims)
        if len(axes) == 2:
            return _matrix_norm(x, ord, axes[0], axes[1], keepdims)
        raise ShapeError(f"a norm takes one or two axes, got {axis!r}")
