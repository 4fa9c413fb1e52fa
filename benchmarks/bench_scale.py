"""Scale: build, ``gradients`` and Executor planning of a long chain, and peak memory.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_scale.py [--n 100000] [--profile STAGE]

The chain is ``n`` nodes on a (3,) placeholder, ``v = sin(v)`` alternating with
``v = v * c`` (one shared constant ``c``), the shape of a deep unrolled recurrence.  Each
stage is timed on its own; the peak RSS of one build-gradients-plan-run is read in a
fresh process (``--rss``), so that neither the timed passes nor ``tracemalloc``'s own
records count, and the peak Python heap from ``tracemalloc`` in a last pass (which slows
everything it traces; timings are taken without it).  A second timed pass runs with the
cyclic garbage collector paused, to show its share: a graph is 10⁵s of small long-lived
objects that each full collection traverses again.  ``--profile build|gradients|plan``
prints the top of a cProfile of that stage.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import cProfile
import gc
import pstats
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

import graphad as ga

sys.setrecursionlimit(10_000)  # the point is that nothing needs more


def build(n: int) -> tuple[ga.Node, ga.Node]:
    """A chain of ``n`` nodes after the placeholder, ending in a scalar."""
    x = ga.placeholder("x", shape=(3,))
    c = ga.constant(0.999)
    v = x
    for i in range(n - 3):
        v = ga.sin(v) if i % 2 else v * c
    return x, ga.sum(v)


def stages(n: int) -> dict[str, Callable[[], Any]]:
    state: dict[str, Any] = {}

    def do_build() -> None:
        state["x"], state["y"] = build(n)

    def do_gradients() -> None:
        state["g"] = ga.gradients(state["y"], state["x"])

    def do_plan() -> None:
        state["ex"] = ga.Executor([state["y"], state["g"]])

    def do_run() -> None:
        state["ex"].run({state["x"]: np.ones(3)})

    return {"build": do_build, "gradients": do_gradients, "plan": do_plan, "run": do_run}


def timed(n: int) -> dict[str, float]:
    times = {}
    for name, fn in stages(n).items():
        start = time.perf_counter()
        fn()
        times[name] = time.perf_counter() - start
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="nodes in the chain")
    parser.add_argument("--profile", choices=("build", "gradients", "plan", "run"))
    parser.add_argument("--rss", action="store_true", help="run once, print peak RSS (MiB)")
    args = parser.parse_args()

    if args.rss:
        for fn in stages(args.n).values():
            fn()
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # KiB on Linux
        return

    if args.profile:
        for name, fn in stages(args.n).items():
            if name == args.profile:
                profile = cProfile.Profile()
                profile.runcall(fn)
                pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
                return
            fn()

    command = [sys.executable, __file__, "--n", str(args.n), "--rss"]
    rss = float(subprocess.run(command, capture_output=True, text=True, check=True).stdout)

    times, without_gc = timed(args.n), {}
    gc.collect()
    gc.disable()
    try:
        without_gc = timed(args.n)
    finally:
        gc.enable()
    gc.collect()

    tracemalloc.start()
    for fn in stages(args.n).values():
        fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(f"chain of {args.n:,} nodes            with gc   gc paused")
    for name, seconds in times.items():
        print(f"  {name:<10} {seconds:16.2f} s {without_gc[name]:9.2f} s")
    total = [t["build"] + t["gradients"] + t["plan"] for t in (times, without_gc)]
    print(f"  {'total':<10} {total[0]:16.2f} s {total[1]:9.2f} s   (build + gradients + plan)")
    print(f"  peak traced heap {peak / 2**20:7.0f} MiB, peak RSS {rss:7.0f} MiB (target < 600)")


if __name__ == "__main__":
    main()
