"""Loops on the numba backend (issue 20 item 2): a loop whose body compiles runs as one
native loop, its backward and tangent loops too, with the driver's trip counts,
checkpoints, replays and ``max_steps``; a body that does not compile keeps its Python steps
and the report says why.  Values against the NumPy backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import graphad as ga
from graphad.ir import ExecutionError

numba = pytest.importorskip("numba")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("numba_loops")


def both(fetches: Any, feeds: dict[Any, Any], cache: Path) -> tuple[Any, Any, Any]:
    """The fetches on NumPy and on numba, and the numba Executor."""
    ex = ga.Executor(fetches, backend="numba", cache_dir=cache)
    return ga.Executor(fetches).run(feeds), ex.run(feeds), ex


def agree(got: Any, want: Any) -> None:
    for g, w in zip(got, want):
        assert np.asarray(g).dtype == np.asarray(w).dtype
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def recurrence(steps: int, checkpoint: Any = None) -> tuple[list[ga.Node], list[ga.Node]]:
    w = ga.placeholder("W", (4, 4))
    h0 = ga.placeholder("h0", (4,))
    xs = ga.placeholder("xs", (steps, 4))
    h, ys = ga.scan(lambda h, x: (ga.tanh(w @ h + x), ga.sum(h * h)), h0, xs, checkpoint=checkpoint)
    loss = ga.sum(h * h) + ga.sum(ys)
    return [w, h0, xs], [loss, *ga.gradients(loss, [w, xs])]


def feeds_of(inputs: list[ga.Node], steps: int) -> dict[ga.Node, np.ndarray]:
    rng = np.random.default_rng(steps)
    values = (rng.normal(size=(4, 4)) * 0.4, rng.normal(size=4), rng.normal(size=(steps, 4)))
    return dict(zip(inputs, values))


@pytest.mark.parametrize("checkpoint", [None, 4])
def test_a_scan_and_its_backward_loop_run_native(checkpoint: Any, cache: Path) -> None:
    inputs, fetches = recurrence(13, checkpoint)
    want, got, ex = both(fetches, feeds_of(inputs, 13), cache)
    agree(got, want)
    native = ex._native
    assert len(native.loops) == 2  # the forward loop and its backward loop
    assert all(s.failure is None for n in native.loops for s in n.op.steps)
    assert not any(f.node.op.name == "scan" for f in ex.fallbacks)
    assert "2 native loop(s)" in ex.report()


def test_a_step_makes_no_array_its_buffers_are_made_once(cache: Path) -> None:
    """The steps write into buffers the kernel makes once (two, alternating, for a next
    carry); small products are loops inlined into the step, with no call per step."""
    inputs, fetches = recurrence(9)
    want, got, ex = both(fetches, feeds_of(inputs, 9), cache)
    agree(got, want)
    for n in ex._native.loops:
        (steps,) = n.op.steps
        source = steps.kernel.source
        body = source[source.index("def body(") : source.index("def kernel(")]
        assert "np.empty(" not in body and ".copy()" not in body
        assert "_0 if j % 2 == 0 else " in source  # the next carry's two buffers


def test_a_reversed_scan_with_no_xs_and_the_jvp_loop(cache: Path) -> None:
    x0 = ga.placeholder("x0", (3,))
    a = ga.placeholder("a", ())
    c, ys = ga.scan(lambda c, _: (ga.sin(c) * a + 0.1, ga.sum(c) * a), x0, length=6, reverse=True)
    y = ga.sum(c) + ga.sum(ys * ys)
    fetches = [y, ga.jvp(y, x0, np.ones(3)), *ga.gradients(y, [x0, a])]
    want, got, ex = both(fetches, {x0: np.array([0.3, -0.2, 1.1]), a: np.array(0.7)}, cache)
    agree(got, want)
    assert ex._native.loops  # the compiler may fuse the tangent loop into the forward one
    assert not [f for f in ex.fallbacks if f.node.op.name == "scan"]


def test_fori_loop_reads_its_step_index_and_differentiates(cache: Path) -> None:
    x0 = ga.placeholder("x0", (5,))
    n = ga.placeholder("n", (), "int64")
    x = ga.fori_loop(0, n, lambda i, x: x * 0.9 + ga.cast(i, "float64") * ga.cos(x), x0)
    y = ga.sum(x * x)
    fetches = [y, ga.gradients(y, x0)]
    for count in (0, 1, 7):
        want, got, ex = both(fetches, {x0: np.linspace(-1, 1, 5), n: np.int64(count)}, cache)
        agree(got, want)
    assert ex._native.loops


def test_a_while_loop_runs_native_and_max_steps_still_names_the_loop(cache: Path) -> None:
    x0 = ga.placeholder("x0", ())
    x = ga.while_loop(lambda x: x > 1.0, lambda x: x * 0.5, x0, max_steps=20)
    y = x * x
    fetches = [y, ga.gradients(y, x0)]
    want, got, ex = both(fetches, {x0: np.array(37.0)}, cache)
    agree(got, want)
    assert ex._native.loops
    with pytest.raises(ExecutionError, match="max_steps=20"):
        ex.run({x0: np.array(1e9)})


def test_a_body_without_a_native_form_keeps_its_python_steps(cache: Path) -> None:
    x0 = ga.placeholder("x0", (3,))
    c, _ = ga.scan(lambda c, _: (ga.cumsum(c) * 0.5, None), x0, length=4)
    y = ga.sum(c)
    want, got, ex = both([y, ga.gradients(y, x0)], {x0: np.array([0.1, 0.2, 0.3])}, cache)
    agree(got, want)
    reasons = [f.reason for f in ex.fallbacks if f.node.op.name == "scan"]
    assert reasons and "cum_sum" in reasons[0] and "stays in Python" in reasons[0]


def test_float32_carries_keep_their_dtype(cache: Path) -> None:
    x0 = ga.placeholder("x0", (3,), "float32")
    c, ys = ga.scan(lambda c, _: (c * ga.exp(-c), ga.sum(c)), x0, length=5)
    y = ga.sum(c) + ga.sum(ys)
    fetches = [y, ga.gradients(y, x0)]
    ex = ga.Executor(fetches, backend="numba", cache_dir=cache)
    feeds = {x0: np.array([0.5, 1.0, 2.0], np.float32)}
    got, want = ex.run(feeds), ga.Executor(fetches).run(feeds)
    assert ex._native.loops
    for g, w in zip(got, want):
        assert g.dtype == w.dtype == np.float32
        np.testing.assert_allclose(g, w, rtol=1e-5)
