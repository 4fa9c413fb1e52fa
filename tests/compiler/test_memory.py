"""Memory: a long chain of large arrays holds only a few at once; fed arrays are not copied.

Measured with ``tracemalloc``, which sees NumPy's array buffers.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import graphad as ga
from graphad.ir import Node

N = 200_000  # 1.6 MB per array
BYTES = N * 8


def chain(x: Node, length: int = 40) -> Node:
    y = x
    for i in range(length):
        y = ga.sin(y) if i % 2 else y * 1.0001 + 0.5
    return y


def peak_during(fn) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("optimize", [True, False])
@pytest.mark.parametrize("debug", [False, True])
def test_a_long_chain_of_large_arrays_holds_a_few_at_once(optimize: bool, debug: bool) -> None:
    x = ga.placeholder("x", shape=(N,))
    ex = ga.Executor(chain(x), optimize=optimize, debug=debug)
    v = np.linspace(0, 1, N)
    ex.run({x: v})  # warm: nothing first-time is counted below
    peak = peak_during(lambda: ex.run({x: v}))
    # the result, one operand and one fresh result; never the fed array copied
    assert peak <= 3.5 * BYTES, peak / BYTES


def test_gradients_of_a_long_chain_hold_what_the_backward_pass_needs() -> None:
    x = ga.placeholder("x", shape=(N,))
    y = x
    for _ in range(10):
        y = ga.tanh(y)
    g = ga.gradients(ga.sum(y), x)
    ex = ga.Executor([y, g])
    v = np.linspace(-1, 1, N)
    ex.run({x: v})
    peak = peak_during(lambda: ex.run({x: v}))
    assert peak <= (10 + 4) * BYTES, peak / BYTES  # the 10 tanh outputs, and a few more


def test_fed_arrays_are_never_copied() -> None:
    x = ga.placeholder("x", shape=(N,))
    views = [ga.reshape(x, (N // 2, 2)), ga.stop_gradient(x), x[::2], ga.sum(x)]
    ex = ga.Executor(views, optimize=True)
    v = np.linspace(0, 1, N)
    ex.run({x: v})
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        slots = list(ex.initial)
        fed = ex._feeds.check({x: v})
        for p, value in fed.items():
            slots[ex._slot[p]] = value
        ex._program.run(slots)  # the views themselves, before the caller gets owned copies
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < 0.1 * BYTES, peak / BYTES
    assert all(np.shares_memory(slots[i], v) for i in ex._fetch_slots[:3])
