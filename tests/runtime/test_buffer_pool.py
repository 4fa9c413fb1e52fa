"""The pool of large temporaries an Executor's runs reuse (``graphad.ops._buffers``): it takes
back only arrays nobody else holds, never what the caller was handed, keeps no more than a
run uses, forgets shapes no run asks for, and is safe from many threads."""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest

import graphad as ga
from graphad.ops import _buffers

RNG = np.random.default_rng(3)
BIG = (400, 300)  # 960 kB: past MIN_BYTES


def chain() -> tuple[ga.Node, ga.Node, ga.Node]:
    """Large temporaries, several alive at once, one of them seen through a view."""
    x = ga.placeholder("x", (None, 300))
    t = ga.exp(x) * 2.0
    u = t + x
    y = ga.sum(u * t + ga.sin(t[:, :100]).sum(), axis=1)
    return x, y, u


def test_runs_reuse_their_temporaries_and_give_the_same_values() -> None:
    x, y, _ = chain()
    fresh, pooled = ga.Executor(y, reuse_buffers=False), ga.Executor(y)
    for _ in range(4):
        v = RNG.standard_normal(BIG)
        np.testing.assert_array_equal(pooled.run({x: v}), fresh.run({x: v}))
    assert pooled._program is not None and pooled._program.pool.held() > 0
    assert fresh._program is not None and fresh._program.pool.held() == 0


def test_a_fetched_value_is_never_taken_back() -> None:
    """The caller's arrays stay theirs: a later run does not write into them."""
    x, y, u = chain()
    ex = ga.Executor([u, y])
    v = RNG.standard_normal(BIG)
    first_u, first_y = ex.run({x: v})
    kept_u, kept_y = first_u.copy(), first_y.copy()
    for _ in range(3):
        ex.run({x: RNG.standard_normal(BIG)})
    np.testing.assert_array_equal(first_u, kept_u)
    np.testing.assert_array_equal(first_y, kept_y)


def test_an_array_something_else_holds_is_not_taken() -> None:
    pool = _buffers.BufferPool()
    pool.take(BIG, np.dtype(np.float64))  # a shape the runs ask for
    held = np.empty(BIG)
    alias = held

    def release(a: np.ndarray) -> None:  # as the generated code releases a value
        pool.give(a)

    release(held)  # `alias` refers to it too
    assert pool.held() == 0
    view = np.empty(BIG)[:, :10]
    release(view)  # its array is also the view's (base): taken back only once free
    del alias
    own = np.empty(BIG)
    pool.give(own)  # the caller's variable and give's parameter: nothing else
    assert pool.held() == own.nbytes


def test_a_view_hands_back_its_array_when_it_is_the_last_to_hold_it() -> None:
    pool = _buffers.BufferPool()
    pool.take(BIG, np.dtype(np.float64))

    def chunk() -> None:
        a = np.empty(BIG)
        v = a.reshape(-1)
        del a
        pool.give(v)

    chunk()
    assert pool.held() == np.empty(BIG).nbytes


def test_the_pool_keeps_no_more_than_a_run_takes_and_forgets_old_shapes() -> None:
    pool = _buffers.BufferPool()
    dt = np.dtype(np.float64)
    pool.start_run()
    pool.take(BIG, dt)
    for _ in range(5):
        pool.give(np.empty(BIG))
    assert pool.held() == np.empty(BIG).nbytes  # one taken in a run: one kept
    pool.give(np.empty((500, 300)))  # a shape no run asked for
    assert pool.held() == np.empty(BIG).nbytes
    pool.start_run()
    pool.start_run()  # two runs that asked for other shapes: BIG's buffers go
    assert pool.held() == 0


def test_small_arrays_and_other_types_are_left_to_numpy() -> None:
    pool = _buffers.BufferPool()
    pool.take((10,), np.dtype(np.float64))
    pool.give(np.empty(10))
    pool.give([1.0, 2.0])
    pool.give(np.float64(1.0))
    assert pool.held() == 0


def test_batches_of_changing_sizes_do_not_keep_the_old_ones() -> None:
    x, y, _ = chain()
    ex = ga.Executor(y)
    assert ex._program is not None
    sizes = [400, 700, 900, 1100, 1300]
    for n in sizes:
        ex.run({x: RNG.standard_normal((n, 300))})
    held = ex._program.pool.held()
    assert 0 < held <= 8 * 1300 * 300 * 8  # the last runs' temporaries, not all of them


def test_many_threads_share_one_executor_and_its_pool() -> None:
    x, y, _ = chain()
    ex = ga.Executor(y)
    reference = ga.Executor(y, reuse_buffers=False)
    inputs = [RNG.standard_normal(BIG) for _ in range(6)]
    expected = [reference.run({x: v}) for v in inputs]
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for r in range(15):
                i = (k + r) % len(inputs)
                np.testing.assert_array_equal(ex.run({x: inputs[i]}), expected[i])
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_an_executor_with_its_pool_pickles() -> None:
    x, y, _ = chain()
    ex = ga.Executor(y)
    v = RNG.standard_normal(BIG)
    expected = ex.run({x: v})
    again = pickle.loads(pickle.dumps(ex))
    np.testing.assert_array_equal(again.run({"x": v}), expected)  # its own placeholders
    off = pickle.loads(pickle.dumps(ga.Executor(y, reuse_buffers=False)))
    assert off.reuse_buffers is False


@pytest.mark.parametrize("reuse", [True, False])
def test_kernels_outside_a_run_allocate_as_numpy_does(reuse: bool) -> None:
    """Debug runs interpret the plan: the kernels draw from no pool, with the same values."""
    x, y, _ = chain()
    v = RNG.standard_normal(BIG)
    got = ga.Executor(y, debug=True, reuse_buffers=reuse).run({x: v})
    np.testing.assert_allclose(got, ga.Executor(y).run({x: v}), rtol=1e-15)
