"""Every op rule against NumPy and against central differences, driven by ``CASES``.

For each case: the value equals the NumPy reference; every inferred type equals
the computed array's; the VJP satisfies ⟨u, J v⟩ = ⟨Jᵀu, v⟩ with J v by central
differences; the JVP equals the central difference; and at second order the
same holds for reverse-over-reverse, forward-over-forward and
forward-over-reverse, each against central differences of the first-order
quantity the graph computes.  Central differences with h ≈ ∛ε are accurate to
~1e-10 relative on these smooth domains, so a failure at the tolerances below
is a wrong rule, not noise.  Beside those: float32 inputs keep every float node
float32, and placeholders of unknown dims compute what static ones do.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.compiler.contract import mismatch
from graphad.ir import SparseType, TensorType, TupleType, topo_sort
from graphad.numerical import directional_derivative

from .cases import CASES, Case

FIRST = 1e-6  # tolerance of first-order checks
SECOND = 1e-5  # tolerance of second-order checks
DYADIC_STEP = 2.0**-4  # exact for dyadic inputs and directions (see Case.dyadic)

DIFFERENTIABLE = [c for c in CASES if c.differentiable]
FLOAT64 = [c for c in CASES if c.dtype == "float64" and not c.dyadic]
DYNAMIC = [c for c in FLOAT64 if c.differentiable and not c.static_only]


def by_id(cases: Sequence[Case]) -> Any:
    return pytest.mark.parametrize("case", cases, ids=[c.id for c in cases])


class Problem:
    """A case's graph at one random point: placeholders, output, values, directions.

    ``u`` is a cotangent of y's shape, ``v`` and ``w`` are directions in input
    space.  Everything is drawn from one generator seeded by the case id.
    """

    def __init__(self, case: Case, dtype: str | None = None) -> None:
        rng = np.random.default_rng(zlib.crc32(case.id.encode()))
        dtype = dtype or case.dtype
        self.case = case
        self.complex = np.dtype(dtype).kind == "c"
        self.xs = [ga.placeholder(f"x{i}", s, dtype) for i, s in enumerate(case.shapes)]
        self.y = case.build(*self.xs)
        self.values = case.sample(rng)
        draw = self._dyadic if case.dyadic else self._normal
        self.u = draw(rng, self.y.shape)
        if self.y.dtype.kind != "c":  # a real y of complex inputs (abs, var): a real cotangent
            self.u = np.real(self.u)
        self.vs = [draw(rng, s) for s in case.shapes]
        self.ws = [draw(rng, s) for s in case.shapes]

    def _normal(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """Standard normal; complex (both parts) for a complex case, so every check moves
        the real and the imaginary parts of the inputs."""
        if self.complex:
            return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
        return rng.standard_normal(shape)

    @staticmethod
    def _dyadic(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        return rng.integers(-16, 17, shape) / 16.0

    def run(self, fetches: Any, values: Sequence[np.ndarray] | None = None) -> Any:
        feeds = dict(zip(self.xs, self.values if values is None else values))
        return ga.Executor(fetches).run(feeds)

    def difference(self, nodes: Sequence[ga.Node], directions: Sequence[np.ndarray]) -> np.ndarray:
        """Central difference of the flattened, concatenated ``nodes`` along ``directions``."""
        executor = ga.Executor(list(nodes))

        def flat(*values: np.ndarray) -> np.ndarray:
            outs = executor.run(dict(zip(self.xs, values)))
            return flatten(outs)

        step = DYADIC_STEP if self.case.dyadic else None
        return directional_derivative(flat, self.values, directions, eps=step)

    def pairing(self, left: Sequence[np.ndarray], right: Sequence[np.ndarray]) -> float:
        """Σᵢ Re Σ leftᵢ·rightᵢ over the inputs: the real pairing under which a complex
        adjoint is the transpose (docs/conventions.md; no conjugate)."""
        return float(sum(real_pairing(a, b) for a, b in zip(left, right)))

    def inner(self, nodes: Sequence[ga.Node], weights: Sequence[np.ndarray]) -> ga.Node:
        """Σᵢ Re sum(nodesᵢ · weightsᵢ) as a real scalar node."""
        terms = [ga.sum(n * ga.constant(w)) for n, w in zip(nodes, weights)]
        total = ga.add_n(*terms)
        return ga.real(total) if total.dtype.kind == "c" else total


def flatten(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """One vector of every entry, float64 (complex128 if any array is complex)."""
    flat = [np.ravel(a) for a in arrays]
    dtype = complex if any(a.dtype.kind == "c" for a in flat) else float
    return np.concatenate([a.astype(dtype) for a in flat])


def real_pairing(a: Any, b: Any) -> float:
    """Re Σ a·b"""
    return float(np.sum(np.multiply(a, b)).real)


def assert_close(actual: Any, expected: Any, tol: float, scale: float | None = None) -> None:
    """|actual - expected| ≤ tol·(|expected| + max(1, scale)) elementwise.

    ``scale`` is the size of the terms that were summed into ``expected``, so
    that an inner product which cancels to ~0 is judged by its terms.
    """
    expected = np.asarray(expected)
    if scale is None:
        scale = float(np.max(np.abs(expected), initial=0.0))
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * max(1.0, scale))


def is_static(t: Any) -> bool:
    """Every dim known, in a tensor type or in each entry of a tuple type."""
    return all(map(is_static, t.items)) if isinstance(t, TupleType) else t.is_static


def mismatched_types(nodes: Sequence[ga.Node], values: Sequence[Any]) -> list[str]:
    """The nodes whose inferred shape or dtype contradicts the computed array's.

    A known dim must equal the computed one; an unknown dim (None) accepts any.
    """
    bad = []
    for node, value in zip(nodes, values):
        if isinstance(node.type, SparseType):  # a sparse matrix: its pattern, shape and dtype
            why = mismatch(node.type, value)
            bad += [] if why is None else [f"{node.op} ({node.origin.kind}): {why}"]
            continue
        # a tuple-valued node (a decomposition) is checked entry by entry
        entries = (
            zip(node.type.items, value)
            if isinstance(node.type, TupleType)
            else [(node.type, value)]
        )
        for t, v in entries:
            v = np.asarray(v)
            if not isinstance(t, TensorType) or not t.accepts(v.shape) or t.dtype != v.dtype:
                bad.append(
                    f"{node.op} ({node.origin.kind}): inferred {t}, computed {v.shape}:{v.dtype}"
                )
    return bad


# -- order 0 -------------------------------------------------------------------
@by_id(CASES)
def test_value_equals_numpy(case: Case) -> None:
    p = Problem(case)
    expected = np.asarray(case.ref(*(v.astype(case.dtype) for v in p.values)))
    out = p.run(p.y)
    assert out.shape == expected.shape
    assert out.dtype == expected.dtype
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@by_id(CASES)
def test_inferred_types_equal_computed(case: Case) -> None:
    """Every node of y, of its VJP graph and of its JVP graph has the type its value has."""
    p = Problem(case)
    grads = ga.gradients(p.y, p.xs, grad_y=p.u)
    tangent = ga.jvp(p.y, p.xs, p.vs)
    nodes = topo_sort([p.y, *grads, tangent])
    assert all(is_static(n.type) for n in nodes)
    assert mismatched_types(nodes, p.run(nodes)) == []
    for x, g in zip(p.xs, grads):
        assert g.type == x.type


# -- order 1 -------------------------------------------------------------------
@by_id(DIFFERENTIABLE)
def test_vjp_matches_central_difference(case: Case) -> None:
    """Σᵢ ⟨(Jᵀu)ᵢ, vᵢ⟩ from gradients(y, xs, grad_y=u) equals ⟨u, J v⟩ by differences."""
    p = Problem(case)
    grads = p.run(ga.gradients(p.y, p.xs, grad_y=p.u))
    jv = p.difference([p.y], p.vs)
    u = np.ravel(p.u)
    assert_close(p.pairing(grads, p.vs), real_pairing(u, jv), FIRST, float(np.sum(np.abs(u * jv))))


@by_id(DIFFERENTIABLE)
def test_jvp_matches_central_difference(case: Case) -> None:
    p = Problem(case)
    tangent = p.run(ga.jvp(p.y, p.xs, p.vs))
    assert_close(np.ravel(tangent), p.difference([p.y], p.vs), FIRST)


# -- order 2 -------------------------------------------------------------------
@by_id(DIFFERENTIABLE)
def test_reverse_over_reverse(case: Case) -> None:
    """⟨v, H w⟩ for s = sum(y·u): the gradient of ⟨∇s, w⟩, against d/dv ⟨∇s(x), w⟩."""
    p = Problem(case)
    s = p.inner([p.y], [p.u])
    g_w = p.inner(ga.gradients(s, p.xs), p.ws)
    hw = p.run(ga.gradients(g_w, p.xs))
    expected = p.difference([g_w], p.vs)[0]
    scale = float(np.sum(np.abs(flatten(hw) * flatten(p.vs))))
    assert_close(p.pairing(hw, p.vs), expected, SECOND, scale)


@by_id(DIFFERENTIABLE)
def test_forward_over_forward(case: Case) -> None:
    """jvp(jvp(y, v), w) against the central difference of jvp(y, v) along w."""
    p = Problem(case)
    tangent = ga.jvp(p.y, p.xs, p.vs)
    second = p.run(ga.jvp(tangent, p.xs, p.ws))
    assert_close(np.ravel(second), p.difference([tangent], p.ws), SECOND)


@by_id(DIFFERENTIABLE)
def test_forward_over_reverse(case: Case) -> None:
    """jvp(∇s, v) for s = sum(y·u) against the central difference of ∇s along v."""
    p = Problem(case)
    s = p.inner([p.y], [p.u])
    grads = ga.gradients(s, p.xs)
    hv = p.run(ga.jvp(grads, p.xs, p.vs))
    assert_close(flatten(hv), p.difference(grads, p.vs), SECOND)


# -- float32 -------------------------------------------------------------------
@by_id(FLOAT64)
def test_float32_graph_stays_float32(case: Case) -> None:
    """With float32 inputs, y, its gradients, its JVP and every float node between are
    float32, and their values agree with the float64 graph's to float32 accuracy."""
    p32, p64 = Problem(case, "float32"), Problem(case)
    u32 = p64.u.astype(np.float32)
    grads = ga.gradients(p32.y, p32.xs, grad_y=u32)
    tangent = ga.jvp(p32.y, p32.xs, [v.astype(np.float32) for v in p64.vs])
    nodes = topo_sort([p32.y, *grads, tangent])
    wide = [f"{n.op} ({n.origin.kind})" for n in nodes if n.dtype == np.float64]
    assert wide == []
    assert all(g.dtype == np.float32 for g in grads)
    values32 = p32.run([p32.y, tangent, *grads], [v.astype(np.float32) for v in p64.values])
    values64 = p64.run(
        [p64.y, ga.jvp(p64.y, p64.xs, p64.vs), *ga.gradients(p64.y, p64.xs, grad_y=p64.u)]
    )
    for a32, a64 in zip(values32, values64):
        assert a32.dtype == np.float32
        assert_close(a32, a64, 1e-4)


# -- unknown dims --------------------------------------------------------------
def derived(y: ga.Node, xs: Sequence[ga.Node], p: Problem) -> list[ga.Node]:
    """y, its JVP along v, its VJP of u and the JVP along v of the gradient of sum(y·u)."""
    grads = ga.gradients(ga.sum(y * ga.constant(p.u)), xs)
    return [
        y,
        ga.jvp(y, xs, p.vs),
        *ga.gradients(y, xs, grad_y=p.u),
        *ga.jvp(grads, xs, p.vs),
    ]


@by_id(DYNAMIC)
@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_unknown_dims_compute_the_same(case: Case, backend: str) -> None:
    """Built on placeholders whose dims are all unknown, the case and its first- and
    second-order derivatives, in forward and reverse mode, compute what the static graph
    computes: this runs the run-time shape paths (shape_of, broadcast_like, sum_to to a
    node, run-time gather indices and checks) of every rule, on NumPy and lazily on Dask
    (fed arrays of two chunks per axis, the dims unknown to the graph either way)."""
    p = Problem(case)
    xs = [ga.placeholder(f"x{i}", (None,) * len(s)) for i, s in enumerate(case.shapes)]
    fetches = derived(case.build(*xs), xs, p)
    nodes = topo_sort(fetches)
    feeds = dict(zip(xs, p.values))
    if backend == "dask":
        da = pytest.importorskip("dask.array")
        chunks = [tuple(max(1, (n + 1) // 2) for n in v.shape) or () for v in p.values]
        lazy = {x: da.from_array(v, chunks=c) for x, v, c in zip(xs, p.values, chunks)}
        values = ga.Executor(fetches).run(lazy, compute=True)
        value_of = dict(zip(fetches, values))
    else:
        values = ga.Executor(nodes).run(feeds)
        assert mismatched_types(nodes, values) == []
        value_of = dict(zip(nodes, values))
    for node, expected in zip(fetches, p.run(derived(p.y, p.xs, p))):
        assert np.shape(value_of[node]) == expected.shape
        np.testing.assert_allclose(value_of[node], expected, rtol=1e-12, atol=1e-12)
