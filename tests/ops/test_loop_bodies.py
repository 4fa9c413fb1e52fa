"""Every op of the table inside a loop body, driven by ``CASES``.

For each differentiable float64 case, a scan runs the op once per row of its inputs
(stacked two rows deep) and stacks the results, carrying a running sum of them.  Against
the same op applied to each row outside any loop (whose rules ``test_table.py`` checks
against finite differences): the stacked values, the gradient (a backward loop over the
body's vjp) and the forward-mode tangent (a loop over the body's jvp) of a random linear
function of everything the loop returns.  So every op family's rules, and the loop's
choice of what to save from its forward steps, meet each other in a loop.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import pytest

import graphad as ga

from .cases import CASES, Case

ROWS = 2
LOOPABLE = [c for c in CASES if c.differentiable and c.dtype == "float64" and not c.dyadic]


def build(case: Case) -> tuple[list[ga.Node], ga.Node, ga.Node, dict[ga.Node, Any]]:
    """(stacked inputs, loop's y, unrolled y, values): y a random linear function of the
    stacked outputs and the final carry."""
    rng = np.random.default_rng(zlib.crc32(f"loop/{case.id}".encode()))
    xs = [ga.placeholder(f"x{i}", (ROWS, *s)) for i, s in enumerate(case.shapes)]
    samples = [case.sample(rng) for _ in range(ROWS)]
    values = {x: np.stack([s[i] for s in samples]) for i, x in enumerate(xs)}

    def step(total: ga.Node, rows: tuple[ga.Node, ...]) -> tuple[ga.Node, ga.Node]:
        y = case.build(*rows)
        return total + ga.sum(y), y

    total, ys = ga.scan(step, 0.0, tuple(xs))
    u = ga.constant(rng.standard_normal((ROWS, *ys.shape[1:])))  # type: ignore[index]
    loop_y = ga.sum(ys * u) + total * 0.5
    rows = [case.build(*(x[t] for x in xs)) for t in range(ROWS)]
    unrolled = ga.add_n(*(ga.sum(r * u[t]) for t, r in enumerate(rows)))
    unrolled = unrolled + ga.add_n(*(ga.sum(r) for r in rows)) * 0.5
    return xs, loop_y, unrolled, values


@pytest.mark.parametrize("case", LOOPABLE, ids=[c.id for c in LOOPABLE])
def test_an_op_in_a_loop_body_runs_and_differentiates_as_outside(case: Case) -> None:
    xs, loop_y, unrolled, values = build(case)
    rng = np.random.default_rng(zlib.crc32(f"direction/{case.id}".encode()))
    v = [rng.standard_normal(values[x].shape) for x in xs]
    fetches = [loop_y, *ga.gradients(loop_y, xs), ga.jvp(loop_y, xs, v)]
    want = [unrolled, *ga.gradients(unrolled, xs), ga.jvp(unrolled, xs, v)]
    got, expected = ga.evaluate([fetches, want], values)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
