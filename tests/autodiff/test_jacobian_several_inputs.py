"""``jacobian(y, [x1, x2, ...])`` and ``hessian(y, [x1, ...])``: one block per input (JAX's
argnums), in both modes, against finite differences and the single-input transforms."""

from __future__ import annotations

import numpy as np
import pytest

import graphad as ga
from graphad.ir import Constant, Role, topo_sort
from graphad.numerical import numerical_jacobian

RNG = np.random.default_rng(21)
MODES = ["forward", "reverse", "auto"]


def model() -> tuple[ga.Node, list[ga.Node], dict[ga.Node, np.ndarray]]:
    """y (2, 3) from a matrix, a vector and a scalar, each used non-linearly and together."""
    a = ga.placeholder("a", (3, 4))
    v = ga.placeholder("v", (4,))
    s = ga.placeholder("s", ())
    y = ga.reshape(ga.tanh(a @ v) * s, (3, 1)) * ga.stack([ga.sum(a * a), ga.exp(s)])
    y = ga.transpose(y)  # (2, 3)
    feeds = {a: RNG.standard_normal((3, 4)), v: RNG.standard_normal(4), s: np.array(0.7)}
    return y, [a, v, s], feeds


@pytest.mark.parametrize("mode", MODES)
def test_each_block_is_the_jacobian_of_its_input(mode: str) -> None:
    y, xs, feeds = model()
    blocks = ga.jacobian(y, xs, mode=mode)
    assert isinstance(blocks, list) and [b.shape for b in blocks] == [
        (2, 3, 3, 4),
        (2, 3, 4),
        (2, 3),
    ]
    got = ga.Executor(blocks).run(feeds)
    for x, block in zip(xs, got):
        others = {k: v for k, v in feeds.items() if k is not x}
        expected = numerical_jacobian(y, x, others | {x: feeds[x]})
        np.testing.assert_allclose(block, expected, rtol=1e-7, atol=1e-8)
        single = ga.Executor(ga.jacobian(y, x, mode=mode)).run(feeds)
        np.testing.assert_allclose(block, single, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("batch_size", [1, 4, 7])
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_chunks_of_the_joint_basis_give_the_same_blocks(mode: str, batch_size: int) -> None:
    """The chunks cut across the blocks (17 inputs, 6 outputs, in chunks of 4 or 7)."""
    y, xs, feeds = model()
    whole = ga.Executor(ga.jacobian(y, xs, mode=mode)).run(feeds)
    chunked = ga.Executor(ga.jacobian(y, xs, mode=mode, batch_size=batch_size)).run(feeds)
    for a, b in zip(whole, chunked):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15)


def test_a_tuple_of_one_input_gives_a_list_of_one_block() -> None:
    x = ga.placeholder("x", (3,))
    blocks = ga.jacobian(ga.sin(x), (x,))
    assert isinstance(blocks, list) and len(blocks) == 1
    np.testing.assert_allclose(ga.evaluate(blocks[0], {x: np.ones(3)}), np.diag(np.cos(np.ones(3))))


def test_an_input_y_does_not_depend_on_gets_a_zero_block() -> None:
    x, unused = ga.placeholder("x", (3,)), ga.placeholder("unused", (2,))
    for mode in MODES:
        jx, ju = ga.jacobian(ga.exp(x), [x, unused], mode=mode)
        got = ga.Executor([jx, ju]).run({x: np.zeros(3), unused: np.ones(2)})
        np.testing.assert_array_equal(got[0], np.eye(3))
        np.testing.assert_array_equal(got[1], np.zeros((3, 2)))


def _basis_sizes(node: ga.Node) -> set[int]:
    """The lengths of the identity blocks the Jacobian pushed through (its batch)."""
    sizes = set()
    for n in topo_sort([node]):
        if isinstance(n.op, Constant) and n.ndim and n.ndim >= 2 and n.dtype.kind == "f":
            flat = n.op.value.reshape(len(n.op.value), -1)
            if set(np.unique(flat)) <= {0.0, 1.0} and np.all(flat.sum(axis=1) <= 1):
                sizes.add(len(flat))
    return sizes


def test_auto_counts_every_block_and_takes_reverse_for_few_outputs() -> None:
    """BA's per-observation Jacobian: 2 residuals of 11 + 3 + 1 inputs -> 2 cotangents, not
    15 tangents (and forward when the inputs together are fewer than the outputs)."""
    c, p, w = (ga.placeholder(k, s) for k, s in [("c", (11,)), ("p", (3,)), ("w", (1,))])
    r = (ga.sum(c[0:3] * p) + c[3:5] * ga.sum(c)) * w
    auto = ga.jacobian(r, [c, p, w])
    assert _basis_sizes(auto[0]) == {2}
    forward = ga.jacobian(r, [c, p, w], mode="forward")
    assert _basis_sizes(forward[0]) == {15}
    many = ga.concatenate([r, r, r, r, r, r, r, r])  # 16 outputs > 15 inputs
    assert _basis_sizes(ga.jacobian(many, [c, p, w])[0]) == {15}


@pytest.mark.parametrize("mode", MODES)
def test_hessian_blocks_are_the_mixed_second_derivatives(mode: str) -> None:
    """y = xᵀAz + Σx³ + (Σz)² has ∂²y/∂x² = diag(6x), ∂²y/∂x∂z = A, ∂²y/∂z² = 2·11ᵀ."""
    x, z = ga.placeholder("x", (3,)), ga.placeholder("z", (2,))
    a = RNG.standard_normal((3, 2))
    y = x @ ga.constant(a) @ z + ga.sum(x**3) + ga.sum(z) ** 2
    blocks = ga.hessian(y, [x, z], mode=mode)
    assert [[b.shape for b in row] for row in blocks] == [[(3, 3), (3, 2)], [(2, 3), (2, 2)]]
    xv, zv = RNG.standard_normal(3), RNG.standard_normal(2)
    (hxx, hxz), (hzx, hzz) = ga.Executor(blocks).run({x: xv, z: zv})
    np.testing.assert_allclose(hxx, np.diag(6 * xv), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(hxz, a, rtol=1e-14)
    np.testing.assert_allclose(hzx, a.T, rtol=1e-14)
    np.testing.assert_allclose(hzz, np.full((2, 2), 2.0), rtol=1e-14)


@pytest.mark.parametrize("mode", MODES)
def test_hessian_blocks_of_matrices_against_finite_differences(mode: str) -> None:
    w, b = ga.placeholder("w", (3, 2)), ga.placeholder("b", (2,))
    data = ga.constant(RNG.standard_normal((5, 3)))
    y = ga.sum(ga.tanh(data @ w + b) ** 2)
    feeds = {w: RNG.standard_normal((3, 2)), b: RNG.standard_normal(2)}
    blocks = ga.hessian(y, [w, b], mode=mode)
    got = ga.Executor(blocks).run(feeds)
    for i, xi in enumerate([w, b]):
        gi = ga.gradients(y, xi)
        for k, xk in enumerate([w, b]):
            expected = numerical_jacobian(gi, xk, feeds)
            np.testing.assert_allclose(got[i][k], expected, rtol=1e-6, atol=1e-7)
    single = ga.Executor(ga.hessian(y, w, mode=mode)).run(feeds)
    np.testing.assert_allclose(got[0][0], single, rtol=1e-13, atol=1e-14)


def test_bad_lists_of_inputs_are_named() -> None:
    x = ga.placeholder("x", (3,))
    y = ga.sin(x)
    with pytest.raises(ga.DifferentiationError, match=r"^jacobian: x is an empty list"):
        ga.jacobian(y, [])
    with pytest.raises(ga.DifferentiationError, match=r"^jacobian: xs\[1\] must be a Node"):
        ga.jacobian(y, [x, np.ones(3)])
    with pytest.raises(ga.DifferentiationError, match=r"^hessian: x is an empty list"):
        ga.hessian(ga.sum(y), [])
    unknown = ga.placeholder("u", (None,))
    with pytest.raises(ga.DifferentiationError, match=r"^jacobian: x = u needs a fully known"):
        ga.jacobian(y, [x, unknown])
    with pytest.raises(ga.DifferentiationError, match=r"^jacobian: mode must be"):
        ga.jacobian(y, [x], mode="sideways")


def test_sparse_is_one_matrix_and_a_pattern_alone_gives_the_dense_blocks() -> None:
    """sparse=True (issue 19): the inputs' columns side by side in one matrix; a pattern
    without sparse: the same blocks as the dense jacobian."""
    y, xs, feeds = model()
    flat = ga.reshape(y, (-1,))
    dense = ga.Executor(ga.jacobian(flat, xs)).run(feeds)
    sparse = ga.Executor(ga.jacobian(flat, xs, sparse=True)).run(feeds)
    assert sparse.shape == (6, 12 + 4 + 1)
    side_by_side = np.hstack([b.reshape(6, -1) for b in dense])
    np.testing.assert_allclose(sparse.toarray(), side_by_side, rtol=1e-13, atol=1e-15)
    given = ga.jacobian(flat, xs, pattern=np.ones((6, 17), bool))
    assert [b.shape for b in given] == [(6, 3, 4), (6, 4), (6,)]
    for got, want in zip(ga.Executor(given).run(feeds), dense):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


def test_sparse_hessian_of_several_inputs_is_their_blocks_side_by_side() -> None:
    a, b = ga.placeholder("a", (3,)), ga.placeholder("b", (2,))
    f = ga.sum(a * a * b[0]) + ga.sum(b**3) + a[0] * b[1]
    feeds = {a: np.array([1.0, 2.0, 3.0]), b: np.array([4.0, 5.0])}
    blocks = ga.Executor(ga.hessian(f, [a, b])).run(feeds)
    sparse = ga.Executor(ga.hessian(f, [a, b], sparse=True)).run(feeds)
    np.testing.assert_allclose(sparse.toarray(), np.block(blocks), rtol=1e-14)
    given = ga.Executor(ga.hessian(f, [a, b], pattern=np.ones((5, 5), bool))).run(feeds)
    np.testing.assert_allclose(np.block(given), np.block(blocks), rtol=1e-14)


def test_blocks_record_what_they_are() -> None:
    """Each block plays its role (issue 17): ∂y/∂xₖ for a Jacobian; for a Hessian ∂²y/∂xᵢ²
    on the diagonal and the Jacobian of xᵢ's gradient with respect to xₖ off it."""
    y, xs, _ = model()
    for mode in MODES:
        for x, block in zip(xs, ga.jacobian(y, xs, mode=mode)):
            assert block.roles == (Role("jacobian", y, wrt=x),)
            assert block.origin.transform == "jacobian"
    a, b = ga.placeholder("a", (3,)), ga.placeholder("b", (2,))
    f = ga.sum(a * a * b[0])
    h = ga.hessian(f, [a, b])
    assert h[0][0].roles == (Role("hessian", f, wrt=a),)
    assert h[1][1].roles == (Role("hessian", f, wrt=b),)
    (kind, of, _, wrt), *_ = h[0][1].roles
    assert (kind, wrt) == ("jacobian", b) and of.roles[0].kind == "adjoint"
    assert of.roles[0].of is a
