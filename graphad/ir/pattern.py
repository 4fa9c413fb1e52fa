"""Sparsity patterns: which entries of a matrix may be nonzero, as an immutable boolean CSR.

A :class:`Pattern` of shape (m, n) holds, for each row i, the sorted column numbers j of
the entries (i, j) that may be nonzero (compressed sparse rows: ``indptr`` (m + 1,) and
``indices``, as SciPy stores them).  In sparsity detection a row is an entry of a node
(its value flattened in C order, the leaves of a structure one after the other) and a
column an entry of the inputs differentiated against; an op's local pattern has the
entries of its output as rows and those of one input as columns.

Everything here is vectorised NumPy over the stored (row, column) pairs: a merge of rows
(union, composition, grouping) sorts the pairs once, O(p log p) for p pairs, and a move
of rows (gather) is O(p); nothing loops over entries in Python, and SciPy is not needed
(:meth:`Pattern.to_scipy` converts at the end; a large composition uses its sparse product
when it is installed, the same pattern sooner).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

INDEX = np.dtype(np.int64)
# past this many (row, column) pairs, compose multiplies by SciPy's sparse product when it is
# installed: it unites each row in a dense accumulator (C++), where a sort of the pairs
# takes some 20 times as long (a loop's step-by-step pattern composes millions of pairs)
SPGEMM_PAIRS = 1 << 16


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _spgemm(outer: Pattern, inner: Pattern) -> Pattern | None:
    """outer ∘ inner by SciPy's boolean sparse product (each row's union without a sort of
    the pairs); None without SciPy."""
    try:
        from scipy.sparse import csr_array
    except ImportError:
        return None
    a, b = (
        csr_array((np.ones(p.nnz, bool), p.indices, p.indptr), shape=p.shape)
        for p in (outer, inner)
    )
    product = a @ b  # bool data: a sum is an or, so no entry cancels
    product.sort_indices()
    return Pattern((outer.shape[0], inner.shape[1]), product.indptr, product.indices)


class Pattern:
    """An immutable boolean sparse matrix of ``shape`` in CSR form (rows sorted, unique)."""

    __slots__ = ("_hash", "indices", "indptr", "shape")
    shape: tuple[int, int]
    indptr: np.ndarray
    indices: np.ndarray
    _hash: int | None

    def __init__(self, shape: tuple[int, int], indptr: np.ndarray, indices: np.ndarray) -> None:
        """Trusted: ``indices`` sorted and unique within each row (the constructors below
        make sure of it)."""
        object.__setattr__(self, "shape", (int(shape[0]), int(shape[1])))
        object.__setattr__(self, "indptr", _frozen(np.asarray(indptr, INDEX)))
        object.__setattr__(self, "indices", _frozen(np.asarray(indices, INDEX)))
        object.__setattr__(self, "_hash", None)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"Pattern is immutable (tried to set {key!r})")

    # -- making ------------------------------------------------------------------
    @classmethod
    def from_pairs(
        cls, rows: Any, cols: Any, shape: tuple[int, int], runs: bool = False
    ) -> Pattern:
        """The pattern with an entry at each (rows[k], cols[k]); repeats are merged.
        ``runs``: the pairs come as a few runs already in order (merged by a stable sort,
        Timsort, in linear time), or grouped by row; otherwise in any order."""
        m, n = shape
        rows = np.asarray(rows, INDEX).ravel()
        cols = np.asarray(cols, INDEX).ravel()
        if rows.size == 0 or n == 0:
            return cls.empty(shape)
        key = rows * n + cols  # one sort orders by row, then by column
        key.sort(kind="stable" if runs else None)
        if key.size > 1:
            keep = np.empty(key.size, dtype=bool)
            keep[0] = True
            np.not_equal(key[1:], key[:-1], out=keep[1:])
            key = key[keep]
        r = key // n
        indptr = np.zeros(m + 1, INDEX)
        np.cumsum(np.bincount(r, minlength=m), out=indptr[1:])
        return cls(shape, indptr, key - r * n)

    @classmethod
    def empty(cls, shape: tuple[int, int]) -> Pattern:
        return cls(shape, np.zeros(shape[0] + 1, INDEX), np.zeros(0, INDEX))

    @classmethod
    def identity(cls, n: int) -> Pattern:
        return cls((n, n), np.arange(n + 1, dtype=INDEX), np.arange(n, dtype=INDEX))

    @classmethod
    def full(cls, shape: tuple[int, int]) -> Pattern:
        m, n = shape
        return cls(shape, np.arange(m + 1, dtype=INDEX) * n, np.tile(np.arange(n, dtype=INDEX), m))

    @classmethod
    def of(cls, value: Any, shape: tuple[int, int] | None = None) -> Pattern:
        """A pattern from a ``Pattern``, a SciPy sparse array or matrix (its nonzero stored
        entries), or anything ``np.asarray`` takes (its nonzero entries); ``shape``, when
        given, must match."""
        if isinstance(value, Pattern):
            pattern = value
        elif hasattr(value, "tocoo"):  # SciPy, recognised without importing it
            coo = value.tocoo()
            nonzero = np.asarray(coo.data) != 0
            pattern = cls.from_pairs(coo.row[nonzero], coo.col[nonzero], tuple(coo.shape))
        else:
            array = np.asarray(value)
            if array.ndim != 2:
                raise ValueError(f"a pattern is 2-D, got an array of shape {array.shape}")
            rows, cols = np.nonzero(array)
            pattern = cls.from_pairs(rows, cols, (array.shape[0], array.shape[1]))
        if shape is not None and pattern.shape != tuple(shape):
            raise ValueError(f"the pattern has shape {pattern.shape}, expected {tuple(shape)}")
        return pattern

    # -- reading -----------------------------------------------------------------
    @property
    def nnz(self) -> int:
        return int(self.indices.size)

    def row_ids(self) -> np.ndarray:
        """The row of each stored entry."""
        return np.repeat(np.arange(self.shape[0], dtype=INDEX), np.diff(self.indptr))

    def counts(self) -> np.ndarray:
        """The number of entries of each row."""
        return np.diff(self.indptr)

    def band(self) -> tuple[int, int] | None:
        """(lo, hi): every entry has lo ≤ j - i ≤ hi; None when there is none."""
        if not self.nnz:
            return None
        offsets = self.indices - self.row_ids()
        return int(offsets.min()), int(offsets.max())

    def to_dense(self) -> np.ndarray:
        out = np.zeros(self.shape, dtype=bool)
        out[self.row_ids(), self.indices] = True
        return out

    def to_scipy(self) -> Any:
        """A ``scipy.sparse.csr_array`` of bools (SciPy imported here, on first use)."""
        from scipy.sparse import csr_array

        small = max((*self.shape, self.nnz)) < np.iinfo(np.int32).max
        index = np.int32 if small else np.int64
        return csr_array(
            (np.ones(self.nnz, bool), self.indices.astype(index), self.indptr.astype(index)),
            shape=self.shape,
        )

    # -- moving and merging rows -------------------------------------------------------
    def gather(self, src: np.ndarray) -> Pattern:
        """Row r of the result is row ``src[r]`` of this one (empty where src[r] < 0)."""
        src = np.asarray(src, INDEX).ravel()
        if self.nnz == 0:
            return Pattern.empty((src.size, self.shape[1]))
        valid = src >= 0
        s = np.where(valid, src, 0)
        starts = self.indptr[s]
        counts = np.where(valid, self.indptr[s + 1] - starts, 0)
        indptr = np.zeros(src.size + 1, INDEX)
        np.cumsum(counts, out=indptr[1:])
        # entry k of new row r is entry starts[r] + (k - indptr[r]) of this pattern
        positions = np.repeat(starts - indptr[:-1], counts) + np.arange(indptr[-1], dtype=INDEX)
        return Pattern((src.size, self.shape[1]), indptr, self.indices[positions])

    def scatter(self, dst: np.ndarray, rows: int) -> Pattern:
        """Row r of the result is the union of the rows s with ``dst[s] == r`` (those with
        dst[s] < 0 are dropped): the entries of a sum's terms, grouped into the sum."""
        dst = np.asarray(dst, INDEX).ravel()
        valid = dst >= 0
        targets = dst[valid]
        if targets.size == 0 or np.bincount(targets, minlength=rows).max() <= 1:
            src = np.full(rows, -1, INDEX)  # each row goes to one place: a gather, no merge
            src[targets] = np.flatnonzero(valid)
            return self.gather(src)
        to = np.repeat(dst, self.counts())
        kept = to >= 0
        return Pattern.from_pairs(to[kept], self.indices[kept], (rows, self.shape[1]))

    def compose(self, inner: Pattern) -> Pattern:
        """The pattern of A·B for A of this pattern and B of ``inner``'s: row i is the union
        of the rows s of ``inner`` with (i, s) here (a local pattern applied to the
        patterns of an op's input)."""
        counts = self.counts()
        if self.nnz == 0 or counts.max() <= 1:  # each row reads one row: a gather
            src = np.full(self.shape[0], -1, INDEX)
            has = counts > 0
            src[has] = self.indices[self.indptr[:-1][has]]
            return inner.gather(src)
        s = self.indices
        starts = inner.indptr[s]
        lengths = inner.indptr[s + 1] - starts
        if int(lengths.sum()) > SPGEMM_PAIRS:
            found = _spgemm(self, inner)
            if found is not None:
                return found
        rows = np.repeat(self.row_ids(), lengths)
        first = np.zeros(s.size, INDEX)
        np.cumsum(lengths[:-1], out=first[1:])
        positions = np.repeat(starts - first, lengths) + np.arange(rows.size, dtype=INDEX)
        shape = (self.shape[0], inner.shape[1])
        return Pattern.from_pairs(rows, inner.indices[positions], shape, runs=True)

    @staticmethod
    def union(parts: Sequence[Pattern], shape: tuple[int, int]) -> Pattern:
        """The entries of any of ``parts`` (all of ``shape``)."""
        present = [p for p in parts if p.nnz]
        if not present:
            return Pattern.empty(shape)
        first = present[0]
        if all(p is first or p == first for p in present[1:]):
            return first
        # each part's pairs are in order already: a merge of sorted runs
        rows = np.concatenate([p.row_ids() for p in present])
        cols = np.concatenate([p.indices for p in present])
        return Pattern.from_pairs(rows, cols, shape, runs=True)

    def dense_rows(self, rows: int) -> Pattern:
        """``rows`` rows, each holding every column that any row here holds: the pattern of
        an op that mixes all entries of its input."""
        seen = np.zeros(self.shape[1], dtype=bool)
        seen[self.indices] = True
        cols = np.flatnonzero(seen).astype(INDEX)
        indptr = np.arange(rows + 1, dtype=INDEX) * cols.size
        return Pattern((rows, self.shape[1]), indptr, np.tile(cols, rows))

    def transpose(self) -> Pattern:
        return Pattern.from_pairs(self.indices, self.row_ids(), (self.shape[1], self.shape[0]))

    @property
    def T(self) -> Pattern:
        return self.transpose()

    def columns(self, start: int, stop: int) -> Pattern:
        """The columns start:stop, numbered from 0."""
        keep = (self.indices >= start) & (self.indices < stop)
        cumulative = np.zeros(self.nnz + 1, INDEX)
        np.cumsum(keep, out=cumulative[1:])
        return Pattern(
            (self.shape[0], stop - start), cumulative[self.indptr], self.indices[keep] - start
        )

    @staticmethod
    def stack_rows(parts: Sequence[Pattern], cols: int) -> Pattern:
        """The rows of ``parts`` one after the other (entries of a structure's leaves)."""
        if len(parts) == 1:
            return parts[0]
        offsets = np.cumsum([0] + [p.nnz for p in parts[:-1]])
        indptr = np.concatenate(
            [np.zeros(1, INDEX)] + [p.indptr[1:] + o for p, o in zip(parts, offsets)]
        )
        indices = np.concatenate([np.zeros(0, INDEX)] + [p.indices for p in parts])
        return Pattern((sum(p.shape[0] for p in parts), cols), indptr, indices)

    # -- a value -----------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Pattern):
            return NotImplemented
        return (
            self.shape == other.shape
            and np.array_equal(self.indptr, other.indptr)
            and np.array_equal(self.indices, other.indices)
        )

    def __hash__(self) -> int:
        h = self._hash
        if h is None:
            h = hash((self.shape, self.indptr.tobytes(), self.indices.tobytes()))
            object.__setattr__(self, "_hash", h)
        return h

    def __reduce__(self) -> tuple[Any, ...]:
        return (Pattern, (self.shape, np.array(self.indptr), np.array(self.indices)))

    def __repr__(self) -> str:
        return f"Pattern({self.shape[0]}x{self.shape[1]}, {self.nnz} entries)"
