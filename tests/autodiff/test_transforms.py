"""jacobian, hessian, hvp, vjp, jvp, derivative and adjoints: closed forms, finite differences.

Every Jacobian case is built with non-square shapes so that a swapped axis cannot pass, and is
checked in forward, reverse and auto mode against its closed form and against
``graphad.numerical.numerical_jacobian`` of the same graph.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad import Node
from graphad.ir import is_constant, topo_sort
from graphad.numerical import numerical_jacobian

RNG = np.random.default_rng(1234)
A43 = RNG.standard_normal((4, 3))
B34 = RNG.standard_normal((3, 4))
C23 = RNG.standard_normal((2, 3))
C4 = RNG.standard_normal(4)
V3 = RNG.standard_normal(3)


def kinds(node: Node) -> set[str]:
    """The passes that made the nodes reachable from ``node``."""
    return {n.origin.kind for n in topo_sort([node])}


def structure(node: Node) -> list[tuple[Any, tuple[int, ...]]]:
    """The graph below ``node`` as (op, input positions) in topological order."""
    order = topo_sort([node])
    index = {n: i for i, n in enumerate(order)}
    return [(n.op, tuple(index[i] for i in n.inputs)) for n in order]


# -- Jacobian cases -------------------------------------------------------------------------
@dataclass
class Case:
    """y = build(x) at x = x0; ``expected(x0)`` is the closed-form Jacobian."""

    name: str
    x_shape: tuple[int, ...]
    build: Callable[[Node], Node]
    expected: Callable[[np.ndarray], np.ndarray]
    x0: np.ndarray


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def _softmax_jacobian(x: np.ndarray) -> np.ndarray:
    s = _softmax(x)
    return np.diag(s) - np.outer(s, s)


def _matrix_times_vector(m: np.ndarray) -> np.ndarray:
    """y_i = Σ_j M_ij v_j: ∂y_i/∂M_kj = δ_ik v_j"""
    return np.einsum("ik,j->ikj", np.eye(2), V3)


def _outer_jacobian(x: np.ndarray) -> np.ndarray:
    """y_ij = x_i c_j: ∂y_ij/∂x_k = δ_ik c_j"""
    return np.einsum("ik,j->ijk", np.eye(3), C4)


def _matmul_jacobian(x: np.ndarray) -> np.ndarray:
    """Y = X B: ∂Y_ij/∂X_kl = δ_ik B_lj"""
    return np.einsum("ik,lj->ijkl", np.eye(2), B34)


CASES = [
    Case(
        "scalar->scalar",
        (),
        lambda s: ga.sin(s) * s,
        lambda s: np.cos(s) * s + np.sin(s),
        np.array(0.7),
    ),
    Case(
        "vector->scalar",
        (3,),
        lambda x: ga.sum(ga.exp(x) * x),
        lambda x: np.exp(x) * (1 + x),
        np.array([0.3, -0.5, 1.1]),
    ),
    Case(
        "vector->vector A@x",
        (3,),
        lambda x: ga.matmul(ga.constant(A43), x),
        lambda x: A43,
        np.array([0.3, -0.5, 1.1]),
    ),
    Case(
        "vector->vector tanh",
        (3,),
        ga.tanh,
        lambda x: np.diag(1 - np.tanh(x) ** 2),
        np.array([0.3, -0.5, 1.1]),
    ),
    Case(
        "vector->vector softmax",
        (4,),
        ga.softmax,
        _softmax_jacobian,
        np.array([0.3, -0.5, 1.1, 0.2]),
    ),
    Case(
        "matrix->vector", (2, 3), lambda m: ga.matmul(m, ga.constant(V3)), _matrix_times_vector, C23
    ),
    Case(
        "vector->matrix",
        (3,),
        lambda x: ga.outer(x, ga.constant(C4)),
        _outer_jacobian,
        np.array([0.3, -0.5, 1.1]),
    ),
    Case(
        "scalar->matrix",
        (),
        lambda s: s * ga.constant(C23) + s * s,
        lambda s: C23 + 2 * s,
        np.array(0.7),
    ),
    Case("matrix->matrix", (2, 3), lambda m: ga.matmul(m, ga.constant(B34)), _matmul_jacobian, C23),
]


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_jacobian_matches_closed_form_and_finite_differences(case: Case, mode: str) -> None:
    x = ga.placeholder("x", shape=case.x_shape)
    y = case.build(x)
    jac = ga.jacobian(y, x, mode=mode)
    assert jac.shape == y.shape + x.shape
    value = ga.evaluate(jac, {x: case.x0})
    assert np.shape(value) == y.shape + x.shape
    np.testing.assert_allclose(value, case.expected(case.x0), rtol=1e-12, atol=1e-12)
    numeric = numerical_jacobian(y, x, {x: case.x0})
    np.testing.assert_allclose(value, numeric, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_forward_and_reverse_jacobians_agree(case: Case) -> None:
    x = ga.placeholder("x", shape=case.x_shape)
    y = case.build(x)
    forward = ga.jacobian(y, x, mode="forward")
    reverse = ga.jacobian(y, x, mode="reverse")
    fwd, rev = ga.evaluate([forward, reverse], {x: case.x0})
    np.testing.assert_allclose(fwd, rev, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_jacobian_modes_build_with_their_pass(case: Case) -> None:
    x = ga.placeholder("x", shape=case.x_shape)
    y = case.build(x)
    forward_kinds = kinds(ga.jacobian(y, x, mode="forward"))
    reverse_kinds = kinds(ga.jacobian(y, x, mode="reverse"))
    assert "forward" in forward_kinds and "reverse" not in forward_kinds
    assert "reverse" in reverse_kinds and "forward" not in reverse_kinds

    # auto: forward when x has fewer elements than y, reverse otherwise (ties included)
    n, m = math.prod(x.shape), math.prod(y.shape)
    picked = kinds(ga.jacobian(y, x))
    assert picked == (forward_kinds if n < m else reverse_kinds)


def test_auto_picks_forward_for_few_inputs_and_reverse_for_few_outputs() -> None:
    wide = ga.placeholder("wide", shape=(6,))
    narrow = ga.placeholder("narrow", shape=(2,))
    fan_out = ga.outer(narrow, ga.constant(np.arange(5.0)))  # R^2 -> R^(2x5)
    fan_in = ga.sum(ga.reshape(ga.sin(wide), (2, 3)), axis=1)  # R^6 -> R^2
    square = ga.sin(narrow)  # R^2 -> R^2: a tie goes to reverse
    assert "forward" in kinds(ga.jacobian(fan_out, narrow))
    assert "reverse" not in kinds(ga.jacobian(fan_out, narrow))
    assert "reverse" in kinds(ga.jacobian(fan_in, wide))
    assert "forward" not in kinds(ga.jacobian(fan_in, wide))
    assert "reverse" in kinds(ga.jacobian(square, narrow))


def test_jacobian_of_an_unconnected_x_is_zero_in_both_modes() -> None:
    x = ga.placeholder("x", shape=(3,))
    z = ga.placeholder("z", shape=(2,))
    y = ga.sin(z)
    for mode in ("forward", "reverse"):
        value = ga.evaluate(ga.jacobian(y, x, mode=mode), {z: np.ones(2), x: V3})
        np.testing.assert_array_equal(value, np.zeros((2, 3)))


def test_jacobian_rejects_a_bad_mode_and_an_unknown_shape() -> None:
    x = ga.placeholder("x", shape=(3,))
    with pytest.raises(ga.DifferentiationError, match="mode"):
        ga.jacobian(ga.sin(x), x, mode="sideways")
    batch = ga.placeholder("batch", shape=(None, 3))
    with pytest.raises(ga.DifferentiationError, match=r"fully known shape.*\(\?, 3\)"):
        ga.jacobian(ga.sin(batch), batch)


# -- Hessians ---------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_hessian_of_quadratic_form_is_a_plus_a_transpose(mode: str) -> None:
    a = RNG.standard_normal((3, 3))  # not symmetric, so A + Aᵀ differs from 2A
    x = ga.placeholder("x", shape=(3,))
    y = ga.matmul(x, ga.matmul(ga.constant(a), x))
    hess = ga.hessian(y, x, mode=mode)
    assert hess.shape == (3, 3)
    np.testing.assert_allclose(ga.evaluate(hess, {x: V3}), a + a.T, rtol=1e-12, atol=1e-12)


def rosenbrock(x: Node) -> Node:
    """Σ 100 (x_{i+1} - x_i²)² + (1 - x_i)²"""
    head, tail = x[:-1], x[1:]
    return ga.sum(100.0 * ga.square(tail - ga.square(head)) + ga.square(1.0 - head))


def rosenbrock_hessian(x: np.ndarray) -> np.ndarray:
    """Differentiated by hand, term by term."""
    n = len(x)
    h = np.zeros((n, n))
    for i in range(n - 1):
        h[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        h[i + 1, i + 1] += 200
        h[i, i + 1] = h[i + 1, i] = -400 * x[i]
    return h


def test_rosenbrock_hessian_by_hand_in_both_modes() -> None:
    x0 = np.array([-1.2, 1.0, 0.4, 0.9, -0.3])
    x = ga.placeholder("x", shape=(5,))
    y = rosenbrock(x)
    forward = ga.hessian(y, x)
    reverse = ga.hessian(y, x, mode="reverse")
    fwd, rev = ga.evaluate([forward, reverse], {x: x0})
    np.testing.assert_allclose(fwd, rosenbrock_hessian(x0), rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(fwd, rev, rtol=1e-12, atol=1e-12)
    # forward-over-reverse by default; reverse-over-reverse has second-order reverse nodes
    assert {"forward", "reverse"} <= kinds(forward)
    assert "forward" not in kinds(reverse)
    assert max(n.origin.order for n in topo_sort([reverse])) == 2


def test_hessian_of_a_matrix_input_has_shape_x_shape_twice() -> None:
    x = ga.placeholder("x", shape=(2, 3))
    y = ga.sum(x**3)
    value = ga.evaluate(ga.hessian(y, x), {x: C23})
    expected = np.einsum("ij,ik,jl->ijkl", 6 * C23, np.eye(2), np.eye(3))
    assert value.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(value, expected, rtol=1e-12)


def test_hessian_of_non_scalar_y_names_the_shape() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.matmul(ga.constant(A43), x)
    with pytest.raises(ga.DifferentiationError, match=r"hessian.*scalar.*\(4,\)"):
        ga.hessian(y, x)
    with pytest.raises(ga.DifferentiationError, match=r"hvp.*scalar.*\(4,\)"):
        ga.hvp(y, x, V3)


# -- Hessian-vector products --------------------------------------------------------------------
def _hvp_function(x: Node) -> Node:
    # nothing of shape (3, 3) here, so such a node could only be a Hessian
    return ga.sum(ga.exp(x) * ga.sin(x)) + ga.square(ga.sum(x * x)) + ga.sum(x[1:] * x[:-1])


def _has_node_of_shape(root: Node, shape: tuple[int, ...]) -> bool:
    return any(n.shape == shape for n in topo_sort([root]))


def test_hvp_equals_hessian_times_v_without_building_the_hessian() -> None:
    x0 = np.array([0.3, -0.8, 0.5])
    v = np.array([1.0, 2.0, -0.5])
    x = ga.placeholder("x", shape=(3,))
    y = _hvp_function(x)
    hess = ga.hessian(y, x)
    for tangent in (v, ga.constant(v)):
        product = ga.hvp(y, x, tangent)
        assert product.shape == (3,)
        h_value, p_value = ga.evaluate([hess, product], {x: x0})
        np.testing.assert_allclose(p_value, h_value @ v, rtol=1e-12, atol=1e-12)
        assert not _has_node_of_shape(product, (3, 3))
    assert _has_node_of_shape(hess, (3, 3))  # the check above can see a Hessian


def test_hvp_for_several_xs_uses_the_cross_blocks() -> None:
    x = ga.placeholder("x", shape=(3,))
    w = ga.placeholder("w", shape=(2,))
    y = ga.sum(ga.sin(x)) * ga.sum(w * w) + ga.sum(ga.exp(x[:2] * w))
    feeds = {x: np.array([0.3, -0.8, 0.5]), w: np.array([0.7, -0.2])}
    vx, vw = np.array([1.0, 2.0, -0.5]), np.array([0.4, -1.5])

    products = ga.hvp(y, [x, w], [vx, vw])
    assert isinstance(products, list) and [p.shape for p in products] == [(3,), (2,)]
    gx, gw = ga.gradients(y, [x, w])
    blocks = [[ga.jacobian(gx, x), ga.jacobian(gx, w)], [ga.jacobian(gw, x), ga.jacobian(gw, w)]]
    (hxx, hxw), (hwx, hww) = ga.evaluate(blocks, feeds)
    px, pw = ga.evaluate(products, feeds)
    np.testing.assert_allclose(px, hxx @ vx + hxw @ vw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pw, hwx @ vx + hww @ vw, rtol=1e-12, atol=1e-12)


def test_hvp_tangent_of_wrong_shape_raises() -> None:
    x = ga.placeholder("x", shape=(3,))
    with pytest.raises(ga.DifferentiationError, match=r"^hvp: v \(for x = x\) is \(4,\).*\(3,\)"):
        ga.hvp(_hvp_function(x), x, np.ones(4))


def test_hvp_names_itself_for_a_wrong_v_among_several_xs() -> None:
    x = ga.placeholder("x", shape=(3,))
    w = ga.placeholder("w", shape=(2,))
    y = _hvp_function(x) + ga.sum(w**3)
    with pytest.raises(ga.DifferentiationError, match=r"^hvp: vs\[1\] \(for x = w\) is \(3,\)"):
        ga.hvp(y, [x, w], [np.ones(3), np.ones(3)])
    with pytest.raises(ga.DifferentiationError, match=r"^hvp: vs must be a list of 2.*got 1"):
        ga.hvp(y, [x, w], [np.ones(3)])
    with pytest.raises(ga.DifferentiationError, match=r"^hvp: vs must be a list of 2.*ndarray"):
        ga.hvp(y, [x, w], np.ones(3))


# -- vjp and jvp --------------------------------------------------------------------------------
def test_vjp_equals_gradients_with_grad_y_and_j_transpose_u() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.tanh(ga.matmul(ga.constant(A43), x))
    u = np.array([1.0, -2.0, 0.5, 3.0])
    product = ga.vjp(y, x, u)
    reference = ga.gradients(y, x, grad_y=u)
    value, ref = ga.evaluate([product, reference], {x: V3})
    np.testing.assert_allclose(value, ref, rtol=1e-15)
    jac = (1 - np.tanh(A43 @ V3) ** 2)[:, None] * A43
    np.testing.assert_allclose(value, jac.T @ u, rtol=1e-12)


def test_vjp_for_several_xs_returns_a_list() -> None:
    x = ga.placeholder("x", shape=(3,))
    m = ga.placeholder("m", shape=(4, 3))
    y = ga.matmul(m, x)
    u = np.array([1.0, -2.0, 0.5, 3.0])
    gx, gm = ga.evaluate(ga.vjp(y, [x, m], u), {x: V3, m: A43})
    np.testing.assert_allclose(gx, A43.T @ u, rtol=1e-12)
    np.testing.assert_allclose(gm, np.outer(u, V3), rtol=1e-12)


def test_jvp_alias_equals_j_times_v() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.tanh(ga.matmul(ga.constant(A43), x))
    v = np.array([0.5, -1.0, 2.0])
    jac = (1 - np.tanh(A43 @ V3) ** 2)[:, None] * A43
    np.testing.assert_allclose(ga.evaluate(ga.jvp(y, x, v), {x: V3}), jac @ v, rtol=1e-12)


def test_vjp_with_wrong_cotangent_shape_names_both_shapes() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.matmul(ga.constant(A43), x)
    with pytest.raises(ga.GraphError, match=r"\(3,\).*\(4,\)"):
        ga.vjp(y, x, np.ones(3))
    with pytest.raises(ga.GraphError, match=r"\(2, 2\).*\(4,\)"):
        ga.vjp(y, x, ga.constant(np.ones((2, 2))))
    with pytest.raises(ga.GraphError, match="cotangent"):
        ga.vjp(y, x, None)


def test_jvp_with_wrong_tangent_shape_names_both_shapes() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.matmul(ga.constant(A43), x)
    with pytest.raises(ga.GraphError, match=r"\(4,\).*\(3,\)"):
        ga.jvp(y, x, np.ones(4))
    with pytest.raises(ga.GraphError, match=r"\(3, 1\).*\(3,\)"):
        ga.jvp(y, x, np.ones((3, 1)))


TRANSFORMS: list[tuple[str, Callable[[Node, Any], Any]]] = [
    ("jacobian", lambda y, x: ga.jacobian(y, x)),
    ("hessian", lambda y, x: ga.hessian(ga.sum(y), x)),
    ("hvp", lambda y, x: ga.hvp(ga.sum(y), x, np.ones(3))),
    ("vjp", lambda y, x: ga.vjp(y, x, np.ones(3))),
    ("jvp", lambda y, x: ga.jvp(y, x, np.ones(3))),
    ("gradients", lambda y, x: ga.gradients(ga.sum(y), x)),
    ("adjoints", lambda y, x: ga.adjoints(ga.sum(y), x)),
    ("derivative", lambda y, x: ga.derivative(ga.sum(y), x)),
]


@pytest.mark.parametrize("transform", [t for _, t in TRANSFORMS], ids=[n for n, _ in TRANSFORMS])
def test_an_x_that_is_not_a_node_raises(transform: Callable[[Node, Any], Any]) -> None:
    x = ga.placeholder("x", shape=(3,))
    with pytest.raises(ga.GraphError, match=r"must be a Node.*ndarray"):
        transform(ga.sin(x), np.ones(3))


@pytest.mark.parametrize("transform", [t for _, t in TRANSFORMS], ids=[n for n, _ in TRANSFORMS])
def test_an_integer_x_raises_naming_it(transform: Callable[[Node, Any], Any]) -> None:
    counts = ga.placeholder("counts", shape=(3,), dtype=np.int64)
    y = ga.sin(ga.cast(counts, np.float64))
    with pytest.raises(ga.GraphError, match=r"counts.*int64"):
        transform(y, counts)


# -- n-th derivatives -----------------------------------------------------------------------------
DERIVATIVES: list[tuple[str, Callable[[Node], Node], Callable[[float, int], float]]] = [
    ("sin", ga.sin, lambda x, k: math.sin(x + k * math.pi / 2)),
    ("exp(2x)", lambda x: ga.exp(2.0 * x), lambda x, k: 2.0**k * math.exp(2 * x)),
    (
        "1/(1+x)",
        lambda x: 1.0 / (1.0 + x),
        lambda x, k: (-1) ** k * math.factorial(k) / (1 + x) ** (k + 1),
    ),
]


@pytest.mark.parametrize("order", range(6))
@pytest.mark.parametrize(
    ("build", "closed_form"), [d[1:] for d in DERIVATIVES], ids=[d[0] for d in DERIVATIVES]
)
def test_derivative_of_order_k_matches_closed_form(
    build: Callable[[Node], Node], closed_form: Callable[[float, int], float], order: int
) -> None:
    x = ga.placeholder("x", shape=())
    d = ga.derivative(build(x), x, order=order)
    assert d.shape == ()
    for x0 in (-0.4, 0.3, 1.7):
        np.testing.assert_allclose(ga.evaluate(d, {x: x0}), closed_form(x0, order), rtol=1e-12)


def test_derivative_order_zero_is_y_and_orders_are_nested_gradients() -> None:
    x = ga.placeholder("x", shape=())
    y = ga.sin(x)
    assert ga.derivative(y, x, order=0) is y
    third = ga.derivative(y, x, order=3)
    assert max(n.origin.order for n in topo_sort([third])) == 3


def test_derivative_rejects_a_non_scalar_x_and_a_bad_order() -> None:
    x = ga.placeholder("x", shape=(3,))
    with pytest.raises(ga.DifferentiationError, match=r"derivative.*x.*scalar.*\(3,\)"):
        ga.derivative(ga.sum(ga.sin(x)), x, order=2)
    s = ga.placeholder("s", shape=())
    for order in (-1, 1.5):
        with pytest.raises(ga.DifferentiationError, match="order"):
            ga.derivative(ga.sin(s), s, order=order)  # type: ignore[arg-type]


# -- adjoints -------------------------------------------------------------------------------------
def notes_example() -> tuple[Node, Node, Node, Node]:
    """v1 = x, v2 = exp(v1), v3 = v2 + 1, v4 = v2 · v3"""
    v1 = ga.placeholder("x", shape=())
    v2 = ga.exp(v1)
    v3 = v2 + 1.0
    v4 = v2 * v3
    return v1, v2, v3, v4


def test_adjoints_of_the_notes_example_keep_both_partials() -> None:
    v1, v2, v3, v4 = notes_example()
    adj = ga.adjoints(v4, v1)
    partials = dict(adj[v2].partials)
    assert set(partials) == {v4, v3}
    x0 = 0.3
    e = math.exp(x0)
    total, from_v4, from_v3 = ga.evaluate([adj[v2].total, partials[v4], partials[v3]], {v1: x0})
    assert from_v4 == pytest.approx(e + 1.0, rel=1e-15)  # v̄2→4 = v̄4 · v3
    assert from_v3 == pytest.approx(e, rel=1e-15)  # v̄2→3 = v̄3 = v̄4 · v2
    assert total == pytest.approx(from_v4 + from_v3, rel=1e-15)
    assert ga.evaluate(adj[v1].total, {v1: x0}) == pytest.approx(2 * e * e + e, rel=1e-14)
    assert adj[v4].partials[0][0] is None  # the seed comes from no consumer
    assert adj[v2].node is v2


def test_adjoints_cover_exactly_the_nodes_on_the_path() -> None:
    v1, v2, v3, v4 = notes_example()
    z = ga.placeholder("z", shape=())
    off_path = ga.cos(z)  # y depends on it, but not through x
    y = v4 * off_path
    adj = ga.adjoints(y, v1)
    assert set(adj) == {v1, v2, v3, v4, y}
    assert len(adj) == 5
    assert off_path not in set(adj) and z not in set(adj)
    position = {n: i for i, n in enumerate(adj)}  # list.index would build equal() nodes
    assert position[v1] < position[v2] < position[v3] < position[v4] < position[y]


def test_gradients_and_adjoints_build_the_same_graph() -> None:
    v1, _, _, v4 = notes_example()
    y = ga.sin(v4) * v1
    grad = ga.gradients(y, v1)
    total = ga.adjoints(y, v1)[v1].total
    assert grad is not total  # two separate builds ...
    assert structure(grad) == structure(total)  # ... of the same nodes
    assert ga.evaluate(grad, {v1: 0.3}) == ga.evaluate(total, {v1: 0.3})


def test_adjoints_fetches_evaluate_and_format_as_a_table() -> None:
    v1, v2, v3, v4 = notes_example()
    adj = ga.adjoints(v4, v1)
    values = ga.evaluate(adj.fetches(), {v1: 0.3})
    assert set(values) == {v1.name, v2.name, v3.name, v4.name}
    e = math.exp(0.3)
    entry = values[v2.name]
    assert entry["total"] == pytest.approx(2 * e + 1, rel=1e-15)
    sources = [c.name for c, _ in adj[v2].partials]
    assert sorted(sources) == sorted([v4.name, v3.name])
    by_source = dict(zip(sources, entry["partials"]))
    assert by_source == {v4.name: pytest.approx(e + 1), v3.name: pytest.approx(e)}
    assert values[v4.name]["partials"] == [1.0]

    table = adj.format(values)
    lines = table.splitlines()
    assert len(lines) == 4
    v2_line = next(line for line in lines if line.startswith(f"adjoint of {v2.name} "))
    assert f"from {v4.name}" in v2_line and f"from {v3.name}" in v2_line
    assert str(entry["total"]) in v2_line


def test_adjoints_keep_both_partials_of_a_node_used_twice_by_one_consumer() -> None:
    x = ga.placeholder("x", shape=())
    x2 = x * 1.0
    adj = ga.adjoints(x2 * x2, x2)
    values = ga.evaluate(adj.fetches(), {x: 3.0})
    assert values[x2.name]["partials"] == [3.0, 3.0]
    assert values[x2.name]["total"] == 6.0


def test_adjoints_with_a_cotangent_for_non_scalar_y() -> None:
    x = ga.placeholder("x", shape=(3,))
    y = ga.matmul(ga.constant(A43), ga.sin(x))
    u = np.array([1.0, -2.0, 0.5, 3.0])
    adj = ga.adjoints(y, x, grad_y=u)
    np.testing.assert_allclose(
        ga.evaluate(adj[x].total, {x: V3}), np.cos(V3) * (A43.T @ u), rtol=1e-12
    )


# -- batched Jacobians and Hessians ----------------------------------------------------------
def per_element_jacobian(y: Node, x: Node, mode: str) -> Node:
    """The construction batching replaced: one JVP per input element (columns) or one VJP
    per output element (rows), stacked."""

    def basis(shape: tuple[int, ...]) -> list[np.ndarray]:
        size = math.prod(shape)
        return [np.eye(size)[i].reshape(shape) for i in range(size)]

    if mode == "forward":
        columns = [ga.jvp(y, x, e) for e in basis(x.shape)]
        return ga.reshape(ga.stack(columns, axis=-1), y.shape + x.shape)
    rows = [ga.gradients(y, x, grad_y=e) for e in basis(y.shape)]
    return ga.reshape(ga.stack(rows, axis=0), y.shape + x.shape)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_batched_jacobian_equals_the_per_element_construction(case: Case, mode: str) -> None:
    """In each mode and for every chunk size, from one basis vector at a time to all."""
    x = ga.placeholder("x", shape=case.x_shape)
    y = case.build(x)
    count = math.prod(x.shape if mode == "forward" else y.shape)
    expected = ga.evaluate(per_element_jacobian(y, x, mode), {x: case.x0})
    for batch_size in sorted({None, 1, 2, 3, count, count + 1} - {0}, key=lambda k: k or 0):
        got = ga.evaluate(ga.jacobian(y, x, mode=mode, batch_size=batch_size), {x: case.x0})
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-13, err_msg=str(batch_size))


def tanh_model(x: Node) -> Node:
    n = x.shape[0]
    a = ga.constant(np.random.default_rng(n).standard_normal((n, n)) / np.sqrt(n))
    return ga.sum(ga.tanh(a @ x)) + 0.5 * ga.sum(x * x)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("f", [rosenbrock, tanh_model])
def test_batched_hessian_equals_the_per_element_construction(
    f: Callable[[Node], Node], mode: str
) -> None:
    x = ga.placeholder("x", shape=(7,))
    xv = np.random.default_rng(0).uniform(-1.5, 1.5, 7)
    y = f(x)
    expected = ga.evaluate(per_element_jacobian(ga.gradients(y, x), x, mode), {x: xv})
    for batch_size in (None, 1, 3, 7):
        got = ga.evaluate(ga.hessian(y, x, mode=mode, batch_size=batch_size), {x: xv})
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("f", [rosenbrock, tanh_model])
def test_hessian_graph_size_does_not_grow_with_n(f: Callable[[Node], Node]) -> None:
    """The same number of nodes for n = 10, 100, 400, at most 4x the gradient graph's."""
    sizes = []
    for n in (10, 100, 400):
        x = ga.placeholder("x", shape=(n,))
        y = f(x)
        h = ga.hessian(y, x)
        sizes.append(len(topo_sort([h])))
        assert sizes[-1] <= 4 * len(topo_sort([ga.gradients(y, x)]))
    assert sizes[0] == sizes[1] == sizes[2]


def test_chunks_bound_the_batch_and_repeat_the_graph_per_chunk() -> None:
    x = ga.placeholder("x", shape=(10,))
    y = tanh_model(x)
    whole = ga.hessian(y, x)
    chunked = ga.hessian(y, x, batch_size=4)  # chunks of 4, 4 and 2 basis vectors
    batch_dims = {n.shape[0] for n in topo_sort([chunked]) if n.op.name == "concatenate"}
    assert batch_dims == {10}
    assert len(topo_sort([chunked])) > len(topo_sort([whole]))
    xv = np.linspace(-1, 1, 10)
    np.testing.assert_allclose(*ga.evaluate([chunked, whole], {x: xv}), rtol=1e-14)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "4"])
def test_a_bad_batch_size_is_named(bad: Any) -> None:
    x = ga.placeholder("x", shape=(3,))
    with pytest.raises(ga.DifferentiationError, match="batch_size must be a positive int"):
        ga.jacobian(ga.sin(x), x, batch_size=bad)


# -- banded Hessians: the batch compressed to the band ---------------------------------------
def stencil(x: Node) -> Node:
    """Terms coupling x[i] with x[i + 2] and x[i + 1]: a band of half-width 2."""
    return ga.sum(ga.sin(x[:-2] * x[2:])) + ga.sum(ga.exp(x[1:]) * x[:-1] ** 2 + ga.cos(x[1:]))


@pytest.mark.parametrize(("f", "span"), [(rosenbrock, (-1, 1)), (stencil, (-2, 2))])
def test_banded_hessians_are_found_and_compressed(f: Callable[[Node], Node], span: Any) -> None:
    n = 12
    x = ga.placeholder("x", shape=(n,))
    y = f(x)
    assert ga.Pattern.of(ga.hessian_sparsity(y, x)).band() == span
    h = ga.hessian(y, x)
    # the batched intermediates are (w, …) with w = hi - lo + 1 colours, not (n, …)
    computed = [node for node in topo_sort([h]) if not is_constant(node)]
    widths = {node.shape[0] for node in computed if node.ndim == 2 and node.shape != (n, n)}
    assert widths == {span[1] - span[0] + 1}
    xv = np.random.default_rng(2).uniform(-1, 1, n)
    expected = ga.evaluate(per_element_jacobian(ga.gradients(y, x), x, "forward"), {x: xv})
    for batch_size in (None, 1, 2):
        got = ga.evaluate(ga.hessian(y, x, batch_size=batch_size), {x: xv})
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-13)


def test_the_identity_basis_selects_rows_instead_of_multiplying() -> None:
    a = ga.placeholder("a", shape=(4, 3))
    x = ga.placeholder("x", shape=(3,))
    j = ga.jacobian(a @ x, x, mode="forward")
    assert "matmul" not in {n.op.name for n in topo_sort([j])}  # no I @ aᵀ product
    av = A43.copy()
    av[0, 1] = np.inf  # NumPy's I @ aᵀ would spread NaN (0·inf) over the rest of the column
    np.testing.assert_array_equal(ga.evaluate(j, {a: av, x: V3}), av)
    h = ga.hessian(ga.sum(ga.tanh(a @ x)), x)
    assert [n.op.name for n in topo_sort([ga.optimize(h)])].count("matmul") == 2  # a@x, the GEMM


def test_quotient_partials_share_one_division() -> None:
    a, b = ga.placeholder("a", shape=(3,)), ga.placeholder("b", shape=(3,))
    w = ga.constant(np.array([1.0, 0.0, 1.0]))
    g = ga.gradients(ga.sum(w * (a / b)), [a, b])
    names = [n.op.name for n in topo_sort(g)]
    assert names.count("xdivy") == 1 and "divide" in names  # g/b once, for ā and b̄
    values = ga.evaluate(g, {a: np.array([1.0, 0.0, 2.0]), b: np.array([2.0, 0.0, 4.0])})
    np.testing.assert_array_equal(values[0], [0.5, 0.0, 0.25])  # a zero g stays 0 at b = 0
    np.testing.assert_array_equal(values[1], [-0.25, 0.0, -0.125])  # even where y is 0/0


def test_a_hessians_optimised_graph_does_not_grow_with_n() -> None:
    sizes = set()
    for n in (3, 20):
        a, x = ga.placeholder("a", shape=(n, n)), ga.placeholder("x", shape=(n,))
        h = ga.optimize(ga.hessian(ga.sum(ga.tanh(a @ x)) + 0.5 * ga.sum(x * x), x))
        names = [node.op.name for node in topo_sort([h])]
        assert names.count("matmul") == 2  # a @ x, and the Hessian's one GEMM
        sizes.add(len(names))
    assert len(sizes) == 1


def test_the_sixth_derivative_optimises_to_a_few_hundred_nodes() -> None:
    x = ga.placeholder("x", shape=())
    d6 = ga.derivative(ga.sin(x) * ga.exp(x) / (1 + x * x), x, order=6)
    # 1400 before quotient partials; sums kept in their order (IEEE), or regrouped
    assert len(topo_sort([ga.optimize(d6)])) < 600
    assert len(topo_sort([ga.optimize(d6, fast_math=True)])) < 300
