"""The vjp of a ``JvpOnly`` op is the transpose of its jvp, built by the reverse pass.

The op table checks every such op of the library against finite differences at first and
second order; here the machinery itself: ops made for the test (a nonlinear "jvp" is
refused by the op's name), structured inputs, outputs and sparse cotangents, unknown dims,
broadcasting inputs, complex inputs, the ``linear`` inputs that end solve's recursion,
and that nothing of the transposed jvp (its placeholders) is left in the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.ir import Placeholder, topo_sort
from graphad.numerical import check_gradients
from graphad.ops._linear import JvpOnly
from graphad.ops.structure import entry, get, make_tuple

X = np.array([[0.5, -1.2, 2.0], [1.5, 0.3, -0.7]])


@dataclass(frozen=True)
class Cube(JvpOnly):
    """x³, its derivative stated once: ẏ = 3x²·ẋ."""

    def infer(self, x: ga.TensorType) -> ga.TensorType:
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        return x**3

    def jvp(self, node: ga.Node, t: Any) -> ga.Node:
        return 3 * ga.square(node.inputs[0]) * t[0]


@dataclass(frozen=True)
class SquaredTangent(Cube):
    """A wrong "jvp", quadratic in the tangent."""

    def jvp(self, node: ga.Node, t: Any) -> ga.Node:
        return t[0] * t[0]


@dataclass(frozen=True)
class SineOfTangent(Cube):
    """A wrong "jvp": a nonlinear function of the tangent."""

    def jvp(self, node: ga.Node, t: Any) -> ga.Node:
        return ga.sin(t[0])


@dataclass(frozen=True)
class ConstantTangent(Cube):
    """A wrong "jvp" that ignores the tangent."""

    def jvp(self, node: ga.Node, t: Any) -> ga.Node:
        return ga.ones_like(node)


@dataclass(frozen=True)
class SelfInJvp(Cube):
    """A wrong "jvp" that applies the op itself to the tangent, without ``linear``."""

    def jvp(self, node: ga.Node, t: Any) -> ga.Node:
        return SelfInJvp()(t[0])


@dataclass(frozen=True)
class ScaledExp(JvpOnly):
    """a·exp(b), broadcasting a against b: ẏ = ȧ·exp(b) + y·ḃ."""

    def infer(self, a: ga.TensorType, b: ga.TensorType) -> ga.TensorType:
        return ga.ops.multiply(ga.placeholder("a", a.shape), ga.placeholder("b", b.shape)).type

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a * np.exp(b)

    def jvp(self, node: ga.Node, t: Any) -> ga.Node | None:
        b = node.inputs[1]
        terms = [] if t[0] is None else [t[0] * ga.exp(b)]
        terms += [] if t[1] is None else [node * t[1]]
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]


@dataclass(frozen=True)
class DictProduct(JvpOnly):
    """d["a"]·d["b"] of a dict input: ẏ = ḋ["a"]·b + a·ḋ["b"] (absent entries are zeros)."""

    def infer(self, d: Any) -> ga.TensorType:
        return d["a"]

    def compute(self, d: dict[str, np.ndarray]) -> np.ndarray:
        return d["a"] * d["b"]

    def jvp(self, node: ga.Node, t: Any) -> ga.Node | None:
        d, td = node.inputs[0], t[0]
        ta, tb = entry(td, "a"), entry(td, "b")
        terms = [] if ta is None else [ta * get(d, "b")]
        terms += [] if tb is None else [get(d, "a") * tb]
        return ga.add_n(*terms) if terms else None


@dataclass(frozen=True)
class PowersOf(JvpOnly):
    """(x², x³) as one tuple-valued op: ẏ = (2x·ẋ, 3x²·ẋ)."""

    def infer(self, x: ga.TensorType) -> ga.TupleType:
        return ga.TupleType((x, x))

    def compute(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x**2, x**3

    def jvp(self, node: ga.Node, t: Any) -> ga.Node:
        x = node.inputs[0]
        return make_tuple(2 * x * t[0], 3 * ga.square(x) * t[0])


def stand_ins_left(nodes: list[ga.Node], users: list[ga.Node]) -> list[str]:
    """Placeholders in the graph of ``nodes`` other than the user's own."""
    return [n.name for n in topo_sort(nodes) if isinstance(n.op, Placeholder) and n not in users]


def test_the_vjp_is_the_transpose_of_the_jvp() -> None:
    x = ga.placeholder("x", X.shape)
    u = np.arange(6.0).reshape(2, 3)
    grad = ga.gradients(Cube()(x), x, grad_y=u)
    np.testing.assert_allclose(ga.evaluate(grad, {x: X}), 3 * X**2 * u, rtol=1e-15)
    assert stand_ins_left([grad], [x]) == []
    assert all(n.origin.kind == "reverse" for n in topo_sort([grad]) if n is not x and n.inputs)
    y = ga.sum(ga.sin(Cube()(x)))
    for order in (1, 2):
        report = check_gradients(y, x, {x: X}, order=order)
        assert report, str(report)


@pytest.mark.parametrize(
    ("op", "why"),
    [
        (SquaredTangent(), "its jvp is not linear in the tangents"),
        (SineOfTangent(), "its jvp is not linear in the tangents"),
        (ConstantTangent(), "its jvp does not depend on the tangents"),
        (SelfInJvp(), "its jvp applies self_in_jvp to a tangent of an input that is not in"),
    ],
)
def test_a_jvp_that_is_not_linear_is_refused_by_the_ops_name(op: JvpOnly, why: str) -> None:
    x = ga.placeholder("x", X.shape)
    with pytest.raises(ga.DifferentiationError) as e:
        ga.gradients(ga.sum(op(x)), x)
    message = str(e.value)
    assert message.startswith(f"{op.name}: {why}")
    assert "reverse mode cannot transpose it into a vjp" in message
    assert "test_transpose.py" in message  # the user's line


def test_broadcasting_inputs_get_adjoints_of_their_own_shapes() -> None:
    a, b = ga.placeholder("a", (2, 1)), ga.placeholder("b", (3,))
    feeds = {a: np.array([[0.5], [-1.5]]), b: np.array([0.1, -0.4, 0.8])}
    y = ScaledExp()(a, b)
    u = np.arange(6.0).reshape(2, 3) - 2
    ga_, gb = ga.evaluate(ga.gradients(y, [a, b], grad_y=u), feeds)
    e = np.exp(feeds[b])
    np.testing.assert_allclose(ga_, np.sum(u * e, axis=1, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(gb, np.sum(u * feeds[a] * e, axis=0), rtol=1e-14)
    for order in (1, 2):
        report = check_gradients(ga.sum(ga.sin(y)), [a, b], feeds, order=order)
        assert report, str(report)


def test_only_the_inputs_that_lead_to_x_are_transposed() -> None:
    a, b = ga.placeholder("a", (2, 1)), ga.placeholder("b", (3,))
    y = ScaledExp()(a, ga.constant(np.array([0.1, -0.4, 0.8])))
    grad = ga.gradients(ga.sum(y), a)
    assert ga.evaluate(grad, {a: np.ones((2, 1))}).shape == (2, 1)
    assert stand_ins_left([grad], [a, b]) == []


def test_structured_input_and_sparse_tangents() -> None:
    d = ga.placeholder("d", type={"a": ga.TensorType((3,)), "b": ga.TensorType((3,))})
    feeds = {d: {"a": np.array([1.0, 2.0, 3.0]), "b": np.array([-1.0, 0.5, 4.0])}}
    y = DictProduct()(d)
    grad = ga.gradients(ga.sum(y * ga.constant(np.array([1.0, 10.0, 100.0]))), d)
    got = ga.evaluate(grad, feeds)
    np.testing.assert_allclose(got["a"], [-1.0, 5.0, 400.0])
    np.testing.assert_allclose(got["b"], [1.0, 20.0, 300.0])
    assert stand_ins_left([grad], [d]) == []
    tangent = ga.jvp(y, d, {"a": np.ones(3)})  # a sparse tangent: ḋ["b"] = 0
    np.testing.assert_allclose(ga.evaluate(tangent, feeds), feeds[d]["b"])


def test_structured_output_with_a_sparse_cotangent() -> None:
    x = ga.placeholder("x", (3,))
    xv = np.array([0.5, -2.0, 1.5])
    node = PowersOf()(x)
    squares, cubes = get(node, 0), get(node, 1)
    only_cubes = ga.gradients(ga.sum(cubes), x)  # the cotangent has no entry 0
    np.testing.assert_allclose(ga.evaluate(only_cubes, {x: xv}), 3 * xv**2)
    both = ga.gradients(ga.sum(squares) + 2 * ga.sum(cubes), x)
    np.testing.assert_allclose(ga.evaluate(both, {x: xv}), 2 * xv + 6 * xv**2)
    assert stand_ins_left([only_cubes, both], [x]) == []
    report = check_gradients(ga.sum(ga.sin(cubes) * squares), x, {x: xv}, order=2)
    assert report, str(report)


def test_decompositions_take_a_cotangent_for_some_of_their_results() -> None:
    a = ga.placeholder("a", (3, 3))
    av = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, -0.2], [0.5, -0.2, 2.0]])
    w = ga.linalg.eigh(a).eigenvalues
    grad = ga.gradients(ga.sum(w * ga.constant(np.array([1.0, 2.0, 3.0]))), a)
    vv = np.linalg.eigh(av).eigenvectors
    expected = np.tril(vv @ np.diag([1.0, 2.0, 3.0]) @ vv.T)  # read from the lower triangle
    expected += np.tril(expected, -1)  # the off-diagonal entries stand for both triangles
    np.testing.assert_allclose(ga.evaluate(grad, {a: av}), expected, atol=1e-12)


@pytest.mark.parametrize(
    "build",
    [ga.softmax, ga.log_softmax, ga.inv, ga.det, Cube()],
    ids=["softmax", "log_softmax", "inv", "det", "cube"],
)
def test_unknown_dims_transpose_to_what_static_dims_give(build: Any) -> None:
    """The transposed graph asks the shapes of tangents at run time: those of the inputs."""
    xv = np.array([[2.0, 0.5, -0.3], [0.1, 1.5, 0.4], [0.2, -0.6, 3.0]])
    u = np.array([[1.0, -2.0, 0.5], [0.3, 0.0, 1.0], [2.0, 1.0, -1.0]])
    static, dynamic = ga.placeholder("s", (3, 3)), ga.placeholder("d", (None, None))
    values = []
    for x in (static, dynamic):
        y = build(x)
        g = ga.constant(u if y.ndim == 2 else u[0, 0])
        grad = ga.gradients(y, x, grad_y=g)
        assert stand_ins_left([grad], [x]) == []
        values.append(ga.evaluate(grad, {x: xv}, optimize=False))
    np.testing.assert_allclose(values[1], values[0], rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(
    ("build", "costly", "count"),
    [
        (ga.inv, "matmul", 2),
        (ga.softmax, "multiply_no_nan", 2),  # strong zeros: the products with y
        (lambda m: ga.solve(m, ga.constant(np.ones((3, 2)))), "solve", 2),
    ],
    ids=["inv", "softmax", "solve"],
)
def test_unknown_dims_ask_tangent_shapes_of_the_inputs_shapes(
    build: Any, costly: str, count: int
) -> None:
    """A transpose asks the run-time shape of tangents it un-broadcasts to; the shape comes
    from the inputs' shapes through the ops' shape rules (inferred_shape), so the vjp does
    not compute the jvp's graph once more on the inputs just to learn it."""
    x = ga.placeholder("x", (None, None))
    y = build(x)
    grad = ga.optimize(ga.gradients(y, x, grad_y=ga.placeholder("u", y.shape)))
    names = [n.op.name for n in topo_sort([grad])]
    assert names.count(costly) == count, names
    assert "inferred_shape" in names


def test_complex_inputs_follow_the_real_pairing() -> None:
    """ȳ ↦ x̄ is the transpose of ẋ ↦ ẏ under Re Σ a·b: ⟨u, J v⟩ = ⟨Jᵀu, v⟩."""
    z = ga.placeholder("z", (2, 2), "complex128")
    zv = np.array([[2 + 1j, 0.5 - 0.2j], [-0.3j, 1.5 + 0.4j]])
    u = np.array([[1 - 1j, 0.5j], [2.0, -1 + 0.3j]])
    v = np.array([[0.2 + 0.1j, -1j], [1 + 1j, 0.4]])
    for build in (ga.inv, Cube(), lambda m: ga.solve(m, ga.constant(np.array([1.0, 2j])))):
        y = build(z)
        uy = u if y.ndim == 2 else u[0]
        jv, jtu = ga.evaluate([ga.jvp(y, z, v), ga.gradients(y, z, grad_y=uy)], {z: zv})
        assert np.isclose(np.sum(uy * jv).real, np.sum(jtu * v).real, rtol=1e-12)
    np.testing.assert_allclose(
        ga.evaluate(ga.gradients(Cube()(z), z, grad_y=u), {z: zv}), 3 * zv**2 * u
    )


def test_solve_transposes_its_linear_input_directly() -> None:
    """With only b wanted, b̄ = solve(Aᵀ, g): one solve, no jvp built; with A too, the
    transposed jvp has one solve for both, as the hand-written rule had."""
    a, b = ga.placeholder("a", (3, 3)), ga.placeholder("b", (3,))
    only_b = [n.op.name for n in topo_sort([ga.gradients(ga.sum(ga.solve(a, b)), b)])]
    assert only_b.count("solve") == 1 and "matmul" not in only_b
    assert only_b.count("placeholder") == 1  # a: b itself is not needed, nor any stand-in
    both = ga.optimize(ga.gradients(ga.sum(ga.solve(a, b)), [a, b]))
    assert [n.op.name for n in topo_sort(both)].count("solve") == 2  # the value and b̄
    av = np.array([[3.0, 0.5, 0.0], [0.2, 2.0, 0.1], [0.0, -0.4, 1.5]])
    bv = np.array([1.0, -1.0, 2.0])
    ga_, gb = ga.evaluate(both, {a: av, b: bv})
    gb_expected = np.linalg.solve(av.T, np.ones(3))
    np.testing.assert_allclose(gb, gb_expected)
    np.testing.assert_allclose(ga_, -np.outer(gb_expected, np.linalg.solve(av, bv)))


def test_singular_behaviour_is_kept_in_both_modes() -> None:
    """det's derivative at a singular matrix is the adjugate in either mode (no inverse is
    taken: issue 16, item 14)."""
    a = ga.placeholder("a", (2, 2))
    singular = {a: np.array([[1.0, 2.0], [2.0, 4.0]])}
    assert ga.evaluate(ga.det(a), singular) == 0.0
    cofactors = np.array([[4.0, -2.0], [-2.0, 1.0]])  # adj(A)ᵀ
    np.testing.assert_allclose(ga.evaluate(ga.gradients(ga.det(a), a), singular), cofactors)
    along = ga.evaluate(ga.jvp(ga.det(a), a, np.eye(2)), singular)
    np.testing.assert_allclose(along, np.trace(cofactors), atol=1e-14)
