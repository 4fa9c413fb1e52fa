"""Conditions on dims unknown until run time (issue 16, item 18): a builder that needs one
(a repeat's counts, a gradient's stencil, cross's 3-vectors, svd's square matrices, qr's
M ≥ N for its derivative) states it in the graph, and it is checked with the fed shapes
before any kernel runs: a ShapeError naming the condition, the node and the line that
made it, in every Executor mode (Dask feeds are checked by their shapes, which they know).
The values these ops compute are the op table's unknown-dims rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphad as ga

CONDITIONS: dict[str, tuple[Callable[[ga.Node], ga.Node], tuple[int, ...], str]] = {
    "repeat counts": (
        lambda x: ga.repeat(x, [1, 2, 3], axis=0),
        (4, 2),
        r"repeat: 3 repeats: axis 0 of \(4, 2\) must have length 3",
    ),
    "gradient too short": (
        lambda x: ga.gradient(x, axis=0, edge_order=2),
        (2, 3),
        r"gradient: edge_order=2: axis 0 of \(2, 3\) must have length at least 3",
    ),
    "gradient coordinates": (
        lambda x: ga.gradient(x, np.array([0.0, 1.0, 3.0]), axis=1),
        (2, 4),
        r"gradient: coordinates: axis 1 of \(2, 4\) must have length 3",
    ),
    "cross": (lambda x: ga.cross(x, x), (2, 4), r"cross: 3-vectors: axis -1 of \(2, 4\)"),
    "svd full_matrices": (
        lambda x: ga.linalg.svd(x).S,
        (3, 4),
        r"svd: full_matrices=True pads U or Vh .*: axis -1 of \(3, 4\) must have length 3",
    ),
    "qr derivative": (
        lambda x: ga.gradients(ga.sum(ga.linalg.qr(x).R), x),
        (2, 4),
        r"qr: derivatives need M ≥ N: axis -2 of \(2, 4\) must have length at least 4",
    ),
}


@pytest.mark.parametrize("name", list(CONDITIONS))
def test_a_run_time_condition_is_checked_before_any_kernel(run: Any, name: str) -> None:
    build, shape, message = CONDITIONS[name]
    x = ga.placeholder("x", (None, None))
    y = build(x)
    with pytest.raises(ga.ShapeError, match=message) as info:
        run(y, {x: np.ones(shape)})
    assert "with the fed shapes" in str(info.value)
    assert "test_run_time_dims.py:" in str(info.value)  # the line that made the node


def test_a_condition_met_costs_nothing_when_the_dims_are_static() -> None:
    x = ga.placeholder("x", (3, 2))
    y = ga.repeat(x, [1, 2, 3], axis=0)
    assert all(type(n.op).__name__ != "CheckDims" for n in ga.ir.topo_sort([y]))
    with pytest.raises(ga.ShapeError, match="2 repeats for an axis of length 3"):
        ga.repeat(x, [1, 2], axis=0)


def test_a_condition_fixes_the_dim_it_checks() -> None:
    x = ga.placeholder("x", (None, None))
    assert ga.repeat(x, [1, 0, 2], axis=1).shape == (None, 3)
    assert ga.cross(x, x).shape == (None, 3)


@pytest.mark.parametrize(("mode", "length"), [("edge", 0), ("wrap", 0), ("reflect", 1)])
def test_a_pad_of_too_short_an_axis_of_run_time_length_names_the_pad(
    run: Any, mode: str, length: int
) -> None:
    x = ga.placeholder("x", (None,))
    with pytest.raises(ga.ShapeError, match=rf"pad: mode '{mode}': axis 0 of \({length},\)"):
        run(ga.pad(x, 2, mode=mode), {x: np.ones(length)})
    static = ga.placeholder("s", (length,))
    with pytest.raises(ga.ShapeError, match=f"cannot pad an axis of length {length}"):
        ga.pad(static, 2, mode=mode)


@pytest.mark.parametrize(
    ("reps", "message"),
    [(-1, r"reps must be non-negative, got -1"), ((2, -1), r"reps must be non-negative")],
)
def test_negative_reps_are_tiles_error_not_broadcast_tos(reps: Any, message: str) -> None:
    x = ga.placeholder("x", (3,))
    with pytest.raises(ga.ShapeError, match=rf"^tile\(\(3,\):float64\): {message}"):
        ga.tile(x, reps)


@pytest.mark.parametrize("reps", [0, (2, 0)])
def test_zero_reps_tile_to_empty_as_in_numpy(run: Any, reps: Any) -> None:
    x = ga.placeholder("x", (None,))
    value = np.arange(3.0)
    np.testing.assert_array_equal(run(ga.tile(x, reps), {x: value}), np.tile(value, reps))


def test_run_time_gathers_batch_and_differentiate_in_vmap() -> None:
    x = ga.placeholder("x", (4,))
    y = ga.pad(x, (1, 2), mode="reflect") * ga.roll(ga.tile(x, 2), 3)[:7]
    xs = np.arange(8.0).reshape(2, 4)
    got = ga.evaluate(ga.vmap(y, {x: xs}), {})
    expected = [np.pad(v, (1, 2), mode="reflect") * np.roll(np.tile(v, 2), 3)[:7] for v in xs]
    np.testing.assert_allclose(got, expected)
