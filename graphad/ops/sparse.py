"""Sparse matrices of a pattern known when the graph is built: made from their stored values,
read back as values or as a dense array.

A node of :class:`~graphad.ir.SparseType` (a sparse Jacobian or Hessian) evaluates to a
``scipy.sparse.csr_array`` holding exactly the entries of its pattern, in the pattern's
order.  Dense ops refuse it (their operands must be tensors); ``todense`` and
``sparse_values`` give tensors.  All three ops are linear, and each one's transpose is
another of them, so derivatives flow through them.  SciPy is imported when a value is
made, not before.  Under ``vmap`` a batch of sparse matrices of one pattern is the batch
of their stored values, (B, nnz): ``todense`` of it is the (B, m, n) batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphad.ir import (
    DTypeError,
    Node,
    Pattern,
    ShapeError,
    SparseType,
    TensorType,
    ValueType,
    as_node,
    constant,
    format_shape,
)
from graphad.ir.dependence import SAME, Dependences, Detect, Gather
from graphad.ops._linear import Linear
from graphad.ops._util import tensor
from graphad.ops.indexing import getitem
from graphad.ops.shape import concatenate
from graphad.ops.utility import zeros_like


def _sparse(t: ValueType, what: str) -> SparseType:
    if not isinstance(t, SparseType):
        raise DTypeError(f"{what} must be a sparse matrix, got {t}")
    return t


@dataclass(frozen=True)
class ToSparse(Linear):
    """The (m, n) matrix of ``pattern`` whose stored entries are ``data`` (nnz,), in the
    pattern's order (row by row, columns ascending)."""

    pattern: Pattern
    chunking = "whole"

    def __str__(self) -> str:
        m, n = self.pattern.shape
        return f"to_sparse({m}x{n}, {self.pattern.nnz} stored)"

    def infer(self, data: TensorType) -> SparseType:
        if tensor(data, "data").shape not in ((self.pattern.nnz,), (None,)):
            raise ShapeError(
                f"data of shape {format_shape(data.shape)} does not fill the pattern's "
                f"{self.pattern.nnz} stored entries"
            )
        return SparseType(self.pattern, data.dtype)

    def compute(self, data: np.ndarray) -> Any:
        from scipy.sparse import csr_array

        p = self.pattern
        index = np.int32 if max((*p.shape, p.nnz)) < np.iinfo(np.int32).max else np.int64
        # the index arrays are the caller's own, as every array an Executor returns is
        out = csr_array(
            (np.asarray(data), p.indices.astype(index), p.indptr.astype(index)), shape=p.shape
        )
        out.has_sorted_indices = True  # as the pattern's are: no check, no sort
        return out

    def transpose(self, node: Node, g: Node) -> Node:
        """data̅ = the stored values of ḡ"""
        return SparseValues()(g)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """a batch of matrices of one pattern is the batch of their values, (B, nnz)"""
        return xs[0]

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """stored entry k is data[k]"""
        return (SAME,)


@dataclass(frozen=True)
class SparseValues(Linear):
    """The stored values of a sparse matrix (nnz,), in its pattern's order."""

    chunking = "whole"  # on Dask, a sparse matrix is one lazy object

    def infer(self, s: ValueType) -> TensorType:
        t = _sparse(s, "operand")
        return TensorType((t.nnz,), t.dtype)

    def compute(self, s: Any) -> np.ndarray:
        return np.array(s.data)  # a copy: the values stay the matrix's own

    def transpose(self, node: Node, g: Node) -> Node:
        """s̄ = the sparse matrix of s's pattern holding g"""
        return ToSparse(_sparse(node.inputs[0].type, "operand").pattern)(g)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """the batch of values is the batch (B, nnz) itself"""
        return xs[0]

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """value k is stored entry k"""
        return (SAME,)


@dataclass(frozen=True)
class ToDense(Linear):
    """A sparse matrix as an (m, n) array: its stored values, zeros elsewhere."""

    name = "todense"
    chunking = "whole"  # on Dask, a sparse matrix is one lazy object

    def infer(self, s: ValueType) -> TensorType:
        t = _sparse(s, "operand")
        return TensorType(t.shape, t.dtype)

    def compute(self, s: Any) -> np.ndarray:
        return s.toarray()

    def transpose(self, node: Node, g: Node) -> Node:
        """s̄ = ḡ at the pattern's entries"""
        p = _sparse(node.inputs[0].type, "operand").pattern
        return ToSparse(p)(getitem(g, (constant(p.row_ids()), constant(p.indices))))

    def sparsity(self, node: Node, detect: Detect) -> Dependences:
        """entry (i, j) is the stored entry there, if any"""
        return (Gather(_positions(_sparse(node.inputs[0].type, "operand").pattern).ravel()),)

    def batch(self, node: Node, xs: Sequence[Node], batched: Sequence[bool]) -> Node:
        """values (B, nnz) gathered into (B, m, n), a zero appended for the empty entries"""
        p = _sparse(node.inputs[0].type, "operand").pattern
        values = xs[0]
        padded = concatenate([values, zeros_like(getitem(values, (slice(None), slice(0, 1))))], 1)
        index = _positions(p)
        return getitem(padded, (slice(None), np.where(index < 0, p.nnz, index)))


def _positions(p: Pattern) -> np.ndarray:
    """(m, n): the place of each entry among the stored ones, -1 where none is stored."""
    index = np.full(p.shape, -1, np.int64)
    index[p.row_ids(), p.indices] = np.arange(p.nnz)
    return index


def to_sparse(data: Any, pattern: Any) -> Node:
    """The sparse matrix of ``pattern`` (a :class:`~graphad.ir.Pattern`, a SciPy sparse
    matrix or a boolean array) whose stored entries are ``data`` (nnz,), row by row."""
    return ToSparse(Pattern.of(pattern))(as_node(data))


def sparse_values(s: Node) -> Node:
    """The stored values of a sparse matrix node, (nnz,), in its pattern's order."""
    return SparseValues()(s)


def todense(s: Node) -> Node:
    """A sparse matrix node (e.g. ``jacobian(..., sparse=True)``) as a dense (m, n) node."""
    return ToDense()(s)
