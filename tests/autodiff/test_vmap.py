"""``vmap``: batching as a graph transform, beside the op table's per-op checks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import graphad as ga

RNG = np.random.default_rng(9)


def test_per_example_gradients_of_a_small_model() -> None:
    """The gradient of each example's loss, as one batched graph, equals the loop."""
    w = ga.placeholder("w", (3, 2))
    x = ga.placeholder("x", (3,))
    t = ga.placeholder("t", (2,))
    loss = ga.sum((ga.tanh(x @ w) - t) ** 2)
    g = ga.gradients(loss, w)
    xs, ts = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 2))
    per_example = ga.vmap(g, {x: xs, t: ts})
    wv = RNG.standard_normal((3, 2))
    got = ga.evaluate(per_example, {w: wv})
    assert got.shape == (5, 3, 2)
    for i in range(5):
        np.testing.assert_allclose(got[i], ga.evaluate(g, {w: wv, x: xs[i], t: ts[i]}))


def test_batched_graphs_differentiate_and_batch_again() -> None:
    x = ga.placeholder("x", (4,))
    y = ga.sum(ga.sin(x) * x)
    xb = ga.placeholder("xb", (3, 4))
    yb = ga.vmap(y, {x: xb})  # (3,)
    g = ga.gradients(ga.sum(yb), xb)  # (3, 4): per-row gradients
    xbb = ga.placeholder("xbb", (2, 3, 4))
    ybb = ga.vmap(yb, {xb: xbb})  # (2, 3)
    v = RNG.standard_normal((2, 3, 4))
    got_g, got_y = ga.evaluate([g, ybb], {xb: v[0], xbb: v})
    np.testing.assert_allclose(got_g, np.cos(v[0]) * v[0] + np.sin(v[0]), rtol=1e-14)
    np.testing.assert_allclose(got_y, np.sum(np.sin(v) * v, axis=-1), rtol=1e-14)


def test_outputs_that_do_not_depend_on_the_batch_are_repeated() -> None:
    x = ga.placeholder("x", (2,))
    c = ga.placeholder("c", (2,))
    yb, cb = ga.vmap([x * c, c + 1], {x: np.ones((4, 2))})
    got_y, got_c = ga.evaluate([yb, cb], {c: np.array([2.0, 3.0])})
    np.testing.assert_array_equal(got_y, np.tile([2.0, 3.0], (4, 1)))
    np.testing.assert_array_equal(got_c, np.tile([3.0, 4.0], (4, 1)))


@dataclass(frozen=True)
class Cube(ga.Op):
    def infer(self, x: ga.TensorType) -> ga.TensorType:
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        return x**3


def test_an_op_without_a_batch_rule_runs_once_per_example() -> None:
    x = ga.placeholder("x", (3,))
    y = Cube()(x) + 1
    v = RNG.standard_normal((4, 3))
    yb = ga.vmap(y, {x: v})
    np.testing.assert_allclose(ga.evaluate(yb, {}), v**3 + 1)


def test_an_op_without_a_batch_rule_needs_a_static_batch_size() -> None:
    x = ga.placeholder("x", (3,))
    with pytest.raises(ga.BatchingError, match="cube: no batch rule"):
        ga.vmap(Cube()(x), {x: ga.placeholder("xb", (None, 3))})


def test_a_batch_of_unknown_size_batches_by_the_rules() -> None:
    x = ga.placeholder("x", (3,))
    a = ga.constant(RNG.standard_normal((3, 2)))
    xb = ga.placeholder("xb", (None, 3))
    yb = ga.vmap(ga.softmax(x @ a), {x: xb})
    v = RNG.standard_normal((5, 3))
    e = np.exp(v @ a.op.value)
    np.testing.assert_allclose(ga.evaluate(yb, {xb: v}), e / e.sum(-1, keepdims=True))


def test_bad_batches_are_named() -> None:
    x = ga.placeholder("x", (3,))
    z = ga.placeholder("z", (2,))
    with pytest.raises(ga.BatchingError, match=r"batch of x is .* but should have shape \(B, 3\)"):
        ga.vmap(x * 2, {x: np.ones((4, 2))})
    with pytest.raises(ga.BatchingError, match=r"differ in size: \[4, 5\]"):
        ga.vmap(ga.sum(x) + ga.sum(z), {x: np.ones((4, 3)), z: np.ones((5, 2))})
    with pytest.raises(ga.BatchingError, match="non-empty dict"):
        ga.vmap(x, {})
    assert issubclass(ga.BatchingError, ga.GraphError)


def test_a_batched_derivative_keeps_its_pass_for_drawing() -> None:
    """vmap keeps each node's origin, so a batched gradient is drawn as a gradient."""
    from graphad.viz import to_networkx

    x = ga.placeholder("x", (3,))
    g = ga.gradients(ga.sum(ga.exp(x) * x), x)
    gb = ga.vmap(g, {x: np.ones((2, 3))})
    assert gb.origin.kind == "reverse"
    kinds = {data["kind"] for _, data in to_networkx(gb).nodes(data=True)}
    assert "reverse" in kinds


INDEXES = {  # x of shape (3, 4, 5); i, j index arrays of shape (2,) or (B, 2) when batched
    "take_along_axis": lambda x, i, j: ga.take_along_axis(x, ga.reshape(i, (1, 2, 1)), 1),
    "adjacent": lambda x, i, j: x[:, i, j],
    "separated": lambda x, i, j: x[i, :, j],
    "ellipsis": lambda x, i, j: x[..., i],
    "int beside": lambda x, i, j: x[1, :, i],
    "new axis": lambda x, i, j: x[None, :, i, j],
}


@pytest.mark.parametrize("x_batched", [True, False])
@pytest.mark.parametrize("name", list(INDEXES))
def test_batched_index_arrays_gather_and_scatter_without_a_loop(name: str, x_batched: bool) -> None:
    """x[index] with a batched index (x batched or shared), and its adjoint scatter, equal
    the per-example loop, and the batched graph does not grow with the batch."""
    rng = np.random.default_rng(0)
    x = ga.placeholder("x", (3, 4, 5))
    i, j = ga.placeholder("i", (2,), np.int64), ga.placeholder("j", (2,), np.int64)
    u = ga.placeholder("u", INDEXES[name](x, i, j).shape)
    y = INDEXES[name](x, i, j)
    (g,) = ga.gradients(y, [x], grad_y=u)

    def batched(size: int) -> tuple[list[ga.Node], dict[ga.Node, ga.Node]]:
        holders = {
            i: ga.placeholder("ib", (size, 2), np.int64),
            j: ga.placeholder("jb", (size, 2), np.int64),
            u: ga.placeholder("ub", (size, *u.shape)),
        }
        if x_batched:
            holders[x] = ga.placeholder("xb", (size, 3, 4, 5))
        return ga.vmap([y, g], holders), holders

    assert len(ga.ir.topo_sort(batched(2)[0])) == len(ga.ir.topo_sort(batched(5)[0]))
    (yb, gb), holders = batched(3)
    xv = rng.standard_normal((3, 3, 4, 5) if x_batched else (3, 4, 5))
    iv, jv = rng.integers(0, 3, (3, 2)), rng.integers(0, 5, (3, 2))
    uv = rng.standard_normal((3, *u.shape))
    feeds = {holders[i]: iv, holders[j]: jv, holders[u]: uv, holders.get(x, x): xv}
    got_y, got_g = ga.Executor([yb, gb]).run(feeds)
    loop = ga.Executor([y, g])
    for k in range(3):
        want_y, want_g = loop.run({x: xv[k] if x_batched else xv, i: iv[k], j: jv[k], u: uv[k]})
        np.testing.assert_array_equal(got_y[k], want_y)
        np.testing.assert_allclose(got_g[k], want_g)


def _models() -> dict[str, tuple]:
    """Small models with a matrix, a vector and the ops whose rules the compiler rewrites
    (quotients, strong zeros, matmul of a batch, negations, reshapes)."""
    a = ga.placeholder("a", (4, 3))
    x = ga.placeholder("x", (3,))
    s = ga.tanh(a @ x)
    return {
        "tanh": (ga.sum(s * s) + 0.5 * ga.sum(x * x), a, x),
        "quotient": (ga.sum(ga.log(1 + x * x) / (2 + ga.sin(a @ x)).sum()), a, x),
        "softmax": (
            ga.sum(ga.exp(a @ x) / ga.sum(ga.exp(a @ x))) * ga.sum(ga.sqrt(x * x + 1)),
            a,
            x,
        ),
    }


@pytest.mark.parametrize("name", ["tanh", "quotient", "softmax"])
def test_batched_graphs_optimised_agree_with_a_loop_over_the_plain_graph(name: str) -> None:
    y, a, x = _models()[name]
    g = ga.gradients(y, x)
    v = ga.placeholder("v", (3,))
    h = ga.jvp(g, x, v)  # a Hessian-vector product, batched over x and v
    av, xs, vs = (
        RNG.standard_normal((4, 3)),
        RNG.standard_normal((5, 3)),
        RNG.standard_normal((5, 3)),
    )
    batched = ga.vmap([y, g, h], {x: xs, v: vs})
    got = ga.evaluate(ga.optimize(batched), {a: av}, optimize=True)
    for i in range(5):
        want = ga.evaluate([y, g, h], {a: av, x: xs[i], v: vs[i]}, optimize=False)
        for k in range(3):
            np.testing.assert_allclose(got[k][i], want[k], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["tanh", "quotient", "softmax"])
@pytest.mark.parametrize("batch_size", [None, 2])
def test_jacobians_and_hessians_optimised_agree_with_the_plain_graph(
    name: str, batch_size: int | None
) -> None:
    y, a, x = _models()[name]
    feeds = {a: RNG.standard_normal((4, 3)), x: RNG.standard_normal(3)}
    built = [ga.hessian(y, x, batch_size=batch_size), ga.hessian(y, x, mode="reverse")]
    for mode in ("forward", "reverse"):
        built.append(ga.jacobian(ga.tanh(a @ x) / (1 + x @ x), x, mode=mode, batch_size=batch_size))
        built.append(ga.jacobian(ga.gradients(y, a), a, mode=mode, batch_size=batch_size))
    plain = ga.evaluate(built, feeds, optimize=False)
    fast = ga.evaluate(ga.optimize(built), feeds, optimize=True)
    for p, f in zip(plain, fast):
        assert p.shape == f.shape
        np.testing.assert_allclose(f, p, rtol=1e-12, atol=1e-12)
