"""Sparse Jacobians and Hessians: ``jacobian``/``hessian(..., sparse=True)``, ``pattern=``,
``ga.sparsity``, ``ga.coloring``, and the sparse matrix value they evaluate to."""

from __future__ import annotations

import subprocess
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import scipy.sparse

import graphad as ga
from graphad.ir import TensorType, topo_sort


def grid_energy(u: ga.Node, k: int) -> ga.Node:
    """Σ (∇u)² + Σ u⁴ on a k × k grid: a 5-point stencil Hessian."""
    grid = ga.reshape(u, (k, k))
    dx, dy = grid[1:, :] - grid[:-1, :], grid[:, 1:] - grid[:, :-1]
    return ga.sum(dx * dx) + ga.sum(dy * dy) + ga.sum(grid**4)


def chain(x: ga.Node) -> ga.Node:
    """A tridiagonal Jacobian: yᵢ = sin(xᵢ₋₁·xᵢ) + xᵢ₊₁² (with zero padding)."""
    padded = ga.pad(x, 1)
    return ga.sin(padded[:-2] * x) + padded[2:] ** 2


def dense_reverse(y: ga.Node, x: Any) -> ga.Node:
    """The dense Jacobian as uncompressed VJPs, for reference."""
    return ga.jacobian(y, x, mode="reverse")


RNG = np.random.default_rng(3)


def test_a_tridiagonal_jacobian_takes_three_jvps() -> None:
    x = ga.placeholder("x", (30,))
    y = chain(x)
    c = ga.coloring(y, x)
    assert (c.mode, c.kind, c.count) == ("forward", "column", 3)
    j = ga.jacobian(y, x, sparse=True)
    assert j.type == ga.SparseType(c.pattern, np.float64)
    assert j.type.shape == (30, 30) and j.type.nnz == 88
    xv = RNG.uniform(-1, 1, 30)
    got, expected = ga.evaluate([j, dense_reverse(y, x)], {x: xv})
    assert isinstance(got, scipy.sparse.csr_array) and got.has_sorted_indices
    np.testing.assert_array_equal(got.indptr, c.pattern.indptr)
    np.testing.assert_array_equal(got.indices, c.pattern.indices)
    np.testing.assert_allclose(got.toarray(), expected, rtol=1e-14, atol=0)
    batched = [n for n in topo_sort([j]) if n.origin.kind == "forward" and n.ndim == 2]
    assert max(n.shape[0] for n in batched) == 3  # three tangents, not thirty


def test_sparsity_and_coloring_are_inspectable() -> None:
    x = ga.placeholder("x", (6,))
    pattern = ga.sparsity(x[1:] * x[:-1], x)
    assert isinstance(pattern, scipy.sparse.csr_array) and pattern.dtype == bool
    np.testing.assert_array_equal(pattern.toarray(), np.eye(5, 6, 0, bool) | np.eye(5, 6, 1, bool))
    h = ga.hessian_sparsity(ga.sum(x[1:] * x[:-1]), x)
    np.testing.assert_array_equal(
        h.toarray(), np.eye(6, k=1, dtype=bool) | np.eye(6, k=-1, dtype=bool)
    )
    # a linear function has an empty Hessian: its gradient does not depend on x
    assert ga.hessian_sparsity(ga.sum(ga.constant(np.arange(6.0)) * x), x).nnz == 0


@pytest.mark.parametrize("k", [4, 7])
def test_the_grid_hessian_is_a_star_coloured_stencil(k: int) -> None:
    u = ga.placeholder("u", (k * k,))
    e = grid_energy(u, k)
    c = ga.coloring(e, u, hessian=True)
    assert c.kind == "star" and c.count <= 6
    assert c.pattern.nnz == 5 * k * k - 4 * k  # the 5-point stencil, the border's cut
    h = ga.hessian(e, u, sparse=True)
    uv = RNG.uniform(-1, 1, k * k)
    got, expected = ga.evaluate([h, ga.hessian(e, u, mode="reverse")], {u: uv})
    np.testing.assert_allclose(got.toarray(), expected, rtol=1e-13, atol=1e-13)
    for options in ({"coloring": "column"}, {"mode": "reverse"}):  # reverse over reverse
        other = ga.evaluate(ga.hessian(e, u, sparse=True, **options), {u: uv})
        np.testing.assert_allclose(other.toarray(), expected, rtol=1e-13, atol=1e-13)


def test_the_sparse_hessian_graph_does_not_grow_with_n() -> None:
    sizes = set()
    for k in (6, 20):
        u = ga.placeholder("u", (k * k,))
        h = ga.hessian(grid_energy(u, k), u, sparse=True)
        sizes.add(len(ga.Executor(h).order))
    assert len(sizes) == 1


def test_several_inputs_give_their_columns_side_by_side() -> None:
    a, b = ga.placeholder("a", (4,)), ga.placeholder("b", (2, 3))
    y = ga.concatenate([a * ga.sum(b, axis=1)[0], ga.reshape(b, (-1,)) ** 2])
    av, bv = RNG.standard_normal(4), RNG.standard_normal((2, 3))
    feeds = {a: av, b: bv}
    dense = [np.reshape(ga.evaluate(dense_reverse(y, v), feeds), (10, -1)) for v in (a, b)]
    for mode in ("forward", "reverse"):
        j = ga.evaluate(ga.jacobian(y, [a, b], sparse=True, mode=mode), feeds)
        assert j.shape == (10, 10)
        np.testing.assert_allclose(j.toarray(), np.hstack(dense), rtol=1e-14)
    s = ga.sum(ga.sin(y))
    h = ga.evaluate(ga.hessian(s, [a, b], sparse=True), feeds)
    blocks = ga.evaluate([[ga.hessian(s, a), None], [None, ga.hessian(s, b)]], feeds)
    np.testing.assert_allclose(h.toarray()[:4, :4], blocks[0][0], rtol=1e-13)
    np.testing.assert_allclose(h.toarray()[4:, 4:], np.reshape(blocks[1][1], (6, 6)), rtol=1e-13)


def test_a_given_pattern_replaces_detection() -> None:
    x = ga.placeholder("x", (8,))
    y = chain(x)
    known = ga.sparsity(y, x)
    xv = RNG.uniform(-1, 1, 8)
    expected = ga.evaluate(dense_reverse(y, x), {x: xv})
    given = ga.evaluate(ga.jacobian(y, x, sparse=True, pattern=known.toarray()), {x: xv})
    np.testing.assert_allclose(given.toarray(), expected, rtol=1e-14)
    # with sparse=False the pattern compresses a dense result
    dense = ga.evaluate(ga.jacobian(y, x, pattern=known), {x: xv})
    assert isinstance(dense, np.ndarray) and dense.shape == (8, 8)
    np.testing.assert_allclose(dense, expected, rtol=1e-14)
    with pytest.raises(ga.DifferentiationError, match=r"jacobian: pattern: .*expected \(8, 8\)"):
        ga.jacobian(y, x, sparse=True, pattern=np.ones((8, 9), bool))


@pytest.mark.parametrize("batch_size", [1, 2, 5])
def test_colours_run_in_chunks(batch_size: int) -> None:
    u = ga.placeholder("u", (25,))
    e = grid_energy(u, 5)
    uv = RNG.uniform(-1, 1, 25)
    whole, chunked = ga.evaluate(
        [ga.hessian(e, u, sparse=True), ga.hessian(e, u, sparse=True, batch_size=batch_size)],
        {u: uv},
    )
    np.testing.assert_allclose(chunked.toarray(), whole.toarray(), rtol=1e-14)


def test_the_mode_with_fewer_colours_wins() -> None:
    x = ga.placeholder("x", (20,))
    fan_in = ga.concatenate([ga.reshape(ga.sum(x), (1,)), x[:3]])  # a dense row: 20 columns
    assert ga.coloring(fan_in, x).mode == "reverse"
    assert ga.coloring(fan_in, x).count == 2  # the dense row, and three rows of one column
    assert ga.coloring(fan_in, x, mode="forward").count == 20
    xv = RNG.standard_normal(20)
    np.testing.assert_allclose(
        ga.evaluate(ga.jacobian(fan_in, x, sparse=True), {x: xv}).toarray(),
        ga.evaluate(dense_reverse(fan_in, x), {x: xv}),
    )


def test_an_arrowhead_hessian_takes_two_star_colours() -> None:
    x = ga.placeholder("x", (12,))
    y = x[0] * ga.sum(x[1:] ** 3)  # couples x₀ with every other entry, the rest diagonal
    c = ga.coloring(y, x, hessian=True)
    assert (c.kind, c.count) == ("star", 2)
    assert ga.coloring(y, x, hessian=True, kind="column").count == 12
    xv = RNG.standard_normal(12)
    got = ga.evaluate(ga.hessian(y, x, sparse=True), {x: xv})
    np.testing.assert_allclose(got.toarray(), ga.evaluate(ga.hessian(y, x), {x: xv}), rtol=1e-13)


def test_cond_unites_its_branches() -> None:
    x = ga.placeholder("x", (5,))
    p = ga.placeholder("p", (), "bool")
    y = ga.cond(p, lambda v: v * v[0], lambda v: ga.exp(v[::-1]), x)
    expected = np.eye(5, dtype=bool) | np.eye(5, dtype=bool)[::-1]
    expected[:, 0] = True
    np.testing.assert_array_equal(ga.sparsity(y, x).toarray(), expected)
    j = ga.jacobian(y, x, sparse=True)
    xv = RNG.standard_normal(5)
    for pv in (True, False):
        got, ref = ga.evaluate([j, dense_reverse(y, x)], {x: xv, p: pv})
        np.testing.assert_allclose(got.toarray(), ref, rtol=1e-14)


@dataclass(frozen=True)
class Twice(ga.Op):
    """A user's op stating no sparsity rule."""

    def infer(self, x: TensorType) -> TensorType:
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        return 2.0 * x

    def jvp(self, node: ga.Node, t: Any) -> ga.Node:
        return 2.0 * t[0]

    def vjp(self, node: ga.Node, g: ga.Node) -> tuple[ga.Node]:
        return (2.0 * g,)


def test_an_op_without_a_rule_is_dense_and_named() -> None:
    x = ga.placeholder("x", (4,))
    y = Twice()(x) * x
    with pytest.warns(ga.SparsityWarning, match=r"no sparsity rule for twice \(node twice_\d+"):
        pattern = ga.sparsity(y, x)
    assert pattern.nnz == 16
    with pytest.warns(ga.SparsityWarning):
        c = ga.coloring(y, x)
    assert c.no_rule and "twice" in c.no_rule[0]
    with pytest.warns(ga.SparsityWarning):
        j = ga.jacobian(y, x, sparse=True)
    xv = RNG.standard_normal(4)
    np.testing.assert_allclose(ga.evaluate(j, {x: xv}).toarray(), np.diag(4 * xv))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ga.sparsity(x * x, x)  # every rule stated: no warning


def test_a_sparse_matrix_is_refused_by_dense_ops_and_converts() -> None:
    x = ga.placeholder("x", (5,))
    j = ga.jacobian(chain(x), x, sparse=True)
    with pytest.raises(ga.DTypeError, match=r"sparse\(5, 5; 13 stored\).*ga\.todense"):
        ga.sum(j)
    with pytest.raises(ga.DTypeError, match="todense"):
        j + 1
    xv = RNG.uniform(-1, 1, 5)
    dense, values, ref = ga.evaluate(
        [ga.todense(j), ga.sparse_values(j), dense_reverse(chain(x), x)], {x: xv}
    )
    np.testing.assert_allclose(dense, ref, rtol=1e-14)
    pattern = j.type.pattern
    np.testing.assert_array_equal(values, ref[pattern.row_ids(), pattern.indices])


def test_derivatives_flow_through_the_sparse_result() -> None:
    x = ga.placeholder("x", (6,))
    w = ga.constant(RNG.standard_normal((6, 6)))
    through = ga.gradients(ga.sum(ga.todense(ga.jacobian(chain(x), x, sparse=True)) * w), x)
    direct = ga.gradients(ga.sum(ga.jacobian(chain(x), x, mode="reverse") * w), x)
    xv = RNG.uniform(-1, 1, 6)
    np.testing.assert_allclose(*ga.evaluate([through, direct], {x: xv}), rtol=1e-13)


def test_each_run_returns_a_matrix_of_its_own() -> None:
    x = ga.placeholder("x", (5,))
    run = ga.Executor(ga.jacobian(chain(x), x, sparse=True), debug=True)  # type checks too
    first = run.run({x: np.ones(5)})
    expected = first.toarray()
    first.data[:] = 7
    first.indices[:] = 0
    second = run.run({x: np.ones(5)})
    assert second.has_canonical_format
    np.testing.assert_array_equal(second.toarray(), expected)


def test_a_y_independent_of_x_has_an_empty_pattern() -> None:
    x = ga.placeholder("x", (3,))
    j = ga.jacobian(ga.constant(np.ones(2)) + ga.stop_gradient(x[:2]), x, sparse=True)
    value = ga.evaluate(j, {x: np.ones(3)})
    assert value.shape == (2, 3) and value.nnz == 0


def test_bad_arguments_are_named() -> None:
    x = ga.placeholder("x", (3,))
    with pytest.raises(ga.DifferentiationError, match="jacobian: mode must be"):
        ga.jacobian(x * x, x, sparse=True, mode="sideways")
    with pytest.raises(ga.DifferentiationError, match="hessian: coloring must be"):
        ga.hessian(ga.sum(x * x), x, sparse=True, coloring="acyclic")
    with pytest.raises(ga.DifferentiationError, match=r"hessian: y = .* must be a scalar"):
        ga.hessian(x * x, x, sparse=True)
    with pytest.raises(ga.DifferentiationError, match="needs a fully known shape"):
        ga.jacobian(x * x, ga.placeholder("z", (None,)), sparse=True)
    with pytest.raises(ga.DifferentiationError, match="order must be one of"):
        ga.coloring(x * x, x, order="random")


def test_import_graphad_does_not_import_scipy() -> None:
    code = "import sys, graphad; print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_on_dask_a_sparse_matrix_is_one_lazy_object() -> None:
    pytest.importorskip("dask.array")
    x = ga.placeholder("x", (6,))
    run = ga.Executor([ga.jacobian(chain(x), x, sparse=True), chain(x)], backend="dask")
    xv = RNG.uniform(-1, 1, 6)
    lazy, computed = run.run({x: xv}), run.run({x: xv}, compute=True)
    assert not isinstance(lazy[0], scipy.sparse.csr_array)  # not computed until asked
    expected = ga.evaluate(dense_reverse(chain(x), x), {x: xv})
    np.testing.assert_allclose(computed[0].toarray(), expected, rtol=1e-14)
