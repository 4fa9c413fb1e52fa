"""Each op writes itself (``Op.notation``): Python's syntax with NumPy's names, bracketed
exactly where Python's precedence needs it, so arithmetic text parses back to the graph."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import graphad as ga
from graphad.ir import Node, Op, TensorType, topo_sort
from graphad.ir.notation import ATOM, LOOSE, SUM, UNARY, Term, atom, literal
from graphad.ops.elementwise import Multiply


def written(node: Node) -> str:
    """The whole expression behind ``node``, each op writing itself over its operands."""
    terms: dict[Node, Term] = {}
    for n in topo_sort([node]):
        terms[n] = n.op.notation([terms[x] for x in n.inputs])
    return terms[node].text


def test_arithmetic_text_parses_back_to_the_same_values() -> None:
    """Random trees of + - * / ** and unary minus: Python evaluates the text to what the
    graph computes, so every bracket Python needs is there."""
    rng = np.random.default_rng(0)
    leaves = {name: ga.placeholder(name, shape=(4,)) for name in "abc"}
    values = {name: rng.uniform(0.5, 1.5, 4) for name in "abc"}

    def tree(depth: int) -> Node:
        if depth == 0 or rng.random() < 0.2:
            return leaves[str(rng.choice(list("abc")))]
        if rng.random() < 0.2:
            return -tree(depth - 1)
        a, b = tree(depth - 1), tree(depth - 1)
        return [a + b, a - b, a * b, a / b, a ** ga.constant(2.0), a**b][int(rng.integers(6))]

    for _ in range(300):
        node = tree(4)
        text = written(node)
        expected = ga.evaluate(node, {leaves[k]: v for k, v in values.items()})
        with np.errstate(all="ignore"):  # (-a)**b is NaN both ways
            got = eval(text, {"__builtins__": {}}, dict(values))  # our own text, made here
        np.testing.assert_allclose(got, expected, rtol=1e-12, err_msg=text)


@pytest.mark.parametrize(
    ("build", "text"),
    [
        (lambda x, p: p[1], "p[1]"),
        (lambda x, p: x[:, 0], "x[:, 0]"),
        (lambda x, p: x[1:, ::2, None], "x[1:, ::2, None]"),
        (lambda x, p: x[..., -1], "x[..., -1]"),
        (lambda x, p: (x + 1)[0], "(x + 1.0)[0]"),
        (lambda x, p: x.reshape(3, 2), "reshape(x, (3, 2))"),
        (lambda x, p: x.T, "x.T"),
        (lambda x, p: ga.transpose(x[None], (1, 0, 2)), "transpose(x[None], (1, 0, 2))"),
        (lambda x, p: ga.sum(x, axis=1), "sum(x, axis=1)"),
        (lambda x, p: ga.sum(x), "sum(x)"),
        (lambda x, p: ga.mean(x, axis=0, keepdims=True), "mean(x, axis=0, keepdims=True)"),
        (lambda x, p: x.astype(np.float32), "x.astype(float32)"),
        (lambda x, p: x @ x.T, "x @ x.T"),
        (lambda x, p: -(x**2), "-x**2.0"),
        (lambda x, p: (-x) ** 2, "(-x)**2.0"),
        (lambda x, p: x**-(x), "x**-x"),
        (lambda x, p: x - (x - x), "x - (x - x)"),
        (lambda x, p: (x - x) - x, "x - x - x"),
        (lambda x, p: x / (x * x), "x/(x*x)"),
        (lambda x, p: (x < 1.0) == (x > 0.0), "(x < 1.0) == (x > 0.0)"),
        (lambda x, p: ga.exp(-x), "exp(-x)"),
        (lambda x, p: ga.concatenate([p, p]), "concatenate([p, p], axis=0)"),
        (lambda x, p: ga.add_n(x, x - x, x), "x + (x - x) + x"),
        (lambda x, p: ga.where(x > 0, x, 0.0), "where(x > 0.0, x, 0.0)"),
        (lambda x, p: ga.make_tuple(x, p)[1], "(x, p)[1]"),
        (lambda x, p: ga.make_dict({"w": p})["w"], "{'w': p}['w']"),
        (lambda x, p: ga.einsum("ij,j->i", x.T, p[:2]), "einsum('ij,j->i', x.T, p[:2])"),
    ],
)
def test_ops_write_themselves_as_numpy_would(build, text: str) -> None:
    x = ga.placeholder("x", shape=(2, 3))
    p = ga.placeholder("p", shape=(4,))
    assert written(build(x, p)) == text


def test_constants_and_the_adjoint_of_indexing() -> None:
    assert written(ga.constant(2.0)) == "2.0"
    assert ga.constant(-1.0).op.notation([]) == Term("-1.0", UNARY)
    assert written(ga.constant(np.ones((2, 3)))) == "full((2, 3), 1.0)"
    assert written(ga.constant([1.0, 2.0])) == "[1.0, 2.0]"
    assert written(ga.constant(np.arange(12.0).reshape(3, 4))) == "array((3, 4), float64)"
    assert written(ga.constant(np.inf)) == "inf"
    x = ga.placeholder("x", shape=(2, 2))
    g = ga.gradients(ga.sum(x[:, 0]), x)
    scatter = next(n for n in topo_sort([g]) if n.op.name == "scatter_add")
    term = scatter.op.notation([atom("g")])
    assert term == Term("scatter g into (2, 2) at [:, 0]", LOOSE)
    assert Multiply().notation([term, atom("y")]).text == "(scatter g into (2, 2) at [:, 0])*y"


@dataclass(frozen=True)
class Clamp(Op):
    """A user's op with attributes: written as a call with those that are not defaults."""

    low: float = 0.0
    high: float = 1.0

    def infer(self, x: TensorType) -> TensorType:
        return x

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x, self.low, self.high)


@dataclass(frozen=True)
class Doubled(Multiply):
    """A new kernel under an operator's class: the operator no longer writes it."""

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return 2 * a * b


def test_a_users_op_is_written_as_a_call_with_its_changed_attributes() -> None:
    a, b = atom("a"), Term("b + c", SUM)
    assert Clamp().notation([a]) == Term("clamp(a)", ATOM)
    assert Clamp(high=2.0).notation([b]).text == "clamp(b + c, high=2.0)"
    assert Multiply().notation([a, b]).text == "a*(b + c)"
    assert Doubled().notation([a, b]).text == "doubled(a, b + c)"


def test_literals_of_attribute_values() -> None:
    assert literal((3,)) == "(3,)"
    assert literal(np.dtype("float32")) == "float32"
    assert literal(np.int64(3)) == "3"
    assert literal(np.zeros((3, 4))) == "array((3, 4), float64)"
    assert literal([1, (2, None), "k"]) == "[1, (2, None), 'k']"
