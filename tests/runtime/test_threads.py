"""One Executor, many threads: runs share nothing per run, and the caches are locked."""

from __future__ import annotations

import sys
import threading
from typing import Any

import numpy as np

import graphad as ga


def _hammer(ex: ga.Executor, feed, check, threads: int, runs: int) -> list[BaseException]:
    """Run ``ex`` from ``threads`` threads at once, ``runs`` times each; what they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(seed: int) -> None:
        rng = np.random.default_rng(seed)
        start.wait()
        try:
            for _ in range(runs):
                values = feed(rng)
                check(values, ex.run(values))
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so that a race shows within seconds
    try:
        workers = [threading.Thread(target=work, args=(s,)) for s in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    return errors


def test_the_feed_signature_cache_is_safe_under_many_threads() -> None:
    # more distinct shapes than the cache holds, drawn at random: hits and evictions race
    # (before the lock: KeyError from move_to_end within a second on this machine)
    x = ga.placeholder("x", shape=(None,))
    ex = ga.Executor(x * 2)
    arrays = [np.arange(float(n)) for n in range(1, 90)]

    def check(feed, got) -> None:
        np.testing.assert_array_equal(got, 2 * feed["x"])

    assert _hammer(ex, lambda rng: {"x": arrays[rng.integers(0, 89)]}, check, 16, 1500) == []


def test_an_executor_is_safe_to_run_from_many_threads(executor_mode: dict[str, Any]) -> None:
    x = ga.placeholder("x", shape=(None, 2))
    w = ga.placeholder("w", shape=(2,))
    y = ga.sum(ga.tanh(x * w), axis=1)
    ex = ga.Executor([y, ga.gradients(ga.sum(y), w)], **executor_mode)

    def feed(rng) -> dict:
        return {
            "x": rng.standard_normal((int(rng.integers(1, 100)), 2)),
            "w": rng.standard_normal(2),
        }

    def check(feed, got) -> None:
        t = np.tanh(feed["x"] * feed["w"])
        np.testing.assert_allclose(got[0], t.sum(axis=1))
        np.testing.assert_allclose(got[1], ((1 - t**2) * feed["x"]).sum(axis=0))

    assert _hammer(ex, feed, check, 8, 200) == []
