"""Linear algebra: matmul, einsum, inv, solve, and dot/outer/trace on top.

Shapes follow NumPy 2: matmul promotes 1-D operands and broadcasts batch
dims; ``solve(a, b)`` treats ``b`` as a vector exactly when it is 1-D.
The ``Einsum`` op takes explicit subscripts whose dims agree; ``einsum``
rewrites NumPy's other notations into that form.

matmul and einsum are multilinear; inv and solve state their derivative once, as a
jvp (:class:`~graphad.ops._linear.JvpOnly`), whose transpose the reverse pass builds:
Ā = -Yᵀ·g·Yᵀ for inv, b̄ = A⁻ᵀ·g and Ā = -b̄·Xᵀ for solve.  ``det``, whose derivative is
the adjugate (which exists where A⁻¹ does not), is with the decompositions it is built on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphad.ir import (
    Constant,
    Dims,
    Node,
    Op,
    ShapeError,
    TensorType,
    ValueType,
    as_dtype,
    as_node,
    as_nodes,
    broadcast_shapes,
    constant,
    format_shape,
    is_differentiable,
    is_static,
    known_shape,
    normalize_axes,
)
from graphad.ir.dependence import (
    Dependences,
    Detect,
    Product,
    entry_count,
    known_value,
    numbering,
    static_shape,
)
from graphad.ir.native import SMALL_DOT, Call
from graphad.ir.notation import Term, atom, call
from graphad.ops import elementwise as ew
from graphad.ops._batching import OnMatrices, rank
from graphad.ops._buffers import empty
from graphad.ops._kernels import blas_ready
from graphad.ops._linear import JvpOnly, Multilinear
from graphad.ops._util import (
    Tangents,
    as_array,
    as_int,
    building,
    known_ndim,
    sole_tangent,
    ufunc_dtype,
)
from graphad.ops.comparison import equal
from graphad.ops.dims import axis_index, broadcast_to_dims, dim
from graphad.ops.einsum_spec import explicit
from graphad.ops.indexing import getitem
from graphad.ops.matrices import diagonal
from graphad.ops.reduction import Sum
from graphad.ops.shape import (
    ExpandDims,
    lift,
    matrix_transpose,
    reshape,
    squeeze,
)
from graphad.ops.utility import cast


def square_shape(a: TensorType) -> Dims:
    """The shape of ``a``, a (..., M, M) stack of square matrices, or a ShapeError."""
    shape = known_shape(a)
    if len(shape) < 2:
        raise ShapeError(f"expected a (..., M, M) stack of matrices, got {format_shape(a.shape)}")
    m, n = shape[-2:]
    if m is not None and n is not None and m != n:
        raise ShapeError(f"matrices must be square, got {m}x{n}")
    return shape


@dataclass(frozen=True)
class MatMul(Multilinear):
    """a @ b with NumPy's rules for 1-D and batched operands."""

    name = "matmul"
    operator = "@"

    def describe(self, types: Sequence[ValueType]) -> str:
        tensors = [t for t in types if isinstance(t, TensorType)]
        if len(tensors) < len(types):
            return super().describe(types)
        return "matmul: " + " @ ".join(format_shape(t.shape) for t in tensors)

    def infer(self, a: TensorType, b: TensorType) -> TensorType:
        sa, sb = known_shape(a), known_shape(b)
        na, nb = len(sa), len(sb)
        if na == 0 or nb == 0:
            raise ShapeError("matmul does not take scalars (use multiply)")
        ka, kb = sa[-1], sb[-2 if nb > 1 else 0]
        if ka is not None and kb is not None and ka != kb:
            raise ShapeError(f"inner dimensions {ka} and {kb} differ")
        batch = broadcast_shapes(sa[:-2], sb[:-2])
        rows = sa[-2:-1] if na > 1 else ()
        cols = sb[-1:] if nb > 1 else ()
        return TensorType(batch + rows + cols, ufunc_dtype(np.matmul, a.dtype, b.dtype))

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = blas_ready(a, b)
        if type(a) is np.ndarray and type(b) is np.ndarray and a.ndim >= 2 and b.ndim >= 2:
            shape = (*np.broadcast_shapes(a.shape[:-2], b.shape[:-2]), a.shape[-2], b.shape[-1])
            out = empty(shape, np.result_type(a, b), layout="C")  # the run's pool, for BLAS
            return np.matmul(a, b, out=out)
        return np.matmul(a, b)

    def native(self, node: Node) -> Call | None:
        """np.dot (BLAS) of vectors and matrices of one float dtype"""
        a, b = node.inputs
        if not (0 < (a.ndim or 3) <= 2 and 0 < (b.ndim or 3) <= 2):
            return None
        if a.dtype != b.dtype or a.dtype.kind != "f":
            return None
        # sizes known large: BLAS's call alone, without the loops that np.dot compiles for
        # small products (each use of them costs numba about 0.15 s to compile: W1 has five)
        dims = [*(a.shape or (None,)), *(b.shape or (None,))[1:]]  # m, k, n: k is a's last
        sizes = [d for d in dims if d is not None]
        k = (a.shape or (None,))[-1]
        if k and len(sizes) == len(dims) and math.prod(sizes) > SMALL_DOT:
            return Call("np.blas_dot({0}, {1}, None)", into="np.blas_dot({0}, {1}, {out})")
        return Call("np.dot({0}, {1})", into="np.dot({0}, {1}, {out})")

    def code(self, node: Node, args: Sequence[str], kernel: str) -> str:
        """a @ b"""
        return f"({args[0]} @ {args[1]})"

    def transpose(self, node: Node, g: Node, k: int) -> Node:
        """ā = g·bᵀ, b̄ = aᵀ·g (1-D operands promoted, then squeezed back)"""
        a, b = node.inputs
        a1, b1 = a.ndim == 1, b.ndim == 1
        a2 = ExpandDims((0,))(a) if a1 else a
        b2 = ExpandDims((1,))(b) if b1 else b
        rank = known_ndim(node) + a1 + b1
        inserted = ((rank - 2,) if a1 else ()) + ((rank - 1,) if b1 else ())
        g2 = ExpandDims(inserted)(g) if inserted else g
        if k == 0:
            ga = matmul(g2, matrix_transpose(b2))
            return squeeze(ga, -2) if a1 else ga
        gb = matmul(matrix_transpose(a2), g2)
        return squeeze(gb, -1) if b1 else gb

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """out[…, i, j] on a[…, i, :] and b[…, :, j], except where the other operand is a
        constant zero; over the grid (…, i, k, j), 1-D operands promoted"""
        a, b = node.inputs

        def grid(x: Node, values: np.ndarray, first: bool) -> np.ndarray:
            if x.ndim == 1:  # a vector a is one row, a vector b one column
                values = values[None, :] if first else values[:, None]
            return values[..., None] if first else values[..., None, :, :]

        sa, sb, shape = static_shape(a.type), static_shape(b.type), static_shape(node.type)
        rows = sa[-2] if len(sa) > 1 else 1
        cols = sb[-1] if len(sb) > 1 else 1
        batch = shape[: len(shape) - (len(sa) > 1) - (len(sb) > 1)]
        out = numbering(node.type).reshape((*batch, rows, 1, cols))
        deps: list[Product | None] = []
        for k, (x, other) in enumerate(((a, b), (b, a))):
            zeros = known_value(other)
            mask = None if zeros is None else grid(other, zeros != 0, k == 1)
            size = (entry_count(node.type), entry_count(x.type))
            product = Product(out, grid(x, numbering(x.type), k == 0), size, mask)
            deps.append(product if is_differentiable(x.type) else None)
        return tuple(deps)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """A batch against one matrix is one matrix product, the batch folded into the rows
        (of bᵀ when b is batched); otherwise 1-D operands are promoted to matrices and the
        batch axis lined up in front of the stack dims."""
        a, b = node.inputs
        if not batched[1] and b.ndim == 2:
            return _fold_rows(xs[0], xs[1], a.ndim == 1)
        if not batched[0] and a.ndim == 2:
            bt = xs[1] if b.ndim == 1 else matrix_transpose(xs[1])
            out = _fold_rows(bt, matrix_transpose(xs[0]), b.ndim == 1)  # a·b = (bᵀ·aᵀ)ᵀ
            return out if b.ndim == 1 else matrix_transpose(out)
        return _batch_matrices(self, node, xs, batched, a.ndim == 1, b.ndim == 1)


def _is_identity(x: Node) -> bool:
    """x is a constant identity matrix."""
    op, shape = x.op, x.shape
    if not isinstance(op, Constant) or shape is None or len(shape) != 2 or shape[0] != shape[1]:
        return False
    value = op.value
    return bool(np.array_equal(value, np.eye(len(value), dtype=value.dtype)))


def _fold_rows(a: Node, b: Node, vector: bool) -> Node:
    """a @ b for a batch a of shape (B, ..., k) (of vectors when ``vector``) and a matrix b:
    every leading dim of a is folded into the rows of one (rows, k) @ (k, m) product.
    A batch that is the identity (the basis a Jacobian pushes through) selects b's rows:
    I @ b = b, with the basis's zeros strong, as a zero tangent's are (an inf in b stays
    in its own row instead of making NaN of the others, 0·inf)."""
    shape = known_shape(a)
    if _is_identity(a) and a.dtype == b.dtype and shape[-1] == known_shape(b)[0]:
        return b
    if vector or len(shape) == 2 or not is_static(shape):
        return matmul(a, b)  # (B, k) @ (k, m) is one product already
    lead = shape[:-1]
    rows = int(np.prod(lead))
    cols = known_shape(b)[-1]  # unknown until run time: -1 (a batch of none needs it known)
    return reshape(matmul(reshape(a, (rows, shape[-1])), b), (*lead, -1 if cols is None else cols))


def _batch_matrices(
    op: Op, node: Node, xs: Sequence[Node], batched: Sequence[bool], a1: bool, b1: bool
) -> Node:
    """op on a batch of stacks of matrices: a vector a (b) made a one-row (one-column)
    matrix, each batched operand lifted so its batch axis lines up in front of the stack
    dims of the result, then the vector dims squeezed out again."""
    a, b = xs
    a = ExpandDims((-2,))(a) if a1 else a
    b = ExpandDims((-1,))(b) if b1 else b
    stack = rank(node) - (not a1) - (not b1)  # the result's stack dims
    a, b = (lift(x, stack + 2) if flag else x for x, flag in zip((a, b), batched))
    vector_dims = ((-2,) if a1 else ()) + ((-1,) if b1 else ())
    return squeeze(op(a, b), vector_dims) if vector_dims else op(a, b)


def _parse(subscripts: str, n: int) -> tuple[list[str], str]:
    spec = subscripts.replace(" ", "")
    if "->" not in spec or "." in spec:
        raise ShapeError(
            f"einsum needs explicit subscripts 'ij,jk->ik' without '...', got {subscripts!r}"
        )
    lhs, out = spec.split("->")
    ins = lhs.split(",")
    if len(ins) != n:
        raise ShapeError(f"{subscripts!r} names {len(ins)} operands, got {n}")
    letters = set("".join(ins))
    if not all(c.isalpha() for c in "".join(ins) + out) or not set(out) <= letters:
        raise ShapeError(f"bad subscripts {subscripts!r}")
    if len(set(out)) != len(out):
        raise ShapeError(f"output subscripts repeat a letter in {subscripts!r}")
    return ins, out


@dataclass(frozen=True)
class Einsum(Multilinear):
    """np.einsum with explicit subscripts ('ij,jk->ik')."""

    subscripts: str

    def notation(self, args: Sequence[Term]) -> Term:
        """einsum('ij,jk->ik', a, b)"""
        return call("einsum", [atom(repr(self.subscripts)), *args])

    def infer(self, *xs: TensorType) -> TensorType:
        ins, out = _parse(self.subscripts, len(xs))
        sizes: dict[str, int | None] = {}
        for spec, x in zip(ins, xs):
            shape = known_shape(x)
            if len(shape) != len(spec):
                raise ShapeError(f"operand {spec!r} has shape {format_shape(shape)}")
            for c, d in zip(spec, shape):
                if sizes.get(c) is None:
                    sizes[c] = d
                elif d is not None and d != sizes[c]:
                    raise ShapeError(f"index {c!r} has sizes {sizes[c]} and {d}")
        dtype = np.result_type(*(x.dtype for x in xs))
        return TensorType(tuple(sizes[c] for c in out), dtype)

    def compute(self, *xs: np.ndarray) -> np.ndarray:
        return as_array(np.einsum(self.subscripts, *xs, optimize=len(xs) > 2))

    def transpose(self, node: Node, g: Node, k: int) -> Node:
        """x̄ₖ = einsum(others, g -> subscriptsₖ), broadcast over letters only xₖ has,
        and put on the diagonal where xₖ repeats a letter"""
        ins, out = _parse(self.subscripts, len(node.inputs))
        return _einsum_adjoint(ins, out, node.inputs, g, k)

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """out[o] on xₖ at every index tuple that agrees with o, except where a constant
        operand is zero at every tuple it takes part in"""
        ins, out = _parse(self.subscripts, len(node.inputs))
        sizes = {c: d for s, x in zip(ins, node.inputs) for c, d in zip(s, static_shape(x.type))}
        deps: list[Product | None] = []
        for k, x in enumerate(node.inputs):
            letters = "".join(dict.fromkeys(out + ins[k]))  # the grid's axes
            mask = None
            for j, other in enumerate(node.inputs):
                value = known_value(other)
                if j != k and value is not None:
                    zeros = _on_grid((value != 0).astype(np.int8), ins[j], letters, sizes) != 0
                    mask = zeros if mask is None else mask & zeros
            target = _on_grid(numbering(node.type), out, letters, sizes)
            operand = _on_grid(numbering(x.type), ins[k], letters, sizes)
            size = (entry_count(node.type), entry_count(x.type))
            deps.append(Product(target, operand, size, mask) if is_differentiable(x.type) else None)
        return tuple(deps)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """One more letter, on the batched operands and in front of the output"""
        ins, out = _parse(self.subscripts, len(node.inputs))
        used = set("".join(ins))
        z = next(c for c in "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA" if c not in used)
        specs = [z + s if b else s for s, b in zip(ins, batched)]
        return einsum(",".join(specs) + "->" + z + out, *xs)


def _on_grid(values: np.ndarray, spec: str, letters: str, sizes: dict[str, Any]) -> np.ndarray:
    """An operand with subscripts ``spec`` laid on the grid of ``letters``: its diagonal
    where a letter repeats, its letters in the grid's order, length-1 axes for the grid's
    other letters; a letter the grid lacks is reduced away (nonzero anywhere along it).
    Numbers are laid out the same way for the entries of the output and of an operand."""
    unique = "".join(dict.fromkeys(spec))
    kept = "".join(c for c in letters if c in unique)
    if unique != spec or kept != unique:
        values = np.einsum(f"{spec}->{unique}", values) if unique != spec else values
        dropped = tuple(i for i, c in enumerate(unique) if c not in letters)
        if dropped:
            values = np.any(values != 0, axis=dropped)
            unique = "".join(c for c in unique if c in letters)
        values = np.einsum(f"{unique}->{kept}", values)
    return values.reshape([sizes[c] if c in kept else 1 for c in letters])


def _einsum_adjoint(ins: list[str], out: str, xs: Sequence[Node], g: Node, k: int) -> Node:
    spec, x = ins[k], xs[k]
    others = [s for j, s in enumerate(ins) if j != k]
    unique = "".join(dict.fromkeys(spec))
    reachable = set(out).union(*others)
    kept = "".join(c for c in unique if c in reachable)
    if others or kept != out:
        adj = einsum(
            ",".join([*others, out]) + "->" + kept, *(xs[j] for j in range(len(xs)) if j != k), g
        )
    else:  # g is laid out as kept already ('ii->i' sends back g itself): no copy
        adj = g
    size = {c: dim(x, spec.index(c)) for c in unique}  # an int, or x's run-time length
    missing = [i for i, c in enumerate(unique) if c not in reachable]
    if missing:  # letters summed inside xₖ alone: their derivative is a broadcast
        adj = broadcast_to_dims(ExpandDims(tuple(missing))(adj), [size[c] for c in unique])
    if unique == spec:  # no letter repeats, so adj is laid out as xₖ already
        return adj
    # repeated letters (a diagonal, as in 'ii->'): x̄[i, i'] = adj[i]·δ(i, i')
    free = (c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in spec)
    seen: set[str] = set()
    target, eyes, eye_specs = "", [], []
    for c in spec:
        if c in seen:
            fresh = next(free)
            n = size[c]
            if isinstance(n, int):
                eyes.append(constant(np.eye(n, dtype=x.dtype)))
            else:  # the identity of the run-time length
                r = axis_index(x, spec.index(c), "range")
                eye = equal(ExpandDims((1,))(r), ExpandDims((0,))(r))
                eyes.append(cast(eye, x.dtype))
            eye_specs.append(c + fresh)
            target += fresh
        else:
            seen.add(c)
            target += c
    return einsum(",".join([unique, *eye_specs]) + "->" + target, adj, *eyes)


@dataclass(frozen=True)
class Inv(JvpOnly, OnMatrices):
    """np.linalg.inv over a stack of square matrices."""

    def infer(self, a: TensorType) -> TensorType:
        square_shape(a)
        return TensorType(a.shape, ufunc_dtype(np.sqrt, a.dtype))

    def compute(self, a: np.ndarray) -> np.ndarray:
        return np.linalg.inv(a)

    def jvp(self, node: Node, t: Tangents) -> Node:
        """Ẏ = -Y·Ȧ·Y"""
        return -matmul(node, matmul(sole_tangent(t), node))


@dataclass(frozen=True)
class Solve(JvpOnly):
    """np.linalg.solve(a, b): b is one vector when 1-D, else a stack of (M, K) matrices;
    linear in b, whose transpose is a solve with Aᵀ."""

    linear = (1,)

    chunking = "whole"  # LAPACK: Dask's solve needs one chunk

    def infer(self, a: TensorType, b: TensorType) -> TensorType:
        sa, sb = square_shape(a), known_shape(b)
        nb = len(sb)
        m = sa[-1]
        rows = sb[0] if nb == 1 else (sb[-2] if nb >= 2 else None)
        if nb == 0 or (m is not None and rows is not None and m != rows):
            raise ShapeError(
                f"b of shape {format_shape(b.shape)} does not fit a of {format_shape(a.shape)}"
            )
        dtype = ufunc_dtype(np.sqrt, np.result_type(a.dtype, b.dtype))
        if nb == 1:
            return TensorType(sa[:-1], dtype)
        batch = broadcast_shapes(sa[:-2], sb[:-2])
        return TensorType(batch + sb[-2:], dtype)

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.linalg.solve(a, b)

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """X[…, :, k] on b[…, :, k] and on all of A[…]: a solution mixes its right-hand
        side's column and its whole matrix (the grids (…, i, j, k) and (…, i, k, p, q))"""
        a, b = node.inputs
        vector = b.ndim == 1
        out = numbering(node.type)[..., None] if vector else numbering(node.type)
        rhs = numbering(b.type)[:, None] if vector else numbering(b.type)
        size = entry_count(node.type)
        on_b = Product(out[..., :, None, :], rhs[..., None, :, :], (size, entry_count(b.type)))
        matrix = numbering(a.type)[..., None, None, :, :]
        on_a = Product(out[..., None, None], matrix, (size, entry_count(a.type)))
        return (
            on_a if is_differentiable(a.type) else None,
            on_b if is_differentiable(b.type) else None,
        )

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """A vector b made a one-column matrix, the batch axis in front of the stack dims"""
        return _batch_matrices(self, node, xs, batched, False, node.inputs[1].ndim == 1)

    def transpose(self, node: Node, g: Node, k: int) -> Node:
        """b̄ = A⁻ᵀ·g (a vector b's g made a one-column matrix, as a batch of A may need)"""
        at, vector = matrix_transpose(node.inputs[0]), node.inputs[1].ndim == 1
        return squeeze(solve(at, ExpandDims((-1,))(g)), -1) if vector else solve(at, g)

    def jvp(self, node: Node, t: Tangents) -> Node | None:
        """Ẋ = A⁻¹·(ḃ - Ȧ·X)"""
        a, b = node.inputs
        if t[0] is None:
            return None if t[1] is None else solve(a, t[1])
        vector = b.ndim == 1
        x2 = ExpandDims((-1,))(node) if vector else node
        tb = None if t[1] is None else (ExpandDims((-1,))(t[1]) if vector else t[1])
        rhs = -matmul(t[0], x2) if tb is None else tb - matmul(t[0], x2)
        out = solve(a, rhs)
        return squeeze(out, -1) if vector else out


# -- public functions ----------------------------------------------------------
def matmul(a: Any, b: Any) -> Node:
    """a @ b: (..., n, k) @ (..., k, m) -> (..., n, m); 1-D operands as in NumPy."""
    return MatMul()(*as_nodes(a, b))


def einsum(subscripts: Any, *operands: Any) -> Node:
    """np.einsum, e.g. ``einsum("ij,jk->ik", a, b)``: (2, 3) and (3, 4) -> (2, 4).

    NumPy's notations all work: implicit output ('ij,jk'), ``...``, size-1 dims
    broadcast against a letter's other dims, and the sublist form
    ``einsum(a, [0, 1], b, [1, 2])``; see :mod:`graphad.ops.einsum_spec`.
    """
    with building("einsum", *(x for x in (subscripts, *operands) if isinstance(x, Node))):
        spec, nodes = explicit((subscripts, *operands))
    return Einsum(spec)(*nodes)


def inv(a: Any) -> Node:
    """Inverse of a (..., M, M) stack of matrices."""
    return Inv()(as_node(a))


def solve(a: Any, b: Any) -> Node:
    """x with a·x = b; a (..., M, M), b (M,) or (..., M, K)."""
    return Solve()(*as_nodes(a, b))


def dot(a: Any, b: Any) -> Node:
    """np.dot: a product for scalars, matmul up to 2-D, sum over a's last and b's
    second-to-last axis beyond."""
    a, b = as_nodes(a, b)
    na, nb = known_ndim(a.type), known_ndim(b.type)
    if na == 0 or nb == 0:
        return ew.multiply(a, b)
    if (nb <= 2 and na <= 2) or nb == 1:
        return matmul(a, b)
    letters = "abcdefghijklmnopqrstuvwxyz"
    sa = letters[: na - 1] + "z"
    sb = letters[na - 1 : na + nb - 3] + "z" + letters[na + nb - 3]
    return einsum(f"{sa},{sb}->{sa[:-1]}{sb.replace('z', '')}", a, b)


def outer(a: Any, b: Any) -> Node:
    """np.outer: (n,) and (m,) (flattened first) -> (n, m)."""
    a, b = as_nodes(a, b)
    return ew.multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


def trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None) -> Node:
    """np.trace(a, offset, axis1, axis2): sum of the ``offset`` diagonal; other axes are kept."""
    a = as_node(a)
    with building("trace", a):
        offset = as_int(offset, "offset")  # 0.0 is no offset NumPy takes either
        if dtype is not None:
            a = cast(a, as_dtype(dtype))
    if offset != 0:
        return Sum((-1,))(diagonal(a, offset, axis1, axis2))
    with building("trace", a):
        ndim = known_ndim(a.type)
        (i,), (j,) = normalize_axes(axis1, ndim), normalize_axes(axis2, ndim)
        if i == j:
            raise ShapeError(f"axis1 and axis2 are both {i}")
    n, m = a.shape[i], a.shape[j]
    if n is not None and m is not None and n != m:  # as NumPy: the leading square block's
        index = [slice(None)] * ndim
        index[i] = index[j] = slice(0, min(n, m))
        a = getitem(a, tuple(index))
    letters = list("abcdefghijklmnopqrstuvwxyz"[:ndim])
    letters[j] = letters[i]
    rest = "".join(c for k, c in enumerate(letters) if k not in (i, j))
    return einsum("".join(letters) + "->" + rest, a)
