"""ir.Pattern, the boolean CSR of sparsity detection: every operation against the same
operation on dense boolean matrices, on random patterns (empty rows, empty patterns and
zero-sized shapes included)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from graphad.ir import Pattern

RNG = np.random.default_rng(19)


def random_dense(m: int, n: int, density: float | None = None) -> np.ndarray:
    return RNG.random((m, n)) < (RNG.uniform(0.0, 0.6) if density is None else density)


def shapes(count: int = 40) -> list[tuple[int, int]]:
    return [(0, 3), (3, 0), (1, 1), *(tuple(RNG.integers(1, 9, 2)) for _ in range(count))]  # type: ignore[misc]


def assert_canonical(p: Pattern) -> None:
    """Rows sorted, without repeats, indptr consistent: what the constructors promise."""
    assert p.indptr[0] == 0 and p.indptr[-1] == p.nnz and np.all(np.diff(p.indptr) >= 0)
    for r in range(p.shape[0]):
        row = p.indices[p.indptr[r] : p.indptr[r + 1]]
        assert np.all(np.diff(row) > 0) and np.all((row >= 0) & (row < p.shape[1]))


@pytest.mark.parametrize("shape", shapes())
def test_from_pairs_merges_repeats_and_reads_back(shape: tuple[int, int]) -> None:
    dense = random_dense(*shape)
    rows, cols = np.nonzero(dense)
    twice = np.concatenate([rows, rows[::-1]]), np.concatenate([cols, cols[::-1]])
    for p in (Pattern.of(dense), Pattern.from_pairs(*twice, shape)):
        assert_canonical(p)
        np.testing.assert_array_equal(p.to_dense(), dense)
        assert p.nnz == dense.sum()


@pytest.mark.parametrize("shape", shapes())
def test_gather_scatter_compose_union_transpose_columns(shape: tuple[int, int]) -> None:
    m, n = shape
    dense = random_dense(m, n)
    p = Pattern.of(dense)
    src = RNG.integers(-1, max(m, 1), 7) if m else np.full(7, -1)
    gathered = p.gather(src)
    expect = np.array([dense[s] if s >= 0 else np.zeros(n, bool) for s in src]).reshape(7, n)
    np.testing.assert_array_equal(gathered.to_dense(), expect)
    dst = RNG.integers(-1, 4, m)
    scattered = p.scatter(dst, 4)
    expect = np.array([dense[dst == r].any(axis=0) for r in range(4)]).reshape(4, n)
    np.testing.assert_array_equal(scattered.to_dense(), expect)
    local = random_dense(5, m)
    composed = Pattern.of(local).compose(p)
    np.testing.assert_array_equal(composed.to_dense(), (local.astype(int) @ dense) > 0)
    others = [random_dense(m, n) for _ in range(3)]
    union = Pattern.union([p, *map(Pattern.of, others)], shape)
    np.testing.assert_array_equal(union.to_dense(), np.logical_or.reduce([dense, *others]))
    np.testing.assert_array_equal(p.T.to_dense(), dense.T)
    lo, hi = sorted(RNG.integers(0, n + 1, 2))
    np.testing.assert_array_equal(p.columns(lo, hi).to_dense(), dense[:, lo:hi])
    dense_rows = p.dense_rows(3)
    np.testing.assert_array_equal(dense_rows.to_dense(), np.tile(dense.any(axis=0), (3, 1)))
    stacked = Pattern.stack_rows([p, gathered], n)
    np.testing.assert_array_equal(stacked.to_dense(), np.vstack([dense, gathered.to_dense()]))
    for q in (gathered, scattered, composed, union, p.T, stacked):
        assert_canonical(q)


def test_a_gather_by_compose_moves_rows_without_merging() -> None:
    p = Pattern.of(random_dense(6, 5, 0.5))
    one_per_row = Pattern.from_pairs([0, 2, 3], [5, 0, 5], (4, 6))
    np.testing.assert_array_equal(
        one_per_row.compose(p).to_dense(), p.gather(np.array([5, -1, 0, 5])).to_dense()
    )


def test_patterns_are_values() -> None:
    a = Pattern.of(np.eye(4, dtype=bool))
    b = Pattern.identity(4)
    assert a == b and hash(a) == hash(b) and a != Pattern.full((4, 4))
    assert pickle.loads(pickle.dumps(a)) == a
    with pytest.raises(AttributeError):
        a.shape = (2, 2)  # type: ignore[misc]
    with pytest.raises(ValueError):
        a.indices[0] = 1  # the arrays are read-only
    assert Pattern.full((2, 3)).nnz == 6 and Pattern.empty((2, 3)).nnz == 0


def test_band_and_scipy() -> None:
    p = Pattern.from_pairs([0, 1, 1, 2], [1, 0, 2, 4], (3, 5))
    assert p.band() == (-1, 2) and Pattern.empty((3, 3)).band() is None
    s = p.to_scipy()
    assert s.format == "csr" and s.dtype == bool and s.shape == (3, 5)
    np.testing.assert_array_equal(s.toarray(), p.to_dense())
    assert Pattern.of(s) == p  # and back; explicitly stored zeros are not entries
    with pytest.raises(ValueError, match="expected"):
        Pattern.of(s, (5, 3))


def test_a_large_composition_by_scipys_product_is_the_sorted_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from graphad.ir import pattern as module

    rng = np.random.default_rng(7)
    for m, k, n in [(50, 80, 30), (200, 7, 300), (1, 40, 1)]:
        a = Pattern.from_pairs(rng.integers(0, m, 400), rng.integers(0, k, 400), (m, k))
        b = Pattern.from_pairs(rng.integers(0, k, 900), rng.integers(0, n, 900), (k, n))
        monkeypatch.setattr(module, "SPGEMM_PAIRS", 1 << 62)
        sorted_pairs = a.compose(b)
        monkeypatch.setattr(module, "SPGEMM_PAIRS", 0)
        product = a.compose(b)
        assert product == sorted_pairs and product.indices.dtype == np.int64
        np.testing.assert_array_equal(product.to_dense(), (a.to_dense() @ b.to_dense()) > 0)
