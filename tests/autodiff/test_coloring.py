"""Colourings of sparsity patterns: each is valid for the recovery it serves, on random
patterns and every ordering, and takes the colour counts greedy colouring is known for."""

from __future__ import annotations

import numpy as np
import pytest

from graphad.autodiff.coloring import (
    ORDERS,
    Adjacency,
    column_coloring,
    is_star_coloring,
    row_coloring,
    star_coloring,
)
from graphad.ir import Pattern

RNG = np.random.default_rng(1032)  # jax-ml/jax#1032


def random_patterns(count: int, symmetric: bool = False) -> list[np.ndarray]:
    out = []
    for _ in range(count):
        m, n = RNG.integers(1, 20, 2)
        a = RNG.random((n, n) if symmetric else (m, n)) < RNG.uniform(0.05, 0.5)
        out.append(a | a.T | np.eye(n, dtype=bool) if symmetric else a)
    return out


def grid(k: int) -> Pattern:
    """The 5-point stencil on a k × k grid: the Hessian pattern of Σ (∇u)² + Σ u⁴."""
    idx = np.arange(k * k).reshape(k, k)
    rows, cols = [], []
    for di, dj in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
        i0, i1, j0, j1 = max(0, -di), k - max(0, di), max(0, -dj), k - max(0, dj)
        rows.append(idx[i0:i1, j0:j1].ravel())
        cols.append(idx[i0 + di : i1 + di, j0 + dj : j1 + dj].ravel())
    return Pattern.from_pairs(np.concatenate(rows), np.concatenate(cols), (k * k, k * k))


def banded(n: int, lo: int, hi: int) -> Pattern:
    rows = np.repeat(np.arange(n), hi - lo + 1)
    cols = rows + np.tile(np.arange(lo, hi + 1), n)
    keep = (cols >= 0) & (cols < n)
    return Pattern.from_pairs(rows[keep], cols[keep], (n, n))


def bicoloured_path(p: Pattern, colors: np.ndarray) -> bool:
    """Whether some path v–w–x–y of the adjacency graph has only two colours, or two
    neighbours share one (what a star colouring forbids), by brute force."""
    g = Adjacency.of(p)
    near = [g.indices[g.indptr[v] : g.indptr[v + 1]] for v in range(g.n)]
    for v in range(g.n):
        for w in near[v]:
            if colors[v] == colors[w]:
                return True
            for x in near[w]:
                same = x != v and colors[x] == colors[v]
                if same and any(y not in (v, w) and colors[y] == colors[w] for y in near[x]):
                    return True
    return False


@pytest.mark.parametrize("order", ORDERS)
def test_column_and_row_colourings_separate_what_shares_a_row_or_column(order: str) -> None:
    for dense in random_patterns(60):
        p = Pattern.of(dense)
        columns = column_coloring(p, order)  # type: ignore[arg-type]
        rows = row_coloring(p, order)  # type: ignore[arg-type]
        for r in range(dense.shape[0]):  # a row's columns: all different colours
            used = columns[np.flatnonzero(dense[r])]
            assert len(set(used)) == len(used)
        for c in range(dense.shape[1]):
            used = rows[np.flatnonzero(dense[:, c])]
            assert len(set(used)) == len(used)


@pytest.mark.parametrize("order", ORDERS)
def test_star_colourings_are_star_colourings_and_recover_directly(order: str) -> None:
    for dense in random_patterns(60, symmetric=True):
        p = Pattern.of(dense)
        colors = star_coloring(p, order)  # type: ignore[arg-type]
        assert not bicoloured_path(p, colors)
        assert is_star_coloring(p, colors)


def test_a_distance_one_colouring_is_not_taken_for_a_star_colouring() -> None:
    path = banded(4, -1, 1)  # 0–1–2–3 coloured a b a b: proper, but a two-coloured path
    colors = np.array([0, 1, 0, 1])
    assert bicoloured_path(path, colors) and not is_star_coloring(path, colors)


@pytest.mark.parametrize(("lo", "hi"), [(-1, 1), (-2, 2), (0, 3), (-3, 0)])
def test_a_band_of_width_w_takes_w_colours(lo: int, hi: int) -> None:
    p = banded(40, lo, hi)
    assert column_coloring(p).max() + 1 == hi - lo + 1
    assert row_coloring(p).max() + 1 == hi - lo + 1


def test_the_stencil_takes_at_most_six_star_colours() -> None:
    for k in (5, 30, 60):
        p = grid(k)
        colors = star_coloring(p)
        assert colors.max() + 1 <= 6 and is_star_coloring(p, colors)
    assert column_coloring(grid(30)).max() + 1 <= 7  # distance 2: 5 is the optimum


def test_an_arrowhead_needs_two_star_colours_and_n_column_colours() -> None:
    n = 30
    arrow = np.eye(n, dtype=bool)
    arrow[0, :] = arrow[:, 0] = True
    p = Pattern.of(arrow)
    assert star_coloring(p).max() + 1 == 2
    assert column_coloring(p).max() + 1 == n
