"""Colourings of sparsity patterns: how few compressed products recover a sparse matrix.

Columns of a Jacobian J (m × n) that share no row can be added into one seed vector:
J·S for the n × c seed matrix S[j, colour(j)] = 1 holds each nonzero J[i, j] alone at
C[i, colour(j)] (Curtis, Powell and Reid), so c JVPs give J.  That is a **column
colouring**: a colouring of the graph whose vertices are columns, joined when they share
a row.  A **row colouring** (rows joined when they share a column) does the same with
c VJPs.  For a symmetric Hessian a **star colouring** of its adjacency graph (no two
neighbours alike, and every path on four vertices of three colours or more) already
recovers every entry directly (Gebremedhin, Manne and Pothen, "What color is your
Jacobian?", 2005): H[i, j] is B[i, colour(j)] when colour(j) appears once in row i, else
B[j, colour(i)], which the star condition makes unique in row j.  A banded matrix of
width w is the special case of w colours, j mod w.

The colourings are greedy, first fit, in a given order of the vertices: largest first
(most neighbours first, the default), smallest last (vertices removed by least degree,
coloured in the reverse order of removal) or natural.  Greedy colouring is sequential,
so it loops in Python: over the stored entries for a column or row colouring (the colours
each row holds kept as bit masks), over the neighbours' neighbours for a star colouring
(O(Σ degree²) steps, with counts of colours around each vertex).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from graphad.ir import DifferentiationError, Pattern, user_location

Order = Literal["largest_first", "smallest_last", "natural"]
ORDERS = ("largest_first", "smallest_last", "natural")
# a conflict graph past this many edges is not built: a row of more than √ of it entries
# needs as many colours, and the dense basis costs no more
EDGE_LIMIT = 50_000_000


@dataclass(frozen=True)
class Adjacency:
    """A graph on ``n`` vertices as CSR lists (no self loops)."""

    indptr: list[int]
    indices: list[int]

    @property
    def n(self) -> int:
        return len(self.indptr) - 1

    @classmethod
    def of(cls, pattern: Pattern) -> Adjacency:
        keep = pattern.indices != pattern.row_ids()
        cumulative = np.zeros(pattern.nnz + 1, np.int64)
        np.cumsum(keep, out=cumulative[1:])
        return cls(cumulative[pattern.indptr].tolist(), pattern.indices[keep].tolist())

    def degrees(self) -> np.ndarray:
        return np.diff(np.asarray(self.indptr))


def conflicts(pattern: Pattern) -> Pattern | None:
    """The column intersection graph of ``pattern`` (columns joined when they share a row),
    as a pattern with its diagonal; None when it would hold more than ``EDGE_LIMIT``."""
    if int(np.sum(pattern.counts().astype(np.float64) ** 2)) > EDGE_LIMIT:
        return None
    return pattern.T.compose(pattern)


def ordering(graph: Adjacency, order: Order) -> list[int]:
    """The vertices in the order greedy colouring visits them."""
    if order == "natural":
        return list(range(graph.n))
    if order == "largest_first":
        return np.argsort(-graph.degrees(), kind="stable").tolist()
    if order == "smallest_last":
        return _smallest_last(graph)
    raise DifferentiationError(
        f"coloring: order must be one of {', '.join(ORDERS)}, got {order!r} ({user_location()})"
    )


def _smallest_last(graph: Adjacency) -> list[int]:
    """Repeatedly remove a vertex of least remaining degree; colour in reverse (Matula and
    Beck): buckets of vertices by degree, O(n + edges)."""
    indptr, indices = graph.indptr, graph.indices
    degree = graph.degrees().tolist()
    buckets: list[set[int]] = [set() for _ in range(max(degree, default=0) + 1)]
    for v, d in enumerate(degree):
        buckets[d].add(v)
    removed = [False] * graph.n
    out: list[int] = []
    low = 0
    for _ in range(graph.n):
        low = max(low - 1, 0)
        while not buckets[low]:
            low += 1
        v = buckets[low].pop()
        removed[v] = True
        out.append(v)
        for u in indices[indptr[v] : indptr[v + 1]]:
            if not removed[u]:
                buckets[degree[u]].discard(u)
                degree[u] -= 1
                buckets[degree[u]].add(u)
    return out[::-1]


def greedy(graph: Adjacency, order: Sequence[int]) -> np.ndarray:
    """First-fit colouring: each vertex takes the least colour no neighbour has."""
    indptr, indices = graph.indptr, graph.indices
    colors = [-1] * graph.n
    marked = [-1] * (graph.n + 1)  # marked[c] == v: colour c is taken near v
    for v in order:
        for u in indices[indptr[v] : indptr[v + 1]]:
            marked[colors[u]] = v  # colour -1 (none yet) marks the spare last slot
        c = 0
        while marked[c] == v:
            c += 1
        colors[v] = c
    return np.asarray(colors, dtype=np.int64)


def column_coloring(pattern: Pattern, order: Order = "largest_first") -> np.ndarray:
    """A colour per column of ``pattern``, no two columns of one colour sharing a row (one
    JVP per colour).

    Greedy over the columns, with the colours each row has used so far as a bit mask per
    row: a column takes the least colour absent from the masks of its rows, so the work is
    one pass over the stored entries, not over the pairs of columns that share a row (whose
    graph BA's cameras, each in thousands of rows, would make large).  Largest first is
    by the entries a column's rows hold in all (its neighbours counted with repeats);
    smallest last needs the conflict graph itself, and is largest first when that would
    hold more than ``EDGE_LIMIT`` edges."""
    if order == "smallest_last":
        graph = conflicts(pattern)
        if graph is not None:
            adjacency = Adjacency.of(graph)
            return greedy(adjacency, _smallest_last(adjacency))
        order = "largest_first"
    if order not in ORDERS:
        ordering(Adjacency([0], []), order)  # raises, naming the orders
    n = pattern.shape[1]
    if order == "largest_first":
        reach = np.bincount(pattern.indices, pattern.counts()[pattern.row_ids()], minlength=n)
        visit = np.argsort(-reach, kind="stable").tolist()
    else:
        visit = list(range(n))
    by_column = pattern.T
    indptr, rows = by_column.indptr.tolist(), by_column.indices.tolist()
    masks = [0] * pattern.shape[0]  # bit c of masks[r]: colour c is taken in row r
    colors = [0] * n
    for j in visit:
        mine = rows[indptr[j] : indptr[j + 1]]
        taken = 0
        for r in mine:
            taken |= masks[r]
        c = (~taken & (taken + 1)).bit_length() - 1  # the lowest bit not set
        colors[j] = c
        bit = 1 << c
        for r in mine:
            masks[r] |= bit
    return np.asarray(colors, dtype=np.int64)


def row_coloring(pattern: Pattern, order: Order = "largest_first") -> np.ndarray:
    """A colour per row, no two rows of one colour sharing a column (one VJP per colour)."""
    return column_coloring(pattern.T, order)


def star_coloring(pattern: Pattern, order: Order = "largest_first") -> np.ndarray:
    """A star colouring of the adjacency graph of a symmetric ``pattern``: neighbours differ,
    and no path on four vertices has only two colours (direct recovery of a Hessian).

    Gebremedhin, Manne and Pothen's greedy algorithm: vertex v may not take the colour of
    a neighbour w, nor the colour of a neighbour x of w when w is uncoloured (a distance-2
    pair whose middle is not yet known), nor, when w is coloured, the colour of a neighbour
    x of w that already has another neighbour of w's colour (v–w–x–y would be two-coloured).
    For each vertex it keeps how many of its neighbours hold each colour, so that last test
    is one look-up."""
    graph = Adjacency.of(pattern)
    indptr, indices = graph.indptr, graph.indices
    colors = [-1] * graph.n
    forbidden = [-1] * (graph.n + 1)
    near: list[dict[int, int]] = [{} for _ in range(graph.n)]  # colour -> neighbours holding it
    for v in ordering(graph, order):
        neighbours = indices[indptr[v] : indptr[v + 1]]
        for w in neighbours:
            forbidden[colors[w]] = v
        for w in neighbours:
            cw = colors[w]
            for x in indices[indptr[w] : indptr[w + 1]]:
                cx = colors[x]
                if cx < 0 or x == v:
                    continue
                if cw < 0 or near[x].get(cw, 0) > 1:  # w uncoloured, or x–y of w's colour
                    forbidden[cx] = v
        c = 0
        while forbidden[c] == v:
            c += 1
        colors[v] = c
        for u in neighbours:
            near[u][c] = near[u].get(c, 0) + 1
    return np.asarray(colors, dtype=np.int64)


def is_star_coloring(pattern: Pattern, colors: np.ndarray) -> bool:
    """Whether ``colors`` recovers every entry of the symmetric ``pattern`` directly: for each
    entry (i, j), colour(j) is alone in row i or colour(i) is alone in row j."""
    return bool(np.all(star_sources(pattern, colors)[1] >= 0)) if pattern.nnz else True


def unique_in_row(pattern: Pattern, colors: np.ndarray) -> np.ndarray:
    """For each stored entry (i, j): whether no other entry of row i has colour(j)."""
    rows, c = pattern.row_ids(), colors[pattern.indices]
    width = int(colors.max()) + 1 if colors.size else 1
    key = rows * width + c
    return np.bincount(key, minlength=pattern.shape[0] * width)[key] == 1


def star_sources(pattern: Pattern, colors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each stored entry (i, j) of a symmetric pattern, the (colour, row) of the
    compressed product B = H·S that holds it alone: (colour(j), i) when colour(j) is alone
    in row i, else (colour(i), j); -1 where neither is (not a star colouring)."""
    rows, cols = pattern.row_ids(), pattern.indices
    alone = unique_in_row(pattern, colors)
    alone_mirror = alone[_positions(pattern, cols, rows)]  # (j, i) is stored: symmetric
    color = np.where(alone, colors[cols], np.where(alone_mirror, colors[rows], -1))
    row = np.where(alone, rows, np.where(alone_mirror, cols, -1))
    return color, row


def _positions(pattern: Pattern, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The index among ``pattern``'s stored entries of each (rows[k], cols[k]) (present)."""
    keys = pattern.row_ids() * pattern.shape[1] + pattern.indices  # sorted: CSR order
    return np.searchsorted(keys, rows * pattern.shape[1] + cols)
