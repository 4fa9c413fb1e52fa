"""Scale: building, differentiating, optimising and planning long chains, and peak memory.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_scale.py [--n 100000] [--chain NAME]
                                                             [--profile STAGE]

Two chains of ``n`` steps on a (3,) placeholder, the shape of a deep unrolled recurrence:

- ``sinmul``: ``v = sin(v)`` alternating with ``v = v * c`` (one shared constant ``c``),
  ``n`` nodes in all;
- ``affine``: ``h = h * 1.0001 + 0.1`` (issue 15's chain), two ops and two constants a
  step made from Python scalars, so 4·n nodes.

Each ends in ``sum`` and goes through the stages a user's script does: ``build`` the
chain, ``gradients`` of the sum, ``optimise`` both (``ga.optimize``), ``plan`` an
``Executor`` of the optimised nodes, and its first ``run``.  Each stage is timed on its
own; ``total`` is build + gradients + optimise + plan (the issue's target: ≤ 5 s for
the affine chain).  A second timed pass runs with the cyclic garbage collector paused,
to show its share: a graph is 10⁵s of small long-lived objects that each full
collection traverses again.  The peak RSS of one pass is read in a fresh process
(``--rss``, started first), so that neither the timed passes nor ``tracemalloc``'s own
records count, and the peak Python heap from ``tracemalloc`` in a last pass (which slows
everything it traces; timings are taken without it).  ``--profile STAGE`` prints the top
of a cProfile of that stage of the chain named by ``--chain`` (default ``affine``).
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


def sinmul(n: int) -> tuple[ga.Node, ga.Node]:
    """A chain of ``n`` nodes after the placeholder, ending in a scalar."""
    x = ga.placeholder("x", shape=(3,))
    c = ga.constant(0.999)
    v = x
    for i in range(n - 3):
        v = ga.sin(v) if i % 2 else v * c
    return x, ga.sum(v)


def affine(n: int) -> tuple[ga.Node, ga.Node]:
    """``n`` steps of ``h = h * 1.0001 + 0.1``, ending in a scalar."""
    x = ga.placeholder("x", shape=(3,))
    h = x
    for _ in range(n):
        h = h * 1.0001 + 0.1
    return x, ga.sum(h)


CHAINS = {"sinmul": sinmul, "affine": affine}


def stages(chain: str, n: int) -> dict[str, Callable[[], Any]]:
    state: dict[str, Any] = {}

    def do_build() -> None:
        state["x"], state["y"] = CHAINS[chain](n)

    def do_gradients() -> None:
        state["g"] = ga.gradients(state["y"], state["x"])

    def do_optimise() -> None:
        state["fetches"] = ga.optimize([state["y"], state["g"]])

    def do_plan() -> None:
        state["ex"] = ga.Executor(state["fetches"], optimize=False)

    def do_run() -> None:
        state["ex"].run({state["x"]: np.ones(3)})

    return {
        "build": do_build,
        "gradients": do_gradients,
        "optimise": do_optimise,
        "plan": do_plan,
        "run": do_run,
    }


def timed(chain: str, n: int) -> dict[str, float]:
    times = {}
    for name, fn in stages(chain, n).items():
        start = time.perf_counter()
        fn()
        times[name] = time.perf_counter() - start
    return times


def peak_rss(chain: str, n: int) -> float:
    """Peak RSS (MiB) of one pass in a fresh process.  Asked before this process has grown:
    Linux carries a parent's peak over into a child it forks, and so into its ru_maxrss."""
    command = [sys.executable, __file__, "--n", str(n), "--chain", chain, "--rss"]
    return float(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def report(chain: str, n: int, rss: float) -> None:
    times, without_gc = timed(chain, n), {}
    gc.collect()
    gc.disable()
    try:
        without_gc = timed(chain, n)
    finally:
        gc.enable()
    gc.collect()

    tracemalloc.start()
    for fn in stages(chain, n).values():
        fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    gc.collect()

    print(f"{chain} chain of {n:,} steps       with gc   gc paused")
    for name, seconds in times.items():
        print(f"  {name:<10} {seconds:16.2f} s {without_gc[name]:9.2f} s")
    counted = ("build", "gradients", "optimise", "plan")
    total = [sum(t[s] for s in counted) for t in (times, without_gc)]
    print(f"  {'total':<10} {total[0]:16.2f} s {total[1]:9.2f} s   (build to plan)")
    print(f"  peak traced heap {peak / 2**20:7.0f} MiB, peak RSS {rss:7.0f} MiB (target < 600)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="steps in the chain")
    parser.add_argument("--chain", choices=tuple(CHAINS), help="one chain (default: both)")
    parser.add_argument("--profile", choices=("build", "gradients", "optimise", "plan", "run"))
    parser.add_argument("--rss", action="store_true", help="run once, print peak RSS (MiB)")
    args = parser.parse_args()

    if args.rss:
        for fn in stages(args.chain, args.n).values():
            fn()
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # KiB on Linux
        return

    if args.profile:
        for name, fn in stages(args.chain or "affine", args.n).items():
            if name == args.profile:
                profile = cProfile.Profile()
                profile.runcall(fn)
                pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
                return
            fn()

    chains = (args.chain,) if args.chain else tuple(CHAINS)
    rss = {chain: peak_rss(chain, args.n) for chain in chains}
    for chain in chains:
        report(chain, args.n, rss[chain])


if __name__ == "__main__":
    main()
