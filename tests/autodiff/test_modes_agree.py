"""One answer in both modes: every op-table case at its singular points (issue 16, item 5).

The rule, stated once in :class:`graphad.ops.elementwise.Products`: a product of a
derivative and a partial is 0 where either is 0, whatever the other holds.  So reverse
mode (rows of J, one cotangent eᵢ at a time), forward mode (columns, one tangent eⱼ at a
time), the reverse ``jacobian`` (all rows as one batch) and the forward ``jacobian`` (all
columns as one batch) give one Jacobian: the same entries finite, the same infinities and
NaNs, the same finite values to rounding; or all four fail, where the op is not defined
(the inverse of a singular matrix).  The points are where rules are singular: zeros, ones
and minus ones (the edges of arcsin, arccos, log1p, ...; ties of max, min, clip, sort
when every entry is one value), infinities, values whose partials overflow (exp at 1000),
and rank-deficient and zero matrices.

Two kinds of point are outside the rule, and left out (``outside``):

- infinite values inside a contraction (matmul, einsum and what is built on them): the
  contraction sums its products in IEEE arithmetic (BLAS), so an infinite operand meets
  the zeros of a one-hot cotangent or tangent as 0·inf = NaN, along the other operand's
  rows in one mode and its columns in the other;
- the degenerate spectra of ``eigh`` and ``svd`` (every point here repeats an eigenvalue
  or a singular value, or holds inf) and the rank-deficient R of ``qr``, where their
  derivatives do not exist (see :mod:`graphad.ops.decompositions`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pytest
from ops.cases import CASES as TABLE
from ops.cases import Case

import graphad as ga
from graphad.ops._linear import Multilinear

Point = list[np.ndarray]

CYCLES = {
    "infinities": [np.inf, -np.inf, 0.0, 1.0, -1.0, 2.0, 0.5, -0.5, -0.0],
    "overflow": [1000.0, -1000.0, 1e200, -1e200, 0.0, 710.0, 1.0],
}


def cycled(values: Sequence[float], shape: tuple[int, ...], shift: int) -> np.ndarray:
    n = int(np.prod(shape, dtype=int))
    return np.array([values[(i + shift) % len(values)] for i in range(n)]).reshape(shape)


def rank_deficient(shape: tuple[int, ...], drop: int, rng: np.random.Generator) -> np.ndarray:
    """(..., n, n) matrices of rank n - drop (their last ``drop`` singular values 0)."""
    n = shape[-1]
    q1, _ = np.linalg.qr(rng.standard_normal(shape))
    q2, _ = np.linalg.qr(rng.standard_normal(shape))
    s = np.linspace(2.0, 1.0, n)
    s[n - drop :] = 0.0
    return (q1 * s) @ np.swapaxes(q2, -1, -2)


def points(case: Case) -> dict[str, Point]:
    shapes = case.shapes
    found: dict[str, Point] = {
        "zeros": [np.zeros(s) for s in shapes],
        "ones": [np.ones(s) for s in shapes],
        "minus_ones": [-np.ones(s) for s in shapes],
    }
    for name, values in CYCLES.items():
        found[name] = [cycled(values, s, 3 * i) for i, s in enumerate(shapes)]
    if all(len(s) >= 2 and s[-1] == s[-2] for s in shapes):  # square matrices
        rng = np.random.default_rng(16)
        for drop in range(1, min(2, shapes[0][-1]) + 1):
            found[f"rank_minus_{drop}"] = [rank_deficient(s, drop, rng) for s in shapes]
    return found


def checked(case: Case) -> bool:
    return case.differentiable and case.dtype in ("float64", "complex128") and not case.dyadic


CASES = [c for c in TABLE if checked(c)]


class Jacobians:
    """The four ways to the Jacobian of a case's output in each of its inputs, planned once
    and run at any point."""

    def __init__(self, case: Case) -> None:
        self.xs = [ga.placeholder(f"x{i}", s, case.dtype) for i, s in enumerate(case.shapes)]
        self.y = y = case.build(*self.xs)
        self.u = ga.placeholder("u", y.shape, y.dtype)
        grads = ga.gradients(y, self.xs, grad_y=self.u)
        self.reverse = ga.Executor(grads)
        self.vs = [ga.placeholder(f"v{i}", x.shape, x.dtype) for i, x in enumerate(self.xs)]
        self.forward = [ga.Executor(ga.jvp(y, x, v)) for x, v in zip(self.xs, self.vs)]
        self.batched = {
            mode: [ga.Executor(ga.jacobian(y, x, mode=mode)) for x in self.xs]
            for mode in ("reverse", "forward")
        }
        executors = [self.reverse, *self.forward, *self.batched["reverse"]]
        self.ops = {n.op for ex in executors for n in ex.order}

    def outside(self, point: str) -> str | None:
        """Why the rule does not reach the case at ``point`` (see the module docstring)."""
        if point in ("infinities", "overflow") and any(
            isinstance(op, Multilinear) for op in self.ops
        ):
            return "infinite values inside a contraction"
        if {op.name for op in self.ops} & {"eigh", "svd", "qr"}:
            return "a degenerate spectrum (eigh, svd) or a rank-deficient R (qr)"
        return None

    def at(self, point: Point) -> dict[str, list[np.ndarray]]:
        """Each way's Jacobian in each input, (y.size, x.size), at ``point``."""
        feeds = dict(zip(self.xs, point))
        m = self.y.size
        ways: dict[str, list[np.ndarray]] = {}
        rows = []
        for k in range(m):
            u = np.zeros(m, self.y.dtype)
            u[k] = 1.0
            grads = self.reverse.run({**feeds, self.u: u.reshape(self.y.shape)})
            rows.append([np.ravel(g) for g in grads])
        ways["gradients"] = [
            np.array([r[i] for r in rows]).reshape(m, -1) for i in range(len(self.xs))
        ]
        columns = []
        for x, v, ex in zip(self.xs, self.vs, self.forward):
            cols = []
            for j in range(x.size):
                t = np.zeros(x.size)
                t[j] = 1.0
                cols.append(np.ravel(ex.run({**feeds, v: t.reshape(x.shape)})))
            columns.append(np.array(cols).T.reshape(m, x.size))
        ways["jvp"] = columns
        for mode, exs in self.batched.items():
            ways[f"jacobian_{mode}"] = [
                np.reshape(ex.run(feeds), (m, x.size)) for x, ex in zip(self.xs, exs)
            ]
        return ways


def disagreement(a: np.ndarray, b: np.ndarray) -> str | None:
    """Why two Jacobians differ: finiteness, infinities or finite values beyond rounding."""
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return "NaN at different entries"
    finite = np.isfinite(a)
    if not np.array_equal(finite, np.isfinite(b)):
        return "inf at different entries"
    if not np.array_equal(a[~finite & ~np.isnan(a)], b[~finite & ~np.isnan(b)]):
        return "infinities of different signs"
    scale = max(1.0, float(np.max(np.abs(a[finite]), initial=0.0)))
    if not np.allclose(a[finite], b[finite], rtol=1e-9, atol=1e-9 * scale):
        return "finite values differ"
    return None


def fails_everywhere(jacobians: Jacobians, point: Point) -> bool:
    """Whether the case is not defined at ``point``: every way raises an ExecutionError (a
    singular matrix's inverse), not one or some of them."""
    feeds = dict(zip(jacobians.xs, point))
    raised = []
    for ex in [jacobians.reverse, *jacobians.forward, *jacobians.batched["reverse"]]:
        try:
            ex.run({p: feeds.get(p, np.zeros(p.shape)) for p in ex.placeholders})
        except ga.ExecutionError:
            raised.append(True)
        else:
            raised.append(False)
    assert all(raised) or not any(raised), "an ExecutionError in some ways only"
    return all(raised)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_both_modes_give_one_jacobian_at_singular_points(case: Case) -> None:
    """Complex cases too, where the output is complex (holomorphic: the cotangent eᵢ gives
    row i of J, the tangent eⱼ column j); a real function of complex inputs (abs, var) has
    no complex Jacobian for one-hot seeds to read."""
    jacobians = Jacobians(case)
    if case.dtype == "complex128" and jacobians.y.dtype.kind != "c":
        pytest.skip("a real function of complex inputs: its gradient pairs with two tangents")
    wrong = []
    for name, point in points(case).items():
        point = [p.astype(case.dtype) for p in point]
        if jacobians.outside(name) is not None:
            continue
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            if fails_everywhere(jacobians, point):
                continue
            ways = jacobians.at(point)
        reference = ways.pop("gradients")
        for way, js in ways.items():
            for i, (a, b) in enumerate(zip(reference, js)):
                why = disagreement(a, b)
                if why is not None:
                    wrong.append(f"{name}: {way} in x{i}: {why}\n{a}\n{b}")
    assert not wrong, "\n".join(wrong[:2])
