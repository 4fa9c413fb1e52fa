"""``ga.formula``: read back through the command line's parser, the text computes what the
node computes; golden strings for the notation of each op family."""

from __future__ import annotations

import time
import unicodedata

import numpy as np
import pytest

import graphad as ga
from graphad.expression import parse
from tests.ops.cases import ELEMENTWISE, Case


def read_back(text: str) -> tuple[ga.Node, dict[str, ga.Node]]:
    """The node a formula's text builds: its named lines first, then its expression."""
    variables: dict[str, ga.Node] = {}
    *named, last = text.splitlines()
    for line in named:
        name, _, expression = line.partition(" = ")
        assert name.isidentifier() and name not in variables, line
        variables[unicodedata.normalize("NFKC", name)] = parse(expression, variables)[0]
    node, _ = parse(last, variables)
    return node, variables


def scalar_derivatives(case: Case) -> tuple[list[ga.Node], dict[str, ga.Node]]:
    """The case's op on scalar placeholders a, b, c, with its first and second derivatives."""
    xs = [ga.placeholder(name, shape=()) for name in "abc"[: len(case.shapes)]]
    f = case.build(*xs)
    nodes = {"f": f}
    if case.differentiable:
        for x, g in zip(xs, ga.gradients(f, xs)):
            nodes[f"∂f/∂{x.name}"] = g
            for z, h in zip(xs, ga.gradients(g, xs)):
                nodes[f"∂²f/∂{x.name}∂{z.name}"] = h
    return xs, nodes


ELEMENTWISE_FLOAT64 = [c for c in ELEMENTWISE if c.dtype == "float64"]


@pytest.mark.parametrize("case", ELEMENTWISE_FLOAT64, ids=lambda c: c.id)
def test_the_text_computes_what_the_node_computes(case: Case) -> None:
    """Every elementwise op and its first two derivatives: the formula, parsed back by the
    CLI's parser, gives the node's values at random points of the op's domain."""
    rng = np.random.default_rng(17)
    xs, nodes = scalar_derivatives(case)
    for label, node in nodes.items():
        text = ga.formula(node)
        back, variables = read_back(text)
        for _ in range(4):
            # entries of a (3, 4) draw, so that domains with set entries (zeros) are met
            point = [rng.choice(d(rng, (3, 4)).ravel()) for d in case.domains]
            want = ga.evaluate(node, dict(zip(xs, point)))
            feeds = {variables[x.name]: v for x, v in zip(xs, point) if x.name in variables}
            got = ga.evaluate(back, feeds)
            assert np.allclose(got, want, rtol=1e-12, atol=1e-13, equal_nan=True), (
                f"{case.id} {label} at {point}: {text!r} gives {got}, the node {want}"
            )


def scalars(names: str) -> list[ga.Node]:
    return [ga.placeholder(n, shape=()) for n in names]


def test_derivatives_read_as_written_by_hand() -> None:
    x, y = scalars("xy")
    assert ga.formula(ga.gradients(ga.sin(x) * y, x)) == "y*cos(x)"
    assert ga.formula(ga.gradients(ga.sin(x) * y, y)) == "sin(x)"
    assert ga.formula(ga.gradients(ga.log(x), x)) == "1.0/x"
    assert ga.formula(ga.gradients(ga.tanh(x), x)) == "1.0 - tanh(x)**2"
    assert ga.formula(ga.gradients(x**3, x)) == "3.0*x**2"
    assert ga.formula(ga.gradients(ga.relu(x), x)) == "where(x > 0.0, 1.0, 0.0)"
    assert ga.formula(ga.gradients(ga.exp(-(x**2) / 2), x)) == "-(exp(-(x**2/2.0))/2.0*(2.0*x))"
    f = ga.sin(x) * y
    assert ga.formula(ga.gradients(f, x), simplify=False) == "1.0*y*cos(x)"


def test_operators_take_the_parentheses_python_needs_and_no_others() -> None:
    a, b, c = scalars("abc")
    cases = {
        (a + b) * c: "(a + b)*c",
        a + b * c: "a + b*c",
        a - (b - c): "a - (b - c)",
        (a - b) - c: "a - b - c",
        a / (b * c): "a/(b*c)",
        -(a**2): "-a**2.0",
        (-a) ** 2: "(-a)**2.0",
        -ga.square(a): "-a**2",
        a ** (-b): "a**-b",
        a ** (b**c): "a**b**c",
        (a**b) ** c: "(a**b)**c",
        a * -b: "a*-b",
        ga.negative(-a): "--a",
        ga.where(a > b, a % b, -1.5): "where(a > b, a%b, -1.5)",
        ga.exp(-(a + b)): "exp(-(a + b))",
        (a > b) == (b > c): "(a > b) == (b > c)",
        ga.maximum(a, 2) ** 0.5: "maximum(a, 2.0)**0.5",
    }
    for node, text in cases.items():
        assert ga.formula(node, simplify=False) == text
        back, variables = read_back(text)
        feeds = {variables[n]: v for n, v in zip("abc", (0.3, 1.7, -0.6)) if n in variables}
        want = ga.evaluate(node, {a: 0.3, b: 1.7, c: -0.6})
        assert ga.evaluate(back, feeds) == pytest.approx(want, nan_ok=True)


def test_each_family_has_its_notation() -> None:
    p = ga.placeholder("p", shape=(2,))
    X = ga.placeholder("X", shape=(3, 4))
    W = ga.placeholder("W", shape=(4, 2))
    A = ga.placeholder("A", shape=(2, 2))
    t = ga.make_tuple(p, X)
    d = ga.make_dict({"w": W})
    cases = {
        p[1]: "p[1]",
        X[:, 0]: "X[:, 0]",
        X[1:3, None, ::2]: "X[1:3, None, ::2]",
        X[..., -1]: "X[..., -1]",
        X.T: "X.T",
        X @ W: "X @ W",
        ga.reshape(X, (2, 6)): "reshape(X, (2, 6))",
        ga.transpose(ga.reshape(X, (3, 2, 2)), (0, 2, 1)): (
            "transpose(reshape(X, (3, 2, 2)), (0, 2, 1))"
        ),
        ga.expand_dims(p, 0): "expand_dims(p, 0)",
        ga.sum(X, axis=1): "sum(X, axis=1)",
        ga.mean(X, axis=(0, 1), keepdims=True): "mean(X, axis=(0, 1), keepdims=True)",
        ga.var(X, ddof=1): "var(X, ddof=1)",
        ga.max(X): "max(X)",
        ga.sum_to(X, (3, 1)): "sum_to(X, (3, 1))",
        ga.broadcast_to(p, (3, 2)): "broadcast_to(p, (3, 2))",
        ga.concatenate([p, p]): "concatenate([p, p], axis=0)",
        ga.stack([p, p], axis=1): "stack([p, p], axis=1)",
        ga.einsum("ij,jk->ik", X, W): "einsum('ij,jk->ik', X, W)",
        ga.cumsum(X, axis=1): "cumsum(X, axis=1)",
        ga.clip(p, None, 1.0): "clip(p, None, 1.0)",
        ga.softmax(X, axis=0): "softmax(X, axis=0)",
        ga.linalg.slogdet(A).logabsdet: "slogdet(A)[1]",
        ga.linalg.slogdet(A).sign: "slogdet(A)[0]",
        ga.linalg.inv(A): "inv(A)",
        ga.cast(p, "float32"): "p.astype(float32)",
        t[0]: "(p, X)[0]",
        d["w"]: "{'w': W}['w']",
        p * np.array([1.0, 2.0]): "p*[1.0, 2.0]",
        X * np.full((3, 4), 0.5): "X*full((3, 4), 0.5)",
        X * np.arange(12.0).reshape(3, 4): "X*array((3, 4), float64)",
        X @ np.eye(4): "X @ eye(4)",
    }
    written = {text: ga.formula(node, simplify=False) for node, text in cases.items()}
    assert written == {text: text for text in cases.values()}
    (scattered,) = [
        n for n in ga.ir.topo_sort([ga.gradients(ga.sum(X[:, 0]), X)]) if n.op.name == "scatter_add"
    ]
    assert ga.formula(scattered, simplify=False).startswith("scatter ")


def test_cond_reads_as_a_conditional_over_its_branches() -> None:
    x = ga.placeholder("x", shape=(3,))
    c = ga.cond(ga.sum(x) > 0, lambda a: ga.sin(a), lambda a: a * 2, x)
    assert ga.formula(c) == "sin(x) if sum(x) > 0.0 else x*2.0"
    assert ga.formula(ga.exp(c)) == "exp(sin(x) if sum(x) > 0.0 else x*2.0)"
    assert ga.formula(c + 1) == "(sin(x) if sum(x) > 0.0 else x*2.0) + 1.0"


def test_shared_values_are_named_once_before_their_first_use() -> None:
    x, y = scalars("xy")
    f = ga.sin(x) * ga.exp(y) / (1 + x**2)
    gx, gy = ga.gradients(f, [x, y])
    text = ga.formula({"∂f/∂x": gx, "∂f/∂y": gy})
    lines = text.splitlines()
    assert lines[0] == "v1 = 1.0 + x**2"
    assert lines[1].startswith("∂f/∂x = ") and lines[2].startswith("∂f/∂y = ")
    assert text.count("1.0 + x**2") == 1
    # a name the user gave a shared node is kept; a placeholder's name is never reused
    v1 = ga.placeholder("v1", shape=())
    e = ga.exp(v1 * y, name="e")
    assert ga.formula(e * e + e) == "e = exp(v1*y)\ne*e + e"
    s = ga.sin(v1 * y)
    assert ga.formula(s * s) == "v2 = sin(v1*y)\nv2*v2"
    # short repeats are written out: x**2 twice reads better than a name
    assert ga.formula(ga.cos(x**2) + x**2) == "cos(x**2) + x**2"


def test_a_list_writes_one_line_per_node() -> None:
    x, y = scalars("xy")
    assert ga.formula([x * y, x + y]) == "x*y\nx + y"


def test_long_expressions_are_cut_into_named_lines() -> None:
    x = ga.placeholder("x", shape=())
    f = x
    for k in range(60):
        f = ga.sin(f) + k
    lines = ga.formula(f, simplify=False).splitlines()
    assert len(lines) >= 3 and all(len(line) <= ga.formulas.LONG + 20 for line in lines)
    back, variables = read_back("\n".join(lines))
    assert ga.evaluate(back, {variables["x"]: 0.3}) == pytest.approx(ga.evaluate(f, {x: 0.3}))


def test_a_long_chain_is_written_without_recursion_in_linear_time() -> None:
    x = ga.placeholder("x", shape=())
    f = x
    for _ in range(20_000):
        f = ga.sin(f)
    start = time.perf_counter()
    text = ga.formula(f, simplify=False)
    assert time.perf_counter() - start < 10
    lines = text.splitlines()
    assert lines[0].startswith("v1 = sin(sin(") and "(sin(x))" in lines[0]
    assert lines[1].startswith("v2 = sin(sin(") and "(sin(v1))" in lines[1]
    back, variables = read_back(text)
    assert ga.evaluate(back, {variables["x"]: 0.3}) == ga.evaluate(f, {x: 0.3})


def test_bad_inputs_are_named() -> None:
    x = ga.placeholder("x", shape=())
    with pytest.raises(ga.GraphError, match="formula: expected a node"):
        ga.formula("x")
    with pytest.raises(ga.GraphError, match="formula: expected nodes, got int for 'g'"):
        ga.formula({"f": x, "g": 1})
    with pytest.raises(ga.GraphError, match=r"formula: expected nodes, got str \(test_formula"):
        ga.formula([x, "y"])
