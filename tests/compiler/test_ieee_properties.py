"""Rewrites keep IEEE results: random expressions at special values (issue 16, items 1, 2).

Hypothesis draws expression trees over placeholders and constants chosen to trigger the
rewrite laws (products of scales, sums with repeats and negations, powers, strong-zero
products and quotients, ``where``) and feeds them ±0, ±inf, NaN, subnormals and the
largest finite values, in float64 and in float32.  The value and its gradient are run
optimised (generated code, 0-d float path included), as built (``optimize=False``) and
node by node (``debug=True``), and the value also as plain NumPy: the same entries finite
everywhere, the same infinities and NaNs, the same finite values to rounding.
``debug=True`` stops at the first node that makes inf or NaN from finite inputs, where the
graph it runs has one, and nowhere else.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import graphad as ga
from graphad.ir import topo_sort

PROPERTY = settings(max_examples=60, deadline=None, derandomize=True)
SHAPE = (3,)
F64 = [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1.7976931348623157e308]
F64 += [-1.7976931348623157e308, 1e300, -1e300, 1e-300, 1.0, -1.0, 0.5, 2.0, 710.0]
F32 = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 3.4028235e38, -3.4028235e38]
F32 += [1e30, -1e30, 1e-30, 1.0, -1.0, 0.5, 2.0, 89.0]
SCALES = [0.0, -0.0, 1.0, -1.0, 2.0, 0.5, 3.0, 0.1, 1e300, 1e-300, 1e200, -1e200, 1e30, 1e-30]

Expr = tuple[Any, ...]

UNARY: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "neg": (ga.negative, np.negative),
    "exp": (ga.exp, np.exp),
    "log": (ga.log, np.log),
    "sqrt": (ga.sqrt, np.sqrt),
    "sin": (ga.sin, np.sin),
    "tanh": (ga.tanh, np.tanh),
    "square": (ga.square, np.square),
    "abs": (ga.abs, np.abs),
}
BINARY: dict[str, tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any]]] = {
    "add": (ga.add, np.add),
    "sub": (ga.subtract, np.subtract),
    "mul": (ga.multiply, np.multiply),
    "div": (ga.divide, np.divide),
    "max": (ga.maximum, np.maximum),
}


def expressions() -> st.SearchStrategy[Expr]:
    leaves = st.one_of(
        st.sampled_from([("x",), ("y",), ("s",)]),
        st.sampled_from(SCALES).map(lambda c: ("c", c)),
    )

    def grow(inner: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
        return st.one_of(
            st.tuples(st.sampled_from(sorted(UNARY)), inner),
            st.tuples(st.sampled_from(sorted(BINARY)), inner, inner),
            st.tuples(st.just("pow"), inner, st.sampled_from([0, 0.5, 1, 2, 3, -1])),
            st.tuples(st.just("scale"), inner, st.sampled_from(SCALES)),
            st.tuples(st.just("add_n"), st.lists(inner, min_size=2, max_size=4)),
            st.tuples(st.just("repeat"), inner, st.integers(2, 4), inner),
            st.tuples(st.just("where"), inner, inner),
            st.tuples(st.just("sum"), inner),
        )

    return st.recursive(leaves, grow, max_leaves=8)


@dataclass
class Built:
    """An expression as a graph and as plain NumPy."""

    node: ga.Node
    numpy: Callable[[dict[str, np.ndarray]], np.ndarray]


def scalar(value: float, dtype: np.dtype) -> Any:
    """``value`` in ``dtype`` (1e300 is inf in float32)."""
    with np.errstate(over="ignore"):
        return dtype.type(value)


def build(e: Expr, leaves: dict[str, ga.Node], dtype: np.dtype) -> Built:
    kind = e[0]
    if kind in leaves:
        return Built(leaves[kind], lambda v, k=kind: v[k])
    if kind == "c":
        c = scalar(e[1], dtype)
        return Built(ga.constant(c), lambda v: c)
    if kind in UNARY:
        f, g = UNARY[kind]
        a = build(e[1], leaves, dtype)
        return Built(f(a.node), lambda v: g(a.numpy(v)))
    if kind in BINARY:
        f2, g2 = BINARY[kind]
        a, b = build(e[1], leaves, dtype), build(e[2], leaves, dtype)
        return Built(f2(a.node, b.node), lambda v: g2(a.numpy(v), b.numpy(v)))
    if kind in ("pow", "scale"):
        a, p = build(e[1], leaves, dtype), scalar(e[2], dtype)
        if kind == "pow":
            return Built(a.node**p, lambda v: np.power(a.numpy(v), p))
        return Built(a.node * p, lambda v: np.multiply(a.numpy(v), p))
    if kind == "sum":
        a = build(e[1], leaves, dtype)
        return Built(ga.sum(a.node), lambda v: np.sum(a.numpy(v)))
    if kind == "where":
        a, b = build(e[1], leaves, dtype), build(e[2], leaves, dtype)
        node = ga.where(a.node < b.node, a.node, b.node)
        return Built(node, lambda v: np.where(a.numpy(v) < b.numpy(v), a.numpy(v), b.numpy(v)))
    terms = [build(t, leaves, dtype) for t in e[1]] if kind == "add_n" else []
    if kind == "repeat":  # k copies of one term, then another: add_n's repeated terms
        first, second = build(e[1], leaves, dtype), build(e[3], leaves, dtype)
        terms = [first] * e[2] + [second, first]
    wide = [ga.broadcast_to(t.node, SHAPE) for t in terms]

    def summed(v: dict[str, np.ndarray]) -> np.ndarray:
        total = np.broadcast_to(terms[0].numpy(v), SHAPE)
        for t in terms[1:]:  # from the left, as add_n sums
            total = total + np.broadcast_to(t.numpy(v), SHAPE)
        return total

    return Built(ga.add_n(*wide), summed)


@dataclass
class Problem:
    expr: Expr
    built: Built
    leaves: dict[str, ga.Node]
    values: dict[str, np.ndarray]

    @property
    def feeds(self) -> dict[ga.Node, np.ndarray]:
        return {self.leaves[k]: v for k, v in self.values.items()}

    def fetches(self) -> list[ga.Node]:
        y = ga.broadcast_to(self.built.node, SHAPE)
        xs = [self.leaves["x"], self.leaves["s"]]
        return [y, *ga.gradients(ga.sum(y), xs)]


@st.composite
def problems(draw: st.DrawFn, dtype: str) -> Problem:
    d = np.dtype(dtype)
    specials = F64 if d == np.float64 else F32
    shapes = {"x": SHAPE, "y": SHAPE, "s": ()}
    leaves = {k: ga.placeholder(k, s, dtype) for k, s in shapes.items()}
    expr = draw(expressions())
    values = {
        k: np.array(draw(st.lists(st.sampled_from(specials), min_size=3, max_size=3)), d)
        if s
        else np.array(draw(st.sampled_from(specials)), d)
        for k, s in shapes.items()
    }
    return Problem(expr, build(expr, leaves, d), leaves, values)


def same(a: Any, b: Any) -> str | None:
    """Why two results differ beyond rounding, or None."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return "NaN at different entries"
    if not np.array_equal(np.isinf(a), np.isinf(b)):
        return "inf at different entries"
    if not np.array_equal(a[np.isinf(a)], b[np.isinf(b)]):
        return "infinities of different signs"
    finite = np.isfinite(a)
    if not np.allclose(a[finite], b[finite], rtol=1e-5, atol=1e-30):
        return "finite values differ beyond rounding"
    return None


def makes_nonfinite(nodes: list[ga.Node], feeds: dict[ga.Node, np.ndarray]) -> bool:
    """Whether some node of the graph as built makes inf or NaN from finite inputs."""
    values: dict[ga.Node, Any] = {}
    for node in topo_sort(nodes):
        if node in feeds:
            values[node] = feeds[node]
            continue
        if not node.inputs:
            values[node] = node.op.compute()
            continue
        inputs = [values[i] for i in node.inputs]
        values[node] = out = node.op.compute(*inputs)
        if not np.all(np.isfinite(out)) and all(np.all(np.isfinite(v)) for v in inputs):
            return True
    return False


def check(p: Problem) -> None:
    fetches = p.fetches()
    feeds = p.feeds
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        as_built = ga.Executor(fetches, optimize=False).run(feeds)
        optimised = ga.Executor(fetches).run(feeds)
        reference = np.broadcast_to(p.built.numpy(p.values), SHAPE)
        for i, (a, b) in enumerate(zip(as_built, optimised)):
            why = same(a, b)
            assert why is None, f"fetch {i}, optimised against as built: {why}: {b} vs {a}"
        why = same(reference, as_built[0])
        assert why is None, f"the value against NumPy: {why}: {as_built[0]} vs {reference}"
        for optimize in (False, True):
            # the graph debug runs: a rewrite may bring out a node that overflows inside
            # another (add_n(x, x, inf) is inf from an inf; its 2x from finite x)
            ran = ga.optimize(fetches) if optimize else fetches
            stops = makes_nonfinite(ran, feeds)
            try:
                debugged = ga.Executor(fetches, debug=True, optimize=optimize).run(feeds)
            except ga.ExecutionError as e:
                assert "made NaN or inf from finite inputs" in str(e), str(e)
                assert stops, f"debug stopped without cause: {e}"
                continue
            assert not stops, "debug ran past a node that makes inf or NaN from finite inputs"
            for i, (a, b) in enumerate(zip(as_built, debugged)):
                why = same(a, b)
                assert why is None, f"fetch {i}, debug against as built: {why}: {b} vs {a}"


@PROPERTY
@given(problems("float64"))
def test_float64_rewrites_keep_infinities_nans_and_finite_values(p: Problem) -> None:
    check(p)


@PROPERTY
@given(problems("float32"))
def test_float32_rewrites_keep_infinities_nans_and_finite_values(p: Problem) -> None:
    check(p)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(SCALES), min_size=2, max_size=4), st.sampled_from(F64))
def test_chains_of_scales_keep_finiteness(scales: list[float], value: float) -> None:
    """x·c₁·c₂·…: scales combine only where neither order over- or underflows where the
    other does not (the issue's x·1e300·1e-300 at 1e10 and x·1e-300·1e300 at 5e-324)."""
    x = ga.placeholder("x", SHAPE)
    y: ga.Node = x
    want = np.full(SHAPE, value)
    with np.errstate(all="ignore"):
        for c in scales:
            y = y * c
            want = want * c
    feeds = {x: np.full(SHAPE, value)}
    for got in (ga.evaluate(y, feeds), ga.evaluate(y, feeds, optimize=False)):
        assert same(got, want) is None, (scales, value, got, want)
